/*
 * test-aspan.c - the time spans of runs of block filters (daemon/audit-span.c)
 * on a real LMDB: a question bounded in time passes over a run only when the
 * run's span rules it out, never one with a damaged filter, a gap, or a filter
 * without a span; the summary waits at a filter 0.7.3 wrote, takes only whole
 * runs, and goes on where it stopped. Against a brute force over the filters
 * themselves for every bound: a run passed over holds no filter whose span
 * meets the question's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rosterd.h"
#include "roster/afilter.h"
#include "test.h"

#define BLOCK 16

struct db {
	MDB_env *env;
	MDB_dbi dbi;
	char dir[64];
};

static void db_open(struct db *d)
{
	MDB_txn *txn;

	snprintf(d->dir, sizeof(d->dir), "/tmp/test-aspan.XXXXXX");
	if (mkdtemp(d->dir) == NULL || mdb_env_create(&d->env) || mdb_env_set_maxdbs(d->env, 2) ||
	    mdb_env_open(d->env, d->dir, MDB_NOSYNC, 0600) ||
	    mdb_txn_begin(d->env, NULL, 0, &txn) ||
	    mdb_dbi_open(txn, "audit_filter", MDB_CREATE, &d->dbi) || mdb_txn_commit(txn)) {
		fprintf(stderr, "cannot open a test LMDB in /tmp\n");
		exit(2);
	}
}

static void db_close(struct db *d)
{
	char path[96];

	mdb_env_close(d->env);
	snprintf(path, sizeof(path), "%s/data.mdb", d->dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/lock.mdb", d->dir);
	unlink(path);
	rmdir(d->dir);
}

/* Stores the filter of block i: its span, or magic "RAF1", or a damaged value. */
static void filter_put(struct db *d, uint64_t i, const char *magic, uint64_t tmin, uint64_t tmax)
{
	uint8_t key[8], val[ROSTER_AFILTER_HEAD + 8] = {0};
	MDB_val k = {8, key}, v = {sizeof(val), val};
	MDB_txn *txn;

	roster_be64_put(key, i * BLOCK);
	memcpy(val, magic, 4);
	roster_be64_put(val + 4, i * BLOCK);
	roster_be32_put(val + 12, BLOCK);
	roster_be64_put(val + 16, tmin);
	roster_be64_put(val + 24, tmax);
	if (strcmp(magic, "RAF1") == 0) /* no span: the bits follow the first 16 bytes */
		v.mv_size = ROSTER_AFILTER_HEAD1 + 8;
	if (strcmp(magic, "bad!") == 0)
		v.mv_size = 3;
	if (mdb_txn_begin(d->env, NULL, 0, &txn) || mdb_put(txn, d->dbi, &k, &v, 0) ||
	    mdb_txn_commit(txn))
		exit(2);
}

static int extend(struct db *d, struct aspan *s, size_t max, int *more)
{
	MDB_txn *txn;
	int rc;

	if (mdb_txn_begin(d->env, NULL, MDB_RDONLY, &txn))
		exit(2);
	rc = aspan_extend(s, txn, d->dbi, max, more);
	mdb_txn_abort(txn);
	return rc;
}

/* Times: block i's entries lie in [T(span[i].lo), T(span[i].hi)]. */
#define T(x) (20260101000000ULL + (uint64_t)(x))

struct span {
	uint64_t lo, hi;
	int kind; /* 0 RAF2, 1 no span (zeros), 2 damaged, 3 missing */
};

/* From every block's start, the blocks aspan_next passes over must hold no
 * match: plain filters whose span the question's rules out. */
static void against_brute(struct aspan *s, const struct span *sp, size_t nblocks, uint64_t since,
                          uint64_t until, const char *what)
{
	size_t wrong = 0;

	for (size_t b = 0; b < nblocks; b++) {
		uint64_t skipped = 0, next = aspan_next(s, b * BLOCK, since, until, &skipped);

		for (uint64_t e = b * BLOCK; e < next; e += BLOCK) {
			const struct span *x = &sp[e / BLOCK];

			if (e / BLOCK >= nblocks || x->kind != 0 ||
			    !((since && T(x->hi) < since) || (until && T(x->lo) > until)))
				wrong++;
		}
	}
	CHECK(wrong == 0, "%s: %zu blocks passed over that may hold a match", what, wrong);
}

#define RUN(r) ((uint64_t)(r)*ASPAN_RUN * BLOCK) /* the first entry of run r */

int main(void)
{
	struct db d;
	struct aspan *s = aspan_new();
	struct span sp[7 * ASPAN_RUN];
	const size_t n = sizeof(sp) / sizeof(sp[0]);
	uint64_t skipped = 0;
	int more;

	db_open(&d);
	/* Times rising from run 0 to run 1, then a clock set back (run 2 earlier
	 * than run 1), a damaged filter (run 3), a filter without a span (run 4), a
	 * block no filter covers (run 5, which then reaches one block further), and
	 * run 6 one filter short of whole. */
	for (size_t i = 0; i < n; i++) {
		size_t run = i / ASPAN_RUN, j = i % ASPAN_RUN;

		sp[i] = (struct span){.lo = 1000 * run + j, .hi = 1000 * run + j + 5};
		if (run == 2)
			sp[i].lo = 500 + j, sp[i].hi = 600;
		if (run == 3 && j == 7)
			sp[i].kind = 2;
		if (run == 4 && j == 60)
			sp[i].kind = 1;
		if (run == 5 && j == 30)
			sp[i].kind = 3;
	}
	/* The first filter is 0.7.3's: nothing is summarised until it is rewritten. */
	filter_put(&d, 0, "RAF1", 0, 0);
	for (size_t i = 1; i < n; i++)
		if (sp[i].kind != 3)
			filter_put(&d, i, sp[i].kind == 2 ? "bad!" : "RAF2",
			           sp[i].kind == 1 ? 0 : T(sp[i].lo),
			           sp[i].kind == 1 ? 0 : T(sp[i].hi));
	CHECK(extend(&d, s, 100, &more) == 0 && !more, "a summary that waits is no error");
	CHECK(aspan_next(s, 0, T(5000), 0, &skipped) == 0 && skipped == 0,
	      "nothing passed over before 0.7.3's filter is rewritten");
	filter_put(&d, 0, "RAF2", T(sp[0].lo), T(sp[0].hi));

	CHECK(extend(&d, s, 2, &more) == 0 && more, "two runs at a time: more are left");
	CHECK(aspan_next(s, 0, T(2000), 0, &skipped) == RUN(2),
	      "since run 2's time: runs 0 and 1 passed over, no further yet");
	CHECK(skipped == 2 * ASPAN_RUN, "their filters counted (%llu)",
	      (unsigned long long)skipped);
	CHECK(extend(&d, s, 100, &more) == 0 && !more, "then the rest, from where it stopped");
	CHECK(aspan_next(s, 0, 0, 0, &skipped) == 0, "an open span passes over nothing");
	CHECK(aspan_next(s, 5, T(3000), 0, &skipped) == RUN(3),
	      "from inside run 0, since 3000: runs 0 to 2 (the clock set back) passed over");
	CHECK(aspan_next(s, 0, T(1000), 0, &skipped) == RUN(1),
	      "since 1000: run 0 only (run 1 reaches 1000)");
	CHECK(aspan_next(s, RUN(1), 0, T(600), &skipped) == RUN(2),
	      "until 600 from run 1: run 1 (all later) passed over, run 2 (set back) not");
	CHECK(aspan_next(s, RUN(3), T(9000), 0, &skipped) == RUN(3),
	      "a run with a damaged filter is never passed over");
	CHECK(aspan_next(s, RUN(4), T(9000), 0, &skipped) == RUN(4),
	      "nor one with a filter without a span");
	CHECK(aspan_next(s, RUN(5), T(9000), 0, &skipped) == RUN(5),
	      "nor one with a block no filter covers");
	CHECK(aspan_next(s, RUN(6) + BLOCK, T(9000), 0, &skipped) == RUN(6) + BLOCK,
	      "nor run 6, not yet whole");
	for (uint64_t since = 0; since <= 7000; since += 250)
		for (uint64_t until = 0; until <= 7000; until += 250) {
			char what[64];

			snprintf(what, sizeof(what), "since %llu until %llu",
			         (unsigned long long)since, (unsigned long long)until);
			against_brute(s, sp, n, since ? T(since) : 0, until ? T(until) : 0, what);
		}
	/* Run 6 began a block late (run 5 took the block after the gap): its last
	 * filter makes it whole. */
	filter_put(&d, n, "RAF2", T(6100), T(6105));
	CHECK(extend(&d, s, 100, &more) == 0 && !more, "run 6 whole");
	CHECK(aspan_next(s, RUN(6) + BLOCK, T(9000), 0, &skipped) == RUN(7) + BLOCK,
	      "and passed over");
	aspan_free(s);
	db_close(&d);
	return test_done();
}
