/*
 * document.c - the travel document record and its custody state machine.
 *
 *   surrender  holder -> employer | authority        (`to` names which)
 *   release    employer | authority -> holder        (`request`: an approved trip)
 *   return     holder -> employer | authority        (only after a release)
 *   lost       holder | employer | authority -> lost
 *   cancel     any state but cancelled -> cancelled  (terminal)
 *
 * Anything else is refused with 409 and changes nothing.
 */
#include <string.h>

#include "roster/record.h"

const struct roster_field roster_document_fields[] = {
    {"id", FT_STRING, 1, 0, CK_NONE, 0, 0, NULL},
    {"person", FT_STRING, 0, 1, CK_ID, 0, 0, "per_"},
    {"type", FT_STRING, 0, 1, CK_ENUM, 0, 0, "passport official-passport travel-permit"},
    {"number", FT_STRING, 0, 1, CK_CODE, 1, 32, NULL},
    {"country", FT_STRING, 0, 1, CK_COUNTRY, 0, 0, NULL},
    {"issued", FT_STRING, 0, 0, CK_DATE, 0, 0, NULL},
    {"expires", FT_STRING, 0, 1, CK_DATE, 0, 0, NULL},
    {"custody", FT_STRING, 0, 0, CK_ENUM, 0, 0, "holder employer authority"},
    {"custodian", FT_STRING, 0, 0, CK_LINE, 1, 200, NULL},
    {"history", FT_OBJECT_ARRAY, 1, 0, CK_NONE, 0, 0, NULL},
    {"events", FT_INT, 1, 0, CK_NONE, 0, 0, NULL},
    {"last_event", FT_STRING, 1, 0, CK_NONE, 0, 0, NULL},
    {"version", FT_INT, 1, 0, CK_NONE, 0, 0, NULL},
    {"created", FT_STRING, 1, 0, CK_NONE, 0, 0, NULL},
    {"updated", FT_STRING, 1, 0, CK_NONE, 0, 0, NULL},
    {NULL, 0, 0, 0, 0, 0, 0, NULL}};

const struct roster_field roster_custody_fields[] = {
    {"event", FT_STRING, 0, 1, CK_ENUM, 0, 0, "surrender release return lost cancel"},
    {"to", FT_STRING, 0, 0, CK_ENUM, 0, 0, "employer authority"},
    {"custodian", FT_STRING, 0, 0, CK_LINE, 1, 200, NULL},
    {"request", FT_STRING, 0, 0, CK_ID, 0, 0, "trv_"},
    {"note", FT_STRING, 0, 0, CK_TEXT, 1, 1000, NULL},
    {NULL, 0, 0, 0, 0, 0, 0, NULL}};

int roster_document_check_new(json_t *body, struct roster_err *err)
{
	const char *issued, *expires;

	if (roster_fields_check(body, roster_document_fields, "document", 0, err) < 0)
		return -1;
	issued = json_string_value(json_object_get(body, "issued"));
	expires = json_string_value(json_object_get(body, "expires"));
	if (issued && strcmp(issued, expires) >= 0)
		return roster_err_set(err, 422, "invalid_field",
		                      "document field 'expires' must be after 'issued'");
	if (json_object_get(body, "custody") == NULL)
		json_object_set_new(body, "custody", json_string("holder"));
	json_object_set_new(body, "events", json_integer(0));
	return 0;
}

static const char *str(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

int roster_custody_check(const json_t *event, struct roster_err *err)
{
	const char *ev;

	if (roster_fields_check(event, roster_custody_fields, "custody event", 0, err) < 0)
		return -1;
	ev = str(event, "event");
	if (strcmp(ev, "surrender") == 0 && str(event, "to") == NULL)
		return roster_err_set(err, 422, "missing_field",
		                      "a surrender names where the document goes: 'to' is "
		                      "employer or authority");
	if (str(event, "to") && strcmp(ev, "surrender") != 0 && strcmp(ev, "return") != 0)
		return roster_err_set(err, 422, "invalid_field",
		                      "'to' is only for surrender and return, not %s", ev);
	if (str(event, "request") && strcmp(ev, "release") != 0)
		return roster_err_set(err, 422, "invalid_field",
		                      "'request' is only for a release for travel, not %s", ev);
	return 0;
}

static int last_event_is(const json_t *doc, const char *event)
{
	const char *last = str(doc, "last_event");

	return last && strcmp(last, event) == 0;
}

/* The state the event leads to, or NULL with err set when it is not allowed. */
static const char *custody_next(const json_t *doc, const json_t *event, const json_t *travel,
                                struct roster_err *err)
{
	const char *ev = str(event, "event"), *from = str(doc, "custody");
	int held = strcmp(from, "holder") == 0;
	int kept = strcmp(from, "employer") == 0 || strcmp(from, "authority") == 0;

	if (strcmp(ev, "surrender") == 0 && held)
		return str(event, "to");
	if (strcmp(ev, "release") == 0 && kept) {
		const char *req = str(event, "request");

		if (req == NULL)
			return "holder";
		if (travel == NULL) {
			roster_err_set(err, 409, "no_such_request",
			               "travel request %s does not exist: name an approved "
			               "request, or release without one",
			               req);
			return NULL;
		}
		if (strcmp(str(travel, "person"), str(doc, "person")) != 0) {
			roster_err_set(err, 409, "wrong_person",
			               "travel request %s is for another person than this "
			               "document's holder",
			               req);
			return NULL;
		}
		if (strcmp(str(travel, "status"), "approved") != 0) {
			roster_err_set(err, 409, "not_approved",
			               "travel request %s is %s, not approved: a release for "
			               "travel needs an approved request",
			               req, str(travel, "status"));
			return NULL;
		}
		return "holder";
	}
	if (strcmp(ev, "return") == 0 && held && last_event_is(doc, "release"))
		return str(event, "to") ? str(event, "to") : "employer";
	if (strcmp(ev, "lost") == 0 && (held || kept))
		return "lost";
	if (strcmp(ev, "cancel") == 0 && strcmp(from, "cancelled") != 0)
		return "cancelled";
	roster_err_set(err, 409, "invalid_transition",
	               "a document in custody state '%s' cannot take a '%s' event%s", from, ev,
	               strcmp(ev, "return") == 0 && held
	                   ? ": return follows a release; use surrender to hand it in"
	                   : "");
	return NULL;
}

int roster_custody_apply(json_t *doc, const json_t *event, const json_t *travel, const char *by,
                         const char *at, json_t **entry, struct roster_err *err)
{
	const char *next = custody_next(doc, event, travel, err);
	const json_t *custodian = json_object_get(event, "custodian");
	json_t *h;

	*entry = NULL;
	if (next == NULL)
		return -1;
	h = json_pack("{s:s, s:O, s:s, s:O, s:O, s:s, s:s}", "event", str(event, "event"), "from",
	              json_object_get(doc, "custody"), "to", next, "custodian",
	              custodian ? custodian : json_null(), "request",
	              json_object_get(event, "request") ? json_object_get(event, "request")
	                                                : json_null(),
	              "at", at, "by", by);
	if (json_object_get(event, "note"))
		json_object_set(h, "note", json_object_get(event, "note"));
	*entry = h;
	json_object_set_new(doc, "events",
	                    json_integer(json_integer_value(json_object_get(doc, "events")) + 1));
	json_object_set_new(doc, "last_event", json_string(str(event, "event")));
	json_object_set_new(doc, "custody", json_string(next));
	if (custodian)
		json_object_set(doc, "custodian", (json_t *)custodian);
	else
		json_object_del(doc, "custodian");
	return 0;
}
