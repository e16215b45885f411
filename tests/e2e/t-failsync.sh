# t-failsync.sh - fsync fails (an LD_PRELOAD shim makes fsync/fdatasync/msync
# return EIO): rosterd never reports a write it could not make durable, stops
# taking writes (fail-stop, no retry of a failed fsync), says why in its log,
# health and metrics, and a restart on a healthy disk recovers with every
# acknowledged write intact and the log verifying.
. "$(dirname "$0")/lib.sh"
: "${FAILSYNC:?set FAILSYNC to the failsync shim}"
write_conf
"$ROSTERD" init -c "$CONF" 2>>"$T/rosterd.log"
# Under AddressSanitizer the shim comes first in the preload list: allow that.
FAILSYNC_TRIGGER=$T/fail LD_PRELOAD=$FAILSYNC ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0 \
	"$ROSTERD" -c "$CONF" 2>>"$T/rosterd.log" &
DPID=$!
for _ in $(seq 100); do [ -S "$SOCK" ] && break; sleep 0.05; done
for i in 1 2 3; do add_person; done
expect 0 "writes succeed on a healthy disk"
acked=$PID

touch "$T/fail"
as $CLERK person add --name "Never Stored" --birth-date 1990-01-01 --nationality DE --employer E --segment upstream --expertise metallurgy
expect 70 "a write whose fsync fails is not reported as done"
check "the error says writes stopped" contains "$ERR" "stopped taking writes"
rm "$T/fail" # the disk "recovers", but a failed fsync is not retried as if nothing happened
as $CLERK person add --name "Still Refused" --birth-date 1990-01-01 --nationality DE --employer E --segment upstream --expertise metallurgy
expect 70 "writes stay refused after a failed fsync (fail-stop)"
as $CLERK person get "$acked"
expect 70 "audited reads are refused too: their entry cannot be made durable"
curl_as $ADMIN GET /v1/health
expect_status 503 "health reports the failure"
check "health says failing" contains "$OUT" '"status":"failing"'
curl_as $ADMIN GET /v1/metrics
check "metrics report it" contains "$OUT" "roster_writer_failed 1"
check "the log says why" grep -q "write transaction failed, no longer accepting writes" "$T/rosterd.log"

stop_daemon
start_daemon
as $CLERK --json person get "$acked"
expect 0 "after a restart the acknowledged writes are there"
as $CLERK --json person list --limit 50
check "the unacknowledged writes are not" test "$(grep -c "Never Stored\|Still Refused" <<<"$OUT")" = 0
as $AUDITOR audit verify --deep
expect 0 "and the log verifies --deep"
add_person
expect 0 "writing resumes after the restart"
finish
