/*
 * cmd-status.c - rosterctl status: the daemon's health and who you are to it.
 */
#include <stdio.h>

#include "rosterctl.h"

static void print_status(const json_t *s)
{
	const json_t *you = json_object_get(s, "you"), *roles = json_object_get(you, "roles");
	size_t i;
	json_t *r;

	printf("status:   %s\n", json_string_value(json_object_get(s, "status")));
	printf("version:  %s\n", json_string_value(json_object_get(s, "version")));
	printf("origin:   %s\n", json_string_value(json_object_get(s, "origin")));
	printf("uptime:   %llds\n", (long long)json_integer_value(json_object_get(s, "uptime")));
	printf("log size: %lld entries\n",
	       (long long)json_integer_value(json_object_get(s, "log_size")));
	printf("you:      %s (uid %lld), roles:", json_string_value(json_object_get(you, "user")),
	       (long long)json_integer_value(json_object_get(you, "uid")));
	json_array_foreach(roles, i, r) printf(" %s", json_string_value(r));
	printf("%s\n", json_array_size(roles) ? "" : " none");
}

static int cmd_status(struct ctl *ctl, int argc, char **argv)
{
	struct args a;
	int rc = args_parse(&cmd_status_entry, argc, argv, NULL, NULL, 0, 0, &a);

	if (rc)
		return ARGS_DONE(rc);
	return cmd_simple(ctl, "GET", "/v1/health", NULL, print_status);
}

const struct cmd_entry cmd_status_entry = {"status", NULL, "",
                                           "show the daemon's health, and your roles", cmd_status};
