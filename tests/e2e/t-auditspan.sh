# t-auditspan.sh - a question bounded in time (--since, --until) passes over
# whole runs of block filters whose time span rules them out, without reading
# those filters (audit-span.c: 64 filters a run, here blocks of 16 entries, so
# 1,024 entries a run), and answers exactly as the export does: on a log of an
# import's 2,100 entries between a few early and a few late ones, after a
# restart (the spans summarised again while idle), with a damaged filter in a
# run (that run is read filter by filter), and with filters 0.7.3 wrote (no
# spans until the writer has rewritten them).
. "$(dirname "$0")/lib.sh"
: "${TAMPER:?set TAMPER to the roster-tamper binary}"
EXTRA_SETTINGS="audit_filter_block = 16"
new_registry

# The filters there are: the entries they cover, in blocks of 16.
filters() { echo $(($(metric roster_audit_filtered_entries) / 16)); }

for i in $(seq 4); do add_person; done
EARLY_ID=$PID
early=$(date -u +%FT%TZ)
sleep 1.1
import_many 2100 "Runs GmbH"
expect 0 "an import of 2,100 persons: 2,100 entries in one second or two"
sleep 1.1
late=$(date -u +%FT%TZ)
for i in $(seq 12); do
	as $CLERK --json person get "$EARLY_ID"
done
sleep 1 # idle: the writer makes the filters, the reader summarises their spans

as $AUDITOR audit export
printf '%s\n' "$OUT" >"$T/out/export.jsonl"
chmod 644 "$T/out/export.jsonl"
NFILTERS=$(filters)
check "the log has more than two runs of 64 filters ($NFILTERS)" test "$NFILTERS" -gt 128

# ask LABEL QUESTION...: the live answer is the export's (entries after it, the
# auditor's own reads, left out), not empty; READ and SKIPPED: the filters it
# read and the blocks it passed over.
ask() {
	local label=$1 want r0 s0
	shift
	as $AUDITOR audit find "$@" --export "$T/out/export.jsonl"
	want=$OUT
	NFILTERS=$(filters)
	r0=$(metric roster_audit_find_filters_read_total)
	s0=$(metric roster_audit_find_blocks_skipped_total)
	as $AUDITOR audit find "$@"
	READ=$(($(metric roster_audit_find_filters_read_total) - r0))
	SKIPPED=$(($(metric roster_audit_find_blocks_skipped_total) - s0))
	OUT=$(printf '%s\n' "$OUT" | head -n "$(printf '%s\n' "$want" | grep -c .)")
	check "$label: answered as the export answers it" test "$RC" = 0 -a -n "$want" -a "$OUT" = "$want"
}

ask "--since after the import" --since "$late"
check "the clerk's late reads are all of it" \
	test "$(printf '%s\n' "$OUT" | grep -c '"action":"person.read"')" = 12
check "two runs passed over unread: $READ of $NFILTERS filters read" \
	test "$READ" -le $((NFILTERS - 128))
check "their blocks counted as skipped ($SKIPPED)" test "$SKIPPED" -ge 128
ask "--since after the import, by action" --since "$late" --action person.read
check "the same runs passed over ($READ filters read)" test "$READ" -le $((NFILTERS - 128))
ask "--until before the import" --until "$early"
check "the early entries" test "$(printf '%s\n' "$OUT" | grep -c '"action":"person.create"')" = 4
check "the run of the import alone passed over: $READ of $NFILTERS filters read" \
	test "$READ" -le $((NFILTERS - 64))
ask "a span holding the import" --since "$early" --until "$late" --action person.create
check "every row of the import" test "$(printf '%s\n' "$OUT" | grep -c .)" -ge 2100

# A damaged filter in the second run: that run has no span and is read
# filter by filter (the damaged one's block entry by entry); nothing is missed.
stop_daemon
seventieth=$("$TAMPER" "$T/data" audit_filter keys | sed -n 70p)
good=$("$TAMPER" "$T/data" audit_filter get "$seventieth")
"$TAMPER" "$T/data" audit_filter put "$seventieth" 00
start_daemon
sleep 0.5
ask "--until before the import, a filter of its run damaged" --until "$early"
check "that run is read ($READ filters read)" test "$READ" -gt $((NFILTERS - 64))
ask "--since after the import, a filter damaged" --since "$late"
check "the first run is still passed over ($READ filters read)" \
	test "$READ" -le $((NFILTERS - 64))
stop_daemon
"$TAMPER" "$T/data" audit_filter put "$seventieth" "$good"

# Filters 0.7.3 wrote (ids only, no span) at the log's start: questions read
# them one by one until the writer has rewritten them, and the reader then
# summarises the runs (it looks again every few seconds).
for k in $("$TAMPER" "$T/data" audit_filter keys | head -3); do
	v=$("$TAMPER" "$T/data" audit_filter get "$k")
	"$TAMPER" "$T/data" audit_filter put "$k" "52414631${v:8:24}${v:64}"
done
start_daemon
rewritten() { grep -q "the audit filters 0.7.3 wrote are rewritten" "$T/rosterd.log"; }
for i in $(seq 50); do rewritten && break; sleep 0.1; done
check "the writer rewrites 0.7.3's filters while idle" rewritten
summarised() {
	ask "--since after the import, 0.7.3's filters rewritten" --since "$late"
	[ "$READ" -le $((NFILTERS - 128)) ]
}
for i in $(seq 8); do summarised && break; sleep 1; done
check "then the runs are passed over again ($READ filters read)" \
	test "$READ" -le $((NFILTERS - 128))

as $AUDITOR audit verify --deep
expect 0 "the log, and every filter, verify"
finish
