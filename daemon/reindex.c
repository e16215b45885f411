/*
 * reindex.c - index key rotation, online. The blind indexes (search.c) and the
 * state indexes (records.c) are keyed by tags made with the index key, so a new
 * key means new entries for every record. Doing that in one transaction held
 * every write back for as long as it took (18 s at a million persons); instead
 * `key rotate index` only adds the key, and the writer walks the records in
 * slices (reencrypt_batch per transaction, between client batches, like the
 * re-encryption after a data key rotation), in two phases:
 *
 *  - building: every index write goes under both keys (idx_put_term and
 *    idx_del_term), finds and uniqueness checks still use the old key, and the
 *    walk tags each record under the new one. When the walk ends, the slice's
 *    transaction makes the new key active; readers are held off while the
 *    committed keys they use are swapped (writer.c), so no find pairs a
 *    snapshot with the other key.
 *  - retiring: writes remove entries under the old key but add none, and a
 *    second walk removes each record's entries under it. Then the old key is
 *    deleted from the registry and wiped from memory.
 *
 * The phase and the walk's position are kept in `meta` in each slice's
 * transaction, so a restart resumes where it stopped (keys.c loads the key
 * being built or retired).
 */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "rosterd.h"
#include "roster/log.h"

/* The databases whose records are indexed under tags, in walking order. */
static const char *const tagged_dbs[] = {"persons", "documents", "travel"};
#define TAGGED_DBS 3

static MDB_dbi tagged_dbi(const struct store *st, int i)
{
	const MDB_dbi dbis[TAGGED_DBS] = {st->persons, st->documents, st->travel};

	return dbis[i];
}

int idx_put_term(struct wtxn *w, MDB_dbi idx, const char *kind, const char *value, const char *id)
{
	uint8_t tag[16];
	int rc;

	keys_tag(w->keys, kind, value, tag);
	if ((rc = idx_put(w, idx, tag, sizeof(tag), id)) != 0 || w->keys->index_next == NULL)
		return rc;
	keys_tag_with(w->keys->index_next, kind, value, tag);
	return idx_put(w, idx, tag, sizeof(tag), id);
}

int idx_del_term(struct wtxn *w, MDB_dbi idx, const char *kind, const char *value, const char *id)
{
	const uint8_t *others[2] = {w->keys->index_next, w->keys->index_old};
	uint8_t tag[16];
	int rc;

	keys_tag(w->keys, kind, value, tag);
	if ((rc = idx_del(w, idx, tag, sizeof(tag), id)) != 0)
		return rc;
	for (int i = 0; i < 2; i++)
		if (others[i]) {
			keys_tag_with(others[i], kind, value, tag);
			if ((rc = idx_del(w, idx, tag, sizeof(tag), id)) != 0)
				return rc;
		}
	return 0;
}

static void reindex_started(struct server *srv, struct op *op)
{
	sodium_mprotect_readonly(op->newkey);
	srv->keys.index_next = op->newkey;
	srv->keys.index_next_id = op->newkey_id;
	op->newkey = NULL;
	log_info("index key %u added: tagging every record under it in the background",
	         srv->keys.index_next_id);
}

int reindex_start(struct wtxn *w, struct op *op)
{
	struct keyring *kr = &w->srv->keys;
	uint32_t id = kr->index_id + 1;
	uint8_t be[4];
	int rc;

	if (rotate_once(w, op) < 0)
		return -1;
	if (kr->index_next || kr->index_old)
		return roster_err_set(&op->err, 409, "rotation_running",
		                      "index key %u is still being %s: 'rosterctl key status "
		                      "--wait' stays until it is done",
		                      kr->index_next ? kr->index_next_id : kr->index_old_id,
		                      kr->index_next ? "built" : "retired");
	roster_be32_put(be, id);
	if ((rc = rotate_key_new(w, op, "index", id)) != 0 ||
	    (rc = meta_put(w, "index_next", be, 4)) || (rc = meta_del(w, "reindex")) ||
	    (rc = meta_del(w, "reindex_scanned")))
		return rc;
	op->after_commit = reindex_started;
	op->reply = json_pack("{s:s, s:I, s:I}", "kind", "index", "active",
	                      (json_int_t)kr->index_id, "building", (json_int_t)id);
	return 0;
}

/* A slice's index changes, gathered and sorted before they are made: in key order
 * the puts and deletes walk each index from one end to the other, not to random
 * places one after another. */
struct change {
	MDB_dbi idx;
	uint8_t tag[16];
	char id[ROSTER_ID_MAX];
};
struct changes {
	struct change *c;
	size_t n, cap;
};

/* A term's entry under the key being built, or under the one retired. */
static int term_gather(struct wtxn *w, MDB_dbi idx, const char *kind, const char *value,
                       const char *id, void *arg)
{
	const struct keyring *kr = w->keys;
	struct changes *cs = arg;
	struct change *c;

	if (cs->n == cs->cap) {
		cs->cap = cs->cap ? 2 * cs->cap : 1024;
		cs->c = roster_xrealloc(cs->c, cs->cap * sizeof(cs->c[0]));
	}
	c = &cs->c[cs->n++];
	c->idx = idx;
	keys_tag_with(kr->index_next ? kr->index_next : kr->index_old, kind, value, c->tag);
	snprintf(c->id, sizeof(c->id), "%s", id);
	return 0;
}

static int change_cmp(const void *a, const void *b)
{
	const struct change *x = a, *y = b;
	int r;

	if (x->idx != y->idx)
		return x->idx < y->idx ? -1 : 1;
	r = memcmp(x->tag, y->tag, sizeof(x->tag));
	return r ? r : strcmp(x->id, y->id);
}

static int changes_apply(struct wtxn *w, struct changes *cs)
{
	int put = w->keys->index_next != NULL, rc = 0;

	if (cs->n == 0) /* qsort's array may not be NULL, even when empty */
		return 0;
	qsort(cs->c, cs->n, sizeof(cs->c[0]), change_cmp);
	for (size_t i = 0; rc == 0 && i < cs->n; i++)
		rc = put ? idx_put(w, cs->c[i].idx, cs->c[i].tag, 16, cs->c[i].id)
		         : idx_del(w, cs->c[i].idx, cs->c[i].tag, 16, cs->c[i].id);
	return rc;
}

/* Up to max ids of database d after `after` (all of them from the first when
 * empty); *more says whether any follow. NULL if the database cannot be read. */
static json_t *slice_ids(struct wtxn *w, int d, char *after, size_t max, int *more,
                         struct roster_err *err)
{
	json_t *ids;
	MDB_val k = {strlen(after), after}, v;
	MDB_cursor *cur;
	int rc;

	*more = 0;
	if ((rc = mdb_cursor_open(w->txn, tagged_dbi(&w->srv->store, d), &cur)) != 0) {
		store_mdb_err(err, rc, "walking the records to re-index");
		return NULL;
	}
	ids = json_array();
	rc = after[0] ? mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE)
	              : mdb_cursor_get(cur, &k, &v, MDB_FIRST);
	if (rc == 0 && after[0] && k.mv_size == strlen(after) &&
	    memcmp(k.mv_data, after, k.mv_size) == 0)
		rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	for (; rc == 0 && json_array_size(ids) < max; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		json_array_append_new(ids, json_stringn(k.mv_data, k.mv_size));
		snprintf(after, ROSTER_ID_MAX, "%.*s", (int)k.mv_size, (char *)k.mv_data);
	}
	*more = rc == 0;
	mdb_cursor_close(cur);
	return ids;
}

static int slice_run(struct wtxn *w, int d, const json_t *ids, struct roster_err *err)
{
	struct changes cs = {0};
	size_t i;
	json_t *idv;
	int rc = 0;

	json_array_foreach(ids, i, idv)
	{
		const char *id = json_string_value(idv);
		json_t *rec;

		if (rec_get(w, tagged_dbi(&w->srv->store, d), tagged_dbs[d], id, &rec, err) < 0) {
			rc = ROSTER_FATAL;
			goto done;
		}
		search_terms_each(w, tagged_dbs[d], rec, id, term_gather, &cs);
		json_decref(rec);
	}
	if ((rc = changes_apply(w, &cs)) == ROSTER_FATAL) /* idx_put and idx_del say no more */
		roster_err_set(err, 0, "index", "cannot write an index entry of %s", tagged_dbs[d]);
done:
	free(cs.c);
	return rc;
}

/* The walk has ended: the new key becomes active, or the old one goes. */
static int phase_end(struct wtxn *w, enum reindex_event *ev, struct roster_err *err)
{
	const struct keyring *kr = w->keys;
	uint8_t be[4];
	char name[32];
	int rc;

	if ((rc = meta_del(w, "reindex")) || (rc = meta_del(w, "reindex_scanned")))
		return rc;
	if (kr->index_next) {
		*ev = REINDEX_SWITCH;
		roster_be32_put(be, kr->index_next_id);
		if ((rc = meta_put(w, "index_key", be, 4)) || (rc = meta_del(w, "index_next")))
			return rc;
		roster_be32_put(be, kr->index_id);
		return meta_put(w, "index_old", be, 4);
	}
	*ev = REINDEX_DONE;
	snprintf(name, sizeof(name), "index:%u", kr->index_old_id);
	rc = store_del(&w->srv->store, w->txn, w->srv->store.keys, &(MDB_val){strlen(name), name},
	               NULL);
	if (rc == MDB_MAP_FULL)
		return ROSTER_RETRY;
	if (rc != 0 && rc != MDB_NOTFOUND)
		return store_mdb_err(err, rc, "retiring the old index key"), ROSTER_FATAL;
	if ((rc = meta_del(w, "index_old")) != 0)
		return rc;
	return audit_own_entry(w, "key.retire", "", "", err);
}

/* Records in the databases the walk goes over. */
static uint64_t tagged_total(struct wtxn *w)
{
	const struct store *st = &w->srv->store;
	const MDB_dbi dbis[TAGGED_DBS] = {st->persons, st->documents, st->travel};

	return store_entries(w->txn, dbis, TAGGED_DBS);
}

/* How far the walk of the running phase has come, as stored with its position. */
static uint64_t walked(struct wtxn *w)
{
	MDB_val v;

	if (mdb_get(w->txn, w->srv->store.meta, &(MDB_val){15, "reindex_scanned"}, &v) == 0 &&
	    v.mv_size == 8)
		return roster_be64_get(v.mv_data);
	return 0;
}

int reindex_step(struct wtxn *w, size_t max, enum reindex_event *ev,
                 struct reencrypt_progress *prog, struct roster_err *err)
{
	struct store *st = &w->srv->store;
	char after[ROSTER_ID_MAX] = "";
	uint8_t pos[1 + ROSTER_ID_MAX], count[8];
	uint64_t scanned = 0;
	size_t done = 0;
	MDB_val v;
	int d = 0, rc, more = 0;

	*ev = REINDEX_MORE;
	/* The walk reads and writes person_idx alone: what its log held goes in first. */
	if ((rc = idxlog_drain(w, err)) != 0)
		return rc;
	if (mdb_get(w->txn, st->meta, &(MDB_val){7, "reindex"}, &v) == 0 && v.mv_size >= 1 &&
	    v.mv_size <= sizeof(pos)) {
		d = ((uint8_t *)v.mv_data)[0];
		snprintf(after, sizeof(after), "%.*s", (int)v.mv_size - 1, (char *)v.mv_data + 1);
	}
	scanned = walked(w);
	prog->total = tagged_total(w);
	for (; d < TAGGED_DBS && done < max; d++, after[0] = '\0') {
		json_t *ids = slice_ids(w, d, after, max - done, &more, err);

		if (ids == NULL)
			return ROSTER_FATAL;
		rc = slice_run(w, d, ids, err);
		done += json_array_size(ids);
		json_decref(ids);
		if (rc)
			return rc;
		if (more) /* this database has more: stop here, resume after `after` */
			break;
	}
	scanned += done;
	prog->scanned = scanned < prog->total ? scanned : prog->total;
	if (d >= TAGGED_DBS)
		return phase_end(w, ev, err);
	pos[0] = (uint8_t)d;
	memcpy(pos + 1, after, strlen(after));
	roster_be64_put(count, scanned);
	if ((rc = meta_put(w, "reindex", pos, 1 + strlen(after))) != 0)
		return rc;
	return meta_put(w, "reindex_scanned", count, 8);
}

void reindex_after(struct keyring *kr, enum reindex_event ev)
{
	if (ev == REINDEX_SWITCH) {
		kr->index_old = kr->index;
		kr->index_old_id = kr->index_id;
		kr->index = kr->index_next;
		kr->index_id = kr->index_next_id;
		kr->index_next = NULL;
		kr->index_next_id = 0;
		log_info("index key %u active; removing the entries of index key %u", kr->index_id,
		         kr->index_old_id);
	} else if (ev == REINDEX_DONE) {
		sodium_free(kr->index_old); /* wipes it */
		log_info("index key %u retired and wiped; index key %u alone in use",
		         kr->index_old_id, kr->index_id);
		kr->index_old = NULL;
		kr->index_old_id = 0;
	}
}

json_t *reindex_status(struct wtxn *w)
{
	const struct keyring *kr = w->keys;
	json_t *out = json_array();
	uint32_t id = kr->index_next ? kr->index_next_id : kr->index_old_id;

	json_array_append_new(out, json_pack("{s:s, s:I, s:s}", "kind", "index", "id",
	                                     (json_int_t)kr->index_id, "state", "active"));
	if (kr->index_next || kr->index_old) {
		uint64_t total = tagged_total(w), n = walked(w);

		json_array_append_new(out, json_pack("{s:s, s:I, s:s, s:I, s:I}", "kind", "index",
		                                     "id", (json_int_t)id, "state",
		                                     kr->index_next ? "building" : "retiring",
		                                     "walked", (json_int_t)(n < total ? n : total),
		                                     "of", (json_int_t)total));
	}
	return out;
}
