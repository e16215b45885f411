# t-crash.sh - kill -9 at random moments while several clients write and read
# (every other round, one client alone on one keep-alive connection instead,
# with commits of one write each, made by the main thread: daemon/lone.c): after each restart every acknowledged write
# is there, readable and found by the index, and the log (with every record)
# verifies --deep. One more client moves a document's custody back and forth:
# every acknowledged event is in its history, and each history entry opens and
# matches the log. The audit log's block filters (blocks of 64 entries here,
# written as the kills land) still find every entry of the document and of a
# sample of persons.
# ROUNDS (default 8) sets how many kills.
# The journal at its 1M floor checkpoints every few hundred writes, so kills also
# land in and around checkpoints, most of them running beside the writer while
# its records go on round the journal's ring.
. "$(dirname "$0")/lib.sh"
ROUNDS=${ROUNDS:-8}
EXTRA_SETTINGS="journal_size = 1M
audit_filter_block = 64" new_registry
add_person
as $CLERK --json doc add --person "$PID" --type passport --number CRASH1 --country DE --expires 2031-01-01
DID=$(field "$OUT" id)
as $AUDITOR audit verify --state "$T/out/audit.json"
expect 0 "baseline verify"
chmod 666 "$T/out/audit.json"

writer() { # writer N: adds persons until the daemon dies; logs acknowledged ids
	local n=0 out
	while :; do
		n=$((n + 1))
		out=$(ROSTER_SOCKET=$SOCK setpriv --reuid=$CLERK --regid=$CLERK --clear-groups \
			"$ROSTERCTL" --json person add --name "Crash Person" --birth-date 1990-01-01 \
			--nationality DE --employer E --segment upstream --expertise metallurgy \
			--national-id "C$1X$n$RANDOM" 2>/dev/null) || break
		field "$out" id >>"$T/out/acked.$1"
		ROSTER_SOCKET=$SOCK setpriv --reuid=$CLERK --regid=$CLERK --clear-groups \
			"$ROSTERCTL" person get "$PID" >/dev/null 2>&1 || break
	done
}

custodian() { # surrenders and releases the document until the daemon dies
	local ev=(surrender --to employer)
	while :; do
		if ROSTER_SOCKET=$SOCK setpriv --reuid=$CLERK --regid=$CLERK --clear-groups \
			"$ROSTERCTL" doc custody "$DID" "${ev[@]}" >/dev/null 2>"$T/out/custody.err"; then
			echo "${ev[0]}" >>"$T/out/events.acked"
		elif ! grep -q "custody" "$T/out/custody.err"; then
			break # the daemon is gone (a refusal names the custody state)
		fi
		if [ "${ev[0]}" = surrender ]; then ev=(release); else ev=(surrender --to employer); fi
	done
}

PY=/usr/bin/python3 # the system's: test identities cannot reach a per-user one
[ -x "$PY" ] || PY=$(command -v python3)
lone() { # one client alone on one keep-alive connection, as fast as it is answered
	setpriv --reuid=$CLERK --regid=$CLERK --clear-groups "$PY" "$(dirname "$0")/keepalive.py" \
		"$SOCK" persons 1000000 "R$1" >>"$T/out/acked.lone" 2>/dev/null
}

beside=0 lonec=0
for round in $(seq "$ROUNDS"); do
	pids=()
	if [ $((round % 2)) = 0 ]; then
		lone "$round" & pids+=($!)
	else
		for w in 1 2 3; do writer "$w" & pids+=($!); done
		custodian & pids+=($!)
	fi
	sleep "0.$((2 + RANDOM % 6))"
	curl_as $ADMIN GET /v1/metrics
	beside=$((beside + $(awk '$1 == "roster_journal_checkpoints_beside_total" {print $2}' <<<"$OUT")))
	lonec=$((lonec + $(awk '$1 == "roster_lone_commits_total" {print $2}' <<<"$OUT")))
	kill -9 "$DPID"
	wait "$DPID" 2>/dev/null
	DPID=
	wait "${pids[@]}" 2>/dev/null
	start_daemon
done
total=$(cat "$T"/out/acked.* | wc -l)
check "checkpoints ran beside the writer before the kills ($beside)" test "$beside" -gt 0
check "the clients had writes acknowledged ($total)" test "$total" -gt 0
missing=0
while read -r id; do
	as $CLERK --json person get "$id"
	[ "$RC" = 0 ] || missing=$((missing + 1))
done < <(cat "$T"/out/acked.*)
check "every acknowledged write survived $ROUNDS kill -9s ($missing missing)" test "$missing" = 0
# Found, not only read: a person's tags wait in the index log and are merged
# later, and the journal must bring back both (a merge's removals once replayed
# wrongly, and the start refused the registry).
as $CLERK --json person list --employer E --all
expect 0 "every person listed by employer"
grep -o '"id":"per_[^"]*"' <<<"$OUT" | cut -d'"' -f4 | sort >"$T/out/found"
unfound=$(sort "$T"/out/acked.* | comm -23 - "$T/out/found" | wc -l)
check "every acknowledged person is found by employer ($unfound not found)" test "$unfound" = 0
lone=$(cat "$T/out/acked.lone" 2>/dev/null | wc -l)
[ "$ROUNDS" -lt 2 ] || check "the lone client had writes acknowledged too ($lone)" test "$lone" -gt 0
[ "$ROUNDS" -lt 2 ] || check "... committed by the main thread, as requests alone are ($lonec before the kills)" \
	test "$lonec" -gt 0
events=$(cat "$T/out/events.acked" 2>/dev/null | wc -l)
as $CLERK --json doc get "$DID"
expect 0 "the document and its whole history read back"
# (stdin, not an argument: the reply holds the history, which grows long)
stored=$("$PY" -c 'import json, sys; print(json.load(sys.stdin)["events"])' <<<"$OUT")
check "every acknowledged custody event is in its history ($events acknowledged, $stored stored)" \
	test "$stored" -ge "$events"
check "custody events were acknowledged" test "$events" -gt 0
echo "crash: $ROUNDS kill -9s under 3 writing clients and a custodian or a lone one, $total acknowledged writes ($lone lone) and $events custody events, $missing missing; $beside checkpoints beside the writer before the kills"
as $AUDITOR audit verify --state "$T/out/audit.json" --deep
expect 0 "the log and every record verify --deep, consistent with the state before the kills"

as $AUDITOR audit export
printf '%s\n' "$OUT" >"$T/out/export.jsonl"
wrong=0
for id in "$DID" $(sort -R "$T"/out/acked.* | head -n 10); do
	as $AUDITOR audit find --target "$id"
	want=$(entries_naming "$T/out/export.jsonl" "$id")
	[ "$RC" = 0 ] && [ "$OUT" = "$want" ] || wrong=$((wrong + 1))
done
check "audit find --target through the filters: the document's and 10 persons' entries as exported ($wrong wrong)" \
	test "$wrong" = 0
finish
