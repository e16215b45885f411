/*
 * cmd-travel.c - rosterctl travel request|get|list|approve|deny|complete|cancel.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rosterctl.h"

static int cmd_travel_request(struct ctl *ctl, int argc, char **argv)
{
	struct args a;
	int rc =
	    args_parse(&cmd_travel_request_entry, argc, argv, roster_travel_fields, NULL, 0, 0, &a);

	if (rc)
		return ARGS_DONE(rc);
	rc = cmd_simple(ctl, "POST", "/v1/travel", a.body, print_travel);
	args_free(&a);
	return rc;
}

const struct cmd_entry cmd_travel_request_entry = {
    "travel", "request",
    "[-f FILE|-] [--person ID --destinations CC,CC --depart D --return D --purpose TEXT]",
    "file a travel request", cmd_travel_request};

static int cmd_travel_get(struct ctl *ctl, int argc, char **argv)
{
	return cmd_get(ctl, &cmd_travel_get_entry, "travel", argc, argv, print_travel);
}

const struct cmd_entry cmd_travel_get_entry = {"travel", "get", "ID", "show a travel request",
                                               cmd_travel_get};

static int cmd_travel_list(struct ctl *ctl, int argc, char **argv)
{
	static const char *const opts[] = {"person", "status", "limit", "after", "!all", NULL};
	char base[256], *v;
	struct args a;
	int rc = args_parse(&cmd_travel_list_entry, argc, argv, NULL, opts, 0, 0, &a);

	if (rc)
		return ARGS_DONE(rc);
	if ((a.opt[0] == NULL) == (a.opt[1] == NULL))
		return cmd_usage_error(&cmd_travel_list_entry,
		                       "give --person ID or --status STATE");
	v = http_escape(a.opt[0] ? a.opt[0] : a.opt[1]);
	snprintf(base, sizeof(base), "/v1/travel?%s=%s", a.opt[0] ? "person" : "status", v);
	free(v);
	return cmd_list(ctl, base, a.opt[2], a.opt[3], a.opt[4] != NULL, 0, print_travel_line);
}

const struct cmd_entry cmd_travel_list_entry = {
    "travel", "list", "--person ID | --status STATE [--limit N] [--after ID] [--all]",
    "list a person's travel requests, or those in a status (pending, approved, ...)",
    cmd_travel_list};

/* POST /v1/travel/ID/<action> with an optional body. */
static int travel_post(struct ctl *ctl, const struct cmd_entry *e, const char *action,
                       const char *decision, int argc, char **argv)
{
	static const char *const opts[] = {"reason", NULL};
	char path[256], *id;
	json_t *body = NULL;
	struct args a;
	int rc = args_parse(e, argc, argv, NULL, decision ? opts : NULL, 1, 1, &a);

	if (rc)
		return ARGS_DONE(rc);
	if (decision) {
		body = json_pack("{s:s}", "decision", decision);
		if (a.opt[0])
			json_object_set_new(body, "reason", json_string(a.opt[0]));
	}
	id = http_escape(a.pos[0]);
	snprintf(path, sizeof(path), "/v1/travel/%s/%s", id, action);
	free(id);
	rc = cmd_simple(ctl, "POST", path, body, print_travel);
	json_decref(body);
	return rc;
}

static int cmd_travel_approve(struct ctl *ctl, int argc, char **argv)
{
	return travel_post(ctl, &cmd_travel_approve_entry, "decision", "approve", argc, argv);
}

static int cmd_travel_deny(struct ctl *ctl, int argc, char **argv)
{
	return travel_post(ctl, &cmd_travel_deny_entry, "decision", "deny", argc, argv);
}

static int cmd_travel_complete(struct ctl *ctl, int argc, char **argv)
{
	return travel_post(ctl, &cmd_travel_complete_entry, "complete", NULL, argc, argv);
}

static int cmd_travel_cancel(struct ctl *ctl, int argc, char **argv)
{
	return travel_post(ctl, &cmd_travel_cancel_entry, "cancel", NULL, argc, argv);
}

const struct cmd_entry cmd_travel_approve_entry = {
    "travel", "approve", "ID [--reason TEXT]",
    "approve a pending request (approvers; not one you filed)", cmd_travel_approve};
const struct cmd_entry cmd_travel_deny_entry = {
    "travel", "deny", "ID --reason TEXT", "deny a pending request, saying why", cmd_travel_deny};
const struct cmd_entry cmd_travel_complete_entry = {
    "travel", "complete", "ID", "mark an approved trip as completed", cmd_travel_complete};
const struct cmd_entry cmd_travel_cancel_entry = {
    "travel", "cancel", "ID", "cancel a pending or approved request", cmd_travel_cancel};
