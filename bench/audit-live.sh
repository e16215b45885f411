#!/usr/bin/env bash
# audit-live.sh - a clerk's latency while an auditor reads a large log: builds
# a registry of 10,000 persons and ENTRIES audit entries (default 1,000,000)
# with rotate-bench -B -e, serves it, and runs loadgen's audited reads at one
# connection for SECONDS alone, then again while an auditor pages through the
# log without pause (`rosterctl audit export`, each page of 10,000 entries an
# audited read), then while the auditor asks a question the filters cannot
# narrow (`audit find --action person.read --until` the end of the build, so
# every block is read, a reply at a time). Prints the clerk's throughput and
# p50/p99/p99.9 each time, and how many pages the auditor got through.
# Run as root from the checkout, after a build:
#   bench/audit-live.sh [ENTRIES] [SECONDS]     (B=DIR: binaries from DIR)
set -euo pipefail
. "$(dirname "$0")/lib.sh"
E=${1:-1000000}
SECS=${2:-5}
B=${B:-$(cd "$(dirname "$0")/../build" && pwd)}
D=$(mktemp -d /tmp/audit-live.XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null || true; kill $(cat "$D/pid" 2>/dev/null) 2>/dev/null || true; rm -rf "$D"' EXIT
echo "building 10000 persons and $E audit entries in $D ..."
"$B/rotate-bench" -B -n 10000 -e "$E" -d "$D" >/dev/null
until_=$(date -u +%FT%TZ)
bench_conf "$D" $((E * 800 + 1073741824)) clerk auditor
"$B/rosterd" -c "$D/rosterd.conf" 2>"$D/log" &
echo $! >"$D/pid"
bench_wait "$D"
clerk() { "$B/loadgen" --json -s "$D/sock" -w read -c 1 -t "$SECS" | python3 -c '
import json, sys
r = json.load(sys.stdin)
print("clerk reads, {0:<34} {rps:>6.0f}/s  p50 {p50_ms:.3f}  p99 {p99_ms:.3f}  p99.9 {p999_ms:.3f} ms".format(sys.argv[1], **r))' "$1"; }
# beside LABEL WHAT ARGS...: the clerk while an auditor runs rosterctl ARGS
# again and again; then how many times the auditor got through.
beside() {
	local label=$1 what=$2 loop
	shift 2
	: >"$D/rounds"
	(while :; do
		"$B/rosterctl" -s "$D/sock" "$@" >/dev/null 2>&1 || true
		echo x >>"$D/rounds"
	done) &
	loop=$!
	clerk "$label"
	kill "$loop"
	wait "$loop" 2>/dev/null || true
	echo "auditor:      $(grep -c . "$D/rounds" || true) $what"
}
clerk "alone"
beside "while an auditor exports the log" "whole exports of $E entries" audit export
beside "while an auditor asks every block" "whole questions over $E entries" \
	audit find --action person.read --until "$until_"
