/*
 * cmd-person.c - rosterctl person add|get|update|list.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rosterctl.h"
#include "roster/util.h"

static int cmd_person_add(struct ctl *ctl, int argc, char **argv)
{
	struct args a;
	int rc =
	    args_parse(&cmd_person_add_entry, argc, argv, roster_person_fields, NULL, 0, 0, &a);

	if (rc)
		return ARGS_DONE(rc);
	rc = cmd_simple(ctl, "POST", "/v1/persons", a.body, print_person);
	args_free(&a);
	return rc;
}

const struct cmd_entry cmd_person_add_entry = {
    "person", "add", "[-f FILE|-] [--name N --birth-date D --nationality CC --employer E ...]",
    "record a person; fields as flags or a JSON document", cmd_person_add};

/* GET /v1/<what>/<id>, the shape of every "get". */
int cmd_get(struct ctl *ctl, const struct cmd_entry *e, const char *what, int argc, char **argv,
            void (*print)(const json_t *))
{
	char path[256], *id;
	struct args a;
	int rc = args_parse(e, argc, argv, NULL, NULL, 1, 1, &a);

	if (rc)
		return ARGS_DONE(rc);
	id = http_escape(a.pos[0]);
	snprintf(path, sizeof(path), "/v1/%s/%s", what, id);
	free(id);
	return cmd_simple(ctl, "GET", path, NULL, print);
}

static int cmd_person_get(struct ctl *ctl, int argc, char **argv)
{
	return cmd_get(ctl, &cmd_person_get_entry, "persons", argc, argv, print_person);
}

const struct cmd_entry cmd_person_get_entry = {"person", "get", "ID", "show one person",
                                               cmd_person_get};

static int cmd_person_update(struct ctl *ctl, int argc, char **argv)
{
	static const char *const opts[] = {"version", "unset", NULL};
	char path[256], *id, *end;
	struct args a;
	long long version;
	int rc =
	    args_parse(&cmd_person_update_entry, argc, argv, roster_person_fields, opts, 1, 1, &a);

	if (rc)
		return ARGS_DONE(rc);
	if (a.opt[0] == NULL || (version = strtoll(a.opt[0], &end, 10)) < 1 || *end) {
		args_free(&a);
		return cmd_usage_error(&cmd_person_update_entry,
		                       "--version N is required: the version you last read "
		                       "(rosterctl person get ID)");
	}
	if (a.opt[1]) {
		char *fields = roster_xstrdup(a.opt[1]), *save = NULL;

		for (char *f = strtok_r(fields, ",", &save); f; f = strtok_r(NULL, ",", &save)) {
			for (char *p = f; *p; p++)
				if (*p == '-')
					*p = '_';
			json_object_set_new(a.body, f, json_null());
		}
		free(fields);
	}
	json_object_set_new(a.body, "version", json_integer(version));
	id = http_escape(a.pos[0]);
	snprintf(path, sizeof(path), "/v1/persons/%s", id);
	free(id);
	rc = cmd_simple(ctl, "PATCH", path, a.body, print_person);
	args_free(&a);
	return rc;
}

const struct cmd_entry cmd_person_update_entry = {
    "person", "update", "ID --version N [--FIELD VALUE ...] [--unset FIELD,...]",
    "change the given fields, only if the person is still at version N", cmd_person_update};

/* Pages through a list, following "next" with --all; the shape of every list. */
int cmd_list(struct ctl *ctl, const char *base, const char *limit, const char *after, int all,
             int find, void (*line)(const json_t *))
{
	size_t seen = 0;

	char path[1024], *cursor = after ? http_escape(after) : NULL;

	for (;;) {
		struct response r;
		const char *next;
		int rc;

		snprintf(path, sizeof(path), "%s%slimit=%s%s%s", base,
		         strchr(base, '?') ? "&" : "?", limit ? limit : "50",
		         cursor ? "&after=" : "", cursor ? cursor : "");
		free(cursor);
		cursor = NULL;
		if ((rc = http_request(ctl, "GET", path, NULL, &r)) != 0)
			return rc;
		if (r.status != 200)
			return http_finish(ctl, &r, NULL);
		if (ctl->json)
			fwrite(r.body, 1, r.len, stdout);
		else
			print_list(r.json, line);
		seen += json_array_size(json_object_get(r.json, "items"));
		next = json_string_value(json_object_get(r.json, "next"));
		if (next && all)
			cursor = http_escape(next);
		else if (next && !ctl->json)
			printf("(more: --after %s, or --all)\n", next);
		response_free(&r);
		if (cursor == NULL)
			return find && seen == 0 ? EXIT_NOTFOUND : EXIT_OK;
	}
}

char *query_build(const char *base, const char *const *names, const char *const *values, size_t n)
{
	char *q = roster_xstrdup(base);

	for (size_t i = 0; i < n; i++) {
		char *v, *next, name[32];

		if (values[i] == NULL)
			continue;
		snprintf(name, sizeof(name), "%s", names[i]);
		for (char *c = name; *c; c++)
			if (*c == '-')
				*c = '_';
		v = http_escape(values[i]);
		next = roster_xasprintf("%s%s%s=%s", q, strchr(q, '?') ? "&" : "?", name, v);
		free(v);
		free(q);
		q = next;
	}
	return q;
}

/* The person filters, in the order of opts after "limit", "after", "!all". */
static const char *const person_opts[] = {"limit",     "after",      "!all",     "national-id",
                                          "name",      "birth-date", "employer", "segment",
                                          "expertise", "status",     NULL};
#define PERSON_FILTERS 7

static int person_query(struct ctl *ctl, const struct cmd_entry *e, int find, int argc, char **argv)
{
	struct args a;
	char *base;
	int rc = args_parse(e, argc, argv, NULL, person_opts, 0, 0, &a);

	if (rc)
		return ARGS_DONE(rc);
	if (find && a.opt[3] == NULL && a.opt[4] == NULL)
		return cmd_usage_error(e,
		                       "find by --national-id ID, or --name NAME [--birth-date D]");
	base = query_build("/v1/persons", person_opts + 3, a.opt + 3, PERSON_FILTERS);
	rc = cmd_list(ctl, base, a.opt[0], a.opt[1], find || a.opt[2] != NULL, find,
	              print_person_line);
	free(base);
	return rc;
}

static int cmd_person_list(struct ctl *ctl, int argc, char **argv)
{
	return person_query(ctl, &cmd_person_list_entry, 0, argc, argv);
}

static int cmd_person_find(struct ctl *ctl, int argc, char **argv)
{
	return person_query(ctl, &cmd_person_find_entry, 1, argc, argv);
}

const struct cmd_entry cmd_person_find_entry = {
    "person", "find", "--national-id ID | --name NAME [--birth-date D] [other filters]",
    "find persons by exact national id or name (normalised); exit 1 if none", cmd_person_find};

const struct cmd_entry cmd_person_list_entry = {
    "person", "list",
    "[--employer E] [--segment S] [--expertise X] [--status S] [--national-id ID] [--name N] "
    "[--birth-date D] [--limit N] [--after ID] [--all]",
    "list persons, all or matching every filter given, a page at a time", cmd_person_list};
