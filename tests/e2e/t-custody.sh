# t-custody.sh - documents, custody events and travel requests: every allowed
# step, every refused transition (409, nothing changed), and the approver rules.
. "$(dirname "$0")/lib.sh"
new_registry
add_person
doc_id() { DID=$(field "$OUT" id); }

as $CLERK --json doc add --person "$PID" --type passport --number C01X00T47 --country DE \
	--issued 2021-05-02 --expires 2031-05-01
expect 0 "clerk registers a passport"
doc_id
check "custody defaults to holder" test "$(field "$OUT" custody)" = holder
as $CLERK doc add --person per_0000000000000000000000000a --type passport --number X1 --country DE --expires 2031-01-01
expect 65 "document for a missing person is refused"
as $CLERK doc add --person "$PID" --type visa --number X1 --country DE --expires 2031-01-01
expect 65 "unknown document type is refused"
as $CLERK doc add --person "$PID" --type passport --number X1 --country DE --issued 2031-01-01 --expires 2030-01-01
expect 65 "expiry before issue is refused"
as $CLERK --json doc list --person "$PID"
check "the person has exactly one document" test \
	"$(python3 -c 'import json,sys; print(len(json.loads(sys.argv[1])["items"]))' "$OUT")" = 1

refused() { # refused DESCRIPTION rosterctl-args...: exit 65 and the document unchanged
	local what=$1
	shift
	as $CLERK --json doc get "$DID"
	local v=$(field "$OUT" version)
	as $CLERK "$@"
	expect 65 "$what"
	as $CLERK --json doc get "$DID"
	check "$what changed nothing" test "$(field "$OUT" version)" = "$v"
}

refused "release from the holder" doc custody "$DID" release
refused "return without a release" doc custody "$DID" return
refused "surrender without where to" doc custody "$DID" surrender
refused "unknown event" doc custody "$DID" teleport
as $CLERK --json doc custody "$DID" surrender --to employer --custodian "HR safe, site 2"
expect 0 "surrender to the employer"
check "custody is employer" test "$(field "$OUT" custody)" = employer
check "custodian recorded" test "$(field "$OUT" custodian)" = "HR safe, site 2"
# The history entry the event stored is named, with its digest, in the event's
# own audit entry (the clerk's).
as $AUDITOR audit export
printf '%s\n' "$OUT" >"$T/out/custody-log.jsonl"
python3 - "$T/out/custody-log.jsonl" "$DID" "$CLERK" >"$T/out/custody-log.txt" 2>&1 <<'PY' || true
import json, sys
es = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
doc, clerk = sys.argv[2], int(sys.argv[3])
e = next(e for e in es if e["action"] == "document.custody" and e["outcome"] == "ok")
assert e["target"] == doc and e["actor"]["uid"] == clerk, e
assert e["stored"]["target"] == doc + ".00000001", e
assert len(e["stored"]["object"]) == 64 and e["stored"]["object"] != e["object"], e
assert not [x for x in es if "stored" in x and x is not e], "only the custody event stores two"
print("ok")
PY
check "the history entry is named in the log, by the clerk ($(tail -n1 "$T/out/custody-log.txt"))" \
	test "$(tail -n1 "$T/out/custody-log.txt")" = ok
refused "surrender twice" doc custody "$DID" surrender --to authority
as $CLERK --json doc list --custody employer
check "listed under custody employer" contains "$OUT" "$DID"
as $CLERK --json doc list --custody holder
check "no longer listed under holder" test "$(contains "$OUT" "$DID" && echo y)" != y

# Travel: file, decide, release for it, return.
as $CLERK --json travel request --person "$PID" --destinations FR,JP --depart 2027-03-01 --return 2027-03-10 --purpose "Magnet conference"
expect 0 "clerk files a travel request"
TID=$(field "$OUT" id)
check "request is pending" test "$(field "$OUT" status)" = pending
check "requested_by is the clerk" test "$(field "$OUT" requested_by)" = "uid:$CLERK"
refused "release for a pending request" doc custody "$DID" release --request "$TID"
as $CLERK travel request --person "$PID" --destinations FR --depart 2027-03-10 --return 2027-03-01 --purpose x
expect 65 "return before departure is refused"
as $CLERK travel request --person "$PID" --destinations XX --depart 2027-03-01 --return 2027-03-02 --purpose x
expect 65 "unknown destination is refused"
as $CLERK travel request --person "$PID" --destinations FR --depart 2027-03-01 --return 2027-03-02 --purpose x --status approved
expect 65 "a client cannot set the status"

as $CLERK travel approve "$TID"
expect 77 "a clerk cannot approve"
as $APPROVER travel deny "$TID"
expect 65 "a denial needs a reason"
as $APPROVER --json travel approve "$TID"
expect 0 "an approver approves"
check "request is approved" test "$(field "$OUT" status)" = approved
check "decided_by is the approver" test "$(field "$OUT" decided_by)" = "uid:$APPROVER"
as $APPROVER travel approve "$TID"
expect 65 "a decided request cannot be decided again"

# An account holding both roles may not decide its own request.
as $BOTH --json travel request --person "$PID" --destinations IT --depart 2027-05-01 --return 2027-05-03 --purpose Audit
TID2=$(field "$OUT" id)
as $BOTH travel approve "$TID2"
expect 77 "approving one's own request is refused"
check "self-approval message is clear" contains "$ERR" "you filed this travel request"
as $APPROVER --json travel deny "$TID2" --reason "Budget frozen"
expect 0 "another approver denies it"
check "reason recorded" test "$(field "$OUT" reason)" = "Budget frozen"
refused "release for a denied request" doc custody "$DID" release --request "$TID2"

as $CLERK --json doc custody "$DID" release --request "$TID"
expect 0 "release for the approved trip"
check "back with the holder" test "$(field "$OUT" custody)" = holder
as $CLERK --json doc custody "$DID" return --to employer --custodian "HR safe, site 2"
expect 0 "return after the trip"
as $CLERK --json travel complete "$TID"
expect 0 "complete the trip"
check "trip completed" test "$(field "$OUT" status)" = completed
as $CLERK travel cancel "$TID"
expect 65 "a completed trip cannot be cancelled"
as $CLERK --json travel list --status completed
check "listed as completed" contains "$OUT" "$TID"
as $CLERK --json travel list --person "$PID"
check "both requests listed for the person" test \
	"$(python3 -c 'import json,sys; print(len(json.loads(sys.argv[1])["items"]))' "$OUT")" = 2

as $CLERK --json doc get "$DID"
check "history has every event" test \
	"$(python3 -c 'import json,sys; print(",".join(h["event"] for h in json.loads(sys.argv[1])["history"]))' "$OUT")" = "surrender,release,return"
check "history names who" contains "$OUT" "\"by\":\"uid:$CLERK\""
check "history names the request" contains "$OUT" "\"request\":\"$TID\""
as $CLERK --json doc custody "$DID" lost
expect 0 "report lost"
refused "surrender a lost document" doc custody "$DID" surrender --to employer
as $CLERK --json doc custody "$DID" cancel
expect 0 "cancel"
refused "anything after cancel" doc custody "$DID" lost
as $CLERK doc get "$DID"
check "human output shows history" contains "$OUT" "release   employer -> holder"

# The history lives apart from the document: one sealed entry per event, so the
# document stays the same size however many events it has.
: "${TAMPER:?set TAMPER to the roster-tamper binary}"
as $CLERK --json doc add --person "$PID" --type passport --number H1 --country FR --expires 2031-01-01
doc_id
check "a new document comes back with an empty history" test "$(field "$OUT" history)" = "[]"
check "and no events" test "$(field "$OUT" events)" = 0
as $CLERK --json doc custody "$DID" surrender --to employer
check "a custody reply counts the events" test "$(field "$OUT" events)" = 1
check "and names the last" test "$(field "$OUT" last_event)" = surrender
check "but does not carry the history" test "$(field "$OUT" history)" = None
as $CLERK --json doc custody "$DID" release
stop_daemon
hexid=$(printf '%s' "$DID" | od -An -tx1 | tr -d ' \n')
size2=$("$TAMPER" "$T/data" documents get "$hexid" | wc -c)
start_daemon
for i in $(seq 30); do
	as $CLERK doc custody "$DID" surrender --to employer >/dev/null
	as $CLERK doc custody "$DID" release >/dev/null
done
as $CLERK --json doc get "$DID"
check "62 events in order" python3 -c '
import json, sys
h = json.loads(sys.argv[1])["history"]
sys.exit(0 if len(h) == 62 and [e["event"] for e in h] == ["surrender", "release"] * 31 else 1)' "$OUT"
check "the document counts 62" test "$(field "$OUT" events)" = 62
as $CLERK --json doc list --person "$PID"
check "lists show documents without their history" python3 -c '
import json, sys
sys.exit(0 if all("history" not in d for d in json.loads(sys.argv[1])["items"]) else 1)' "$OUT"
stop_daemon
size62=$("$TAMPER" "$T/data" documents get "$hexid" | wc -c)
check "the stored document did not grow with its history ($size2 -> $size62 hex digits)" \
	test "$size62" -le "$((size2 + 8))"
check "each event is its own sealed value" \
	test "$("$TAMPER" "$T/data" custody keys | grep -c "^$hexid")" = 62
start_daemon
as $ADMIN key rotate data --wait
expect 0 "the data key rotates with documents holding long histories"
as $ADMIN --json key status
check "every history entry was re-encrypted: key 1 retired" python3 -c '
import json, sys
keys = {(k["kind"], k["id"]): k for k in json.loads(sys.argv[1])["keys"]}
sys.exit(0 if keys[("data", 1)]["state"] == "retired" else 1)' "$OUT"
as $CLERK --json doc get "$DID"
check "the history reads back under the new key" test "$(field "$OUT" events)" = 62
stop_daemon
# An envelope starts "RE1" and its key id (big-endian): 14 hex digits.
check "every history entry is under key 2 now" test \
	"$("$TAMPER" "$T/data" custody keys | while read -r k; do "$TAMPER" "$T/data" custody get "$k" | cut -c1-14; done | sort -u)" = "52453100000002"

"$ROSTERD" verify-backup -c "$CONF" "$T/data" >"$T/vb.out" 2>&1
check "verify-backup opens every history entry ($(tail -n1 "$T/vb.out"))" test $? = 0

# A history entry deleted behind rosterd's back: the read fails loudly, it does
# not return a shortened history, and verify-backup refuses the copy.
"$TAMPER" "$T/data" custody del "${hexid}$(printf '.%08d' 7 | od -An -tx1 | tr -d ' \n')"
"$ROSTERD" verify-backup -c "$CONF" "$T/data" >"$T/vb.out" 2>&1
check "verify-backup fails on the missing entry" test $? != 0
check "and names it" grep -q "history entry 7 of 62 is missing" "$T/vb.out"
start_daemon
as $CLERK --json doc get "$DID"
expect 70 "a document with a missing history entry is refused"
check "the error names the entry" contains "$ERR" "history entry 7 of 62 is missing"
finish
