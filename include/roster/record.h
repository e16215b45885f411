/*
 * record.h - the registry's records as DOMAIN.md defines them: field
 * validation, defaults, and the custody and travel-request state machines.
 * Pure code over jansson objects: no storage, no I/O, so it is unit-tested alone
 * and shared by the daemon (which enforces) and the client (which builds bodies).
 */
#ifndef ROSTER_RECORD_H
#define ROSTER_RECORD_H

#include <jansson.h>

#include "roster/err.h"

/* JSON shapes, so the client can turn --flags into a body of the right shape. */
enum roster_field_type { FT_STRING, FT_INT, FT_STRING_ARRAY, FT_OBJECT_ARRAY };

/* What a field's value must be; see check_value() in fields.c. */
enum roster_check {
	CK_NONE,      /* server-set: never accepted from a client */
	CK_LINE,      /* one line of text, min..max characters */
	CK_LATIN,     /* one line of Latin-script text (names) */
	CK_TEXT,      /* free text, newlines allowed */
	CK_CODE,      /* letters, digits, '-' and '/' (ids and numbers on documents) */
	CK_DATE,      /* YYYY-MM-DD */
	CK_COUNTRY,   /* ISO 3166-1 alpha-2 */
	CK_COUNTRIES, /* array of distinct countries, min..max */
	CK_ENUM,      /* one of the words in `choices` */
	CK_EXPERTISE, /* array of distinct expertise categories, min..max */
	CK_EDUCATION, /* array of {degree, field, institution, year} */
	CK_ID,        /* a record id with the prefix in `choices` */
	CK_VERSION,   /* a positive integer */
};

struct roster_field {
	const char *name;
	enum roster_field_type type;
	int server_set; /* a client that sends it gets 422 */
	int required;   /* on create */
	enum roster_check check;
	int min, max;        /* lengths in characters, or array sizes */
	const char *choices; /* CK_ENUM: space-separated words; CK_ID: the prefix */
};

extern const struct roster_field roster_person_fields[];
extern const struct roster_field roster_document_fields[];
extern const struct roster_field roster_travel_fields[];
extern const struct roster_field roster_custody_fields[];
extern const struct roster_field roster_decision_fields[];
const struct roster_field *roster_field_find(const struct roster_field *table, const char *name);

/* Checks body against a table: unknown or server-set fields, required ones (unless
 * partial), and every present value. `what` names the record in messages. */
int roster_fields_check(const json_t *body, const struct roster_field *table, const char *what,
                        int partial, struct roster_err *err);

/* Primitive checks, shared by all records. */
int roster_valid_date(const char *s);    /* YYYY-MM-DD and a real calendar day */
int roster_valid_country(const char *s); /* ISO 3166-1 alpha-2, officially assigned */
int roster_valid_expertise(const char *s);
/* The expertise categories, comma-separated, cut to fit outlen (for messages). */
void roster_expertise_join(char *out, size_t outlen);
int roster_valid_segment(const char *s);

/* A request body: UTF-8 JSON text holding one object, no duplicate member names.
 * Returns the object, or NULL with a 400 err saying where the text went wrong. */
json_t *roster_body_parse(const char *text, size_t len, struct roster_err *err);

/* New records: reject unknown and server-set fields, check each field, set defaults. */
int roster_person_check_new(json_t *body, struct roster_err *err);
int roster_document_check_new(json_t *body, struct roster_err *err);
int roster_travel_check_new(json_t *body, struct roster_err *err);

/* Applies a partial update (the fields to change) to a stored person, re-checking it. */
int roster_person_merge(json_t *rec, const json_t *changes, struct roster_err *err);

/* Custody: the body's shape alone, then the transition against the document's state
 * (and the named travel request, or NULL). apply moves the document on (custody,
 * its count of events, the last event) and hands back the new history entry in
 * *entry, which the daemon stores apart from the document. */
int roster_custody_check(const json_t *event, struct roster_err *err);
int roster_custody_apply(json_t *doc, const json_t *event, const json_t *travel, const char *by,
                         const char *at, json_t **entry, struct roster_err *err);

/* Travel requests: decide (approve/deny), complete, cancel. */
int roster_decision_check(const json_t *decision, struct roster_err *err);
int roster_travel_decide(json_t *travel, const json_t *decision, const char *by,
                         struct roster_err *err);
int roster_travel_finish(json_t *travel, const char *to_status, struct roster_err *err);

#endif
