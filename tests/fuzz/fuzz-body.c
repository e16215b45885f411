/*
 * fuzz-body.c - the request decoder and record validation: any bytes as a
 * request body, then the checks the daemon runs on it (new person, document,
 * travel request, custody event, decision, partial update), in the daemon's
 * order. Promise: every input is either accepted or refused with a 4xx error
 * and a message a JSON reply can carry (UTF-8, whatever bytes the body quoted);
 * an accepted record has a canonical form.
 */
#include <string.h>

#include "fuzz.h"
#include "roster/canon.h"
#include "roster/record.h"

static const char base_person[] =
    "{\"name\":\"Ana Muller\",\"birth_date\":\"1980-02-29\",\"nationality\":\"DE\","
    "\"employer\":\"E\",\"segment\":\"midstream\",\"expertise\":[\"metallurgy\"]}";
static const char base_doc[] =
    "{\"person\":\"per_01m82y2ah15yrrhqz9t4f9wjrp\",\"type\":\"passport\",\"number\":\"X1\","
    "\"country\":\"DE\",\"expires\":\"2031-01-01\",\"custody\":\"employer\",\"events\":0}";
static const char base_travel[] =
    "{\"person\":\"per_01m82y2ah15yrrhqz9t4f9wjrp\",\"destinations\":[\"US\"],"
    "\"depart\":\"2027-01-01\",\"return\":\"2027-01-05\",\"purpose\":\"p\","
    "\"status\":\"pending\",\"requested_by\":\"uid:1\"}";

static void refused_well(int rc, const struct roster_err *err)
{
	json_t *m;

	FUZZ_ASSERT(rc == 0 || (err->status >= 400 && err->status < 500 && err->message[0]));
	if (rc == 0)
		return;
	m = json_string(err->message); /* NULL when not UTF-8: the reply would be lost */
	FUZZ_ASSERT(m != NULL);
	json_decref(m);
}

static void canonical(const json_t *rec)
{
	struct roster_err err = {0};
	size_t len;
	char *c = roster_canon_dump(rec, &len, &err);

	FUZZ_ASSERT(c != NULL);
	FUZZ_ASSERT(roster_canon_check(c, len) == 1);
	free(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct roster_err err = {0};
	json_t *body, *rec;
	int rc = 0;

	if (size < 1)
		return 0;
	body = roster_body_parse((const char *)data + 1, size - 1, &err);
	if (body == NULL) {
		refused_well(-1, &err);
		FUZZ_ASSERT(err.status == 400);
		return 0;
	}
	switch (data[0] % 6) {
	case 0:
		if ((rc = roster_person_check_new(body, &err)) == 0)
			canonical(body);
		break;
	case 1:
		if ((rc = roster_document_check_new(body, &err)) == 0)
			canonical(body);
		break;
	case 2:
		if ((rc = roster_travel_check_new(body, &err)) == 0)
			canonical(body);
		break;
	case 3: /* a custody event against a document held by the employer */
		rec = json_loads(base_doc, 0, NULL);
		rc = roster_custody_check(body, &err);
		if (rc == 0) {
			json_t *travel = json_loads(base_travel, 0, NULL), *entry;

			json_object_set_new(travel, "status", json_string("approved"));
			rc = roster_custody_apply(rec, body, travel, "uid:2",
			                          "2026-01-01T00:00:00Z", &entry, &err);
			if (rc == 0) {
				canonical(rec);
				canonical(entry);
			}
			FUZZ_ASSERT((rc == 0) == (entry != NULL));
			json_decref(entry);
			json_decref(travel);
		}
		json_decref(rec);
		break;
	case 4: /* a decision on a pending request */
		rec = json_loads(base_travel, 0, NULL);
		if ((rc = roster_decision_check(body, &err)) == 0 &&
		    (rc = roster_travel_decide(rec, body, "uid:2", &err)) == 0)
			canonical(rec);
		json_decref(rec);
		break;
	case 5: /* a partial update of a valid person */
		rec = json_loads(base_person, 0, NULL);
		FUZZ_ASSERT(roster_person_check_new(rec, &err) == 0);
		if ((rc = roster_person_merge(rec, body, &err)) == 0)
			canonical(rec);
		json_decref(rec);
		break;
	}
	refused_well(rc, &err);
	json_decref(body);
	return 0;
}
