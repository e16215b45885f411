# t-rotate.sh - data key rotation online: clients keep writing and reading, every
# record ends under the new key, the old key ends retired with nothing under it,
# the log verifies --deep, and kill -9 at any point of a rotation resumes.
. "$(dirname "$0")/lib.sh"
: "${TAMPER:?set TAMPER to the roster-tamper binary}"
EXTRA_SETTINGS="reencrypt_batch = 1" new_registry

for i in $(seq 120); do
	as $CLERK person add --name "Rotating Person" --birth-date 1980-01-01 --nationality DE \
		--employer E --segment upstream --expertise metallurgy
done
add_person

key_state() { # key_state ID: that data key's state and record count
	as $ADMIN --json key status
	python3 -c '
import json, sys
for k in json.loads(sys.argv[1])["keys"]:
    if k["kind"] == "data" and k["id"] == int(sys.argv[2]):
        print(k["state"], k.get("records", 0))' "$OUT" "$1"
}

wait_retired() { # wait_retired ID: until that key is retired (10 s at most)
	for _ in $(seq 200); do
		[ "$(key_state "$1")" = "retired 0" ] && return 0
		sleep 0.05
	done
	return 1
}

records=$(python3 -c 'print(121)')
check "key 1 protects every record at first" test "$(key_state 1)" = "active $records"

# A clerk writes and reads throughout the rotation.
client_load 30
# Two rotations from one admin, the second sent the moment the first is answered
# (from one process: a second rosterctl could start after the 151 slices ended).
setpriv --reuid="$ADMIN" --regid="$ADMIN" --clear-groups /usr/bin/python3 - "$SOCK" \
	>"$T/out/rotations" <<'PY'
import json, socket, sys

def rotate():
    s = socket.socket(socket.AF_UNIX)
    s.connect(sys.argv[1])
    body = b'{"kind":"data"}'
    s.sendall(b"POST /v1/keys/rotate HTTP/1.1\r\nHost: r\r\nConnection: close\r\n"
              b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
    data = b""
    while chunk := s.recv(65536):
        data += chunk
    s.close()
    head, _, reply = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(reply)

for status, reply in (rotate(), rotate()):
    print(status, json.dumps(reply))
PY
{ read -r first_status first_reply; read -r second_status second_reply; } <"$T/out/rotations"
check "admin rotates the data key ($first_status)" test "$first_status" = 200
check "the reply names the new key ($first_reply)" contains "$first_reply" '"active": 2'
check "a second rotation waits for the first to finish ($second_status $second_reply)" \
	test "$second_status" = 409 -a -n "$(contains "$second_reply" rotation_running && echo y)"
as $CLERK key rotate data
expect 77 "a clerk cannot rotate keys"
wait $CLIENT
check "no client request failed during the rotation" test ! -e "$T/out/client.err"
check "key 1 ends retired with nothing under it" wait_retired 1
as $ADMIN key status
check "key status says when each key was made and retired" contains "$OUT" "(retired "
check "key 2 protects every record" test "$(key_state 2)" = "active $((records + 30))"
check "the retired key's wrapped copy is gone" test "$("$TAMPER" "$T/data" keys keys | grep -c "$(printf 'data:1' | od -An -tx1 | tr -d ' \n')")" = 0
as $CLERK --json person get "$PID"
check "records read back after the rotation" test "$(field "$OUT" name)" = "Ana Müller"
as $CLERK person list --all --limit 500
check "every record opens" test "$(grep -c '^per_' <<<"$OUT")" = "$((records + 30))"
as $AUDITOR audit verify --deep
expect 0 "the log and every record verify --deep after the rotation"
as $AUDITOR audit tail --n 2000
check "each re-encryption is audited" test "$(grep -c '"action":"record.reencrypt"' <<<"$OUT")" -ge "$records"
check "the retirement is audited" contains "$OUT" '"action":"key.retire"'

# kill -9 at many points of a rotation: each restart resumes and finishes it.
for round in 1 2 3 4 5 6; do
	id=$((round + 2))
	as $ADMIN key rotate data
	[ "$RC" = 0 ] || bad "rotation $id did not start: $ERR"
	sleep "0.00$((RANDOM % 10))" # a few ms: the 151 slices take longer than that
	done_before=$(grep -c "re-encryption done" "$T/rosterd.log")
	kill -9 "$DPID"
	wait "$DPID" 2>/dev/null
	DPID=
	start_daemon
	check "after kill -9 in rotation $id the old key is retired" wait_retired $((id - 1))
	# It finished after the restart (not before the kill): the kill landed mid-way.
	[ "$(grep -c "re-encryption done" "$T/rosterd.log")" -gt "$done_before" ] &&
		[ "$(grep -c "re-encryption done" "$T/rosterd.log")" -gt 0 ] && midway=$((${midway:-0} + 1))
	check "after kill -9 in rotation $id the new key protects everything" \
		test "$(key_state $id)" = "active $((records + 30))"
done
check "some kills landed mid re-encryption (${midway:-0} of 6)" test "${midway:-0}" -ge 1
as $AUDITOR audit verify --deep
expect 0 "the log verifies --deep after six interrupted rotations"
as $CLERK person list --all --limit 500
check "every record still opens" test "$(grep -c '^per_' <<<"$OUT")" = "$((records + 30))"

# Progress: GET /v1/progress (admin, unaudited) reports the walk; --wait stays until
# the end, with a bar on a terminal and nothing on stderr otherwise.
curl_as $ADMIN GET /v1/progress
check "no re-encryption: progress says null" test "$(field "$OUT" reencrypt)" = None
curl_as $CLERK GET /v1/progress
expect_status 403 "a clerk cannot read progress"
# The walk (one record a slice here) takes tens of milliseconds: an admin's poller,
# started before the rotation, asks every 2 ms until it sees it under way.
setpriv --reuid="$ADMIN" --regid="$ADMIN" --clear-groups /usr/bin/python3 - "$SOCK" >"$T/out/progress" <<'PY' &
import json, socket, sys, time

def progress():
    s = socket.socket(socket.AF_UNIX)
    s.connect(sys.argv[1])
    s.sendall(b"GET /v1/progress HTTP/1.1\r\nHost: r\r\nConnection: close\r\n\r\n")
    data = b""
    while chunk := s.recv(65536):
        data += chunk
    s.close()
    return json.loads(data.split(b"\r\n\r\n", 1)[1])

end = time.time() + 20
while time.time() < end:
    p = progress().get("reencrypt")
    if p and p.get("total", 0) > 0:
        print(json.dumps(p))
        break
    time.sleep(0.002)
PY
POLLER=$!
sleep 0.3
as $ADMIN key rotate data
wait $POLLER
seen=$(cat "$T/out/progress")
check "progress shows the walk mid-way ($seen)" python3 -c '
import json, sys
p = json.loads(sys.argv[1]); assert 0 <= p["scanned"] <= p["total"] and p["total"] > 100' "$seen"
check "the key retires after that rotation" wait_retired 8
as_tty $ADMIN key rotate data --wait
expect 0 "rotate --wait on a terminal"
check "a bar is drawn to 100% on a terminal" contains "$OUT" "re-encrypting"
check "the bar ends at 100%" contains "$OUT" "100%"
check "--wait returns only when the old key is retired" test "$(key_state 9)" = "retired 0"
as $ADMIN key rotate data --wait
expect 0 "rotate --wait without a terminal"
check "no bar without a terminal" test -z "$ERR"
check "it says the re-encryption is done" contains "$OUT" "re-encryption done"
check "--wait without a terminal also waits for the end" test "$(key_state 10)" = "retired 0"
as $ADMIN key rotate signing --wait
expect 64 "--wait is for data keys only"
curl_as $ADMIN GET /v1/metrics
check "metrics report the re-encryption gauge" contains "$OUT" 'roster_reencrypt_records{kind="total"} 0'
check "metrics show no key retiring as soon as --wait returns" \
	contains "$OUT" 'roster_data_keys{state="retiring"} 0'

# Signing key: the hand-over checkpoint carries both signatures; auditors follow it.
STATE=$T/out/audit-state.json
as $AUDITOR audit verify --state "$STATE"
expect 0 "the auditor's baseline, trusting signing key 1"
as $AUDITOR audit pubkey
OLDKEY=$OUT
rm -f "$T/out/client.err"
client_load 10
as $ADMIN --json key rotate signing
expect 0 "admin rotates the signing key"
NEWKEY=$(field "$OUT" vkey)
handover=$(field "$OUT" checkpoint)
check "the hand-over checkpoint has two signatures" test "$(grep -c '^— ' <<<"$handover")" = 2
check "the new key differs" test "$NEWKEY" != "$OLDKEY"
wait $CLIENT
check "no client request failed during the signing rotation" test ! -e "$T/out/client.err"
add_person
as $AUDITOR audit pubkey
check "the log now publishes the new key" test "$OUT" = "$NEWKEY"
as $AUDITOR audit verify --state "$STATE" --deep
expect 0 "an auditor trusting the old key follows the hand-over"
check "verify says it followed the hand-over" contains "$ERR" "following the log's key hand-over"
check "the state file now trusts the new key" grep -qF "$NEWKEY" "$STATE"
as $AUDITOR audit verify --pubkey "$OLDKEY"
expect 0 "a pinned old key also follows the hand-over"
as $AUDITOR audit checkpoint --new
printf '%s\n' "$OUT" >"$T/out/cp-new.txt"
as $AUDITOR audit export
printf '%s\n' "$OUT" >"$T/out/export.jsonl"
as $AUDITOR audit verify --offline --export "$T/out/export.jsonl" --checkpoint "$T/out/cp-new.txt" --pubkey "$OLDKEY"
expect 1 "offline, a new checkpoint does not verify under the old key alone"
as $AUDITOR audit verify --offline --export "$T/out/export.jsonl" --checkpoint "$T/out/cp-new.txt" --pubkey "$NEWKEY"
expect 0 "offline, it verifies under the new key"
as $ADMIN --json key status
check "signing key 2 active, 1 retired" python3 -c '
import json, sys
keys = {(k["kind"], k["id"]): k["state"] for k in json.loads(sys.argv[1])["keys"]}
sys.exit(0 if keys.get(("signing", 2)) == "active" and keys.get(("signing", 1)) == "retired" else 1)' "$OUT"
stop_daemon
start_daemon
as $AUDITOR audit verify --state "$STATE"
expect 0 "the new signing key survives a restart"
as $ADMIN backup "$T/out/bk"
"$ROSTERD" verify-backup -c "$CONF" "$T/out/bk" >"$T/vb.out" 2>&1
check "verify-backup accepts checkpoints of retired signing keys" test $? = 0

# Rotations sent at once while the writer is busy with an import, so that some
# share its next transaction: one rotation a transaction goes through, the others
# in it are refused, and writing goes on. (Before, a second signing rotation in the
# transaction found the first one's key name taken, and a second master rotation
# found every key re-wrapped under a key it did not hold: either stopped all
# writing.) How the eight split into transactions depends on timing, so the checks
# count what went through rather than assume one transaction; a round in which
# none was refused shared nothing and is sent again.
signing_id() { as $ADMIN --json key status && python3 -c '
import json, sys
print(max(k["id"] for k in json.loads(sys.argv[1])["keys"] if k["kind"] == "signing"))' "$OUT"; }
for round in 1 2 3; do
	first=$(signing_id)
	writer_busy 20000
	burst $ADMIN 4 POST /v1/keys/rotate '{"kind":"signing"}' >"$T/out/codes.s" &
	signers=$!
	burst $ADMIN 4 POST /v1/keys/rotate '{"kind":"master"}' >"$T/out/codes.m" &
	masters=$!
	wait $signers $masters $BUSY
	grep -q '^409$' "$T/out/codes.s" "$T/out/codes.m" && break
done
codes=$(cat "$T/out/codes.s" "$T/out/codes.m" | sort | uniq -c | tr -s ' \n' ' ')
check "the import went through" grep -q "imported 20000" "$T/out/busy.out"
check "rotations sent at once shared a transaction (round $round:$codes)" \
	grep -q '^409$' "$T/out/codes.s" "$T/out/codes.m"
check "each of the eight went through or was refused with 409 ($codes)" \
	test "$(cat "$T/out/codes.s" "$T/out/codes.m" | grep -cv '^\(200\|409\)$')" = 0
check "each signing rotation that went through made one key ($first to $(signing_id))" \
	test $(($(signing_id) - first)) = "$(grep -c '^200$' "$T/out/codes.s")"
add_person
check "writing goes on after them" test -n "$PID"
stop_daemon
start_daemon
as $AUDITOR audit verify --deep
expect 0 "the registry reopens and verifies after them"
finish
