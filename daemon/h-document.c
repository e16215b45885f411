/*
 * h-document.c - travel document routes: register, read, list by person or by
 * custody state, and custody events through the state machine in lib/document.c.
 *
 * A document's history is kept apart from it: each event is its own sealed value
 * in the custody database, keyed by the document and the event's number, and the
 * document holds only its count. A custody event so costs the same for the
 * thousandth event as for the first; reading one document returns its history.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <sodium.h>

#include "rosterd.h"
#include "roster/log.h"
#include "roster/record.h"

int custody_event_id(char out[CUSTODY_EVENT_ID_MAX], const char *doc, long long n)
{
	int len = snprintf(out, CUSTODY_EVENT_ID_MAX, "%s.%08lld", doc, n);

	return len > 0 && len < CUSTODY_EVENT_ID_MAX ? 0 : -1;
}

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
	/* The reply is the document as a read returns it: with its (empty) history. */
	op_reply_clear(op);
	op->reply = json_deep_copy(op->body);
	json_object_set_new(op->reply, "history", json_array());
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

/* The document as stored, its closing brace replaced by a page of its history:
 * {..., "history": [event from, ..., event from + limit - 1], "history_next": N or
 * null}. A page is at most HISTORY_PAGE_MAX events, so a reply stays bounded
 * however long the document's history grows. */
static int get_apply(struct wtxn *w, struct op *op)
{
	struct store *st = &w->srv->store;
	char eid[CUSTODY_EVENT_ID_MAX];
	const long long from = (long long)op->version; /* history_from, 1 by default */
	uint8_t *pt = NULL;
	size_t len = 0;
	json_t *doc;
	long long n, last;

	if (rec_open(w, st->documents, "documents", op->target, &pt, &len, &op->err) < 0)
		return -1;
	doc = json_loadb((const char *)pt, len, 0, NULL);
	op_person_of(op, doc);
	n = json_integer_value(json_object_get(doc, "events"));
	op->reply_raw = evbuffer_new();
	op->status = 200;
	if (json_is_object(doc) && json_object_size(doc) > 0 && pt[len - 1] == '}')
		evbuffer_add(op->reply_raw, pt, len - 1); /* all but the closing brace */
	json_decref(doc);
	sodium_memzero(pt, len);
	free(pt);
	if (evbuffer_get_length(op->reply_raw) == 0)
		return roster_err_set(&op->err, 500, "corrupt_record",
		                      "record %s in documents is not a JSON object", op->target);
	evbuffer_add_printf(op->reply_raw, ",\"history\":[");
	last = from - 1 + (long long)op->limit < n ? from - 1 + (long long)op->limit : n;
	for (long long i = from; i <= last; i++) {
		if (i > from)
			evbuffer_add(op->reply_raw, ",", 1);
		if (custody_event_id(eid, op->target, i) < 0 ||
		    rec_open(w, st->custody, "custody", eid, &pt, &len, &op->err) < 0) {
			log_warnx("document %s lacks history entry %lld of %lld", op->target, i, n);
			return roster_err_set(&op->err, 500, "corrupt_record",
			                      "document %s: history entry %lld of %lld is missing "
			                      "or damaged",
			                      op->target, i, n);
		}
		evbuffer_add(op->reply_raw, pt, len);
		sodium_memzero(pt, len);
		free(pt);
	}
	if (last < n)
		evbuffer_add_printf(op->reply_raw, "],\"history_next\":%lld}", last + 1);
	else
		evbuffer_add(op->reply_raw, "],\"history_next\":null}", 22);
	return 0;
}

int h_doc_get(struct server *srv, struct op *op, const char *id)
{
	char from[32], *end;
	const char *v;

	(void)srv;
	(void)id;
	op->version = 1;
	if ((v = http_query(op->req, "history_from", from, sizeof(from))) != NULL) {
		op->version = strtoull(v, &end, 10);
		if (*v < '1' || *v > '9' || *end || op->version > CUSTODY_EVENTS_MAX)
			return roster_err_set(&op->err, 400, "bad_query",
			                      "history_from must be an event number from 1");
	}
	if (http_query_limit(op->req, HISTORY_PAGE_MAX, HISTORY_PAGE_MAX, &op->limit, &op->err) < 0)
		return -1;
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
	json_t *doc = NULL, *travel = NULL, *entry = NULL;
	char *from = NULL, eid[CUSTODY_EVENT_ID_MAX];
	int rc = -1;

	if (rec_get(w, st->documents, "documents", op->target, &doc, &op->err) < 0)
		return -1;
	op_person_of(op, doc);
	if (req_id && rec_get(w, st->travel, "travel", req_id, &travel, &op->err) < 0 &&
	    op->err.status != 404)
		goto done;
	from = roster_xstrdup(str(doc, "custody"));
	if (roster_custody_apply(doc, op->body, travel, op->peer.user, w->now, &entry, &op->err) <
	    0)
		goto done;
	if (custody_event_id(eid, op->target, json_integer_value(json_object_get(doc, "events"))) <
	    0) {
		roster_err_set(&op->err, 500, "internal", "document id %s is too long", op->target);
		goto done;
	}
	rec_stamp(w, doc, 0);
	/* The entry first: its digest goes to the op's audit entry as "stored", and
	 * op->object ends as the document's digest, which the entry records for it. */
	if ((rc = rec_put(w, st->custody, "custody", eid, entry, op, &op->err)) == 0) {
		snprintf(op->stored_target, sizeof(op->stored_target), "%s", eid);
		memcpy(op->stored_object, op->object, sizeof(op->stored_object));
	}
	if (rc || (rc = rec_put_reply(w, st->documents, "documents", op->target, doc, op)) ||
	    (rc = rec_state_move(w, st->doc_by_state, "custody", from, str(doc, "custody"),
	                         op->target)))
		goto done;
done:
	free(from);
	json_decref(entry);
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

/* Registries before 0.3 kept each document's history inside its record. Moves it
 * out, document by document, keeping the record's version; each rewritten record
 * gets an audit entry with its new digest, so `audit verify --deep` still finds
 * every record's ciphertext in the log. */
int custody_migrate(struct wtxn *w, struct roster_err *err)
{
	struct store *st = &w->srv->store;
	json_t *ids = store_keys(w->txn, st->documents), *idv;
	size_t i, moved = 0;
	int rc = 0;

	json_array_foreach(ids, i, idv)
	{
		const char *id = json_string_value(idv);
		json_t *doc, *history, *h;
		struct op op = {0};
		char eid[CUSTODY_EVENT_ID_MAX];
		size_t j;

		if (rec_get(w, st->documents, "documents", id, &doc, err) < 0) {
			rc = ROSTER_FATAL;
			break;
		}
		history = json_incref(json_object_get(doc, "history"));
		json_object_del(doc, "history");
		json_object_set_new(doc, "events",
		                    json_integer((json_int_t)json_array_size(history)));
		json_array_foreach(history, j, h)
		{
			if (custody_event_id(eid, id, (long long)j + 1) < 0) {
				rc = roster_err_set(err, 0, "upgrade", "document id %s is too long",
				                    id);
				break;
			}
			if ((rc = rec_put(w, st->custody, "custody", eid, h, &op, err)) != 0)
				break;
			json_object_set(doc, "last_event", json_object_get(h, "event"));
		}
		json_decref(history);
		if (rc == 0 &&
		    (rc = rec_put(w, st->documents, "documents", id, doc, &op, err)) == 0)
			rc = audit_own_entry(w, "record.migrate", id, op.object, err);
		json_decref(doc);
		if (rc != 0)
			break;
		moved++;
	}
	json_decref(ids);
	if (rc == 0 && moved > 0)
		log_info("moved the custody history of %zu document(s) out of their records",
		         moved);
	return rc;
}

/* Registries before 0.5 named a custody entry in the log only through its
 * document's digest. Names each stored entry's digest once (entries by rosterd,
 * as for a re-encryption), so `audit verify --deep` can match every stored entry
 * to the log; each custody event of this version names its own ("stored"). */
int custody_audit_all(struct wtxn *w, struct roster_err *err)
{
	MDB_cursor *cur;
	MDB_val k, v;
	size_t named = 0;
	int rc = mdb_cursor_open(w->txn, w->srv->store.custody, &cur);

	if (rc)
		return store_mdb_err(err, rc, "reading custody entries");
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		char eid[CUSTODY_EVENT_ID_MAX], hex[65];
		uint8_t digest[32];
		int arc;

		if (k.mv_size >= sizeof(eid)) {
			rc = MDB_CORRUPTED;
			break;
		}
		memcpy(eid, k.mv_data, k.mv_size);
		eid[k.mv_size] = '\0';
		roster_sha256(digest, v.mv_data, v.mv_size);
		roster_hex_encode(hex, digest, sizeof(digest));
		if ((arc = audit_own_entry(w, "custody.entry", eid, hex, err)) != 0) {
			mdb_cursor_close(cur);
			return arc;
		}
		named++;
	}
	mdb_cursor_close(cur);
	if (rc != MDB_NOTFOUND)
		return store_mdb_err(err, rc, "reading custody entries");
	if (named > 0)
		log_info("named %zu custody entries in the audit log", named);
	return 0;
}
