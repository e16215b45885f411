/*
 * cmd-doc.c - rosterctl doc add|get|list|custody.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rosterctl.h"

static int cmd_doc_add(struct ctl *ctl, int argc, char **argv)
{
	struct args a;
	int rc = args_parse(&cmd_doc_add_entry, argc, argv, roster_document_fields, NULL, 0, 0, &a);

	if (rc)
		return ARGS_DONE(rc);
	rc = cmd_simple(ctl, "POST", "/v1/documents", a.body, print_document);
	args_free(&a);
	return rc;
}

const struct cmd_entry cmd_doc_add_entry = {
    "doc", "add", "[-f FILE|-] [--person ID --type T --number N --country CC --expires D ...]",
    "register a travel document", cmd_doc_add};

/* Reads the rest of doc's history, page by page (each page an audited read), into
 * its "history"; rosterd sends at most 1,000 events per read. */
static int doc_history_rest(struct ctl *ctl, const char *id, json_t *doc)
{
	json_t *next = json_object_get(doc, "history_next");
	char path[512];
	int rc = 0;

	while (rc == 0 && json_is_integer(next)) {
		struct response r;

		snprintf(path, sizeof(path), "/v1/documents/%s?history_from=%lld", id,
		         (long long)json_integer_value(next));
		if ((rc = http_request(ctl, "GET", path, NULL, &r)) != 0)
			break;
		if (r.status != 200 || !json_is_object(r.json)) {
			rc = http_finish(ctl, &r, NULL); /* says what went wrong */
			break;
		}
		json_array_extend(json_object_get(doc, "history"),
		                  json_object_get(r.json, "history"));
		json_object_set(doc, "history_next", json_object_get(r.json, "history_next"));
		next = json_object_get(doc, "history_next");
		response_free(&r);
	}
	json_object_del(doc, "history_next");
	return rc;
}

static int cmd_doc_get(struct ctl *ctl, int argc, char **argv)
{
	struct response r;
	struct args a;
	json_t *doc;
	char path[512], *id;
	int rc = args_parse(&cmd_doc_get_entry, argc, argv, NULL, NULL, 1, 1, &a);

	if (rc)
		return ARGS_DONE(rc);
	id = http_escape(a.pos[0]);
	snprintf(path, sizeof(path), "/v1/documents/%s", id);
	if ((rc = http_request(ctl, "GET", path, NULL, &r)) != 0)
		goto done;
	if (r.status != 200 || !json_is_object(r.json)) {
		rc = http_finish(ctl, &r, print_document);
		goto done;
	}
	doc = json_incref(r.json);
	response_free(&r);
	if ((rc = doc_history_rest(ctl, id, doc)) == 0) {
		if (ctl->json)
			json_dumpf(doc, stdout, JSON_COMPACT);
		else
			print_document(doc);
	}
	json_decref(doc);
done:
	free(id);
	args_free(&a);
	return rc;
}

const struct cmd_entry cmd_doc_get_entry = {
    "doc", "get", "ID", "show a document with its custody history", cmd_doc_get};

static int cmd_doc_list(struct ctl *ctl, int argc, char **argv)
{
	static const char *const opts[] = {"person", "custody", "limit", "after", "!all", NULL};
	char base[256], *v;
	struct args a;
	int rc = args_parse(&cmd_doc_list_entry, argc, argv, NULL, opts, 0, 0, &a);

	if (rc)
		return ARGS_DONE(rc);
	if ((a.opt[0] == NULL) == (a.opt[1] == NULL))
		return cmd_usage_error(&cmd_doc_list_entry, "give --person ID or --custody STATE");
	v = http_escape(a.opt[0] ? a.opt[0] : a.opt[1]);
	snprintf(base, sizeof(base), "/v1/documents?%s=%s", a.opt[0] ? "person" : "custody", v);
	free(v);
	return cmd_list(ctl, base, a.opt[2], a.opt[3], a.opt[4] != NULL, 0, print_document_line);
}

const struct cmd_entry cmd_doc_list_entry = {
    "doc", "list", "--person ID | --custody STATE [--limit N] [--after ID] [--all]",
    "list a person's documents, or the documents in a custody state", cmd_doc_list};

static int cmd_doc_custody(struct ctl *ctl, int argc, char **argv)
{
	char path[256], *id;
	struct args a;
	int rc =
	    args_parse(&cmd_doc_custody_entry, argc, argv, roster_custody_fields, NULL, 1, 2, &a);

	if (rc)
		return ARGS_DONE(rc);
	if (a.npos == 2)
		json_object_set_new(a.body, "event", json_string(a.pos[1]));
	id = http_escape(a.pos[0]);
	snprintf(path, sizeof(path), "/v1/documents/%s/custody", id);
	free(id);
	rc = cmd_simple(ctl, "POST", path, a.body, print_document);
	args_free(&a);
	return rc;
}

const struct cmd_entry cmd_doc_custody_entry = {
    "doc", "custody",
    "ID EVENT [--to employer|authority] [--custodian TEXT] [--request TRAVEL-ID] [--note TEXT]",
    "record a custody event: surrender, release, return, lost or cancel", cmd_doc_custody};

static int cmd_doc_find(struct ctl *ctl, int argc, char **argv)
{
	static const char *const opts[] = {"number", "country", NULL};
	struct args a;
	char *base;
	int rc = args_parse(&cmd_doc_find_entry, argc, argv, NULL, opts, 0, 0, &a);

	if (rc)
		return ARGS_DONE(rc);
	if (a.opt[0] == NULL || a.opt[1] == NULL)
		return cmd_usage_error(&cmd_doc_find_entry, "give --number and --country");
	base = query_build("/v1/documents", opts, a.opt, 2);
	rc = cmd_list(ctl, base, NULL, NULL, 1, 1, print_document_line);
	free(base);
	return rc;
}

const struct cmd_entry cmd_doc_find_entry = {
    "doc", "find", "--number N --country CC",
    "find a document by number and issuing country; exit 1 if none", cmd_doc_find};
