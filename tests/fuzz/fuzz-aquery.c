/*
 * fuzz-aquery.c - an auditor's question (lib/aquery.c) against any entry.
 * Promise: a question never misses an entry it matches. For a JSON object in
 * its canonical form (as the log holds entries), each question made of the
 * entry's own target, account, action, outcome and time, alone and together,
 * matches it; and then its text test passes it, and a block filter made of the
 * entry's keys and time passes it, as does verify --deep's check. A question
 * made of the input's last line as each condition's value is refused or behaves
 * the same way. Where the canonical text alone decides a question (no target),
 * it decides as the parse does. Nothing crashes on any bytes.
 */
#include <string.h>

#include "fuzz.h"
#include "roster/afilter.h"
#include "roster/aquery.h"
#include "roster/canon.h"

struct block {
	uint8_t bits[256];
};

static void key_add(uint64_t hash, void *arg)
{
	roster_afilter_add(((struct block *)arg)->bits, sizeof(((struct block *)arg)->bits), hash);
}

/* The first id the entry names, whole (a longer one is left out). */
static int first_name(const char *id, size_t len, void *arg)
{
	if (len < 128)
		snprintf(arg, 128, "%.*s", (int)len, id);
	return 1;
}

/* The question's promises about entry e (canonical text c); want: it must match. */
static void question_check(const struct roster_aquery *q, const json_t *e, const char *c,
                           size_t len, int want)
{
	const json_t *t = json_object_get(e, "time");
	uint64_t at = roster_audit_time_pack(json_string_value(t), json_string_length(t));
	struct block b = {{0}};
	struct roster_afilter f = {.count = 1,
	                           .bits = b.bits,
	                           .nbytes = sizeof(b.bits),
	                           .typed = 1,
	                           .tmin = at,
	                           .tmax = at};
	char why[160];
	int sure = roster_aquery_text_match(q, c, len);

	/* Where the text alone decides, it decides as the parse does. */
	FUZZ_ASSERT(sure < 0 || sure == roster_aquery_match(q, e));
	if (!roster_aquery_match(q, e)) {
		FUZZ_ASSERT(!want);
		return;
	}
	FUZZ_ASSERT(roster_aquery_text_may_match(q, c, len));
	roster_audit_keys(e, key_add, &b);
	FUZZ_ASSERT(roster_aquery_block_may_match(q, b.bits, sizeof(b.bits), 1, at, at));
	FUZZ_ASSERT(roster_aquery_block_may_match(q, b.bits, sizeof(b.bits), 0, 0, 0));
	FUZZ_ASSERT(roster_afilter_check_entry(&f, e, why, sizeof(why)) == 0);
}

static const char *str_of(const json_t *v)
{
	return json_is_string(v) ? json_string_value(v) : "";
}

static void own_questions(const json_t *e, const char *c, size_t len)
{
	const json_t *actor = json_object_get(e, "actor"), *uid = json_object_get(actor, "uid");
	const char *fields[] = {"target", "actor", "action", "outcome", "since", "until"};
	const char *values[6];
	char name[128] = "", uidv[32] = "";
	struct roster_aquery all;
	struct roster_err err;

	roster_audit_names(e, first_name, name);
	if (json_is_integer(uid) && json_integer_value(uid) >= 0)
		snprintf(uidv, sizeof(uidv), "uid:%lld", (long long)json_integer_value(uid));
	values[0] = name;
	values[1] = json_is_string(json_object_get(actor, "user"))
	                ? json_string_value(json_object_get(actor, "user"))
	                : uidv;
	values[2] = str_of(json_object_get(e, "action"));
	values[3] = str_of(json_object_get(e, "outcome"));
	values[4] = values[5] = str_of(json_object_get(e, "time"));
	roster_aquery_init(&all);
	for (size_t i = 0; i < 6; i++) {
		struct roster_aquery q;

		if (values[i][0] == '\0')
			continue;
		roster_aquery_init(&q);
		/* An account named uid:N is asked for by uid, and a time that is only a
		 * date is no entry's time: neither need match. */
		if (roster_aquery_set(&q, fields[i], values[i], &err) == 0) {
			int exact =
			    !(i == 1 && strncmp(values[i], "uid:", 4) == 0 &&
			      json_is_string(json_object_get(actor, "user"))) &&
			    !(i >= 4 && roster_audit_time_pack(values[i], strlen(values[i])) == 0);

			question_check(&q, e, c, len, exact);
			if (exact)
				(void)roster_aquery_set(&all, fields[i], values[i], &err);
		}
		roster_aquery_free(&q);
	}
	if (!roster_aquery_empty(&all))
		question_check(&all, e, c, len, 1);
	roster_aquery_free(&all);
}

static void odd_questions(const json_t *e, const char *c, size_t len, const char *value)
{
	const char *fields[] = {"target", "actor", "action", "outcome", "since", "until", "other"};

	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		struct roster_aquery q;
		struct roster_err err;

		roster_aquery_init(&q);
		if (roster_aquery_set(&q, fields[i], value, &err) == 0)
			question_check(&q, e, c, len, 0);
		else
			FUZZ_ASSERT(err.status == 400 && roster_aquery_empty(&q));
		roster_aquery_free(&q);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *nl = memchr(data, '\n', size);
	size_t jlen = nl ? (size_t)(nl - (const char *)data) : size;
	struct roster_err err;
	char value[128] = "", *c;
	json_t *v, *e;
	size_t len;

	if (nl)
		snprintf(value, sizeof(value), "%.*s", (int)(size - jlen - 1), nl + 1);
	v = json_loadb((const char *)data, jlen, 0, NULL);
	if (v == NULL || !json_is_object(v) || (c = roster_canon_dump(v, &len, &err)) == NULL) {
		json_decref(v);
		return 0;
	}
	json_decref(v);
	/* A number beyond what jansson reads as an integer: no entry of the log. */
	if ((e = json_loadb(c, len, 0, NULL)) == NULL) {
		free(c);
		return 0;
	}
	own_questions(e, c, len);
	if (value[0])
		odd_questions(e, c, len, value);
	json_decref(e);
	free(c);
	return 0;
}
