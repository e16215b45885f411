# t-hostile.sh - hostile and broken clients: per-uid and global connection
# limits (a 503 saying which, other accounts still served), idle and
# byte-a-second clients closed after client_timeout, 2,000 idle connections and
# slow senders while a normal client is answered promptly, and garbage of every
# kind (raw bytes, truncated requests, huge headers, invalid UTF-8, deep
# nesting, wrong types, unknown and overlong fields), each refused with its
# error while nothing changes.
. "$(dirname "$0")/lib.sh"
H=$(dirname "$0")/hostile.py
PY=/usr/bin/python3 # the system's: test identities cannot reach a per-user one
[ -x "$PY" ] || PY=$(command -v python3)
hostile() { # hostile UID ARGS...: hostile.py as that uid
	local uid=$1
	shift
	setpriv --reuid="$uid" --regid="$uid" --clear-groups "$PY" "$H" "$SOCK" "$@"
}
hex() { printf '%b' "$1" | od -An -tx1 -v | tr -d ' \n'; }
health_req=$(hex 'GET /v1/health HTTP/1.1\r\nHost: r\r\n\r\n')
trap 'kill $(jobs -p) 2>/dev/null; cleanup' EXIT # holders and slow senders too
# hold NAME UID N: N idle connections of UID, held until `release NAME`; sets
# HELD to the holder's "ready N", and release sets RELEASED to its "closed K".
hold() {
	# setpriv execs python: $! is the holder itself.
	setpriv --reuid="$2" --regid="$2" --clear-groups "$PY" "$H" "$SOCK" idle "$3" >"$T/$1.out" &
	eval "pid_$1=$!"
	for _ in $(seq 600); do grep -q ready "$T/$1.out" && break; sleep 0.05; done
	HELD=$(head -n1 "$T/$1.out")
}
release() {
	eval "kill -USR1 \$pid_$1; wait \$pid_$1"
	RELEASED=$(tail -n1 "$T/$1.out")
}

# --- Connection limits -------------------------------------------------------
EXTRA_SETTINGS="max_connections = 30
max_connections_per_uid = 10" new_registry
hold H1 $CLERK2 10
check "ten idle connections of one account are held ($HELD)" test "$HELD" = "ready 10"
out=$(hostile $CLERK2 raw "$health_req")
check "the eleventh of that account gets 503 ($out)" contains "$out" "503"
start=$(date +%s%N)
as $CLERK2 person list
ms=$((($(date +%s%N) - start) / 1000000))
expect 75 "rosterctl over that limit exits 75 (retry later)"
check "naming the limit ($ERR)" contains "$ERR" "max_connections_per_uid"
check "after trying again for about 3 s ($ms ms)" test "$ms" -ge 3000 -a "$ms" -lt 10000
add_person
expect 0 "another account is still served"
hold H2 $APPROVER 10
hold H3 $AUDITOR 10
out=$(hostile $NOBODY raw "$health_req")
check "past max_connections anyone gets 503 ($out)" contains "$out" "503"
release H1
release H2
release H3
check "the limit counter moved" test "$(metric 'roster_connections_closed_total{reason="limit"}')" -ge 2
for _ in $(seq 40); do [ "$(metric roster_connections)" -le 2 ] && break; sleep 0.1; done
check "closed connections are released" test "$(metric roster_connections)" -le 2
# Refused connections linger a second with their 503 (a client may still be
# sending), but at most 64 at once: ninety refused do not hold ninety sockets,
# and lingering ones do not count against max_connections (the admin's metrics
# requests here get through).
hold H6 $NOBODY 100
check "past its own limit ($HELD)" test "$HELD" = "ready 100"
lingering=$(metric roster_connections_lingering)
echo "refused connections lingering at once: $lingering (of 90)"
check "ninety refused at once: at most 64 linger ($lingering)" test "$lingering" -ge 1 -a "$lingering" -le 64
release H6
for _ in $(seq 40); do [ "$(metric roster_connections_lingering)" = 0 ] && break; sleep 0.1; done
check "and none a few seconds later" test "$(metric roster_connections_lingering)" = 0
add_person
expect 0 "with the holders gone, writing goes on"
# A client that sends requests and reads no reply leaves rosterd writing to it
# (evhttp clears the connection's read callback meanwhile): still a connection,
# counted against its account past the sweeps (a quarter second apart).
setpriv --reuid=$CLERK2 --regid=$CLERK2 --clear-groups "$PY" "$H" "$SOCK" stall 5000 >"$T/S1.out" &
pid_S1=$!
for _ in $(seq 600); do grep -q ready "$T/S1.out" && break; sleep 0.05; done
hold H5 $CLERK2 9
sleep 0.8
out=$(hostile $CLERK2 raw "$health_req")
check "a connection left writing still counts against its account ($out)" contains "$out" "503"
check "and among all connections" test "$(metric roster_connections)" -ge 11
# rosterctl refused at the limit tries again, and gets through once a connection
# of its account is freed: the clerk sees no error.
limit0=$(metric 'roster_connections_closed_total{reason="limit"}')
ctl $CLERK2 person list >"$T/retry.out" 2>&1 &
retry=$!
sleep 0.5
release H5
rc=0
wait $retry || rc=$?
check "rosterctl refused at its account's limit gets through once one is freed (rc=$rc: $(head -c 200 "$T/retry.out"))" test $rc = 0
check "after being refused first" \
	test "$(metric 'roster_connections_closed_total{reason="limit"}')" -gt "$limit0"
release S1
stop_daemon

# --- Idle and slow clients ---------------------------------------------------
write_conf
sed -i 's/^allow_root = yes$/allow_root = yes\nclient_timeout = 2/' "$CONF"
start_daemon
hold H4 $CLERK2 3
out=$(hostile $CLERK2 slow)
secs=$(grep -o '[0-9.]* s' <<<"$out" | cut -d' ' -f1)
check "a byte-a-second client is cut off after client_timeout ($out)" \
	"$PY" -c "import sys; sys.exit(0 if 1.9 <= float(sys.argv[1]) < 6 else 1)" "$secs"
check "and told why first (408)" contains "$out" "HTTP/1.1 408 Request Timeout"
sleep 1
release H4
check "idle connections are closed after client_timeout ($RELEASED)" test "$RELEASED" = "closed 3"
n=$(metric 'roster_connections_closed_total{reason="timeout"}')
check "the timeout counter moved ($n)" test "$n" -ge 4
as $ADMIN backup "$T/out/bk-slow"
expect 0 "a request still being worked on is not cut off"
stop_daemon

# --- 2,000 idle connections and slow senders ---------------------------------
start_daemon_default() { write_conf; start_daemon; }
start_daemon_default
hold I1 $CLERK2 1000
l1=$HELD
hold I2 $APPROVER 1000
l2=$HELD
check "2,000 idle connections are open ($l1, $l2)" test "$l1 $l2" = "ready 1000 ready 1000"
slow=()
for i in 1 2 3 4 5; do
	hostile $AUDITOR slow >/dev/null &
	slow+=($!)
done
sleep 0.5
rss=$(awk '/^VmRSS/ {print $2}' /proc/"$DPID"/status)
echo "rosterd resident with 2,000 idle connections and 5 slow senders: $((rss / 1024)) MiB"
start=$(date +%s%N)
add_person
expect 0 "a normal client creates a record"
as $CLERK person get "$PID"
expect 0 "and reads it back"
ms=$((($(date +%s%N) - start) / 1000000))
echo "create and read among them: $ms ms"
check "promptly: within 5 s ($ms ms)" test "$ms" -lt 5000
check "all 2,000 are counted" test "$(metric roster_connections)" -ge 2000
release I1
release I2
kill "${slow[@]}" 2>/dev/null
wait "${slow[@]}" 2>/dev/null

# --- Bodies too large for the account -----------------------------------------
# evhttp reads a whole body before a handler sees it; rosterd counts what each
# connection sends towards a request and cuts it off past what its account may
# send (1 MiB and headers, unless it may import), so eight 20 MiB bodies from an
# account without a role cost rosterd about a megabyte each, not 160 MiB.
hwm0=$(awk '/^VmHWM/ {print $2}' /proc/"$DPID"/status)
large0=$(metric 'roster_connections_closed_total{reason="too_large"}')
out=$(hostile $NOBODY flood 20 8)
check "eight 20 MiB bodies from an account without a role are cut off ($(head -1 <<<"$out"))" \
	test "$(head -1 <<<"$out")" = "cut 8 of 8"
check "each with a 413 first, which the client reads once its send fails" \
	test "$(grep -c '^HTTP/1.1 413 Payload Too Large$' <<<"$out")" = 8
hwm=$(awk '/^VmHWM/ {print $2}' /proc/"$DPID"/status)
check "rosterd's peak memory grew by less than 32 MiB ($(((hwm - hwm0) / 1024)) MiB)" \
	test $((hwm - hwm0)) -lt 32768
check "the metric counts them" \
	test "$(metric 'roster_connections_closed_total{reason="too_large"}')" -ge $((large0 + 8))
check "and the log says why" grep -q "over what this account may send" "$T/rosterd.log"
# rosterctl shows that 413, not a daemon it cannot reach: an approver's import of
# 3 MiB (only clerks may send more than 1 MiB, and only clerks may import).
"$PY" -c '
import sys
with open(sys.argv[1], "w") as f:
    f.write("name,birth_date,nationality,employer,segment,expertise\n")
    for i in range(60000):
        f.write("Person %d,1980-01-01,DE,Acme,upstream,mining-process\n" % i)
' "$T/big.csv"
chmod 644 "$T/big.csv"
as $APPROVER person import "$T/big.csv"
expect 65 "an approver's 3 MiB import is refused as too large"
check "saying so ($ERR)" contains "$ERR" "larger than 1 MiB, and only a clerk may send more"
# That reply must not depend on the client reading before its next send: one that
# sends whenever it can and reads only when it cannot (as libcurl does) finds its
# sends stalled, not failed, and the 413 waiting. Ten times over, and rosterctl's
# import too, since which comes first was a race.
for i in 1 2 3 4 5 6 7 8 9 10; do
	out=$(hostile $APPROVER eager 3)
	[ "$out" = "read while sending: HTTP/1.1 413 Payload Too Large" ] || break
done
check "a client that sends while it can reads the 413 ($out, round $i of 10)" \
	test "$out" = "read while sending: HTTP/1.1 413 Payload Too Large" -a "$i" = 10
for i in 1 2 3 4 5; do
	as $APPROVER person import "$T/big.csv"
	[ "$RC" = 65 ] || break
done
check "rosterctl reports the 413 every time (rc=$RC, round $i of 5)" test "$RC" = 65 -a "$i" = 5
# A clerk may send an import's worth on each connection, but all connections
# together hold at most 256 MiB of requests not yet handled: of five 60 MiB bodies
# at once, the one that goes past is cut off.
large0=$(metric 'roster_connections_closed_total{reason="too_large"}')
out=$(hostile $CLERK2 flood 60 5)
check "five 60 MiB bodies from a clerk at once: some are cut off ($(head -1 <<<"$out"))" \
	grep -Eq "^cut [1-5] of 5$" <<<"$out"
check "each with a 503 (retry later), not a 413: the body was within its account's limit" \
	test "$(grep -c '^HTTP/1.1 503 Service Unavailable$' <<<"$out")" = "$(head -1 <<<"$out" | cut -d' ' -f2)"
check "the log says all connections were holding too much" \
	grep -q "over what all connections may hold unhandled" "$T/rosterd.log"
# A clerk may send an import's worth; a route's own limit still answers with its error.
curl_as $CLERK POST /v1/persons "$("$PY" -c "print('{\"name\":\"' + 'a' * (2 << 20) + '\"}')")"
check "a clerk's 2 MiB person is refused by the route, with its error ($STATUS)" test "$STATUS" = 413
add_person
expect 0 "writes go on"

# --- Garbage -----------------------------------------------------------------
as $ADMIN --json status
before=$(field "$OUT" persons)
size0=$(log_size)
for req in '\x00\xff\xfe garbage \r\n\r\n' 'GET /v1/health HTTP/1.1\r\nHost' 'BREW /v1/persons HTTP/1.1\r\n\r\n' \
	'GET /v1/health HTTP/9.9\r\n\r\n' 'POST /v1/persons HTTP/1.1\r\nContent-Length: 100\r\n\r\n{"na'; do
	out=$(hostile $CLERK raw "$(hex "$req")")
	case "$out" in "HTTP/1.1 4"* | "HTTP/1.1 5"* | closed) ok ;; *) bad "garbage got '$out' for $req" ;; esac
done
big=$("$PY" -c "print('X-Big: ' + 'a' * 20000)")
out=$(hostile $CLERK raw "$(hex "GET /v1/health HTTP/1.1\r\n$big\r\n\r\n")")
check "a 20 KB header is refused ($out)" contains "$out" "HTTP/1.1 4"
curl_as $CLERK POST /v1/persons "$(printf '{"name":"A \xff\xfe B","birth_date":"1980-01-01"}')"
expect_status 400 "invalid UTF-8 is refused"
deep=$("$PY" -c "print('{\"name\":' + '[' * 100000 + ']' * 100000 + '}')")
curl_as $CLERK POST /v1/persons "$deep"
expect_status 400 "100,000 levels of nesting are refused"
curl_as $CLERK POST /v1/persons '{"name":5,"birth_date":"1980-01-01","nationality":"DE","employer":"E","segment":"upstream","expertise":["metallurgy"]}'
expect_status 422 "a number where a name goes is refused"
curl_as $CLERK POST /v1/persons '{"name":"A B","birth_date":"1980-01-01","nationality":"DE","employer":"E","segment":"upstream","expertise":["metallurgy"],"salary":1}'
expect_status 422 "an unknown field is refused"
check "and named" contains "$OUT" "salary"
long=$("$PY" -c "print('A' * 100000)")
curl_as $CLERK POST /v1/persons "{\"name\":\"$long\",\"birth_date\":\"1980-01-01\",\"nationality\":\"DE\",\"employer\":\"E\",\"segment\":\"upstream\",\"expertise\":[\"metallurgy\"]}"
expect_status 422 "an overlong field is refused"
curl_as $CLERK POST /v1/persons "{\"$long\":1}"
expect_status 422 "an overlong field name is refused"
curl_as $CLERK GET "/v1/persons?limit=$long"
check "an overlong query is refused (HTTP $STATUS)" test "$STATUS" -ge 400 -a "$STATUS" -lt 500
as $ADMIN --json status
check "no garbage stored a record" test "$(field "$OUT" persons)" = "$before"
check "the daemon still answers" kill -0 "$DPID"
as $AUDITOR audit verify --deep
expect 0 "the log verifies after the garbage"
check "refusals were audited, not stored ($size0 -> $(log_size))" test "$(log_size)" -gt "$size0"
finish
