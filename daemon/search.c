/*
 * search.c - blind indexes (the CipherSweet idea). A person is indexed under
 * keyed hashes of normalised values: national id, name, date of birth, employer,
 * segment, status and each expertise; a document under its number and issuing
 * country. The keyed hash (keys_tag, BLAKE2b with the index key) is the key of a
 * sorted-duplicates database whose values are record ids, so equality lookups,
 * combined filters and cursor pages work without any value stored in plaintext.
 * Uniqueness of national ids and of document number + country is enforced here.
 */
#include <stdlib.h>
#include <string.h>

#include "rosterd.h"
#include "roster/normalize.h"
#include "roster/record.h"

/* One (kind, normalised value) pair; -1 when value is not text jansson takes:
 * a filter must never be dropped, or a find would list every record. */
static int term_add(json_t *terms, const char *kind, char *value)
{
	int rc = 0;

	if (value)
		rc = json_array_append_new(terms, json_pack("[s, s]", kind, value));
	free(value);
	return rc;
}

static char *dup_or_null(const char *s)
{
	return s ? roster_xstrdup(s) : NULL;
}

static const char *str(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* A person's index terms, as plain C: computed for every create and update. */
struct term {
	const char *kind;
	char *value; /* normalised, malloc'd */
};
struct terms {
	struct term *t;
	size_t n;
};

static void terms_add(struct terms *ts, const char *kind, char *value)
{
	if (value == NULL)
		return;
	ts->t = roster_xrealloc(ts->t, (ts->n + 1) * sizeof(ts->t[0]));
	ts->t[ts->n].kind = kind;
	ts->t[ts->n++].value = value;
}

static void terms_free(struct terms *ts)
{
	for (size_t i = 0; i < ts->n; i++)
		free(ts->t[i].value);
	free(ts->t);
}

static int terms_has(const struct terms *ts, const struct term *t)
{
	for (size_t i = 0; i < ts->n; i++)
		if (strcmp(ts->t[i].kind, t->kind) == 0 && strcmp(ts->t[i].value, t->value) == 0)
			return 1;
	return 0;
}

static struct terms person_terms(const json_t *rec)
{
	struct terms ts = {0};
	json_t *e;
	size_t i;

	if (rec == NULL)
		return ts;
	if (str(rec, "national_id"))
		terms_add(&ts, "person.national_id", roster_norm_code(str(rec, "national_id")));
	if (str(rec, "name"))
		terms_add(&ts, "person.name", roster_norm_text(str(rec, "name")));
	terms_add(&ts, "person.birth_date", dup_or_null(str(rec, "birth_date")));
	if (str(rec, "employer"))
		terms_add(&ts, "person.employer", roster_norm_text(str(rec, "employer")));
	terms_add(&ts, "person.segment", dup_or_null(str(rec, "segment")));
	terms_add(&ts, "person.status", dup_or_null(str(rec, "status")));
	json_array_foreach(json_object_get(rec, "expertise"), i, e)
	    terms_add(&ts, "person.expertise", dup_or_null(json_string_value(e)));
	return ts;
}

static char *doc_number_term(const json_t *rec)
{
	char *num = roster_norm_code(str(rec, "number")), *term;

	if (num == NULL)
		return NULL;
	term = roster_xasprintf("%s:%s", num, str(rec, "country"));
	free(num);
	return term;
}

static void tag_of(struct wtxn *w, const json_t *term, uint8_t tag[16])
{
	keys_tag(w->keys, json_string_value(json_array_get(term, 0)),
	         json_string_value(json_array_get(term, 1)), tag);
}

/* Whether a change of person_idx goes straight to it rather than to its log
 * (idxlog.c): the national id's tag, which the uniqueness check reads there; any
 * tag while an index key rotation runs, whose walk reads the index alone; and any
 * once the log is full, for the rest of that transaction. Those writes first
 * drain the log, so that what the log holds is always later than what the index
 * holds. */
static int person_direct(struct wtxn *w, int nid, int *direct, struct roster_err *err)
{
	const struct keyring *kr = w->keys;
	int rc;

	*direct = nid;
	if (!kr->index_next && !kr->index_old && w->ilog_n < IDXLOG_MAX && !w->ilog_off)
		return 0;
	*direct = 1;
	w->ilog_off = 1; /* a large import: the rest of its transaction goes directly */
	if (w->ilog_n == 0 || (rc = idxlog_drain(w, err)) == 0)
		return 0;
	return rc == ROSTER_RETRY ? rc : ROSTER_FATAL;
}

/* A person's tag changes bound for the log: one entry per request. */
struct person_ops {
	struct idxlog_op op[IDXLOG_OPS_MAX];
	size_t n;
};

static int ops_add(struct wtxn *w, struct person_ops *ops, int add, const uint8_t tag[16],
                   const char *id)
{
	int rc;

	if (ops->n == IDXLOG_OPS_MAX) { /* more than a person has: a second entry */
		if ((rc = idxlog_note(w, id, ops->op, ops->n)) != 0)
			return rc;
		ops->n = 0;
	}
	ops->op[ops->n].add = add;
	memcpy(ops->op[ops->n++].tag, tag, 16);
	return 0;
}

static int person_change(struct wtxn *w, struct person_ops *ops, int add, const struct term *t,
                         const char *id, struct roster_err *err)
{
	MDB_dbi idx = w->srv->store.person_idx;
	uint8_t tag[16];
	int direct, rc;

	if ((rc = person_direct(w, strcmp(t->kind, "person.national_id") == 0, &direct, err)) != 0)
		return rc;
	if (direct)
		return add ? idx_put_term(w, idx, t->kind, t->value, id)
		           : idx_del_term(w, idx, t->kind, t->value, id);
	keys_tag(w->keys, t->kind, t->value, tag);
	return ops_add(w, ops, add, tag, id);
}

int search_person_update(struct wtxn *w, const json_t *old, const json_t *rec, const char *id,
                         struct roster_err *err)
{
	struct terms before = person_terms(old), after = person_terms(rec);
	struct person_ops ops = {.n = 0};
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < before.n; i++)
		if (!terms_has(&after, &before.t[i]))
			rc = person_change(w, &ops, 0, &before.t[i], id, err);
	for (size_t i = 0; rc == 0 && i < after.n; i++)
		if (!terms_has(&before, &after.t[i]))
			rc = person_change(w, &ops, 1, &after.t[i], id, err);
	if (rc == 0)
		rc = idxlog_note(w, id, ops.op, ops.n);
	terms_free(&before);
	terms_free(&after);
	return rc;
}

/* The first id under tag other than `self`, or NULL. */
static int taken_by(struct wtxn *w, MDB_dbi idx, const uint8_t tag[16], const char *self,
                    char other[ROSTER_ID_MAX])
{
	MDB_val k = {16, (void *)tag}, v;
	MDB_cursor *cur;
	int rc, found = 0;

	if (mdb_cursor_open(w->txn, idx, &cur) != 0)
		return 0;
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_KEY); rc == 0 && !found;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT_DUP))
		if (self == NULL || v.mv_size != strlen(self) ||
		    memcmp(v.mv_data, self, v.mv_size) != 0)
			found = snprintf(other, ROSTER_ID_MAX, "%.*s", (int)v.mv_size,
			                 (char *)v.mv_data) > 0;
	mdb_cursor_close(cur);
	return found;
}

static int nid_clash(struct wtxn *w, const uint8_t tag[16], const char *self,
                     struct roster_err *err)
{
	char other[ROSTER_ID_MAX];

	if (taken_by(w, w->srv->store.person_idx, tag, self, other))
		return roster_err_set(
		    err, 409, "duplicate_national_id",
		    "person field 'national_id': person %s already has it: update that record "
		    "instead",
		    other);
	return 0;
}

int search_person_unique(struct wtxn *w, const json_t *rec, const char *self,
                         struct roster_err *err)
{
	char *nid = str(rec, "national_id") ? roster_norm_code(str(rec, "national_id")) : NULL;
	uint8_t tag[16];

	if (nid == NULL)
		return 0;
	keys_tag(w->keys, "person.national_id", nid, tag);
	free(nid);
	return nid_clash(w, tag, self, err);
}

struct tagset *search_person_tags(const struct keyring *kr, const json_t *rec)
{
	struct terms terms = person_terms(rec);
	struct tagset *ts = roster_xcalloc(1, sizeof(*ts) + terms.n * sizeof(ts->tag[0]));

	ts->index_id = kr->index_id;
	for (size_t i = 0; i < terms.n; i++) {
		keys_tag(kr, terms.t[i].kind, terms.t[i].value, ts->tag[i]);
		if (strcmp(terms.t[i].kind, "person.national_id") == 0)
			ts->nid = i + 1;
	}
	ts->n = terms.n;
	terms_free(&terms);
	return ts;
}

/* A term's entry under the index key being built (while a rotation runs). */
static int put_next(struct wtxn *w, MDB_dbi idx, const char *kind, const char *value,
                    const char *id, void *arg)
{
	uint8_t tag[16];

	(void)arg;
	keys_tag_with(w->keys->index_next, kind, value, tag);
	return idx_put(w, idx, tag, sizeof(tag), id);
}

int search_person_add(struct wtxn *w, const struct tagset *ts, const json_t *rec, const char *id,
                      struct roster_err *err)
{
	struct person_ops ops = {.n = 0};
	int rc;

	if (ts->nid && nid_clash(w, ts->tag[ts->nid - 1], NULL, err) < 0)
		return -1;
	for (size_t i = 0; i < ts->n; i++) {
		int direct;

		if ((rc = person_direct(w, i + 1 == ts->nid, &direct, err)) != 0)
			return rc;
		rc = direct ? idx_put(w, w->srv->store.person_idx, ts->tag[i], 16, id)
		            : ops_add(w, &ops, 1, ts->tag[i], id);
		if (rc != 0)
			return rc;
	}
	if ((rc = idxlog_note(w, id, ops.op, ops.n)) != 0)
		return rc;
	if (w->keys->index_next)
		return search_terms_each(w, "persons", rec, id, put_next, NULL);
	return 0;
}

static int doc_tag(struct wtxn *w, const json_t *rec, uint8_t tag[16])
{
	char *term = doc_number_term(rec);

	if (term == NULL)
		return 0;
	keys_tag(w->keys, "document.number", term, tag);
	free(term);
	return 1;
}

int search_doc_unique(struct wtxn *w, const json_t *rec, struct roster_err *err)
{
	char other[ROSTER_ID_MAX];
	uint8_t tag[16];

	if (doc_tag(w, rec, tag) && taken_by(w, w->srv->store.doc_idx, tag, NULL, other))
		return roster_err_set(err, 409, "duplicate_document",
		                      "document %s already has this number and issuing country",
		                      other);
	return 0;
}

int search_doc_add(struct wtxn *w, const json_t *rec, const char *id)
{
	char *term = doc_number_term(rec);
	int rc = term ? idx_put_term(w, w->srv->store.doc_idx, "document.number", term, id) : 0;

	free(term);
	return rc;
}

int search_terms_each(struct wtxn *w, const char *db, const json_t *rec, const char *id,
                      search_term_fn fn, void *arg)
{
	struct store *st = &w->srv->store;
	int rc = 0;

	if (strcmp(db, "persons") == 0) {
		struct terms ts = person_terms(rec);

		for (size_t i = 0; rc == 0 && i < ts.n; i++)
			rc = fn(w, st->person_idx, ts.t[i].kind, ts.t[i].value, id, arg);
		terms_free(&ts);
	} else if (strcmp(db, "documents") == 0) {
		char *term = doc_number_term(rec);

		if (term)
			rc = fn(w, st->doc_idx, "document.number", term, id, arg);
		free(term);
		if (rc == 0 && str(rec, "custody"))
			rc = fn(w, st->doc_by_state, "custody", str(rec, "custody"), id, arg);
	} else if (strcmp(db, "travel") == 0 && str(rec, "status")) {
		rc = fn(w, st->travel_by_state, "status", str(rec, "status"), id, arg);
	}
	return rc;
}

/* ---- queries ---- */

static const struct {
	const char *param, *kind;
	int code; /* normalise as a code (1), as text (2), or check a vocabulary (0) */
} person_filters[] = {
    {"national_id", "person.national_id", 1}, {"name", "person.name", 2},
    {"birth_date", "person.birth_date", 0},   {"employer", "person.employer", 2},
    {"segment", "person.segment", 0},         {"status", "person.status", 0},
    {"expertise", "person.expertise", 0},
};

static int vocab_ok(const char *param, const char *value)
{
	if (strcmp(param, "birth_date") == 0)
		return roster_valid_date(value);
	if (strcmp(param, "segment") == 0)
		return roster_valid_segment(value);
	if (strcmp(param, "expertise") == 0)
		return roster_valid_expertise(value);
	return strcmp(value, "active") == 0 || strcmp(value, "departed") == 0;
}

/* Parses person filters from the query into terms; NULL (no error) when none. */
json_t *search_person_filters(struct evhttp_request *req, struct roster_err *err)
{
	json_t *terms = json_array();
	char buf[512];

	for (size_t i = 0; i < sizeof(person_filters) / sizeof(person_filters[0]); i++) {
		const char *v = http_query(req, person_filters[i].param, buf, sizeof(buf));
		char *norm;

		if (v == NULL)
			continue;
		if (person_filters[i].code == 0 && !vocab_ok(person_filters[i].param, v)) {
			roster_err_set(err, 400, "bad_query", "'%s' is not a valid %s", v,
			               person_filters[i].param);
			json_decref(terms);
			return NULL;
		}
		norm = person_filters[i].code == 1   ? roster_norm_code(v)
		       : person_filters[i].code == 2 ? roster_norm_text(v)
		                                     : roster_xstrdup(v);
		if (norm == NULL) {
			roster_err_set(err, 400, "bad_query", "%s is empty",
			               person_filters[i].param);
			json_decref(terms);
			return NULL;
		}
		if (term_add(terms, person_filters[i].kind, norm) < 0) {
			roster_err_set(err, 400, "bad_query", "%s is not UTF-8 text",
			               person_filters[i].param);
			json_decref(terms);
			return NULL;
		}
	}
	return terms;
}

json_t *search_doc_filter(const char *number, const char *country)
{
	json_t *rec = json_pack("{s:s, s:s}", "number", number, "country", country), *terms;
	char *term = rec ? doc_number_term(rec) : NULL; /* not text: no term, refused */

	json_decref(rec);
	terms = json_array();
	(void)term_add(terms, "document.number", term); /* none: the caller refuses */
	return terms;
}

/* The ids under one tag, from the index and its log together, in id order. */
struct tag_walk {
	MDB_cursor *cur;
	int rc; /* the index cursor's: 0 while it has an id in v */
	MDB_val k, v;
	const struct idxlog_change *c, *end; /* the log's changes of this tag */
};

static void walk_start(struct tag_walk *tw, const struct idxlog_view *view, int which,
                       const uint8_t tag[16], const char *after)
{
	size_t alen = strlen(after);

	tw->k.mv_size = 16;
	tw->k.mv_data = (void *)tag;
	tw->v.mv_size = alen;
	tw->v.mv_data = (void *)after;
	tw->rc = after[0] ? mdb_cursor_get(tw->cur, &tw->k, &tw->v, MDB_GET_BOTH_RANGE)
	                  : mdb_cursor_get(tw->cur, &tw->k, &tw->v, MDB_SET_KEY);
	if (tw->rc == 0 && after[0] &&
	    idxlog_id_cmp(tw->v.mv_data, tw->v.mv_size, after, alen) == 0)
		tw->rc = mdb_cursor_get(tw->cur, &tw->k, &tw->v, MDB_NEXT_DUP);
	tw->c = idxlog_view_seek(view, which, after, alen);
	tw->end = idxlog_view_end(view, which);
	if (after[0] && tw->c < tw->end && idxlog_id_cmp(tw->c->id, tw->c->len, after, alen) == 0)
		tw->c++;
}

/* The next id (1) or none (0): the log's last change of an id overrides the index. */
static int walk_next(struct tag_walk *tw, MDB_val *id)
{
	for (;;) {
		int from_log, cmp;

		if (tw->rc != 0 && tw->c == tw->end)
			return 0;
		cmp = tw->rc != 0 ? 1
		      : tw->c == tw->end
		          ? -1
		          : idxlog_id_cmp(tw->v.mv_data, tw->v.mv_size, tw->c->id, tw->c->len);
		if (cmp < 0) {
			*id = tw->v;
			tw->rc = mdb_cursor_get(tw->cur, &tw->k, &tw->v, MDB_NEXT_DUP);
			return 1;
		}
		if (cmp == 0)
			tw->rc = mdb_cursor_get(tw->cur, &tw->k, &tw->v, MDB_NEXT_DUP);
		from_log = tw->c->add;
		id->mv_data = (void *)tw->c->id;
		id->mv_size = tw->c->len;
		tw->c++;
		if (from_log)
			return 1;
	}
}

/* Whether the id is under tag `which`: the log says, or else the index. */
static int tag_has(MDB_cursor *probe, const struct idxlog_view *view, int which,
                   const uint8_t tag[16], const MDB_val *id)
{
	MDB_val pk = {16, (void *)tag}, pv = *id;
	int says = idxlog_view_says(view, which, id->mv_data, id->mv_size);

	if (says >= 0)
		return says;
	return mdb_cursor_get(probe, &pk, &pv, MDB_GET_BOTH) == 0;
}

/* Lists the records under every term (intersection), after op->param, a page of
 * op->limit, driving the walk with the shortest list. person_idx is read with
 * its log (idxlog.c). */
int search_list(struct wtxn *w, struct op *op, MDB_dbi idx, const json_t *terms, MDB_dbi recs,
                const char *db)
{
	size_t n = json_array_size(terms), driver = 0;
	uint8_t(*tags)[16] = roster_xcalloc(n ? n : 1, 16);
	struct idxlog_view view = {0};
	struct tag_walk tw = {0};
	MDB_cursor *probe;
	char next[ROSTER_ID_MAX] = "";
	size_t best = SIZE_MAX;
	MDB_val k, v, id;
	int rc;

	for (size_t i = 0; i < n; i++)
		tag_of(w, json_array_get(terms, i), tags[i]);
	if (idx == w->srv->store.person_idx &&
	    (rc = idxlog_view_load(w->txn, w->srv->store.person_idx_log, (const uint8_t(*)[16])tags,
	                           n, &view)) != 0) {
		free(tags);
		return store_mdb_err(&op->err, rc, "reading the index log");
	}
	mdb_cursor_open(w->txn, idx, &tw.cur);
	mdb_cursor_open(w->txn, idx, &probe);
	for (size_t i = 0; i < n; i++) {
		size_t count = 0;

		k.mv_size = 16;
		k.mv_data = tags[i];
		if (mdb_cursor_get(tw.cur, &k, &v, MDB_SET_KEY) == 0)
			mdb_cursor_count(tw.cur, &count);
		count += idxlog_view_adds(&view, (int)i);
		if (count < best) {
			best = count;
			driver = i;
		}
	}
	op->targets = json_array();
	if (best > 0)
		walk_start(&tw, &view, (int)driver, tags[driver], op->param);
	while (best > 0 && walk_next(&tw, &id)) {
		int all = 1;

		for (size_t i = 0; i < n && all; i++)
			all = i == driver || tag_has(probe, &view, (int)i, tags[i], &id);
		if (!all)
			continue;
		if (json_array_size(op->targets) == op->limit) {
			snprintf(next, sizeof(next), "%s",
			         json_string_value(json_array_get(op->targets, op->limit - 1)));
			break;
		}
		json_array_append_new(op->targets, json_stringn(id.mv_data, id.mv_size));
	}
	mdb_cursor_close(tw.cur);
	mdb_cursor_close(probe);
	idxlog_view_free(&view);
	free(tags);
	return rec_reply_items(w, op, recs, db, next);
}
