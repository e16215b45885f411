/*
 * test-idxlog.c - the person index's log (daemon/idxlog.c) against a model, on a
 * real LMDB: thousands of random steps of entries of tag changes noted in the log, merge
 * slices of a few changes each (some of their transactions abandoned, as a full
 * map or a failed commit would), drains, and transactions that note changes and
 * are abandoned. After every step each (tag, id) pair must read as the model
 * says, through the log's view over the index as a find reads it; the log's
 * count must match LMDB's; the format level must be 2 while the log holds changes
 * and absent otherwise, or, in a registry made at format 3 (the first half of
 * the steps), stay 3. At the end a drain must leave the index alone equal to the
 * model.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "roster/log.h"
#include "rosterd.h"
#include "test.h"

#define TAGS  4
#define IDS   9
#define STEPS 4000

static struct server srv;
static int model[TAGS][IDS];

static void tag_of(int t, uint8_t tag[16])
{
	memset(tag, 0xa0 + t, 16);
}

static void id_of(int i, char id[ROSTER_ID_MAX])
{
	snprintf(id, ROSTER_ID_MAX, "per_%026d", i * 7919 % 1000); /* not in creation order */
}

/* The log's state carried from one committed transaction to the next, as the
 * writer carries it. */
static uint64_t next_seq, log_n, gen;

static void begin(struct wtxn *w)
{
	memset(w, 0, sizeof(*w));
	w->srv = &srv;
	w->keys = &srv.keys;
	w->ilog_next = next_seq;
	w->ilog_n = log_n;
	w->ilog_gen = gen;
	if (mdb_txn_begin(srv.store.env, NULL, 0, &w->txn) != 0)
		fatalx("txn");
}

static void commit(struct wtxn *w)
{
	if (mdb_txn_commit(w->txn) != 0)
		fatalx("commit");
	next_seq = w->ilog_next;
	log_n = w->ilog_n;
	gen = w->ilog_gen;
}

static int index_has(MDB_txn *txn, int t, int i)
{
	uint8_t tag[16];
	char id[ROSTER_ID_MAX];
	MDB_val k = {16, tag}, v;
	MDB_cursor *cur;
	int rc;

	tag_of(t, tag);
	id_of(i, id);
	v.mv_size = strlen(id);
	v.mv_data = id;
	mdb_cursor_open(txn, srv.store.person_idx, &cur);
	rc = mdb_cursor_get(cur, &k, &v, MDB_GET_BOTH);
	mdb_cursor_close(cur);
	return rc == 0;
}

/* Every pair as a find would read it; returns the number of mismatches. */
static int check_all(int step)
{
	uint8_t tags[TAGS][16];
	struct idxlog_view view;
	MDB_txn *txn;
	MDB_stat st;
	MDB_val v;
	int bad = 0;

	for (int t = 0; t < TAGS; t++)
		tag_of(t, tags[t]);
	mdb_txn_begin(srv.store.env, NULL, MDB_RDONLY, &txn);
	CHECK(idxlog_view_load(txn, srv.store.person_idx_log, (const uint8_t(*)[16])tags, TAGS,
	                       &view) == 0,
	      "step %d: the view loads", step);
	for (int t = 0; t < TAGS; t++)
		for (int i = 0; i < IDS; i++) {
			char id[ROSTER_ID_MAX];
			int says, has;

			id_of(i, id);
			says = idxlog_view_says(&view, t, id, strlen(id));
			has = says >= 0 ? says : index_has(txn, t, i);
			if (has != model[t][i]) {
				bad++;
				CHECK(has == model[t][i], "step %d: tag %d id %d reads %d, not %d",
				      step, t, i, has, model[t][i]);
			}
		}
	idxlog_view_free(&view);
	mdb_stat(txn, srv.store.person_idx_log, &st);
	CHECK(st.ms_entries == log_n, "step %d: the log holds %zu, counted %llu", step,
	      st.ms_entries, (unsigned long long)log_n);
	{
		uint32_t floor = srv.store.format_floor, want = floor;
		int has = mdb_get(txn, srv.store.meta, &(MDB_val){8, "requires"}, &v) == 0;

		if (log_n > 0 && want < IDXLOG_FORMAT)
			want = IDXLOG_FORMAT;
		CHECK(has == (want > 0) &&
		          (!has || (v.mv_size == 4 && roster_be32_get(v.mv_data) == want)),
		      "step %d: the format level is %u while the log holds %llu (the registry's "
		      "own: %u)",
		      step, want, (unsigned long long)log_n, floor);
	}
	mdb_txn_abort(txn);
	return bad;
}

/* A transaction noting 1 to 3 entries of 1 to 4 changes of one id each, on
 * distinct tags, as a create or an update does; kept only when `keep`. */
static void note_changes(int keep)
{
	int pending[TAGS][IDS];
	struct wtxn w;

	memcpy(pending, model, sizeof(model));
	begin(&w);
	for (int e = 1 + rand() % 3; e > 0; e--) {
		struct idxlog_op ops[TAGS];
		int i = rand() % IDS, n = 1 + rand() % TAGS, first = rand() % TAGS;
		char id[ROSTER_ID_MAX];

		id_of(i, id);
		for (int j = 0; j < n; j++) {
			int t = (first + j) % TAGS;

			ops[j].add = rand() % 2;
			tag_of(t, ops[j].tag);
			pending[t][i] = ops[j].add;
		}
		if (idxlog_note(&w, id, ops, (size_t)n) != 0)
			fatalx("note");
	}
	if (!keep) {
		mdb_txn_abort(w.txn);
		return;
	}
	commit(&w);
	memcpy(model, pending, sizeof(model));
}

/* One merge slice of 1 to 5 changes; its transaction abandoned when `keep` is 0. */
static void merge_slice(struct idxlog_pass *pass, int keep)
{
	struct roster_err err;
	struct wtxn w;

	begin(&w);
	CHECK(idxlog_merge_slice(&w, pass, 1 + (size_t)(rand() % 5), &err) == 0, "a slice: %s",
	      err.message);
	if (!keep) {
		mdb_txn_abort(w.txn);
		return;
	}
	commit(&w);
	idxlog_pass_commit(pass);
}

static void drain(void)
{
	struct roster_err err;
	struct wtxn w;

	begin(&w);
	CHECK(idxlog_drain(&w, &err) == 0, "a drain: %s", err.message);
	commit(&w);
}

/* From here on the registry is one made before format 3 (its Merkle tree keyed
 * by level), whose level is absent while the log is empty. */
static void made_before_format_3(void)
{
	struct wtxn w;

	drain();
	begin(&w);
	CHECK(meta_del(&w, "requires") == 0 && meta_del(&w, "tree_order") == 0,
	      "the level and the tree's order removed");
	commit(&w);
	srv.store.format_floor = 0;
	srv.store.tree_order = TREE_LEVELS;
}

int main(void)
{
	char dir[] = "/tmp/test-idxlog.XXXXXX", cmd[64];
	struct idxlog_pass *pass = idxlog_pass_new();
	struct roster_err err;
	MDB_txn *txn;
	MDB_stat st;
	int bad = 0, slices = 0;

	log_init("test-idxlog", LOG_LEVEL_WARN);
	srand(20261203);
	if (sodium_init() < 0 || mkdtemp(dir) == NULL)
		fatalx("cannot start");
	if (store_open(&srv.store, dir, 64UL << 20, 1, &err) < 0)
		fatalx("store: %s", err.message);
	mdb_env_set_flags(srv.store.env, MDB_NOSYNC, 1);
	next_seq = 1;
	CHECK(srv.store.format_floor == TREE_FORMAT, "a new registry needs format %u, not %u",
	      TREE_FORMAT, srv.store.format_floor);
	for (int step = 0; step < STEPS && bad < 5; step++) {
		int r = rand() % 100;

		if (step == STEPS / 2)
			made_before_format_3();

		if (r < 45) {
			note_changes(1);
		} else if (r < 50) {
			note_changes(0);
		} else if (r < 90) {
			merge_slice(pass, r >= 55);
			slices += r >= 55;
		} else if (r < 92) {
			drain();
		}
		bad += check_all(step);
	}
	CHECK(slices > 1000, "merge slices committed: %d", slices);
	drain();
	CHECK(log_n == 0, "a drain empties the log");
	check_all(STEPS);
	mdb_txn_begin(srv.store.env, NULL, MDB_RDONLY, &txn);
	mdb_stat(txn, srv.store.person_idx, &st);
	{
		size_t want = 0;

		for (int t = 0; t < TAGS; t++)
			for (int i = 0; i < IDS; i++)
				want += (size_t)model[t][i];
		CHECK(st.ms_entries == want, "the index holds %zu pairs, the model %zu",
		      st.ms_entries, want);
	}
	mdb_txn_abort(txn);
	idxlog_pass_free(pass);
	store_close(&srv.store);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	return test_done();
}
