# t-idxlog.sh - the person index's log (daemon/idxlog.c): finds stay exact while
# tag changes wait in the log, through merges, a clean stop (which empties it),
# a kill -9 (which keeps it, with the format level an older rosterd refuses), a
# large import (which drains it and writes the index directly), an index key
# rotation (which drains it first) and a kill -9 amid merges (the journal
# applies them again). A random clerk's creates and updates are checked
# against a model of the roster (idxlog.py).
. "$(dirname "$0")/lib.sh"
EXTRA_SETTINGS="index_log_entries = 7" # a merge every create or two
new_registry
PY=/usr/bin/python3 # the system's: test identities cannot reach a per-user one
[ -x "$PY" ] || PY=$(command -v python3)
MODEL="$(dirname "$0")/idxlog.py"
STATE=$T/out/model.json

log_entries() { mdb_stat -s person_idx_log "$T/data" | awk '/Entries:/ {print $2}'; }
REQUIRES=7265717569726573 # "requires"
requires() { "$TAMPER" "$T/data" meta get $REQUIRES 2>/dev/null; }
model() {
	setpriv --reuid=$CLERK --regid=$CLERK --clear-groups "$PY" "$MODEL" "$SOCK" "$@" "$STATE" \
		>"$T/out/model.out" 2>&1
	RC=$?
	OUT=$(cat "$T/out/model.out")
}

model 1 150
expect 0 "creates and updates, a merge every few changes: every find exact"
# (21 slices on a plain build, either way lone_commit is set; 20 under ASan once,
# where slices are sized to a slower clock)
check "merges ran ($(metric roster_index_merge_slices_total))" test "$(metric roster_index_merge_slices_total)" -ge 10
check "the log stays near its setting ($(metric roster_index_log_entries))" \
	test "$(metric roster_index_log_entries)" -lt 20

# A log that holds every change since the start.
stop_daemon
check "a clean stop merges the log ($(log_entries) left)" test "$(log_entries)" = 0
check "and the format level goes back to the registry's own (3: its Merkle tree's order)" \
	test "$(requires)" = 00000003
EXTRA_SETTINGS="index_log_entries = 2000"
write_conf
start_daemon
model 2 120
expect 0 "every change in the log, none merged: every find exact"
held=$(metric roster_index_log_entries)
check "the log holds them ($held entries)" test "$held" -gt 100
check "no merge ran" test "$(metric roster_index_merge_slices_total)" = 0

# kill -9: the log stays, the registry marked as needing format 2 or more (3 for
# its Merkle tree's order, tree.c; a registry made before 0.7.8 says 2:
# test-idxlog), and is read after the restart.
kill -9 "$DPID"
wait "$DPID" 2>/dev/null
DPID=
check "a kill leaves the log in data.mdb ($(log_entries))" test "$(log_entries)" -gt 100
check "marked as needing format 3 while it holds changes" test "$(requires)" = 00000003
start_daemon
model 3 40
expect 0 "after the kill, what was acknowledged is found, and more changes on top"

# An import larger than the log: the log is merged first, the import written directly.
python3 - "$T/out/import.csv" <<'PY'
import csv, sys
with open(sys.argv[1], "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["name", "birth_date", "nationality", "national_id", "employer", "segment", "expertise"])
    for i in range(4200):
        w.writerow([f"Imported {chr(65 + i // 676)}{chr(65 + i // 26 % 26)}{chr(65 + i % 26)}", "1980-05-05", "FR", f"IMP{i:05d}", "Import Works",
                    "upstream", "metallurgy;motor-design"])
PY
as $CLERK person import "$T/out/import.csv"
expect 0 "an import of 4,200 persons, more entries than the log takes"
check "it left the log smaller than it found it ($(metric roster_index_log_entries))" \
	test "$(metric roster_index_log_entries)" -lt "$held"
as $CLERK --json person list --employer "Import Works" --all
check "every imported person is found by employer" test "$(grep -o '"id":"per_' <<<"$OUT" | wc -l)" = 4200
as $CLERK --json person find --name "Imported BDX"
check "and by name" contains "$OUT" '"national_id":"IMP00777"'
as $CLERK person add --name X --birth-date 1980-01-01 --nationality DE --employer E \
	--segment upstream --expertise metallurgy --national-id IMP01399
expect 65 "an imported national id is taken"

# The model's persons have no motor-design: these two filters find the imports alone.
as $CLERK --json person list --segment upstream --expertise motor-design --all
check "segment and expertise together find the imports" test "$(grep -o '"id":"per_' <<<"$OUT" | wc -l)" = 4200

# An index key rotation with changes in the log: the walk merges them first.
as $CLERK person add --name "Rotated Person" --birth-date 1990-01-01 --nationality DE \
	--employer "Rotation Ltd" --segment midstream --expertise metallurgy --national-id ROT1
expect 0 "a person whose tags wait in the log"
check "they do ($(metric roster_index_log_entries))" test "$(metric roster_index_log_entries)" -gt 0
as $ADMIN key rotate index --wait
expect 0 "the index key rotates"
check "the walk emptied the log" test "$(metric roster_index_log_entries)" = 0
as $CLERK --json person list --employer "Rotation Ltd"
check "that person is found under the new key" contains "$OUT" '"national_id":"ROT1"'
as $CLERK --json person list --employer "Import Works" --all
check "and the imported ones" test "$(grep -o '"id":"per_' <<<"$OUT" | wc -l)" = 4200
as $CLERK --json person find --name "Imported ABQ"
check "by name too" contains "$OUT" '"national_id":"IMP00042"'

# kill -9 while a lone client's creates slice merges through passes: the next
# start applies the journal's records again, the merges' removals of log entries
# among them, and must come to the state the killed rosterd had. Removals were
# once journaled after LMDB made them, by a key pointing into the page the
# removal had rewritten: the journal named other entries, and the start refused
# the registry or silently dropped changes the log held.
stop_daemon
# Passes longer than a slice; a journal no checkpoint empties before the kill (a
# grown map checkpoints too, but the commit that needed it follows).
EXTRA_SETTINGS="index_log_entries = 300
journal_size = 256M"
write_conf
start_daemon
setpriv --reuid=$CLERK --regid=$CLERK --clear-groups "$PY" "$(dirname "$0")/keepalive.py" \
	"$SOCK" persons 1500 K >"$T/out/lone.ids"
lone_rc=$?
check "a lone client's 1,500 creates ($(wc -l <"$T/out/lone.ids") acknowledged)" test "$lone_rc" = 0
check "merges ran meanwhile ($(metric roster_index_merge_slices_total) slices)" \
	test "$(metric roster_index_merge_slices_total)" -gt 5
dump() { mdb_dump -s "$1" "$T/data" | sed "1,/^HEADER=END/d" | sha256sum; } # data alone
settled() { # until a merge pass left running has finished: no slice for a second
	# (a slice at idle can take longer than a poll under ThreadSanitizer, and a
	# pass's slices change the index before the log), the log short of a pass
	local was= now still=0
	for _ in $(seq 150); do
		now="$(metric roster_index_merge_slices_total) $(metric roster_index_log_entries)"
		now="$now $(dump person_idx_log) $(dump person_idx)"
		if [ "$now" = "$was" ]; then still=$((still + 1)); else still=0; fi
		[ "$still" -ge 5 ] && [ "$(metric roster_index_log_entries)" -lt 300 ] && return 0
		was=$now
		sleep 0.2
	done
}
settled
before_log=$(dump person_idx_log) before_idx=$(dump person_idx)
replays=$(grep -c "applied again" "$T/rosterd.log")
kill -9 "$DPID"
wait "$DPID" 2>/dev/null
DPID=
EXTRA_SETTINGS="index_log_entries = 2000" # no merge before the comparison
write_conf
start_daemon
check "the start after the kill applied the journal's merges" \
	test "$(grep -cE "journal: [1-9][0-9]* commits since the checkpoint applied again" \
		"$T/rosterd.log")" -gt "$replays"
check "the index log is as the killed rosterd left it" test "$(dump person_idx_log)" = "$before_log"
check "so is the index" test "$(dump person_idx)" = "$before_idx"
as $CLERK --json person find --name "Lone Client" --all
check "every acknowledged lone person is found by name" \
	test "$(grep -o '"id":"per_' <<<"$OUT" | wc -l)" = "$(wc -l <"$T/out/lone.ids")"

stop_daemon
check "a clean stop leaves no log" test "$(log_entries)" = 0
check "and the registry's own format level" test "$(requires)" = 00000003
finish
