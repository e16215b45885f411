/*
 * fields.c - table-driven checking of record bodies. Each record type is a
 * table of struct roster_field (person.c, document.c, travel.c); this file
 * knows how to check any value against its field's rule, with a message that
 * names the field and says what is expected.
 */
#include <stdio.h>
#include <string.h>

#include "roster/record.h"
#include "roster/util.h"

const struct roster_field *roster_field_find(const struct roster_field *table, const char *name)
{
	for (; table->name; table++)
		if (strcmp(table->name, name) == 0)
			return table;
	return NULL;
}

/* Counts code points of valid UTF-8 (jansson has validated it), checking each. */
static int text_ok(const char *s, enum roster_check ck, size_t *chars)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = 0;

	while (*p) {
		unsigned cp;
		int len = *p < 0x80 ? 1 : *p < 0xe0 ? 2 : *p < 0xf0 ? 3 : 4;

		cp = len == 1   ? *p
		     : len == 2 ? (p[0] & 0x1fu) << 6 | (p[1] & 0x3fu)
		     : len == 3 ? (p[0] & 0x0fu) << 12 | (p[1] & 0x3fu) << 6 | (p[2] & 0x3fu)
		                : (p[0] & 0x07u) << 18 | (p[1] & 0x3fu) << 12 |
		                      (p[2] & 0x3fu) << 6 | (p[3] & 0x3fu);
		p += len;
		n++;
		if (cp == 0x7f || (cp >= 0x80 && cp < 0xa0) || cp == 0x2028 || cp == 0x2029)
			return 0;
		if (cp < 0x20 && !(ck == CK_TEXT && (cp == '\n' || cp == '\t')))
			return 0;
		if (ck == CK_LATIN &&
		    !((cp >= 'A' && cp <= 'Z') || (cp >= 'a' && cp <= 'z') || cp == ' ' ||
		      cp == '-' || cp == '\'' || cp == '.' || cp == ',' || cp == 0x2019 ||
		      (cp >= 0xc0 && cp <= 0x24f && cp != 0xd7 && cp != 0xf7) ||
		      (cp >= 0x300 && cp <= 0x36f) || (cp >= 0x1e00 && cp <= 0x1eff)))
			return 0;
		if (ck == CK_CODE && !((cp >= 'A' && cp <= 'Z') || (cp >= 'a' && cp <= 'z') ||
		                       (cp >= '0' && cp <= '9') || cp == '-' || cp == '/'))
			return 0;
	}
	*chars = n;
	return 1;
}

static int word_in(const char *word, const char *choices)
{
	size_t n = strlen(word);

	for (const char *p = choices; *p;) {
		const char *end = strchr(p, ' ');
		size_t len = end ? (size_t)(end - p) : strlen(p);

		if (len == n && strncmp(p, word, n) == 0)
			return 1;
		p += len + (end != NULL);
	}
	return 0;
}

/* list, when set, writes the choices into a message: only a refusal pays for it. */
static int check_string_array(const json_t *v, const struct roster_field *f, const char *what,
                              int (*valid)(const char *), const char *expect,
                              void (*list)(char *, size_t), struct roster_err *err)
{
	char choices[400] = "";

	size_t n = json_array_size(v);

	if (!json_is_array(v) || n < (size_t)f->min || n > (size_t)f->max)
		return roster_err_set(err, 422, "invalid_field",
		                      "%s field '%s' must be an array of %d to %d %s", what,
		                      f->name, f->min, f->max, expect);
	for (size_t i = 0; i < n; i++) {
		const json_t *item = json_array_get(v, i);

		if (!json_is_string(item) || !valid(json_string_value(item))) {
			if (list)
				list(choices, sizeof(choices));
			return roster_err_set(err, 422, "invalid_field",
			                      "%s field '%s', item %zu: not one of the %s%s%s%s",
			                      what, f->name, i + 1, expect, list ? " (" : "",
			                      choices, list ? ")" : "");
		}
		for (size_t j = 0; j < i; j++)
			if (json_equal(item, json_array_get(v, j)))
				return roster_err_set(err, 422, "invalid_field",
				                      "%s field '%s' lists '%s' twice", what,
				                      f->name, json_string_value(item));
	}
	return 0;
}

static const struct roster_field education_fields[] = {
    {"degree", FT_STRING, 0, 1, CK_LINE, 1, 100, NULL},
    {"field", FT_STRING, 0, 1, CK_LINE, 1, 200, NULL},
    {"institution", FT_STRING, 0, 1, CK_LINE, 1, 200, NULL},
    {"year", FT_INT, 0, 1, CK_VERSION, 1900, 2100, NULL},
    {NULL, 0, 0, 0, 0, 0, 0, NULL}};

static int check_value(const json_t *v, const struct roster_field *f, const char *what,
                       struct roster_err *err)
{
	size_t chars;

	switch (f->check) {
	case CK_NONE:
		return roster_err_set(err, 422, "server_field",
		                      "%s field '%s' is set by the server: leave it out", what,
		                      f->name);
	case CK_LINE:
	case CK_LATIN:
	case CK_TEXT:
	case CK_CODE:
		if (!json_is_string(v))
			return roster_err_set(err, 422, "invalid_field",
			                      "%s field '%s' must be a string", what, f->name);
		if (!text_ok(json_string_value(v), f->check, &chars))
			return roster_err_set(
			    err, 422, "invalid_field",
			    "%s field '%s' has characters not allowed: %s", what, f->name,
			    f->check == CK_LATIN  ? "use Latin script (put other scripts in "
			                            "name_native)"
			    : f->check == CK_CODE ? "use letters, digits, '-' and '/' only"
			                          : "no control characters");
		if (chars < (size_t)f->min || chars > (size_t)f->max)
			return roster_err_set(err, 422, "invalid_field",
			                      "%s field '%s' must be %d to %d characters long",
			                      what, f->name, f->min, f->max);
		return 0;
	case CK_DATE:
		if (!json_is_string(v) || !roster_valid_date(json_string_value(v)))
			return roster_err_set(err, 422, "invalid_field",
			                      "%s field '%s' must be a date as YYYY-MM-DD", what,
			                      f->name);
		return 0;
	case CK_COUNTRY:
		if (!json_is_string(v) || !roster_valid_country(json_string_value(v)))
			return roster_err_set(
			    err, 422, "invalid_field",
			    "%s field '%s' must be an ISO 3166-1 alpha-2 country code such as DE",
			    what, f->name);
		return 0;
	case CK_COUNTRIES:
		return check_string_array(v, f, what, roster_valid_country,
		                          "ISO 3166-1 alpha-2 country codes", NULL, err);
	case CK_EXPERTISE:
		return check_string_array(v, f, what, roster_valid_expertise,
		                          "expertise categories", roster_expertise_join, err);
	case CK_ENUM:
		if (!json_is_string(v) || !word_in(json_string_value(v), f->choices))
			return roster_err_set(err, 422, "invalid_field",
			                      "%s field '%s' must be one of: %s", what, f->name,
			                      f->choices);
		return 0;
	case CK_ID:
		if (!json_is_string(v) || !roster_id_valid_any(json_string_value(v), f->choices))
			return roster_err_set(err, 422, "invalid_field",
			                      "%s field '%s' must be a record id starting '%s'",
			                      what, f->name, f->choices);
		return 0;
	case CK_VERSION:
		if (!json_is_integer(v) || json_integer_value(v) < f->min ||
		    json_integer_value(v) > f->max)
			return roster_err_set(err, 422, "invalid_field",
			                      "%s field '%s' must be a whole number from %d to %d",
			                      what, f->name, f->min, f->max);
		return 0;
	case CK_EDUCATION:
		if (!json_is_array(v) || json_array_size(v) > (size_t)f->max)
			return roster_err_set(
			    err, 422, "invalid_field",
			    "%s field '%s' must be an array of at most %d entries", what, f->name,
			    f->max);
		for (size_t i = 0; i < json_array_size(v); i++) {
			char label[64];

			snprintf(label, sizeof(label), "%s education entry %zu:", what, i + 1);
			if (!json_is_object(json_array_get(v, i)))
				return roster_err_set(
				    err, 422, "invalid_field",
				    "%s must be an object {degree, field, institution, year}",
				    label);
			if (roster_fields_check(json_array_get(v, i), education_fields, label, 0,
			                        err) < 0)
				return -1;
		}
		return 0;
	}
	return roster_err_set(err, 500, "internal", "field '%s' has no rule", f->name);
}

int roster_fields_check(const json_t *body, const struct roster_field *table, const char *what,
                        int partial, struct roster_err *err)
{
	const char *key;
	json_t *v;

	if (!json_is_object(body))
		return roster_err_set(err, 422, "not_object", "the %s must be a JSON object", what);
	json_object_foreach((json_t *)body, key, v)
	{
		const struct roster_field *f = roster_field_find(table, key);

		if (f == NULL)
			return roster_err_set(err, 422, "unknown_field",
			                      "%s has no field '%s': see the field list in the "
			                      "API description",
			                      what, key);
		if (check_value(v, f, what, err) < 0)
			return -1;
	}
	for (const struct roster_field *f = table; f->name && !partial; f++)
		if (f->required && json_object_get(body, f->name) == NULL)
			return roster_err_set(err, 422, "missing_field",
			                      "%s field '%s' is required", what, f->name);
	return 0;
}

json_t *roster_body_parse(const char *text, size_t len, struct roster_err *err)
{
	json_error_t jerr;
	json_t *v = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);

	if (v == NULL) {
		roster_err_set(err, 400, "bad_json",
		               "the body is not valid JSON (line %d, column %d: %s)", jerr.line,
		               jerr.column, jerr.text);
		return NULL;
	}
	if (!json_is_object(v)) {
		json_decref(v);
		roster_err_set(err, 400, "bad_json", "the body must be a JSON object");
		return NULL;
	}
	return v;
}
