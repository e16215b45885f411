/*
 * tree-convert.c - once, on a registry made before format 3: its Merkle nodes
 * are copied from `tree`, keyed by level, into `merkle`, in completion order
 * (tree.c), a slice a transaction, resumed where the last one ended (merkle's
 * last key says where). The transaction that copies the last node checks that
 * both orders give the log's root, empties `tree` and marks the registry format
 * 3. Roots and proofs are the same bytes before and after: each parent copied
 * is checked against its children. A tree that lacks a node, or holds one that
 * is not its children's hash, is left in its order, and the log says so.
 *
 * Since 0.7.9 the writer runs the slices while rosterd serves (upkeep.c:
 * tree_convert_run), so a start no longer takes time in proportion to the log
 * (0.7.8 converted before answering: a minute at ten million entries). Appends
 * meanwhile go to `tree` as before; their nodes sort after the copy's, so later
 * slices take them up. Every change goes through store_put and store_drop, so
 * the journal replays a slice like any commit.
 */
#include <string.h>

#include <sodium.h>

#include "rosterd.h"
#include "roster/merkle.h"

/* The node after (last leaf, level) in completion order: the next parent the
 * same leaf completes, else the next leaf. */
static void node_next(uint64_t *last, unsigned *level)
{
	if (*level < (unsigned)__builtin_ctzll(*last + 1)) {
		(*level)++;
	} else {
		(*last)++;
		*level = 0;
	}
}

/* Where the copy stands: the node after merkle's last, or the first. */
static int copy_resume(MDB_txn *txn, const struct store *st, uint64_t *last, unsigned *level)
{
	MDB_cursor *cur;
	MDB_val k, v;
	int rc;

	*last = 0;
	*level = 0;
	if ((rc = mdb_cursor_open(txn, st->merkle, &cur)) != 0)
		return rc;
	rc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
	mdb_cursor_close(cur);
	if (rc == MDB_NOTFOUND)
		return 0;
	if (rc != 0)
		return rc;
	if (k.mv_size != TREE_KEY)
		return MDB_CORRUPTED;
	*last = roster_be64_get(k.mv_data);
	*level = ((const uint8_t *)k.mv_data)[8];
	node_next(last, level);
	return 0;
}

/* A parent copied must be the hash of its children copied before it: a fault
 * in the copy, or a node of `tree` damaged or altered, stops the conversion. */
static int parent_check(MDB_txn *txn, const struct store *st, unsigned level, uint64_t index,
                        const uint8_t hash[MERKLE_HASH])
{
	uint8_t key[TREE_KEY], want[MERKLE_HASH], left[MERKLE_HASH];
	MDB_val k = {TREE_KEY, key}, v;

	tree_node_key(TREE_COMPLETION, key, level - 1, 2 * index);
	if (mdb_get(txn, st->merkle, &k, &v) != 0 || v.mv_size != MERKLE_HASH)
		return -1;
	memcpy(left, v.mv_data, MERKLE_HASH);
	tree_node_key(TREE_COMPLETION, key, level - 1, 2 * index + 1);
	if (mdb_get(txn, st->merkle, &k, &v) != 0 || v.mv_size != MERKLE_HASH)
		return -1;
	roster_merkle_node(want, left, v.mv_data);
	return sodium_memcmp(want, hash, MERKLE_HASH) == 0 ? 0 : -1;
}

/* Copies up to `nodes` nodes of the log's first `size` leaves; *more when some
 * are left. */
static int copy_slice(MDB_txn *txn, struct store *st, uint64_t size, size_t nodes, int *more,
                      struct roster_err *err)
{
	uint64_t last;
	unsigned level;
	size_t n;
	int rc;

	if ((rc = copy_resume(txn, st, &last, &level)) != 0)
		return store_mdb_err(err, rc, "resuming the Merkle tree's conversion");
	for (n = 0; n < nodes && last < size; n++, node_next(&last, &level)) {
		uint64_t index = ((last + 1) >> level) - 1;
		uint8_t key[TREE_KEY], hash[MERKLE_HASH];
		MDB_val k = {TREE_KEY, key}, v;

		tree_node_key(TREE_LEVELS, key, level, index);
		if ((rc = mdb_get(txn, st->tree, &k, &v)) != 0 || v.mv_size != MERKLE_HASH)
			return roster_err_set(
			    err, 500, "tree_damaged", "the Merkle tree lacks node %u/%llu: %s",
			    level, (unsigned long long)index, rc ? mdb_strerror(rc) : "wrong size");
		memcpy(hash, v.mv_data, MERKLE_HASH); /* a page of `tree`, not to be kept */
		if (level > 0 && parent_check(txn, st, level, index, hash) < 0)
			return roster_err_set(err, 500, "tree_damaged",
			                      "node %u/%llu of the Merkle tree is not the hash of "
			                      "its children",
			                      level, (unsigned long long)index);
		tree_node_key(TREE_COMPLETION, key, level, index);
		v = (MDB_val){MERKLE_HASH, hash};
		if ((rc = store_put(st, txn, st->merkle, &k, &v, MDB_APPEND)) != 0)
			return rc == MDB_MAP_FULL
			           ? ROSTER_RETRY
			           : store_mdb_err(err, rc, "converting the Merkle tree");
	}
	*more = last < size;
	return 0;
}

/* Both orders must give the same root; then the registry says it is format 3
 * (or more, if it already needed more) and `tree` is emptied. st->tree_order
 * stays as it was: the caller switches it once the transaction commits. */
static int convert_switch(MDB_txn *txn, struct store *st, uint64_t size, struct roster_err *err)
{
	uint8_t by_level[MERKLE_HASH], in_order[MERKLE_HASH], be[4];
	MDB_val k = {8, "requires"}, v;
	uint32_t level = TREE_FORMAT;
	int rc = 0;

	if (size > 0 && tree_root(txn, st, size, by_level, err) < 0)
		return -1;
	st->tree_order = TREE_COMPLETION;
	if (size > 0)
		rc = tree_root(txn, st, size, in_order, err);
	st->tree_order = TREE_LEVELS;
	if (rc < 0)
		return -1;
	if (size > 0 && sodium_memcmp(by_level, in_order, MERKLE_HASH) != 0)
		return roster_err_set(err, 500, "tree_damaged",
		                      "the Merkle tree copied in completion order has another "
		                      "root than the tree by level at %llu entries",
		                      (unsigned long long)size);
	if (mdb_get(txn, st->meta, &k, &v) == 0 && v.mv_size == 4 &&
	    roster_be32_get(v.mv_data) > level)
		level = roster_be32_get(v.mv_data);
	roster_be32_put(be, level);
	if ((rc = store_put(st, txn, st->meta, &k, &(MDB_val){4, be}, 0)) != 0 ||
	    (rc = store_put(st, txn, st->meta, &(MDB_val){10, "tree_order"},
	                    &(MDB_val){10, "completion"}, 0)) != 0 ||
	    (rc = store_drop(st, txn, st->tree)) != 0)
		return rc == MDB_MAP_FULL
		           ? ROSTER_RETRY
		           : store_mdb_err(err, rc, "switching the Merkle tree's order");
	return 0;
}

int tree_convert_slice(MDB_txn *txn, struct store *st, uint64_t size, size_t nodes, int *switched,
                       struct roster_err *err)
{
	int more = 0, rc;

	*switched = 0;
	if (st->tree_order == TREE_COMPLETION)
		return 0;
	if ((rc = copy_slice(txn, st, size, nodes, &more, err)) != 0)
		return rc;
	if (more)
		return 1;
	if ((rc = convert_switch(txn, st, size, err)) != 0)
		return rc;
	*switched = 1;
	return 0;
}

void tree_convert_switched(struct store *st)
{
	st->tree_order = TREE_COMPLETION;
	st->format_floor = TREE_FORMAT;
}

int tree_convert_step(struct store *st, uint64_t size, size_t nodes, struct roster_err *err)
{
	MDB_txn *txn;
	int switched, rc;

	if (st->tree_order == TREE_COMPLETION)
		return 0;
	if ((rc = mdb_txn_begin(st->env, NULL, 0, &txn)) != 0)
		return store_mdb_err(err, rc, "converting the Merkle tree");
	rc = tree_convert_slice(txn, st, size, nodes, &switched, err);
	if (rc < 0) {
		struct roster_err failed;

		mdb_txn_abort(txn);
		(void)store_failed(st, &failed); /* the put that failed is in rc already */
		return rc;
	}
	if ((rc = mdb_txn_commit(txn)) != 0)
		return rc == MDB_MAP_FULL
		           ? ROSTER_RETRY
		           : store_mdb_err(err, rc, "committing the Merkle tree's conversion");
	if (switched)
		tree_convert_switched(st);
	return !switched;
}
