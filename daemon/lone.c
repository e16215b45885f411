/*
 * lone.c - a request that arrives alone is committed by the main thread.
 *
 * The writer thread (writer.c) is there so that, under load, requests queue
 * while a commit is on its way to the disk and share the next one. A request
 * that arrives with no other in flight, the writer asleep, gains nothing from
 * it and pays two hand-offs between threads: the writer woken to commit, then
 * the main thread woken to reply. Where an idle CPU halts, as a virtual
 * machine's does, each wake-up costs tens of microseconds (bench/README.md,
 * twentieth round). Such a request is committed here, by the main thread, in
 * the transaction and with the journal sync a batch of one would have had, and
 * its reply written at once.
 *
 * It is held, not committed, where it is dispatched: an event at the loop's
 * lowest priority commits it once nothing else is ready, so that requests
 * that arrive together still go to the writer together (a request dispatched
 * while one is held takes it along to the writer's queue, ahead of itself).
 * The main thread writes only with the pen (writer.h), which the writer puts
 * down only to sleep; if it is taken, or work is queued, or the map must grow
 * (which waits for readers), the request goes to the writer like any other,
 * and so does one that holds a transaction long (an import: op->heavy).
 */
#include <pthread.h>

#include <event2/event.h>

#include "rosterd.h"
#include "roster/log.h"
#include "writer.h"

/* A request alone between batches of many is the first of the next batch: the
 * main thread, committing it, would leave the others unread meanwhile, and the
 * writer idle. So only while commits have carried about one request each. */
#define LONE_OPS_AVG_MAX 1.5

int lone_hold(struct server *srv, struct op *op)
{
	struct writer *wr = srv->writer;
	int alone;

	if (!srv->cfg.lone_commit || op->heavy || srv->in_flight != 1 || wr->lone != NULL)
		return 0;
	/* Held only for a writer asleep, so that a request that will go to it
	 * anyway is not kept waiting for the end of the loop's turn. */
	pthread_mutex_lock(&wr->lock);
	alone = wr->asleep && wr->queue == NULL && wr->ops_avg <= LONE_OPS_AVG_MAX;
	pthread_mutex_unlock(&wr->lock);
	if (!alone)
		return 0;
	wr->lone = op;
	event_active(srv->ev_lone, EV_TIMEOUT, 1);
	return 1;
}

struct op *lone_release(struct server *srv)
{
	struct writer *wr = srv->writer;
	struct op *op = wr->lone;

	wr->lone = NULL;
	return op;
}

/* Commits op if the writer sleeps with nothing queued: 1 when op is answered,
 * 0 when it is still the caller's to queue. */
static int lone_commit(struct server *srv, struct op *op)
{
	struct writer *wr = srv->writer;
	struct roster_err err = {0};
	int rc, wake;

	if (pthread_mutex_trylock(&wr->pen) != 0)
		return 0;
	/* With the pen the writer sleeps; that nothing is queued and that it has
	 * neither failed nor been told to stop since lone_hold looked, read again. */
	pthread_mutex_lock(&wr->lock);
	rc = wr->queue == NULL && !wr->failed && !wr->stop;
	pthread_mutex_unlock(&wr->lock);
	op->next = NULL;
	if (!rc || (rc = batch_try(srv, wr, op, &err)) == ROSTER_RETRY) {
		pthread_mutex_unlock(&wr->pen);
		return 0;
	}
	batch_settle(wr, op, rc, &err);
	wr->last_client = writer_now();
	writer_reply(srv, op); /* before the journal's upkeep, which the client need not wait for */
	writer_after(srv, wr, 0);
	pthread_mutex_lock(&wr->lock);
	wr->stats.lone++;
	/* A writer asleep with no time set must set one now that the log grew (to
	 * sign it and checkpoint the journal once quiet), and upkeep may be due. */
	wake = wr->asleep == ASLEEP_UNTIMED || upkeep_due(srv, wr);
	pthread_mutex_unlock(&wr->lock);
	pthread_mutex_unlock(&wr->pen);
	if (wake)
		pthread_cond_signal(&wr->cond);
	return 1;
}

static void lone_cb(evutil_socket_t fd, short what, void *arg)
{
	struct server *srv = arg;
	struct op *op = lone_release(srv);

	(void)fd;
	(void)what;
	if (op != NULL && !lone_commit(srv, op))
		writer_queue(srv, op);
}

void lone_start(struct server *srv)
{
	srv->ev_lone = event_new(srv->base, -1, 0, lone_cb, srv);
	if (srv->ev_lone == NULL || event_priority_set(srv->ev_lone, LOOP_PRIORITIES - 1) < 0)
		fatalx("cannot set up the commit of lone requests");
}

void lone_stop(struct server *srv)
{
	if (srv->ev_lone)
		event_free(srv->ev_lone);
	srv->ev_lone = NULL;
}
