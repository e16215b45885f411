# t-storage.sh - what lies on disk, the audit chain, and the daemon's life:
# init, keys, sockets, SIGTERM, growing the map.
. "$(dirname "$0")/lib.sh"
MAP_SIZE=1M new_registry
add_person
as $CLERK --json doc add --person "$PID" --type passport --number C01X00T47 --country DE --expires 2031-05-01
DID=$(field "$OUT" id)
as $CLERK --json travel request --person "$PID" --destinations FR --depart 2027-03-01 --return 2027-03-10 --purpose "Visit Lyon plant"

# Enough records to outgrow a 1 MiB map: the map grows instead of failing.
for i in $(seq 60); do
	as $CLERK person add --research "$(head -c 12000 /dev/zero | tr '\0' x)" --name "Filler Person" \
		--birth-date 1990-01-01 --nationality FR --employer E --segment upstream --expertise metallurgy
	[ "$RC" = 0 ] || break
done
expect 0 "writes keep succeeding past the initial map size"
check "the daemon logged the map growth" grep -q "database map grown" "$T/rosterd.log"

# The audit chain, checked independently of the daemon's code.
as $AUDITOR audit export
printf '%s\n' "$OUT" >"$T/export.jsonl"
python3 - "$T/export.jsonl" <<'PY'
import hashlib, json, sys
prev = "0" * 64
lines = open(sys.argv[1], "rb").read().split(b"\n")[:-1]
for seq, raw in enumerate(lines):
    e = json.loads(raw)
    canon = json.dumps(e, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    assert canon == raw, f"entry {seq} not canonical"
    assert e["seq"] == seq, f"entry {seq} has seq {e['seq']}"
    assert e["prev"] == prev, f"entry {seq} breaks the chain"
    for k in ("time", "actor", "action", "target", "outcome", "object"):
        assert k in e, f"entry {seq} lacks {k}"
    prev = hashlib.sha256(b"\0" + raw).hexdigest()
assert len(lines) > 60, len(lines)
PY
check "exported entries chain with RFC 6962 leaf hashes" test $? = 0
check "a write's entry names the ciphertext digest" grep -q "\"action\":\"person.create\".*\"object\":\"[0-9a-f]\{64\}\"" "$T/export.jsonl"

curl_as $AUDITOR GET '/v1/audit/entries?from=2&limit=5'
check "a page of the log holds exactly the asked entries" test "$(grep -c '"seq"' <<<"$OUT")" = 5
check "a page starts at from" contains "$(head -n1 <<<"$OUT")" '"seq":2,'
curl_as $AUDITOR GET '/v1/audit/entries?last=3'
check "last=3 gives 3 entries" test "$(grep -c '"seq"' <<<"$OUT")" = 3
check "the last entry is the read itself" contains "$(tail -n1 <<<"$OUT")" '"action":"audit.read"'
curl_as $AUDITOR GET '/v1/audit/entries?limit=10001'
expect_status 400 "a page over the maximum is refused"

# No personal data on disk: not in data.mdb, not in the log.
stop_daemon
check "SIGTERM exits cleanly" test $? = 0
check "SIGTERM removes the socket" test ! -e "$SOCK"
mdb_dump -a "$T/data" >"$T/dump.txt" 2>&1 || mdb_dump -n "$T/data/data.mdb" -a >"$T/dump.txt"
for secret in "Ana Müller" "Müller" "Анна" "1979-04-13" "T22000129" "C01X00T47" "2031-05-01" "Acme Magnets" "Lyon" "TU Dresden"; do
	check "mdb_dump does not show '$secret'" test "$(grep -c -F "$secret" "$T/dump.txt")" = 0
	check "raw data.mdb does not hold '$secret'" test "$(grep -c -F -a "$secret" "$T/data/data.mdb")" = 0
	check "the daemon log does not hold '$secret'" test "$(grep -c -F "$secret" "$T/rosterd.log")" = 0
done
hex_secret=$(printf 'Ana M' | od -An -tx1 | tr -d ' \n')
check "mdb_dump hex does not show a name" test "$(grep -c "$hex_secret" "$T/dump.txt")" = 0

# data.mdb runs ahead of LMDB's pages (daemon/prime.c: a stretch allocated and
# cached before LMDB writes there); LMDB never reads it, so the restart below
# must find every record as it was.
stat_of() { mdb_stat -e "$T/data" | awk -F': *' -v k="$1" '$1 ~ k {print $2}'; }
used=$(($(stat_of "Number of pages used") * $(stat_of "Page size")))
check "data.mdb is allocated past LMDB's last page ($(stat -c %s "$T/data/data.mdb") > $used bytes)" \
	test "$(stat -c %s "$T/data/data.mdb")" -gt "$used"

# Least privilege: as root, rosterd runs only when the config says allow_root = yes.
sed 's/^allow_root = yes$/allow_root = no/' "$CONF" >"$T/noroot.conf"
"$ROSTERD" -c "$T/noroot.conf" 2>"$T/root.err"
check "rosterd refuses to run as root by default" test $? = 77
check "and says what to do" grep -q "run rosterd as its own account" "$T/root.err"

# A bad setting stops rosterd at start with the file, line and what is wrong.
bad_setting() { # bad_setting LINE EXPECTED-MESSAGE
	printf '%s\n' "$1" >"$T/bad.conf"
	cat "$CONF" >>"$T/bad.conf"
	"$ROSTERD" -c "$T/bad.conf" 2>"$T/bad.err"
	local rc=$?
	check "'$1' is refused (exit $rc): $(head -c 120 "$T/bad.err")" \
		sh -c '[ "$1" != 0 ] && grep -q -F -- "bad.conf line 1: $2" "$3"' _ "$rc" "$2" "$T/bad.err"
}
bad_setting "client_timeout = 0" "client_timeout must be a number from 1 to 3600"
bad_setting "batch_max = 70000" "batch_max must be a number from 1 to 65536"
bad_setting "reencrypt_slice_ms = 0" "reencrypt_slice_ms must be a number from 1 to 60000"
bad_setting "max_connections = lots" "max_connections must be a number"
bad_setting "checkpoint_seconds = -1" "checkpoint_seconds must be a number"
bad_setting "socket_mode = 999" "socket_mode must be octal"
bad_setting "map_size = 10" "map_size must be bytes"
bad_setting "journal_size = 100" "journal_size must be bytes (or with M or G), from 1M to 4096M"
bad_setting "journal_size = 5G" "journal_size must be bytes"
bad_setting "map_size = 3x" "map_size must be bytes"
bad_setting "origin = has space" "origin must be printable ASCII"
bad_setting "allow_root = maybe" "allow_root is yes or no"
bad_setting "tree_convert = perhaps" "tree_convert is yes or no"
bad_setting "tree_convert_slice = 0" "tree_convert_slice must be a number from 1 to 65536"
bad_setting "kdf = weird" "kdf is interactive, moderate or sensitive"
bad_setting "colour = blue" "unknown setting 'colour'"

# init refuses an existing registry; the daemon refuses a wrong or exposed key.
rosterd_exits 73 "init refuses an existing registry" \
	"already holds a registry" init -c "$CONF"
# A data_dir that cannot be made (under a file): 73, and no master key left behind.
sed "s|^data_dir = .*|data_dir = $T/master.key/data|; s|^master_key = .*|master_key = $T/init2.key|" \
	"$CONF" >"$T/init2.conf"
"$ROSTERD" init -c "$T/init2.conf" 2>"$T/init.err"
rc=$?
check "init into a data_dir it cannot create exits 73 (exit $rc)" test $rc = 73
check "naming the folder ($(tail -n1 "$T/init.err"))" grep -q "cannot create $T/master.key/data" "$T/init.err"
check "leaving no master key behind" test ! -e "$T/init2.key"
# A master key file that exists but is open to others: a configuration error.
sed "s|^data_dir = .*|data_dir = $T/data3|; s|^master_key = .*|master_key = $T/init3.key|" \
	"$CONF" >"$T/init3.conf"
printf '%064d\n' 3 >"$T/init3.key"
chmod 644 "$T/init3.key"
"$ROSTERD" init -c "$T/init3.conf" 2>"$T/init.err"
rc=$?
check "init with a group-readable master key exits 78 (exit $rc)" test $rc = 78
check "and creates no registry" test ! -e "$T/data3/data.mdb"
cp "$T/master.key" "$T/master.key.good"
chmod 644 "$T/master.key"
"$ROSTERD" -c "$CONF" 2>"$T/start.err"
rc=$?
check "a group-readable master key is refused" grep -q "must not be readable" "$T/start.err"
check "as a configuration error, which the unit does not restart on (exit $rc)" test $rc = 78
chmod 600 "$T/master.key"
printf '%064d\n' 7 >"$T/master.key"
"$ROSTERD" -c "$CONF" 2>"$T/start.err"
rc=$?
check "a wrong master key is refused" grep -q "does not open this registry" "$T/start.err"
check "as data it cannot serve, which a restart does not change (exit $rc)" test $rc = 65
rm "$T/master.key"
rosterd_exits 78 "a missing master key is a configuration error" \
	"cannot open master key $T/master.key" -c "$CONF"
sed "s|^data_dir = .*|data_dir = $T/empty|" "$CONF" >"$T/empty.conf"
mkdir -p "$T/empty"
rosterd_exits 66 "a data_dir without a registry is refused" \
	"does not hold a roster registry (run 'rosterd init')" -c "$T/empty.conf"
cp "$T/master.key.good" "$T/master.key"
chmod 600 "$T/master.key"

# Sockets: a stale one is replaced, a live one never stolen.
python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' "$SOCK"
start_daemon
check "a stale socket is replaced" test -S "$SOCK"
"$ROSTERD" -c "$CONF" 2>"$T/second.err"
rc=$?
check "a second daemon on the same registry is refused" grep -q "another rosterd is serving" "$T/second.err"
check "as a temporary failure: a later start may succeed (exit $rc)" test $rc = 75
# Another registry configured with the same socket path.
sed "s|^data_dir = .*|data_dir = $T/data2|" "$CONF" >"$T/other.conf"
"$ROSTERD" init -c "$T/other.conf" 2>/dev/null
"$ROSTERD" -c "$T/other.conf" 2>"$T/second.err"
rc=$?
check "a second daemon does not steal a live socket" grep -q "another daemon is answering" "$T/second.err"
check "and exits as a temporary failure (exit $rc)" test $rc = 75
as $CLERK --json person get "$PID"
expect 0 "the first daemon still serves, data intact after restart"
check "record reads back after restart" test "$(field "$OUT" name)" = "Ana Müller"

# A ciphertext moved into another record's slot fails to open: the associated data
# binds each envelope to its record id. (Daemon stopped; bytes written with LMDB.)
: "${TAMPER:?set TAMPER to the roster-tamper binary}"
as $CLERK --json person list --limit 2
read -r P1 P2 < <(python3 -c 'import json,sys; print(" ".join(p["id"] for p in json.loads(sys.argv[1])["items"]))' "$OUT")
stop_daemon
hex() { printf '%s' "$1" | od -An -tx1 | tr -d ' \n'; }
"$TAMPER" "$T/data" persons put "$(hex "$P1")" "$("$TAMPER" "$T/data" persons get "$(hex "$P2")")"
check "the ciphertext was copied over" test $? = 0
start_daemon
as $CLERK person get "$P1"
expect 70 "a swapped ciphertext does not open"
check "the error says the record fails authentication" contains "$ERR" "fails authentication"
check "the daemon logs the record id, not its content" grep -q "record $P1 in persons failed authentication" "$T/rosterd.log"
finish
