# t-wire.sh - replies as they reach the wire. Replies the writer finished
# together are written to the socket at once rather than on the loop's next turn
# (http.c, http_reply_flush): pipelined requests get their replies in order, a reply
# larger than the socket takes at once arrives whole, a Connection: close
# request ends its connection after the reply, and rosterctl and curl see
# nothing different (wire.py reads the bytes off the socket).
. "$(dirname "$0")/lib.sh"
new_registry
PY=/usr/bin/python3 # the system's: test identities cannot reach a per-user one
[ -x "$PY" ] || PY=$(command -v python3)

wire() { # wire UID MODE [ARGS]: sets OUT and RC
	OUT=$(setpriv --reuid="$1" --regid="$1" --clear-groups "$PY" "$(dirname "$0")/wire.py" \
		"$SOCK" "${@:2}" 2>&1)
	RC=$?
}
WIRE="setpriv --reuid=$CLERK --regid=$CLERK --clear-groups $PY $(dirname "$0")/wire.py $SOCK"

wire $CLERK pipeline 300 4
expect 0 "4 connections, each 300 creates in one send, then 300 reads: replies in order ($OUT)"
wire $CLERK pipeline 1 1
expect 1 "the same national ids again are refused, in order too"
check "and say why" contains "$OUT" "create 0: 409"
# An auditor's pages of the log (over 600 KB, more than the socket takes at once)
# while eight clerks' pipelined creates are answered.
$WIRE pipeline 150 8 X >"$T/out/pipe.out" 2>&1 &
pipe=$!
wire $AUDITOR audit 4
expect 0 "audit pages larger than the socket's buffer arrive whole, among other replies ($OUT)"
n=$(grep -o 'of [0-9]* entries' <<<"$OUT" | cut -d' ' -f2)
check "the last holds every entry written so far ($n)" test "${n:-0}" -ge 2402
wait $pipe
prc=$?
check "the clerks' 8 connections got their replies in order ($(cat "$T/out/pipe.out"))" \
	test "$prc" = 0
wire $AUDITOR close
expect 0 "Connection: close ends the connection after its reply ($OUT)"
# Found when records and replies got rosterd's own JSON writer (0.7.6): a path
# with a raw 0xff made the 404's message not UTF-8, and its body unwritable.
wire $CLERK rawpath
expect 0 "bytes that are not UTF-8 in a path: a 404 in JSON, '?' for them ($OUT)"
# Found probing 0.7.6 (0.7.7): a document number that was not UTF-8 took rosterd
# down (jansson refused it and a NULL went on), and a national id that was not
# listed every person (its filter was dropped). The query is checked whole first.
wire $CLERK query
expect 0 "queries not UTF-8, malformed or too long: 400 before any handler ($OUT)"
as $CLERK status
expect 0 "rosterd still serves"

# A daemon that goes away half-way through a reply: rosterctl says it could not
# reach it, exits 69, and (built with the sanitizers) leaks none of the half it got.
"$PY" - "$T/cut.sock" <<'PY' &
import os, socket, sys
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1])
os.chmod(sys.argv[1], 0o777)
s.listen(1)
c, _ = s.accept()
c.recv(65536)
c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
          b"Content-Length: 100000\r\n\r\n{\"log_size\": " + b"1" * 50000)
c.close()
PY
cut=$!
for _ in $(seq 50); do [ -S "$T/cut.sock" ] && break; sleep 0.1; done
SOCK=$T/cut.sock as $CLERK status
expect 69 "a reply cut short: rosterctl exits 69"
check "and says it could not reach rosterd ($ERR)" contains "$ERR" "cannot reach rosterd"
check "with no sanitizer report" test -z "$(grep -E 'Sanitizer' <<<"$ERR")"
wait $cut

as $CLERK --json person list --limit 5
expect 0 "rosterctl on its own connection still works"
as $AUDITOR audit verify
expect 0 "and the log the pipelined requests wrote verifies"
finish
