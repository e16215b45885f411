/*
 * output.c - human-readable forms of records: "field: value" blocks for one
 * record, one line per record for lists. Scripts use --json instead.
 */
#include <stdio.h>
#include <string.h>

#include "rosterctl.h"

static const char *s(const json_t *o, const char *key)
{
	const char *v = json_string_value(json_object_get(o, key));

	return v ? v : "-";
}

static void print_value(const char *label, const json_t *v)
{
	size_t i;
	json_t *item;

	if (v == NULL || json_is_null(v))
		return;
	printf("%-13s ", label);
	if (json_is_string(v)) {
		/* Multi-line text is indented under its label. */
		for (const char *p = json_string_value(v); *p; p++)
			printf(*p == '\n' ? "\n              " : "%c", *p);
	} else if (json_is_integer(v)) {
		printf("%lld", (long long)json_integer_value(v));
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, item)
		{
			if (json_is_string(item))
				printf("%s%s", i ? ", " : "", json_string_value(item));
			else if (json_is_object(item) && json_object_get(item, "degree"))
				printf(
				    "%s%s in %s, %s, %lld", i ? "\n              " : "",
				    s(item, "degree"), s(item, "field"), s(item, "institution"),
				    (long long)json_integer_value(json_object_get(item, "year")));
		}
	}
	printf("\n");
}

static void print_fields(const json_t *rec, const struct roster_field *fields)
{
	char label[32];

	for (const struct roster_field *f = fields; f->name; f++) {
		if (strcmp(f->name, "history") == 0)
			continue;
		snprintf(label, sizeof(label), "%s:", f->name);
		print_value(label, json_object_get(rec, f->name));
	}
}

void print_person(const json_t *p)
{
	print_fields(p, roster_person_fields);
}

void print_document(const json_t *d)
{
	const json_t *history = json_object_get(d, "history");
	size_t i;
	json_t *h;

	print_fields(d, roster_document_fields);
	if (json_array_size(history))
		printf("history:\n");
	json_array_foreach(history, i, h)
	{
		printf("  %s  %-9s %s -> %s  by %s", s(h, "at"), s(h, "event"), s(h, "from"),
		       s(h, "to"), s(h, "by"));
		if (json_is_string(json_object_get(h, "custodian")))
			printf("  custodian: %s", s(h, "custodian"));
		if (json_is_string(json_object_get(h, "request")))
			printf("  request: %s", s(h, "request"));
		printf("\n");
	}
}

void print_travel(const json_t *t)
{
	print_fields(t, roster_travel_fields);
}

void print_person_line(const json_t *p)
{
	printf("%s  %s  %s  %s  %s  %s\n", s(p, "id"), s(p, "name"), s(p, "birth_date"),
	       s(p, "nationality"), s(p, "employer"), s(p, "status"));
}

void print_document_line(const json_t *d)
{
	printf("%s  %s  %s %s  expires %s  %s\n", s(d, "id"), s(d, "type"), s(d, "country"),
	       s(d, "number"), s(d, "expires"), s(d, "custody"));
}

void print_travel_line(const json_t *t)
{
	const json_t *dest = json_object_get(t, "destinations");
	size_t i;
	json_t *c;

	printf("%s  %s  ", s(t, "id"), s(t, "person"));
	json_array_foreach(dest, i, c) printf("%s%s", i ? "," : "", json_string_value(c));
	printf("  %s..%s  %s\n", s(t, "depart"), s(t, "return"), s(t, "status"));
}

void print_list(const json_t *page, void (*line)(const json_t *))
{
	const json_t *items = json_object_get(page, "items");
	size_t i;
	json_t *item;

	json_array_foreach(items, i, item) line(item);
	if (json_array_size(items) == 0)
		printf("(none)\n");
}
