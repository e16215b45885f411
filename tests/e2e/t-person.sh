# t-person.sh - clerks record, read, update and list persons; every kind of bad
# input gets its error and changes nothing.
. "$(dirname "$0")/lib.sh"
new_registry

add_person
expect 0 "clerk adds a person from a JSON document"
check "new person gets an id" contains "$PID" per_
check "version starts at 1" test "$(field "$OUT" version)" = 1
check "status defaults to active" test "$(field "$OUT" status)" = active

as $CLERK person add --name "Li Wei" --birth-date 1985-11-02 --nationality CN --employer "Acme Magnets" \
	--segment midstream --expertise metallurgy,process-control --education '{"degree":"MSc","field":"Chemistry","institution":"CSU","year":2010}'
expect 0 "clerk adds a person from flags"
check "human output names fields" contains "$OUT" "expertise:    metallurgy, process-control"

as $CLERK person get "$PID"
expect 0 "clerk reads a person"
check "person shows native name" contains "$OUT" "Анна Мюллер"
as $APPROVER --json person get "$PID"
expect 0 "approver reads a person"
check "json get is the record" test "$(field "$OUT" name)" = "Ana Müller"

# Updates: only the given fields, only at the expected version.
as $CLERK --json person update "$PID" --version 1 --site "Plant 3" --status departed
expect 0 "update at the current version"
check "update bumps version" test "$(field "$OUT" version)" = 2
check "update changes the field" test "$(field "$OUT" site)" = "Plant 3"
check "update keeps other fields" test "$(field "$OUT" employer)" = "Acme Magnets"
as $CLERK person update "$PID" --version 1 --site "Plant 9"
expect 65 "stale version is refused"
check "stale version message says what to do" contains "$ERR" "read it again"
as $CLERK --json person update "$PID" --version 2 --unset site
expect 0 "unset an optional field"
check "unset removes it" test "$(field "$OUT" site)" = None
as $CLERK person update "$PID" --version 3 --unset name
expect 65 "a required field cannot be unset"
as $CLERK person update "$PID" --site X
expect 64 "update without --version is a usage error"
as $CLERK person update "$PID" --version 3 --nationality XX
expect 65 "update with a bad value"
as $CLERK --json person get "$PID"
check "refused updates changed nothing" test "$(field "$OUT" version)" = 3
check "refused updates left nationality" test "$(field "$OUT" nationality)" = DE

# Bad input of each kind: exit 65 with the field named, and nothing stored.
before=$(log_size)
as $CLERK --json person list --limit 500
count_before=$(python3 -c 'import json,sys; print(len(json.loads(sys.argv[1])["items"]))' "$OUT")
bad_inputs=(
	'name|{"birth_date":"1980-01-01","nationality":"DE","employer":"E","segment":"upstream","expertise":["metallurgy"]}'
	'birth_date|{"name":"A B","birth_date":"1980-02-30","nationality":"DE","employer":"E","segment":"upstream","expertise":["metallurgy"]}'
	'birth_date|{"name":"A B","birth_date":"2999-01-01","nationality":"DE","employer":"E","segment":"upstream","expertise":["metallurgy"]}'
	'nationality|{"name":"A B","birth_date":"1980-01-01","nationality":"ZZ","employer":"E","segment":"upstream","expertise":["metallurgy"]}'
	'segment|{"name":"A B","birth_date":"1980-01-01","nationality":"DE","employer":"E","segment":"space","expertise":["metallurgy"]}'
	'expertise|{"name":"A B","birth_date":"1980-01-01","nationality":"DE","employer":"E","segment":"upstream","expertise":["baking"]}'
	'expertise|{"name":"A B","birth_date":"1980-01-01","nationality":"DE","employer":"E","segment":"upstream","expertise":"metallurgy"}'
	'name|{"name":"Анна","birth_date":"1980-01-01","nationality":"DE","employer":"E","segment":"upstream","expertise":["metallurgy"]}'
	'employer|{"name":"A B","birth_date":"1980-01-01","nationality":"DE","employer":"","segment":"upstream","expertise":["metallurgy"]}'
	'id|{"id":"per_x","name":"A B","birth_date":"1980-01-01","nationality":"DE","employer":"E","segment":"upstream","expertise":["metallurgy"]}'
	'version|{"version":7,"name":"A B","birth_date":"1980-01-01","nationality":"DE","employer":"E","segment":"upstream","expertise":["metallurgy"]}'
	'shoe_size|{"shoe_size":44,"name":"A B","birth_date":"1980-01-01","nationality":"DE","employer":"E","segment":"upstream","expertise":["metallurgy"]}'
	'education|{"education":[{"degree":"PhD"}],"name":"A B","birth_date":"1980-01-01","nationality":"DE","employer":"E","segment":"upstream","expertise":["metallurgy"]}'
)
for case in "${bad_inputs[@]}"; do
	fieldname=${case%%|*}
	as $CLERK person add -f - <<<"${case#*|}"
	expect 65 "bad $fieldname is rejected"
	check "error for bad $fieldname names the field" contains "$ERR" "$fieldname"
done
curl_as $CLERK POST /v1/persons '{"name": "A B", '
expect_status 400 "malformed JSON gets 400"
check "malformed JSON error is JSON" contains "$OUT" '"code":"bad_json"'
curl_as $CLERK POST /v1/persons '["not","an","object"]'
expect_status 400 "a JSON array body gets 400"
curl_as $CLERK POST /v1/persons '{"name":"A","name":"B"}'
expect_status 400 "duplicate keys get 400"
big=$(python3 -c 'print("{\"research\":\"" + "x"*1100000 + "\"}")')
curl_as $CLERK POST /v1/persons "$big"
expect_status 413 "an oversized body gets 413"
curl_as $CLERK POST /v1/persons/per_x ''
expect_status 405 "wrong method gets 405"
curl_as $CLERK GET /v1/nowhere
expect_status 404 "unknown path gets 404"
curl_as $CLERK GET '/v1/persons?limit=0'
expect_status 400 "bad limit gets 400"
as $CLERK person add -f /nonexistent.json
expect 64 "unreadable input file is a usage error"
as $CLERK person add --shoe-size 44
expect 64 "unknown flag is a usage error"
as $CLERK --json person list --limit 500
check "no bad input created a person" test \
	"$(python3 -c 'import json,sys; print(len(json.loads(sys.argv[1])["items"]))' "$OUT")" = "$count_before"
after=$(log_size)
check "each refused request still left an audit entry ($before -> $after)" test $((after - before)) -ge 20

as $CLERK person get per_0000000000000000000000000a
expect 1 "missing person exits 1"
as $CLERK person get ../../etc
expect 1 "a non-id exits 1"

# Pagination: 7 more persons, pages of 3, each id exactly once.
for i in 1 2 3 4 5 6 7; do
	as $CLERK person add --name "Person $(printf "\\x$((40 + i))")" --birth-date 1990-01-0$i --nationality FR --employer E \
		--segment upstream --expertise geology-mineralogy
done
ids=()
after=
while :; do
	as $CLERK --json person list --limit 3 ${after:+--after "$after"}
	page=$(python3 -c 'import json,sys; print(" ".join(p["id"] for p in json.loads(sys.argv[1])["items"]))' "$OUT")
	ids+=($page)
	after=$(field "$OUT" next)
	[ "$after" = None ] && break
done
check "paging returns all 9 persons" test "${#ids[@]}" = 9
check "paging returns each once" test "$(printf '%s\n' "${ids[@]}" | sort -u | wc -l)" = 9
as $CLERK person list --all --limit 2
check "--all follows every page" test "$(grep -c '^per_' <<<"$OUT")" = 9

# curl is a second client out of the box.
curl_as $CLERK GET "/v1/persons/$PID"
expect_status 200 "curl reads a person"
check "curl gets JSON" contains "$OUT" '"name":"Ana Müller"'

# The daemon's socket gone: exit 69 with a hint.
as $CLERK -s "$T/nope.sock" status
expect 69 "unreachable daemon exits 69"
check "unreachable message helps" contains "$ERR" "ROSTER_SOCKET"
check "and says there is no socket there" contains "$ERR" "there is no socket there"
python3 -c 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$T/stale.sock"
chmod 666 "$T/stale.sock"
as $CLERK -s "$T/stale.sock" status
expect 69 "a socket nothing listens on exits 69"
check "saying rosterd is not running ($ERR)" contains "$ERR" "nothing listens on it"
# An account outside the socket's group is told so, not to start rosterd.
chmod 660 "$SOCK"
as $CLERK status
expect 77 "an account that may not open the socket exits 77"
check "naming the socket's mode and group ($ERR)" contains "$ERR" "permission denied on rosterd's socket $SOCK (mode 660, group root)"
chmod 666 "$SOCK"
as $CLERK status
expect 0 "and gets through once it may"
as $CLERK person
expect 64 "noun without verb is a usage error"
as $CLERK person get
expect 64 "get without id is a usage error"
finish
