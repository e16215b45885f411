/*
 * aquery.c - an auditor's question of the audit log (roster/aquery.h): its
 * conditions checked once, then matched three ways, cheapest first: against a
 * block's filter and time span, against an entry's text, against the entry.
 *
 * Values are limited to what an entry holds without JSON escapes, so each
 * condition is a fixed string in the canonical bytes; the text test can then
 * only pass over entries that cannot match, never drop one that does. A
 * question without a target is decided by the text alone: the canonical form
 * puts action, actor and outcome first and time last, so their values sit at
 * fixed places, where a parse would find them (a target may be in several
 * members, and is left to the parse).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "roster/afilter.h"
#include "roster/aquery.h"
#include "roster/util.h"

void roster_aquery_init(struct roster_aquery *q)
{
	memset(q, 0, sizeof(*q));
	q->uid = -1;
}

void roster_aquery_free(struct roster_aquery *q)
{
	free(q->target);
	free(q->user);
	free(q->action);
	free(q->outcome);
	free(q->since);
	free(q->until);
	while (q->nneedles > 0)
		free(q->needle[--q->nneedles]);
	roster_aquery_init(q);
}

/* Printable ASCII with nothing JSON escapes, 1 to max-1 characters. */
static int plain(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n == 0 || n >= max)
		return 0;
	for (; *s; s++)
		if (*s <= ' ' || *s > '~' || *s == '"' || *s == '\\')
			return 0;
	return 1;
}

/* Two digits at s, from lo to hi. */
static int in_range(const char *s, int lo, int hi)
{
	int v = (s[0] - '0') * 10 + (s[1] - '0');

	return v >= lo && v <= hi;
}

/* YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ as a packed time (a date: its first or,
 * as an upper bound, its last second); 0 when it is neither. */
static uint64_t bound_pack(const char *s, int upper)
{
	char full[32];
	uint64_t v;

	if (strlen(s) == 10)
		snprintf(full, sizeof(full), "%sT%s", s, upper ? "23:59:60Z" : "00:00:00Z");
	else
		snprintf(full, sizeof(full), "%s", s);
	v = roster_audit_time_pack(full, strlen(full));
	if (v == 0 || !in_range(full + 5, 1, 12) || !in_range(full + 8, 1, 31) ||
	    !in_range(full + 11, 0, 23) || !in_range(full + 14, 0, 59) ||
	    !in_range(full + 17, 0, 60))
		return 0;
	return v;
}

static int uid_parse(const char *s, long long *uid)
{
	char *end;

	errno = 0;
	*uid = strtoll(s, &end, 10);
	return s[0] >= '0' && s[0] <= '9' && *end == '\0' && errno == 0 ? 0 : -1;
}

static void needle_add(struct roster_aquery *q, char *needle)
{
	q->needle[q->nneedles++] = needle;
}

static void key_add(struct roster_aquery *q, char kind, const char *s)
{
	q->key[q->nkeys++] = roster_afilter_key_hash(kind, s, strlen(s));
}

static int actor_set(struct roster_aquery *q, const char *value, struct roster_err *err)
{
	char s[24];
	long long uid;

	if (strncmp(value, "uid:", 4) == 0) {
		if (uid_parse(value + 4, &uid) < 0)
			return roster_err_set(err, 400, "bad_query", "actor uid:N takes a number");
		q->uid = uid;
		snprintf(s, sizeof(s), "%lld", q->uid);
		/* No delimiter after the number: "uid":12 also passes "uid":123 on to the
		 * parse, but an actor of a uid alone is found as well. */
		needle_add(q, roster_xasprintf("\"uid\":%s", s));
		key_add(q, ROSTER_AFILTER_UID, s);
		return 0;
	}
	if (!plain(value, ROSTER_AQUERY_VALUE_MAX))
		return roster_err_set(err, 400, "bad_query",
		                      "actor takes an account name (at most %d printable "
		                      "characters) or uid:N",
		                      ROSTER_AQUERY_VALUE_MAX - 1);
	q->user = roster_xstrdup(value);
	needle_add(q, roster_xasprintf("\"user\":\"%s\"", value));
	key_add(q, ROSTER_AFILTER_USER, value);
	return 0;
}

/* action or outcome: a member's whole value. */
static int member_set(struct roster_aquery *q, char **slot, const char *field, char kind,
                      const char *value, struct roster_err *err)
{
	if (!plain(value, ROSTER_AQUERY_VALUE_MAX))
		return roster_err_set(err, 400, "bad_query",
		                      "%s takes at most %d printable characters, without quotes "
		                      "or backslashes",
		                      field, ROSTER_AQUERY_VALUE_MAX - 1);
	*slot = roster_xstrdup(value);
	needle_add(q, roster_xasprintf("\"%s\":\"%s\"", field, value));
	key_add(q, kind, value);
	return 0;
}

static int span_set(char **slot, uint64_t *at, int upper, const char *field, const char *value,
                    struct roster_err *err)
{
	if ((*at = bound_pack(value, upper)) == 0)
		return roster_err_set(err, 400, "bad_query",
		                      "%s takes YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ (UTC)", field);
	*slot = roster_xstrdup(value);
	return 0;
}

int roster_aquery_set(struct roster_aquery *q, const char *field, const char *value,
                      struct roster_err *err)
{
	int given = strcmp(field, "target") == 0    ? q->target != NULL
	            : strcmp(field, "actor") == 0   ? q->user != NULL || q->uid >= 0
	            : strcmp(field, "action") == 0  ? q->action != NULL
	            : strcmp(field, "outcome") == 0 ? q->outcome != NULL
	            : strcmp(field, "since") == 0   ? q->since != NULL
	            : strcmp(field, "until") == 0   ? q->until != NULL
	                                            : -1;

	if (given < 0)
		return roster_err_set(err, 400, "bad_query", "no such condition: %s", field);
	if (given)
		return roster_err_set(err, 400, "bad_query", "%s is given twice", field);
	if (strcmp(field, "target") == 0) {
		if (!plain(value, ROSTER_ID_MAX))
			return roster_err_set(err, 400, "bad_query",
			                      "target must be a record id (or uid:N), at most %d "
			                      "characters",
			                      ROSTER_ID_MAX - 1);
		q->target = roster_xstrdup(value);
		q->id_hash = roster_afilter_hash(value, strlen(value));
		needle_add(q, roster_xasprintf("\"%s\"", value));
		return 0;
	}
	if (strcmp(field, "actor") == 0)
		return actor_set(q, value, err);
	if (strcmp(field, "action") == 0)
		return member_set(q, &q->action, field, ROSTER_AFILTER_ACTION, value, err);
	if (strcmp(field, "outcome") == 0)
		return member_set(q, &q->outcome, field, ROSTER_AFILTER_OUTCOME, value, err);
	if (strcmp(field, "since") == 0)
		return span_set(&q->since, &q->since_at, 0, field, value, err);
	return span_set(&q->until, &q->until_at, 1, field, value, err);
}

int roster_aquery_empty(const struct roster_aquery *q)
{
	return q->target == NULL && q->nkeys == 0 && q->since == NULL && q->until == NULL;
}

static int in_span(const struct roster_aquery *q, uint64_t at)
{
	if (q->since == NULL && q->until == NULL)
		return 1;
	return at != 0 && (q->since_at == 0 || at >= q->since_at) &&
	       (q->until_at == 0 || at <= q->until_at);
}

int roster_aquery_text_may_match(const struct roster_aquery *q, const char *entry, size_t len)
{
	static const char key[] = "\"time\":\"";
	const char *at;
	size_t rest;

	for (size_t i = 0; i < q->nneedles; i++)
		if (memmem(entry, len, q->needle[i], strlen(q->needle[i])) == NULL)
			return 0;
	if (q->since == NULL && q->until == NULL)
		return 1;
	/* "time":" occurs once in an entry, as its member: inside a string every
	 * quote is escaped. Text without it, or with it twice (a member of the same
	 * name inside another), is left to the parse. */
	if ((at = memmem(entry, len, key, sizeof(key) - 1)) == NULL)
		return 1;
	at += sizeof(key) - 1;
	rest = (size_t)(entry + len - at);
	if (memmem(at, rest, key, sizeof(key) - 1) != NULL)
		return 1;
	return rest < 20 || in_span(q, roster_audit_time_pack(at, 20));
}

/* The closing quote of the string whose text begins at p, when it holds no
 * escape (else NULL: the entry is left to the parse). */
static const char *plain_end(const char *p, const char *end)
{
	for (; p < end; p++) {
		if (*p == '\\')
			return NULL;
		if (*p == '"')
			return p;
	}
	return NULL;
}

static int literal(const char **p, const char *end, const char *s)
{
	size_t n = strlen(s);

	if ((size_t)(end - *p) < n || memcmp(*p, s, n) != 0)
		return 0;
	*p += n;
	return 1;
}

/* An entry's head and tail as roster_audit_entry_dump writes them. */
struct head {
	const char *action, *user, *outcome;
	size_t action_len, user_len, outcome_len;
	unsigned long long uid;
	uint64_t at;
};

/* Reads action, actor and outcome (its first members, in canonical order) and
 * time (its last: no member name sorts after it). 0 when the text is not of
 * that shape, or a value holds an escape. */
static int head_read(const char *e, size_t len, struct head *h)
{
	const char *p = e, *end = e + len, *q;
	size_t digits = 0;

	if (!literal(&p, end, "{\"action\":\"") || (q = plain_end(p, end)) == NULL)
		return 0;
	h->action = p;
	h->action_len = (size_t)(q - p);
	p = q + 1;
	if (!literal(&p, end, ",\"actor\":{\"uid\":"))
		return 0;
	/* A plain integer up to 2^53, as the canonical form writes a uid. */
	for (h->uid = 0; p < end && *p >= '0' && *p <= '9' && digits < 17; p++, digits++)
		h->uid = h->uid * 10 + (unsigned long long)(*p - '0');
	if (digits == 0 || (digits > 1 && p[-(long)digits] == '0') || h->uid > (1ULL << 53) ||
	    !literal(&p, end, ",\"user\":\"") || (q = plain_end(p, end)) == NULL)
		return 0;
	h->user = p;
	h->user_len = (size_t)(q - p);
	p = q + 1;
	if (!literal(&p, end, "},\"object\":\"") || (q = plain_end(p, end)) == NULL)
		return 0;
	p = q + 1;
	if (!literal(&p, end, ",\"outcome\":\"") || (q = plain_end(p, end)) == NULL)
		return 0;
	h->outcome = p;
	h->outcome_len = (size_t)(q - p);
	p = q + 1;
	/* ,"time":"YYYY-MM-DDTHH:MM:SSZ"} closes the entry, after the head. */
	if ((size_t)(end - p) < 31 || memcmp(end - 31, ",\"time\":\"", 9) != 0 ||
	    memcmp(end - 2, "\"}", 2) != 0)
		return 0;
	h->at = roster_audit_time_pack(end - 22, 20);
	return 1;
}

static int text_is(const char *s, size_t n, const char *want)
{
	return strlen(want) == n && memcmp(s, want, n) == 0;
}

int roster_aquery_text_match(const struct roster_aquery *q, const char *entry, size_t len)
{
	struct head h;

	if (q->target || !head_read(entry, len, &h))
		return -1;
	if (q->uid >= 0 && h.uid != (unsigned long long)q->uid)
		return 0;
	if (q->user && !text_is(h.user, h.user_len, q->user))
		return 0;
	if (q->action && !text_is(h.action, h.action_len, q->action))
		return 0;
	if (q->outcome && !text_is(h.outcome, h.outcome_len, q->outcome))
		return 0;
	return in_span(q, h.at);
}

static int str_is(const json_t *v, const char *want)
{
	return json_is_string(v) && strcmp(json_string_value(v), want) == 0;
}

int roster_aquery_match(const struct roster_aquery *q, const json_t *e)
{
	const json_t *actor = json_object_get(e, "actor"), *time = json_object_get(e, "time");

	if (q->target && !roster_audit_names_id(e, q->target))
		return 0;
	if (q->uid >= 0 && (!json_is_integer(json_object_get(actor, "uid")) ||
	                    json_integer_value(json_object_get(actor, "uid")) != q->uid))
		return 0;
	if (q->user && !str_is(json_object_get(actor, "user"), q->user))
		return 0;
	if (q->action && !str_is(json_object_get(e, "action"), q->action))
		return 0;
	if (q->outcome && !str_is(json_object_get(e, "outcome"), q->outcome))
		return 0;
	if ((q->since || q->until) &&
	    !in_span(q, json_is_string(time) ? roster_audit_time_pack(json_string_value(time),
	                                                              json_string_length(time))
	                                     : 0))
		return 0;
	return 1;
}

int roster_aquery_block_may_match(const struct roster_aquery *q, const uint8_t *bits, size_t nbytes,
                                  int typed, uint64_t tmin, uint64_t tmax)
{
	if (q->target && !roster_afilter_may_hold(bits, nbytes, q->id_hash))
		return 0;
	for (size_t i = 0; typed && i < q->nkeys; i++)
		if (!roster_afilter_may_hold(bits, nbytes, q->key[i]))
			return 0;
	if (tmin == 0 || tmax == 0)
		return 1;
	if (q->since && tmax < q->since_at)
		return 0;
	if (q->until && tmin > q->until_at)
		return 0;
	return 1;
}
