# t-probe.sh - seeded random requests at every route, as a clerk and approver,
# an auditor and an administrator at once (probe.py): rosterd must answer each
# with JSON and never with a 5xx other than 503 or 507, stay up, keep its
# sanitizers quiet, and leave an audit log that verifies. PROBE_SECONDS (default
# 12) for each identity; PROBE_SEED (default 1) picks the requests, so a failure
# can be replayed.
. "$(dirname "$0")/lib.sh"
new_registry
PY=/usr/bin/python3 # the system's: test identities cannot reach a per-user one
[ -x "$PY" ] || PY=$(command -v python3)
SECS=${PROBE_SECONDS:-12}
SEED=${PROBE_SEED:-1}

probe() { # probe UID SEED PATHS [seed]: output in $T/out/probe.UID
	setpriv --reuid="$1" --regid="$1" --clear-groups "$PY" "$(dirname "$0")/probe.py" \
		"$SOCK" "$SECS" "$2" "$T/out/ids.json" "${@:3}" >"$T/out/probe.$1" 2>&1
}

# Mostly each role's own routes; a tenth of requests go to other methods anyway.
probe $BOTH "$SEED" /v1/persons,/v1/documents,/v1/travel seed &
clerk=$!
for _ in $(seq 100); do [ -s "$T/out/ids.json" ] && break; sleep 0.1; done
probe $AUDITOR $((SEED + 1)) /v1/audit &
auditor=$!
probe $ADMIN $((SEED + 2)) /v1/status,/v1/roles,/v1/keys,/v1/metrics,/v1/progress,/v1/health &
admin=$!
for run in "clerk $clerk $BOTH" "auditor $auditor $AUDITOR" "admin $admin $ADMIN"; do
	read -r who pid uid <<<"$run"
	wait "$pid"
	rc=$?
	check "the $who's requests were all answered well ($(cat "$T/out/probe.$uid"))" test "$rc" = 0
done
as $CLERK --json status
as $ADMIN --json status
expect 0 "rosterd still serves"
as $AUDITOR audit verify
expect 0 "the log of it all verifies"
finish
