# t-fulldisk.sh - the data folder on a small filesystem made for the test (a
# size-limited tmpfs): once it fills, writes fail with a clear error (HTTP 507,
# exit 75) and store nothing, what was stored stays intact and verifiable, the
# daemon keeps running, and writing resumes as soon as space is freed, without a
# restart. A backup onto a full disk fails cleanly too.
. "$(dirname "$0")/lib.sh"
mkdir -p "$T/data"
mount -t tmpfs -o size=3m,mode=0700 roster-test "$T/data" 2>"$T/mount.err" ||
	{ echo "SKIP: cannot mount a tmpfs here: $(cat "$T/mount.err")"; exit 77; }
trap 'cleanup_mount' EXIT
cleanup_mount() {
	[ -n "$DPID" ] && kill "$DPID" 2>/dev/null && wait "$DPID" 2>/dev/null
	DPID=
	umount "$T/data" 2>/dev/null
	cleanup
}
new_registry
# Room an administrator can free later.
head -c 400000 /dev/zero >"$T/data/filler"

batch() { # batch N K: a JSONL file of K new persons, numbered from N
	python3 - "$T/out/b$1.jsonl" "$1" "$2" <<'PY'
import json, sys
n, k = int(sys.argv[2]), int(sys.argv[3])
def letters(i):  # names take Latin letters only: 0 -> "Aaaa"
    s = ""
    for _ in range(4):
        s = chr(97 + i % 26) + s
        i //= 26
    return s.capitalize()
with open(sys.argv[1], "w") as f:
    for i in range(n, n + k):
        f.write(json.dumps({"name": f"Filler {letters(i)}", "birth_date": "1980-01-01",
                            "nationality": "DE", "national_id": f"FILL{i:06d}",
                            "employer": "Full Disk GmbH", "segment": "upstream",
                            "expertise": ["metallurgy"], "research": "x" * 2000}) + "\n")
PY
	chmod 644 "$T/out/b$1.jsonl"
}
name_of() { python3 -c 'import sys
i = int(sys.argv[1]); s = ""
for _ in range(4): s = chr(97 + i % 26) + s; i //= 26
print("Filler " + s.capitalize())' "$1"; }

add_person
first=$PID
# Fill in ever smaller steps until even one row does not fit (smaller writes may
# still fit in pages LMDB frees and reuses); stored counts the
# rows acknowledged, and row $stored is the first one refused.
stored=0
for size in 100 10 1; do
	for _ in $(seq 200); do
		batch "$stored" "$size"
		as $CLERK person import "$T/out/b$stored.jsonl"
		[ "$RC" = 0 ] || break
		stored=$((stored + size))
	done
	[ "$RC" = 75 ] || break
done
check "the disk filled after $stored imported rows (exit 75)" test "$RC" = 75
check "the error says the disk is full and nothing was stored" contains "$ERR" "disk holding the registry is full: nothing of this request was stored"
curl_as $ADMIN GET /v1/health
expect_status 503 "health reports the full disk"
check "health says disk_full" contains "$OUT" '"status":"disk_full"'
curl_as $ADMIN GET /v1/metrics
check "metrics report the full disk" contains "$OUT" "roster_disk_full 1"
check "the daemon is still running" kill -0 "$DPID"
check "the log names the full disk" grep -q "disk holding the registry is full" "$T/rosterd.log"
as $ADMIN backup "$T/data/backup"
check "a backup onto the full disk fails (exit $RC)" test "$RC" != 0
check "and leaves no partial copy" test ! -e "$T/data/backup/data.mdb"

# An administrator frees space: writing resumes without a restart.
rm "$T/data/filler"
rmdir "$T/data/backup" 2>/dev/null
as $CLERK person add --name "After Space" --birth-date 1990-01-01 --nationality DE --employer E --segment upstream --expertise metallurgy --national-id LONE-2
expect 0 "a write succeeds once space is freed"
after=$(grep -o 'per_[a-z0-9]*' <<<"$OUT" | head -n1)
curl_as $ADMIN GET /v1/health
expect_status 200 "health is ok again"
check "the log says writing resumed" grep -q "writing resumed" "$T/rosterd.log"

as $CLERK --json person get "$first"
check "the first record is intact" test "$(field "$OUT" name)" = "Ana Müller"
as $CLERK person find --name "$(name_of $((stored - 1)))"
check "the last acknowledged import row is there" contains "$OUT" "per_"
as $CLERK person find --name "$(name_of "$stored")"
check "the refused import stored no row" test "$OUT" = "(none)"
as $AUDITOR audit verify --deep
expect 0 "the log and every record verify --deep after the full disk"
stop_daemon
check "rosterd stops cleanly" test $? = 0
start_daemon
as $CLERK person get "$after"
expect 0 "the write made after freeing space survives a restart"
finish
