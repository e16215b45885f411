/*
 * person.c - the person record: its fields, creation defaults and partial updates.
 */
#include <string.h>

#include "roster/record.h"
#include "roster/util.h"

const struct roster_field roster_person_fields[] = {
    {"id", FT_STRING, 1, 0, CK_NONE, 0, 0, NULL},
    {"name", FT_STRING, 0, 1, CK_LATIN, 1, 200, NULL},
    {"name_native", FT_STRING, 0, 0, CK_LINE, 1, 200, NULL},
    {"birth_date", FT_STRING, 0, 1, CK_DATE, 0, 0, NULL},
    {"nationality", FT_STRING, 0, 1, CK_COUNTRY, 0, 0, NULL},
    {"national_id", FT_STRING, 0, 0, CK_CODE, 1, 64, NULL},
    {"employer", FT_STRING, 0, 1, CK_LINE, 1, 200, NULL},
    {"site", FT_STRING, 0, 0, CK_LINE, 1, 200, NULL},
    {"segment", FT_STRING, 0, 1, CK_ENUM, 0, 0, "upstream midstream downstream cross-cutting"},
    {"expertise", FT_STRING_ARRAY, 0, 1, CK_EXPERTISE, 1, 16, NULL},
    {"education", FT_OBJECT_ARRAY, 0, 0, CK_EDUCATION, 0, 20, NULL},
    {"research", FT_STRING, 0, 0, CK_TEXT, 0, 20000, NULL},
    {"status", FT_STRING, 0, 0, CK_ENUM, 0, 0, "active departed"},
    {"version", FT_INT, 1, 0, CK_NONE, 0, 0, NULL},
    {"created", FT_STRING, 1, 0, CK_NONE, 0, 0, NULL},
    {"updated", FT_STRING, 1, 0, CK_NONE, 0, 0, NULL},
    {NULL, 0, 0, 0, 0, 0, 0, NULL}};

/* Rules that span more than one field or depend on today. */
static int person_check_whole(const json_t *rec, struct roster_err *err)
{
	const char *birth = json_string_value(json_object_get(rec, "birth_date"));
	char today[11];

	roster_time_today(today);
	if (birth && strcmp(birth, today) > 0)
		return roster_err_set(err, 422, "invalid_field",
		                      "person field 'birth_date' is in the future");
	if (birth && strcmp(birth, "1900-01-01") < 0)
		return roster_err_set(err, 422, "invalid_field",
		                      "person field 'birth_date' is before 1900: check the year");
	return 0;
}

int roster_person_check_new(json_t *body, struct roster_err *err)
{
	if (roster_fields_check(body, roster_person_fields, "person", 0, err) < 0)
		return -1;
	if (json_object_get(body, "status") == NULL)
		json_object_set_new(body, "status", json_string("active"));
	return person_check_whole(body, err);
}

int roster_person_merge(json_t *rec, const json_t *changes, struct roster_err *err)
{
	json_t *present = json_object();
	const char *key;
	json_t *v;
	int rc = -1;

	if (!json_is_object(changes) || json_object_size(changes) == 0) {
		roster_err_set(err, 422, "no_changes", "an update must name at least one field");
		goto done;
	}
	/* null removes an optional field; every other value is checked as on create. */
	json_object_foreach((json_t *)changes, key, v)
	{
		const struct roster_field *f = roster_field_find(roster_person_fields, key);

		if (json_is_null(v) && f && !f->server_set) {
			if (f->required) {
				roster_err_set(
				    err, 422, "missing_field",
				    "person field '%s' is required and cannot be removed", key);
				goto done;
			}
			continue;
		}
		json_object_set(present, key, v);
	}
	if (roster_fields_check(present, roster_person_fields, "person", 1, err) < 0)
		goto done;
	json_object_foreach((json_t *)changes, key, v)
	{
		if (json_is_null(v))
			json_object_del(rec, key);
		else
			json_object_set(rec, key, v);
	}
	rc = person_check_whole(rec, err);
done:
	json_decref(present);
	return rc;
}
