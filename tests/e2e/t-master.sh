# t-master.sh - master key rotation online: every key re-wrapped under a new key,
# the key file replaced, the old key refused; a crash before or after the commit
# leaves a registry that opens with exactly one of the two keys.
. "$(dirname "$0")/lib.sh"
new_registry
add_person
cp "$T/master.key" "$T/master.old"

client_load 20
as $ADMIN key rotate master
expect 0 "admin rotates the master key"
check "the reply says how many keys were re-wrapped" contains "$OUT" "3 keys re-wrapped"
wait $CLIENT
check "no client request failed during the rotation" test ! -e "$T/out/client.err"
check "the key file changed" test "$(cat "$T/master.key")" != "$(cat "$T/master.old")"
check "the new key file is 0600" test "$(stat -c %a "$T/master.key")" = 600
check "no .new file is left" test ! -e "$T/master.key.new"
as $CLERK --json person get "$PID"
check "records read on after the rotation" test "$(field "$OUT" name)" = "Ana Müller"
stop_daemon

cp "$T/master.key" "$T/master.cur"
cp "$T/master.old" "$T/master.key"
"$ROSTERD" -c "$CONF" 2>"$T/start.err"
check "the old master key is refused" test $? != 0
check "with a clear message" grep -q "does not open this registry" "$T/start.err"

# A crash after the commit, before the file was replaced: old file in place, new
# one beside it. rosterd finishes the switch.
cp "$T/master.cur" "$T/master.key.new"
chmod 600 "$T/master.key.new"
start_daemon
check "rosterd completes an interrupted rotation" grep -q "completed an interrupted master key rotation" "$T/rosterd.log"
check "the new key is now in place" cmp -s "$T/master.key" "$T/master.cur"
as $CLERK --json person get "$PID"
expect 0 "the registry serves after completing the rotation"
stop_daemon

# A crash before the commit: a stray .new beside the working key is dropped.
printf '%064d\n' 9 >"$T/master.key.new"
chmod 600 "$T/master.key.new"
start_daemon
check "a stale .new is removed" test ! -e "$T/master.key.new"
check "and reported" grep -q "did not commit" "$T/rosterd.log"
# Index key: the state indexes are rebuilt under a new key; lists answer the same.
: "${TAMPER:?set TAMPER to the roster-tamper binary}"
for n in 1 2 3 4; do
	as $CLERK --json doc add --person "$PID" --type passport --number "P$n" --country DE --expires 2031-01-01
	d=$(field "$OUT" id)
	[ $n -le 2 ] && as $CLERK doc custody "$d" surrender --to employer
done
lists() {
	for s in holder employer; do
		as $CLERK --json doc list --custody $s
		python3 -c 'import json,sys; print(sorted(d["id"] for d in json.loads(sys.argv[1])["items"]))' "$OUT"
	done
}
before=$(lists)
stop_daemon
tags_before=$("$TAMPER" "$T/data" doc_by_state keys)
start_daemon
client_load 10
as $ADMIN key rotate index --wait
expect 0 "admin rotates the index key"
wait $CLIENT
check "no client request failed during the index rotation" test ! -e "$T/out/client.err"
check "custody lists answer the same after the rebuild" test "$(lists)" = "$before"
as $CLERK --json doc custody "$d" surrender --to authority
as $CLERK --json doc list --custody authority
check "new state changes are indexed under the new key" contains "$OUT" "$d"
after=$(lists)
stop_daemon
check "the index tags changed" test "$("$TAMPER" "$T/data" doc_by_state keys)" != "$tags_before"
start_daemon
check "lists survive a restart after the rotation" test "$(lists)" = "$after"
as $ADMIN --json key status
check "key status shows index key 2" contains "$OUT" '"kind":"index","id":2'

# Reads run on the main thread against a committed snapshot, with the keys of that
# commit: while the index key changes, every find must still find (a find that
# paired a snapshot with the other key would come back empty).
finder() {
	for _ in $(seq 60); do
		ctl $CLERK --json person find --national-id T22000129 >"$T/out/find.json" 2>>"$T/out/find.err" ||
			echo "find failed" >>"$T/out/find.err"
		grep -q "\"id\":\"$PID\"" "$T/out/find.json" || echo "find missed" >>"$T/out/find.err"
		ctl $CLERK --json doc list --custody employer >"$T/out/custody.json" 2>>"$T/out/find.err" ||
			echo "list failed" >>"$T/out/find.err"
		[ "$(grep -o '"id":"doc_' "$T/out/custody.json" | wc -l)" = 2 ] ||
			echo "list missed" >>"$T/out/find.err"
	done
}
finder &
FINDER=$!
for _ in 1 2 3 4 5; do
	as $ADMIN key rotate index --wait
	[ "$RC" = 0 ] || bad "an index rotation failed: $ERR"
done
wait $FINDER
check "finds and lists during five index rotations found their records" test ! -s "$T/out/find.err"

as $AUDITOR audit verify --deep
expect 0 "the log verifies --deep after the rotations"
# The master key as a systemd credential ($CREDENTIALS_DIRECTORY).
stop_daemon
mkdir -m 700 "$T/creds"
cp "$T/master.key" "$T/creds/roster-master"
chmod 400 "$T/creds/roster-master"
sed -i "s|^master_key = .*|master_key = credential:roster-master|" "$CONF"
CREDENTIALS_DIRECTORY=$T/creds start_daemon
as $CLERK --json person get "$PID"
expect 0 "rosterd opens the registry with the key from a credential"
as $ADMIN key rotate master
expect 65 "a credential master key is not rotated online"
check "the message says how to rotate it" contains "$ERR" "systemd-creds"
stop_daemon
"$ROSTERD" -c "$CONF" 2>"$T/start.err"
check "credential: without CREDENTIALS_DIRECTORY is refused clearly" grep -q "CREDENTIALS_DIRECTORY" "$T/start.err"
sed -i "s|^master_key = .*|master_key = $T/master.key|" "$CONF"
start_daemon

as $AUDITOR audit tail --n 200
check "the rotation is audited" contains "$OUT" '"action":"key.rotate"'
check "the audit log holds no key material" test "$(grep -c -F "$(cat "$T/master.cur" | cut -c1-20)" <<<"$OUT")" = 0
finish
