# t-tamper.sh - an attacker with write access edits data.mdb while the daemon is
# stopped; `audit verify` (or --deep) catches each edit with the right seq and
# reason, and an untouched log verifies clean. Proofs are checked here too, by an
# independent RFC 6962 implementation (Python), against a signed checkpoint.
. "$(dirname "$0")/lib.sh"
: "${TAMPER:?set TAMPER to the roster-tamper binary}"
new_registry
for i in 1 2 3; do add_person; done
as $CLERK --json doc add --person "$PID" --type passport --number P1 --country DE --expires 2031-01-01
DID=$(field "$OUT" id)
cp -a "$T/data" "$T/data.old" # an older copy, for the rollback case (taken live: LMDB allows it)
for i in 1 2 3 4 5; do add_person; done
# Two custody events: each stores a history entry of its own beside the document.
as $CLERK doc custody "$DID" surrender --to employer
as $CLERK doc custody "$DID" release
expect 0 "custody events recorded"
STATE=$T/out/state.json

verify() { # verify [args]: as the auditor, with the baseline state
	cp "$T/state.base" "$STATE" 2>/dev/null
	chmod 666 "$STATE" 2>/dev/null
	as $AUDITOR audit verify --state "$STATE" "$@"
}

as $AUDITOR audit verify --state "$STATE"
expect 0 "first verify of an untouched log (trust on first use)"
check "the state file records the key" grep -q '"vkey"' "$STATE"
as $AUDITOR audit verify --state "$STATE" --deep
expect 0 "an untouched log and its records verify clean with --deep"
check "verify says what it checked" contains "$OUT" "every stored record matches"
cp "$STATE" "$T/state.base"
SIZE=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["size"])' "$STATE")

# Proofs, checked by a second implementation against the signed checkpoint.
as $AUDITOR audit checkpoint --new
printf '%s\n' "$OUT" >"$T/cp.txt"
as $AUDITOR audit pubkey
VKEY=$OUT
N=$(sed -n 2p "$T/cp.txt")
as $AUDITOR audit prove 3 --size "$N"
printf '%s' "$OUT" >"$T/incl.json"
as $AUDITOR audit consistency 5 "$N"
printf '%s' "$OUT" >"$T/cons.json"
python3 - "$T/cp.txt" "$T/incl.json" "$T/cons.json" "$VKEY" <<'PY'
import base64, hashlib, json, sys
note = open(sys.argv[1]).read()
root = base64.b64decode(note.split("\n")[2])
size = int(note.split("\n")[1])
H = lambda *p: hashlib.sha256(b"".join(p)).digest()
def verify_inclusion(i, n, leaf, proof, root):
    fn, sn, r = i, n - 1, leaf
    for p in proof:
        if fn & 1 or fn == sn:
            r = H(b"\1", p, r)
            while not fn & 1 and fn:
                fn >>= 1; sn >>= 1
        else:
            r = H(b"\1", r, p)
        fn >>= 1; sn >>= 1
    return sn == 0 and r == root
incl = json.load(open(sys.argv[2]))
assert incl["size"] == size
assert verify_inclusion(incl["index"], size, bytes.fromhex(incl["leaf_hash"]),
                        [bytes.fromhex(h) for h in incl["hashes"]], root), "inclusion"
cons = json.load(open(sys.argv[3]))
proof = [bytes.fromhex(h) for h in cons["hashes"]]
m, n = cons["old"], cons["new"]
if m & (m - 1) == 0:
    proof = [None] + proof
fn, sn = m - 1, n - 1
while fn & 1:
    fn >>= 1; sn >>= 1
fr = sr = proof[0]
assert fr is not None, "need the old root for a power-of-two size"
for c in proof[1:]:
    if fn & 1 or fn == sn:
        fr = H(b"\1", c, fr); sr = H(b"\1", c, sr)
        while not fn & 1 and fn:
            fn >>= 1; sn >>= 1
    else:
        sr = H(b"\1", sr, c)
    fn >>= 1; sn >>= 1
assert sn == 0 and sr == root, "consistency"
PY
check "inclusion and consistency proofs verify in an independent implementation" test $? = 0

# The signed note verifies offline with the published key and an export.
as $AUDITOR audit export
printf '%s\n' "$OUT" >"$T/out/export.jsonl"
as $AUDITOR audit verify --offline --export "$T/out/export.jsonl" --checkpoint "$T/cp.txt" --pubkey "$VKEY"
expect 0 "offline verify of an export against a checkpoint"
sed -i '4s/"outcome":"ok"/"outcome":"no"/' "$T/out/export.jsonl"
as $AUDITOR audit verify --offline --export "$T/out/export.jsonl" --checkpoint "$T/cp.txt" --pubkey "$VKEY"
expect 1 "offline verify catches an altered export"
check "offline verify names entry 3" contains "$ERR" "entry 3: altered"

stop_daemon
cp -a "$T/data" "$T/data.good"
key() { printf '%016x' "$1"; }
entry_hex() { "$TAMPER" "$T/data" audit get "$(key "$1")"; }
reset() { stop_daemon 2>/dev/null; rm -rf "$T/data"; cp -a "$T/data.good" "$T/data"; }

# 1. One byte of entry 5 changed: a digit of its object digest.
reset_done=0
hex=$(entry_hex 5)
new=$(python3 -c 'import sys; b=bytes.fromhex(sys.argv[1]); i=b.index(b"\"object\":\"")+11; b=b[:i]+(b"1" if b[i:i+1]!=b"1" else b"2")+b[i+1:]; print(b.hex())' "$hex")
"$TAMPER" "$T/data" audit put "$(key 5)" "$new"
start_daemon
verify
expect 1 "one changed byte is caught"
check "it names entry 5 as altered ($ERR)" contains "$ERR" "entry 5: altered"

# 2. The last entries deleted (after a checkpoint covered them): the daemon itself
# refuses to serve, naming them; with the checkpoints deleted too, verify --state
# still finds them missing.
reset
for s in $(seq $((SIZE - 3)) $((SIZE + 40))); do "$TAMPER" "$T/data" audit del "$(key "$s")" 2>/dev/null; done
rosterd_exits 65 "rosterd refuses a log shorter than its checkpoints" \
	"entries $((SIZE - 3)) to" -c "$CONF"
for k in $("$TAMPER" "$T/data" checkpoints keys); do
	[ $((16#$k)) -gt $((SIZE - 3)) ] && "$TAMPER" "$T/data" checkpoints del "$k"
done
start_daemon
verify
expect 1 "deleted last entries are caught"
check "it says entries are missing ($ERR)" contains "$ERR" "missing: log rolled back"

# 3. Two entries swapped.
reset
a=$(entry_hex 4)
b=$(entry_hex 5)
"$TAMPER" "$T/data" audit put "$(key 4)" "$b"
"$TAMPER" "$T/data" audit put "$(key 5)" "$a"
start_daemon
verify
expect 1 "swapped entries are caught"
check "it names entry 4 as reordered ($ERR)" contains "$ERR" "entry 4: reordered"

# 4. A record's ciphertext replaced with another record's: the log is intact, --deep sees it.
reset
mapfile -t pkeys < <("$TAMPER" "$T/data" persons keys)
"$TAMPER" "$T/data" persons put "${pkeys[0]}" "$("$TAMPER" "$T/data" persons get "${pkeys[1]}")"
p0=$(python3 -c 'import sys; print(bytes.fromhex(sys.argv[1]).decode())' "${pkeys[0]}")
start_daemon
verify
expect 0 "a swapped record leaves the log itself intact"
verify --deep
expect 1 "--deep catches a record changed behind the daemon's back"
check "it names the record ($ERR)" contains "$ERR" "record $p0 in persons"

# 4b. A custody history entry's ciphertext replaced with the other's: --deep
# matches history entries to the log too (each custody event names its entry).
reset
mapfile -t ckeys < <("$TAMPER" "$T/data" custody keys)
check "two history entries stored" test "${#ckeys[@]}" = 2
"$TAMPER" "$T/data" custody put "${ckeys[0]}" "$("$TAMPER" "$T/data" custody get "${ckeys[1]}")"
c0=$(python3 -c 'import sys; print(bytes.fromhex(sys.argv[1]).decode())' "${ckeys[0]}")
start_daemon
verify --deep
expect 1 "--deep catches a history entry changed behind the daemon's back"
check "it names the entry ($ERR)" contains "$ERR" "record $c0 in custody"

# 4c. A history entry deleted: the log names it, the store lacks it.
reset
"$TAMPER" "$T/data" custody del "${ckeys[1]}"
c1=$(python3 -c 'import sys; print(bytes.fromhex(sys.argv[1]).decode())' "${ckeys[1]}")
start_daemon
verify
expect 0 "a deleted history entry leaves the log itself intact"
verify --deep
expect 1 "--deep catches a deleted history entry"
check "it names the entry as deleted ($ERR)" contains "$ERR" "record $c1: the log recorded its write"
check "and says deleted ($ERR)" contains "$ERR" "deleted behind the daemon's back"

# 4c'. A role grant written straight into data.mdb (admin for the clerk's uid):
# the log never granted it, and --deep says so.
reset
"$TAMPER" "$T/data" roles put "$(printf '%08x' "$CLERK")" 08
start_daemon
verify --deep
expect 1 "--deep catches a role grant the log never made"
check "it names the grant ($ERR)" contains "$ERR" "record uid:$CLERK in roles"

# 4d. A whole person deleted (records are never deleted through the daemon).
reset
"$TAMPER" "$T/data" persons del "${pkeys[2]}"
p2=$(python3 -c 'import sys; print(bytes.fromhex(sys.argv[1]).decode())' "${pkeys[2]}")
start_daemon
verify --deep
expect 1 "--deep catches a deleted person"
check "it names the person ($ERR)" contains "$ERR" "record $p2: the log recorded its write"

# 5. The whole data dir restored from an older copy: a rollback.
reset
rm -rf "$T/data"
cp -a "$T/data.old" "$T/data"
start_daemon
verify
expect 1 "a restored older copy is caught"
check "it says rolled back ($ERR)" contains "$ERR" "rolled back"

# 6. A stored checkpoint's signature altered.
reset
ckey=$("$TAMPER" "$T/data" checkpoints keys | head -n1)
note=$("$TAMPER" "$T/data" checkpoints get "$ckey")
"$TAMPER" "$T/data" checkpoints put "$ckey" "$(python3 -c 'import sys; b=bytearray(bytes.fromhex(sys.argv[1])); b[-5]^=1; print(b.hex())' "$note")"
start_daemon
verify
expect 1 "an altered checkpoint signature is caught"
check "it says bad signature ($ERR)" contains "$ERR" "bad signature"

# 7. History rewritten from entry 3 on with the chain recomputed: only the roots tell.
reset
python3 - "$TAMPER" "$T/data" "$SIZE" <<'PY'
import hashlib, json, subprocess, sys
tamper, data, size = sys.argv[1], sys.argv[2], int(sys.argv[3])
keys = subprocess.run([tamper, data, "audit", "keys"], capture_output=True, text=True).stdout.split()
prev = None
for k in keys:
    seq = int(k, 16)
    raw = bytes.fromhex(subprocess.run([tamper, data, "audit", "get", k], capture_output=True, text=True).stdout.strip())
    if seq >= 3:
        e = json.loads(raw)
        if seq == 3:
            e["outcome"] = "rejected"
        e["prev"] = prev
        raw = json.dumps(e, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
        subprocess.run([tamper, data, "audit", "put", k, raw.hex()], check=True)
    prev = hashlib.sha256(b"\0" + raw).hexdigest()
PY
start_daemon
verify
expect 1 "a rewritten history with a recomputed chain is caught"
check "it says forked or rewritten ($ERR)" contains "$ERR" "forked or was rewritten"

# 8. Digests for --deep come a page at a time (5,000 a page from rosterctl), so a
# large registry's check never holds the writer for long; a registry of more than
# one page verifies clean while a clerk keeps writing, and an edit in a later page
# is still caught.
reset
start_daemon
python3 - "$T/out/many.csv" <<'PY'
import csv, sys
with open(sys.argv[1], "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["name", "birth_date", "nationality", "employer", "segment", "expertise"])
    for i in range(6000):
        w.writerow([f"Paged Person {chr(65 + i % 26)}{chr(65 + i // 26 % 26)}{chr(65 + i // 676)}",
                    "1970-01-01", "DE", "Paging GmbH", "upstream", "metallurgy"])
PY
chmod 644 "$T/out/many.csv"
as $CLERK person import "$T/out/many.csv"
expect 0 "6,000 persons imported"
curl_as $AUDITOR GET /v1/audit/digests
expect_status 200 "every digest at once, without ?limit (as before 0.6.3)"
all=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["items"]))' "$T/out/body")
after="" pages=0
: >"$T/out/seen"
while :; do
	curl_as $AUDITOR GET "/v1/audit/digests?limit=1500${after:+&after=$after}"
	[ "$STATUS" = 200 ] || break
	pages=$((pages + 1))
	python3 -c 'import json,sys; [print(i["db"], i["id"], i["object"]) for i in json.load(open(sys.argv[1]))["items"]]' \
		"$T/out/body" >>"$T/out/seen"
	after=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("next", ""))' "$T/out/body")
	[ -n "$after" ] || break
done
seen=$(grep -c . "$T/out/seen")
check "pages of 1,500 walk every digest once ($pages pages, $seen of $all digests)" \
	test "$seen" = "$all" -a "$(sort -u "$T/out/seen" | grep -c .)" = "$all"
check "in more than one page" test "$pages" -ge 5
curl_as $AUDITOR GET "/v1/audit/digests?limit=10&after=persons"
expect_status 400 "a cursor that is not a page's next is refused"
curl_as $AUDITOR GET "/v1/audit/digests?limit=50001"
expect_status 400 "a page of more than 50,000 is refused"
curl_as $CLERK GET "/v1/audit/digests?limit=10"
expect_status 403 "a clerk may not read digests"
as $CLERK --json person list --limit 1
PID=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["items"][0]["id"])' "$OUT")
client_load 40
sleep 0.3
for i in 1 2 3; do
	verify --deep
	[ "$RC" = 0 ] || break
done
expect 0 "--deep over two pages passes three times while a clerk writes ($ERR)"
wait $CLIENT
check "no client request failed during the checks" test ! -e "$T/out/client.err"
stop_daemon
mapfile -t pkeys < <("$TAMPER" "$T/data" persons keys)
last=$(python3 -c 'import sys; print(bytes.fromhex(sys.argv[1]).decode())' "${pkeys[-1]}")
"$TAMPER" "$T/data" persons del "${pkeys[-1]}"
start_daemon
verify --deep
expect 1 "--deep catches a person deleted from a later page"
check "it names the person ($ERR)" contains "$ERR" "record $last: the log recorded its write"
finish
