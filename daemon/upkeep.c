/*
 * upkeep.c - the writer's background work: merging the person index's log
 * (idxlog.c), re-encrypting records after a data key rotation (rotate.c),
 * walking them after an index key rotation (reindex.c), and the audit log's
 * block filters an idle writer is behind on (audit-filter.c). Re-encryption,
 * walks and filters run in transactions of their own between client batches
 * (walks one after each batch under load, back to back when idle). A merge
 * slice rides in the client batch's own transaction under load, sharing its
 * commit and journal sync, and runs alone only when idle. Requests wait for a
 * slice either way, so each is sized from how long the last took.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "rosterd.h"
#include "roster/log.h"
#include "writer.h"

/* Background work: merging the index log once it holds index_log_entries entries
 * (until that pass is done; all of it when stopping), and what a key rotation
 * left: re-encryption first, then the index walk. */
int merge_due(struct server *srv, struct writer *wr)
{
	return wr->ilog_n > 0 &&
	       (wr->ilog_n >= srv->cfg.index_log_entries || idxlog_pass_active(wr->pass) ||
	        wr->stop) &&
	       !wr->upkeep_failed && !wr->disk_full && !wr->failed;
}

int walk_due(struct server *srv, struct writer *wr)
{
	const struct keyring *kr = &srv->keys;

	return (kr->nold > 0 || kr->index_next || kr->index_old) && !wr->upkeep_failed &&
	       !wr->disk_full && !wr->failed;
}

int afilter_behind(struct server *srv, struct writer *wr)
{
	return wr->afilter_end != AFILTER_OFF &&
	       wr->log_size >= wr->afilter_end + srv->cfg.audit_filter_block && !wr->disk_full &&
	       !wr->failed;
}

/* A filter 0.7.3 wrote is left to rewrite: only when nothing else is. */
static int afilter_old_due(struct writer *wr)
{
	return wr->afilter_old != AFILTER_OFF && !wr->disk_full && !wr->failed;
}

int convert_due(struct server *srv, struct writer *wr)
{
	return srv->store.tree_order == TREE_LEVELS && srv->cfg.tree_convert &&
	       !wr->convert_failed && !wr->disk_full && !wr->failed;
}

int writer_converting(struct server *srv)
{
	return convert_due(srv, srv->writer);
}

int upkeep_due(struct server *srv, struct writer *wr)
{
	return walk_due(srv, wr) || merge_due(srv, wr) || afilter_behind(srv, wr) ||
	       afilter_old_due(wr) || convert_due(srv, wr);
}

/* What a slice of that work changes in memory once it commits. */
struct upkeep {
	int merge;                /* the index log's merge */
	int index;                /* an index walk's slice, not a re-encryption's */
	int retired;              /* re-encryption done: drop the old data keys */
	enum reindex_event event; /* index walk: switch keys, or wipe the old one */
	struct reencrypt_progress prog;
};

/* Whether readers must be held off while the slice commits: it changes the keys
 * they open records or tag finds with. */
static int upkeep_rekeys(const struct upkeep *u)
{
	return u->merge ? 0 : u->index ? u->event == REINDEX_SWITCH : u->retired;
}

static void upkeep_stats(struct writer *wr, const struct upkeep *u)
{
	struct reencrypt_progress *p = u->index ? &wr->stats.reindex : &wr->stats.reencrypt;

	if (u->merge)
		return;
	pthread_mutex_lock(&wr->lock);
	if (u->index ? u->event == REINDEX_MORE : !u->retired)
		*p = u->prog;
	else
		memset(p, 0, sizeof(*p));
	pthread_mutex_unlock(&wr->lock);
}

/* Commits a slice of re-encryption or of an index walk (the txn is gone either
 * way). A slice that changes keys readers use does so while they are held off,
 * so no reader is left with keys the writer has wiped or pairs a snapshot with
 * the other index key. */
static int upkeep_commit(struct server *srv, struct writer *wr, struct wtxn *w,
                         const struct upkeep *u, struct roster_err *err)
{
	int rc, hold = upkeep_rekeys(u);

	if (hold)
		snapshot_keys_hold(srv);
	if ((rc = mdb_txn_commit(w->txn)) != 0) {
		if (hold)
			snapshot_keys_release(srv, 0);
		return rc;
	}
	if (journal_commit(&srv->store, err) < 0) {
		if (hold)
			snapshot_keys_release(srv, 0);
		return ROSTER_FATAL;
	}
	if (u->merge) {
		idxlog_pass_commit(wr->pass);
	} else if (u->index) {
		reindex_after(&srv->keys, u->event);
	} else if (u->retired) {
		keys_drop_old(&srv->keys);
		log_info("re-encryption done: older data keys retired and wiped");
	}
	if (hold)
		snapshot_keys_release(srv, 1);
	writer_adopt(wr, w); /* after the change: stats show what is still running */
	upkeep_stats(wr, u);
	return 0;
}

/* Requests arriving during a slice wait for it, and a slice's cost per record
 * grows with the registry (its index leaves are anywhere in large trees). While
 * clients are served, each slice is sized from how long the last took (n records
 * in `seconds`) to stay near reencrypt_slice_ms: shrinks at once, grows by a
 * quarter. A second after the last client batch nobody waits: whole slices of
 * reencrypt_batch records, the fastest walk. */
#define SLICE_QUIET 1.0
static size_t slice_size(struct server *srv, struct writer *wr)
{
	if (writer_now() - wr->last_client >= SLICE_QUIET)
		return srv->cfg.reencrypt_batch;
	return wr->slice;
}

size_t writer_slice_next(size_t n, double seconds, double budget, size_t max)
{
	size_t next = n;

	if (seconds > budget)
		next = (size_t)((double)n * budget / seconds);
	else if (seconds < budget * 0.75)
		next = n + n / 4 + 1;
	if (next < 1)
		next = 1;
	return next < max ? next : max;
}

/* A merge slice is sized the same way, in index changes; when quiet, or when the
 * log runs towards IDXLOG_MAX (where requests would drain it themselves), whole. */
#define MERGE_SLICE_MAX ((size_t)1 << 20)
static size_t merge_slice_size(struct writer *wr)
{
	if (writer_now() - wr->last_client >= SLICE_QUIET || wr->ilog_n >= IDXLOG_MAX / 2)
		return MERGE_SLICE_MAX;
	return wr->merge_slice;
}

/* Half the walks' budget: a slice's changes cost as much again in the commit that
 * writes their pages (measured: p99 of varied creates at 64 connections 20-23 ms
 * against 29-33 ms with the whole budget, the same throughput). */
static void merge_adapt(struct server *srv, struct writer *wr, size_t n, double seconds)
{
	wr->merge_slice = writer_slice_next(
	    n, seconds, (double)srv->cfg.reencrypt_slice_ms / 2000.0, MERGE_SLICE_MAX);
	pthread_mutex_lock(&wr->lock);
	wr->stats.merges++;
	wr->stats.merge_sum += seconds;
	pthread_mutex_unlock(&wr->lock);
}

static void slice_adapt(struct server *srv, struct writer *wr, size_t n, double seconds)
{
	wr->slice = writer_slice_next(n, seconds, (double)srv->cfg.reencrypt_slice_ms / 1000.0,
	                              srv->cfg.reencrypt_batch);
	pthread_mutex_lock(&wr->lock);
	wr->stats.slices++;
	wr->stats.slice_sum += seconds;
	wr->stats.slice_last = n;
	pthread_mutex_unlock(&wr->lock);
}

static void merge_stopped(struct writer *wr, const char *why)
{
	log_warnx("merging the index log stopped until a restart (finds still read it): %s", why);
	wr->upkeep_failed = 1;
}

int upkeep_merge_in_batch(struct server *srv, struct writer *wr, struct wtxn *w,
                          struct roster_err *err)
{
	double t0 = writer_now();
	int rc;

	wr->batch_merge.n = 0;
	if (wr->stop || !merge_due(srv, wr))
		return 0;
	wr->batch_merge.n = merge_slice_size(wr);
	rc = idxlog_merge_slice(w, wr->pass, wr->batch_merge.n, err);
	wr->batch_merge.seconds = writer_now() - t0;
	if (rc == ROSTER_RETRY || rc == ROSTER_FATAL)
		return rc;
	if (rc < 0) { /* nothing written: the batch goes on without it */
		merge_stopped(wr, err->message);
		wr->batch_merge.n = 0;
	}
	return 0;
}

void upkeep_batch_done(struct server *srv, struct writer *wr, int committed)
{
	if (committed && wr->batch_merge.n > 0) {
		idxlog_pass_commit(wr->pass);
		merge_adapt(srv, wr, wr->batch_merge.n, wr->batch_merge.seconds);
	}
	wr->batch_merge.n = 0;
}

/* One merge slice of the index log (idxlog.c), when `merges` allows, or one slice
 * of re-encryption after a data key rotation or of the walk after an index key
 * rotation (reindex.c), in its own transaction. */
void upkeep_run(struct server *srv, struct writer *wr, int merges)
{
	struct roster_err err = {0};
	struct upkeep u = {.merge = merges && merge_due(srv, wr), .index = srv->keys.nold == 0};
	const char *what = u.merge   ? "merging the index log"
	                   : u.index ? "the index walk"
	                             : "re-encrypting";
	double t0 = writer_now();
	size_t txnid, n = u.merge ? merge_slice_size(wr) : slice_size(srv, wr);
	int rc;

	for (;;) {
		struct wtxn w;

		if ((rc = writer_txn_begin(srv, wr, &w)) != 0) {
			store_mdb_err(&err, rc, what);
			break;
		}
		rc = u.merge && wr->stop ? idxlog_drain(&w, &err)
		     : u.merge           ? idxlog_merge_slice(&w, wr->pass, n, &err)
		     : u.index           ? reindex_step(&w, n, &u.event, &u.prog, &err)
		                         : reencrypt_step(&w, n, &u.retired, &u.prog, &err);
		if (rc >= 0)
			rc = batch_checkpoint(srv, wr, &w, NULL, &err);
		if (rc >= 0)
			rc = store_failed(&srv->store, &err);
		txnid = mdb_txn_id(w.txn);
		if (rc < 0) {
			mdb_txn_abort(w.txn);
		} else if ((rc = upkeep_commit(srv, wr, &w, &u, &err)) == 0) {
			if (!u.merge) {
				slice_adapt(srv, wr, n, writer_now() - t0);
				return;
			}
			merge_adapt(srv, wr, n, writer_now() - t0);
			return;
		} else if (rc == ROSTER_FATAL) {
			writer_fail(wr, &err);
			return;
		} else if (rc == MDB_MAP_FULL) {
			rc = ROSTER_RETRY;
		} else if (commit_nospace(srv, rc, txnid)) {
			/* Resumes after the next commit that finds room (see upkeep_due). */
			store_mdb_err(&err, rc, what);
			batch_nospace(wr, NULL, &err);
			return;
		}
		if (rc != ROSTER_RETRY || store_grow(&srv->store, &err) < 0)
			break;
	}
	if (u.merge) {
		merge_stopped(wr, err.message[0] ? err.message : mdb_strerror(rc));
		return;
	}
	log_warnx("%s stopped, the old %s key stays until a restart: %s",
	          u.index ? "the index key rotation" : "re-encryption", u.index ? "index" : "data",
	          err.message[0] ? err.message : mdb_strerror(rc));
	wr->upkeep_failed = 1;
}

/* Commits a transaction an idle writer made for work of its own (the txn is gone
 * either way): 0 once it is committed, journaled and adopted; OWN_HANDLED when
 * the caller has nothing left to do (the disk was full: the writer fails the
 * next requests as such and the work resumes once a commit finds room; or the
 * journal failed and the writer has stopped); ROSTER_RETRY on a full map; -1
 * otherwise. err says why. */
#define OWN_HANDLED 1
static int own_commit(struct server *srv, struct writer *wr, struct wtxn *w, const char *what,
                      struct roster_err *err)
{
	size_t txnid = mdb_txn_id(w->txn);
	int rc;

	if ((rc = mdb_txn_commit(w->txn)) == 0) {
		if (journal_commit(&srv->store, err) < 0) {
			writer_fail(wr, err);
			return OWN_HANDLED;
		}
		writer_adopt(wr, w);
		return 0;
	}
	store_mdb_err(err, rc, what);
	if (commit_nospace(srv, rc, txnid)) {
		batch_nospace(wr, NULL, err);
		return OWN_HANDLED;
	}
	return rc == MDB_MAP_FULL ? ROSTER_RETRY : -1;
}

/* An idle writer's block filter (a new one, else one 0.7.3 wrote, rewritten), in
 * a transaction of its own. A failure stops the filters until a restart: finds
 * read the entries after the last one, one by one, and stay right. */
void afilter_catch_up(struct server *srv, struct writer *wr)
{
	struct roster_err err = {0};
	int rc, behind = afilter_behind(srv, wr);

	for (;;) {
		uint64_t old = wr->afilter_old;
		struct wtxn w;

		if ((rc = writer_txn_begin(srv, wr, &w)) != 0) {
			store_mdb_err(&err, rc, "starting an audit filter's transaction");
			break;
		}
		rc = behind ? afilter_build_next(&w, srv->cfg.audit_filter_block, &err)
		            : afilter_upgrade_next(&w, &old, &err);
		if (rc == 0)
			rc = store_failed(&srv->store, &err);
		if (rc != 0) {
			mdb_txn_abort(w.txn);
		} else if ((rc = own_commit(srv, wr, &w, "storing an audit filter", &err)) == 0) {
			if (!behind && (wr->afilter_old = old) == AFILTER_OFF)
				log_info("the audit filters 0.7.3 wrote are rewritten");
			return;
		} else if (rc == OWN_HANDLED) { /* a full disk, or the writer stopped */
			return;
		}
		if (rc != ROSTER_RETRY || store_grow(&srv->store, &err) < 0)
			break;
	}
	log_warnx("audit filters stopped until a restart (finds read the entries after the "
	          "last one, one by one): %s",
	          err.message);
	wr->afilter_end = AFILTER_OFF;
	wr->afilter_old = AFILTER_OFF;
	pthread_mutex_lock(&wr->lock);
	wr->stats.afilter_end = AFILTER_OFF;
	pthread_mutex_unlock(&wr->lock);
}

/* Nodes a slice of the Merkle tree's conversion copies: tree_convert_slice, a
 * few milliseconds' worth by default, while clients are served (and then a
 * slice a second at most, see writer.c), eight times as many when none is
 * waiting, up to CONVERT_QUIET_MAX. Each node is a 54-byte change in the
 * journal's record, which is kept in memory until it is written. */
#define CONVERT_QUIET_TIMES 8
#define CONVERT_QUIET_MAX   65536

/* The slice that switched the order has committed. */
static void convert_done(struct server *srv, struct writer *wr, uint64_t size)
{
	tree_convert_switched(&srv->store);
	log_info("converted the Merkle tree of %llu entries to the order appends complete it in "
	         "%.0f s while serving",
	         (unsigned long long)size, wr->convert_at - wr->convert_t0);
}

/* One slice of the Merkle tree's conversion (tree-convert.c) in a transaction of
 * its own; the last one switches the registry to completion order. A damaged
 * tree stops it until a restart, left by level and served as before. */
void tree_convert_run(struct server *srv, struct writer *wr)
{
	struct roster_err err = {0};
	size_t n = srv->cfg.tree_convert_slice;
	int rc, switched = 0;

	if (writer_now() - wr->last_client >= SLICE_QUIET && n < CONVERT_QUIET_MAX)
		n = n * CONVERT_QUIET_TIMES < CONVERT_QUIET_MAX ? n * CONVERT_QUIET_TIMES
		                                                : CONVERT_QUIET_MAX;
	if (wr->convert_t0 == 0)
		wr->convert_t0 = writer_now();
	for (;;) {
		struct wtxn w;

		if ((rc = writer_txn_begin(srv, wr, &w)) != 0) {
			store_mdb_err(&err, rc, "starting the Merkle tree's conversion");
			break;
		}
		rc = tree_convert_slice(w.txn, &srv->store, w.log_size, n, &switched, &err);
		if (rc >= 0)
			rc = store_failed(&srv->store, &err);
		if (rc < 0) {
			mdb_txn_abort(w.txn);
		} else if ((rc = own_commit(srv, wr, &w, "converting the Merkle tree", &err)) ==
		           0) {
			wr->convert_at = writer_now();
			if (switched)
				convert_done(srv, wr, w.log_size);
			return;
		} else if (rc == OWN_HANDLED) { /* a full disk, or the writer stopped */
			return;
		}
		if (rc != ROSTER_RETRY || store_grow(&srv->store, &err) < 0)
			break;
	}
	log_warnx("%s: the Merkle tree stays in its order by level until a restart", err.message);
	wr->convert_failed = 1;
}
