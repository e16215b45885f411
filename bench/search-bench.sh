#!/usr/bin/env bash
# search-bench.sh - bulk import and blind-index finds at scale. Imports ROUNDS
# files of 100,000 persons each (default 10: 1 million persons) through
# `rosterctl person import` against a live rosterd, timing each import (parse,
# upload, validation, one durable transaction with a person.create entry per
# row), then times 2,000 finds by national id and 2,000 by name on the full
# registry: each an audited read, one client at a time (curl over the socket,
# its time_total). Run as root from the checkout after building:
#   bench/search-bench.sh [ROUNDS]
set -euo pipefail
ROUNDS=${1:-10}
B=$(cd "$(dirname "$0")/../build" && pwd)
D=$(mktemp -d /tmp/search-bench.XXXXXX)
trap 'kill $(cat "$D/pid" 2>/dev/null) 2>/dev/null; rm -rf "$D"' EXIT
cat >"$D/rosterd.conf" <<CONF
data_dir = $D/data
socket = $D/sock
master_key = $D/master.key
origin = bench.example/roster
map_size = 8G
allow_root = yes
[roles]
clerk = uid:0
CONF
"$B/rosterd" init -c "$D/rosterd.conf" 2>/dev/null
"$B/rosterd" -c "$D/rosterd.conf" 2>"$D/log" &
echo $! >"$D/pid"
for _ in $(seq 100); do [ -S "$D/sock" ] && break; sleep 0.1; done
export ROSTER_SOCKET=$D/sock
for r in $(seq 0 $((ROUNDS - 1))); do
	python3 - "$D/roster.csv" "$r" <<'PY'
import csv, sys
r = int(sys.argv[2])
seg = ["upstream", "midstream", "downstream", "cross-cutting"]
with open(sys.argv[1], "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["name", "birth_date", "nationality", "national_id", "employer", "segment",
                "expertise", "research"])
    for i in range(100000):
        n = r * 100000 + i
        w.writerow([f"Person {n:07d}".replace("0", "O").replace("1", "I").replace("2", "Z")
                    .replace("3", "E").replace("4", "A").replace("5", "S").replace("6", "G")
                    .replace("7", "T").replace("8", "B").replace("9", "P"),
                    f"19{50 + n % 50}-0{1 + n % 9}-1{n % 9}", "DE", f"ID{n:08d}",
                    f"Employer {n % 500}", seg[n % 4], "metallurgy;ip-analysis",
                    "Rare-earth separation research, two patents."])
PY
	t0=$(date +%s.%N)
	"$B/rosterctl" person import "$D/roster.csv" >/dev/null
	t1=$(date +%s.%N)
	python3 -c "import sys; t=float(sys.argv[2])-float(sys.argv[1]); print(f'import {int(sys.argv[3])+1}: 100000 rows in {t:.1f} s: {100000/t:.0f} rows/s')" "$t0" "$t1" "$r"
done
total=$((ROUNDS * 100000))
python3 - "$total" >"$D/ids" <<'PY'
import random, sys
random.seed(1)
for _ in range(2000):
    print(random.randrange(int(sys.argv[1])))
PY
finds() { # finds KIND: times 2,000 finds
	while read -r n; do
		if [ "$1" = national_id ]; then q="national_id=ID$(printf '%08d' "$n")"
		else q="name=$(python3 -c 'import sys; n=int(sys.argv[1]); print("Person%20" + f"{n:07d}".translate(str.maketrans("0123456789","OIZEASGTBP")))' "$n")"
		fi
		curl -s -o "$D/found" -w '%{time_total}\n' --unix-socket "$D/sock" "http://r/v1/persons?$q"
		grep -q '"id"' "$D/found" || { echo "find $q found nothing" >&2; exit 1; }
	done <"$D/ids"
}
for kind in national_id name; do
	finds $kind | python3 -c "
import sys
v = sorted(float(x) * 1000 for x in sys.stdin if x.strip())
print(f'find by {sys.argv[1]} on {sys.argv[2]} persons: p50 {v[len(v)//2]:.2f} ms, p99 {v[len(v)*99//100]:.2f} ms ({len(v)} audited finds)')" "$kind" "$total"
done
du -sh "$D/data" | sed 's/^/disk: /'
