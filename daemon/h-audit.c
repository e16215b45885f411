/*
 * h-audit.c - reading the audit log (auditors): ?from=SEQ&limit=N or ?last=N,
 * a page of at most AUDIT_PAGE_MAX entries, or a question (any of target=ID,
 * actor=NAME|uid:N, action=A, outcome=O, since=T, until=T; from=SEQ) answered
 * through the log's block filters (audit-filter.c). The read is itself audited; the
 * entries go out as JSON lines, byte for byte as hashed, after the commit that
 * records the read, so a page can end with the entry of its own read.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "rosterd.h"
#include "roster/aquery.h"
#include "roster/note.h"

/* A whole number up to 2^53: past any log, and as far as an entry's JSON keeps
 * integers exact (the read's entry records it). */
static int parse_u64(const char *s, uint64_t *out)
{
	char *end;

	if (*s < '0' || *s > '9')
		return -1;
	*out = strtoull(s, &end, 10);
	return *end || *out > (1ULL << 53) ? -1 : 0;
}

/* What a read of the log asked, for its entry; set once the request is
 * accepted (a refused one records none). */
static void asked_num(struct op *op, const char *name, uint64_t v)
{
	if (op->asked == NULL)
		op->asked = json_object();
	json_object_set_new(op->asked, name, json_integer((json_int_t)v));
}

/* ?from=N&limit=N (at most max, the default), into op->version and op->limit,
 * and on record; -1 with op->err set, saying bad_from of a bad from. */
static int page_parse(struct op *op, size_t max, const char *bad_from)
{
	char from[32];

	if (http_query(op->req, "from", from, sizeof(from)) && parse_u64(from, &op->version) < 0)
		return roster_err_set(&op->err, 400, "bad_query", "%s", bad_from);
	if (http_query_limit(op->req, max, max, &op->limit, &op->err) < 0)
		return -1;
	asked_num(op, "from", op->version);
	asked_num(op, "limit", op->limit);
	return 0;
}

static int entries_apply(struct wtxn *w, struct op *op)
{
	/* This op's own entry gets seq w->log_size; include it. */
	uint64_t size = w->log_size + 1;

	op->reply_audit = AUDIT_PENDING;
	if (op->param2[0] == 'l') /* last N */
		op->seq_from = op->version < size ? size - op->version : 0;
	else
		op->seq_from = op->version;
	if (op->seq_from > size)
		op->seq_from = size;
	op->seq_to = op->seq_from + op->limit < size ? op->seq_from + op->limit : size;
	if (op->query) /* a question: the whole log, read until limit match */
		op->seq_to = size;
	op->status = 200;
	return 0;
}

static const char *const conditions[] = {"target", "actor", "action", "outcome", "since", "until"};

/* The question's conditions, if any: into op->query, and as given into
 * op->asked for the read's own entry; or -1 with op->err set. */
static int query_parse(struct op *op)
{
	struct roster_aquery *q = NULL;
	char value[256];

	for (size_t i = 0; i < sizeof(conditions) / sizeof(conditions[0]); i++) {
		if (http_query(op->req, conditions[i], value, sizeof(value)) == NULL)
			continue;
		if (q == NULL) {
			q = op->query = roster_xcalloc(1, sizeof(*q));
			roster_aquery_init(q);
		}
		if (roster_aquery_set(q, conditions[i], value, &op->err) < 0)
			return -1;
		/* Accepted values are plain ASCII, so json_string takes them. */
		json_object_set_new(op->asked, conditions[i], json_string(value));
	}
	/* The record asked about stays out of the entry's target: a question about it
	 * would find its own entry, and a next page always one more. */
	return 0;
}

int h_audit_entries(struct server *srv, struct op *op, const char *id)
{
	char from[32], last[32];
	int has_from = http_query(op->req, "from", from, sizeof(from)) != NULL;
	int has_last = http_query(op->req, "last", last, sizeof(last)) != NULL;

	(void)srv;
	(void)id;
	if (has_from && has_last)
		return roster_err_set(&op->err, 400, "bad_query", "give from or last, not both");
	op->asked = json_object();
	if (query_parse(op) < 0)
		goto refused;
	if (op->query && has_last) {
		roster_err_set(&op->err, 400, "bad_query",
		               "a question (target, actor, action, outcome, since, until) "
		               "takes from, not last");
		goto refused;
	}
	if ((has_from && parse_u64(from, &op->version) < 0) ||
	    (has_last && parse_u64(last, &op->version) < 0)) {
		roster_err_set(&op->err, 400, "bad_query",
		               "from and last must be whole numbers, at most 2^53");
		goto refused;
	}
	if (has_last)
		op->param2[0] = 'l';
	if (http_query_limit(op->req, AUDIT_PAGE_MAX, AUDIT_PAGE_MAX, &op->limit, &op->err) < 0)
		goto refused;
	asked_num(op, has_last ? "last" : "from", op->version);
	asked_num(op, "limit", op->limit);
	op->apply = entries_apply;
	return 0;
refused: /* the entry records the refusal, not what could not be read */
	json_decref(op->asked);
	op->asked = NULL;
	return -1;
}

static int checkpoint_apply(struct wtxn *w, struct op *op)
{
	uint64_t size;
	char *note;

	if (checkpoint_latest(w->txn, w->srv->store.checkpoints, &size, &note, &op->err) < 0)
		return -1;
	if (note == NULL)
		return roster_err_set(&op->err, 404, "no_checkpoint",
		                      "no checkpoint is signed yet");
	op->reply = json_pack("{s:s, s:I}", "checkpoint", note, "size", (json_int_t)size);
	free(note);
	return 0;
}

int h_audit_checkpoint(struct server *srv, struct op *op, const char *id)
{
	(void)srv;
	(void)id;
	op->apply = checkpoint_apply;
	return 0;
}

/* The writer signs the checkpoint after this op's own entry and sets the reply. */
static int checkpoint_new_apply(struct wtxn *w, struct op *op)
{
	(void)w;
	op->checkpoint = 1;
	return 0;
}

int h_audit_checkpoint_new(struct server *srv, struct op *op, const char *id)
{
	(void)srv;
	(void)id;
	op->apply = checkpoint_new_apply;
	return 0;
}

static int checkpoints_apply(struct wtxn *w, struct op *op)
{
	uint8_t key[8];
	MDB_val k = {8, key}, v;
	MDB_cursor *cur;
	json_t *items = json_array();
	int rc = mdb_cursor_open(w->txn, w->srv->store.checkpoints, &cur);

	if (rc) {
		json_decref(items);
		return store_mdb_err(&op->err, rc, "listing checkpoints");
	}
	roster_be64_put(key, op->version);
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	     rc == 0 && json_array_size(items) < op->limit;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT))
		json_array_append_new(items, json_stringn(v.mv_data, v.mv_size));
	mdb_cursor_close(cur);
	op->reply = json_pack("{s:o}", "items", items);
	return 0;
}

int h_audit_checkpoints(struct server *srv, struct op *op, const char *id)
{
	(void)srv;
	(void)id;
	if (page_parse(op, 1000, "from must be a tree size") < 0)
		return -1;
	op->apply = checkpoints_apply;
	return 0;
}

static int pubkey_apply(struct wtxn *w, struct op *op)
{
	char *vkey = roster_note_vkey_format(w->srv->cfg.origin, w->srv->keys.sign_pk);

	op->reply = json_pack("{s:s, s:s, s:o}", "vkey", vkey, "origin", w->srv->cfg.origin,
	                      "previous", signing_history(w->txn, w->srv->store.meta));
	free(vkey);
	return 0;
}

int h_audit_pubkey(struct server *srv, struct op *op, const char *id)
{
	(void)srv;
	(void)id;
	op->apply = pubkey_apply;
	return 0;
}

/* The size a proof is for: ?size=N, or the log as it stands before this op's entry. */
static int proof_size(struct wtxn *w, struct op *op, uint64_t *size)
{
	*size = op->seq_to ? op->seq_to : w->log_size;
	if (*size > w->log_size)
		return roster_err_set(&op->err, 422, "bad_size",
		                      "the log has %llu entries, not %llu",
		                      (unsigned long long)w->log_size, (unsigned long long)*size);
	return 0;
}

static int inclusion_apply(struct wtxn *w, struct op *op)
{
	uint8_t leaf[32];
	char hex[65];
	json_t *proof;
	uint64_t size;

	if (proof_size(w, op, &size) < 0)
		return -1;
	if (op->seq_from >= size)
		return roster_err_set(&op->err, 422, "bad_index",
		                      "entry %llu is not in a tree of %llu entries",
		                      (unsigned long long)op->seq_from, (unsigned long long)size);
	if (tree_leaf(w->txn, &w->srv->store, op->seq_from, leaf, &op->err) < 0)
		return -1;
	proof = json_array();
	if (tree_inclusion(w->txn, &w->srv->store, op->seq_from, size, proof, &op->err) < 0) {
		json_decref(proof);
		return -1;
	}
	roster_hex_encode(hex, leaf, 32);
	op->reply = json_pack("{s:I, s:I, s:s, s:o}", "index", (json_int_t)op->seq_from, "size",
	                      (json_int_t)size, "leaf_hash", hex, "hashes", proof);
	return 0;
}

int h_audit_inclusion(struct server *srv, struct op *op, const char *id)
{
	char index[32], size[32];

	(void)srv;
	(void)id;
	if (http_query(op->req, "index", index, sizeof(index)) == NULL ||
	    parse_u64(index, &op->seq_from) < 0)
		return roster_err_set(&op->err, 400, "bad_query", "index must be an entry's seq");
	if (http_query(op->req, "size", size, sizeof(size)) &&
	    (parse_u64(size, &op->seq_to) < 0 || op->seq_to == 0))
		return roster_err_set(&op->err, 400, "bad_query", "size must be a tree size");
	asked_num(op, "index", op->seq_from);
	if (op->seq_to)
		asked_num(op, "size", op->seq_to);
	op->apply = inclusion_apply;
	return 0;
}

static int consistency_apply(struct wtxn *w, struct op *op)
{
	json_t *proof;
	uint64_t size;

	if (proof_size(w, op, &size) < 0)
		return -1;
	if (op->seq_from == 0 || op->seq_from > size)
		return roster_err_set(&op->err, 422, "bad_size",
		                      "old must be 1 to new (%llu), not %llu",
		                      (unsigned long long)size, (unsigned long long)op->seq_from);
	proof = json_array();
	if (tree_consistency(w->txn, &w->srv->store, op->seq_from, size, proof, &op->err) < 0) {
		json_decref(proof);
		return -1;
	}
	op->reply = json_pack("{s:I, s:I, s:o}", "old", (json_int_t)op->seq_from, "new",
	                      (json_int_t)size, "hashes", proof);
	return 0;
}

int h_audit_consistency(struct server *srv, struct op *op, const char *id)
{
	char old[32], size[32];

	(void)srv;
	(void)id;
	if (http_query(op->req, "old", old, sizeof(old)) == NULL ||
	    parse_u64(old, &op->seq_from) < 0)
		return roster_err_set(&op->err, 400, "bad_query", "old must be a tree size");
	if (http_query(op->req, "new", size, sizeof(size)) &&
	    (parse_u64(size, &op->seq_to) < 0 || op->seq_to == 0))
		return roster_err_set(&op->err, 400, "bad_query", "new must be a tree size");
	asked_num(op, "old", op->seq_from);
	if (op->seq_to)
		asked_num(op, "new", op->seq_to);
	op->apply = consistency_apply;
	return 0;
}

static int grant_item(void *items, const char *id, const char *object, struct roster_err *err)
{
	(void)err;
	json_array_append_new(
	    items, json_pack("{s:s, s:s, s:s}", "db", "roles", "id", id, "object", object));
	return 0;
}

/* The databases whose values `audit verify --deep` matches against the log, in
 * the order pages walk them; role grants come whole with the last page. */
static const char *const digest_dbs[] = {"persons", "documents", "travel", "custody"};
#define DIGEST_DBS    (sizeof(digest_dbs) / sizeof(digest_dbs[0]))
#define DIGESTS_PAGE  5000
#define DIGESTS_LIMIT 50000

/* Appends the digests of db from the key after `after` (or its first), stopping
 * at `room` items; returns how many, or -1. *more says whether the db went on. */
static long digests_db(struct wtxn *w, const char *name, const char *after, size_t room,
                       json_t *items, int *more, struct roster_err *err)
{
	MDB_dbi dbi;
	MDB_cursor *cur = NULL;
	MDB_val k = {strlen(after), (void *)after}, v;
	long n = 0;
	int rc;

	*more = 0;
	if (store_db_find(&w->srv->store, name, &dbi) < 0)
		return roster_err_set(err, 500, "internal", "no %s database", name);
	if ((rc = mdb_cursor_open(w->txn, dbi, &cur)) == 0)
		rc = mdb_cursor_get(cur, &k, &v, after[0] ? MDB_SET_RANGE : MDB_FIRST);
	if (rc == 0 && after[0] && k.mv_size == strlen(after) &&
	    memcmp(k.mv_data, after, k.mv_size) == 0)
		rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	for (; rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		uint8_t digest[32];
		char hex[65];

		if ((size_t)n == room) {
			*more = 1;
			break;
		}
		roster_sha256(digest, v.mv_data, v.mv_size);
		roster_hex_encode(hex, digest, 32);
		json_array_append_new(items, json_pack("{s:s, s:s%, s:s}", "db", name, "id",
		                                       k.mv_data, k.mv_size, "object", hex));
		n++;
	}
	mdb_cursor_close(cur);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return store_mdb_err(err, rc, "reading record digests");
	return n;
}

/* For `audit verify --deep`: stored ciphertexts' digests, no content. Paged with
 * ?limit (and ?after=DB/ID from the last page's "next"), so one request holds the
 * writer for a few milliseconds at most; without either, every digest at once, as
 * before 0.6.3 (seconds of a large registry's writes held up). */
static int digests_apply(struct wtxn *w, struct op *op)
{
	size_t room = op->limit ? op->limit : SIZE_MAX, db = 0;
	json_t *items = json_array();
	const char *after = op->param;
	char next[96] = "";
	int more = 0;

	while (db < DIGEST_DBS && op->param2[0] && strcmp(digest_dbs[db], op->param2) != 0)
		db++;
	for (; db < DIGEST_DBS; db++, after = "") {
		const json_t *last;
		long n = digests_db(w, digest_dbs[db], after, room, items, &more, &op->err);

		if (n < 0)
			goto fail;
		room -= (size_t)n;
		if (!more && room > 0)
			continue;
		/* Full, with this db's items last: the next page starts after them. */
		last = json_array_get(items, json_array_size(items) - 1);
		if (last && (more || db + 1 < DIGEST_DBS))
			snprintf(next, sizeof(next), "%s/%s", digest_dbs[db],
			         json_string_value(json_object_get(last, "id")));
		break;
	}
	if (next[0] == '\0' &&
	    grants_each(w->txn, w->srv->store.roles, grant_item, items, &op->err) < 0)
		goto fail;
	/* The log's size in this snapshot: every write of these values is below it. */
	op->reply = json_pack("{s:o, s:I}", "items", items, "size", (json_int_t)w->log_size);
	if (next[0])
		json_object_set_new(op->reply, "next", json_string(next));
	return 0;
fail:
	json_decref(items);
	return -1;
}

/* ?after=DB/ID: the "next" of the page before; ?limit: items per page. */
static int digests_params(struct op *op)
{
	char after[96], *slash;
	size_t db;

	if (http_query(op->req, "after", after, sizeof(after)) == NULL)
		return http_query(op->req, "limit", after, sizeof(after)) == NULL
		           ? 0
		           : http_query_limit(op->req, DIGESTS_PAGE, DIGESTS_LIMIT, &op->limit,
		                              &op->err);
	if (http_query_limit(op->req, DIGESTS_PAGE, DIGESTS_LIMIT, &op->limit, &op->err) < 0)
		return -1;
	slash = strchr(after, '/');
	for (db = 0; slash && db < DIGEST_DBS; db++)
		if ((size_t)(slash - after) == strlen(digest_dbs[db]) &&
		    strncmp(after, digest_dbs[db], (size_t)(slash - after)) == 0)
			break;
	if (slash == NULL || db == DIGEST_DBS || strlen(slash + 1) >= sizeof(op->param))
		return roster_err_set(&op->err, 400, "bad_query",
		                      "after must be the \"next\" of the previous page");
	snprintf(op->param2, sizeof(op->param2), "%s", digest_dbs[db]);
	snprintf(op->param, sizeof(op->param), "%s", slash + 1);
	return 0;
}

int h_audit_digests(struct server *srv, struct op *op, const char *id)
{
	(void)srv;
	(void)id;
	if (digests_params(op) < 0)
		return -1;
	op->asked = json_object();
	if (op->limit) /* none: every digest in one reply */
		asked_num(op, "limit", op->limit);
	if (op->param2[0]) /* where the page before ended: a database and an id */
		json_object_set_new(op->asked, "after",
		                    json_sprintf("%s/%s", op->param2, op->param));
	op->apply = digests_apply;
	return 0;
}

/* ?from=SEQ: the filter of the block holding it first; ?limit: filters a page. */
int h_audit_filters(struct server *srv, struct op *op, const char *id)
{
	(void)srv;
	(void)id;
	if (page_parse(op, AFILTER_PAGE, "from must be a whole number") < 0)
		return -1;
	op->read = afilter_page_read;
	return 0;
}
