# t-auditfilter.sh - `audit find` through the daemon's block filters: with
# blocks of 16 entries, every record's entries, and the answers to questions by
# account, action, outcome and time span, come back exactly as the export holds
# them (filtered blocks, the stretch after the last filter, pages that stop
# early and say where to go on), with blocks skipped, after a restart, after
# 0.7.3's filters (ids only) are rewritten, and with a damaged filter
# (its block is read whole; a damaged last one stops new filters, not finds).
# Bad questions are refused and other roles may not ask.
. "$(dirname "$0")/lib.sh"
: "${TAMPER:?set TAMPER to the roster-tamper binary}"
EXTRA_SETTINGS="audit_filter_block = 16"
new_registry

filtered() { metric roster_audit_filtered_entries; } # entries in blocks with a filter

IDS=()
for i in $(seq 24); do
	add_person
	IDS+=("$PID")
	if [ $((i % 3)) = 0 ]; then
		as $CLERK --json person get "$PID"
		as $CLERK2 --json person get "$PID"
	fi
	if [ $((i % 8)) = 1 ]; then
		as $CLERK --json doc add --person "$PID" --type passport --number "F0${i}X00T47" \
			--country DE --expires 2031-05-01
		IDS+=("$(field "$OUT" id)")
	fi
	[ $((i % 10)) = 5 ] && as $CLERK --json person list --limit 4
done
as $NOBODY --json person get "${IDS[0]}"
expect 77 "an account without a role is refused a read (an entry naming the person)"
as $ADMIN role grant "uid:$NOBODY" approver
expect 0 "a grant: an entry whose target is uid:N"
IDS+=("uid:$NOBODY")
DOC=${IDS[1]}
as $CLERK doc custody "$DOC" surrender --to employer --custodian "HR safe"
expect 0 "a custody event: its history entry is stored beside the document"

size=$(log_size)
n=$(filtered)
check "the filters cover whole blocks of 16 ($n of $size entries)" \
	test "$n" -gt 0 -a $((n % 16)) = 0 -a "$n" -le "$size"

as $AUDITOR audit export
expect 0 "the auditor exports the log"
printf '%s\n' "$OUT" >"$T/out/export.jsonl"
chmod 644 "$T/out/export.jsonl"
IDS+=("$(python3 -c 'import json,sys
for l in open(sys.argv[1]):
    s = json.loads(l).get("stored")
    if s: print(s["target"]); break' "$T/out/export.jsonl")")

want_all() { # each id's entries in the export
	local id
	mkdir -p "$T/out/want"
	for id in "${IDS[@]}"; do
		entries_naming "$T/out/export.jsonl" "$id" >"$T/out/want/${id//:/_}"
	done
}
want_all

# find_all LABEL: every id's entries from the daemon, against the export's.
find_all() {
	local id want wrong=0 empty=0
	for id in "${IDS[@]}"; do
		want=$(cat "$T/out/want/${id//:/_}")
		[ -z "$want" ] && empty=$((empty + 1))
		as $AUDITOR audit find --target "$id"
		if [ "$RC" != 0 ] || [ "$OUT" != "$want" ]; then
			wrong=$((wrong + 1))
			echo "  $1: $id: rc $RC, $(printf '%s\n' "$OUT" | grep -c .) lines, want $(printf '%s\n' "$want" | grep -c .)"
		fi
	done
	check "$1: each of ${#IDS[@]} ids' entries exactly as exported" test "$wrong" = 0
	check "$1: every id was named somewhere" test "$empty" = 0
}
find_all "filters and the stretch after them"

# Questions without a target: the daemon's answer is what the export holds.
QUESTIONS=("--action role.grant" "--outcome denied" "--actor uid:$NOBODY"
	"--actor uid:$CLERK2 --action person.read" "--action document.custody --outcome ok"
	"--since $(date -u +%F)" "--until $(date -u +%F) --action person.list")
# A time halfway through the log: the blocks on either side of it hold no match.
mid=$(python3 -c 'import json,sys
e = open(sys.argv[1]).readlines()
print(json.loads(e[len(e) // 2])["time"])' "$T/out/export.jsonl")
QUESTIONS+=("--until $mid" "--since $mid --action person.read")
# ask_all LABEL: each question live and offline; the live answer must be the
# offline one, not empty, and must have skipped at least one block.
ask_all() {
	local q want wrong=0 skipped0 skipped1
	for q in "${QUESTIONS[@]}"; do
		as $AUDITOR audit find $q --export "$T/out/export.jsonl"
		want=$OUT
		skipped0=$(metric roster_audit_find_blocks_skipped_total)
		as $AUDITOR audit find $q
		skipped1=$(metric roster_audit_find_blocks_skipped_total)
		# Entries after the export (the reads of this loop) are left out.
		OUT=$(printf '%s\n' "$OUT" | head -n "$(printf '%s\n' "$want" | grep -c .)")
		if [ "$RC" != 0 ] || [ -z "$want" ] || [ "$OUT" != "$want" ]; then
			wrong=$((wrong + 1))
			echo "  $1: $q: rc $RC, $(printf '%s\n' "$OUT" | grep -c .) lines, want $(printf '%s\n' "$want" | grep -c .)"
		fi
		case $q in "--since $(date -u +%F)") ;; *)
			[ "$skipped1" -gt "$skipped0" ] || { wrong=$((wrong + 1)); echo "  $1: $q skipped no block"; } ;;
		esac
	done
	check "$1: ${#QUESTIONS[@]} questions answered as the export answers them" test "$wrong" = 0
}
ask_all "questions"

read0=$(metric roster_audit_find_entries_read_total)
as $AUDITOR audit find --since "$(date -u -d tomorrow +%F)"
expect 1 "a span after every entry: none"
check "says so" contains "$ERR" "no entry matched"
read1=$(metric roster_audit_find_entries_read_total)
check "and reads no more than the stretch after the last filter ($((read1 - read0)) entries)" \
	test $((read1 - read0)) -le 32
read0=$read1
as $AUDITOR audit find --until 2000-01-01
expect 1 "a span before every entry: none"
read1=$(metric roster_audit_find_entries_read_total)
check "and reads no more than the stretch after the last filter ($((read1 - read0)) entries)" \
	test $((read1 - read0)) -le 32

as $AUDITOR audit find --target per_00000000000000000000000000
expect 1 "an id the log never named: none"
check "says so" contains "$ERR" "naming per_00000000000000000000000000"

# Pages: one entry each, each saying where the next begins, until the last.
follow() { # follow ID LIMIT: the pages' entries concatenated; page count in $PAGES
	local from=0 next
	PAGES=0
	: >"$T/out/pages"
	while :; do
		setpriv --reuid="$AUDITOR" --regid="$AUDITOR" --clear-groups curl -s -D "$T/out/h" \
			-o "$T/out/b" --unix-socket "$SOCK" \
			"http://r/v1/audit/entries?target=$1&from=$from&limit=$2" || return 1
		cat "$T/out/b" >>"$T/out/pages"
		PAGES=$((PAGES + 1))
		next=$(tr -d '\r' <"$T/out/h" | awk -F': ' 'tolower($1) == "roster-audit-next" {print $2}')
		[ -z "$next" ] && return 0
		[ "$next" -gt "$from" ] || return 1
		from=$next
		[ "$PAGES" -lt 1000 ] || return 1
	done
}
P=${IDS[2]}
check "pages of one entry follow Roster-Audit-Next to the end" follow "$P" 1
check "and give the same entries" cmp -s "$T/out/pages" "$T/out/want/$P"
check "one page an entry, and a last one ($PAGES pages)" \
	test "$PAGES" = $(($(grep -c . "$T/out/want/$P") + 1))
from=$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readlines()[1])["seq"])' "$T/out/want/$P")
as $AUDITOR audit find --target "$P" --from "$from"
check "--from: the entries from that seq on" test "$OUT" = "$(tail -n +2 "$T/out/want/$P")"

# Bad questions change nothing and reach no entry.
before=$(log_size)
asked=0
for q in "target=$P&last=3" "target=per_$(printf 'x%.0s' $(seq 40))" "target=a%22b" "target=" \
	"target=$P&limit=0" "target=$P&from=x" "action=person.read&last=3" "since=2026-13-01" \
	"until=today" "actor=uid:x" "actor=a%5Cb" "outcome=" "action=$(printf 'a%.0s' $(seq 70))" \
	"from=9007199254740993" "last=18446744073709551616" "target=$P&from=99999999999999999999"; do
	curl_as $AUDITOR GET "/v1/audit/entries?$q"
	expect_status 400 "?$q is refused"
	asked=$((asked + 1))
done
curl_as $CLERK GET "/v1/audit/entries?target=$P"
expect_status 403 "a clerk may not ask the log"
check "a refusal is itself an entry, and nothing else was written" \
	test "$(log_size)" -le $((before + asked + 2))
as $AUDITOR audit tail --n $((asked + 3)) # and the clerk's, log_size's and its own
printf '%s\n' "$OUT" >"$T/out/refused.jsonl"
check "a refused question's entry records the refusal, not what it asked" python3 - "$T/out/refused.jsonl" "$asked" <<'PY'
import json, sys
refused = [e for e in map(json.loads, filter(str.strip, open(sys.argv[1])))
           if e["action"] == "audit.read" and e["status"] == 400]
ok = len(refused) == int(sys.argv[2]) and all(e["target"] == "" and "query" not in e for e in refused)
sys.exit(0 if ok else 1)
PY

# After a restart the daemon knows where the filters end, and goes on making them.
stop_daemon
start_daemon
n0=$(filtered)
for i in $(seq 20); do
	as $CLERK --json person get "${IDS[4]}"
done
n1=$(filtered)
check "after a restart, more filters as the log grows ($n0 -> $n1)" test "$n1" -gt "$n0"
as $AUDITOR audit export
printf '%s\n' "$OUT" >"$T/out/export.jsonl"
want_all
find_all "after a restart"
ask_all "after a restart"

# An import's entries come in one batch, many blocks at once: an idle writer
# makes their filters a block at a time, until all whole blocks have one.
import_many 200 "Blocks GmbH"
expect 0 "an import of 200 persons: 200 entries in one batch"
caught_up() {
	local size n
	size=$(log_size)
	n=$(filtered)
	[ "$n" -ge $((size / 16 * 16 - 16)) ]
}
sleep 1 # no request meanwhile: each would carry a block of its own
check "the idle writer catches up ($(filtered) of $(log_size) entries filtered)" caught_up
as $AUDITOR audit export
printf '%s\n' "$OUT" >"$T/out/export.jsonl"
IDS+=("$(python3 -c 'import json, sys
e = [json.loads(l) for l in open(sys.argv[1])]
print([x["target"] for x in e if x["action"] == "person.create"][-100])' "$T/out/export.jsonl")")
want_all
find_all "after the import, caught up"

# `audit verify --deep` checks that no filter leaves out an entry of its block:
# one that did would hide the entry from the auditor's questions, the log intact.
as $AUDITOR audit verify --deep
expect 0 "verify --deep: the log, the records and the filters"
check "it says the filters hold every entry" contains "$OUT" "block filters hold every entry"
curl_as $AUDITOR GET "/v1/audit/filters?from=20&limit=2"
expect_status 200 "a page of filters"
check "from the one holding seq 20, two, and where the next begins" test \
	"$(printf '%s' "$OUT" | python3 -c 'import json,sys; r=json.load(sys.stdin); print([i["first"] for i in r["items"]], r.get("next"))')" = "[16, 32] 48"
for q in "from=x" "limit=0" "limit=1001"; do
	curl_as $AUDITOR GET "/v1/audit/filters?$q"
	expect_status 400 "filters ?$q is refused"
done
curl_as $CLERK GET /v1/audit/filters
expect_status 403 "a clerk may not read the filters"
stop_daemon
second=$("$TAMPER" "$T/data" audit_filter keys | sed -n 2p)
good=$("$TAMPER" "$T/data" audit_filter get "$second")
"$TAMPER" "$T/data" audit_filter put "$second" "${good:0:64}$(printf '%s' "${good:64}" | tr '1-9a-f' '0')"
start_daemon
as $AUDITOR audit verify --deep
expect 1 "a filter with its bits cleared fails verify --deep"
check "naming the entry and its block" contains "$ERR" "entry 16: left out of the filter of entries 16 to 31"
stop_daemon
"$TAMPER" "$T/data" audit_filter put "$second" "${good:0:32}$(printf '%016x%016x' 20000101000000 20000101000000)${good:64}"
start_daemon
as $AUDITOR audit verify --deep
expect 1 "a filter whose span was moved fails verify --deep"
check "naming a question by time" contains "$ERR" "a question by time"
stop_daemon
"$TAMPER" "$T/data" audit_filter put "$second" "$good"
start_daemon
as $AUDITOR audit verify --deep
expect 0 "the filter put back, verify --deep passes"

# Filters 0.7.3 wrote hold ids only, and no times (a question by target skips
# by them, any other reads their blocks). With the first five made so, the
# daemon finds the last of them at start and rewrites them while idle.
raf1_count() {
	local k n=0
	for k in $("$TAMPER" "$T/data" audit_filter keys); do
		case $("$TAMPER" "$T/data" audit_filter get "$k") in 52414631*) n=$((n + 1)) ;; esac
	done
	echo $n
}
stop_daemon
first=$("$TAMPER" "$T/data" audit_filter keys | head -1)
v=$("$TAMPER" "$T/data" audit_filter get "$first")
check "filters are written as RAF2" test "${v:0:8}" = 52414632
for k in $("$TAMPER" "$T/data" audit_filter keys | head -5); do
	v=$("$TAMPER" "$T/data" audit_filter get "$k")
	"$TAMPER" "$T/data" audit_filter put "$k" "52414631${v:8:24}${v:64}"
	fifth=$k
done
check "five filters made 0.7.3's" test "$(raf1_count)" = 5
start_daemon
check "the daemon finds the last of them at start" \
	grep -q "audit filters 0.7.3 wrote, up to entry $((16#$fifth)), are rewritten" "$T/rosterd.log"
rewritten() { grep -q "the audit filters 0.7.3 wrote are rewritten" "$T/rosterd.log"; }
for i in $(seq 50); do rewritten && break; sleep 0.1; done
check "and rewrites them while idle" rewritten
stop_daemon
check "none is left as 0.7.3 wrote it" test "$(raf1_count)" = 0
start_daemon
find_all "0.7.3's filters rewritten"
ask_all "0.7.3's filters rewritten"
as $AUDITOR audit verify --deep
expect 0 "the rewritten filters hold every entry of their blocks"

# A damaged filter: its block is read entry by entry, and nothing is missed.
stop_daemon
first=$("$TAMPER" "$T/data" audit_filter keys | head -1)
"$TAMPER" "$T/data" audit_filter put "$first" 00
check "the first filter damaged" test "$("$TAMPER" "$T/data" audit_filter get "$first")" = 00
start_daemon
find_all "the first filter damaged"
stop_daemon
last=$("$TAMPER" "$T/data" audit_filter keys | tail -1)
"$TAMPER" "$T/data" audit_filter put "$last" 524146310000
start_daemon
check "a damaged last filter is logged at start" grep -q "the last audit filter is damaged" "$T/rosterd.log"
n2=$(filtered)
check "and no filter is made after it ($n2)" test "$n2" = 0
find_all "the last filter damaged"
as $CLERK --json person get "${IDS[4]}"
expect 0 "the registry serves on"

# Audit reads are gathered by one thread of their own (aread.c), one after the
# other: eight auditors asking at once each get their whole answer.
as $AUDITOR audit export
printf '%s\n' "$OUT" >"$T/out/export.jsonl"
size=$(grep -c . "$T/out/export.jsonl")
pids=()
for i in $(seq 8); do
	if [ $((i % 2)) = 0 ]; then
		ROSTER_SOCKET=$SOCK setpriv --reuid="$AUDITOR" --regid="$AUDITOR" --clear-groups \
			"$ROSTERCTL" audit export >"$T/out/many.$i" 2>&1 &
	else
		ROSTER_SOCKET=$SOCK setpriv --reuid="$AUDITOR" --regid="$AUDITOR" --clear-groups \
			"$ROSTERCTL" audit find --target "${IDS[2]}" >"$T/out/many.$i" 2>&1 &
	fi
	pids+=($!)
done
wait "${pids[@]}"
short=0
for i in $(seq 8); do
	if [ $((i % 2)) = 0 ]; then
		head -n "$size" "$T/out/many.$i" | cmp -s - <(head -n "$size" "$T/out/export.jsonl") ||
			short=$((short + 1))
	else
		entries_naming "$T/out/export.jsonl" "${IDS[2]}" | cmp -s - "$T/out/many.$i" ||
			short=$((short + 1))
	fi
done
check "eight auditors at once: four whole exports and four whole answers ($short wrong)" \
	test "$short" = 0

# An entry removed from the log: a find that reaches the gap fails, and says the
# log is damaged, rather than skip it or go round in circles.
stop_daemon
"$TAMPER" "$T/data" audit del 0000000000000005
start_daemon
as $AUDITOR audit find --target "${IDS[0]}"
check "a find over a log with an entry missing fails (exit $RC)" test "$RC" != 0 -a "$RC" != 1
check "naming the damage" contains "$ERR" "MDB_CORRUPTED"

finish
