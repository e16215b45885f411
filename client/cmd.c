/*
 * cmd.c - the table of every rosterctl command, dispatch by NOUN VERB, usage
 * text, and the argument parser all commands share.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unistr.h>

#include "rosterctl.h"
#include "roster/util.h"

/* Grouped by noun: --help, the manual page and the completion list them this way. */
const struct cmd_entry *const cmd_table[] = {&cmd_person_add_entry,
                                             &cmd_person_get_entry,
                                             &cmd_person_update_entry,
                                             &cmd_person_list_entry,
                                             &cmd_person_find_entry,
                                             &cmd_person_import_entry,
                                             &cmd_person_export_entry,
                                             &cmd_doc_add_entry,
                                             &cmd_doc_get_entry,
                                             &cmd_doc_list_entry,
                                             &cmd_doc_find_entry,
                                             &cmd_doc_custody_entry,
                                             &cmd_travel_request_entry,
                                             &cmd_travel_get_entry,
                                             &cmd_travel_list_entry,
                                             &cmd_travel_approve_entry,
                                             &cmd_travel_deny_entry,
                                             &cmd_travel_complete_entry,
                                             &cmd_travel_cancel_entry,
                                             &cmd_audit_tail_entry,
                                             &cmd_audit_export_entry,
                                             &cmd_audit_find_entry,
                                             &cmd_audit_checkpoint_entry,
                                             &cmd_audit_pubkey_entry,
                                             &cmd_audit_prove_entry,
                                             &cmd_audit_consistency_entry,
                                             &cmd_audit_verify_entry,
                                             &cmd_status_entry,
                                             &cmd_role_list_entry,
                                             &cmd_role_grant_entry,
                                             &cmd_role_revoke_entry,
                                             &cmd_backup_entry,
                                             &cmd_key_status_entry,
                                             &cmd_key_rotate_entry,
                                             NULL};

void cmd_usage(FILE *f, const char *noun)
{
	fprintf(f, "usage: rosterctl [-s SOCKET] [--json] NOUN VERB [ARGS]\n\n");
	for (const struct cmd_entry *const *e = cmd_table; *e; e++)
		if (noun == NULL || strcmp(noun, (*e)->noun) == 0)
			fprintf(f, "  %s %s %s\n      %s\n", (*e)->noun,
			        (*e)->verb ? (*e)->verb : "", (*e)->usage, (*e)->help);
	fprintf(
	    f, "\nRecord fields are flags: --birth-date for birth_date. The socket defaults to "
	       "$ROSTER_SOCKET.\nExit codes: 0 ok, 1 not found, 64 usage, 65 rejected, 69 "
	       "daemon unreachable,\n70 internal error, 75 retry later (disk full, rosterd busy or "
	       "stopping), 77 permission denied.\n");
}

int cmd_usage_error(const struct cmd_entry *e, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "rosterctl: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nusage: rosterctl %s %s %s\n", e->noun, e->verb ? e->verb : "", e->usage);
	return EXIT_USAGE;
}

/* rosterctl help [NOUN]: what --help prints, or a noun's part of it. */
static int cmd_help(const char *noun)
{
	for (const struct cmd_entry *const *e = cmd_table; *e; e++)
		if (noun == NULL || strcmp((*e)->noun, noun) == 0) {
			cmd_usage(stdout, noun);
			return EXIT_OK;
		}
	fprintf(stderr, "rosterctl: no command '%s': see rosterctl help\n", noun);
	return EXIT_USAGE;
}

int cmd_run(struct ctl *ctl, int argc, char **argv)
{
	const char *noun = argc > 0 ? argv[0] : NULL, *verb = argc > 1 ? argv[1] : NULL;
	int noun_known = 0;

	if (noun == NULL) {
		cmd_usage(stderr, NULL);
		return EXIT_USAGE;
	}
	if (strcmp(noun, "help") == 0) /* rosterctl help [NOUN], as git and systemctl take it */
		return cmd_help(verb);
	for (const struct cmd_entry *const *e = cmd_table; *e; e++) {
		if (strcmp((*e)->noun, noun) != 0)
			continue;
		noun_known = 1;
		if ((*e)->verb == NULL)
			return (*e)->exec(ctl, argc - 1, argv + 1);
		if (verb && strcmp((*e)->verb, verb) == 0)
			return (*e)->exec(ctl, argc - 2, argv + 2);
	}
	if (noun_known &&
	    (verb == NULL || strcmp(verb, "--help") == 0 || strcmp(verb, "-h") == 0)) {
		cmd_usage(verb ? stdout : stderr, noun);
		return verb ? EXIT_OK : EXIT_USAGE;
	}
	fprintf(stderr, "rosterctl: unknown command '%s%s%s': see rosterctl --help\n", noun,
	        noun_known && verb ? " " : "", noun_known && verb ? verb : "");
	return EXIT_USAGE;
}

static json_t *load_body(const char *path, const struct cmd_entry *e, int *rc)
{
	json_error_t jerr;
	json_t *v = strcmp(path, "-") == 0 ? json_loadf(stdin, JSON_REJECT_DUPLICATES, &jerr)
	                                   : json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);

	if (v == NULL) {
		*rc = cmd_usage_error(e, "%s: not a JSON document (line %d: %s)", path, jerr.line,
		                      jerr.text);
		return NULL;
	}
	if (!json_is_object(v)) {
		json_decref(v);
		*rc = cmd_usage_error(e, "%s: the record must be a JSON object", path);
		return NULL;
	}
	return v;
}

/* A field's value goes into the JSON body as text: one that is not UTF-8 (a
 * terminal in Latin-1, say) is refused here, where it would be dropped from the
 * body and reported as missing. (File names and other options may be any bytes.) */
#define ENCODING_HINT "check the terminal's or the script's character encoding"
static int utf8_text(const char *s)
{
	return u8_check((const uint8_t *)s, strlen(s)) == NULL;
}

static int set_field(const struct cmd_entry *e, json_t *body, const struct roster_field *f,
                     const char *value)
{
	json_t *arr = json_object_get(body, f->name), *v;
	char *end, *copy, *item, *save = NULL;
	long long n;

	if (!utf8_text(value))
		return cmd_usage_error(e, "--%s is not UTF-8 text: %s", f->name, ENCODING_HINT);
	switch (f->type) {
	case FT_STRING:
		json_object_set_new(body, f->name, json_string(value));
		return 0;
	case FT_INT:
		errno = 0;
		n = strtoll(value, &end, 10);
		if (errno || *value == '\0' || *end)
			return cmd_usage_error(e, "--%s takes a whole number", f->name);
		json_object_set_new(body, f->name, json_integer(n));
		return 0;
	case FT_STRING_ARRAY:
		if (!json_is_array(arr)) {
			arr = json_array();
			json_object_set_new(body, f->name, arr);
		}
		copy = roster_xstrdup(value);
		for (item = strtok_r(copy, ",", &save); item; item = strtok_r(NULL, ",", &save))
			json_array_append_new(arr, json_string(item));
		free(copy);
		return 0;
	case FT_OBJECT_ARRAY:
		v = json_loads(value, 0, NULL);
		if (!json_is_array(v) && !json_is_object(v)) {
			json_decref(v);
			return cmd_usage_error(e, "--%s takes JSON: an object or an array of them",
			                       f->name);
		}
		if (!json_is_array(arr)) {
			arr = json_array();
			json_object_set_new(body, f->name, arr);
		}
		if (json_is_array(v))
			json_array_extend(arr, v);
		else
			json_array_append(arr, v);
		json_decref(v);
		return 0;
	}
	return EXIT_INTERNAL;
}

int args_parse(const struct cmd_entry *e, int argc, char **argv, const struct roster_field *fields,
               const char *const *opts, int npos_min, int npos_max, struct args *a)
{
	int rc = 0;

	memset(a, 0, sizeof(*a));
	if (fields)
		a->body = json_object();
	for (int i = 0; i < argc && rc == 0; i++) {
		const char *arg = argv[i], *value;
		char name[64];
		int o;

		if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
			printf("usage: rosterctl %s %s %s\n  %s\n", e->noun, e->verb ? e->verb : "",
			       e->usage, e->help);
			args_free(a);
			return -1;
		}
		if (arg[0] != '-' || strcmp(arg, "-") == 0) {
			if (a->npos == npos_max)
				rc = cmd_usage_error(e, "unexpected argument '%s'", arg);
			else
				a->pos[a->npos++] = arg;
			continue;
		}
		for (o = 0; opts && opts[o]; o++)
			if (opts[o][0] == '!' && strncmp(arg, "--", 2) == 0 &&
			    strcmp(opts[o] + 1, arg + 2) == 0)
				break;
		if (opts && opts[o]) { /* a flag without a value */
			a->opt[o] = "yes";
			continue;
		}
		if (i + 1 >= argc) {
			rc = cmd_usage_error(e, "%s needs a value", arg);
			break;
		}
		value = argv[++i];
		if (strcmp(arg, "-f") == 0 && fields) {
			json_t *file = load_body(value, e, &rc);

			if (file) {
				json_object_update(file, a->body);
				json_decref(a->body);
				a->body = file;
			}
			continue;
		}
		if (strncmp(arg, "--", 2) != 0 || strlen(arg + 2) >= sizeof(name)) {
			rc = cmd_usage_error(e, "unknown option '%s'", arg);
			break;
		}
		snprintf(name, sizeof(name), "%s", arg + 2);
		for (o = 0; opts && opts[o]; o++)
			if (strcmp(opts[o], name) == 0)
				break;
		if (opts && opts[o]) {
			a->opt[o] = value;
			continue;
		}
		for (char *p = name; *p; p++)
			if (*p == '-')
				*p = '_';
		if (fields && roster_field_find(fields, name))
			rc = set_field(e, a->body, roster_field_find(fields, name), value);
		else
			rc = cmd_usage_error(e, "unknown option '%s'", arg);
	}
	if (rc == 0 && a->npos < npos_min)
		rc = cmd_usage_error(e, "missing argument");
	if (rc)
		args_free(a);
	return rc;
}

void args_free(struct args *a)
{
	json_decref(a->body);
	a->body = NULL;
}
