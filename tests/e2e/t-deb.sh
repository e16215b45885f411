# t-deb.sh - the Debian package: cpack -G DEB builds it, dpkg -i installs
# binaries, units, config, man pages and completion and creates the service
# account; the installed rosterd then runs as that account (started by hand: no
# systemd runs here) and answers the installed rosterctl. The package is removed
# at the end.
. "$(dirname "$0")/lib.sh"
command -v dpkg >/dev/null && command -v cpack >/dev/null || { echo "SKIP: no dpkg or cpack"; exit 77; }
B=$(dirname "$ROSTERD")
[ -f "$B/CPackConfig.cmake" ] || { echo "SKIP: not a CMake build folder"; exit 77; }
if dpkg-query -W -f='${Status}' roster 2>/dev/null | grep -q "install ok installed"; then
	echo "SKIP: roster is installed on this machine; this test would replace it"
	exit 77
fi
(cd "$B" && rm -f roster_*_amd64.deb && cpack -G DEB >"$T/cpack.out" 2>&1)
check "cpack builds a .deb" test -f "$B"/roster_*_amd64.deb
VERSION=$("$ROSTERD" --version | awk '{print $2}')
# The same tree packaged as an older version: installed first, then upgraded.
(cd "$B" && cpack -G DEB -B "$T/old" -D CPACK_PACKAGE_VERSION=0.0.1 >>"$T/cpack.out" 2>&1)
check "cpack builds an older-versioned .deb for the upgrade" test -f "$T"/old/roster_0.0.1_amd64.deb
dpkg -i "$T"/old/roster_0.0.1_amd64.deb >"$T/dpkg.out" 2>&1
check "the older package installs" test "$(dpkg-query -W -f='${Version}' roster)" = 0.0.1
printf '# changed by the administrator\n' >>/etc/roster/rosterd.conf
dpkg -i "$B"/roster_*_amd64.deb >"$T/dpkg.out" 2>&1
rc=$? # before the message's $(...) below resets $?
check "dpkg -i installs it ($(tail -n2 "$T/dpkg.out"))" test $rc = 0
trap 'dpkg -r roster >/dev/null 2>&1; cleanup' EXIT
for f in /usr/bin/rosterd /usr/bin/rosterctl /usr/lib/systemd/system/rosterd.service \
	/usr/lib/systemd/system/rosterd.socket /usr/share/man/man8/rosterd.8 \
	/usr/share/man/man1/rosterctl.1 /usr/share/man/man5/rosterd.conf.5 \
	/usr/share/bash-completion/completions/rosterctl /etc/roster/rosterd.conf; do
	check "the package installs $f" test -e "$f"
done
check "the upgrade installs $VERSION" test "$(dpkg-query -W -f='${Version}' roster)" = "$VERSION"
check "the upgrade keeps the administrator's rosterd.conf" grep -q "changed by the administrator" /etc/roster/rosterd.conf
check "the package creates the roster account" sh -c "getent passwd roster >/dev/null"
check "and its data folder, owned by it" test "$(stat -c %U:%a /var/lib/roster)" = roster:700

# Run the installed daemon as its account, by hand.
R=$T/run
install -d -m 0755 -o roster -g roster "$R"
cat >"$R/rosterd.conf" <<CONF
data_dir = $R/data
socket = $R/rosterd.sock
socket_mode = 0666
master_key = $R/master.key
origin = deb.test/roster
[roles]
clerk = uid:$CLERK
CONF
chmod 644 "$R/rosterd.conf"
setpriv --reuid=roster --regid=roster --clear-groups /usr/bin/rosterd init -c "$R/rosterd.conf" 2>>"$T/rosterd.log"
check "the installed rosterd inits as roster" test "$(stat -c %U "$R/data/data.mdb")" = roster
setpriv --reuid=roster --regid=roster --clear-groups /usr/bin/rosterd -c "$R/rosterd.conf" 2>>"$T/rosterd.log" &
DPID=$!
for _ in $(seq 100); do [ -S "$R/rosterd.sock" ] && break; sleep 0.05; done
ROSTERCTL=/usr/bin/rosterctl SOCK=$R/rosterd.sock add_person
expect 0 "the installed rosterctl talks to the installed rosterd"
kill -TERM "$DPID"
wait "$DPID"
DPID=
dpkg -r roster >/dev/null 2>&1
check "dpkg -r removes the binaries" test ! -e /usr/bin/rosterd
check "dpkg -r leaves the configuration" test -e /etc/roster/rosterd.conf
# Only this test's own configuration goes (it carries the line added above).
grep -q "changed by the administrator" /etc/roster/rosterd.conf && rm -f /etc/roster/rosterd.conf
finish
