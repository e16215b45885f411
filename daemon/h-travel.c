/*
 * h-travel.c - travel request routes: file, read, list by person or status,
 * decide (approvers; never one's own request), complete and cancel.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <sodium.h>

#include "rosterd.h"
#include "roster/record.h"

static const char *str(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static int create_apply(struct wtxn *w, struct op *op)
{
	struct store *st = &w->srv->store;
	const struct owned_kind kind = {"travel request",    "travel",
	                                st->travel,          st->travel_by_person,
	                                st->travel_by_state, "status"};

	json_object_set_new(op->body, "requested_by", json_string(op->peer.user));
	return rec_create_owned(w, op, &kind, "pending");
}

int h_travel_create(struct server *srv, struct op *op, const char *id)
{
	(void)srv;
	(void)id;
	if ((op->body = http_body_json(op->req, &op->err)) == NULL ||
	    roster_travel_check_new(op->body, &op->err) < 0)
		return -1;
	roster_id_new(op->target, sizeof(op->target), "trv_");
	op->apply = create_apply;
	return 0;
}

/* The request as stored; its person is noted for the entry. */
static int get_apply(struct wtxn *w, struct op *op)
{
	uint8_t *pt = NULL;
	size_t len = 0;
	json_t *t;

	if (rec_open(w, w->srv->store.travel, "travel", op->target, &pt, &len, &op->err) < 0)
		return -1;
	t = json_loadb((const char *)pt, len, 0, NULL);
	op_person_of(op, t);
	json_decref(t);
	op->reply_raw = evbuffer_new();
	evbuffer_add(op->reply_raw, pt, len);
	op->status = 200;
	sodium_memzero(pt, len);
	free(pt);
	return 0;
}

int h_travel_get(struct server *srv, struct op *op, const char *id)
{
	(void)srv;
	(void)id;
	op->read = get_apply;
	return 0;
}

static int list_apply(struct wtxn *w, struct op *op)
{
	struct store *st = &w->srv->store;

	return rec_list_filtered(w, op, st->travel_by_person, st->travel_by_state, "status",
	                         st->travel, "travel");
}

int h_travel_list(struct server *srv, struct op *op, const char *id)
{
	(void)srv;
	(void)id;
	if (list_filter_parse(op, "status", "pending approved denied completed cancelled", "trv_",
	                      "travel requests") < 0)
		return -1;
	op->read = list_apply;
	return 0;
}

/* Reads the request, lets change() move it, stores it and its status index. */
static int transition(struct wtxn *w, struct op *op, int (*change)(json_t *t, struct op *op))
{
	struct store *st = &w->srv->store;
	json_t *t;
	char *from;
	int rc = -1;

	if (rec_get(w, st->travel, "travel", op->target, &t, &op->err) < 0)
		return -1;
	op_person_of(op, t);
	from = roster_xstrdup(str(t, "status"));
	if (change(t, op) < 0)
		goto done;
	rec_stamp(w, t, 0);
	if ((rc = rec_put_reply(w, st->travel, "travel", op->target, t, op)) ||
	    (rc = rec_state_move(w, st->travel_by_state, "status", from, str(t, "status"),
	                         op->target)))
		goto done;
done:
	free(from);
	json_decref(t);
	return rc;
}

static int decide(json_t *t, struct op *op)
{
	return roster_travel_decide(t, op->body, op->peer.user, &op->err);
}

static int complete(json_t *t, struct op *op)
{
	return roster_travel_finish(t, "completed", &op->err);
}

static int cancel(json_t *t, struct op *op)
{
	return roster_travel_finish(t, "cancelled", &op->err);
}

static int decide_apply(struct wtxn *w, struct op *op)
{
	return transition(w, op, decide);
}

static int complete_apply(struct wtxn *w, struct op *op)
{
	return transition(w, op, complete);
}

static int cancel_apply(struct wtxn *w, struct op *op)
{
	return transition(w, op, cancel);
}

int h_travel_decide(struct server *srv, struct op *op, const char *id)
{
	(void)srv;
	(void)id;
	if ((op->body = http_body_json(op->req, &op->err)) == NULL ||
	    roster_decision_check(op->body, &op->err) < 0)
		return -1;
	op->apply = decide_apply;
	return 0;
}

int h_travel_complete(struct server *srv, struct op *op, const char *id)
{
	(void)srv;
	(void)id;
	op->apply = complete_apply;
	return 0;
}

int h_travel_cancel(struct server *srv, struct op *op, const char *id)
{
	(void)srv;
	(void)id;
	op->apply = cancel_apply;
	return 0;
}
