/*
 * travel.c - the travel request and its life:
 *   pending -> approved | denied (a reason is required to deny)
 *   approved -> completed;  pending | approved -> cancelled.
 * Whoever filed a request may not decide it.
 */
#include <string.h>

#include "roster/record.h"

const struct roster_field roster_travel_fields[] = {
    {"id", FT_STRING, 1, 0, CK_NONE, 0, 0, NULL},
    {"person", FT_STRING, 0, 1, CK_ID, 0, 0, "per_"},
    {"destinations", FT_STRING_ARRAY, 0, 1, CK_COUNTRIES, 1, 30, NULL},
    {"depart", FT_STRING, 0, 1, CK_DATE, 0, 0, NULL},
    {"return", FT_STRING, 0, 1, CK_DATE, 0, 0, NULL},
    {"purpose", FT_STRING, 0, 1, CK_TEXT, 1, 2000, NULL},
    {"status", FT_STRING, 1, 0, CK_NONE, 0, 0, NULL},
    {"requested_by", FT_STRING, 1, 0, CK_NONE, 0, 0, NULL},
    {"decided_by", FT_STRING, 1, 0, CK_NONE, 0, 0, NULL},
    {"reason", FT_STRING, 1, 0, CK_NONE, 0, 0, NULL},
    {"version", FT_INT, 1, 0, CK_NONE, 0, 0, NULL},
    {"created", FT_STRING, 1, 0, CK_NONE, 0, 0, NULL},
    {"updated", FT_STRING, 1, 0, CK_NONE, 0, 0, NULL},
    {NULL, 0, 0, 0, 0, 0, 0, NULL}};

const struct roster_field roster_decision_fields[] = {
    {"decision", FT_STRING, 0, 1, CK_ENUM, 0, 0, "approve deny"},
    {"reason", FT_STRING, 0, 0, CK_TEXT, 1, 2000, NULL},
    {NULL, 0, 0, 0, 0, 0, 0, NULL}};

static const char *str(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

int roster_travel_check_new(json_t *body, struct roster_err *err)
{
	if (roster_fields_check(body, roster_travel_fields, "travel request", 0, err) < 0)
		return -1;
	if (strcmp(str(body, "return"), str(body, "depart")) < 0)
		return roster_err_set(err, 422, "invalid_field",
		                      "travel request field 'return' is before 'depart'");
	json_object_set_new(body, "status", json_string("pending"));
	return 0;
}

int roster_decision_check(const json_t *decision, struct roster_err *err)
{
	if (roster_fields_check(decision, roster_decision_fields, "decision", 0, err) < 0)
		return -1;
	if (strcmp(str(decision, "decision"), "deny") == 0 && !json_object_get(decision, "reason"))
		return roster_err_set(err, 422, "missing_field",
		                      "a denial needs a 'reason' the requester can act on");
	return 0;
}

int roster_travel_decide(json_t *travel, const json_t *decision, const char *by,
                         struct roster_err *err)
{
	int approve = strcmp(str(decision, "decision"), "approve") == 0;

	if (strcmp(str(travel, "status"), "pending") != 0)
		return roster_err_set(err, 409, "invalid_transition",
		                      "travel request is already %s: only a pending request can be "
		                      "decided",
		                      str(travel, "status"));
	if (strcmp(str(travel, "requested_by"), by) == 0)
		return roster_err_set(err, 403, "own_request",
		                      "you filed this travel request: another approver must decide "
		                      "it");
	json_object_set_new(travel, "status", json_string(approve ? "approved" : "denied"));
	json_object_set_new(travel, "decided_by", json_string(by));
	if (json_object_get(decision, "reason"))
		json_object_set(travel, "reason", json_object_get(decision, "reason"));
	return 0;
}

int roster_travel_finish(json_t *travel, const char *to_status, struct roster_err *err)
{
	const char *from = str(travel, "status");
	int ok = strcmp(to_status, "completed") == 0
	             ? strcmp(from, "approved") == 0
	             : strcmp(from, "pending") == 0 || strcmp(from, "approved") == 0;

	if (!ok)
		return roster_err_set(err, 409, "invalid_transition",
		                      "a %s travel request cannot become %s", from, to_status);
	json_object_set_new(travel, "status", json_string(to_status));
	return 0;
}
