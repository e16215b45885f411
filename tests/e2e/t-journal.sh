# t-journal.sh - durability through the journal (daemon/journal.c). LMDB writes its
# pages unsynced while rosterd serves; a write is acknowledged once its journal
# record is synced. A power loss is played by putting back data.mdb as it was at
# the last checkpoint (none of LMDB's writes since reached the disk): the next
# start rewinds to the checkpoint and applies the journal, and every acknowledged
# write is there with the log verifying --deep against an auditor's earlier state.
# After a crash of the process, a record that does not apply makes every start
# refuse, and `rosterd recover` brings back the state at the crash.
# Also: a damaged record ends the replay, a data file the journal was not written for is
# refused untouched, so is a journal with no valid header, a second rosterd on the
# same registry is refused, a clean stop leaves nothing to redo, and the journal
# holds no plaintext.
. "$(dirname "$0")/lib.sh"
EXTRA_SETTINGS="journal_size = 64M" new_registry
J=$T/data/journal
check "the journal exists, mode 0600" test "$(stat -c %a "$J")" = 600
# No commit since the start's checkpoint (health is not audited): this is
# data.mdb exactly as the checkpoint has it.
cp "$T/data/data.mdb" "$T/at-checkpoint.mdb"

add_person
first=$PID
ids=("$PID")
for _ in 1 2 3; do add_person; ids+=("$PID"); done
as $CLERK --json doc add --person "$first" --type passport --number C01X00T47 --country DE --expires 2031-05-01
DID=$(field "$OUT" id)
as $CLERK doc custody "$DID" surrender --to employer --custodian "HR safe, site 2"
expect 0 "a custody event (the state index moves)"
as $CLERK --json person update "$first" --version 1 --employer "Moved GmbH"
expect 0 "an update (index entries deleted and put)"
as $AUDITOR audit verify --state "$T/out/audit.json"
expect 0 "an auditor's state before the crash"
chmod 666 "$T/out/audit.json"
for secret in "Ana Müller" "T22000129" "Patent EP3141592" "C01X00T47" "Moved GmbH" "HR safe"; do
	check "the journal does not hold '$secret'" test "$(grep -c -F -a "$secret" "$J")" = 0
done

rosterd_exits 75 "a second rosterd on the same registry is refused" \
	"another rosterd is serving" -c "$CONF"
as $CLERK --json person get "$first"
expect 0 "the first one still serves"

# The power loss: the process dies and LMDB's unsynced pages are lost.
kill -9 "$DPID"
wait "$DPID" 2>/dev/null
DPID=
cp "$T/data/data.mdb" "$T/latest.mdb"
cp "$T/at-checkpoint.mdb" "$T/data/data.mdb"
start_daemon
check "the start says it recovered" grep -q "did not stop cleanly" "$T/rosterd.log"
check "and applied the journal" grep -qE "journal: [1-9][0-9]* commits since the checkpoint applied again" "$T/rosterd.log"
check "the meta pages it kept in case of a refused replay are gone" test ! -e "$T/data/journal.undo"
missing=0
for id in "${ids[@]}"; do
	as $CLERK --json person get "$id"
	[ "$RC" = 0 ] || missing=$((missing + 1))
done
check "every acknowledged person is back ($missing missing)" test "$missing" = 0
as $CLERK --json person get "$first"
check "the update is back" contains "$OUT" "Moved GmbH"
as $CLERK --json doc get "$DID"
check "the custody event is back" contains "$OUT" "HR safe, site 2"
as $CLERK --json person find --national-id T22000129
check "the blind index is back" contains "$OUT" "$first"
as $AUDITOR audit verify --state "$T/out/audit.json" --deep
expect 0 "the log verifies --deep, consistent with the auditor's state before the crash"

# rosterd recover, which puts back the meta pages a start refused to replay from
# (test-journal.c walks that): refused while rosterd serves, with nothing to do
# after a clean stop, and refused, changing nothing, when data.mdb is neither at
# the journal's checkpoint nor at the pages journal.undo holds (here: pages from
# before the last write, and a kill after it that no start rewound).
rosterd_exits 75 "recover is refused while rosterd serves" \
	"a rosterd is serving the registry" recover -c "$CONF"
dd if="$T/data/data.mdb" of="$T/data/journal.undo" bs=4096 count=2 2>/dev/null
add_person
kept=$PID
kill -9 "$DPID"
wait "$DPID" 2>/dev/null
DPID=
cp "$T/data/data.mdb" "$T/killed.mdb"
cp "$T/data/journal" "$T/killed.journal"
rosterd_exits 65 "recover refuses a data.mdb no start rewound" \
	"no longer at the journal's checkpoint" recover -c "$CONF"
check "changing nothing" cmp -s "$T/data/data.mdb" "$T/killed.mdb"
check "not even the journal" cmp -s "$T/data/journal" "$T/killed.journal"
start_daemon
as $CLERK --json person get "$kept"
expect 0 "the start after it replays as ever: the last person is there"
check "and journal.undo is gone" test ! -e "$T/data/journal.undo"
stop_daemon
rosterd_exits 66 "after a clean stop recover has nothing to do" \
	"nothing to recover" recover -c "$CONF"
start_daemon

# A data file that is not the journal's (a backup put back after a crash, without
# moving the journal away) is refused, and left as it was.
add_person
kill -9 "$DPID"
wait "$DPID" 2>/dev/null
DPID=
cp "$T/data/data.mdb" "$T/latest.mdb"
cp "$T/at-checkpoint.mdb" "$T/data/data.mdb"
rosterd_exits 65 "rosterd refuses a data file the journal was not written for" \
	"is not the data file .* was written for" -c "$CONF"
check "the data file was not touched" cmp -s "$T/at-checkpoint.mdb" "$T/data/data.mdb"
cp "$T/latest.mdb" "$T/data/data.mdb"
start_daemon
as $CLERK --json person get "$PID"
expect 0 "with the right data file it starts, the last write there"

# A damaged record ends the replay: what came before it is applied, nothing after.
add_person
a=$PID
add_person
b=$PID
kill -9 "$DPID"
wait "$DPID" 2>/dev/null
DPID=
python3 "$(dirname "$0")/journal.py" "$J" damage
start_daemon
as $CLERK --json person get "$a"
expect 0 "the write before the damaged record is there"
as $CLERK --json person get "$b"
expect 1 "the write in the damaged record is not"
as $AUDITOR audit verify --deep
expect 0 "the log verifies --deep"

# An intact record that does not apply: a fault in what was journaled, played by
# rewriting the last record's first change to a kind rosterd does not know and
# hashing the record again. After a crash of the process (data.mdb as the kill
# left it) every start refuses, and `rosterd recover` puts back the meta pages
# the first refused start kept: every acknowledged write is there, the refused
# record's too, and the log verifies against an auditor's state from before.
add_person
c=$PID
add_person
d=$PID
dnid="T22$((100000 + ADDED - 1))"
as $AUDITOR audit verify --state "$T/out/audit.json"
expect 0 "an auditor's state before the second crash"
kill -9 "$DPID"
wait "$DPID" 2>/dev/null
DPID=
python3 "$(dirname "$0")/journal.py" "$J" spoil
cp "$T/data/journal" "$T/spoilt.journal"
rosterd_exits 65 "a record that does not apply is refused" \
	"does not apply to the checkpointed registry (malformed).*'rosterd recover'" -c "$CONF"
check "the refused start kept data.mdb's meta pages in journal.undo" test -s "$T/data/journal.undo"
cp "$T/data/journal.undo" "$T/undo.first"
rosterd_exits 65 "a second start is refused the same way" \
	"does not apply to the checkpointed registry" -c "$CONF"
check "and leaves journal.undo as the first kept it" cmp -s "$T/data/journal.undo" "$T/undo.first"
touch "$T/data/journal.refused"
cp "$T/data/data.mdb" "$T/rewound.mdb"
rosterd_exits 73 "recover will not overwrite an earlier journal.refused" \
	"journal.refused exists" recover -c "$CONF"
check "changing nothing" cmp -s "$T/data/data.mdb" "$T/rewound.mdb"
check "not the journal" cmp -s "$T/data/journal" "$T/spoilt.journal"
rm "$T/data/journal.refused"
# What recover finds wrong, it names, and changes nothing: journal.undo cut short
# or not LMDB's meta pages, data.mdb not the journal's file.
head -c 5000 "$T/undo.first" >"$T/data/journal.undo"
rosterd_exits 65 "recover refuses a journal.undo cut short" \
	"does not hold two meta pages of 4096 bytes" recover -c "$CONF"
cp "$T/undo.first" "$T/data/journal.undo"
printf 'XXXX' | dd of="$T/data/journal.undo" bs=1 seek=$((4096 + 16)) conv=notrunc status=none
rosterd_exits 65 "recover refuses a journal.undo whose page is not LMDB's" \
	"page 1 is not an LMDB meta page" recover -c "$CONF"
cp "$T/undo.first" "$T/data/journal.undo"
cp "$T/at-checkpoint.mdb" "$T/data/data.mdb"
rosterd_exits 65 "recover refuses a data.mdb the journal was not written for" \
	"is not the data file .* was written for" recover -c "$CONF"
check "changing nothing in it" cmp -s "$T/data/data.mdb" "$T/at-checkpoint.mdb"
cp "$T/rewound.mdb" "$T/data/data.mdb"
check "nor in the journal" cmp -s "$T/data/journal" "$T/spoilt.journal"
rosterd_exits 0 "then recover puts the pages back" \
	"is back at the state rosterd left when it stopped" recover -c "$CONF"
check "sets the journal aside as journal.refused" cmp -s "$T/data/journal.refused" "$T/spoilt.journal"
check "and removes journal.undo" test ! -e "$T/data/journal.undo"
before=$(grep -c "did not stop cleanly" "$T/rosterd.log")
start_daemon
check "the start after it has nothing to replay" \
	test "$(grep -c "did not stop cleanly" "$T/rosterd.log")" = "$before"
for id in "$c" "$d"; do
	as $CLERK --json person get "$id"
	expect 0 "a person acknowledged before the crash is there ($id)"
done
as $CLERK --json person find --national-id "$dnid"
check "and found by national id" contains "$OUT" "$d"
as $AUDITOR audit verify --state "$T/out/audit.json" --deep
expect 0 "the log verifies --deep, consistent with the auditor's state before the crash"
rm "$T/data/journal.refused"

# A journal whose two header slots are both damaged is refused: the registry may
# lack what its records held.
add_person
kill -9 "$DPID"
wait "$DPID" 2>/dev/null
DPID=
cp "$J" "$T/journal.copy"
printf 'XXXXXXXX' | dd of="$J" bs=1 seek=0 conv=notrunc status=none
printf 'XXXXXXXX' | dd of="$J" bs=1 seek=$((4096 + 2 * 65536)) conv=notrunc status=none
rosterd_exits 65 "a journal without a valid header is refused" \
	"has no valid header" -c "$CONF"
cp "$T/journal.copy" "$J"
start_daemon
as $CLERK --json person get "$PID"
expect 0 "with the journal put back, the last write is there"

# A commit too big for the journal (an import, with journal_size at its 1M floor)
# is made durable by a checkpoint instead, and survives a kill -9 like the rest.
stop_daemon
EXTRA_SETTINGS="journal_size = 1M" write_conf
start_daemon
as $ADMIN --json status
before=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["records"]["persons"])' "$OUT")
python3 - "$T/out/big.jsonl" <<'PY'
import json, sys
with open(sys.argv[1], "w") as f:
    for i in range(1500):
        f.write(json.dumps({"name": "Big Import", "birth_date": "1980-01-01", "nationality": "DE",
                            "national_id": f"BIG{i:06d}", "employer": "Journal GmbH",
                            "segment": "upstream", "expertise": ["metallurgy"],
                            "research": "r" * 1000}) + "\n")
PY
chmod 644 "$T/out/big.jsonl"
as $CLERK person import "$T/out/big.jsonl"
expect 0 "an import of 1,500 persons (about 2 MB of changes) with a 1M journal"
kill -9 "$DPID"
wait "$DPID" 2>/dev/null
DPID=
start_daemon
as $ADMIN --json status
check "all 1,500 are there after a kill -9" test \
	"$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["records"]["persons"])' "$OUT")" = $((before + 1500))
as $CLERK --json person find --national-id BIG001499
check "and found by the index" contains "$OUT" '"id"'
as $AUDITOR audit verify --deep
expect 0 "the log verifies --deep"

# A clean stop leaves nothing to redo.
stop_daemon
before=$(grep -c "did not stop cleanly" "$T/rosterd.log")
start_daemon
check "a start after a clean stop recovers nothing" \
	test "$(grep -c "did not stop cleanly" "$T/rosterd.log")" = "$before"
as $CLERK --json person get "$a"
expect 0 "and the data is there"
finish
