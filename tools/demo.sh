#!/usr/bin/env bash
# demo.sh - builds roster, starts a demo registry under ./demo (its own config,
# socket and data) and walks through a clerk's session. The daemon keeps running;
# stop it with: kill $(cat demo/rosterd.pid)
set -euo pipefail
cd "$(dirname "$0")/.."
tools/deps.sh
cmake -S . -B build >/dev/null
cmake --build build -j"$(nproc)" >/dev/null
D=$PWD/demo
if [ -f "$D/rosterd.pid" ] && kill "$(cat "$D/rosterd.pid")" 2>/dev/null; then sleep 0.5; fi
rm -rf "$D"
mkdir -p "$D"
me=$(id -u)
cat >"$D/rosterd.conf" <<CONF
data_dir = $D/data
socket = $D/rosterd.sock
master_key = $D/master.key
origin = demo.localhost/roster
allow_root = yes
[roles]
clerk = uid:$me
auditor = uid:$me
admin = uid:$me
CONF
build/rosterd init -c "$D/rosterd.conf"
build/rosterd -c "$D/rosterd.conf" >/dev/null 2>"$D/rosterd.log" &
echo $! >"$D/rosterd.pid"
export ROSTER_SOCKET=$D/rosterd.sock
for _ in $(seq 50); do [ -S "$ROSTER_SOCKET" ] && break; sleep 0.1; done
ctl() { echo "\$ rosterctl $*"; build/rosterctl "$@"; echo; }
id=$(build/rosterctl --json person add --name "Ana Example" --birth-date 1980-02-29 \
	--nationality DE --employer "Acme Magnets" --segment downstream --expertise magnet-alloys |
	python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
ctl person get "$id"
ctl person update "$id" --version 1 --site "Plant 2"
doc=$(build/rosterctl --json doc add --person "$id" --type passport --number X1234567 \
	--country DE --expires 2031-05-01 | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
ctl doc custody "$doc" surrender --to employer --custodian "HR safe, site 2"
ctl doc custody "$doc" release || true
ctl travel request --person "$id" --destinations FR,JP --depart 2027-03-01 --return 2027-03-10 --purpose "Trade fair"
ctl audit tail --n 4
ctl status
echo "Demo registry running: export ROSTER_SOCKET=$ROSTER_SOCKET and try build/rosterctl --help"
