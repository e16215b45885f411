/*
 * h-import.c - POST /v1/persons/import: a whole roster in one request, all or
 * nothing. Every row is checked first (fields here, on the main thread; national
 * id uniqueness against the registry in the writer); any refusal reports every
 * bad row with its index and field and writes nothing. Otherwise all rows land
 * in one transaction, each with its own person.create entry, followed by the
 * import's own entry. {"dry_run": true} only checks.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rosterd.h"
#include "roster/normalize.h"
#include "roster/record.h"

#define ROWS_REPORTED 1000 /* a file with more bad rows gets the first thousand */

/* The field an error message names ('field'), or "". */
static void field_of(const char *message, char *out, size_t len)
{
	const char *a = strchr(message, '\''), *b = a ? strchr(a + 1, '\'') : NULL;

	snprintf(out, len, "%.*s", a && b ? (int)(b - a - 1) : 0, a ? a + 1 : "");
}

static void row_error(json_t *rows, size_t index, const struct roster_err *err)
{
	char field[64];

	if (json_array_size(rows) >= ROWS_REPORTED)
		return;
	field_of(err->message, field, sizeof(field));
	json_array_append_new(rows, json_pack("{s:I, s:s, s:s}", "index", (json_int_t)index,
	                                      "field", field, "message", err->message));
}

static int refuse(struct op *op, json_t *rows, int status, size_t total)
{
	op->err_details = rows;
	return roster_err_set(&op->err, status, status == 409 ? "duplicate_rows" : "invalid_rows",
	                      "%zu of %zu rows are refused; nothing was written", total,
	                      json_array_size(json_object_get(op->body, "records")));
}

static int import_apply(struct wtxn *w, struct op *op)
{
	json_t *records = json_object_get(op->body, "records"), *rec, *ids, *rows = json_array();
	struct store *st = &w->srv->store;
	struct roster_err err;
	size_t i, bad = 0;
	int rc;

	json_array_foreach(records, i, rec) if (search_person_unique(w, rec, NULL, &err) < 0)
	{
		row_error(rows, i, &err);
		bad++;
	}
	if (bad)
		return refuse(op, rows, 409, bad);
	json_decref(rows);
	if (json_is_true(json_object_get(op->body, "dry_run"))) {
		op->reply = json_pack("{s:b, s:I}", "dry_run", 1, "valid",
		                      (json_int_t)json_array_size(records));
		return 0;
	}
	ids = json_array();
	json_array_foreach(records, i, rec)
	{
		struct op row = {
		    .status = 201, .outcome = OUT_OK, .action = "person.create", .peer = op->peer};

		roster_id_new(row.target, sizeof(row.target), "per_");
		json_object_set_new(rec, "id", json_string(row.target));
		rec_stamp(w, rec, 1);
		if ((rc = rec_put(w, st->persons, "persons", row.target, rec, &row, &op->err)) ||
		    (rc = search_person_update(w, NULL, rec, row.target, &op->err)) ||
		    (rc = audit_append(w, &row, &op->err))) {
			json_decref(ids);
			return rc < 0 ? rc : ROSTER_FATAL;
		}
		json_array_append_new(ids, json_string(row.target));
	}
	op->reply =
	    json_pack("{s:I, s:o}", "created", (json_int_t)json_array_size(ids), "ids", ids);
	op->status = 201;
	return 0;
}

int h_person_import(struct server *srv, struct op *op, const char *id)
{
	json_t *records, *rec, *rows, *seen;
	size_t i, n, bad = 0;

	(void)srv;
	(void)id;
	op->heavy = 1;
	if ((op->body = http_body_json_max(op->req, IMPORT_BODY_MAX, &op->err)) == NULL)
		return -1;
	records = json_object_get(op->body, "records");
	n = json_array_size(records);
	if (!json_is_array(records) || n == 0)
		return roster_err_set(&op->err, 422, "invalid_field",
		                      "send {\"records\": [person, ...], \"dry_run\": false}");
	if (n > IMPORT_ROWS_MAX)
		return roster_err_set(&op->err, 413, "too_many_rows",
		                      "%zu rows; one import takes at most %d: split the file", n,
		                      IMPORT_ROWS_MAX);
	rows = json_array();
	seen = json_object();
	json_array_foreach(records, i, rec)
	{
		struct roster_err err;
		const char *nid;
		char *norm;

		if (!json_is_object(rec)) {
			roster_err_set(&err, 422, "not_object", "the row must be a JSON object");
			row_error(rows, i, &err);
			bad++;
			continue;
		}
		if (roster_person_check_new(rec, &err) < 0) {
			row_error(rows, i, &err);
			bad++;
			continue;
		}
		nid = json_string_value(json_object_get(rec, "national_id"));
		if (nid == NULL || (norm = roster_norm_code(nid)) == NULL)
			continue;
		if (json_object_get(seen, norm)) {
			roster_err_set(&err, 422, "duplicate_row",
			               "person field 'national_id' repeats row %lld of this file",
			               (long long)json_integer_value(json_object_get(seen, norm)));
			row_error(rows, i, &err);
			bad++;
		} else {
			json_object_set_new(seen, norm, json_integer((json_int_t)i));
		}
		free(norm);
	}
	json_decref(seen);
	if (bad)
		return refuse(op, rows, 422, bad);
	json_decref(rows);
	op->apply = import_apply;
	return 0;
}
