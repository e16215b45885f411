/*
 * h-person.c - person routes. Each handler checks what it can on the main
 * thread (body shape, fields) and leaves an apply function for the writer,
 * which does the storage work inside the group-commit transaction.
 */
#include "rosterd.h"
#include "roster/record.h"

static int create_apply(struct wtxn *w, struct op *op)
{
	int rc;

	/* Tags made on the main thread hold unless the index key changed since. */
	if (op->tags->index_id != w->keys->index_id) {
		free(op->tags);
		op->tags = search_person_tags(w->keys, op->body);
	}
	if ((rc = search_person_add(w, op->tags, op->body, op->target, &op->err)) != 0)
		return rc; /* a full map (ROSTER_RETRY) must reach the writer as such */
	json_object_set_new(op->body, "id", json_string(op->target));
	rec_stamp(w, op->body, 1);
	if ((rc = rec_put_reply(w, w->srv->store.persons, "persons", op->target, op->body, op)))
		return rc;
	op->status = 201;
	return 0;
}

int h_person_create(struct server *srv, struct op *op, const char *id)
{
	(void)id;
	if ((op->body = http_body_json(op->req, &op->err)) == NULL ||
	    roster_person_check_new(op->body, &op->err) < 0)
		return -1;
	roster_id_new(op->target, sizeof(op->target), "per_");
	/* Normalising and tagging the indexed fields needs no transaction: done here,
	 * off the writer's thread. */
	op->tags = search_person_tags(snapshot_keys_lock(srv), op->body);
	snapshot_keys_unlock(srv);
	op->apply = create_apply;
	return 0;
}

static int get_apply(struct wtxn *w, struct op *op)
{
	return rec_reply(w, op, w->srv->store.persons, "persons");
}

int h_person_get(struct server *srv, struct op *op, const char *id)
{
	(void)srv;
	(void)id;
	op->read = get_apply;
	return 0;
}

static int update_apply(struct wtxn *w, struct op *op)
{
	json_t *rec, *next;
	json_int_t at;
	int rc;

	if (rec_get(w, w->srv->store.persons, "persons", op->target, &rec, &op->err) < 0)
		return -1;
	at = json_integer_value(json_object_get(rec, "version"));
	if ((uint64_t)at != op->version) {
		json_decref(rec);
		return roster_err_set(&op->err, 409, "stale_version",
		                      "person %s is at version %lld, not %llu: read it again and "
		                      "reapply your change",
		                      op->target, (long long)at, (unsigned long long)op->version);
	}
	next = json_deep_copy(rec);
	if (roster_person_merge(next, op->body, &op->err) < 0) {
		json_decref(rec);
		json_decref(next);
		return -1;
	}
	if (search_person_unique(w, next, op->target, &op->err) < 0) {
		json_decref(rec);
		json_decref(next);
		return -1;
	}
	rec_stamp(w, next, 0);
	rc = rec_put_reply(w, w->srv->store.persons, "persons", op->target, next, op);
	if (rc == 0)
		rc = search_person_update(w, rec, next, op->target, &op->err);
	json_decref(rec);
	json_decref(next);
	return rc;
}

int h_person_update(struct server *srv, struct op *op, const char *id)
{
	json_t *version;

	(void)srv;
	(void)id;
	if ((op->body = http_body_json(op->req, &op->err)) == NULL)
		return -1;
	version = json_object_get(op->body, "version");
	if (!json_is_integer(version) || json_integer_value(version) < 1)
		return roster_err_set(&op->err, 422, "missing_field",
		                      "an update needs 'version': the version you read, so a "
		                      "concurrent change is not overwritten");
	op->version = (uint64_t)json_integer_value(version);
	json_object_del(op->body, "version");
	op->apply = update_apply;
	return 0;
}

static int list_apply(struct wtxn *w, struct op *op)
{
	if (json_array_size(op->body) == 0)
		return rec_list_all(w, op, w->srv->store.persons, "persons");
	return search_list(w, op, w->srv->store.person_idx, op->body, w->srv->store.persons,
	                   "persons");
}

/* Every person, or those matching all of the filters (blind-index lookups). */
int h_person_list(struct server *srv, struct op *op, const char *id)
{
	(void)srv;
	(void)id;
	if (list_params(op->req, "per_", op) < 0 ||
	    (op->body = search_person_filters(op->req, &op->err)) == NULL)
		return -1;
	op->read = list_apply;
	return 0;
}
