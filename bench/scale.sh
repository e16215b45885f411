#!/usr/bin/env bash
# scale.sh - rosterd on a large registry: PERSONS persons (default 1,000,000,
# each with its blind indexes) and ENTRIES audit entries (default 10,000,000),
# built with rotate-bench -B -e. Prints the daemon's start time, its memory
# (private, and LMDB's shared page cache apart), audited read and durable create
# latency at 1 and 64 connections (creates of one constant person and of a
# different person each time), `audit find` through the block filters (by
# target, outcome, time span), and bytes on disk per person and
# per audit entry (from mdb_stat's page counts). Run as root from the checkout, after a
# build:   bench/scale.sh [PERSONS] [ENTRIES] [SECONDS]
set -euo pipefail
. "$(dirname "$0")/lib.sh"
P=${1:-1000000}
E=${2:-10000000}
SECS=${3:-5}
B=$(cd "$(dirname "$0")/../build" && pwd)
D=$(mktemp -d /tmp/roster-scale.XXXXXX)
trap 'kill $(cat "$D/pid" 2>/dev/null) 2>/dev/null || true; rm -rf "$D"' EXIT
echo "building $P persons and $E audit entries in $D ..."
"$B/rotate-bench" -B -n "$P" -e "$E" -d "$D" | tee "$D/built"
watched=$(awk '/^watched:/ {print $2}' "$D/built")
rare=$(awk '/^last person:/ {print $3}' "$D/built")
bench_conf "$D" $((P * 4000 + E * 800 + 268435456)) clerk admin auditor

start() { # starts rosterd; prints the ms until /v1/health answers
	local t0
	t0=$(date +%s%N)
	"$B/rosterd" -c "$D/rosterd.conf" >/dev/null 2>>"$D/log" & # not our $(...)'s stdout
	echo $! >"$D/pid"
	until curl -sf --unix-socket "$D/sock" http://r/v1/health >/dev/null 2>&1; do
		kill -0 "$(cat "$D/pid")" 2>/dev/null || { echo "rosterd did not start:" >&2; tail -3 "$D/log" >&2; exit 1; }
		sleep 0.005
	done
	echo $((($(date +%s%N) - t0) / 1000000))
}
stop() { # rosterd is not this shell's child (started in $(start)): wait for it to go
	kill -TERM "$(cat "$D/pid")"
	while kill -0 "$(cat "$D/pid")" 2>/dev/null; do sleep 0.05; done
}
mem() { # private and shared (LMDB page cache) resident memory of rosterd, MiB
	awk '/^RssAnon/ {a=$2} /^RssFile/ {f=$2} /^RssShmem/ {s=$2}
		END {printf "%.1f MiB private, %.1f MiB of mapped registry pages", a/1024, (f+s)/1024}' \
		/proc/"$(cat "$D/pid")"/status
}
lg() { "$B/loadgen" --json -s "$D/sock" -w "$1" -c "$2" -t "$SECS" | python3 -c '
import json, sys
r = json.load(sys.stdin)
print("{workload:13} c={connections:<3} {rps:>8.0f} req/s  p50 {p50_ms:.3f} ms  "
      "p99 {p99_ms:.3f} ms  p99.9 {p999_ms:.3f} ms".format(**r))'; }

cold=$(start)
loaded=$(date -u +%FT%TZ)
echo "start:        $cold ms to the first answer; $(mem)"
lg read 1
lg read 64
lg create 1
lg create 64
lg create-varied 1
lg create-varied 64
echo "after load:   $(mem)"
finds() { # the watched person's entries through the filters, then a question they cannot help
	local t0 n
	t0=$(date +%s%N)
	n=$("$B/rosterctl" -s "$D/sock" audit find --target "$watched" | wc -l)
	echo "audit find:   --target (read every 10,000 entries): $n entries in $((($(date +%s%N) - t0) / 1000000)) ms"
	t0=$(date +%s%N)
	n=$("$B/rosterctl" -s "$D/sock" audit find --target "$rare" | wc -l)
	echo "audit find:   --target (the last person built, never read): $n entries in $((($(date +%s%N) - t0) / 1000000)) ms"
	t0=$(date +%s%N)
	"$B/rosterctl" -s "$D/sock" audit find --action person.read --outcome denied 2>/dev/null || true
	echo "audit find:   --action person.read --outcome denied (none match): $((($(date +%s%N) - t0) / 1000000)) ms"
	t0=$(date +%s%N)
	n=$("$B/rosterctl" -s "$D/sock" audit find --since "$loaded" --action person.read | wc -l)
	echo "audit find:   --since (the load above) --action person.read: $n entries in $((($(date +%s%N) - t0) / 1000000)) ms"
	filters_read >/dev/null
	mid=$(curl -sf --unix-socket "$D/sock" "http://r/v1/audit/entries?from=$((E / 2))&limit=1" |
		python3 -c 'import json, sys; print(json.loads(sys.stdin.readline())["time"])')
	t0=$(date +%s%N)
	n=$("$B/rosterctl" -s "$D/sock" audit find --since "$mid" --until "$mid" | wc -l)
	echo "audit find:   --since and --until (one second, halfway through the log): $n entries in $((($(date +%s%N) - t0) / 1000000)) ms, $(filters_read) filters read"
	recent=$(date -u +%FT%TZ)
	"$B/rosterctl" -s "$D/sock" person get "$rare" >/dev/null
	filters_read >/dev/null
	t0=$(date +%s%N)
	n=$("$B/rosterctl" -s "$D/sock" audit find --since "$recent" --action person.read | wc -l)
	echo "audit find:   --since (a second ago) --action person.read: $n entries in $((($(date +%s%N) - t0) / 1000000)) ms, $(filters_read) filters read"
}
# filters_read: the filters questions read since the last call (runs of them a
# question's span rules out are passed over unread).
FILTERS_READ=0
filters_read() {
	local n
	n=$(curl -sf --unix-socket "$D/sock" http://r/v1/metrics |
		awk '$1 == "roster_audit_find_filters_read_total" {print $2}')
	echo $((n - FILTERS_READ))
	FILTERS_READ=$n
}
finds
stop
echo "restart:      $(start) ms to the first answer"
stop
mdb_stat -e -a "$D" | python3 -c '
import re, sys
dbs, cur = {}, None
for line in sys.stdin:
    m = re.match(r"Status of (\S+)", line)
    if m:
        cur = m.group(1)
    m = re.match(r"\s+(Branch|Leaf|Overflow) pages: (\d+)", line)
    if m and cur:
        dbs[cur] = dbs.get(cur, 0) + int(m.group(2))
    m = re.match(r"\s+Entries: (\d+)", line)
    if m and cur:
        dbs[cur + ":n"] = int(m.group(1))
page = 4096
per = sum(dbs.get(d, 0) for d in ("persons", "person_idx")) * page / dbs["persons:n"]
log = sum(dbs.get(d, 0) for d in ("audit", "tree", "merkle", "audit_filter")) * page / dbs["audit:n"]
npersons, nentries = dbs["persons:n"], dbs["audit:n"]
print(f"on disk:      {per:.0f} B per person (record and blind indexes), "
      f"{log:.0f} B per audit entry (entry, Merkle tree, filters), "
      f"{npersons} persons, {nentries} entries")'
ls -l "$D/data.mdb" | awk '{printf "data.mdb:     %.2f GiB\n", $5 / 1073741824}'
