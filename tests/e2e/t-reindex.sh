# t-reindex.sh - index key rotation online (daemon/reindex.c): the walk runs in
# slices between client requests; finds and lists answer right at every point;
# what clients write during the walk is indexed under both keys; afterwards each
# index holds every record's entries under the new key alone (counted in
# data.mdb); kill -9 mid-walk resumes; the old key is retired, wiped and audited.
. "$(dirname "$0")/lib.sh"
EXTRA_SETTINGS="reencrypt_batch = 1" new_registry

python3 - "$T/out/roster.csv" <<'PY'
import csv, sys
with open(sys.argv[1], "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["name", "birth_date", "nationality", "national_id", "employer", "segment",
                "expertise"])
    for i in range(3000):
        w.writerow([f"Walker {chr(65 + i // 676)}{chr(97 + i // 26 % 26)}{chr(97 + i % 26)}", f"19{60 + i % 40}-0{1 + i % 9}-1{i % 9}", "DE",
                    f"RX{i:05d}", f"Employer {i % 50}", "upstream",
                    "metallurgy;ip-analysis" if i % 2 else "metallurgy"])
PY
as $CLERK person import "$T/out/roster.csv"
expect 0 "a roster of 3,000 imported"
add_person
for n in 1 2 3 4 5 6; do
	as $CLERK --json doc add --person "$PID" --type passport --number "RP$n" --country DE --expires 2031-01-01
	DOCS[$n]=$(field "$OUT" id)
	[ $n -le 3 ] && as $CLERK doc custody "${DOCS[$n]}" surrender --to employer
done
as $CLERK --json travel request --person "$PID" --destinations FR --depart 2027-01-01 --return 2027-01-02 --purpose x
TID=$(field "$OUT" id)

# Entries of each index, read from data.mdb with the daemon stopped.
counts() {
	for db in person_idx doc_idx doc_by_state travel_by_state; do
		printf '%s=%s ' $db "$(mdb_stat -s $db "$T/data" | awk '/Entries:/ {print $2}')"
	done
}
stop_daemon
before=$(counts)
start_daemon

# Finders run throughout: every find must find (a snapshot paired with the other
# key, or a slice that lost an entry, would come back empty).
finder() {
	for _ in $(seq 150); do
		ctl $CLERK --json person find --national-id RX00123 >"$T/out/find.json" 2>>"$T/out/find.err" ||
			echo "find failed" >>"$T/out/find.err"
		grep -q '"national_id":"RX00123"' "$T/out/find.json" || echo "find missed" >>"$T/out/find.err"
		ctl $CLERK --json person list --employer "Employer 3" --limit 100 >"$T/out/emp.json" 2>>"$T/out/find.err"
		[ "$(grep -o '"id":"per_' "$T/out/emp.json" | wc -l)" = 60 ] ||
			echo "employer find missed" >>"$T/out/find.err"
		ctl $CLERK --json doc list --custody employer >"$T/out/custody.json" 2>>"$T/out/find.err"
		[ "$(grep -o '"id":"doc_' "$T/out/custody.json" | wc -l)" -ge 2 ] ||
			echo "custody list missed" >>"$T/out/find.err"
	done
}
finder &
FINDER=$!
client_load 20 # 20 persons, six index entries each
as $ADMIN key rotate index
expect 0 "admin rotates the index key"
check "the reply says the new key is being built" contains "$OUT" "index key 2 added"
as $ADMIN key rotate index
expect 65 "a second index rotation waits for the first"
check "saying why" contains "$ERR" "still being"
# Writes while the walk runs: a rename, custody moves, a decision.
as $CLERK --json person find --national-id RX00007
P7=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["items"][0]["id"])' "$OUT")
as $CLERK --json person get "$P7"
as $CLERK person update "$P7" --name "Renamed Walker" --version "$(field "$OUT" version)"
expect 0 "a person renamed during the walk"
as $CLERK doc custody "${DOCS[4]}" surrender --to authority
as $CLERK doc custody "${DOCS[1]}" release
as $APPROVER travel approve "$TID"
as $ADMIN --json key status
check "key status shows the key being built or retired" python3 -c '
import json, sys
keys = [k for k in json.loads(sys.argv[1])["keys"] if k["kind"] == "index"]
states = {k["id"]: k["state"] for k in keys}
assert states in ({1: "active", 2: "building"}, {2: "active", 1: "retiring"}, {2: "active"}), states
for k in keys:
    if k["state"] != "active":
        assert 0 <= k["walked"] <= k["of"] and k["of"] > 3000, k' "$OUT"
curl_as $ADMIN GET /v1/progress
check "the writes above landed mid-walk ($(field "$OUT" reindex))" test "$(field "$OUT" reindex)" != None
wait $CLIENT
wait $FINDER
check "no client request failed during the walk" test ! -e "$T/out/client.err"
check "every find during the walk found its records" test ! -s "$T/out/find.err"
for _ in $(seq 200); do
	curl_as $ADMIN GET /v1/progress
	[ "$(field "$OUT" reindex)" = None ] && break
	sleep 0.05
done
check "the walk ends" test "$(field "$OUT" reindex)" = None
curl_as $ADMIN GET /v1/metrics
slices=$(sed -n 's/^roster_walk_slices_total //p' <<<"$OUT")
check "metrics count the walk's slices, one record each here ($slices)" \
	test "${slices:-0}" -ge $((2 * 3000)) -a "$(sed -n 's/^roster_walk_slice_records //p' <<<"$OUT")" = 1
check "and the time they held the writer" grep -Eq '^roster_walk_slice_seconds_total [0-9]+\.[0-9]*[1-9]' <<<"$OUT"
as $ADMIN --json key status
check "key 2 alone remains" python3 -c '
import json, sys
states = [(k["id"], k["state"]) for k in json.loads(sys.argv[1])["keys"] if k["kind"] == "index"]
assert states == [(2, "active")], states' "$OUT"

as $CLERK --json person find --name "Renamed Walker"
check "the rename during the walk is found by its new name" contains "$OUT" "$P7"
as $CLERK --json person find --name "Walker Aah"
check "and no longer by its old one" test "$(field "$OUT" items)" = "[]"
as $CLERK --json person find --name "Background Person" --limit 100
check "persons created during the walk are found" test "$(grep -o '"id":"per_' <<<"$OUT" | wc -l)" = 20
as $CLERK --json doc list --custody authority
check "a custody move during the walk is listed" contains "$OUT" "${DOCS[4]}"
as $CLERK --json doc list --custody employer
check "and a release leaves the list it left" test "$(grep -o '"id":"doc_' <<<"$OUT" | wc -l)" = 2
as $CLERK --json travel list --status approved
check "a decision during the walk is listed" contains "$OUT" "$TID"
as $CLERK person add --name X --birth-date 1980-01-01 --nationality DE --employer E \
	--segment upstream --expertise metallurgy --national-id RX00123
expect 65 "a national id stays unique under the new key"

stop_daemon
after=$(counts)
expected=$(python3 -c '
import sys
c = dict(kv.split("=") for kv in sys.argv[1].split())
c["person_idx"] = int(c["person_idx"]) + 20 * 6
print(" ".join(f"{k}={c[k]}" for k in ("person_idx", "doc_idx", "doc_by_state", "travel_by_state")) + " ")' "$before")
check "each index holds its records once, under the new key alone ($after)" test "$after" = "$expected"
check "the old key's wrapped copy is gone" test "$("$TAMPER" "$T/data" keys keys | grep -c "$(printf 'index:1' | od -An -tx1 | tr -d ' \n')")" = 0
start_daemon
as $AUDITOR audit tail --n 10000
check "the old key's retirement is audited" contains "$OUT" '"action":"key.retire"'
check "the log says when each phase ended" grep -q "index key 1 retired and wiped" "$T/rosterd.log"

# kill -9 in the walk, in either phase: the restart resumes it and it finishes
# (ROUNDS=N for more than the 4 kills CI makes).
ROUNDS=${ROUNDS:-4}
for round in $(seq "$ROUNDS"); do
	id=$((round + 2))
	as $ADMIN key rotate index
	[ "$RC" = 0 ] || bad "index rotation $id did not start: $ERR"
	sleep "$((RANDOM % 2)).$((RANDOM % 10))" # the two walks take a few seconds
	kill -9 "$DPID"
	wait "$DPID" 2>/dev/null
	DPID=
	start_daemon
	as $ADMIN --json key status
	grep -q '"state":"building"' <<<"$OUT" && building=$((${building:-0} + 1))
	grep -q '"state":"retiring"' <<<"$OUT" && retiring=$((${retiring:-0} + 1))
	for _ in $(seq 200); do
		curl_as $ADMIN GET /v1/progress
		[ "$(field "$OUT" reindex)" = None ] && break
		sleep 0.05
	done
	as $CLERK --json person find --national-id RX00123
	check "after kill -9 in rotation $id finds still find" contains "$OUT" '"name":"Walker Aet"'
done
check "kills landed mid-walk" test $((${building:-0} + ${retiring:-0})) -ge 1
echo "kills mid-walk: ${building:-0} building, ${retiring:-0} retiring, of $ROUNDS"
stop_daemon
check "after the interrupted rotations each index still holds its records once" test "$(counts)" = "$expected"
start_daemon
as $ADMIN --json key status
check "the last key alone remains" python3 -c '
import json, sys
states = [(k["id"], k["state"]) for k in json.loads(sys.argv[1])["keys"] if k["kind"] == "index"]
assert states == [(int(sys.argv[2]), "active")], states' "$OUT" $((ROUNDS + 2))

# A rotation refused in a transaction (a walk runs) leaves the next rotation in
# that transaction free to go; before, it got the 409 as well.
as $ADMIN key rotate index
expect 0 "a last index rotation starts"
writer_busy 20000
burst $ADMIN 1 POST /v1/keys/rotate '{"kind":"index"}' >"$T/out/codes.i" &
refused=$!
sleep 0.1
burst $ADMIN 1 POST /v1/keys/rotate '{"kind":"signing"}' >"$T/out/codes.s" &
wait $refused $! $BUSY
check "an index rotation refused mid-walk ($(cat "$T/out/codes.i")) lets a signing rotation sent with it go ($(cat "$T/out/codes.s"))" \
	test "$(cat "$T/out/codes.i" "$T/out/codes.s" | tr '\n' ' ')" = "409 200 "
# The walks below go over the imports' 40,000 persons as well: in slices of the
# default size from here (a restart resumes the walk above where it still runs),
# since one-record commits would take minutes.
stop_daemon
EXTRA_SETTINGS= write_conf
start_daemon
as $ADMIN key status --wait
expect 0 "after a restart with the default slices the walk ends"

# Rotations sent at once while the writer is busy with an import, so that they
# share one transaction: one starts, the others are refused (the first one's key
# is installed only once that transaction commits; a second one in it stopped all
# writing before).
writer_busy 20000
burst $ADMIN 8 POST /v1/keys/rotate '{"kind":"index"}' >"$T/out/codes"
wait $BUSY
check "the import went through ($(tail -1 "$T/out/busy.out"))" grep -q "imported 20000" "$T/out/busy.out"
check "of eight rotations sent at once one starts ($(tr '\n' ' ' <"$T/out/codes"))" \
	test "$(grep -c '^200$' "$T/out/codes")" = 1
check "the seven others are refused" test "$(grep -c '^409$' "$T/out/codes")" = 7
as $ADMIN key status --wait
check "and one key ends active" test "$(grep -c '^index  *[0-9]' <<<"$OUT")" = 1

# --wait stays until both phases are done; a terminal gets a bar.
as_tty $ADMIN key rotate index --wait
expect 0 "rotate index --wait"
check "a bar is drawn" contains "$OUT" "re-indexing"
as $ADMIN --json key status
check "--wait returns once the old key is retired" test "$(grep -o '"kind":"index"' <<<"$OUT" | wc -l)" = 1
as $ADMIN key rotate index --wait
expect 0 "rotate index --wait without a terminal"
check "it says the rotation is done" contains "$OUT" "index key rotation done"
as $ADMIN key rotate index
as $ADMIN key status --wait
expect 0 "key status --wait, a rotation running"
check "it waits for the rotation and says so" contains "$OUT" "index key rotation done"
check "then lists one index key" test "$(grep -c '^index  *[0-9]' <<<"$OUT")" = 1
as $ADMIN key status --wait
check "with nothing running it only lists the keys" test "$(grep -c 'done' <<<"$OUT")" = 0
curl_as $ADMIN GET /v1/metrics
check "metrics report no index walk running" contains "$OUT" 'roster_reindex_records{kind="phase"} 0'
as $AUDITOR audit verify --deep
expect 0 "the log verifies --deep after the rotations"

finish
