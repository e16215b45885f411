# t-wire.sh - replies as they reach the wire. A reply the writer finished is
# written to the socket at once rather than on the loop's next turn (http.c,
# http_reply_flush): pipelined requests get their replies in order, a reply
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

wire $CLERK pipeline 1000
expect 0 "1,000 creates in one send, then 1,000 reads: each reply in order ($OUT)"
wire $CLERK pipeline 1
expect 1 "a second run with the same national ids is refused, in order too"
check "and says why" contains "$OUT" "create 0: 409"
wire $AUDITOR audit
expect 0 "an audit page larger than the socket's buffer arrives whole ($OUT)"
n=$(grep -o 'of [0-9]* entries' <<<"$OUT" | cut -d' ' -f2)
check "it holds every entry so far ($n)" test "${n:-0}" -ge 2002
wire $AUDITOR close
expect 0 "Connection: close ends the connection after its reply ($OUT)"

as $CLERK --json person list --limit 5
expect 0 "rosterctl on its own connection still works"
as $AUDITOR audit verify
expect 0 "and the log the pipelined requests wrote verifies"
finish
