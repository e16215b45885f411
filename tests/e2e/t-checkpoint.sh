# t-checkpoint.sh - checkpoints are signed every N entries and every T seconds
# (config), each covering the whole log at its size, and verify follows them.
. "$(dirname "$0")/lib.sh"
EXTRA_SETTINGS=$'checkpoint_entries = 5\ncheckpoint_seconds = 1' new_registry

for i in $(seq 12); do add_person; done
curl_as $AUDITOR GET /v1/audit/checkpoints
sizes=$(python3 -c 'import json,sys; print(" ".join(n.split("\n")[1] for n in json.loads(sys.argv[1])["items"]))' "$OUT")
check "checkpoints were signed as the log grew ($sizes)" test "$(wc -w <<<"$sizes")" -ge 3
check "no gap between checkpoints exceeds 5 entries ($sizes)" python3 -c '
import sys
s = [int(x) for x in sys.argv[1].split()]
sys.exit(0 if all(b - a <= 5 for a, b in zip(s, s[1:])) else 1)' "$sizes"

# Quiet for more than checkpoint_seconds: the latest checkpoint covers the whole log.
add_person
sleep 2.5
curl_as $ADMIN GET /v1/health
size=$(field "$OUT" log_size)
curl_as $AUDITOR GET /v1/audit/checkpoints
check "a quiet log is checkpointed within checkpoint_seconds (size $size)" python3 -c '
import json, sys
sizes = [int(n.split("\n")[1]) for n in json.loads(sys.argv[1])["items"]]
sys.exit(0 if int(sys.argv[2]) in sizes else 1)' "$OUT" "$size"

as $AUDITOR audit verify
expect 0 "verify follows every periodic checkpoint"
as $AUDITOR audit prove 99999
expect 65 "a proof for an entry beyond the log is refused"
as $AUDITOR audit consistency 0 3
expect 65 "a consistency proof from size 0 is refused"
as $AUDITOR audit prove x
expect 64 "a non-numeric seq is a usage error"

# A new registry keeps its Merkle tree in completion order (tree.c), in `merkle`,
# and says it needs format 3; proofs from it verify (above, and t-auditfind).
nodes() { mdb_stat -s "$1" "$T/data" | awk '/Entries:/ {print $2}'; }
check "its Merkle nodes are in merkle ($(nodes merkle) for $size entries)" \
	test "$(nodes merkle)" -ge $((2 * size - 6))
check "and none in tree, the order by level" test "$(nodes tree)" = 0
check "the registry needs format 3" \
	test "$("$TAMPER" "$T/data" meta get 7265717569726573)" = 00000003
finish
