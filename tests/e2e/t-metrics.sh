# t-metrics.sh - /v1/metrics for administrators: Prometheus text format, request
# counts by route and status, group-commit batch sizes and commit latency (and
# how many commits the main thread made for requests that came alone, none with
# lone_commit = no), log size, key states and map use; not audited, and refused
# to other roles.
. "$(dirname "$0")/lib.sh"
EXTRA_SETTINGS="checkpoint_seconds = 1" new_registry
for i in 1 2 3; do add_person; done
as $CLERK person get per_0000000000000000000000000a
curl_as $ADMIN GET /v1/metrics
expect_status 200 "an admin reads the metrics"
printf '%s\n' "$OUT" >"$T/metrics.txt"
python3 - "$T/metrics.txt" <<'PY'
import re, sys
sample = re.compile(r'^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="[^"\\]*"(,|(?=\})))*\})? -?[0-9.e+Inf-]+$')
types = {}
for line in open(sys.argv[1]).read().splitlines():
    if not line:
        continue
    if line.startswith("# HELP ") or line.startswith("# TYPE "):
        parts = line.split(" ", 3)
        if parts[1] == "TYPE":
            assert parts[3] in ("counter", "gauge", "histogram"), line
            types[parts[2]] = parts[3]
        continue
    assert sample.match(line), f"not a Prometheus sample: {line!r}"
    name = re.split(r"[{ ]", line)[0]
    base = re.sub(r"_(bucket|sum|count)$", "", name)
    assert name in types or base in types, f"no TYPE for {name}"
for h in ("roster_batch_ops", "roster_commit_seconds"):
    assert types.get(h) == "histogram", h
PY
check "the exposition parses as Prometheus text" test $? = 0
check "creates are counted by route and status" grep -q 'roster_requests_total{route="person.create",status="201"} 3' "$T/metrics.txt"
check "refusals are counted too" grep -q 'roster_requests_total{route="person.read",status="404"} 1' "$T/metrics.txt"
check "batch sizes are reported" grep -q '^roster_batch_ops_count [1-9]' "$T/metrics.txt"
lone=$(awk '$1 == "roster_lone_commits_total" {print $2}' "$T/metrics.txt")
commits=$(awk '$1 == "roster_batch_ops_count" {print $2}' "$T/metrics.txt")
check "requests that came one at a time were committed by the main thread ($lone of $commits commits)" \
	test "${lone:-0}" -ge 1 -a "${lone:-0}" -le "${commits:-0}"
check "commit latency is reported" grep -q '^roster_commit_seconds_bucket{le="+Inf"} [1-9]' "$T/metrics.txt"
check "the log size is reported" grep -q '^roster_audit_entries [1-9]' "$T/metrics.txt"
check "map use is reported" grep -q '^roster_map_bytes{kind="used"} [1-9]' "$T/metrics.txt"
check "journal records are counted" grep -q '^roster_journal_records_total [1-9]' "$T/metrics.txt"
check "journal checkpoints are counted" grep -q '^roster_journal_checkpoints_total [1-9]' "$T/metrics.txt"
check "the journal's use is reported" grep -q '^roster_journal_bytes [1-9]' "$T/metrics.txt"
# (t-crash.sh makes checkpoints run beside the writer and counts them)
check "checkpoints beside the writer and waits for the ring are reported" \
	grep -q '^roster_journal_ring_waits_total 0$' "$T/metrics.txt"
check "... with the checkpoints beside the writer among all of them" python3 -c '
import re, sys
t = open(sys.argv[1]).read()
n = lambda k: int(re.search("^%s ([0-9]+)$" % k, t, re.M).group(1))
sys.exit(not n("roster_journal_checkpoints_beside_total") <= n("roster_journal_checkpoints_total"))' "$T/metrics.txt"
cp_max=$(awk '$1 == "roster_journal_checkpoint_seconds_max" {print $2}' "$T/metrics.txt")
cp_sum=$(awk '$1 == "roster_journal_checkpoint_seconds_total" {print $2}' "$T/metrics.txt")
check "the longest checkpoint is reported, above 0 and within the total ($cp_max of $cp_sum s)" \
	python3 -c 'import sys; m, s = map(float, sys.argv[1:]); sys.exit(not 0 < m <= s)' "$cp_max" "$cp_sum"
# Quiet for checkpoint_seconds, the writer checkpoints the journal: nothing to replay.
for _ in $(seq 40); do
	sleep 0.25
	curl_as $ADMIN GET /v1/metrics
	contains "$OUT" "roster_journal_bytes 0" && break
done
check "a quiet writer checkpoints the journal (within 10 s)" contains "$OUT" "roster_journal_bytes 0"
check "no personal data in metrics" test "$(grep -c -e Müller -e T22000129 "$T/metrics.txt")" = 0
curl_as $CLERK GET /v1/metrics
expect_status 403 "a clerk cannot read metrics"
as $AUDITOR audit tail --n 50
check "metrics scrapes are not audited" test "$(grep '"action":"metrics"' <<<"$OUT" | grep -c '"outcome":"ok"')" = 0
check "a refused scrape is, like every refusal" test "$(grep '"action":"metrics"' <<<"$OUT" | grep -c '"outcome":"denied"')" = 1

# Requests that arrive together still share commits: the main thread commits
# only one that came alone.
c0=$(metric roster_batch_ops_count)
l0=$(metric roster_lone_commits_total)
burst $CLERK 16 GET "/v1/persons/$PID" >"$T/out/codes"
check "16 reads sent at once are answered" test "$(grep -c '^200$' "$T/out/codes")" = 16
c1=$(metric roster_batch_ops_count)
l1=$(metric roster_lone_commits_total)
check "... in shared commits ($((c1 - c0)) commits, $((l1 - l0)) of them lone)" test $((c1 - c0)) -lt 8

# lone_commit = no: the writer thread makes every commit.
stop_daemon
EXTRA_SETTINGS="checkpoint_seconds = 1
lone_commit = no"
write_conf
start_daemon
for i in 1 2 3; do add_person; done
expect 0 "creates with lone_commit = no"
check "... all committed by the writer thread ($(metric roster_lone_commits_total) by the main thread)" \
	test "$(metric roster_lone_commits_total)" = 0
check "... in commits of their own ($(metric roster_batch_ops_count))" test "$(metric roster_batch_ops_count)" -ge 3
finish
