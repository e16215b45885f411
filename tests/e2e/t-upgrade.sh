# t-upgrade.sh - a registry written by an older release (tests/fixtures/registry-0.1.0)
# opens with this rosterd: its records read back and are found through the blind
# indexes, the log and every record verify --deep, verify-backup passes, and new
# writes, rotations and restarts carry on from it. Its Merkle tree is kept by level
# while tree_convert = no, then put in completion order at a start (tree-convert.c),
# and an auditor's state taken before still verifies against it.
. "$(dirname "$0")/lib.sh"
: "${TAMPER:?set TAMPER to the roster-tamper binary}"
FX=$(cd "$(dirname "$0")/../fixtures/registry-0.1.0" && pwd)
read -r P P2 D TR1 TR2 <"$FX/ids"

conf() { # the fixture's origin; EXTRA_SETTINGS as the caller sets them
	write_conf
	sed -i 's|^origin = .*|origin = fixture.test/roster|' "$CONF"
}
EXTRA_SETTINGS="tree_convert = no" conf
install -d -m 0700 "$T/data"
install -m 0600 "$FX/data.mdb" "$T/data/data.mdb"
install -m 0600 "$FX/master.key" "$T/master.key"

"$ROSTERD" verify-backup -c "$CONF" "$T/data" >"$T/vb.out" 2>&1
rc=$?
check "verify-backup passes on the 0.1.0 registry ($(tail -n1 "$T/vb.out"))" test $rc = 0
check "checking its Merkle tree by level" grep -q "[1-9][0-9]* Merkle tree nodes" "$T/vb.out"
start_daemon
as $ADMIN status
check "status says its Merkle tree is by level, needing no format" \
	contains "$OUT" "format:      level 0 needed; Merkle tree by level (as made before 0.7.8)"

as $CLERK --json person get "$P"
expect 0 "a 0.1.0 person reads back"
check "with its updated field" test "$(field "$OUT" employer)" = "Fixture Alloys"
check "and its non-ASCII name" test "$(field "$OUT" name)" = "Zoë Ødegård"
as $CLERK person find --national-id NO-1975-0304
check "a 0.1.0 person is found by national id" contains "$OUT" "$P"
as $CLERK person find --name "KENJI SATO" --employer "Fixture Metals"
check "and by name and employer (the blind indexes of 0.1.0)" contains "$OUT" "$P2"
as $CLERK --json doc get "$D"
check "a 0.1.0 document keeps its custody history" \
	test "$(python3 -c 'import json,sys; print(len(json.loads(sys.argv[1])["history"]))' "$OUT")" = 2
check "moved out of the record at the first start" grep -q "moved the custody history of 1 document" "$T/rosterd.log"
check "the document counts its 2 events" test "$(field "$OUT" events)" = 2
as $AUDITOR audit tail --n 50
check "the rewritten document is audited" test "$(grep '"action":"record.migrate"' <<<"$OUT" | grep -c "\"target\":\"$D\"")" = 1
stop_daemon
start_daemon
check "and only once" test "$(grep -c "moved the custody history" "$T/rosterd.log")" = 1
as $CLERK doc list --custody holder
check "the custody index of 0.1.0 answers" contains "$OUT" "$D"
as $CLERK --json travel get "$TR2"
check "a 0.1.0 denied trip keeps its reason" test "$(field "$OUT" reason)" = "no business need"

as $AUDITOR audit verify --deep
expect 0 "the 0.1.0 log verifies --deep under this version"
STATE=$T/out/state.json
as $AUDITOR audit verify --state "$STATE"
expect 0 "an auditor's state taken now"

# This version writes on: a custody event, a new person, key rotations, a restart.
as $CLERK doc custody "$D" return
expect 0 "a custody event on a 0.1.0 document"
add_person
as $ADMIN key rotate data --wait
expect 0 "a data key rotation re-encrypts the 0.1.0 records"
as $ADMIN key rotate index --wait
expect 0 "an index key rotation re-indexes the 0.1.0 records"
# A log long enough that its conversion takes several slices (tree-convert.c).
import_many 40000 Bulk
expect 0 "40,000 persons imported while the tree stays by level"
stop_daemon
nodes() { mdb_stat -s "$1" "$T/data" | awk '/Entries:/ {print $2}'; }
check "tree_convert = no kept the Merkle tree by level ($(nodes tree) nodes), as it said" \
	test "$(nodes merkle)" = 0 -a "$(nodes tree)" -gt 100
check "and said so" grep -q "stays in its order by level (tree_convert = no)" "$T/rosterd.log"
# verify-backup reads a tree by level a node at a time: one altered is named.
cp -a "$T/data" "$T/out/levels"
lk=$("$TAMPER" "$T/out/levels" tree keys | grep '^01' | sed -n 3p)
first=$((2 * 16#${lk:2:16}))
"$TAMPER" "$T/out/levels" tree put "$lk" "$(printf '%064d' 3)"
"$ROSTERD" verify-backup -c "$CONF" "$T/out/levels" >"$T/vb.out" 2>&1
rc=$?
check "verify-backup finds an altered node of a tree by level (exit $rc; $(tail -n1 "$T/vb.out"))" \
	grep -q "node over entries $first to $((first + 1)) (level 1) is not the hash" "$T/vb.out"
check "and exits 1 on it (exit $rc)" test $rc = 1
by_level=$(nodes tree)
# Since 0.7.9 the conversion runs while rosterd serves, a slice a transaction in
# the writer: 16 nodes a second while a clerk writes (128 a slice, back to back,
# once nobody has for a second), so status finds it halfway.
EXTRA_SETTINGS="tree_convert_slice = 16" conf
start_daemon
add_person
# Killed halfway: the journal replays the slices (and any switch) it acknowledged,
# the order is read again after the replay, and the next start resumes.
client_load 10
for _ in $(seq 100); do
	as $ADMIN status
	case "$OUT" in *"being put in completion order: "[1-9]*) break ;; esac
	sleep 0.05
done
killed=$(grep -o "[1-9][0-9]* of [0-9]* nodes" <<<"$OUT")
kill -9 "$DPID"
wait "$DPID" 2>/dev/null
DPID=
wait $CLIENT
check "killed -9 while converting ($killed copied)" test -n "$killed"
rm -f "$T/out/client.err" # writes cut off by the kill
# The journal replayed with the conversion held (tree_convert = no): merkle holds
# the prefix copied so far, which the next start resumes from. verify-backup
# checks it as far as it goes; a node of it altered is named.
EXTRA_SETTINGS="tree_convert = no" conf
start_daemon
stop_daemon
"$ROSTERD" verify-backup -c "$CONF" "$T/data" >"$T/vb.out" 2>&1
rc=$?
check "a registry halfway through its conversion verifies (exit $rc; $(tail -n1 "$T/vb.out"))" \
	grep -q "Merkle tree nodes the hashes of their entries (and the [1-9][0-9]* its conversion has copied)" "$T/vb.out"
cp -a "$T/data" "$T/out/half"
hk=$("$TAMPER" "$T/out/half" merkle keys | sed -n 5p)
"$TAMPER" "$T/out/half" merkle put "$hk" "$(printf '%064d' 5)"
"$ROSTERD" verify-backup -c "$CONF" "$T/out/half" >"$T/vb.out" 2>&1
rc=$?
check "and one with a copied node altered does not (exit $rc; $(tail -n1 "$T/vb.out"))" \
	grep -q "does NOT verify: the Merkle tree's copy in completion order (a conversion under way): .* is not the hash" "$T/vb.out"
EXTRA_SETTINGS="tree_convert_slice = 16" conf
start_daemon
client_load 30
seen=""
as $ADMIN status
case "$OUT" in *"being put in completion order"*) seen=$(grep -o "[0-9]* of [0-9]* nodes" <<<"$OUT") ;; esac
wait $CLIENT
check "the clerk's writes all succeeded meanwhile" test ! -s "$T/out/client.err"
check "rosterd answered while converting (status: $seen copied)" test -n "$seen"
# Killed as soon as the last slice (the switch) has committed: that slice is then
# in the journal only, and the start replays it; the order must be read after
# the replay (it was read before: appends went to the emptied tree by level).
for _ in $(seq 1500); do
	grep -q "converted the Merkle tree" "$T/rosterd.log" && break
	sleep 0.02
done
kill -9 "$DPID"
wait "$DPID" 2>/dev/null
DPID=
check "and converted it while serving" grep -q "converted the Merkle tree of [0-9]* entries .* while serving" \
	"$T/rosterd.log"
start_daemon
add_person
check "a create after the replayed switch ($PID)" test -n "$PID"
as $ADMIN status
check "status says so" contains "$OUT" "format:      level 3 needed; Merkle tree in completion order"
as $CLERK person find --national-id NO-1975-0304
check "still found after the index rotation and a restart" contains "$OUT" "$P"
as $AUDITOR audit verify --state "$STATE" --deep
expect 0 "the log stays consistent with the earlier state, every record matching"
as $ADMIN backup "$T/out/bk"
"$ROSTERD" verify-backup -c "$CONF" "$T/out/bk" >"$T/vb.out" 2>&1
check "a backup taken now verifies" test $? = 0

# A registry a later rosterd marked as needing a format level this one lacks
# (meta "requires") is refused by name, and left as it was.
stop_daemon
REQUIRES=7265717569726573     # "requires"
TREE_ORDER=747265655f6f72646572 # "tree_order"
check "its nodes, and the new ones, are in merkle ($(nodes merkle); $by_level before), none in tree" \
	test "$(nodes merkle)" -gt "$by_level" -a "$(nodes tree)" = 0
check "meta says the order" test "$("$TAMPER" "$T/data" meta get $TREE_ORDER)" = \
	"$(printf completion | od -An -tx1 | tr -d ' \n')"
check "and that it needs format 3: older releases refuse it" \
	test "$("$TAMPER" "$T/data" meta get $REQUIRES)" = 00000003
"$TAMPER" "$T/data" meta put $REQUIRES 00000004
before=$(sha256sum <"$T/data/data.mdb")
timeout 20 "$ROSTERD" -c "$CONF" >"$T/out/newer.out" 2>&1
rc=$?
check "rosterd refuses a registry that needs format 4 (exit $rc: EX_DATAERR)" test $rc = 65
check "and says why" grep -q "needs a rosterd that knows format 4 (this is .*format 3)" "$T/out/newer.out"
"$ROSTERD" verify-backup -c "$CONF" "$T/data" >"$T/out/newer-vb.out" 2>&1
rc=$?
check "verify-backup refuses it too (exit $rc)" test $rc != 0
check "saying why" grep -q "knows format 4" "$T/out/newer-vb.out"
check "neither changed data.mdb" test "$(sha256sum <"$T/data/data.mdb")" = "$before"
"$TAMPER" "$T/data" meta put $REQUIRES 00000002
start_daemon
as $AUDITOR audit verify --deep
expect 0 "a registry that needs format 2 opens and verifies"

# 0.7.1 killed with writes in its journal (tests/fixtures/crashed-0.7.1): this
# rosterd replays 0.7.1's journal (its header's older layout) and keeps them all.
stop_daemon
CX=$(cd "$(dirname "$0")/../fixtures/crashed-0.7.1" && pwd)
rm -rf "$T/data"
install -d -m 0700 "$T/data"
install -m 0600 "$CX/data.mdb" "$CX/journal" "$T/data/"
install -m 0600 "$CX/master.key" "$T/master.key"
replays=$(grep -c "commits since the checkpoint applied again" "$T/rosterd.log")
start_daemon
check "the start applied 0.7.1's journal (4 commits)" \
	grep -q "journal: 4 commits since the checkpoint applied again" "$T/rosterd.log"
n=0
while read -r id; do
	case $id in per_*) as $CLERK --json person get "$id" ;; *) as $CLERK --json doc get "$id" ;; esac
	[ "$RC" = 0 ] && n=$((n + 1))
done <"$CX/ids"
check "every write acknowledged before the kill reads back ($n of 4)" test "$n" = 4
as $CLERK person find --national-id JR-071-Clara
check "and is found by the index" contains "$OUT" "$(sed -n 3p "$CX/ids")"
as $AUDITOR audit verify --deep
expect 0 "the log and every record verify --deep"
add_person
expect 0 "writes go on"
stop_daemon
start_daemon
check "a clean stop leaves nothing to replay" \
	test "$(grep -c "commits since the checkpoint applied again" "$T/rosterd.log")" = $((replays + 1))
check "the journal's header is this release's layout" test "$(head -c 8 "$T/data/journal")" = RSTRJRN2
as $CLERK --json person get "$PID"
expect 0 "the person added after the replay reads back"
finish
