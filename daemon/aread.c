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
 * clerk's request.
 */
#include <stdio.h>
#include <stdlib.h>

#include <event2/buffer.h>

#include "rosterd.h"
#include "roster/log.h"

struct aread {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct op *queue, **tail;
	int stop;
};

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

static void *aread_main(void *arg)
{
	struct server *srv = arg;
	struct aread *ar = srv->aread;

	for (;;) {
		struct op *op;

		pthread_mutex_lock(&ar->lock);
		while (ar->queue == NULL && !ar->stop)
			pthread_cond_wait(&ar->cond, &ar->lock);
		if ((op = ar->queue) == NULL) {
			pthread_mutex_unlock(&ar->lock);
			return NULL;
		}
		if ((ar->queue = op->next) == NULL)
			ar->tail = &ar->queue;
		pthread_mutex_unlock(&ar->lock);
		if (op->query)
			afilter_answer(srv, op);
		else
			page_read(srv, op);
		op->reply_audit = AUDIT_READ;
		writer_hand_back(srv, op);
	}
}

int aread_start(struct server *srv, struct roster_err *err)
{
	struct aread *ar = roster_xcalloc(1, sizeof(*ar));

	ar->tail = &ar->queue;
	pthread_mutex_init(&ar->lock, NULL);
	pthread_cond_init(&ar->cond, NULL);
	srv->aread = ar;
	if (pthread_create(&ar->thread, NULL, aread_main, srv) != 0) {
		srv->aread = NULL;
		pthread_cond_destroy(&ar->cond);
		pthread_mutex_destroy(&ar->lock);
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
