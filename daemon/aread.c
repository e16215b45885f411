/*
 * aread.c - audit entries read off the main thread.
 *
 * A page of `audit export` (up to 10,000 entries) or the reply to an audit
 * question (up to about 32,000 entries passed over, audit-filter.c) takes
 * milliseconds to gather, tens of them on a large log; on the main thread every
 * other client's request waited that long. After the commit that records the
 * read, server.c hands the op here instead: one thread reads the committed log
 * in a read transaction of its own into the op's reply buffer and hands the op
 * back through the writer's done queue, and the main thread sends it. One
 * thread, so auditors' reads queue behind each other and never in front of a
 * clerk's request. While idle it summarises the time spans of the log's runs of
 * filters (audit-span.c), which it alone keeps.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <event2/buffer.h>

#include "rosterd.h"
#include "roster/log.h"

struct aread {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond; /* on the monotonic clock */
	struct op *queue, **tail;
	int stop;
	struct aspan *span; /* the reader thread's own */
	int span_more;      /* whole runs are left to summarise */
};

/* While idle: SPAN_RUNS_IDLE runs (a few milliseconds) every SPAN_IDLE_MS until
 * the summary has caught up, from the start; then again every SPAN_WAIT_S, for
 * filters 0.7.3 wrote that have since been rewritten. */
#define SPAN_RUNS_IDLE 16
#define SPAN_IDLE_MS   10
#define SPAN_WAIT_S    5

/* Entries [seq_from, seq_to) as JSON lines, byte for byte as hashed. */
static void page_read(struct server *srv, struct op *op)
{
	struct store *st = &srv->store;
	MDB_txn *txn = NULL;
	MDB_cursor *cur;
	uint8_t key[8];
	MDB_val k = {8, key}, v;
	int rc;

	op->reply_raw = evbuffer_new();
	pthread_rwlock_rdlock(&st->resize);
	rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn);
	if (rc == 0 && (rc = mdb_cursor_open(txn, st->audit, &cur)) == 0) {
		roster_be64_put(key, op->seq_from);
		rc = op->seq_from < op->seq_to ? mdb_cursor_get(cur, &k, &v, MDB_SET_KEY)
		                               : MDB_NOTFOUND;
		for (uint64_t seq = op->seq_from; rc == 0 && seq < op->seq_to; seq++) {
			evbuffer_add(op->reply_raw, v.mv_data, v.mv_size);
			evbuffer_add(op->reply_raw, "\n", 1);
			rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
		}
		mdb_cursor_close(cur);
	}
	if (txn)
		mdb_txn_abort(txn);
	pthread_rwlock_unlock(&st->resize);
	if (rc != 0 && rc != MDB_NOTFOUND)
		aread_fail(op, rc);
}

void aread_fail(struct op *op, int rc)
{
	store_mdb_err(&op->err, rc, "reading the audit log");
	op->status = op->err.status;
	op_reply_clear(op);
}

/* The next runs' spans, in a read transaction of their own. */
static void span_extend(struct server *srv, struct aread *ar)
{
	struct store *st = &srv->store;
	MDB_txn *txn;
	int rc;

	pthread_rwlock_rdlock(&st->resize);
	if ((rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn)) == 0) {
		rc = aspan_extend(ar->span, txn, st->audit_filter, SPAN_RUNS_IDLE, &ar->span_more);
		mdb_txn_abort(txn);
	}
	pthread_rwlock_unlock(&st->resize);
	if (rc != 0) /* questions read the filters one by one meanwhile */
		log_warnx("summarising the audit filters' time spans: %s", mdb_strerror(rc));
}

/* Waits for an op, or for the idle summary's next step (0 returned). */
static int aread_wait(struct aread *ar)
{
	struct timespec at;
	long ms = ar->span_more ? SPAN_IDLE_MS : SPAN_WAIT_S * 1000L;

	clock_gettime(CLOCK_MONOTONIC, &at);
	at.tv_sec += ms / 1000;
	at.tv_nsec += (ms % 1000) * 1000000L;
	if (at.tv_nsec >= 1000000000L) {
		at.tv_sec++;
		at.tv_nsec -= 1000000000L;
	}
	while (ar->queue == NULL && !ar->stop)
		if (pthread_cond_timedwait(&ar->cond, &ar->lock, &at) == ETIMEDOUT)
			return ar->queue != NULL || ar->stop;
	return 1;
}

static void *aread_main(void *arg)
{
	struct server *srv = arg;
	struct aread *ar = srv->aread;

	for (;;) {
		struct op *op;

		pthread_mutex_lock(&ar->lock);
		if (!aread_wait(ar)) {
			pthread_mutex_unlock(&ar->lock);
			span_extend(srv, ar);
			continue;
		}
		if ((op = ar->queue) == NULL) {
			pthread_mutex_unlock(&ar->lock);
			return NULL;
		}
		if ((ar->queue = op->next) == NULL)
			ar->tail = &ar->queue;
		pthread_mutex_unlock(&ar->lock);
		if (op->query)
			afilter_answer(srv, op, ar->span);
		else
			page_read(srv, op);
		op->reply_audit = AUDIT_READ;
		writer_hand_back(srv, op);
	}
}

int aread_start(struct server *srv, struct roster_err *err)
{
	struct aread *ar = roster_xcalloc(1, sizeof(*ar));
	pthread_condattr_t attr;

	ar->tail = &ar->queue;
	ar->span = aspan_new();
	ar->span_more = 1; /* the runs already there, from the start */
	pthread_mutex_init(&ar->lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&ar->cond, &attr);
	pthread_condattr_destroy(&attr);
	srv->aread = ar;
	if (pthread_create(&ar->thread, NULL, aread_main, srv) != 0) {
		srv->aread = NULL;
		pthread_cond_destroy(&ar->cond);
		pthread_mutex_destroy(&ar->lock);
		aspan_free(ar->span);
		free(ar);
		return roster_err_set(err, 500, "internal", "cannot start the audit reader thread");
	}
	pthread_setname_np(ar->thread, "rosterd-aread"); /* for top -H, perf */
	return 0;
}

void aread_stop(struct server *srv)
{
	struct aread *ar = srv->aread;

	if (ar == NULL)
		return;
	pthread_mutex_lock(&ar->lock);
	ar->stop = 1;
	pthread_cond_signal(&ar->cond);
	pthread_mutex_unlock(&ar->lock);
	pthread_join(ar->thread, NULL);
	pthread_cond_destroy(&ar->cond);
	pthread_mutex_destroy(&ar->lock);
	aspan_free(ar->span);
	free(ar);
	srv->aread = NULL;
}

void aread_submit(struct server *srv, struct op *op)
{
	struct aread *ar = srv->aread;

	op->next = NULL;
	pthread_mutex_lock(&ar->lock);
	*ar->tail = op;
	ar->tail = &op->next;
	pthread_cond_signal(&ar->cond);
	pthread_mutex_unlock(&ar->lock);
}

void aread_reply(struct op *op)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(op->req);
	char num[24];

	evhttp_add_header(h, "Content-Type", "application/jsonl");
	if (op->query) {
		if (op->seq_from < op->seq_to) { /* stopped early: asked again from here */
			snprintf(num, sizeof(num), "%llu", (unsigned long long)op->seq_from);
			evhttp_add_header(h, "Roster-Audit-Next", num);
		}
		/* Says the question was answered, not a page of the log sent: a daemon
		 * before 0.7.4 sends a page for conditions it does not know. */
		snprintf(num, sizeof(num), "%llu", (unsigned long long)op->seq_to);
		evhttp_add_header(h, "Roster-Audit-End", num);
	}
	evhttp_send_reply(op->req, 200, "OK", op->reply_raw);
}
