/*
 * writer.c - the single writer and its group commit.
 *
 * Every audited request becomes an op. The main (libevent) thread queues ops;
 * this thread takes everything queued, applies it in ONE LMDB write transaction
 * (each op's record changes plus its audit entry), commits, makes the commit
 * durable with one journal write (journal.c), and hands the ops back to the
 * main thread, which replies. Under load, requests that arrive during a commit
 * share the next one; a request that arrives alone, with the writer asleep, is
 * committed by the main thread itself (lone.c), sparing it two hand-offs between
 * threads. No reply leaves before its entry is durable. Between batches the
 * thread does its background work (upkeep.c: index log merges, re-encryption,
 * index walks, the tree's conversion).
 *
 * An op's apply checks everything before it writes anything, so a rejected op
 * leaves only its audit entry. A full map aborts the batch, grows the map and
 * re-runs it. A full disk fails the batch (507) and writing goes on once space
 * is freed: LMDB had not switched to the new meta page, so nothing changed. Any
 * other failed commit stops all writing (fail-stop) until a restart.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "rosterd.h"
#include "roster/log.h"
#include "writer.h"

static void op_reset(struct op *op)
{
	if (op->apply == NULL)
		return; /* audit-only: its status and error were set by the handler */
	op_reply_clear(op);
	json_decref(op->targets);
	op->targets = NULL;
	op->object[0] = '\0';
	op->stored_target[0] = op->stored_object[0] = '\0';
	op->status = 200;
	memset(&op->err, 0, sizeof(op->err));
}

/* After a commit: the chain's state moves to the transaction's. */
static const double commit_bounds[WRITER_COMMIT_BUCKETS] = {0.0005, 0.001, 0.002, 0.005, 0.01,
                                                            0.02,   0.05,  0.1,   0.25,  1.0};

double writer_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void stats_commit(struct writer *wr, size_t ops, double seconds)
{
	size_t b = 0;

	while (b < WRITER_BATCH_BUCKETS - 1 && ((size_t)1 << b) < ops)
		b++;
	wr->stats.batch[b]++;
	wr->stats.batch_sum += ops;
	for (b = 0; b < WRITER_COMMIT_BUCKETS && seconds > commit_bounds[b]; b++)
		;
	wr->stats.commit[b]++;
	wr->stats.commit_sum += seconds;
	wr->stats.commits++;
	if (ops > 0) /* (a checkpoint signed alone carries none) */
		wr->ops_avg += ((double)ops - wr->ops_avg) / 8;
}

void writer_stats(struct server *srv, struct writer_stats *out, const double **bounds)
{
	pthread_mutex_lock(&srv->writer->lock);
	*out = srv->writer->stats;
	pthread_mutex_unlock(&srv->writer->lock);
	*bounds = commit_bounds;
}

void writer_adopt(struct writer *wr, const struct wtxn *w)
{
	pthread_mutex_lock(&wr->lock);
	wr->stats.active_data_key = w->srv->keys.data_id;
	wr->stats.retiring_data_keys = w->srv->keys.nold;
	wr->stats.reindex_phase = w->srv->keys.index_next ? 'b' : w->srv->keys.index_old ? 'c' : 0;
	if (wr->cp_size != w->cp_size)
		wr->cp_time = time(NULL);
	wr->cp_size = w->cp_size;
	wr->log_size = w->log_size;
	wr->ilog_next = w->ilog_next;
	wr->ilog_n = w->ilog_n;
	wr->ilog_gen = w->ilog_gen;
	wr->afilter_end = w->afilter_end;
	afilter_acc_commit(&wr->acc, w->afilter_end, w->log_size);
	wr->stats.index_log = w->ilog_n;
	wr->stats.afilter_end = w->afilter_end;
	memcpy(wr->head, w->head, sizeof(wr->head));
	if (wr->disk_full)
		log_info("the disk has room again: writing resumed");
	wr->disk_full = 0;
	pthread_mutex_unlock(&wr->lock);
}

/* Every op of the batch gets the same error and no reply. */
static void batch_fail(struct op *batch, int status, const char *code, const char *message)
{
	for (struct op *op = batch; op; op = op->next) {
		op_reply_clear(op);
		roster_err_set(&op->err, status, code, "%s", message);
		op->status = status;
	}
}

/* Fails the ops of a batch that found the disk full; writing goes on afterwards. */
void batch_nospace(struct writer *wr, struct op *batch, const struct roster_err *err)
{
	pthread_mutex_lock(&wr->lock);
	if (!wr->disk_full)
		log_warnx("the disk holding the registry is full; requests fail until space is "
		          "freed: %s",
		          err->message);
	wr->disk_full = 1;
	wr->cp_time = time(NULL); /* a due checkpoint waits its interval, not a busy loop */
	pthread_mutex_unlock(&wr->lock);
	batch_fail(batch, 507, "disk_full",
	           "the disk holding the registry is full: nothing of this request was "
	           "stored; retry once an administrator has freed space");
}

/* Signs a checkpoint into the batch's transaction when an op asks for one, or when
 * checkpoint_entries entries or checkpoint_seconds have passed since the last. */
int batch_checkpoint(struct server *srv, struct writer *wr, struct wtxn *w, struct op *batch,
                     struct roster_err *err)
{
	const uint8_t *cosigner = NULL;
	int asked = 0, rc;
	char *note;

	for (struct op *op = batch; op; op = op->next) {
		asked |= op->checkpoint && op->status < 400;
		if (op->newkey_kind == 's' && op->status < 400)
			cosigner = op->newkey;
	}
	if (w->log_size == wr->cp_size ||
	    !(asked || w->log_size - wr->cp_size >= srv->cfg.checkpoint_entries ||
	      time(NULL) - wr->cp_time >= (time_t)srv->cfg.checkpoint_seconds))
		return 0;
	if ((rc = checkpoint_sign(w, cosigner, &note, err)) != 0)
		return rc;
	for (struct op *op = batch; op; op = op->next)
		if (op->checkpoint && op->status < 400) {
			if (!json_is_object(op->reply)) {
				json_decref(op->reply);
				op->reply = json_object();
			}
			json_object_set_new(op->reply, "checkpoint", json_string(note));
			json_object_set_new(op->reply, "size",
			                    json_integer((json_int_t)w->log_size));
		}
	free(note);
	w->cp_size = w->log_size;
	return 0;
}

/* Undoes what the batch's ops changed in memory: their transaction is gone. */
static void batch_undo(struct server *srv, struct op *batch)
{
	for (struct op *op = batch; op; op = op->next)
		if (op->after_abort) {
			op->after_abort(srv, op);
			op->after_abort = NULL;
		}
}

/* A commit that failed for want of space is harmless when LMDB never adopted its
 * meta page: the data pages it wrote are free pages of the last committed state.
 * If the meta page did reach the map, whether it is on disk is unknown: fail-stop.
 * LMDB reports a short write (the usual sign of a full disk) as EIO, the same code
 * as a failed fsync, so an EIO counts as "no space" only when the filesystem is
 * nearly full; a failed fsync on a disk with room stays fail-stop. */
#define NOSPACE_BELOW (64ULL << 20)
int commit_nospace(struct server *srv, int rc, size_t txnid)
{
	MDB_envinfo info;
	struct statvfs vfs;

	if (rc != ENOSPC && rc != EDQUOT && rc != EIO)
		return 0;
	mdb_env_info(srv->store.env, &info);
	if (info.me_last_txnid >= txnid)
		return 0;
	if (rc == EIO && (statvfs(srv->cfg.data_dir, &vfs) < 0 ||
	                  (unsigned long long)vfs.f_bavail * vfs.f_frsize >= NOSPACE_BELOW))
		return 0;
	return 1;
}

/* Whether the batch changes the data keys readers open records with. */
static int batch_rekeys(const struct op *batch)
{
	for (const struct op *op = batch; op; op = op->next)
		if (op->newkey_kind == 'd' && op->status < 400)
			return 1;
	return 0;
}

int writer_txn_begin(struct server *srv, struct writer *wr, struct wtxn *w)
{
	int rc;

	*w = (struct wtxn){.srv = srv,
	                   .keys = &srv->keys,
	                   .log_size = wr->log_size,
	                   .cp_size = wr->cp_size,
	                   .ilog_next = wr->ilog_next,
	                   .ilog_n = wr->ilog_n,
	                   .ilog_gen = wr->ilog_gen,
	                   .afilter_end = wr->afilter_end,
	                   .acc = &wr->acc};
	afilter_acc_rewind(&wr->acc);
	memcpy(w->head, wr->head, sizeof(w->head));
	roster_time_rfc3339(w->now, time(NULL));
	if ((rc = mdb_txn_begin(srv->store.env, NULL, 0, &w->txn)) != 0)
		return rc;
	journal_capture(srv->store.journal);
	srv->store.failed = 0;
	return 0;
}

/* Keeping up costs one block's filter per block of entries, in the batch that
 * completes it. Catching up (an upgraded registry, a large import) goes a block
 * per tenth of a second while clients are served, since each batch that builds
 * one waits a few milliseconds for it, and block after block when idle. */
#define AFILTER_CATCH_UP 0.1
static int afilter_due_in_batch(struct server *srv, struct writer *wr, const struct wtxn *w)
{
	size_t block = srv->cfg.audit_filter_block;

	if (w->afilter_end == AFILTER_OFF || w->log_size < w->afilter_end + block)
		return 0;
	if (w->log_size >= w->afilter_end + 2 * block &&
	    writer_now() - wr->afilter_at < AFILTER_CATCH_UP)
		return 0;
	wr->afilter_at = writer_now();
	return 1;
}

/* Runs the batch in one transaction. Returns 0 when committed, ROSTER_RETRY when
 * the map must grow, ROSTER_NOSPACE when the disk is full (nothing changed), and
 * ROSTER_FATAL (with err) when nothing could be committed. */
int batch_try(struct server *srv, struct writer *wr, struct op *batch, struct roster_err *err)
{
	struct wtxn w;
	size_t nops = 0, txnid;
	double t0;
	int rc, rekey, durable;

	if ((rc = writer_txn_begin(srv, wr, &w)) != 0) {
		store_mdb_err(err, rc, "starting a write transaction");
		return rc == MDB_MAP_RESIZED ? ROSTER_RETRY : ROSTER_FATAL;
	}
	for (struct op *op = batch; op; op = op->next) {
		int rotated = w.rotated;

		nops++;
		op_reset(op);
		rc = op->apply ? op->apply(&w, op) : 0;
		if (rc != ROSTER_RETRY && rc != ROSTER_FATAL) {
			int failed = store_failed(&srv->store, &op->err);

			rc = failed ? failed : rc;
		}
		if (rc == ROSTER_RETRY || rc == ROSTER_FATAL) {
			if (rc == ROSTER_FATAL)
				*err = op->err;
			goto abort;
		}
		if (rc < 0) {
			w.rotated = rotated; /* refused before writing: the next rotation may go */
			op->status = op->err.status ? op->err.status : 500;
			op_reply_clear(op);
			op->object[0] = '\0';
			op->stored_target[0] = op->stored_object[0] = '\0';
		}
		op->outcome = outcome_of(op->status);
		if ((rc = audit_append(&w, op, err)) != 0)
			goto abort;
	}
	if ((afilter_due_in_batch(srv, wr, &w) &&
	     (rc = afilter_build_next(&w, srv->cfg.audit_filter_block, err)) != 0) ||
	    (rc = upkeep_merge_in_batch(srv, wr, &w, err)) != 0 ||
	    (rc = batch_checkpoint(srv, wr, &w, batch, err)) != 0 ||
	    (rc = store_failed(&srv->store, err)) != 0)
		goto abort;
	t0 = writer_now();
	txnid = mdb_txn_id(w.txn);
	if ((rekey = batch_rekeys(batch)) != 0)
		snapshot_keys_hold(srv);
	if ((rc = mdb_txn_commit(w.txn)) != 0) {
		store_mdb_err(err, rc, "committing");
		upkeep_batch_done(srv, wr, 0);
		batch_undo(srv, batch);
		if (rekey)
			snapshot_keys_release(srv, 0);
		if (rc == MDB_MAP_FULL)
			return ROSTER_RETRY;
		return commit_nospace(srv, rc, txnid) ? ROSTER_NOSPACE : ROSTER_FATAL;
	}
	/* Committed, visible to readers, and durable once journaled; replies wait for it. */
	durable = journal_commit(&srv->store, err);
	upkeep_batch_done(srv, wr, 1);
	pthread_mutex_lock(&wr->lock);
	stats_commit(wr, nops, writer_now() - t0);
	pthread_mutex_unlock(&wr->lock);
	for (struct op *op = batch; op; op = op->next) {
		if (op->after_commit && op->status < 400)
			op->after_commit(srv, op);
		op->after_abort = NULL;
	}
	if (rekey)
		snapshot_keys_release(srv, 1);
	writer_adopt(wr, &w); /* after after_commit, which may have installed a key */
	return durable < 0 ? ROSTER_FATAL : 0;
abort:
	mdb_txn_abort(w.txn);
	upkeep_batch_done(srv, wr, 0);
	batch_undo(srv, batch);
	return rc;
}

/* Fail-stop: nothing more is written until a restart. */
void writer_fail(struct writer *wr, const struct roster_err *err)
{
	log_warnx("write transaction failed, no longer accepting writes: %s", err->message);
	pthread_mutex_lock(&wr->lock);
	wr->failed = 1;
	pthread_mutex_unlock(&wr->lock);
}

void batch_settle(struct writer *wr, struct op *batch, int rc, const struct roster_err *err)
{
	if (rc == 0)
		return;
	if (rc == ROSTER_NOSPACE) {
		batch_nospace(wr, batch, err);
		return;
	}
	writer_fail(wr, err);
	batch_fail(batch, 503, "storage_failed",
	           "the registry could not store this request and has stopped taking writes: "
	           "an administrator must look at rosterd's log");
}

static void batch_run(struct server *srv, struct writer *wr, struct op *batch)
{
	struct roster_err err = {0};
	int rc;

	while ((rc = batch_try(srv, wr, batch, &err)) == ROSTER_RETRY)
		if (store_grow(&srv->store, &err) < 0) {
			rc = ROSTER_FATAL;
			break;
		}
	batch_settle(wr, batch, rc, &err);
}

/* Off the replies' path: the journal's upkeep after each commit (writeback: the
 * commit carried several requests, journal_after says why). */
void writer_after(struct server *srv, struct writer *wr, int writeback)
{
	struct journal_stats js;
	struct roster_err err;

	if (!writer_failed(srv) && journal_after(&srv->store, writeback, &err) < 0)
		writer_fail(wr, &err);
	store_prime(&srv->store);
	journal_stats(&srv->store, &js);
	pthread_mutex_lock(&wr->lock);
	wr->stats.journal = js;
	pthread_mutex_unlock(&wr->lock);
}

/* Sleeps with the pen put down, so that the main thread may commit a lone
 * request meanwhile; returns with it and the lock held again (pen first). */
static int writer_sleep(struct writer *wr, const struct timespec *until)
{
	int rc;

	pthread_mutex_unlock(&wr->pen);
	/* Untimed, a lone commit must wake us to set a time (lone.c). */
	wr->asleep = until ? ASLEEP_UNTIL : ASLEEP_UNTIMED;
	if (until == NULL)
		rc = pthread_cond_wait(&wr->cond, &wr->lock);
	else
		rc = pthread_cond_timedwait(&wr->cond, &wr->lock, until);
	wr->asleep = 0;
	pthread_mutex_unlock(&wr->lock);
	pthread_mutex_lock(&wr->pen);
	pthread_mutex_lock(&wr->lock);
	return rc;
}

/* Waits (with the pen and wr->lock held) for work. A quiet writer still signs
 * the log's checkpoint when checkpoint_seconds have passed since the last, and
 * checkpoints the journal after as long without a commit (its own or a lone
 * one): data.mdb on disk is whole by itself again, and the pages kept for the
 * last checkpoint are free. */
static void writer_wait(struct server *srv, struct writer *wr)
{
	const time_t quiet = (time_t)srv->cfg.checkpoint_seconds;
	time_t now = time(NULL), sign_at = wr->cp_time + quiet;
	struct journal_stats js;
	struct roster_err err;
	struct timespec at;
	int sign = wr->log_size != wr->cp_size, flush;

	journal_stats(&srv->store, &js); /* the pen holder owns the journal */
	flush = js.bytes > 0;
	at.tv_sec = sign ? sign_at : now + quiet;
	at.tv_nsec = 0;

	if (!sign && !flush) {
		writer_sleep(wr, NULL);
		return;
	}
	if (flush && now + quiet < at.tv_sec)
		at.tv_sec = now + quiet;
	if (writer_sleep(wr, &at) != ETIMEDOUT || wr->queue != NULL || wr->failed)
		return;
	/* Read again: a lone commit may have signed meanwhile (lone.c). */
	if (wr->log_size != wr->cp_size && time(NULL) >= wr->cp_time + quiet) {
		pthread_mutex_unlock(&wr->lock);
		batch_run(srv, wr, NULL); /* the log grew and went quiet: sign it on time */
	} else if (writer_now() - wr->last_client < (double)quiet) {
		return; /* lone commits meanwhile: not quiet yet */
	} else {
		pthread_mutex_unlock(&wr->lock);
		if (journal_checkpoint(&srv->store, 0, &err) < 0)
			writer_fail(wr, &err);
	}
	writer_after(srv, wr, 0);
	pthread_mutex_lock(&wr->lock);
}

/* Tells the main thread that finished ops wait on the done list. An eventfd of
 * our own rather than event_active: libevent's notification writes its own fd
 * while holding the event base's lock, so the main thread, woken by it, could
 * go straight back to sleep on that lock, and the writer wait for the main
 * thread's turn of the loop to take it (bench/README.md, nineteenth round).
 * Called with no lock held. */
static void writer_wake_main(struct writer *wr)
{
	uint64_t one = 1;

	while (write(wr->done_fd, &one, sizeof(one)) < 0 && errno == EINTR)
		;
}

static void *writer_main(void *arg)
{
	struct server *srv = arg;
	struct writer *wr = srv->writer;

	pthread_mutex_lock(&wr->pen); /* put down only to sleep (writer_sleep) */
	for (;;) {
		struct op *batch, **tail, *rest = NULL;
		size_t n = 0;

		pthread_mutex_lock(&wr->lock);
		while (wr->queue == NULL && !wr->stop && !upkeep_due(srv, wr))
			writer_wait(srv, wr);
		if (wr->queue == NULL && wr->stop && !merge_due(srv, wr)) {
			pthread_mutex_unlock(&wr->lock);
			pthread_mutex_unlock(&wr->pen);
			return NULL;
		}
		if (wr->queue == NULL) { /* idle, with a merge, a slice or a filter to do */
			pthread_mutex_unlock(&wr->lock);
			if (merge_due(srv, wr) || walk_due(srv, wr))
				upkeep_run(srv, wr, 1);
			else if (convert_due(srv, wr) && !afilter_behind(srv, wr))
				tree_convert_run(srv, wr);
			else
				afilter_catch_up(srv, wr);
			writer_after(srv, wr, 0);
			continue;
		}
		/* Take up to batch_max ops; leave the rest queued for the next commit. */
		batch = wr->queue;
		for (tail = &batch; *tail && n < srv->cfg.batch_max; tail = &(*tail)->next)
			n++;
		rest = *tail;
		*tail = NULL;
		wr->queue = rest;
		if (rest == NULL)
			wr->queue_tail = &wr->queue;
		pthread_mutex_unlock(&wr->lock);
		if (writer_failed(srv)) {
			batch_fail(batch, 503, "storage_failed",
			           "the registry has stopped taking writes after a storage "
			           "failure: see rosterd's log");
		} else {
			batch_run(srv, wr, batch);
			wr->last_client = writer_now();
		}
		pthread_mutex_lock(&wr->lock);
		*wr->done_tail = batch;
		wr->done_tail = tail;
		pthread_mutex_unlock(&wr->lock);
		writer_wake_main(wr);
		writer_after(srv, wr, n > 1);
		/* Under steady load a walk still advances a slice per batch (merges ride
		 * in the batches themselves). */
		if (walk_due(srv, wr)) {
			upkeep_run(srv, wr, 0);
			writer_after(srv, wr, 0);
		} else if (convert_due(srv, wr) && writer_now() - wr->convert_at >= 1.0) {
			/* The tree's conversion too, a slice a second at most. */
			tree_convert_run(srv, wr);
			writer_after(srv, wr, 0);
		}
	}
}

/* Main thread: replies to every op the writer has finished. */
static void writer_done_cb(evutil_socket_t fd, short what, void *arg)
{
	struct server *srv = arg;
	struct writer *wr = srv->writer;
	struct op *op;

	(void)what;
	if (fd >= 0) {
		uint64_t count;

		/* Empties the counter; a wake written after this is a later turn. */
		if (read(fd, &count, sizeof(count)) < 0 && errno != EAGAIN)
			log_warn("writer: reading its wake-up");
	}
	pthread_mutex_lock(&wr->lock);
	op = wr->done;
	wr->done = NULL;
	wr->done_tail = &wr->done;
	pthread_mutex_unlock(&wr->lock);
	/* Each reply written straight away (http_reply_flush) saves the main thread a
	 * turn of the loop. Until 0.7.2 a lone one was left to libevent: written
	 * sooner, it brought the client's next create to the writer while the last
	 * commit's pages were still on their way to the disk; a commit of one request
	 * no longer writes them back (journal_after; bench/README.md, eleventh and
	 * fifteenth rounds). */
	while (op) {
		struct op *next = op->next;

		writer_reply(srv, op);
		op = next;
	}
}

void writer_reply(struct server *srv, struct op *op)
{
	struct bufferevent *bev = http_reply_bev(op->req);
	int idle = bev && evbuffer_get_length(bufferevent_get_output(bev)) == 0;

	server_reply_done(srv, op); /* frees op, or hands it on (a backup, audit entries) */
	if (idle)
		http_reply_flush(bev);
}

int writer_start(struct server *srv, struct roster_err *err)
{
	struct writer *wr = roster_xcalloc(1, sizeof(*wr));
	MDB_txn *txn;
	int rc;

	wr->queue_tail = &wr->queue;
	wr->done_tail = &wr->done;
	wr->slice = srv->cfg.reencrypt_batch;
	pthread_mutex_init(&wr->lock, NULL);
	pthread_mutex_init(&wr->pen, NULL);
	pthread_cond_init(&wr->cond, NULL);
	if ((rc = mdb_txn_begin(srv->store.env, NULL, MDB_RDONLY, &txn)) != 0) {
		free(wr);
		return store_mdb_err(err, rc, "reading the audit log");
	}
	rc = audit_head_load(txn, srv->store.audit, &wr->log_size, wr->head, err);
	if (rc == 0)
		rc = checkpoint_latest(txn, srv->store.checkpoints, &wr->cp_size, NULL, err);
	if (rc == 0)
		rc = idxlog_state(txn, srv->store.person_idx_log, &wr->ilog_next, &wr->ilog_n, err);
	if (rc == 0)
		rc = afilter_end_load(txn, srv->store.audit_filter, &wr->afilter_end, err);
	if (rc == 0)
		rc = afilter_old_load(txn, srv->store.audit_filter, &wr->afilter_old, err);
	if (rc == 0 && wr->afilter_old != AFILTER_OFF)
		log_info("audit filters 0.7.3 wrote, up to entry %llu, are rewritten while the "
		         "writer is idle, for questions other than by target",
		         (unsigned long long)wr->afilter_old);
	wr->stats.index_log = wr->ilog_n;
	wr->stats.afilter_end = wr->afilter_end;
	wr->acc.first = wr->log_size; /* the entries before: read back for their filter */
	mdb_txn_abort(txn);
	wr->cp_time = time(NULL);
	wr->stats.reindex_phase = srv->keys.index_next ? 'b' : srv->keys.index_old ? 'c' : 0;
	/* A checkpoint is signed in the transaction of the entries it covers, so a
	 * shorter log than the latest checkpoint lost entries after the fact. */
	if (rc == 0 && wr->cp_size > wr->log_size)
		rc = roster_err_set(
		    err, 0, "audit_truncated",
		    "the audit log ends before entry %llu but a signed checkpoint "
		    "covers %llu entries: entries %llu to %llu are missing (the "
		    "data was truncated or rolled back); refusing to serve: restore "
		    "from a backup and run 'rosterctl audit verify'",
		    (unsigned long long)wr->log_size, (unsigned long long)wr->cp_size,
		    (unsigned long long)wr->log_size, (unsigned long long)wr->cp_size - 1);
	if (rc < 0) {
		free(wr);
		return -1;
	}
	if (rc == 0 && journal_begin(&srv->store, err) < 0)
		rc = -1;
	if (rc < 0) {
		free(wr);
		return -1;
	}
	if ((wr->done_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0) {
		rc = errno;
		free(wr);
		return roster_err_set(err, 0, "writer", "cannot make the writer's wake-up: %s",
		                      strerror(rc));
	}
	srv->writer = wr;
	srv->ev_done = event_new(srv->base, wr->done_fd, EV_READ | EV_PERSIST, writer_done_cb, srv);
	if (srv->ev_done == NULL || event_add(srv->ev_done, NULL) < 0)
		fatalx("writer: cannot watch its wake-up");
	lone_start(srv);
	wr->pass = idxlog_pass_new();
	wr->merge_slice = 512;
	if ((rc = pthread_create(&wr->thread, NULL, writer_main, srv)) == 0)
		pthread_setname_np(wr->thread, "rosterd-writer"); /* for top -H, perf */
	if (rc != 0) {
		lone_stop(srv);
		event_free(srv->ev_done);
		close(wr->done_fd);
		srv->writer = NULL;
		idxlog_pass_free(wr->pass);
		free(wr);
		return roster_err_set(err, 0, "writer", "cannot start the writer thread: %s",
		                      strerror(rc));
	}
	return 0;
}

/* Main thread: a lone request is held to the end of the loop's turn (lone.c);
 * one held goes to the writer ahead of the request that found it held. */
void writer_submit(struct server *srv, struct op *op)
{
	struct op *held = lone_release(srv);

	if (held == NULL && lone_hold(srv, op))
		return;
	if (held) {
		held->next = op;
		op->next = NULL;
		writer_queue(srv, held);
	} else {
		op->next = NULL;
		writer_queue(srv, op);
	}
}

/* Queues a list of ops for the writer. */
void writer_queue(struct server *srv, struct op *op)
{
	struct writer *wr = srv->writer;
	struct op *last = op;

	while (last->next)
		last = last->next;
	pthread_mutex_lock(&wr->lock);
	*wr->queue_tail = op;
	wr->queue_tail = &last->next;
	pthread_mutex_unlock(&wr->lock);
	/* After the unlock, so the woken writer does not block on the lock at once;
	 * it checks the queue under the lock before waiting, so no wake is lost. */
	pthread_cond_signal(&wr->cond);
}

void writer_hand_back(struct server *srv, struct op *op)
{
	struct writer *wr = srv->writer;

	op->next = NULL;
	pthread_mutex_lock(&wr->lock);
	*wr->done_tail = op;
	wr->done_tail = &op->next;
	pthread_mutex_unlock(&wr->lock);
	writer_wake_main(wr);
}

/* A flag the writer thread sets, read from another thread. */
static int writer_flag(struct server *srv, const int *flag)
{
	int v;

	pthread_mutex_lock(&srv->writer->lock);
	v = *flag;
	pthread_mutex_unlock(&srv->writer->lock);
	return v;
}

int writer_disk_full(struct server *srv)
{
	return writer_flag(srv, &srv->writer->disk_full);
}

int writer_failed(struct server *srv)
{
	return writer_flag(srv, &srv->writer->failed);
}

uint64_t writer_log_size(struct server *srv)
{
	uint64_t n;

	/* log_size is written by the writer between commits; the lock orders the read. */
	pthread_mutex_lock(&srv->writer->lock);
	n = srv->writer->log_size;
	pthread_mutex_unlock(&srv->writer->lock);
	return n;
}

void writer_stop(struct server *srv)
{
	struct writer *wr = srv->writer;
	struct op *held;

	if (wr == NULL)
		return;
	if ((held = lone_release(srv)) != NULL)
		writer_queue(srv, held); /* committed before the writer stops, as queued ones are */
	pthread_mutex_lock(&wr->lock);
	wr->stop = 1;
	pthread_cond_signal(&wr->cond);
	pthread_mutex_unlock(&wr->lock);
	pthread_join(wr->thread, NULL);
	journal_end(&srv->store); /* a clean stop: the next start has nothing to redo */
	writer_done_cb(-1, 0, srv);
	lone_stop(srv);
	event_free(srv->ev_done);
	close(wr->done_fd);
	pthread_mutex_destroy(&wr->lock);
	pthread_mutex_destroy(&wr->pen);
	pthread_cond_destroy(&wr->cond);
	idxlog_pass_free(wr->pass);
	free(wr->acc.v);
	free(wr);
	srv->writer = NULL;
}
