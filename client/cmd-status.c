/*
 * cmd-status.c - rosterctl status: the daemon's health and who you are to it;
 * for administrators also record counts, checkpoints, keys and map use.
 */
#include <stdio.h>
#include <string.h>

#include "rosterctl.h"

static long long num(const json_t *o, const char *key)
{
	return (long long)json_integer_value(json_object_get(o, key));
}

static void print_health(const json_t *s)
{
	const json_t *you = json_object_get(s, "you"), *roles = json_object_get(you, "roles");
	size_t i;
	json_t *r;

	printf("status:      %s\n", json_string_value(json_object_get(s, "status")));
	printf("version:     %s\n", json_string_value(json_object_get(s, "version")));
	printf("origin:      %s\n", json_string_value(json_object_get(s, "origin")));
	printf("uptime:      %llds\n", num(s, "uptime"));
	printf("log size:    %lld entries\n", num(s, "log_size"));
	printf("you:         %s (uid %lld), roles:",
	       json_string_value(json_object_get(you, "user")), num(you, "uid"));
	json_array_foreach(roles, i, r) printf(" %s", json_string_value(r));
	printf("%s\n", json_array_size(roles) ? "" : " none");
}

static void print_admin(const json_t *s)
{
	const json_t *rec = json_object_get(s, "records"), *map = json_object_get(s, "map"), *jr;

	printf("records:     %lld persons, %lld documents, %lld travel requests\n",
	       num(rec, "persons"), num(rec, "documents"), num(rec, "travel"));
	printf("checkpoint:  latest covers %lld entries\n", num(s, "last_checkpoint"));
	printf("map:         %.1f of %.1f MiB used\n", (double)num(map, "used") / 1048576.0,
	       (double)num(map, "size") / 1048576.0);
	if ((jr = json_object_get(s, "journal")) != NULL)
		printf("journal:     %.1f KiB since the last checkpoint (%lld commits journaled, "
		       "%lld checkpoints since the start)\n",
		       (double)num(jr, "bytes") / 1024.0, num(jr, "records"),
		       num(jr, "checkpoints"));
	if ((jr = json_object_get(s, "format")) != NULL) {
		const char *order = json_string_value(json_object_get(jr, "tree_order"));

		printf("format:      level %lld needed; Merkle tree %s\n", num(jr, "requires"),
		       order && strcmp(order, "levels") == 0 ? "by level (as made before 0.7.8)"
		                                             : "in completion order");
		if (json_is_true(json_object_get(jr, "converting")))
			printf("             being put in completion order: %lld of %lld nodes "
			       "copied\n",
			       num(jr, "tree_copied"), num(jr, "tree_nodes"));
	}
	print_keys(json_object_get(s, "keys"));
}

static int cmd_status(struct ctl *ctl, int argc, char **argv)
{
	struct response r;
	struct args a;
	int rc = args_parse(&cmd_status_entry, argc, argv, NULL, NULL, 0, 0, &a), admin = 0;
	size_t i;
	json_t *role;

	if (rc)
		return ARGS_DONE(rc);
	if ((rc = http_request(ctl, "GET", "/v1/health", NULL, &r)) != 0)
		return rc;
	json_array_foreach(json_object_get(json_object_get(r.json, "you"), "roles"), i, role)
	    admin |= strcmp(json_string_value(role), "admin") == 0;
	if (!admin || r.status != 200)
		return http_finish(ctl, &r, print_health);
	if (!ctl->json)
		print_health(r.json);
	response_free(&r);
	/* Administrators also get the registry's state (an audited request). */
	return cmd_simple(ctl, "GET", "/v1/status", NULL, print_admin);
}

const struct cmd_entry cmd_status_entry = {"status", NULL, "",
                                           "show the daemon's health and your roles (admins: "
                                           "records, checkpoints, keys, map, journal, format)",
                                           cmd_status};
