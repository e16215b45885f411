# t-systemd.sh - socket activation and the notify protocol: rosterd takes the
# socket systemd-socket-activate passes (LISTEN_FDS), reports READY=1 and STATUS=
# on a notify socket the test listens on, answers through the activated socket,
# and reports STOPPING=1 on SIGTERM.
. "$(dirname "$0")/lib.sh"
command -v systemd-socket-activate >/dev/null || { echo "SKIP: no systemd-socket-activate"; exit 77; }
write_conf
"$ROSTERD" init -c "$CONF" 2>>"$T/rosterd.log"

# The notify socket: a datagram socket whose messages land in a file.
timeout 120 python3 - "$T/notify.sock" "$T/notify.log" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "a", buffering=1) as out:
    while True:
        out.write(s.recv(4096).decode() + "\n")
PY
listener=$!
for _ in $(seq 50); do [ -S "$T/notify.sock" ] && break; sleep 0.05; done
systemd-socket-activate -E NOTIFY_SOCKET="$T/notify.sock" -E WATCHDOG_USEC=200000 \
	-l "$SOCK" "$ROSTERD" -c "$CONF" \
	2>>"$T/rosterd.log" &
DPID=$!
for _ in $(seq 100); do [ -S "$SOCK" ] && break; sleep 0.05; done
check "the activated socket exists before rosterd runs" test -S "$SOCK"
chmod 666 "$SOCK" # what SocketMode= does in rosterd.socket
as $ADMIN status
expect 0 "rosterd answers through the socket systemd passed"
for _ in $(seq 100); do grep -q READY=1 "$T/notify.log" 2>/dev/null && break; sleep 0.05; done
check "rosterd reports READY=1" grep -q "READY=1" "$T/notify.log"
check "with a STATUS= line" grep -q "STATUS=serving test.example/roster" "$T/notify.log"
check "it says it uses the passed socket" grep -q "using the socket passed by systemd" "$T/rosterd.log"
add_person
expect 0 "a clerk writes through the activated socket"
sleep 0.3
check "the watchdog is fed (WATCHDOG_USEC=200000)" test "$(grep -c WATCHDOG=1 "$T/notify.log")" -ge 2
kill -TERM "$DPID"
wait "$DPID"
check "SIGTERM exits cleanly" test $? = 0
DPID=
sleep 0.2
check "rosterd reports STOPPING=1" grep -q "STOPPING=1" "$T/notify.log"
kill "$listener" 2>/dev/null
# The units parse: systemd-analyze finds no unknown or invalid setting (a missing
# binary or man page on this machine is not the units' fault).
for unit in rosterd.service rosterd.socket; do
	systemd-analyze verify "$(dirname "$0")/../../conf/$unit" >"$T/verify.out" 2>&1
	if grep -v -e "is not executable" -e "Command 'man " "$T/verify.out" | grep -q .; then
		bad "systemd-analyze verify $unit: $(cat "$T/verify.out")"
	else
		ok
	fi
done
finish
