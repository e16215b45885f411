/*
 * tree-check.c - the stored Merkle tree held against the log's leaves, for
 * `rosterd verify-backup` (verify-backup.c). Roots and proofs are read from
 * the stored nodes (tree.c), so a node altered in a copy would go out in every
 * proof that crosses it: auditors' checks would then fail, but the copy itself
 * looked sound. Here each leaf the chain gives is appended to a compact range,
 * and every node that append completes must be stored with the hash the range
 * gives it; none may be stored past the log's end (a log cut short after they
 * were written leaves them).
 *
 * In completion order the nodes are read with one cursor, in the order the
 * appends made them; a registry whose tree is still by level is read a node at
 * a time and its nodes counted at the end. While such a registry is being
 * converted, `merkle` holds a prefix of the nodes in completion order, which the
 * conversion resumes from and trusts: it is checked as far as it goes.
 */
#include <string.h>

#include <sodium.h>

#include "rosterd.h"
#include "roster/merkle.h"

int tree_check_begin(struct tree_check *tc, const struct store *st, MDB_txn *txn, int copy,
                     struct roster_err *err)
{
	int rc;

	memset(tc, 0, sizeof(*tc));
	tc->st = st;
	tc->txn = txn;
	tc->copy = copy;
	tc->order = copy ? TREE_COMPLETION : st->tree_order;
	tc->dbi = copy ? st->merkle : tree_dbi(st);
	if (tc->order == TREE_COMPLETION && (rc = mdb_cursor_open(txn, tc->dbi, &tc->cur)) != 0)
		return store_mdb_err(err, rc, "reading the Merkle tree");
	return 0;
}

void tree_check_end(struct tree_check *tc)
{
	if (tc->cur)
		mdb_cursor_close(tc->cur);
	tc->cur = NULL;
}

/* The stored node (level, index): the next one in completion order, or looked up. */
static int stored_node(struct tree_check *tc, unsigned level, uint64_t index, MDB_val *v)
{
	uint8_t key[TREE_KEY];
	MDB_val k;
	int rc;

	tree_node_key(tc->order, key, level, index);
	if (tc->cur == NULL) {
		k = (MDB_val){TREE_KEY, key};
		return mdb_get(tc->txn, tc->dbi, &k, v);
	}
	rc = mdb_cursor_get(tc->cur, &k, v, tc->nodes == 0 ? MDB_FIRST : MDB_NEXT);
	if (rc == MDB_NOTFOUND && tc->copy) {
		tc->ended = 1; /* the copy goes no further */
		return 0;
	}
	if (rc == 0 && (k.mv_size != TREE_KEY || memcmp(k.mv_data, key, TREE_KEY) != 0))
		return MDB_NOTFOUND; /* missing, or one the log does not make before it */
	return rc;
}

static int node_check(struct tree_check *tc, unsigned level, uint64_t index,
                      const uint8_t hash[MERKLE_HASH], struct roster_err *err)
{
	uint64_t first = index << level, last = ((index + 1) << level) - 1;
	MDB_val v;
	int rc;

	if (tc->ended)
		return 0;
	if ((rc = stored_node(tc, level, index, &v)) != 0 && rc != MDB_NOTFOUND)
		return store_mdb_err(err, rc, "reading the Merkle tree");
	if (tc->ended)
		return 0;
	if (rc == MDB_NOTFOUND)
		return roster_err_set(err, 0, "tree_damaged",
		                      "the Merkle tree lacks its node over entries %llu to %llu "
		                      "(level %u), or holds another in its place",
		                      (unsigned long long)first, (unsigned long long)last, level);
	if (v.mv_size != MERKLE_HASH || sodium_memcmp(v.mv_data, hash, MERKLE_HASH) != 0)
		return roster_err_set(err, 0, "tree_damaged",
		                      "the Merkle tree's node over entries %llu to %llu (level "
		                      "%u) is not the hash those entries give: proofs through it "
		                      "would fail",
		                      (unsigned long long)first, (unsigned long long)last, level);
	tc->nodes++;
	return 0;
}

int tree_check_leaf(struct tree_check *tc, const uint8_t leaf[MERKLE_HASH], struct roster_err *err)
{
	uint8_t cur[MERKLE_HASH];
	uint64_t idx = tc->size;
	unsigned level = 0;

	memcpy(cur, leaf, MERKLE_HASH);
	for (;;) {
		if (node_check(tc, level, idx, cur, err) < 0)
			return -1;
		if (!(idx & 1))
			break;
		roster_merkle_node(cur, tc->peaks[--tc->npeaks], cur);
		idx >>= 1;
		level++;
	}
	memcpy(tc->peaks[tc->npeaks++], cur, MERKLE_HASH);
	tc->size++;
	return 0;
}

int tree_check_finish(struct tree_check *tc, struct roster_err *err)
{
	MDB_stat ms;
	MDB_val k, v;
	int rc;

	if (tc->ended)
		return 0;
	if (tc->cur) {
		rc = mdb_cursor_get(tc->cur, &k, &v, tc->nodes == 0 ? MDB_FIRST : MDB_NEXT);
		if (rc == MDB_NOTFOUND)
			return 0;
		if (rc != 0)
			return store_mdb_err(err, rc, "reading the Merkle tree");
		return roster_err_set(
		    err, 0, "tree_damaged",
		    "the Merkle tree holds nodes past the log's last entry (%llu entries): the "
		    "log was cut short after they were written",
		    (unsigned long long)tc->size);
	}
	if ((rc = mdb_stat(tc->txn, tc->dbi, &ms)) != 0)
		return store_mdb_err(err, rc, "reading the Merkle tree");
	if (ms.ms_entries > tc->nodes)
		return roster_err_set(
		    err, 0, "tree_damaged",
		    "the Merkle tree holds %llu nodes where a log of %llu entries makes %llu: "
		    "the log was cut short after the others were written",
		    (unsigned long long)ms.ms_entries, (unsigned long long)tc->size,
		    (unsigned long long)tc->nodes);
	return 0;
}
