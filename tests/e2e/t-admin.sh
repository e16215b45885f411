# t-admin.sh - administrators: status, role grants stored in the registry,
# online backups taken while a clerk writes, and verify-backup.
. "$(dirname "$0")/lib.sh"
: "${TAMPER:?set TAMPER to the roster-tamper binary}"
EXTRA_SETTINGS="audit_filter_block = 16" # so a backup holds audit filters to check
new_registry
add_person

as $ADMIN status
expect 0 "admin status"
check "status counts records" contains "$OUT" "records:     1 persons"
check "status shows key states" contains "$OUT" "data     1    active    protects 1 records"
check "status shows the last checkpoint" contains "$OUT" "checkpoint:  latest covers"
check "status shows the journal" contains "$OUT" "journal:     "
check "and the format: level 3, the Merkle tree in completion order" \
	contains "$OUT" "format:      level 3 needed; Merkle tree in completion order"
as $ADMIN --json status
check "the journal has journaled the writes" python3 -c 'import json,sys; j=json.loads(sys.argv[1])["journal"]; sys.exit(0 if j["records"] >= 1 and j["checkpoints"] >= 1 else 1)' "$OUT"
as $ADMIN status
check "status shows no personal data" test "$(contains "$OUT" "Müller" && echo y)" != y
curl_as $CLERK GET /v1/status
expect_status 403 "a clerk gets no registry status"

# Grants: stored, effective at once, audited, revocable; never the last admin.
as $NOBODY person get "$PID"
expect 77 "no role before the grant"
as $ADMIN role grant uid:$NOBODY approver
expect 0 "admin grants approver"
as $NOBODY person get "$PID"
expect 0 "the grant takes effect at once"
as $ADMIN role list
check "role list shows the grant" contains "$OUT" "uid $NOBODY"
as $CLERK role grant uid:$CLERK admin
expect 77 "a clerk cannot grant roles"
as $ADMIN role grant uid:$NOBODY wizard
expect 65 "an unknown role is refused"
as $ADMIN role grant no-such-account clerk
expect 65 "an unknown account is refused"
as $ADMIN role revoke uid:$NOBODY approver
expect 0 "admin revokes it"
as $NOBODY person get "$PID"
expect 77 "the revocation takes effect at once"
as $ADMIN role revoke uid:$ADMIN admin
expect 65 "an admin from rosterd.conf cannot be revoked here"
check "the message points at the config" contains "$ERR" "rosterd.conf"
as $AUDITOR audit tail --n 50
check "grants are audited" contains "$OUT" '"action":"role.grant"'
check "revocations are audited" contains "$OUT" '"action":"role.revoke"'
# Each names whom, and the roles the account holds after it: the SHA-256 of the
# stored role bits (approver 2; none 0).
two=$(printf '\x02' | sha256sum | cut -c1-64)
none=$(printf '\x00' | sha256sum | cut -c1-64)
check "the grant's entry names the account and its roles after it" \
	grep -q "\"action\":\"role.grant\".*\"object\":\"$two\".*\"target\":\"uid:$NOBODY\"" <<<"$OUT"
check "the revocation's entry too" \
	grep -q "\"action\":\"role.revoke\".*\"object\":\"$none\".*\"target\":\"uid:$NOBODY\"" <<<"$OUT"
stop_daemon
start_daemon
as $ADMIN role grant uid:$NOBODY clerk
as $ADMIN role list
check "grants survive a restart" contains "$OUT" "uid $NOBODY"

# Last admin: a registry whose only admin is a stored grant.
stop_daemon
sed -i "s/^admin = uid:$ADMIN\$/admin =/" "$CONF"
start_daemon
as $ADMIN status
expect 77 "without the config line the admin has no role"
kill "$DPID"; wait "$DPID"; DPID=
sed -i "s/^admin =\$/admin = uid:$ADMIN/" "$CONF"
start_daemon
as $ADMIN role grant uid:$AUDITOR admin
expect 0 "grant admin to the auditor account"
stop_daemon
sed -i "s/^admin = uid:$ADMIN\$/admin =/" "$CONF"
start_daemon
as $AUDITOR role revoke uid:$AUDITOR admin
expect 65 "the last admin cannot be revoked"
check "the message says why" contains "$ERR" "last admin"
as $AUDITOR role grant uid:$ADMIN admin
as $AUDITOR role revoke uid:$AUDITOR admin
expect 0 "revoking is fine once another admin exists"

# Online backup while a clerk keeps writing. Three persons at least are in it
# whatever the clerk has written by then: the tampering below needs them.
first=$PID
add_person
add_person
PID=$first
client_load 40
sleep 0.2
as $ADMIN backup "$T/out/backup1"
expect 0 "backup while a clerk writes"
check "no progress bar without a terminal" test -z "$ERR"
wait $CLIENT
check "no client request failed during the backup" test ! -e "$T/out/client.err"
check "the backup file is 0600" test "$(stat -c %a "$T/out/backup1/data.mdb")" = 600
as $ADMIN backup "$T/out/backup1"
expect 65 "a backup never overwrites another"
as_tty $ADMIN backup "$T/out/backup3"
expect 0 "backup on a terminal"
check "a terminal gets a copying bar that ends at 100%" contains "$OUT" "100%"
check "the bar names the copy" contains "$OUT" "copying"
as $ADMIN --json backup "$T/out/backup4"
check "the reply counts the bytes written" \
	test "$(field "$OUT" bytes)" = "$(stat -c %s "$T/out/backup4/data.mdb")"
curl_as $ADMIN GET /v1/progress
check "no backup running: progress says null" test "$(field "$OUT" backup)" = None
"$ROSTERD" verify-backup -c "$CONF" "$T/out/backup1" >"$T/vb.out" 2>&1
check "verify-backup passes on a fresh backup" test $? = 0
cp "$T/vb.out" "$T/out/vb1.out"
check "verify-backup says what it checked" grep -q "records open under their keys" "$T/vb.out"
check "the backup holds no plaintext" test "$(grep -c -a -F "Ana Müller" "$T/out/backup1/data.mdb")" = 0

# An auditor's --deep check while a clerk keeps writing: writes after the signed
# checkpoint are read from the log too, so a registry in use verifies clean.
client_load 60
sleep 0.3
for i in 1 2 3 4; do
	as $AUDITOR audit verify --deep
	[ "$RC" = 0 ] || break
done
expect 0 "verify --deep passes four times while a clerk writes ($ERR)"
wait $CLIENT
check "no client request failed during the checks" test ! -e "$T/out/client.err"

# A backup restored as a registry serves the same records.
cp "$T/master.key" "$T/master.key.keep"
stop_daemon
mv "$T/data" "$T/data.live"
mkdir -m 700 "$T/data"
cp "$T/out/backup1/data.mdb" "$T/data/"
start_daemon
as $CLERK --json person get "$PID"
expect 0 "a restored backup serves the records"
check "the record is intact" test "$(field "$OUT" name)" = "Ana Müller"

# verify-backup catches a moved ciphertext, and refuses another master key.
cp -a "$T/out/backup1" "$T/out/backup2"
mapfile -t pk < <("$TAMPER" "$T/out/backup2" persons keys)
"$TAMPER" "$T/out/backup2" persons put "${pk[0]}" "$("$TAMPER" "$T/out/backup2" persons get "${pk[1]}")"
"$ROSTERD" verify-backup -c "$CONF" "$T/out/backup2" >"$T/vb.out" 2>&1
check "verify-backup catches a moved record" test $? = 1
check "and names it" grep -q "does NOT verify: record" "$T/vb.out"
# A record deleted from a copy: the log recorded its write, the copy lacks it.
cp -a "$T/out/backup1" "$T/out/backup3"
"$TAMPER" "$T/out/backup3" persons del "${pk[2]}"
gone=$(python3 -c 'import sys; print(bytes.fromhex(sys.argv[1]).decode())' "${pk[2]}")
"$ROSTERD" verify-backup -c "$CONF" "$T/out/backup3" >"$T/vb.out" 2>&1
check "verify-backup catches a deleted record" test $? = 1
check "and names it as not stored ($(tail -n1 "$T/vb.out"))" \
	grep -q "record $gone: the log recorded its write at entry [0-9]*, but it is not stored" "$T/vb.out"
# A role grant written into a copy: no audited grant left it.
cp -a "$T/out/backup1" "$T/out/backup5"
"$TAMPER" "$T/out/backup5" roles put "$(printf '%08x' "$CLERK")" 08
"$ROSTERD" verify-backup -c "$CONF" "$T/out/backup5" >"$T/vb.out" 2>&1
check "verify-backup catches a grant the log never made" test $? = 1
check "and names it ($(tail -n1 "$T/vb.out"))" grep -q "the role grant of uid:$CLERK is not the one" "$T/vb.out"
# A block filter cleared in a copy: it would hide entries from audit questions.
check "a backup holds the audit filters ($(grep -o '[0-9]* block filters' "$T/vb.out" || true))" \
	grep -q "[1-9][0-9]* block filters hold every entry" "$T/out/vb1.out"
cp -a "$T/out/backup1" "$T/out/backup6"
fk=$("$TAMPER" "$T/out/backup6" audit_filter keys | head -1)
fv=$("$TAMPER" "$T/out/backup6" audit_filter get "$fk")
"$TAMPER" "$T/out/backup6" audit_filter put "$fk" "${fv:0:64}$(printf '%s' "${fv:64}" | tr '1-9a-f' '0')"
"$ROSTERD" verify-backup -c "$CONF" "$T/out/backup6" >"$T/vb.out" 2>&1
check "verify-backup catches a filter that leaves entries out" test $? = 1
check "and names the entry and its block ($(tail -n1 "$T/vb.out"))" \
	grep -q "entry 0: left out of the filter of entries 0 to 15" "$T/vb.out"
# The Merkle tree's nodes: proofs are read from them, so a copy with one altered,
# missing, or left past a log cut short does not verify.
# tampered N DB OP KEY [VALUE]: backup1 copied to backupN, changed with roster-tamper,
# then verify-backup on it: its exit in $rc, its output in $T/vb.out.
tampered() {
	local n=$1
	shift
	cp -a "$T/out/backup1" "$T/out/backup$n"
	"$TAMPER" "$T/out/backup$n" "$@"
	"$ROSTERD" verify-backup -c "$CONF" "$T/out/backup$n" >"$T/vb.out" 2>&1
	rc=$?
}
check "verify-backup counts the tree's nodes it checked" grep -q "[1-9][0-9]* Merkle tree nodes" "$T/out/vb1.out"
mk=$("$TAMPER" "$T/out/backup1" merkle keys | awk 'substr($0, 17, 2) == "01"' | sed -n 2p)
first=$(( (16#${mk:0:16} - 1) ))
tampered 7 merkle put "$mk" "$(printf '%064d' 7)"
check "verify-backup catches an altered Merkle node (exit $rc)" test $rc = 1
check "and names its entries ($(tail -n1 "$T/vb.out"))" grep -q \
	"does NOT verify: Merkle tree: the Merkle tree's node over entries $first to $((first + 1)) (level 1) is not the hash" "$T/vb.out"
tampered 8 merkle del "$mk"
check "verify-backup catches a missing Merkle node (exit $rc)" test $rc = 1
check "and names it ($(tail -n1 "$T/vb.out"))" grep -q \
	"Merkle tree lacks its node over entries $first to $((first + 1)) (level 1)" "$T/vb.out"
tampered 9 merkle put "$(printf '%016x00' 99999999)" "$(printf '%064d' 9)"
check "verify-backup catches nodes past the log's end (exit $rc)" test $rc = 1
check "and says the log was cut short ($(tail -n1 "$T/vb.out"))" \
	grep -q "holds nodes past the log's last entry .*the log was cut short" "$T/vb.out"
printf '%064d\n' 5 >"$T/master.key"
"$ROSTERD" verify-backup -c "$CONF" "$T/out/backup1" >"$T/vb.out" 2>&1
rc=$?
check "verify-backup refuses the wrong master key" grep -q "does not open" "$T/vb.out"
check "as a backup it could not check, not one it found faulty (exit $rc)" test $rc = 65
check "and says an older backup needs the key of its time" grep -q "before a master key rotation" "$T/vb.out"
cp "$T/master.key.keep" "$T/master.key"
# Nothing at PATH, or a file where the backup's folder should be: nothing to check.
"$ROSTERD" verify-backup -c "$CONF" "$T/out/no-such-backup" >"$T/vb.out" 2>&1
rc=$?
check "verify-backup of a missing folder exits 66 (exit $rc)" test $rc = 66
check "saying what PATH should be ($(tail -n1 "$T/vb.out"))" grep -q "cannot check backup .*holding data.mdb" "$T/vb.out"
"$ROSTERD" verify-backup -c "$CONF" "$T/out/backup1/data.mdb" >"$T/vb.out" 2>&1
check "and of a file given for the folder (exit $?)" test $? = 66
# A data.mdb that is not an LMDB file is a faulty backup.
mkdir -p "$T/out/junk"
head -c 65536 /dev/urandom >"$T/out/junk/data.mdb"
"$ROSTERD" verify-backup -c "$CONF" "$T/out/junk" >"$T/vb.out" 2>&1
rc=$?
check "verify-backup of a data.mdb that is not a registry finds a fault (exit $rc)" test $rc = 1
check "and says so ($(tail -n1 "$T/vb.out"))" grep -q "does NOT verify: cannot open" "$T/vb.out"
finish
