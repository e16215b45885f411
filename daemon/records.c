/*
 * records.c - what the handlers' apply functions have in common: reading one
 * record into the reply, listing records through an index, keeping a state
 * index in step, and the query parameters of lists.
 */
#include <stdio.h>
#include <string.h>

#include <event2/buffer.h>
#include <sodium.h>

#include "rosterd.h"

void op_reply_clear(struct op *op)
{
	json_decref(op->reply);
	op->reply = NULL;
	if (op->reply_raw)
		evbuffer_free(op->reply_raw);
	op->reply_raw = NULL;
}

void op_person_of(struct op *op, const json_t *rec)
{
	const char *person = json_string_value(json_object_get(rec, "person"));

	if (person && roster_id_valid(person, "per_"))
		snprintf(op->person, sizeof(op->person), "%s", person);
}

/* Appends a record's stored JSON to the op's serialised reply: a read replies with
 * the plaintext as sealed, with no parse and re-serialisation in between. */
static int reply_add_record(struct wtxn *w, struct op *op, MDB_dbi dbi, const char *db,
                            const char *id)
{
	uint8_t *pt = NULL;
	size_t ptlen = 0;

	if (rec_open(w, dbi, db, id, &pt, &ptlen, &op->err) < 0)
		return -1;
	evbuffer_add(op->reply_raw, pt, ptlen);
	sodium_memzero(pt, ptlen);
	free(pt);
	return 0;
}

int rec_reply(struct wtxn *w, struct op *op, MDB_dbi dbi, const char *db)
{
	op->reply_raw = evbuffer_new();
	op->status = 200;
	return reply_add_record(w, op, dbi, db, op->target);
}

/* Replies {"items": [...], "next": id|null} for the ids in op->targets. */
int rec_reply_items(struct wtxn *w, struct op *op, MDB_dbi dbi, const char *db, const char *next)
{
	json_t *next_v = next[0] ? json_string(next) : json_null();
	char *next_s = json_dumps(next_v, JSON_ENCODE_ANY);

	json_decref(next_v);
	op->reply_raw = evbuffer_new();
	op->status = 200;
	evbuffer_add(op->reply_raw, "{\"items\":[", 10);
	for (size_t i = 0; i < json_array_size(op->targets); i++) {
		if (i > 0)
			evbuffer_add(op->reply_raw, ",", 1);
		if (reply_add_record(w, op, dbi, db,
		                     json_string_value(json_array_get(op->targets, i))) < 0) {
			free(next_s);
			return -1;
		}
	}
	evbuffer_add_printf(op->reply_raw, "],\"next\":%s}", next_s ? next_s : "null");
	free(next_s);
	return 0;
}

int rec_list_index(struct wtxn *w, struct op *op, MDB_dbi idx, const void *key, size_t klen,
                   MDB_dbi dbi, const char *db)
{
	char next[ROSTER_ID_MAX];

	op->targets = json_array();
	if (idx_list(w, idx, key, klen, op->param[0] ? op->param : NULL, op->limit, op->targets,
	             next, &op->err) < 0)
		return -1;
	return rec_reply_items(w, op, dbi, db, next);
}

int rec_list_all(struct wtxn *w, struct op *op, MDB_dbi dbi, const char *db)
{
	MDB_val k = {strlen(op->param), op->param}, v;
	char next[ROSTER_ID_MAX] = "";
	MDB_cursor *cur;
	int rc = mdb_cursor_open(w->txn, dbi, &cur);

	if (rc)
		return store_mdb_err(&op->err, rc, "listing records");
	op->targets = json_array();
	rc = op->param[0] ? mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE)
	                  : mdb_cursor_get(cur, &k, &v, MDB_FIRST);
	if (rc == 0 && op->param[0] && k.mv_size == strlen(op->param) &&
	    memcmp(k.mv_data, op->param, k.mv_size) == 0)
		rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	while (rc == 0 && json_array_size(op->targets) < op->limit) {
		json_array_append_new(op->targets, json_stringn(k.mv_data, k.mv_size));
		rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	}
	if (rc == 0)
		snprintf(next, sizeof(next), "%s",
		         json_string_value(json_array_get(op->targets, op->limit - 1)));
	mdb_cursor_close(cur);
	if (rc && rc != MDB_NOTFOUND)
		return store_mdb_err(&op->err, rc, "listing records");
	return rec_reply_items(w, op, dbi, db, next);
}

int rec_state_move(struct wtxn *w, MDB_dbi idx, const char *kind, const char *from, const char *to,
                   const char *id)
{
	int rc;

	if (from && to && strcmp(from, to) == 0)
		return 0;
	if (from && (rc = idx_del_term(w, idx, kind, from, id)) != 0)
		return rc;
	return idx_put_term(w, idx, kind, to, id);
}

/* Stamps a changed record: next version, updated now (and created, when new). */
void rec_stamp(struct wtxn *w, json_t *rec, int creating)
{
	json_int_t v = json_integer_value(json_object_get(rec, "version"));

	json_object_set_new(rec, "version", json_integer(creating ? 1 : v + 1));
	if (creating)
		json_object_set_new(rec, "created", json_string(w->now));
	json_object_set_new(rec, "updated", json_string(w->now));
}

int rec_exists(struct wtxn *w, MDB_dbi dbi, const char *id)
{
	MDB_val k = {strlen(id), (void *)id}, v;

	return mdb_get(w->txn, dbi, &k, &v) == 0;
}

/* ?after=ID&limit=N, shared by every list. */
int list_params(struct evhttp_request *req, const char *prefix, struct op *op)
{
	char after[ROSTER_ID_MAX];

	if (http_query_limit(req, 50, 500, &op->limit, &op->err) < 0)
		return -1;
	if (http_query(req, "after", after, sizeof(after)) == NULL)
		return 0;
	if (!roster_id_valid(after, prefix))
		return roster_err_set(
		    &op->err, 400, "bad_query",
		    "after must be the id of the last record of the previous page");
	snprintf(op->param, sizeof(op->param), "%s", after);
	return 0;
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

/* ?person=ID or ?<state_param>=STATE (exactly one), then ?after and ?limit. */
int list_filter_parse(struct op *op, const char *state_param, const char *states,
                      const char *prefix, const char *what)
{
	char person[ROSTER_ID_MAX], state[32];
	int by_person = http_query(op->req, "person", person, sizeof(person)) != NULL;
	int by_state = http_query(op->req, state_param, state, sizeof(state)) != NULL;

	if (by_person == by_state)
		return roster_err_set(&op->err, 400, "bad_query",
		                      "list %s by ?person=ID or by ?%s=STATE (one of them)", what,
		                      state_param);
	if (by_person && !roster_id_valid(person, "per_"))
		return roster_err_set(&op->err, 400, "bad_query", "person must be a person id");
	if (by_state && !state_known(state, states))
		return roster_err_set(&op->err, 400, "bad_query", "%s must be one of: %s",
		                      state_param, states);
	if (list_params(op->req, prefix, op) < 0)
		return -1;
	if (by_person)
		snprintf(op->target, sizeof(op->target), "%s", person);
	else
		snprintf(op->param2, sizeof(op->param2), "%s", state);
	return 0;
}

/* Lists through the person index, or the state index tagged with kind. */
int rec_list_filtered(struct wtxn *w, struct op *op, MDB_dbi by_person, MDB_dbi by_state,
                      const char *kind, MDB_dbi dbi, const char *db)
{
	uint8_t tag[16];

	if (op->param2[0] == '\0')
		return rec_list_index(w, op, by_person, op->target, strlen(op->target), dbi, db);
	keys_tag(w->keys, kind, op->param2, tag);
	return rec_list_index(w, op, by_state, tag, sizeof(tag), dbi, db);
}

/* Stores a new record that belongs to a person (documents, travel requests): the
 * person must exist; the record is indexed by person and by its state. */
int rec_create_owned(struct wtxn *w, struct op *op, const struct owned_kind *k, const char *state)
{
	const char *person = json_string_value(json_object_get(op->body, "person"));
	int rc;

	if (!rec_exists(w, w->srv->store.persons, person))
		return roster_err_set(&op->err, 422, "no_such_person",
		                      "%s field 'person': no person %s in the registry", k->what,
		                      person);
	op_person_of(op, op->body);
	json_object_set_new(op->body, "id", json_string(op->target));
	rec_stamp(w, op->body, 1);
	if ((rc = rec_put_reply(w, k->dbi, k->db, op->target, op->body, op)) ||
	    (rc = idx_put(w, k->by_person, person, strlen(person), op->target)) ||
	    (rc = rec_state_move(w, k->by_state, k->state_kind, NULL, state, op->target)))
		return rc;
	op->status = 201;
	return 0;
}
