# t-search.sh - blind-index finders and filters, pagination, whole-roster import
# (all or nothing, every bad row named by line and field) and export that
# re-imports to the same records; nothing imported is readable in data.mdb.
. "$(dirname "$0")/lib.sh"
new_registry

# A roster of 3,000 people, with quotes, commas and newlines in cells.
python3 - "$T/out/roster.csv" <<'PY'
import csv, sys
segments = ["upstream", "midstream", "downstream", "cross-cutting"]
expertise = ["metallurgy", "magnet-alloys", "solvent-extraction", "ip-analysis"]
with open(sys.argv[1], "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["name", "name_native", "birth_date", "nationality", "national_id", "employer",
                "site", "segment", "expertise", "education", "research"])
    for i in range(3000):
        w.writerow([f"Worker {chr(65 + i % 26)}{chr(65 + (i // 26) % 26)}-{chr(65 + i // 676)}",
                    "", f"19{60 + i % 40}-0{1 + i % 9}-1{i % 9}", "DE" if i % 3 else "FR",
                    f"NID{i:05d}", f"Employer {i % 5}, GmbH", "", segments[i % 4],
                    ";".join(expertise[: 1 + i % 3]),
                    '{"degree":"MSc","field":"Chemistry","institution":"TU","year":2001}' if i % 7 == 0 else "",
                    'Says "hello",\nand more' if i % 11 == 0 else ""])
PY
as $CLERK person import "$T/out/roster.csv" --dry-run
expect 0 "a dry run validates the roster"
check "a dry run writes nothing" contains "$OUT" "nothing was written"
as $CLERK --json person list --limit 5
check "nothing is stored after a dry run" test "$(field "$OUT" items)" = "[]"

# One bad row among thousands: nothing written, that row named with line and field.
python3 - "$T/out/roster.csv" "$T/out/bad.csv" <<'PY'
import sys
lines = open(sys.argv[1]).read().split("\n")
bad = [l.replace(",FR,", ",XX,", 1).replace(",DE,", ",XX,", 1) if "NID01500" in l else l
       for l in lines]
open(sys.argv[2], "w").write("\n".join(bad))
PY
line=$(grep -n NID01500 "$T/out/bad.csv" | cut -d: -f1)
as $CLERK person import "$T/out/bad.csv"
expect 65 "an import with one bad row is refused"
check "the bad row is named by line and field ($ERR)" contains "$ERR" "line $line: person field 'nationality'"
as $CLERK --json person list --limit 5
check "nothing was written" test "$(field "$OUT" items)" = "[]"

as $CLERK person import "$T/out/roster.csv"
expect 0 "the roster imports in one go"
check "all rows are reported" contains "$OUT" "imported 3000 persons"
as $AUDITOR audit tail --n 3100
check "one audit entry per record created" test "$(grep -c '"action":"person.create"' <<<"$OUT")" = 3000
check "plus one for the import" test "$(grep -c '"action":"person.import"' <<<"$OUT")" -ge 1

# Finders.
as $CLERK --json person find --national-id "nid-01234"
check "find by national id (normalised)" test "$(python3 -c 'import json,sys; print(len(json.loads(sys.argv[1])["items"]))' "$OUT")" = 1
check "finds the right person" contains "$OUT" '"national_id":"NID01234"'
as $CLERK person find --name "  worker  ab-a "
expect 0 "find by name, case and spaces normalised"
check "the found name" contains "$OUT" "Worker AB-A"
as $CLERK --json person find --name "Worker AB-A" --birth-date 1986-09-18
check "name and birth date together" test "$(python3 -c 'import json,sys; print(len(json.loads(sys.argv[1])["items"]))' "$OUT")" = 1
as $CLERK person find --name "Worker AB-A" --birth-date 1999-01-01
expect 1 "no match exits 1"
as $CLERK person find --employer "Employer 1, GmbH"
expect 64 "find needs a national id or a name"
as $CLERK person list --segment sideways
expect 65 "an unknown segment is refused"

count() { # count FILTER-ARGS...: persons matching, all pages
	as $CLERK person list --all --limit 500 "$@"
	grep -c '^per_' <<<"$OUT"
}
check "filter by employer" test "$(count --employer "employer 1, gmbh")" = 600
check "filter by segment" test "$(count --segment midstream)" = 750
check "filter by expertise" test "$(count --expertise solvent-extraction)" = 1000
check "filter by status" test "$(count --status active)" = 3000
check "combined filters" test "$(count --employer "Employer 2, GmbH" --segment downstream --expertise magnet-alloys)" = \
	"$(python3 -c 'print(sum(1 for i in range(3000) if i%5==2 and i%4==2 and i%3>=1))')"

# Pagination across pages: every match once.
ids=()
after=
while :; do
	as $CLERK --json person list --segment upstream --limit 100 ${after:+--after "$after"}
	ids+=($(python3 -c 'import json,sys; print(" ".join(p["id"] for p in json.loads(sys.argv[1])["items"]))' "$OUT"))
	after=$(field "$OUT" next)
	[ "$after" = None ] && break
done
check "paged filter returns all 750" test "${#ids[@]}" = 750
check "paged filter returns each once" test "$(printf '%s\n' "${ids[@]}" | sort -u | wc -l)" = 750

# Duplicates: within a file, and against the registry.
printf 'name,birth_date,nationality,employer,segment,expertise,national_id\nA B,1980-01-01,DE,E,upstream,metallurgy,DUP1\nC D,1980-01-01,DE,E,upstream,metallurgy,dup-1\n' >"$T/out/dup.csv"
as $CLERK person import "$T/out/dup.csv"
expect 65 "a national id twice in one file is refused"
check "the repeat is named" contains "$ERR" "line 3: person field 'national_id' repeats row 0"
printf 'name,birth_date,nationality,employer,segment,expertise,national_id\nA B,1980-01-01,DE,E,upstream,metallurgy,NID00007\n' >"$T/out/dup2.csv"
as $CLERK person import "$T/out/dup2.csv"
expect 65 "a national id already in the registry is refused"
check "and named" contains "$ERR" "line 2: person field 'national_id'"

# Rosters as spreadsheets save them: Latin-1 is refused by line and column (it
# was counted as a missing cell), a byte order mark is not part of the header,
# and a column named twice is refused rather than the second cell winning.
H='name,birth_date,nationality,employer,segment,expertise'
printf '%s\nAna M\xfcller,1980-01-01,DE,E,upstream,metallurgy\n' "$H" >"$T/out/latin1.csv"
as $CLERK person import "$T/out/latin1.csv"
expect 65 "a Latin-1 roster is refused"
check "its line and column are named ($ERR)" contains "$ERR" "line 2: column 'name' is not UTF-8 text: save the file as UTF-8"
check "the summary says the file has errors" contains "$ERR" "the file has errors: nothing was sent"
printf 'na\xefme,birth_date\nx,1980-01-01\n' >"$T/out/latin1h.csv"
as $CLERK person import "$T/out/latin1h.csv"
expect 65 "a header that is not UTF-8 is refused"
check "as such ($ERR)" contains "$ERR" "line 1: the header is not UTF-8 text"
printf '%s,name\nA B,1980-01-01,DE,E,upstream,metallurgy,C D\n' "$H" >"$T/out/twice.csv"
as $CLERK person import "$T/out/twice.csv"
expect 65 "a column named twice is refused"
check "and named ($ERR)" contains "$ERR" "line 1: column named twice: name"
printf '\xef\xbb\xbf%s\r\nBom Person,1980-01-01,DE,E,upstream,metallurgy\r\n' "$H" >"$T/out/bom.csv"
as $CLERK person import "$T/out/bom.csv" --dry-run
expect 0 "a CSV with a byte order mark and CRLF lines is read"
check "its row counted" contains "$OUT" "1 rows are valid"
printf '\xef\xbb\xbf{"name":"Bom Person","birth_date":"1980-01-01","nationality":"DE","employer":"E","segment":"upstream","expertise":["metallurgy"]}\n' >"$T/out/bom.jsonl"
as $CLERK person import "$T/out/bom.jsonl" --dry-run
expect 0 "JSON lines with a byte order mark are read"
as $CLERK --json person find --name "Bom Person"
check "dry runs stored nothing" test "$(field "$OUT" items)" = "[]"
as $CLERK person add --name "Same Id" --birth-date 1980-01-01 --nationality DE --employer E --segment upstream --expertise metallurgy --national-id "nid 00007"
expect 65 "adding a duplicate national id gets 409"
as $CLERK person list --national-id NID00007 --all
PID=$(grep -o '^per_[a-z0-9]*' <<<"$OUT")
as $CLERK --json person get "$PID"
v=$(field "$OUT" version)
as $CLERK person update "$PID" --version "$v" --national-id NID00008
expect 65 "updating to a taken national id gets 409"
as $CLERK --json person update "$PID" --version "$v" --national-id NEW-7
expect 0 "updating to a free national id"
as $CLERK --json person find --national-id NID00007
check "the old national id no longer finds it" test "$(field "$OUT" items)" = "[]"
as $CLERK person find --national-id new7
expect 0 "the new one does"

# Documents: find by number and country; unique.
as $CLERK --json doc add --person "$PID" --type passport --number "C01X-00T47" --country DE --expires 2031-01-01
expect 0 "register a passport"
as $CLERK doc find --number c01x00t47 --country DE
expect 0 "find a document by number (normalised) and country"
as $CLERK doc find --number C01X00T47 --country FR
expect 1 "another country is another document"
as $CLERK doc add --person "$PID" --type passport --number C01X00T47 --country DE --expires 2032-01-01
expect 65 "the same number and country twice gets 409"
check "the refusal names the clash" contains "$ERR" "already has this number"

# Export, and re-import into a fresh registry: the same records.
as $CLERK person export --format csv --output "$T/out/export.csv"
expect 0 "export as CSV"
as $CLERK person export --format jsonl --output "$T/out/export.jsonl"
as $AUDITOR audit tail --n 100
check "the export's reads are audited" contains "$OUT" '"action":"person.list"'
stop_daemon
mv "$T/data" "$T/data.first"
mv "$T/master.key" "$T/master.first"
"$ROSTERD" init -c "$CONF" 2>>"$T/rosterd.log"
start_daemon
as $CLERK person import "$T/out/export.csv"
expect 0 "the CSV export re-imports into a fresh registry"
as $CLERK person export --format jsonl --output "$T/out/again.jsonl"
check "and exports to the same records" cmp -s <(sort "$T/out/export.jsonl") <(sort "$T/out/again.jsonl")
check "3000 records made the round trip ($(wc -l <"$T/out/again.jsonl"))" test "$(wc -l <"$T/out/again.jsonl")" = 3000

# Nothing imported lies in data.mdb in plaintext.
stop_daemon
mdb_dump -a "$T/data" >"$T/dump.txt"
for secret in "Worker AB-A" "worker ab-a" "NID01234" "Employer 1, GmbH" "employer 1, gmbh" "1986-09-18" "hello"; do
	check "mdb_dump shows no '$secret'" test "$(grep -c -F "$secret" "$T/dump.txt")" = 0
	check "data.mdb holds no '$secret'" test "$(grep -c -a -F "$secret" "$T/data/data.mdb")" = 0
done
finish
