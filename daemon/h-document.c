/*
 * h-document.c - travel document routes: register, read, list by person or by
 * custody state, and custody events through the state machine in lib/document.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rosterd.h"
#include "roster/record.h"

static const char *str(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static int create_apply(struct wtxn *w, struct op *op)
{
	struct store *st = &w->srv->store;
	const struct owned_kind kind = {"document",        "documents",      st->documents,
	                                st->doc_by_person, st->doc_by_state, "custody"};
	int rc = 0;

	if (search_doc_unique(w, op->body, &op->err) < 0 ||
	    (rc = rec_create_owned(w, op, &kind, str(op->body, "custody"))) != 0)
		return rc == 0 ? -1 : rc;
	return search_doc_add(w, op->body, op->target);
}

int h_doc_create(struct server *srv, struct op *op, const char *id)
{
	(void)srv;
	(void)id;
	if ((op->body = http_body_json(op->req, &op->err)) == NULL ||
	    roster_document_check_new(op->body, &op->err) < 0)
		return -1;
	roster_id_new(op->target, sizeof(op->target), "doc_");
	op->apply = create_apply;
	return 0;
}

static int get_apply(struct wtxn *w, struct op *op)
{
	return rec_reply(w, op, w->srv->store.documents, "documents");
}

int h_doc_get(struct server *srv, struct op *op, const char *id)
{
	(void)srv;
	(void)id;
	op->read = get_apply;
	return 0;
}

static int list_apply(struct wtxn *w, struct op *op)
{
	struct store *st = &w->srv->store;

	if (op->body) /* find by number and issuing country */
		return search_list(w, op, st->doc_idx, op->body, st->documents, "documents");
	return rec_list_filtered(w, op, st->doc_by_person, st->doc_by_state, "custody",
	                         st->documents, "documents");
}

int h_doc_list(struct server *srv, struct op *op, const char *id)
{
	char number[64], country[8];

	(void)srv;
	(void)id;
	if (http_query(op->req, "number", number, sizeof(number))) {
		if (http_query(op->req, "country", country, sizeof(country)) == NULL ||
		    !roster_valid_country(country))
			return roster_err_set(
			    &op->err, 400, "bad_query",
			    "find a document by ?number=N&country=CC (ISO 3166-1)");
		if (list_params(op->req, "doc_", op) < 0)
			return -1;
		op->body = search_doc_filter(number, country);
		if (json_array_size(op->body) == 0)
			return roster_err_set(&op->err, 400, "bad_query", "number is empty");
	} else if (list_filter_parse(op, "custody", "holder employer authority lost cancelled",
	                             "doc_", "documents") < 0) {
		return -1;
	}
	op->read = list_apply;
	return 0;
}

static int custody_apply(struct wtxn *w, struct op *op)
{
	struct store *st = &w->srv->store;
	const char *req_id = str(op->body, "request");
	json_t *doc = NULL, *travel = NULL;
	char *from = NULL;
	int rc = -1;

	if (rec_get(w, st->documents, "documents", op->target, &doc, &op->err) < 0)
		return -1;
	if (req_id && rec_get(w, st->travel, "travel", req_id, &travel, &op->err) < 0 &&
	    op->err.status != 404)
		goto done;
	from = roster_xstrdup(str(doc, "custody"));
	if (roster_custody_apply(doc, op->body, travel, op->peer.user, w->now, &op->err) < 0)
		goto done;
	rec_stamp(w, doc, 0);
	if ((rc = rec_put(w, st->documents, "documents", op->target, doc, op, &op->err)) ||
	    (rc = rec_state_move(w, st->doc_by_state, "custody", from, str(doc, "custody"),
	                         op->target)))
		goto done;
	op->reply = json_incref(doc);
done:
	free(from);
	json_decref(travel);
	json_decref(doc);
	return rc;
}

int h_doc_custody(struct server *srv, struct op *op, const char *id)
{
	(void)srv;
	(void)id;
	if ((op->body = http_body_json(op->req, &op->err)) == NULL ||
	    roster_custody_check(op->body, &op->err) < 0)
		return -1;
	op->apply = custody_apply;
	return 0;
}
