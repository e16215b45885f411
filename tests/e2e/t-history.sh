# t-history.sh - a long custody history is read in pages: GET /v1/documents/{id}
# sends at most 1,000 events (history_from, limit, history_next), refuses bad
# paging parameters, and `rosterctl doc get` follows the pages to show all of it.
. "$(dirname "$0")/lib.sh"
new_registry
add_person
as $CLERK --json doc add --person "$PID" --type passport --number H01X00T47 --country DE --expires 2031-05-01
DID=$(field "$OUT" id)

# 1,010 custody events over one keep-alive connection, as the clerk (with the
# system's python3, which the test accounts can run).
setpriv --reuid="$CLERK" --regid="$CLERK" --clear-groups /usr/bin/python3 - "$SOCK" "$DID" 2>"$T/events.err" <<'PY'
import http.client, json, socket, sys

class Unix(http.client.HTTPConnection):
    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.connect(sys.argv[1])

c = Unix("roster")
for i in range(505):
    for body in ({"event": "surrender", "to": "employer"}, {"event": "release"}):
        c.request("POST", f"/v1/documents/{sys.argv[2]}/custody", json.dumps(body),
                  {"Content-Type": "application/json"})
        r = c.getresponse()
        r.read()
        assert r.status == 200, (i, r.status)
PY
rc=$?
check "1,010 custody events recorded ($(tail -1 "$T/events.err"))" test "$rc" = 0

page() { # page QUERY: the history's length and history_next of one read
	curl_as $CLERK GET "/v1/documents/$DID$1"
	python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print(len(d["history"]), d["history_next"], d["events"])' "$OUT"
}
check "a read sends the first 1,000 events and where to go on" test "$(page "")" = "1000 1001 1010"
check "history_from=1001 sends the last 10, and no next" test "$(page "?history_from=1001")" = "10 None 1010"
check "limit and history_from pick a page" test "$(page "?history_from=5&limit=10")" = "10 15 1010"
check "past the end, an empty page" test "$(page "?history_from=2000")" = "0 None 1010"
curl_as $CLERK GET "/v1/documents/$DID?history_from=5&limit=2"
check "the page's events are the 5th and 6th" python3 -c '
import json, sys
h = json.loads(sys.argv[1])["history"]
sys.exit(0 if [e["event"] for e in h] == ["surrender", "release"] else 1)' "$OUT"
for q in "history_from=0" "history_from=-1" "history_from=x" "history_from=" "limit=0" "limit=1001"; do
	curl_as $CLERK GET "/v1/documents/$DID?$q"
	expect_status 400 "?$q is refused"
done

as $CLERK --json doc get "$DID"
expect 0 "rosterctl doc get reads a 1,010-event history"
check "rosterctl follows the pages: every event, in order" python3 -c '
import json, sys
d = json.loads(sys.argv[1])
h = d["history"]
sys.exit(0 if len(h) == 1010 and [e["event"] for e in h] == ["surrender", "release"] * 505
         and "history_next" not in d else 1)' "$OUT"
as $CLERK doc get "$DID"
expect 0 "and shows it"
check "all of it" test "$(grep -c "release" <<<"$OUT")" -ge 505
finish
