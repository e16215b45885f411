/*
 * tree.c - the audit log as an RFC 6962 Merkle tree, stored so that roots and
 * proofs never replay the log.
 *
 * One database holds the hash of every perfect subtree: the root of leaves
 * [index * 2^level, (index + 1) * 2^level). An append writes its leaf
 * and the O(1) amortised parents it completes. Any range hash the RFC's
 * recursion asks for splits into perfect subtrees along one spine, so a root
 * costs O(log n) reads and a proof O(log^2 n) at worst.
 *
 * Since format 3 the nodes are in `merkle`, keyed (last leaf, level): the
 * order in which appends complete them, so every append writes at the
 * database's end, to one leaf page that it fills. Registries made before keep
 * them in `tree`, keyed (level, index): each level grew at its own right edge,
 * a commit touched a page for each level it reached, and those pages split in
 * the middle, half full (bench/README.md, eighteenth round). Meta "tree_order"
 * says which; tree-convert.c fills `merkle` from `tree` while rosterd serves
 * (the writer's slices, upkeep.c), then says so.
 */
#include <string.h>

#include "rosterd.h"
#include "roster/merkle.h"

void tree_node_key(int order, uint8_t key[TREE_KEY], unsigned level, uint64_t index)
{
	if (order == TREE_COMPLETION) {
		roster_be64_put(key, ((index + 1) << level) - 1);
		key[8] = (uint8_t)level;
	} else {
		key[0] = (uint8_t)level;
		roster_be64_put(key + 1, index);
	}
}

/* Reads meta "tree_order" into st; a registry with no meta yet (being made) is
 * given the completion order, and the format level that says an older rosterd
 * would misread it. Called in store_open's transaction, before any append. */
int tree_order_load(struct store *st, MDB_txn *txn, struct roster_err *err)
{
	MDB_val k = {10, "tree_order"}, v;
	MDB_stat ms;
	uint8_t be[4];
	int rc;

	st->tree_order = TREE_LEVELS;
	st->format_floor = 0;
	if ((rc = mdb_get(txn, st->meta, &k, &v)) == 0) {
		if (v.mv_size != 10 || memcmp(v.mv_data, "completion", 10) != 0)
			return roster_err_set(err, 0, "format",
			                      "meta tree_order names an order of the Merkle tree "
			                      "this rosterd does not know");
		st->tree_order = TREE_COMPLETION;
		st->format_floor = TREE_FORMAT;
		return 0;
	}
	if (rc == MDB_NOTFOUND && (rc = mdb_stat(txn, st->meta, &ms)) == 0 && ms.ms_entries > 0)
		return 0; /* a registry made before format 3 */
	roster_be32_put(be, TREE_FORMAT);
	if (rc == 0 && (rc = mdb_put(txn, st->meta, &k, &(MDB_val){10, "completion"}, 0)) == 0)
		rc = mdb_put(txn, st->meta, &(MDB_val){8, "requires"}, &(MDB_val){4, be}, 0);
	if (rc != 0)
		return store_mdb_err(err, rc, "reading how the Merkle tree is stored");
	st->tree_order = TREE_COMPLETION;
	st->format_floor = TREE_FORMAT;
	return 0;
}

static int node_get(MDB_txn *txn, const struct store *st, unsigned level, uint64_t index,
                    uint8_t out[MERKLE_HASH], struct roster_err *err)
{
	uint8_t key[TREE_KEY];
	MDB_val k = {TREE_KEY, key}, v;
	int rc;

	tree_node_key(st->tree_order, key, level, index);
	if ((rc = mdb_get(txn, tree_dbi(st), &k, &v)) != 0 || v.mv_size != MERKLE_HASH)
		return roster_err_set(
		    err, 500, "tree_damaged", "the Merkle tree lacks node %u/%llu: %s", level,
		    (unsigned long long)index, rc ? mdb_strerror(rc) : "wrong size");
	memcpy(out, v.mv_data, MERKLE_HASH);
	return 0;
}

static int node_put(struct store *st, MDB_txn *txn, unsigned level, uint64_t index,
                    const uint8_t hash[MERKLE_HASH])
{
	uint8_t key[TREE_KEY];
	MDB_val k = {TREE_KEY, key}, v = {MERKLE_HASH, (void *)hash};

	tree_node_key(st->tree_order, key, level, index);
	/* Not MDB_APPEND, though in completion order each node sorts after those
	 * before it: nodes left past a log cut short (tampering, t-tamper.sh) are
	 * overwritten, as in the order by level, rather than stop the writer. LMDB
	 * fills the pages the same way when a put lands at the end. */
	return store_put(st, txn, tree_dbi(st), &k, &v, 0);
}

int tree_leaf(MDB_txn *txn, const struct store *st, uint64_t index, uint8_t out[MERKLE_HASH],
              struct roster_err *err)
{
	return node_get(txn, st, 0, index, out, err);
}

int tree_append(struct store *st, MDB_txn *txn, uint64_t seq, const uint8_t leaf[MERKLE_HASH],
                struct roster_err *err)
{
	uint8_t cur[MERKLE_HASH], left[MERKLE_HASH];
	unsigned level = 0;
	int rc;

	memcpy(cur, leaf, MERKLE_HASH);
	if ((rc = node_put(st, txn, 0, seq, cur)) != 0)
		goto fail;
	for (uint64_t idx = seq; idx & 1; idx >>= 1, level++) {
		if (node_get(txn, st, level, idx - 1, left, err) < 0)
			return ROSTER_FATAL;
		roster_merkle_node(cur, left, cur);
		if ((rc = node_put(st, txn, level + 1, idx >> 1, cur)) != 0)
			goto fail;
	}
	return 0;
fail:
	if (rc == MDB_MAP_FULL)
		return ROSTER_RETRY;
	store_mdb_err(err, rc, "extending the Merkle tree");
	return ROSTER_FATAL;
}

static uint64_t split_point(uint64_t n) /* the largest power of two below n (n > 1) */
{
	uint64_t k = 1;

	while (k < n - k)
		k <<= 1;
	return k;
}

static int range_hash(MDB_txn *txn, const struct store *st, uint64_t lo, uint64_t hi,
                      uint8_t out[MERKLE_HASH], struct roster_err *err)
{
	uint64_t n = hi - lo, k;
	uint8_t left[MERKLE_HASH];

	if (n == 0) /* callers never ask for an empty range */
		return roster_err_set(err, 500, "tree", "empty range [%llu, %llu)",
		                      (unsigned long long)lo, (unsigned long long)hi);
	if ((n & (n - 1)) == 0 && (lo & (n - 1)) == 0) { /* an aligned power of two: stored */
		unsigned level = (unsigned)__builtin_ctzll(n);

		return node_get(txn, st, level, lo >> level, out, err);
	}
	k = split_point(n);
	if (range_hash(txn, st, lo, lo + k, left, err) < 0 ||
	    range_hash(txn, st, lo + k, hi, out, err) < 0)
		return -1;
	roster_merkle_node(out, left, out);
	return 0;
}

int tree_root(MDB_txn *txn, const struct store *st, uint64_t size, uint8_t out[MERKLE_HASH],
              struct roster_err *err)
{
	if (size == 0) {
		roster_merkle_empty(out);
		return 0;
	}
	return range_hash(txn, st, 0, size, out, err);
}

/* RFC 6962 2.1.1 PATH(m, D[lo:hi]), appended to proof. */
static int path(MDB_txn *txn, const struct store *st, uint64_t m, uint64_t lo, uint64_t hi,
                json_t *proof, struct roster_err *err)
{
	uint8_t h[MERKLE_HASH];
	char hex[2 * MERKLE_HASH + 1];
	uint64_t k;

	if (hi - lo <= 1)
		return 0;
	k = split_point(hi - lo);
	if (m < k) {
		if (path(txn, st, m, lo, lo + k, proof, err) < 0 ||
		    range_hash(txn, st, lo + k, hi, h, err) < 0)
			return -1;
	} else if (path(txn, st, m - k, lo + k, hi, proof, err) < 0 ||
	           range_hash(txn, st, lo, lo + k, h, err) < 0) {
		return -1;
	}
	roster_hex_encode(hex, h, MERKLE_HASH);
	json_array_append_new(proof, json_string(hex));
	return 0;
}

int tree_inclusion(MDB_txn *txn, const struct store *st, uint64_t index, uint64_t size,
                   json_t *proof, struct roster_err *err)
{
	return path(txn, st, index, 0, size, proof, err);
}

/* RFC 6962 2.1.2 SUBPROOF(m, D[lo:hi], b), appended to proof. */
static int subproof(MDB_txn *txn, const struct store *st, uint64_t m, uint64_t lo, uint64_t hi,
                    int b, json_t *proof, struct roster_err *err)
{
	uint8_t h[MERKLE_HASH];
	char hex[2 * MERKLE_HASH + 1];
	uint64_t n = hi - lo, k;

	if (m == n) {
		if (b)
			return 0;
		if (range_hash(txn, st, lo, hi, h, err) < 0)
			return -1;
	} else {
		k = split_point(n);
		if (m <= k) {
			if (subproof(txn, st, m, lo, lo + k, b, proof, err) < 0 ||
			    range_hash(txn, st, lo + k, hi, h, err) < 0)
				return -1;
		} else if (subproof(txn, st, m - k, lo + k, hi, 0, proof, err) < 0 ||
		           range_hash(txn, st, lo, lo + k, h, err) < 0) {
			return -1;
		}
	}
	roster_hex_encode(hex, h, MERKLE_HASH);
	json_array_append_new(proof, json_string(hex));
	return 0;
}

int tree_consistency(MDB_txn *txn, const struct store *st, uint64_t old, uint64_t size,
                     json_t *proof, struct roster_err *err)
{
	if (old == 0 || old >= size)
		return 0;
	return subproof(txn, st, old, 0, size, 1, proof, err);
}
