# t-auditfind.sh - `rosterctl audit find`: an auditor asks the log who touched a
# person (created, read, refused a read, listed it) and gets exactly those
# entries, byte for byte as `audit export` prints them; by account (name or
# uid), action, outcome and time span; from the live log and from an export file
# with no daemon; bad filters and a damaged export are refused; other roles may
# not ask.
. "$(dirname "$0")/lib.sh"
new_registry
add_person
P1=$PID
add_person
P2=$PID
as $CLERK --json person get "$P1"
expect 0 "a clerk reads the first person"
as $NOBODY --json person get "$P1"
expect 77 "an account without a role is refused the same read"
as $CLERK --json person list --limit 5
expect 0 "a clerk lists persons (both in the page)"
as $CLERK2 --json person get "$P2"
expect 0 "another clerk reads the second person"
# The first person's passport and trip: entries of their own ids, naming the person.
as $CLERK --json doc add --person "$P1" --type passport --number F01X00T47 --country DE --expires 2031-05-01
expect 0 "a clerk registers the first person's passport"
DID=$(field "$OUT" id)
as $CLERK doc custody "$DID" surrender --to employer --custodian "HR safe"
expect 0 "and surrenders it"
as $CLERK --json doc get "$DID"
expect 0 "and reads it"
as $CLERK --json travel request --person "$P1" --destinations FR --depart 2031-01-01 --return 2031-01-05 --purpose "Trade fair"
expect 0 "a clerk files a trip for the first person"
TID=$(field "$OUT" id)
as $APPROVER --json travel get "$TID"
expect 0 "an approver reads it"
as $APPROVER travel approve "$TID"
expect 0 "and approves it"
as $CLERK --json doc add --person "$P2" --type passport --number F02X00T47 --country DE --expires 2031-05-01
expect 0 "a passport for the second person"

as $AUDITOR audit export
expect 0 "the auditor exports the log"
printf '%s\n' "$OUT" >"$T/out/export.jsonl"
chmod 644 "$T/out/export.jsonl"

# What the export says about P1, worked out here from the export itself.
expected() { # expected FILE PYTHON-CONDITION-ON-e: the matching lines of FILE
	python3 - "$1" "$2" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    line = line.rstrip("\n")
    if not line:
        continue
    e = json.loads(line)
    if eval(sys.argv[2]):
        print(line)
PY
}
want=$(entries_naming "$T/out/export.jsonl" "$P1")

as $AUDITOR audit find --target "$P1" --export "$T/out/export.jsonl"
expect 0 "find --target in an export file"
check "gives exactly the export's entries naming the person" test "$OUT" = "$want"
actions=$(printf '%s\n' "$OUT" | python3 -c 'import json,sys; print(" ".join(sorted(json.loads(l)["action"] + "/" + json.loads(l)["outcome"] for l in sys.stdin)))')
check "its create, reads (one refused), list page, passport and trip ($actions)" \
	test "$actions" = "document.create/ok document.custody/ok document.read/ok person.create/ok person.list/ok person.read/denied person.read/ok travel.create/ok travel.decide/ok travel.read/ok"
for id in "$DID" "$TID"; do
	check "the entries of $id name the person" \
		test "$(printf '%s\n' "$OUT" | grep "\"target\":\"$id\"" | grep -vc "\"person\":\"$P1\"")" = 0
done
check "not the other person's" test "$(printf '%s\n' "$OUT" | grep -c "\"target\":\"$P2\"")" = 0

as $AUDITOR audit find --target "$P1"
expect 0 "find --target on the live log"
check "the same entries (the later ones are the auditor's own reads, which name no person)" \
	test "$OUT" = "$want"
check "each line byte for byte as exported" \
	test "$(printf '%s\n' "$OUT" | grep -cxFf "$T/out/export.jsonl")" = "$(printf '%s\n' "$want" | wc -l)"
as $AUDITOR audit tail --n 2
check "the question's own entry records what was asked, and names no record itself" \
	python3 -c 'import json,sys; e=json.loads(sys.argv[1]); sys.exit(0 if e["action"] == "audit.read" and e["actor"]["uid"] == int(sys.argv[3]) and e["target"] == "" and e["query"]["target"] == sys.argv[2] and e["query"]["from"] == 0 and set(e["query"]) == {"target", "from", "limit"} else 1)' \
	"$(sed -n 1p <<<"$OUT")" "$P1" "$AUDITOR"

user=$(printf '%s\n' "$want" | python3 -c 'import json,sys; print([json.loads(l)["actor"]["user"] for l in sys.stdin][0])')
by_clerk="e['actor']['uid'] == $CLERK"
as $AUDITOR audit find --actor "uid:$CLERK" --export "$T/out/export.jsonl"
check "find --actor uid:N: the first clerk's entries" test "$OUT" = "$(expected "$T/out/export.jsonl" "$by_clerk")"
as $AUDITOR audit find --actor "$user" --export "$T/out/export.jsonl"
check "find --actor NAME ($user): the same" test "$OUT" = "$(expected "$T/out/export.jsonl" "e['actor']['user'] == '$user'")"
as $AUDITOR audit find --action person.read --outcome denied --export "$T/out/export.jsonl"
check "find --action --outcome: the one refused read" \
	test "$OUT" = "$(expected "$T/out/export.jsonl" "e['action'] == 'person.read' and e['outcome'] == 'denied'")"
check "of the first person" contains "$OUT" "\"target\":\"$P1\""
check "by the account without a role" contains "$OUT" "\"uid\":$NOBODY"
as $AUDITOR audit find --target "$P1" --actor "uid:$CLERK2" --export "$T/out/export.jsonl"
expect 1 "filters combine: the second clerk never touched the first person"
check "and it says how many entries it looked at" contains "$ERR" "none of $(wc -l <"$T/out/export.jsonl") entries matched"

# The days of the second person's first and last entries (a run may cross midnight).
read -r first last < <(expected "$T/out/export.jsonl" "e.get('target') == '$P2'" |
	python3 -c 'import json,sys; d=[json.loads(l)["time"][:10] for l in sys.stdin]; print(d[0], d[-1])')
as $AUDITOR audit find --since "$first" --until "$last" --target "$P2" --export "$T/out/export.jsonl"
check "a span of days (a date covers the whole day) holds the second person's entries" \
	test "$OUT" = "$(expected "$T/out/export.jsonl" "e.get('target') == '$P2' or '$P2' in e.get('targets', []) or e.get('person') == '$P2'")"
as $AUDITOR audit find --until 2000-01-01 --export "$T/out/export.jsonl"
expect 1 "nothing before 2000"
tomorrow=$(date -u -d tomorrow +%FT%TZ)
as $AUDITOR audit find --since "$tomorrow"
expect 1 "nothing from tomorrow on, in the live log"

# The auditor's own questions are on record too, each with what it asked.
as $AUDITOR audit find --actor "uid:$AUDITOR" --action audit.read
expect 0 "the auditor's reads of the log are entries of their own"
check "one for each page read so far, at least" test "$(printf '%s\n' "$OUT" | wc -l)" -ge 3
printf '%s\n' "$OUT" >"$T/out/reads.jsonl"
check "pages of the export record their range; questions their conditions" \
	python3 - "$T/out/reads.jsonl" "$P1" "$tomorrow" <<'PY'
import json, sys
reads = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
pages = [e for e in reads if set(e["query"]) == {"from", "limit"}]
asked = [e["query"] for e in reads if "from" in e["query"] and len(e["query"]) > 2]
ok = (all("query" in e for e in reads) and pages and pages[0]["query"]["from"] == 0 and
      {"target": sys.argv[2], "from": 0} in [{k: q[k] for k in ("target", "from") if k in q} for q in asked] and
      any(q.get("since") == sys.argv[3] for q in asked) and
      any(q.get("actor") == "uid:%d" % reads[0]["actor"]["uid"] and q.get("action") == "audit.read" for q in asked) and
      all(e["target"] == "" for e in reads))
sys.exit(0 if ok else 1)
PY
check "who asked about the first person: the auditor's question" \
	test "$(grep -c "\"query\":{\"from\":0,\"limit\":[0-9]*,\"target\":\"$P1\"}" "$T/out/reads.jsonl")" = 1
as $AUDITOR audit find --asked "$P1"
expect 0 "--asked: the reads of the log whose question named the first person"
check "the auditor's question about them, and nothing else" python3 -c 'import json, sys
es = [json.loads(l) for l in sys.argv[1].splitlines() if l.strip()]
sys.exit(0 if len(es) == 1 and es[0]["action"] == "audit.read" and es[0]["query"]["target"] == sys.argv[2] else 1)' "$OUT" "$P1"
as $AUDITOR audit find --asked "$P1" --export "$T/out/reads.jsonl"
expect 0 "--asked in a file of entries"
check "the same question" test "$(printf '%s\n' "$OUT" | grep -c .)" = 1
as $AUDITOR audit find --asked "$P2"
expect 1 "nobody asked the daemon about the second person (an export was asked)"
check "says so" contains "$ERR" "no read of the log asked about $P2"
as $AUDITOR audit find --asked "$P1" --action person.read
expect 64 "--asked with another action is a usage error"
as $AUDITOR audit find --asked 'a"b'
expect 64 "--asked takes a record id"

# Across pages of the log (10,000 entries each): an import of 10,500 persons is
# 10,500 consecutive person.create entries, every one found once, in order.
import_many 10500 "Pages GmbH"
expect 0 "an import of 10,500 persons"
as $AUDITOR audit find --action person.create --actor "uid:$CLERK"
expect 0 "find every create by the clerk, over two pages and more"
printf '%s\n' "$OUT" >"$T/out/found.jsonl" # too long for one argument
check "each import row's entry once, in order, none missing" python3 - "$T/out/found.jsonl" <<'PY'
import json, sys
seqs = [json.loads(l)["seq"] for l in open(sys.argv[1]) if l.strip()]
run = [s for s in seqs if s >= seqs[-1] - 10499]
sys.exit(0 if len(run) == 10500 and run == list(range(run[0], run[0] + 10500)) and
         len(seqs) == len(set(seqs)) and seqs == sorted(seqs) else 1)
PY

# Bad filters, changing nothing.
size0=$(log_size)
size=$(log_size)
for bad in "--since 2026-13-01" "--until 2026-12-07T24:00:00Z" "--actor uid:x" "--from -1 --target x" \
	"--from 3 --export $T/out/export.jsonl --target x" "--colour blue --target x"; do
	# shellcheck disable=SC2086
	as $AUDITOR audit find $bad
	expect 64 "audit find $bad is a usage error"
done
as $AUDITOR audit find
expect 64 "audit find with no filter is a usage error"
check "pointing at audit export" contains "$ERR" "audit export"
as $AUDITOR audit find --target x --export "$T/out/no-such-file"
expect 64 "a missing export file is a usage error"
check "naming it" contains "$ERR" "cannot read export $T/out/no-such-file"
check "none of them reached the daemon" test "$(log_size)" = "$((2 * size - size0))"
head -n 3 "$T/out/export.jsonl" >"$T/out/damaged.jsonl"
echo '{"action":"person.create","seq":3,"not closed' >>"$T/out/damaged.jsonl"
chmod 644 "$T/out/damaged.jsonl"
as $AUDITOR audit find --action person.create --export "$T/out/damaged.jsonl"
expect 65 "a damaged export is refused"
check "naming the line" contains "$ERR" "line 4 is not an audit entry"

# Every read of the log records what it asked: proofs, checkpoints, and the
# digests and filters verify --deep reads.
as $AUDITOR audit prove 3
expect 0 "an inclusion proof"
as $AUDITOR audit consistency 2 5
expect 0 "a consistency proof"
as $AUDITOR audit verify --deep --state "$T/out/verify.state"
expect 0 "verify --deep"
curl_as $AUDITOR GET "/v1/audit/proof/inclusion?index=9007199254740993"
expect_status 400 "an index past 2^53 is refused"
as $AUDITOR audit tail --n 60
printf '%s\n' "$OUT" >"$T/out/structure.jsonl"
check "each read of the log's structure names what it asked" python3 - "$T/out/structure.jsonl" <<'PY'
import json, sys
es = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
by = {}
for e in es:
    by.setdefault(e["action"], []).append(e)
ok = ({"index": 3} in [e.get("query") for e in by.get("audit.prove", [])] and
      {"old": 2, "new": 5} in [e.get("query") for e in by.get("audit.consistency", [])] and
      all("query" in e for a in ("audit.digests", "audit.filters", "audit.checkpoints", "audit.read")
          for e in by.get(a, []) if e["status"] == 200) and
      all({"from", "limit"} <= set(e["query"]) for e in by.get("audit.filters", [])) and
      by.get("audit.digests") and by.get("audit.filters") and
      [e for e in by.get("audit.prove", []) if e["status"] == 400 and "query" not in e])
sys.exit(0 if ok else 1)
PY

# Only auditors read the log.
for who in $CLERK $ADMIN $APPROVER; do
	as "$who" audit find --target "$P1"
	expect 77 "uid $who (not an auditor) may not search the log"
done
finish
