/*
 * test-tree.c - the log's Merkle tree as stored (daemon/tree.c), on a real LMDB,
 * in both orders a registry may hold: (level, index) from before format 3, and
 * (last leaf, level) since. Leaves are appended in commits of random sizes; at
 * every size the stored root must equal a compact range's over the same leaves,
 * and inclusion and consistency proofs to random earlier sizes must verify
 * against those roots (lib/merkle.c, which passes the RFC 6962 vectors). Both
 * orders are held to the same roots. Every key must name a perfect subtree, and
 * completion order must fill its pages, which is what it is for (its appends
 * go to the database's end: bench/README.md, eighteenth round). Then how the
 * order is read at open, and the conversion of a registry by level
 * (tree-convert.c): resumed after a restart, refused for a damaged tree; and
 * the check verify-backup makes (tree-check.c), against every node damaged.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "roster/log.h"
#include "roster/merkle.h"
#include "roster/util.h"
#include "rosterd.h"
#include "test.h"

#define LEAVES 1500 /* proofs checked at every size up to here */
#define MANY   40000

struct tree {
	struct store st;
	char dir[32];
};

static void leaf_of(uint64_t i, uint8_t out[MERKLE_HASH])
{
	uint8_t in[9] = {0};

	roster_be64_put(in + 1, i);
	crypto_hash_sha256(out, in, sizeof(in));
}

static void tree_open(struct tree *t, int order)
{
	struct roster_err err;

	snprintf(t->dir, sizeof(t->dir), "/tmp/test-tree.XXXXXX");
	if (mkdtemp(t->dir) == NULL || store_open(&t->st, t->dir, 256UL << 20, 1, &err) < 0)
		fatalx("store: %s", err.message);
	CHECK(t->st.tree_order == TREE_COMPLETION, "a new registry's tree is in completion order");
	t->st.tree_order = order; /* as a registry made before format 3 would be read */
	mdb_env_set_flags(t->st.env, MDB_NOSYNC, 1);
}

static void tree_close_dir(struct tree *t)
{
	char cmd[64];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", t->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", t->dir);
}

static void tree_close(struct tree *t)
{
	store_close(&t->st);
	tree_close_dir(t);
}

static void append(struct tree *t, uint64_t from, uint64_t to)
{
	struct roster_err err;
	uint8_t leaf[MERKLE_HASH];
	MDB_txn *txn;

	if (mdb_txn_begin(t->st.env, NULL, 0, &txn) != 0)
		fatalx("txn");
	for (uint64_t i = from; i < to; i++) {
		leaf_of(i, leaf);
		if (tree_append(&t->st, txn, i, leaf, &err) != 0)
			fatalx("append %llu: %s", (unsigned long long)i, err.message);
	}
	if (mdb_txn_commit(txn) != 0)
		fatalx("commit");
}

/* A proof as tree.c gives it (hex strings) in bytes; the count, or -1. */
static long proof_bytes(json_t *proof, uint8_t (*out)[MERKLE_HASH], size_t room)
{
	size_t i;
	json_t *h;

	if (json_array_size(proof) > room)
		return -1;
	json_array_foreach(proof, i, h) if (!json_is_string(h) ||
	                                    roster_hex_decode(out[i], MERKLE_HASH,
	                                                      json_string_value(h)) < 0) return -1;
	return (long)json_array_size(proof);
}

static uint8_t roots[LEAVES + 1][MERKLE_HASH];

/* At size n (roots[0..n] known): the stored root, and proofs to random sizes. */
static int check_size(struct tree *t, uint64_t n)
{
	uint8_t got[MERKLE_HASH], leaf[MERKLE_HASH], path[64][MERKLE_HASH];
	struct roster_err err;
	uint64_t idx = (uint64_t)rand() % n, old = 1 + (uint64_t)rand() % n;
	json_t *proof = json_array();
	MDB_txn *txn;
	long np;
	int bad = 0;

	mdb_txn_begin(t->st.env, NULL, MDB_RDONLY, &txn);
	if (tree_root(txn, &t->st, n, got, &err) < 0 || memcmp(got, roots[n], MERKLE_HASH) != 0)
		bad++;
	if (tree_leaf(txn, &t->st, idx, got, &err) < 0 || (leaf_of(idx, leaf), 0) ||
	    memcmp(got, leaf, MERKLE_HASH) != 0)
		bad++;
	if (tree_inclusion(txn, &t->st, idx, n, proof, &err) < 0 ||
	    (np = proof_bytes(proof, path, 64)) < 0 ||
	    roster_merkle_verify_inclusion(idx, n, leaf, MERKLE_HASH,
	                                   (const uint8_t(*)[MERKLE_HASH])path, (size_t)np,
	                                   roots[n], MERKLE_HASH, &err) < 0)
		bad++;
	json_array_clear(proof);
	if (tree_consistency(txn, &t->st, old, n, proof, &err) < 0 ||
	    (np = proof_bytes(proof, path, 64)) < 0 ||
	    (old < n && roster_merkle_verify_consistency(
	                    old, n, roots[old], MERKLE_HASH, roots[n], MERKLE_HASH,
	                    (const uint8_t(*)[MERKLE_HASH])path, (size_t)np, &err) < 0))
		bad++;
	mdb_txn_abort(txn);
	json_decref(proof);
	CHECK(bad == 0, "order %d, size %llu: root, leaf %llu, proofs to %llu", t->st.tree_order,
	      (unsigned long long)n, (unsigned long long)idx, (unsigned long long)old);
	return bad;
}

static void test_proofs(int order)
{
	struct tree t;
	uint64_t n = 0;
	int bad = 0;

	tree_open(&t, order);
	while (n < LEAVES && bad < 5) {
		uint64_t to = n + 1 + (uint64_t)(rand() % 40);

		if (to > LEAVES)
			to = LEAVES;
		append(&t, n, to);
		while (n < to)
			bad += check_size(&t, ++n);
	}
	tree_close(&t);
}

/* A long log, appended in commits of up to 64 as the writer does: every key
 * must name a perfect subtree of it, in the order's own way, and the leaf pages'
 * fill is returned. */
static double fill(int order)
{
	struct tree t;
	MDB_cursor *cur;
	MDB_txn *txn;
	MDB_stat ms;
	MDB_val k, v;
	size_t nodes = 0, wrong = 0;
	uint64_t n = 0;

	tree_open(&t, order);
	while (n < MANY) {
		uint64_t to = n + 1 + (uint64_t)(rand() % 64);

		append(&t, n, to > MANY ? MANY : to);
		n = to > MANY ? MANY : to;
	}
	mdb_txn_begin(t.st.env, NULL, MDB_RDONLY, &txn);
	mdb_stat(txn, tree_dbi(&t.st), &ms);
	mdb_cursor_open(txn, tree_dbi(&t.st), &cur);
	for (int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT), nodes++) {
		const uint8_t *key = k.mv_data;
		unsigned level = order == TREE_COMPLETION ? key[8] : key[0];
		uint64_t end = order == TREE_COMPLETION ? roster_be64_get(key) + 1
		                                        : (roster_be64_get(key + 1) + 1) << level;

		/* leaves [end - 2^level, end): aligned, and all appended */
		wrong += k.mv_size != TREE_KEY || level > 20 || end > MANY ||
		         end % ((uint64_t)1 << level) != 0;
	}
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	CHECK(nodes == 2 * MANY - (size_t)__builtin_popcountll(MANY),
	      "order %d: %zu nodes for %d leaves", order, nodes, MANY);
	CHECK(wrong == 0, "order %d: %zu keys name no perfect subtree", order, wrong);
	tree_close(&t);
	return (double)ms.ms_entries / (double)ms.ms_leaf_pages;
}

/* How a registry's order is read at open: one made before format 3 (no
 * "tree_order", other meta) keeps the order by level and needs no level; an
 * order this rosterd does not know is refused, naming it, rather than misread. */
static void reopen(struct tree *t, const char *order, int *tree_order, uint32_t *floor,
                   struct roster_err *err)
{
	MDB_val k = {10, "tree_order"};
	MDB_txn *txn;
	int rc;

	mdb_txn_begin(t->st.env, NULL, 0, &txn);
	mdb_del(txn, t->st.meta, &(MDB_val){8, "requires"}, NULL);
	/* a registry's other settings, so that it is not taken for a new one */
	mdb_put(txn, t->st.meta, &(MDB_val){8, "data_key"}, &(MDB_val){4, "\0\0\0\1"}, 0);
	if (order)
		mdb_put(txn, t->st.meta, &k, &(MDB_val){strlen(order), (void *)order}, 0);
	else
		mdb_del(txn, t->st.meta, &k, NULL);
	if (mdb_txn_commit(txn) != 0)
		fatalx("commit");
	store_close(&t->st);
	memset(err, 0, sizeof(*err));
	rc = store_open(&t->st, t->dir, 256UL << 20, 0, err);
	*tree_order = rc == 0 ? t->st.tree_order : -1;
	*floor = rc == 0 ? t->st.format_floor : 99;
}

static void test_open(void)
{
	struct roster_err err;
	struct tree t;
	uint32_t floor;
	int order;

	tree_open(&t, TREE_COMPLETION);
	CHECK(t.st.format_floor == TREE_FORMAT, "a new registry needs format %u", TREE_FORMAT);
	append(&t, 0, 10);
	reopen(&t, NULL, &order, &floor, &err);
	CHECK(order == TREE_LEVELS && floor == 0,
	      "a registry made before format 3 is read by level, needing no level (%d, %u: %s)",
	      order, floor, err.message);
	reopen(&t, "sideways", &order, &floor, &err);
	CHECK(order == -1 && strstr(err.message, "tree_order") != NULL,
	      "an unknown order is refused by name (%s)", err.message);
	if (order != -1)
		store_close(&t.st);
	tree_close_dir(&t);
}

static uint64_t nodes_in(struct tree *t, MDB_dbi dbi)
{
	MDB_txn *txn;
	MDB_stat ms;

	mdb_txn_begin(t->st.env, NULL, MDB_RDONLY, &txn);
	mdb_stat(txn, dbi, &ms);
	mdb_txn_abort(txn);
	return ms.ms_entries;
}

/* A registry made before format 3, by level, converted in slices of 700 nodes
 * with a restart halfway and appends between slices, as while rosterd serves
 * (tree-convert.c): the same roots and proofs at every
 * size checked, `tree` emptied, format 3, and appends going on in the new order.
 * Then one with a node missing, and one with a node altered: both refused, left
 * by level and still serving. */
static void test_convert(void)
{
	struct roster_err err;
	struct tree t;
	uint32_t floor;
	uint64_t n = 0, total;
	int order, rc, steps = 0, bad = 0;

	tree_open(&t, TREE_LEVELS);
	while (n < LEAVES - 200) {
		uint64_t to = n + 1 + (uint64_t)(rand() % 40);

		append(&t, n, to > LEAVES - 200 ? LEAVES - 200 : to);
		n = to > LEAVES - 200 ? LEAVES - 200 : to;
	}
	reopen(&t, NULL, &order, &floor, &err); /* as 0.7.7 left it */
	CHECK(order == TREE_LEVELS, "a registry by level (%s)", err.message);
	while ((rc = tree_convert_step(&t.st, n, 700, &err)) == 1 && ++steps != 2)
		;
	CHECK(rc == 1 && t.st.tree_order == TREE_LEVELS && nodes_in(&t, t.st.merkle) == 1400,
	      "two slices copied, not yet switched (%d: %s)", rc, err.message);
	reopen(&t, NULL, &order, &floor, &err); /* a restart meanwhile */
	/* Appends go on by level while rosterd converts (0.7.9): later slices take
	 * their nodes up. */
	append(&t, n, n + 150);
	n += 150;
	while ((rc = tree_convert_step(&t.st, n, 700, &err)) == 1)
		steps++;
	total = 2 * n - (uint64_t)__builtin_popcountll(n); /* nodes of n leaves */
	CHECK(rc == 0 && (uint64_t)steps + 1 == (total + 699) / 700,
	      "converted in %d slices of 700 nodes, %llu in all (%d: %s)", steps + 1,
	      (unsigned long long)total, rc, err.message);
	CHECK(t.st.tree_order == TREE_COMPLETION && t.st.format_floor == TREE_FORMAT,
	      "in completion order, format 3");
	CHECK(nodes_in(&t, t.st.tree) == 0, "the tree by level emptied");
	CHECK(nodes_in(&t, t.st.merkle) == total, "every node in merkle");
	for (uint64_t size = 1; size <= n && bad < 5; size += 1 + (uint64_t)(rand() % 7))
		bad += check_size(&t, size);
	append(&t, n, LEAVES);
	for (uint64_t size = n; size <= LEAVES && bad < 5; size++)
		bad += check_size(&t, size);
	reopen(&t, "completion", &order, &floor, &err);
	CHECK(order == TREE_COMPLETION && floor == TREE_FORMAT, "and so after a restart");
	store_close(&t.st);
	tree_close_dir(&t);

	for (int altered = 0; altered < 2; altered++) {
		uint8_t key[TREE_KEY];
		MDB_val k = {TREE_KEY, key};
		MDB_txn *txn;

		tree_open(&t, TREE_LEVELS);
		append(&t, 0, 300);
		reopen(&t, NULL, &order, &floor, &err);
		mdb_txn_begin(t.st.env, NULL, 0, &txn);
		tree_node_key(TREE_LEVELS, key, 3, 17);
		if (altered)
			mdb_put(txn, t.st.tree, &k, &(MDB_val){MERKLE_HASH, roots[1]}, 0);
		else
			mdb_del(txn, t.st.tree, &k, NULL);
		mdb_txn_commit(txn);
		rc = tree_convert_step(&t.st, 300, 1000, &err);
		CHECK(rc == -1 && strstr(err.message, "3/17") && t.st.tree_order == TREE_LEVELS &&
		          nodes_in(&t, t.st.merkle) == 0,
		      "a node %s: refused, nothing copied (%d: %s)",
		      altered ? "altered" : "missing", rc, err.message);
		bad = check_size(&t, 100); /* leaves 0-99 need no 3/17 */
		CHECK(bad == 0, "and the tree by level still serves");
		store_close(&t.st);
		tree_close_dir(&t);
	}
}

/* tree-check.c over the first n leaves: 0 when it finds the tree sound. */
static int tree_checked_copy(struct tree *t, uint64_t n, int copy, uint64_t *nodes,
                             struct roster_err *err);
static int tree_checked(struct tree *t, uint64_t n, uint64_t *nodes, struct roster_err *err)
{
	return tree_checked_copy(t, n, 0, nodes, err);
}

static int tree_checked_copy(struct tree *t, uint64_t n, int copy, uint64_t *nodes,
                             struct roster_err *err)
{
	struct tree_check tc;
	uint8_t leaf[MERKLE_HASH];
	MDB_txn *txn;
	int rc = 0;

	mdb_txn_begin(t->st.env, NULL, MDB_RDONLY, &txn);
	if (tree_check_begin(&tc, &t->st, txn, copy, err) < 0) {
		mdb_txn_abort(txn);
		return -1;
	}
	for (uint64_t i = 0; i < n && rc == 0; i++) {
		leaf_of(i, leaf);
		rc = tree_check_leaf(&tc, leaf, err);
	}
	if (rc == 0)
		rc = tree_check_finish(&tc, err);
	*nodes = tc.nodes;
	tree_check_end(&tc);
	mdb_txn_abort(txn);
	return rc;
}

/* Every node of trees of 1 to 40 leaves, in both orders, altered and then
 * removed in turn: tree_check names each (its level and first entry), and
 * finds the sound tree sound with every node counted; a node left past the
 * log's end (a log cut short) is found too. */
static void test_check(int order)
{
	struct roster_err err;
	struct tree t;
	int missed = 0, cases = 0;

	for (uint64_t n = 1; n <= 40; n++) {
		uint64_t total = 2 * n - (uint64_t)__builtin_popcountll(n), nodes;
		MDB_txn *txn;
		MDB_cursor *cur;
		MDB_val k, v;
		uint8_t keys[80][TREE_KEY];
		size_t nkeys = 0;

		tree_open(&t, order);
		append(&t, 0, n);
		CHECK(tree_checked(&t, n, &nodes, &err) == 0 && nodes == total,
		      "%s, %llu leaves: sound, %llu of %llu nodes (%s)",
		      order ? "completion" : "levels", (unsigned long long)n,
		      (unsigned long long)nodes, (unsigned long long)total, err.message);
		mdb_txn_begin(t.st.env, NULL, MDB_RDONLY, &txn);
		mdb_cursor_open(txn, tree_dbi(&t.st), &cur);
		while (nkeys < 80 && mdb_cursor_get(cur, &k, &v, MDB_NEXT) == 0)
			memcpy(keys[nkeys++], k.mv_data, TREE_KEY);
		mdb_cursor_close(cur);
		mdb_txn_abort(txn);
		CHECK(nkeys == total, "%llu nodes stored", (unsigned long long)nkeys);
		for (size_t i = 0; i < nkeys; i++) {
			const uint8_t *key = keys[i];
			uint8_t keep[MERKLE_HASH], bad[MERKLE_HASH];
			unsigned level = order ? (uint8_t)key[8] : (uint8_t)key[0];
			uint64_t first = order ? roster_be64_get(key) + 1 - (1ULL << level)
			                       : roster_be64_get(key + 1) << level;
			char want[64];

			k = (MDB_val){TREE_KEY, (void *)key};
			snprintf(want, sizeof(want), "entries %llu to %llu (level %u)",
			         (unsigned long long)first,
			         (unsigned long long)(first + (1ULL << level) - 1), level);
			for (int del = 0; del < 2; del++) {
				mdb_txn_begin(t.st.env, NULL, 0, &txn);
				mdb_get(txn, tree_dbi(&t.st), &k, &v);
				memcpy(keep, v.mv_data, MERKLE_HASH);
				memcpy(bad, keep, MERKLE_HASH);
				bad[(i * 7) % MERKLE_HASH] ^= 1;
				if (del)
					mdb_del(txn, tree_dbi(&t.st), &k, NULL);
				else
					mdb_put(txn, tree_dbi(&t.st), &k,
					        &(MDB_val){MERKLE_HASH, bad}, 0);
				mdb_txn_commit(txn);
				cases++;
				if (tree_checked(&t, n, &nodes, &err) == 0 ||
				    !strstr(err.message, want)) {
					if (missed++ < 5)
						CHECK(0, "%s, %llu leaves, node %s %s: %s",
						      order ? "completion" : "levels",
						      (unsigned long long)n, want,
						      del ? "removed" : "altered", err.message);
				}
				mdb_txn_begin(t.st.env, NULL, 0, &txn);
				mdb_put(txn, tree_dbi(&t.st), &k, &(MDB_val){MERKLE_HASH, keep}, 0);
				mdb_txn_commit(txn);
			}
		}
		/* The log cut back to n - 1 leaves: the nodes of leaf n - 1 are left over. */
		CHECK(tree_checked(&t, n - 1, &nodes, &err) < 0 &&
		          strstr(err.message, "the log was cut short"),
		      "%s, %llu leaves read as %llu: leftovers found (%s)",
		      order ? "completion" : "levels", (unsigned long long)n,
		      (unsigned long long)n - 1, err.message);
		tree_close(&t);
	}
	CHECK(missed == 0, "%s: %d of %d damaged nodes missed", order ? "completion" : "levels",
	      missed, cases);
}

/* A conversion under way: `merkle` holds a prefix of the nodes in completion
 * order, which the conversion trusts when it resumes. Checked as far as it goes
 * (verify-backup.c): sound at every prefix length; each copied node altered,
 * and each but the last removed, is named. */
static void test_check_copy(void)
{
	struct roster_err err;
	struct tree t;
	uint64_t n = 300, total = 2 * n - (uint64_t)__builtin_popcountll(n), nodes;
	int missed = 0, cases = 0;

	tree_open(&t, TREE_LEVELS);
	append(&t, 0, n);
	for (uint64_t copied = 0; copied < total; copied += 1 + copied / 3) {
		MDB_txn *txn;
		MDB_cursor *cur;
		MDB_val k, v;
		uint8_t keys[600][TREE_KEY];
		size_t nkeys = 0;

		while (nodes_in(&t, t.st.merkle) < copied)
			if (tree_convert_step(&t.st, n, copied - nodes_in(&t, t.st.merkle), &err) !=
			    1)
				fatalx("copy: %s", err.message);
		CHECK(tree_checked_copy(&t, n, 1, &nodes, &err) == 0 && nodes == copied,
		      "a copy of %llu nodes: sound, %llu checked (%s)", (unsigned long long)copied,
		      (unsigned long long)nodes, err.message);
		mdb_txn_begin(t.st.env, NULL, MDB_RDONLY, &txn);
		mdb_cursor_open(txn, t.st.merkle, &cur);
		while (nkeys < 600 && mdb_cursor_get(cur, &k, &v, MDB_NEXT) == 0)
			memcpy(keys[nkeys++], k.mv_data, TREE_KEY);
		mdb_cursor_close(cur);
		mdb_txn_abort(txn);
		for (size_t i = 0; i < nkeys; i++) {
			uint8_t keep[MERKLE_HASH], bad[MERKLE_HASH];
			unsigned level = keys[i][8];
			uint64_t first = roster_be64_get(keys[i]) + 1 - (1ULL << level);
			char want[64];

			k = (MDB_val){TREE_KEY, keys[i]};
			snprintf(want, sizeof(want), "entries %llu to %llu (level %u)",
			         (unsigned long long)first,
			         (unsigned long long)(first + (1ULL << level) - 1), level);
			for (int del = 0; del < (i + 1 < nkeys ? 2 : 1); del++) {
				mdb_txn_begin(t.st.env, NULL, 0, &txn);
				mdb_get(txn, t.st.merkle, &k, &v);
				memcpy(keep, v.mv_data, MERKLE_HASH);
				memcpy(bad, keep, MERKLE_HASH);
				bad[i % MERKLE_HASH] ^= 0x80;
				if (del)
					mdb_del(txn, t.st.merkle, &k, NULL);
				else
					mdb_put(txn, t.st.merkle, &k, &(MDB_val){MERKLE_HASH, bad},
					        0);
				mdb_txn_commit(txn);
				cases++;
				if ((tree_checked_copy(&t, n, 1, &nodes, &err) == 0 ||
				     !strstr(err.message, want)) &&
				    missed++ < 5)
					CHECK(0, "a copy of %llu nodes, node %s %s: %s",
					      (unsigned long long)copied, want,
					      del ? "removed" : "altered", err.message);
				mdb_txn_begin(t.st.env, NULL, 0, &txn);
				mdb_put(txn, t.st.merkle, &k, &(MDB_val){MERKLE_HASH, keep}, 0);
				mdb_txn_commit(txn);
			}
		}
	}
	CHECK(missed == 0, "copies: %d of %d damaged nodes missed", missed, cases);
	tree_close(&t);
}

int main(void)
{
	struct roster_merkle_range r;
	double levels, completion;

	log_init("test-tree", LOG_LEVEL_WARN);
	srand(20261207);
	if (sodium_init() < 0)
		fatalx("cannot start");
	roster_merkle_range_init(&r);
	roster_merkle_empty(roots[0]);
	for (uint64_t i = 0; i < LEAVES; i++) {
		uint8_t leaf[MERKLE_HASH];

		leaf_of(i, leaf);
		roster_merkle_range_append(&r, leaf);
		roster_merkle_range_root(&r, roots[i + 1]);
	}
	test_open();
	test_proofs(TREE_LEVELS);
	test_proofs(TREE_COMPLETION);
	test_convert();
	test_check(TREE_LEVELS);
	test_check(TREE_COMPLETION);
	test_check_copy();
	levels = fill(TREE_LEVELS);
	completion = fill(TREE_COMPLETION);
	printf("nodes a leaf page: %.1f in completion order, %.1f by level\n", completion, levels);
	CHECK(completion > 70, "completion order fills its pages: %.1f nodes a page", completion);
	CHECK(completion > 1.6 * levels, "and holds more a page than by level: %.1f, %.1f",
	      completion, levels);
	return test_done();
}
