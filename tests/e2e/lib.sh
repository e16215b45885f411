# lib.sh - helpers for end-to-end tests: a real rosterd in a temporary folder,
# driven by the real rosterctl (and curl) as several local identities.
#
# Identities (uids, via setpriv as root): 2001 clerk, 2002 clerk, 2003 approver,
# 2004 clerk+approver, 2005 auditor, 2006 admin, 2009 no role.
set -u
: "${ROSTERD:?set ROSTERD to the rosterd binary}" "${ROSTERCTL:?set ROSTERCTL to the rosterctl binary}"

PASS=0
FAIL=0
CLERK=2001 CLERK2=2002 APPROVER=2003 BOTH=2004 AUDITOR=2005 ADMIN=2006 NOBODY=2009

if [ "$(id -u)" != 0 ]; then
	echo "SKIP: end-to-end tests switch identities with setpriv and need root"
	exit 77
fi
for tool in setpriv curl python3 mdb_dump; do
	command -v "$tool" >/dev/null || { echo "missing $tool"; exit 1; }
done

T=$(mktemp -d /tmp/roster-e2e.XXXXXX)
chmod 755 "$T"
mkdir -m 1777 "$T/out" # where the test identities write
SOCK=$T/rosterd.sock
CONF=$T/rosterd.conf
DPID=

cleanup() {
	[ -n "$DPID" ] && kill "$DPID" 2>/dev/null && wait "$DPID" 2>/dev/null
	if [ -n "${ROSTER_TEST_KEEP:-}" ]; then echo "kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT

write_conf() {
	cat >"$CONF" <<CONF
data_dir = $T/data
socket = $SOCK
master_key = $T/master.key
origin = test.example/roster
socket_mode = 0666
map_size = ${MAP_SIZE:-64M}
allow_root = yes
${EXTRA_SETTINGS:-}
[roles]
clerk = uid:$CLERK, uid:$CLERK2, uid:$BOTH
approver = uid:$APPROVER, uid:$BOTH
auditor = uid:$AUDITOR
admin = uid:$ADMIN
${EXTRA_ROLES:-}
CONF
}

# ROSTERD_WRAP (say "valgrind --error-exitcode=99") runs the serving daemon under it.
start_daemon() {
	${ROSTERD_WRAP:-} "$ROSTERD" -c "$CONF" 2>>"$T/rosterd.log" &
	DPID=$!
	for _ in $(seq $([ -n "${ROSTERD_WRAP:-}" ] && echo 1200 || echo 100)); do
		[ -S "$SOCK" ] && curl -s --unix-socket "$SOCK" http://r/v1/health >/dev/null && return 0
		sleep 0.05
	done
	echo "rosterd did not start:"; cat "$T/rosterd.log"; exit 1
}

stop_daemon() {
	kill -TERM "$DPID"
	wait "$DPID"
	local rc=$?
	DPID=
	return $rc
}

new_registry() {
	write_conf
	"$ROSTERD" init -c "$CONF" 2>>"$T/rosterd.log" || { cat "$T/rosterd.log"; exit 1; }
	start_daemon
}

# as UID rosterctl-args...: runs rosterctl as that uid; stdout in $OUT, stderr in $ERR, code in $RC.
as() {
	local uid=$1
	shift
	OUT=$(ROSTER_SOCKET=$SOCK setpriv --reuid="$uid" --regid="$uid" --clear-groups \
		"$ROSTERCTL" "$@" 2>"$T/err")
	RC=$?
	ERR=$(cat "$T/err")
	# Kept for finish(): the next call overwrites $T/err.
	case $ERR in
	*"ERROR: AddressSanitizer"* | *"ERROR: LeakSanitizer"* | *"runtime error:"*)
		printf '%s\n' "$ERR" >>"$T/rosterctl.err" ;;
	esac
}

# ctl UID rosterctl-args...: rosterctl as that uid, output left on stdout and
# stderr; for clients running in the background, where as's variables would not be
# seen and its error file would be shared.
ctl() {
	local uid=$1
	shift
	ROSTER_SOCKET=$SOCK setpriv --reuid="$uid" --regid="$uid" --clear-groups "$ROSTERCTL" "$@"
}

# as_tty UID rosterctl-args...: like as, on a pseudo-terminal (progress bars show);
# stdout and stderr both land in $OUT.
as_tty() {
	local uid=$1 cmd
	shift
	printf -v cmd '%q ' "$ROSTERCTL" "$@"
	OUT=$(ROSTER_SOCKET=$SOCK setpriv --reuid="$uid" --regid="$uid" --clear-groups \
		script -qec "$cmd" /dev/null 2>&1 | tr -d '\r')
	RC=${PIPESTATUS[0]}
	ERR=
}

# curl_as UID METHOD PATH [BODY]: raw HTTP; body in $OUT, status in $STATUS.
curl_as() {
	local uid=$1 method=$2 path=$3 body=${4-}
	local args=(-s -o "$T/out/body" -w '%{http_code}' --unix-socket "$SOCK" -X "$method")
	rm -f "$T/out/body"
	if [ -n "$body" ]; then
		printf '%s' "$body" >"$T/out/req"
		chmod 644 "$T/out/req"
		args+=(-H 'Content-Type: application/json' --data-binary "@$T/out/req")
	fi
	STATUS=$(setpriv --reuid="$uid" --regid="$uid" --clear-groups curl "${args[@]}" "http://r$path")
	OUT=$(cat "$T/out/body" 2>/dev/null)
}

ok() {
	PASS=$((PASS + 1))
}

bad() {
	FAIL=$((FAIL + 1))
	echo "FAIL: $*"
	echo "  rc=${RC-} out=$(printf '%.300s' "${OUT-}")"
	echo "  err=$(printf '%.300s' "${ERR-}")"
}

# expect CODE DESCRIPTION: checks the last `as` exit code.
expect() {
	if [ "$RC" = "$1" ]; then ok; else bad "$2 (wanted exit $1)"; fi
}

expect_status() {
	if [ "$STATUS" = "$1" ]; then ok; else bad "$2 (wanted HTTP $1, got $STATUS)"; fi
}

# check DESCRIPTION command...: passes when the command succeeds.
check() {
	local what=$1
	shift
	if "$@"; then ok; else bad "$what"; fi
}

contains() { case "$1" in *"$2"*) return 0 ;; *) return 1 ;; esac; }

# rosterd_exits CODE WHAT PATTERN ARGS...: runs rosterd ARGS (not in the background;
# its errors in $T/rosterd.err) and checks it exits CODE, and says PATTERN (grep's).
rosterd_exits() {
	local want=$1 what=$2 pattern=$3 rc
	shift 3
	"$ROSTERD" "$@" 2>"$T/rosterd.err"
	rc=$?
	check "$what (exit $rc)" test "$rc" = "$want"
	check "$what: says '$pattern'" grep -q "$pattern" "$T/rosterd.err"
}

# field JSON KEY: one top-level field of a JSON object.
# The JSON goes on stdin: a long reply (a document's whole history) would pass the
# kernel's limit on one argument.
field() { python3 -c 'import json,sys; v=json.load(sys.stdin).get(sys.argv[1]); print(v if not isinstance(v,(dict,list)) else json.dumps(v))' "$2" <<<"$1"; }

log_size() { as $ADMIN --json status; field "$OUT" log_size; }

# entries_naming FILE ID: the lines of an audit export whose entry names ID (its
# target, one of a list's targets, stored.target or person), worked out here
# from the export itself, for comparing with what `audit find --target` selects.
entries_naming() {
	python3 - "$1" "$2" <<'PY'
import json, sys
id = sys.argv[2]
for line in open(sys.argv[1]):
    if not line.strip():
        continue
    e = json.loads(line)
    if (e.get("target") == id or id in e.get("targets", []) or
            e.get("stored", {}).get("target") == id or e.get("person") == id):
        print(line, end="")
PY
}

person_json='{"name":"Ana Müller","name_native":"Анна Мюллер","birth_date":"1979-04-13","nationality":"DE","national_id":"T22000129","employer":"Acme Magnets","site":"Plant 2","segment":"downstream","expertise":["magnet-alloys","powder-metallurgy"],"education":[{"degree":"PhD","field":"Materials Science","institution":"TU Dresden","year":2006}],"research":"Patent EP3141592 on grain-boundary diffusion"}'

ADDED=0
add_person() { # add_person [JSON]: as clerk; sets PID. National ids are unique: later
	# calls get a national id of their own.
	local json=${1:-$person_json}
	[ "$ADDED" -gt 0 ] && json=${json//T22000129/T22$((100000 + ADDED))}
	ADDED=$((ADDED + 1))
	as $CLERK --json person add -f - <<<"$json"
	PID=$(field "$OUT" id)
}

# client_load N: a clerk reads $PID and adds a person N times in the background;
# any failure lands in $T/out/client.err. Wait for it with: wait $CLIENT
client_load() {
	( for _ in $(seq "$1"); do
		ctl $CLERK person get "$PID" >/dev/null || echo "read failed" >>"$T/out/client.err"
		ctl $CLERK person add --name "Background Person" --birth-date 1990-01-01 --nationality FR \
			--employer E --segment upstream --expertise metallurgy >/dev/null ||
			echo "write failed" >>"$T/out/client.err"
	done ) &
	CLIENT=$!
}

# metric NAME: the value rosterd's /v1/metrics gives it (as the admin).
metric() {
	curl_as $ADMIN GET /v1/metrics
	printf '%s\n' "$OUT" | awk -v m="$1" '$1 == m {print $2}'
}

# import_many N EMPLOYER: a clerk imports N persons alike but for their ids (N
# consecutive person.create entries, in one batch); exit status in $RC.
import_many() {
	python3 - "$T/out/many.jsonl" "$1" "$2" <<'PY'
import json, sys
with open(sys.argv[1], "w") as f:
    for i in range(int(sys.argv[2])):
        f.write(json.dumps({"name": "Many Person", "birth_date": "1980-01-01", "nationality": "DE",
                            "employer": sys.argv[3], "segment": "upstream",
                            "expertise": ["metallurgy"]}) + "\n")
PY
	chmod 644 "$T/out/many.jsonl"
	as $CLERK person import "$T/out/many.jsonl"
}

# writer_busy N: a clerk imports N new persons in the background ($BUSY is its pid;
# wait for it): their one transaction holds the writer for a second or so, and the
# requests that arrive meanwhile share its next transaction.
BUSY_ROUND=0
writer_busy() {
	BUSY_ROUND=$((BUSY_ROUND + 1))
	python3 - "$T/out/busy.csv" "$1" "$BUSY_ROUND" <<'PY'
import csv, sys
n, r = int(sys.argv[2]), int(sys.argv[3])
with open(sys.argv[1], "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["name", "birth_date", "nationality", "national_id", "employer", "segment",
                "expertise"])
    for i in range(n):
        w.writerow([f"Busy {chr(97 + i // 676 % 26)}{chr(97 + i // 26 % 26)}{chr(97 + i % 26)}",
                    "1970-01-01", "DE", f"BUSY{r}X{i:06d}", "Busy", "upstream", "metallurgy"])
PY
	chmod 644 "$T/out/busy.csv"
	ctl $CLERK person import "$T/out/busy.csv" >"$T/out/busy.out" 2>&1 &
	BUSY=$!
	sleep 0.3 # rosterctl has read and sent the rows: the writer is at them
}

# burst UID N METHOD PATH [BODY]: N identical requests sent at once as that uid;
# their statuses, one a line, on stdout (tests/e2e/burst.py).
burst() {
	local uid=$1
	shift
	setpriv --reuid="$uid" --regid="$uid" --clear-groups /usr/bin/python3 \
		"$(dirname "${BASH_SOURCE[0]}")/burst.py" "$SOCK" "$@"
}

# Stops the daemon (so a sanitizer build reports its leaks), fails on any
# sanitizer report a daemon left in its logs, and prints the tally.
finish() {
	local reports
	[ -n "$DPID" ] && stop_daemon >/dev/null 2>&1
	reports=$(grep -lE "ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:" \
		"$T"/*.log "$T"/*.err "$T"/*.out 2>/dev/null)
	if [ -n "$reports" ]; then
		bad "sanitizer reports in $reports"
		grep -hE -A12 "ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:" $reports | head -40
	fi
	echo "$PASS passed, $FAIL failed"
	[ "$FAIL" = 0 ]
}
