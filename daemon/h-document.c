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
	const char *person = str(op->body, "person");
	int rc;

	if (!rec_exists(w, st->persons, person))
		return roster_err_set(&op->err, 422, "no_such_person",
		                      "document field 'person': no person %s in the registry",
		                      person);
	json_object_set_new(op->body, "id", json_string(op->target));
	rec_stamp(w, op->body, 1);
	if ((rc = rec_put(w, st->documents, "documents", op->target, op->body, op, &op->err)) ||
	    (rc = idx_put(w, st->doc_by_person, person, strlen(person), op->target)) ||
	    (rc = rec_state_move(w, st->doc_by_state, "custody", NULL, str(op->body, "custody"),
	                         op->target)))
		return rc;
	op->reply = json_incref(op->body);
	op->status = 201;
	return 0;
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
	op->apply = get_apply;
	return 0;
}

static int list_apply(struct wtxn *w, struct op *op)
{
	struct store *st = &w->srv->store;
	uint8_t tag[16];

	if (op->param2[0] == '\0')
		return rec_list_index(w, op, st->doc_by_person, op->target, strlen(op->target),
		                      st->documents, "documents");
	keys_tag(&w->srv->keys, "custody", op->param2, tag);
	return rec_list_index(w, op, st->doc_by_state, tag, sizeof(tag), st->documents,
	                      "documents");
}

/* Whether word is one of the space-separated words in list. */
int state_known(const char *word, const char *list)
{
	size_t n = strlen(word);

	for (const char *p = list; *p;) {
		size_t len = strcspn(p, " ");

		if (n && len == n && strncmp(p, word, n) == 0)
			return 1;
		p += len + (p[len] == ' ');
	}
	return 0;
}

int h_doc_list(struct server *srv, struct op *op, const char *id)
{
	static const char states[] = "holder employer authority lost cancelled";
	char person[ROSTER_ID_MAX], state[32];
	int by_person = http_query(op->req, "person", person, sizeof(person)) != NULL;
	int by_state = http_query(op->req, "custody", state, sizeof(state)) != NULL;

	(void)srv;
	(void)id;
	if (by_person == by_state)
		return roster_err_set(&op->err, 400, "bad_query",
		                      "list documents by ?person=ID or by ?custody=STATE (one of "
		                      "them)");
	if (by_person && !roster_id_valid(person, "per_"))
		return roster_err_set(&op->err, 400, "bad_query", "person must be a person id");
	if (by_state && !state_known(state, states))
		return roster_err_set(&op->err, 400, "bad_query", "custody must be one of: %s",
		                      states);
	if (list_params(op->req, "doc_", op) < 0)
		return -1;
	if (by_person)
		snprintf(op->target, sizeof(op->target), "%s", person);
	else
		snprintf(op->param2, sizeof(op->param2), "%s", state);
	op->apply = list_apply;
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
