#!/usr/bin/env bash
# rotate-live.sh - data or index key rotation under a live rosterd: builds a
# registry of N persons (default 1,000,000) with rotate-bench -B, serves it,
# starts `rosterctl key rotate KIND`, and has a clerk read persons without pause
# until the old key retires (data: every record re-encrypted; index: every record
# tagged under the new key, then its entries under the old one removed). Prints
# the rotation's time and the client's latency (p50, p99, max) during it, and the
# same client's latency before the rotation.
# Run as root from the build tree: bench/rotate-live.sh [N] [data|index]   (needs curl)
# SLICE_MS=N sets reencrypt_slice_ms (default 2); READ_GAP=S has the clerk pause S
# seconds between reads (default 0: none), so each read finds the writer quiet.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
N=${1:-1000000}
KIND=${2:-data}
GAP=${READ_GAP:-0}
case $KIND in
data) DONE="re-encryption done" WHAT="re-encryption" ;;
index) DONE="retired and wiped; index key" WHAT="index rotation (two walks)" ;;
*) echo "usage: $0 [N] [data|index]" >&2; exit 64 ;;
esac
B=$(cd "$(dirname "$0")/../build" && pwd)
D=$(mktemp -d /tmp/rotate-live.XXXXXX)
trap 'kill $(cat "$D/pid" 2>/dev/null) 2>/dev/null; rm -rf "$D"' EXIT
echo "building $N persons in $D ..."
"$B/rotate-bench" -B -n "$N" -d "$D" >/dev/null
BENCH_SETTINGS="reencrypt_slice_ms = ${SLICE_MS:-2}" bench_conf "$D" $((N * 4000 + 268435456)) clerk admin
"$B/rosterd" -c "$D/rosterd.conf" 2>"$D/log" &
echo $! >"$D/pid"
for _ in $(seq 100); do [ -S "$D/sock" ] && break; sleep 0.1; done
ids=$(curl -s --unix-socket "$D/sock" "http://r/v1/persons?limit=200" |
	python3 -c 'import json,sys; print(" ".join(p["id"] for p in json.load(sys.stdin)["items"]))')
read_loop() { # read_loop OUTFILE: reads until $D/stop exists
	while [ ! -e "$D/stop" ]; do
		for id in $ids; do
			curl -s -o /dev/null -w '%{time_total}\n' --unix-socket "$D/sock" "http://r/v1/persons/$id"
			[ "$GAP" = 0 ] || sleep "$GAP"
			[ -e "$D/stop" ] && break
		done
	done >"$1"
}
report() {
	python3 - "$1" "$2" <<'PY'
import sys
v = sorted(float(x) * 1000 for x in open(sys.argv[2]) if x.strip())
print(f"{sys.argv[1]}: {len(v)} audited reads, p50 {v[len(v)//2]:.1f} ms, "
      f"p99 {v[len(v)*99//100]:.1f} ms, max {v[-1]:.1f} ms")
PY
}
read_loop "$D/before" & reader=$!
sleep 5; touch "$D/stop"; wait $reader; rm "$D/stop"
read_loop "$D/during" & reader=$!
t0=$(date +%s.%N)
curl -s --unix-socket "$D/sock" -X POST -H 'Content-Type: application/json' \
	--data "{\"kind\":\"$KIND\"}" http://r/v1/keys/rotate >/dev/null
until grep -q "$DONE" "$D/log"; do sleep 0.2; done
t1=$(date +%s.%N)
touch "$D/stop"; wait $reader
python3 -c "import sys; t=float(sys.argv[2])-float(sys.argv[1]); print(f'{sys.argv[4]}: {int(sys.argv[3])} persons in {t:.1f} s under load: {int(sys.argv[3])/t:.0f} records/s')" "$t0" "$t1" "$N" "$WHAT"
report "client before" "$D/before"
report "client during" "$D/during"
