#!/usr/bin/env bash
# audit-find.sh - what `rosterctl audit find` costs, on one or more builds of
# rosterd over the same log: builds a registry of 20,000 persons and ENTRIES
# audit entries (default 1,000,000; most of them person.read, as rotate-bench
# pads the log) with rotate-bench -B -e, then, ROUNDS times, for each build in
# turn (its rosterd and rosterctl), asks questions most of the log answers
# (every person.read; every entry since the build began) and one it answers
# rarely (the person read every 10,000 entries), and prints the time, the
# entries printed and the replies it took (each an audited read, an entry of
# the log). Compare builds run side by side, not figures from other days.
# Run as root from the checkout, after a build:
#   bench/audit-find.sh [ENTRIES] [ROUNDS] [BUILD-DIR...]   (default: build)
set -euo pipefail
. "$(dirname "$0")/lib.sh"
E=${1:-1000000}
ROUNDS=${2:-2}
shift $(($# < 2 ? $# : 2))
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILDS=("$@")
[ ${#BUILDS[@]} -gt 0 ] || BUILDS=("$ROOT/build")
D=$(mktemp -d /tmp/audit-find.XXXXXX)
trap 'kill $(cat "$D/pid" 2>/dev/null) 2>/dev/null || true; rm -rf "$D"' EXIT
echo "building 20000 persons and $E audit entries in $D ..."
began=$(date -u +%FT%TZ)
"${BUILDS[0]}/rotate-bench" -B -n 20000 -e "$E" -d "$D" >"$D/built" 2>/dev/null ||
	"$ROOT/build/rotate-bench" -B -n 20000 -e "$E" -d "$D" >"$D/built"
watched=$(awk '/^watched:/ {print $2}' "$D/built")
bench_conf "$D" $((20000 * 4000 + E * 800 + 268435456)) clerk admin auditor
size() { "$1/rosterctl" -s "$D/sock" --json status | python3 -c 'import json, sys
print(json.load(sys.stdin)["log_size"])'; }
# ask BUILD LABEL ARGS...: one question, timed
ask() {
	local b=$1 label=$2 s0 t0 t1 n
	shift 2
	s0=$(size "$b")
	t0=$(date +%s%N)
	"$b/rosterctl" -s "$D/sock" audit find "$@" >"$D/out"
	t1=$(date +%s%N)
	n=$(wc -l <"$D/out")
	# the replies: the log grew by one entry for each, and one for size's read
	printf '%-44s %-30s %9d entries %8d ms %6d replies\n' "$b" "$label" "$n" \
		$(((t1 - t0) / 1000000)) $(($(size "$b") - s0 - 1))
}
for _ in $(seq "$ROUNDS"); do
	for b in "${BUILDS[@]}"; do
		"$b/rosterd" -c "$D/rosterd.conf" 2>>"$D/log" &
		echo $! >"$D/pid"
		bench_wait "$D"
		sleep 1 # idle: the audit reader summarises the filters' spans
		ask "$b" "--action person.read" --action person.read
		ask "$b" "--since the build began" --since "$began"
		ask "$b" "--target (read every 10,000)" --target "$watched"
		kill "$(cat "$D/pid")"
		wait "$(cat "$D/pid")" || true
	done
done
