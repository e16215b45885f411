/*
 * cmd-key.c - rosterctl key status|rotate: the administrator's view of the
 * registry's keys and their rotation. Key material never leaves the daemon.
 */
#include <stdio.h>

#include "rosterctl.h"

void print_keys(const json_t *keys)
{
	size_t i;
	json_t *k;

	json_array_foreach(keys, i, k)
	{
		printf("%-8s %-4lld %-9s", json_string_value(json_object_get(k, "kind")),
		       (long long)json_integer_value(json_object_get(k, "id")),
		       json_string_value(json_object_get(k, "state")));
		if (json_object_get(k, "records"))
			printf(" protects %lld records",
			       (long long)json_integer_value(json_object_get(k, "records")));
		if (json_object_get(k, "retired"))
			printf(" (retired %s)", json_string_value(json_object_get(k, "retired")));
		printf("\n");
	}
}

static void print_key_status(const json_t *r)
{
	print_keys(json_object_get(r, "keys"));
}

static int cmd_key_status(struct ctl *ctl, int argc, char **argv)
{
	struct args a;
	int rc = args_parse(&cmd_key_status_entry, argc, argv, NULL, NULL, 0, 0, &a);

	if (rc)
		return ARGS_DONE(rc);
	return cmd_simple(ctl, "GET", "/v1/keys", NULL, print_key_status);
}

const struct cmd_entry cmd_key_status_entry = {
    "key", "status", "", "every key: kind, id, state, and the records each data key protects",
    cmd_key_status};

static void print_rotated(const json_t *r)
{
	printf("data key %lld is active; key %lld is being retired as records are re-encrypted "
	       "(see rosterctl key status)\n",
	       (long long)json_integer_value(json_object_get(r, "active")),
	       (long long)json_integer_value(json_object_get(r, "retiring")));
}

static int cmd_key_rotate(struct ctl *ctl, int argc, char **argv)
{
	struct args a;
	json_t *body;
	int rc = args_parse(&cmd_key_rotate_entry, argc, argv, NULL, NULL, 1, 1, &a);

	if (rc)
		return ARGS_DONE(rc);
	body = json_pack("{s:s}", "kind", a.pos[0]);
	rc = cmd_simple(ctl, "POST", "/v1/keys/rotate", body, print_rotated);
	json_decref(body);
	return rc;
}

const struct cmd_entry cmd_key_rotate_entry = {
    "key", "rotate", "data",
    "make a new data key active and re-encrypt every record under it, online", cmd_key_rotate};
