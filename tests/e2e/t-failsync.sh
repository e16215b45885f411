# t-failsync.sh - fsync fails (an LD_PRELOAD shim makes fsync/fdatasync/msync
# return EIO): rosterd never reports a write it could not make durable, stops
# taking writes (fail-stop, no retry of a failed fsync), says why in its log,
# health and metrics, and a restart on a healthy disk recovers with every
# acknowledged write intact and the log verifying. Then the same when only the
# sync of a checkpoint running beside the writer fails, while the journal's
# records still reach the disk: the writes acknowledged during that sync are
# kept by the checkpoint before it.
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
stop_daemon

# The journal at its floor (a checkpoint every few hundred writes) and grown
# whole first, so that the first sync to fail is a checkpoint's, beside the writer.
EXTRA_SETTINGS="journal_size = 1M" write_conf
PY=/usr/bin/python3 # the system's: test identities cannot reach a per-user one
[ -x "$PY" ] || PY=$(command -v python3)
lone() { # lone TAG N: one client creating persons until refused; acknowledged ids out
	setpriv --reuid=$CLERK --regid=$CLERK --clear-groups "$PY" "$(dirname "$0")/keepalive.py" \
		"$SOCK" persons "$2" "$1" >>"$T/out/acked.beside" 2>"$T/out/lone.err"
}
FAILSYNC_TRIGGER=$T/fail FAILSYNC_WRITES=no LD_PRELOAD=$FAILSYNC \
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0 \
	"$ROSTERD" -c "$CONF" 2>>"$T/rosterd.log" &
DPID=$!
for _ in $(seq 100); do [ -S "$SOCK" ] && break; sleep 0.05; done
lone B 400
check "400 writes before the disk fails" test "$(wc -l <"$T/out/acked.beside")" = 400
touch "$T/fail"
lone F 100000
check "writes were acknowledged while the checkpoint's sync was failing" \
	test "$(wc -l <"$T/out/acked.beside")" -gt 400
check "then writes stopped" grep -q "503" "$T/out/lone.err"
# Usually the sync of a checkpoint beside the writer ("a checkpoint could not sync
# data.mdb", or the journal when the disk failed between the two); on a slow run,
# one in the writer's path (a map resize, a full ring) may come first.
why=$(grep "no longer accepting writes" "$T/rosterd.log" | tail -n 1)
check "the log says a checkpoint's sync failed ($why)" \
	grep -q "no longer accepting writes: .*\(checkpoint\|checkpointing\)" <<<"$why"
rm "$T/fail"
stop_daemon
start_daemon
missing=0
while read -r id; do
	as $CLERK --json person get "$id"
	[ "$RC" = 0 ] || missing=$((missing + 1))
done <"$T/out/acked.beside"
check "after a restart every acknowledged write is there ($missing missing)" test "$missing" = 0
as $AUDITOR audit verify --deep
expect 0 "and the log verifies --deep"
finish
