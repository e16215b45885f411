/*
 * test-record.c - field validation, defaults and the state machines of
 * DOMAIN.md, exercised on the pure record code.
 */
#include <string.h>

#include "roster/record.h"
#include "test.h"

static json_t *person(void)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:[s]}", "name", "Ana Müller", "birth_date",
	                 "1980-02-29", "nationality", "DE", "employer", "Acme Magnets", "segment",
	                 "downstream", "expertise", "magnet-alloys");
}

/* Sets key to value (JSON text) in a fresh person and expects the status. */
static void expect_person(const char *key, const char *value, int want, const char *want_code)
{
	json_t *p = person();
	struct roster_err err = {0};
	int rc;

	if (value)
		json_object_set_new(p, key, json_loads(value, JSON_DECODE_ANY, NULL));
	else
		json_object_del(p, key);
	rc = roster_person_check_new(p, &err);
	if (want == 0)
		CHECK(rc == 0, "%s=%s rejected: %s", key, value, err.message);
	else
		CHECK(rc < 0 && err.status == want && strcmp(err.code, want_code) == 0 &&
		          strstr(err.message, key) != NULL,
		      "%s=%s: got %d %s (%s)", key, value, rc < 0 ? err.status : 0, err.code,
		      err.message);
	json_decref(p);
}

static void test_person(void)
{
	json_t *p = person();
	struct roster_err err;

	CHECK(roster_person_check_new(p, &err) == 0, "valid person rejected: %s", err.message);
	CHECK(strcmp(json_string_value(json_object_get(p, "status")), "active") == 0,
	      "status not defaulted");
	json_decref(p);

	expect_person("name", NULL, 422, "missing_field");
	expect_person("name", "\"\"", 422, "invalid_field");
	expect_person("name", "\"Анна\"", 422, "invalid_field");
	expect_person("name", "\"Ana\\u0001x\"", 422, "invalid_field");
	expect_person("name", "42", 422, "invalid_field");
	expect_person("name_native", "\"Анна Мюллер\"", 0, NULL);
	expect_person("name_native", "\"a\\nb\"", 422, "invalid_field");
	expect_person("birth_date", "\"1981-02-29\"", 422, "invalid_field");
	expect_person("birth_date", "\"1980-13-01\"", 422, "invalid_field");
	expect_person("birth_date", "\"80-01-01\"", 422, "invalid_field");
	expect_person("birth_date", "\"2999-01-01\"", 422, "invalid_field");
	expect_person("nationality", "\"XX\"", 422, "invalid_field");
	expect_person("nationality", "\"de\"", 422, "invalid_field");
	expect_person("national_id", "\"AB-123/45\"", 0, NULL);
	expect_person("national_id", "\"AB 12\"", 422, "invalid_field");
	expect_person("segment", "\"sideways\"", 422, "invalid_field");
	expect_person("expertise", "[]", 422, "invalid_field");
	expect_person("expertise", "[\"cooking\"]", 422, "invalid_field");
	expect_person("expertise", "[\"metallurgy\",\"metallurgy\"]", 422, "invalid_field");
	expect_person("expertise", "\"metallurgy\"", 422, "invalid_field");
	expect_person("education",
	              "[{\"degree\":\"PhD\",\"field\":\"Chemistry\",\"institution\":\"TU\","
	              "\"year\":2004}]",
	              0, NULL);
	expect_person("education", "[{\"degree\":\"PhD\"}]", 422, "missing_field");
	expect_person("education",
	              "[{\"degree\":\"PhD\",\"field\":\"C\",\"institution\":\"T\",\"year\":1700}]",
	              422, "invalid_field");
	expect_person("research", "\"Patents:\\n- EP123\"", 0, NULL);
	expect_person("status", "\"retired\"", 422, "invalid_field");
	expect_person("id", "\"per_x\"", 422, "server_field");
	expect_person("version", "3", 422, "server_field");
	expect_person("favourite_colour", "\"blue\"", 422, "unknown_field");
}

/* A misspelt category is answered with the categories to choose from, every one,
 * since a clerk has no other list at hand. */
static void test_expertise_message(void)
{
	json_t *p = person();
	struct roster_err err = {0};

	json_object_set_new(p, "expertise", json_pack("[s]", "metalurgy"));
	CHECK(roster_person_check_new(p, &err) < 0 && err.status == 422, "a misspelt category");
	CHECK(strstr(err.message, "(geology-mineralogy, mining-process,") != NULL &&
	          strstr(err.message, ", industrial-liaison, ip-analysis)") != NULL,
	      "the message lists every category: %s", err.message);
	json_decref(p);
}

static void test_merge(void)
{
	json_t *p = person(), *changes;
	struct roster_err err;

	roster_person_check_new(p, &err);
	changes = json_pack("{s:s, s:n}", "site", "Plant 2", "status");
	CHECK(roster_person_merge(p, changes, &err) == 0, "merge failed: %s", err.message);
	CHECK(json_object_get(p, "status") == NULL, "null did not remove status");
	json_decref(changes);
	changes = json_pack("{s:n}", "name");
	CHECK(roster_person_merge(p, changes, &err) < 0 && err.status == 422,
	      "required field removed");
	CHECK(json_object_get(p, "name") != NULL, "failed merge changed the record");
	json_decref(changes);
	changes = json_pack("{s:s, s:s}", "site", "Plant 3", "nationality", "QQ");
	CHECK(roster_person_merge(p, changes, &err) < 0, "bad nationality merged");
	CHECK(strcmp(json_string_value(json_object_get(p, "site")), "Plant 2") == 0,
	      "failed merge changed another field");
	json_decref(changes);
	json_decref(p);
}

static json_t *doc(const char *custody)
{
	json_t *d = json_pack("{s:s, s:s, s:s, s:s, s:s}", "person",
	                      "per_0123456789abcdefghjkmnpqrs", "type", "passport", "number",
	                      "C01X00T47", "country", "DE", "expires", "2031-05-01");
	struct roster_err err;

	if (custody)
		json_object_set_new(d, "custody", json_string(custody));
	if (roster_document_check_new(d, &err) < 0)
		fprintf(stderr, "doc(): %s\n", err.message);
	return d;
}

/* Runs one event on a document; returns the new custody state or the error code. */
static const char *step(json_t *d, const char *event_json, const json_t *travel)
{
	static char result[64];
	json_t *ev = json_loads(event_json, 0, NULL), *entry = NULL;
	struct roster_err err;

	if (roster_custody_check(ev, &err) < 0 ||
	    roster_custody_apply(d, ev, travel, "clerk1", "2026-01-01T00:00:00Z", &entry, &err) <
	        0) {
		snprintf(result, sizeof(result), "%d:%s", err.status, err.code);
		CHECK(entry == NULL, "a refused event makes no history entry");
	} else {
		snprintf(result, sizeof(result), "%s",
		         json_string_value(json_object_get(d, "custody")));
		CHECK(strcmp(json_string_value(json_object_get(entry, "to")), result) == 0 &&
		          strcmp(json_string_value(json_object_get(entry, "by")), "clerk1") == 0,
		      "the history entry records the move and who made it");
		CHECK(strcmp(json_string_value(json_object_get(d, "last_event")),
		             json_string_value(json_object_get(ev, "event"))) == 0,
		      "the document remembers its last event");
	}
	json_decref(entry);
	json_decref(ev);
	return result;
}

static void test_custody(void)
{
	json_t *d = doc(NULL), *trip;
	const char *r;

	CHECK(json_integer_value(json_object_get(d, "events")) == 0 &&
	          json_object_get(d, "history") == NULL,
	      "a new document has no events");
	r = step(d, "{\"event\":\"release\"}", NULL);
	CHECK(strcmp(r, "409:invalid_transition") == 0, "release from holder: %s", r);
	r = step(d, "{\"event\":\"return\"}", NULL);
	CHECK(strcmp(r, "409:invalid_transition") == 0, "return without release: %s", r);
	r = step(d, "{\"event\":\"surrender\"}", NULL);
	CHECK(strcmp(r, "422:missing_field") == 0, "surrender without to: %s", r);
	r = step(d, "{\"event\":\"surrender\",\"to\":\"employer\",\"custodian\":\"HR safe\"}",
	         NULL);
	CHECK(strcmp(r, "employer") == 0, "surrender: %s", r);
	CHECK(strcmp(json_string_value(json_object_get(d, "custodian")), "HR safe") == 0,
	      "custodian not recorded");
	r = step(d, "{\"event\":\"surrender\",\"to\":\"authority\"}", NULL);
	CHECK(strcmp(r, "409:invalid_transition") == 0, "surrender twice: %s", r);

	trip = json_pack("{s:s, s:s}", "person", "per_0123456789abcdefghjkmnpqrs", "status",
	                 "pending");
	r = step(d, "{\"event\":\"release\",\"request\":\"trv_0123456789abcdefghjkmnpqrs\"}", trip);
	CHECK(strcmp(r, "409:not_approved") == 0, "release on pending trip: %s", r);
	r = step(d, "{\"event\":\"release\",\"request\":\"trv_0123456789abcdefghjkmnpqrs\"}", NULL);
	CHECK(strcmp(r, "409:no_such_request") == 0, "release on missing trip: %s", r);
	json_object_set_new(trip, "status", json_string("approved"));
	json_object_set_new(trip, "person", json_string("per_zzzzzzzzzzzzzzzzzzzzzzzzzz"));
	r = step(d, "{\"event\":\"release\",\"request\":\"trv_0123456789abcdefghjkmnpqrs\"}", trip);
	CHECK(strcmp(r, "409:wrong_person") == 0, "release on another's trip: %s", r);
	json_object_set_new(trip, "person", json_string("per_0123456789abcdefghjkmnpqrs"));
	r = step(d, "{\"event\":\"release\",\"request\":\"trv_0123456789abcdefghjkmnpqrs\"}", trip);
	CHECK(strcmp(r, "holder") == 0, "release for approved trip: %s", r);
	CHECK(json_object_get(d, "custodian") == NULL, "custodian kept after release");
	r = step(d, "{\"event\":\"return\",\"to\":\"authority\"}", NULL);
	CHECK(strcmp(r, "authority") == 0, "return: %s", r);
	r = step(d, "{\"event\":\"lost\"}", NULL);
	CHECK(strcmp(r, "lost") == 0, "lost: %s", r);
	r = step(d, "{\"event\":\"surrender\",\"to\":\"employer\"}", NULL);
	CHECK(strcmp(r, "409:invalid_transition") == 0, "surrender a lost document: %s", r);
	r = step(d, "{\"event\":\"cancel\"}", NULL);
	CHECK(strcmp(r, "cancelled") == 0, "cancel: %s", r);
	r = step(d, "{\"event\":\"cancel\"}", NULL);
	CHECK(strcmp(r, "409:invalid_transition") == 0, "cancel twice: %s", r);
	r = step(d, "{\"event\":\"lost\",\"to\":\"employer\"}", NULL);
	CHECK(strcmp(r, "422:invalid_field") == 0, "to on lost: %s", r);
	r = step(d, "{\"event\":\"teleport\"}", NULL);
	CHECK(strcmp(r, "422:invalid_field") == 0, "unknown event: %s", r);
	CHECK(json_integer_value(json_object_get(d, "events")) == 5, "5 events counted, not %lld",
	      (long long)json_integer_value(json_object_get(d, "events")));
	json_decref(trip);
	json_decref(d);

	d = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "person", "per_0123456789abcdefghjkmnpqrs",
	              "type", "passport", "number", "X1", "country", "DE", "expires", "2031-05-01",
	              "custody", "lost");
	CHECK(roster_document_check_new(d, NULL) < 0, "created in state lost");
	json_object_set_new(d, "custody", json_string("holder"));
	json_object_set_new(d, "issued", json_string("2031-05-01"));
	CHECK(roster_document_check_new(d, NULL) < 0, "expires not after issued");
	json_decref(d);
}

static void test_travel(void)
{
	json_t *t =
	    json_pack("{s:s, s:[s,s], s:s, s:s, s:s}", "person", "per_0123456789abcdefghjkmnpqrs",
	              "destinations", "FR", "JP", "depart", "2027-03-01", "return", "2027-03-10",
	              "purpose", "Conference");
	json_t *approve = json_pack("{s:s}", "decision", "approve");
	json_t *deny = json_pack("{s:s}", "decision", "deny");
	struct roster_err err;

	CHECK(roster_travel_check_new(t, &err) == 0, "valid trip rejected: %s", err.message);
	json_object_set_new(t, "requested_by", json_string("clerk1"));
	CHECK(roster_decision_check(deny, &err) < 0 && err.status == 422, "deny without reason");
	CHECK(roster_travel_decide(t, approve, "clerk1", &err) < 0 && err.status == 403,
	      "self-approval allowed");
	CHECK(roster_travel_finish(t, "completed", &err) < 0 && err.status == 409,
	      "pending completed");
	CHECK(roster_travel_decide(t, approve, "boss", &err) == 0, "approve: %s", err.message);
	CHECK(roster_travel_decide(t, approve, "boss", &err) < 0 && err.status == 409,
	      "decided twice");
	CHECK(roster_travel_finish(t, "completed", &err) == 0, "complete: %s", err.message);
	CHECK(roster_travel_finish(t, "cancelled", &err) < 0, "completed trip cancelled");
	json_decref(t);

	t = json_pack("{s:s, s:[s], s:s, s:s, s:s}", "person", "per_0123456789abcdefghjkmnpqrs",
	              "destinations", "FR", "depart", "2027-03-10", "return", "2027-03-01",
	              "purpose", "x");
	CHECK(roster_travel_check_new(t, &err) < 0 && err.status == 422, "return before depart");
	json_decref(t);
	t = json_pack("{s:s, s:[s,s], s:s, s:s, s:s}", "person", "per_0123456789abcdefghjkmnpqrs",
	              "destinations", "FR", "FR", "depart", "2027-03-01", "return", "2027-03-02",
	              "purpose", "x");
	CHECK(roster_travel_check_new(t, &err) < 0 && err.status == 422, "duplicate destination");
	json_decref(t);
	json_decref(approve);
	json_decref(deny);
}

/* Error messages become JSON strings in replies: never bytes that are not UTF-8
 * (found when a raw 0xff in a request's path made the 404's body unwritable). */
static void test_message_utf8(void)
{
	struct roster_err err;
	char id[600];
	json_t *j;

	roster_err_set(&err, 404, "not_found", "'%s' is not a record id", "per_\xff\xfe\xc3");
	CHECK(strcmp(err.message, "'per_\?\?\?' is not a record id") == 0, "got %s", err.message);
	/* A two-byte character the 512-byte bound cuts in half. */
	memset(id, 'a', sizeof(id));
	for (size_t i = 1; i + 1 < sizeof(id); i += 2)
		memcpy(id + i, "\xc3\xa9", 2);
	id[sizeof(id) - 1] = '\0';
	roster_err_set(&err, 400, "bad", "%s", id);
	j = json_string(err.message);
	CHECK(j != NULL && strlen(err.message) == sizeof(err.message) - 1,
	      "a message cut at its bound is not UTF-8 (%zu bytes)", strlen(err.message));
	json_decref(j);
	roster_err_set(&err, 400, "bad", "Müller, \xe2\x80\x99 and \xf0\x9f\x98\x80 stay");
	CHECK(strcmp(err.message, "Müller, \xe2\x80\x99 and \xf0\x9f\x98\x80 stay") == 0,
	      "valid UTF-8 changed: %s", err.message);
}

int main(void)
{
	test_message_utf8();
	test_person();
	test_expertise_message();
	test_merge();
	test_custody();
	test_travel();
	return test_done();
}
