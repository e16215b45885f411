/*
 * cmd-admin.c - rosterctl role list|grant|revoke and rosterctl backup: the
 * administrator's commands. None of them shows personal data.
 */
#include <limits.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rosterctl.h"
#include "roster/util.h"

static void print_roles(const json_t *r)
{
	const json_t *config = json_object_get(r, "config"), *grants = json_object_get(r, "grants");
	const char *role;
	json_t *members, *g, *m;
	size_t i, j;

	printf("from rosterd.conf:\n");
	json_object_foreach((json_t *)config, role, members)
	{
		printf("  %-9s", role);
		json_array_foreach(members, j, m) printf(" %s", json_string_value(m));
		printf("%s\n", json_array_size(members) ? "" : " -");
	}
	printf("granted with rosterctl role grant:\n");
	json_array_foreach(grants, i, g)
	{
		printf("  uid %lld (%s):", (long long)json_integer_value(json_object_get(g, "uid")),
		       json_string_value(json_object_get(g, "user")));
		json_array_foreach(json_object_get(g, "roles"), j, m)
		    printf(" %s", json_string_value(m));
		printf("\n");
	}
	if (json_array_size(grants) == 0)
		printf("  (none)\n");
}

static int cmd_role_list(struct ctl *ctl, int argc, char **argv)
{
	struct args a;
	int rc = args_parse(&cmd_role_list_entry, argc, argv, NULL, NULL, 0, 0, &a);

	if (rc)
		return ARGS_DONE(rc);
	return cmd_simple(ctl, "GET", "/v1/roles", NULL, print_roles);
}

const struct cmd_entry cmd_role_list_entry = {
    "role", "list", "", "show the role table: the config's and the grants", cmd_role_list};

static void print_grant(const json_t *g)
{
	size_t i;
	json_t *m;

	printf("uid %lld now holds:", (long long)json_integer_value(json_object_get(g, "uid")));
	json_array_foreach(json_object_get(g, "roles"), i, m) printf(" %s", json_string_value(m));
	printf("%s\n", json_array_size(json_object_get(g, "roles")) ? "" : " no stored role");
}

static int role_change(struct ctl *ctl, const struct cmd_entry *e, const char *path, int argc,
                       char **argv)
{
	struct args a;
	json_t *body;
	int rc = args_parse(e, argc, argv, NULL, NULL, 2, 2, &a);

	if (rc)
		return ARGS_DONE(rc);
	body = json_pack("{s:s, s:s}", "user", a.pos[0], "role", a.pos[1]);
	rc = cmd_simple(ctl, "POST", path, body, print_grant);
	json_decref(body);
	return rc;
}

static int cmd_role_grant(struct ctl *ctl, int argc, char **argv)
{
	return role_change(ctl, &cmd_role_grant_entry, "/v1/roles/grant", argc, argv);
}

static int cmd_role_revoke(struct ctl *ctl, int argc, char **argv)
{
	return role_change(ctl, &cmd_role_revoke_entry, "/v1/roles/revoke", argc, argv);
}

const struct cmd_entry cmd_role_grant_entry = {"role", "grant", "USER|uid:N ROLE",
                                               "grant a role (stored in the registry, audited)",
                                               cmd_role_grant};
const struct cmd_entry cmd_role_revoke_entry = {
    "role", "revoke", "USER|uid:N ROLE",
    "revoke a granted role (never the last admin; config roles live in rosterd.conf)",
    cmd_role_revoke};

static void backup_watch(struct ctl *ctl)
{
	json_t *p = progress_fetch(ctl), *b = json_object_get(p, "backup");
	char what[64];

	if (json_is_object(b)) {
		uint64_t bytes = (uint64_t)json_integer_value(json_object_get(b, "bytes"));

		snprintf(what, sizeof(what), "%.1f MiB", (double)bytes / 1048576);
		progress_draw("copying", bytes,
		              (uint64_t)json_integer_value(json_object_get(b, "estimate")), what);
	}
	json_decref(p);
}

static void print_backup(const json_t *b)
{
	printf("backup written to %s (covers the audit log through entry %lld)\n",
	       json_string_value(json_object_get(b, "path")),
	       (long long)json_integer_value(json_object_get(b, "audit_seq")));
}

static int cmd_backup(struct ctl *ctl, int argc, char **argv)
{
	char parent[PATH_MAX], *copy1, *copy2, *path;
	struct response r;
	struct args a;
	json_t *body;
	int rc = args_parse(&cmd_backup_entry, argc, argv, NULL, NULL, 1, 1, &a);

	if (rc)
		return ARGS_DONE(rc);
	/* The daemon resolves nothing relative to the client: send an absolute path. */
	copy1 = roster_xstrdup(a.pos[0]);
	copy2 = roster_xstrdup(a.pos[0]);
	if (realpath(dirname(copy1), parent) == NULL) {
		free(copy1);
		free(copy2);
		return cmd_usage_error(&cmd_backup_entry, "the folder holding %s does not exist",
		                       a.pos[0]);
	}
	path = roster_xasprintf("%s/%s", parent, basename(copy2));
	body = json_pack("{s:s}", "path", path);
	if (progress_wanted(ctl))
		ctl->watch = backup_watch;
	rc = http_request(ctl, "POST", "/v1/backup", body, &r);
	ctl->watch = NULL;
	if (rc == 0) {
		json_int_t bytes = json_integer_value(json_object_get(r.json, "bytes"));
		char what[64];

		if (progress_wanted(ctl) && r.status == 200) {
			snprintf(what, sizeof(what), "%.1f MiB", (double)bytes / 1048576);
			progress_draw("copying", (uint64_t)bytes, (uint64_t)bytes, what);
			progress_done();
		}
		rc = http_finish(ctl, &r, print_backup);
		response_free(&r);
	}
	json_decref(body);
	free(path);
	free(copy1);
	free(copy2);
	return rc;
}

const struct cmd_entry cmd_backup_entry = {
    "backup", NULL, "PATH",
    "write an online, consistent, compacted copy of the registry to the folder PATH", cmd_backup};
