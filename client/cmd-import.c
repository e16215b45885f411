/*
 * cmd-import.c - rosterctl person import|export: whole rosters as CSV (RFC 4180,
 * parsed and written with libcsv) or JSON lines. An import is sent as one
 * request and lands all or nothing; every refused row is reported with its line
 * number and field. CSV columns are the field names; list fields (expertise)
 * separate items with ';', education is JSON in its cell.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <csv.h>

#include "rosterctl.h"
#include "roster/util.h"

struct rows {
	json_t *records; /* the rows as person objects */
	long *lines;     /* the line each row starts on */
	size_t n, cap;
	json_t *errors; /* "line N: ..." found before anything is sent */
	int tty;
};

static void rows_add(struct rows *r, json_t *rec, long line)
{
	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 1024;
		r->lines = roster_xrealloc(r->lines, r->cap * sizeof(long));
	}
	r->lines[r->n++] = line;
	json_array_append_new(r->records, rec);
	if (r->tty && r->n % 1000 == 0)
		fprintf(stderr, "\rreading  %zu rows", r->n);
}

static void rows_error(struct rows *r, long line, const char *msg, const char *detail)
{
	if (json_array_size(r->errors) < 1000)
		json_array_append_new(r->errors,
		                      json_sprintf("line %ld: %s%s%s", line, msg,
		                                   detail ? ": " : "", detail ? detail : ""));
}

/* ---- CSV ---- */

struct csv_state {
	struct rows *rows;
	json_t *header; /* column names, from the first row */
	json_t *cells;  /* the row being read */
	long line, row_start;
	long not_utf8; /* the first cell of the row that is not UTF-8 (its index), or -1 */
};

/* A cell that is not UTF-8 (a roster saved as Latin-1 or Windows-1252, say)
 * keeps its place as an empty cell, so that the row's error can name its
 * column. */
static void csv_cell(void *s, size_t len, void *data)
{
	struct csv_state *st = data;
	json_t *cell = json_stringn(s ? s : "", s ? len : 0);

	if (cell == NULL) {
		if (st->not_utf8 < 0)
			st->not_utf8 = (long)json_array_size(st->cells);
		cell = json_string("");
	}
	json_array_append_new(st->cells, cell);
}

static json_t *cell_value(const struct roster_field *f, const char *text)
{
	json_t *v, *arr;
	char *copy, *item, *save = NULL;

	switch (f->type) {
	case FT_STRING_ARRAY:
		arr = json_array();
		copy = roster_xstrdup(text);
		for (item = strtok_r(copy, ";", &save); item; item = strtok_r(NULL, ";", &save)) {
			while (*item == ' ')
				item++;
			for (char *e = item + strlen(item); e > item && e[-1] == ' ';)
				*--e = '\0';
			if (*item)
				json_array_append_new(arr, json_string(item));
		}
		free(copy);
		return arr;
	case FT_OBJECT_ARRAY:
		v = json_loads(text, 0, NULL);
		if (json_is_object(v)) {
			arr = json_array();
			json_array_append_new(arr, v);
			return arr;
		}
		return v; /* an array, or NULL when the cell is not JSON */
	case FT_INT:
		return json_integer(strtoll(text, NULL, 10));
	default:
		return json_string(text);
	}
}

#define NOT_UTF8 "not UTF-8 text: save the file as UTF-8"

/* The first row names the columns: each a field a clerk may set, once. */
static void header_check(struct csv_state *st)
{
	json_t *cell;
	size_t i;

	json_array_foreach(st->header, i, cell)
	{
		const char *name = json_string_value(cell);
		const struct roster_field *f = roster_field_find(roster_person_fields, name);

		if (f == NULL || f->server_set)
			rows_error(st->rows, st->row_start,
			           f ? "column is set by the registry" : "unknown column", name);
		for (size_t j = 0; j < i; j++)
			if (strcmp(name, json_string_value(json_array_get(st->header, j))) == 0) {
				rows_error(st->rows, st->row_start, "column named twice", name);
				break;
			}
	}
}

static void csv_header(struct csv_state *st)
{
	st->header = st->cells;
	st->cells = json_array();
	if (st->not_utf8 >= 0)
		rows_error(st->rows, st->row_start, "the header is " NOT_UTF8, NULL);
	else
		header_check(st);
	st->row_start = st->line + 1;
	st->not_utf8 = -1;
}

static void csv_row(int c, void *data)
{
	struct csv_state *st = data;
	size_t i;
	json_t *cell, *rec;

	(void)c;
	if (st->header == NULL) {
		csv_header(st);
		return;
	}
	if (st->not_utf8 >= 0) {
		const char *col =
		    json_string_value(json_array_get(st->header, (size_t)st->not_utf8));
		char msg[320];

		snprintf(msg, sizeof(msg), "column '%s' is %s", col ? col : "(past the header)",
		         NOT_UTF8);
		rows_error(st->rows, st->row_start, msg, NULL);
	} else if (json_array_size(st->cells) != json_array_size(st->header)) {
		char detail[64];

		snprintf(detail, sizeof(detail), "%zu cells, the header has %zu",
		         json_array_size(st->cells), json_array_size(st->header));
		rows_error(st->rows, st->row_start, "wrong number of cells", detail);
	} else {
		rec = json_object();
		json_array_foreach(st->cells, i, cell)
		{
			const char *name = json_string_value(json_array_get(st->header, i));
			const struct roster_field *f =
			    roster_field_find(roster_person_fields, name);
			json_t *v;

			if (f == NULL || json_string_length(cell) == 0)
				continue;
			if ((v = cell_value(f, json_string_value(cell))) == NULL)
				rows_error(st->rows, st->row_start, "not JSON", name);
			else
				json_object_set_new(rec, name, v);
		}
		rows_add(st->rows, rec, st->row_start);
	}
	json_array_clear(st->cells);
	st->row_start = st->line + 1;
	st->not_utf8 = -1;
}

static int read_csv(FILE *f, struct rows *rows)
{
	struct csv_parser p;
	struct csv_state st = {rows, NULL, json_array(), 0, 1, -1};
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int rc = 0;

	csv_init(&p, CSV_STRICT | CSV_APPEND_NULL | CSV_EMPTY_IS_NULL);
	/* Fed a line at a time, so a row's first line is known even with embedded newlines. */
	while ((n = getline(&line, &cap, f)) > 0) {
		size_t skip = 0;

		/* Spreadsheets save "CSV UTF-8" with a byte order mark before the header. */
		if (st.line++ == 0 && n >= 3 && memcmp(line, "\xef\xbb\xbf", 3) == 0)
			skip = 3;
		if (csv_parse(&p, line + skip, (size_t)n - skip, csv_cell, csv_row, &st) !=
		    (size_t)n - skip) {
			rows_error(rows, st.line, "malformed CSV", csv_strerror(csv_error(&p)));
			rc = -1;
			break;
		}
	}
	if (rc == 0 && csv_fini(&p, csv_cell, csv_row, &st) != 0) {
		rows_error(rows, st.row_start, "malformed CSV", csv_strerror(csv_error(&p)));
		rc = -1;
	}
	if (st.header == NULL)
		rows_error(rows, 1, "no header row", NULL);
	csv_free(&p);
	free(line);
	json_decref(st.header);
	json_decref(st.cells);
	return rc;
}

static void read_jsonl(FILE *f, struct rows *rows)
{
	char *line = NULL;
	size_t cap = 0;
	long lineno = 0;
	ssize_t n;

	while ((n = getline(&line, &cap, f)) > 0) {
		size_t skip =
		    lineno++ == 0 && n >= 3 && memcmp(line, "\xef\xbb\xbf", 3) == 0 ? 3 : 0;
		json_error_t jerr;
		json_t *v;

		if (strspn(line + skip, " \t\r\n") == (size_t)n - skip)
			continue;
		v = json_loads(line + skip, JSON_REJECT_DUPLICATES, &jerr);
		if (!json_is_object(v)) {
			rows_error(rows, lineno, "not a JSON object", v ? NULL : jerr.text);
			json_decref(v);
			continue;
		}
		rows_add(rows, v, lineno);
	}
	free(line);
}

static const char *format_of(const char *given, const char *path)
{
	const char *dot = strrchr(path, '.');

	if (given)
		return given;
	if (dot && strcmp(dot, ".csv") == 0)
		return "csv";
	if (dot && (strcmp(dot, ".jsonl") == 0 || strcmp(dot, ".ndjson") == 0))
		return "jsonl";
	return NULL;
}

static int report_refusal(struct ctl *ctl, struct response *r, const struct rows *rows)
{
	json_t *e = json_object_get(r->json, "error"), *row;
	size_t i;

	if (ctl->json || !json_is_array(json_object_get(e, "rows")))
		return http_finish(ctl, r, NULL);
	json_array_foreach(json_object_get(e, "rows"), i, row)
	{
		size_t idx = (size_t)json_integer_value(json_object_get(row, "index"));

		fprintf(stderr, "line %ld: %s\n", idx < rows->n ? rows->lines[idx] : -1L,
		        json_string_value(json_object_get(row, "message")));
	}
	return http_finish(ctl, r, NULL);
}

static int cmd_person_import(struct ctl *ctl, int argc, char **argv)
{
	static const char *const opts[] = {"format", "!dry-run", NULL};
	struct rows rows = {json_array(), NULL, 0, 0, json_array(), isatty(2)};
	const char *format;
	struct response r;
	struct args a;
	json_t *body, *err;
	size_t i;
	FILE *f;
	int rc = args_parse(&cmd_person_import_entry, argc, argv, NULL, opts, 1, 1, &a);

	if (rc)
		goto done;
	format = format_of(a.opt[0], a.pos[0]);
	if (format == NULL || (strcmp(format, "csv") != 0 && strcmp(format, "jsonl") != 0)) {
		rc = cmd_usage_error(&cmd_person_import_entry,
		                     "say --format csv or --format jsonl (or name the file .csv or "
		                     ".jsonl)");
		goto done;
	}
	f = strcmp(a.pos[0], "-") == 0 ? stdin : fopen(a.pos[0], "r");
	if (f == NULL) {
		rc = cmd_usage_error(&cmd_person_import_entry, "cannot read %s", a.pos[0]);
		goto done;
	}
	if (strcmp(format, "csv") == 0)
		read_csv(f, &rows);
	else
		read_jsonl(f, &rows);
	if (f != stdin)
		fclose(f);
	if (rows.tty && rows.n >= 1000)
		fprintf(stderr, "\rreading  %zu rows\n", rows.n);
	if (json_array_size(rows.errors) || rows.n == 0) {
		json_array_foreach(rows.errors, i, err)
		    fprintf(stderr, "%s\n", json_string_value(err));
		fprintf(stderr, "rosterctl: %s: nothing was sent, nothing was written\n",
		        json_array_size(rows.errors) ? "the file has errors"
		                                     : "the file holds no rows");
		rc = EXIT_REJECTED;
		goto done;
	}
	body = json_pack("{s:O, s:b}", "records", rows.records, "dry_run", a.opt[1] != NULL);
	ctl->progress = rows.tty && rows.n >= 1000;
	rc = http_request(ctl, "POST", "/v1/persons/import", body, &r);
	if (ctl->progress)
		fputc('\n', stderr);
	json_decref(body);
	if (rc)
		goto done;
	if (r.status >= 300) {
		rc = report_refusal(ctl, &r, &rows);
	} else {
		if (ctl->json) {
			rc = http_finish(ctl, &r, NULL);
		} else {
			printf(a.opt[1] ? "%zu rows are valid; nothing was written (dry run)\n"
			                : "imported %zu persons\n",
			       rows.n);
			response_free(&r);
			rc = EXIT_OK;
		}
	}
done:
	json_decref(rows.records);
	json_decref(rows.errors);
	free(rows.lines);
	args_free(&a);
	return ARGS_DONE(rc);
}

const struct cmd_entry cmd_person_import_entry = {
    "person", "import", "FILE [--format csv|jsonl] [--dry-run]",
    "import a roster in one go: all rows or none; bad rows are named by line and field",
    cmd_person_import};

/* ---- export ---- */

static void csv_out(FILE *out, const char *text, int first)
{
	if (!first)
		fputc(',', out);
	csv_fwrite(out, text, strlen(text));
}

static void export_record(FILE *out, const json_t *rec, int csv)
{
	const struct roster_field *f;
	int first = 1;

	if (!csv) {
		json_t *copy = json_copy((json_t *)rec);
		char *line;

		for (f = roster_person_fields; f->name; f++)
			if (f->server_set)
				json_object_del(copy, f->name);
		line = json_dumps(copy, JSON_COMPACT | JSON_SORT_KEYS);
		fprintf(out, "%s\n", line);
		free(line);
		json_decref(copy);
		return;
	}
	for (f = roster_person_fields; f->name; f++) {
		const json_t *v = json_object_get(rec, f->name);
		char *text = NULL;

		if (f->server_set)
			continue;
		if (json_is_string(v)) {
			text = roster_xstrdup(json_string_value(v));
		} else if (f->type == FT_STRING_ARRAY && json_is_array(v)) {
			size_t i;
			json_t *item;

			text = roster_xstrdup("");
			json_array_foreach(v, i, item)
			{
				char *next = roster_xasprintf("%s%s%s", text, i ? ";" : "",
				                              json_string_value(item));
				free(text);
				text = next;
			}
		} else if (v) {
			text = json_dumps(v, JSON_COMPACT);
		}
		csv_out(out, text ? text : "", first);
		first = 0;
		free(text);
	}
	fputc('\n', out);
}

static int cmd_person_export(struct ctl *ctl, int argc, char **argv)
{
	static const char *const opts[] = {"format",     "output",   "national-id", "name",
	                                   "birth-date", "employer", "segment",     "expertise",
	                                   "status",     NULL};
	char *base, *path, *after = NULL;
	const struct roster_field *f;
	struct args a;
	size_t total = 0;
	int csv, rc = args_parse(&cmd_person_export_entry, argc, argv, NULL, opts, 0, 0, &a), tty;
	FILE *out;

	if (rc)
		return ARGS_DONE(rc);
	if (a.opt[0] == NULL || (strcmp(a.opt[0], "csv") != 0 && strcmp(a.opt[0], "jsonl") != 0))
		return cmd_usage_error(&cmd_person_export_entry, "say --format csv or jsonl");
	csv = strcmp(a.opt[0], "csv") == 0;
	out = a.opt[1] ? fopen(a.opt[1], "w") : stdout;
	if (out == NULL)
		return cmd_usage_error(&cmd_person_export_entry, "cannot write %s", a.opt[1]);
	tty = isatty(2) && out != stdout;
	if (csv) {
		int first = 1;

		for (f = roster_person_fields; f->name; f++)
			if (!f->server_set) {
				csv_out(out, f->name, first);
				first = 0;
			}
		fputc('\n', out);
	}
	base = query_build("/v1/persons", opts + 2, a.opt + 2, 7);
	for (;;) {
		struct response r;
		const char *next;
		size_t i;
		json_t *rec;

		path = roster_xasprintf("%s%slimit=500%s%s", base, strchr(base, '?') ? "&" : "?",
		                        after ? "&after=" : "", after ? after : "");
		rc = http_request(ctl, "GET", path, NULL, &r);
		free(path);
		free(after);
		after = NULL;
		if (rc)
			break;
		if (r.status != 200) {
			rc = http_finish(ctl, &r, NULL);
			break;
		}
		json_array_foreach(json_object_get(r.json, "items"), i, rec)
		{
			export_record(out, rec, csv);
			total++;
		}
		if (tty)
			fprintf(stderr, "\rexported %zu persons", total);
		next = json_string_value(json_object_get(r.json, "next"));
		after = next ? http_escape(next) : NULL;
		response_free(&r);
		if (after == NULL)
			break;
	}
	if (tty)
		fputc('\n', stderr);
	free(base);
	if (out != stdout && fclose(out) != 0)
		rc = EXIT_INTERNAL;
	return rc;
}

const struct cmd_entry cmd_person_export_entry = {
    "person", "export",
    "--format csv|jsonl [--output FILE] [--employer E] [--segment S] [--expertise X] "
    "[--status S] [--national-id ID] [--name N] [--birth-date D]",
    "write persons (all, or those matching the filters) decrypted, every read audited",
    cmd_person_export};
