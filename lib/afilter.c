/*
 * afilter.c - Bloom filters over the ids a block of audit entries names
 * (roster/afilter.h), and which ids an entry names.
 *
 * Probes are spread by double hashing (h1 + i*h2) from one SipHash of the id:
 * two independent halves of a 64-bit hash do as well as seven hashes for a
 * filter this size. The hash and the bit order are part of the stored format.
 */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "roster/afilter.h"
#include "roster/util.h"

size_t roster_afilter_bytes(size_t n)
{
	size_t bytes = (n * ROSTER_AFILTER_BITS_PER_ID + 7) / 8;

	return bytes < 8 ? 8 : bytes;
}

uint64_t roster_afilter_hash(const char *id, size_t len)
{
	/* Unkeyed: a fixed all-zero key, so every rosterd and test agrees. */
	static const uint8_t key[crypto_shorthash_KEYBYTES];
	uint8_t out[crypto_shorthash_BYTES];
	uint64_t h = 0;

	crypto_shorthash(out, (const uint8_t *)id, len, key);
	for (size_t i = 0; i < sizeof(out); i++)
		h = h << 8 | out[i];
	return h;
}

uint64_t roster_afilter_key_hash(char kind, const char *s, size_t len)
{
	uint8_t key[crypto_shorthash_KEYBYTES] = {(uint8_t)kind}, out[crypto_shorthash_BYTES];
	uint64_t h = 0;

	crypto_shorthash(out, (const uint8_t *)s, len, key);
	for (size_t i = 0; i < sizeof(out); i++)
		h = h << 8 | out[i];
	return h;
}

static size_t probe(uint64_t hash, unsigned i, size_t nbits)
{
	uint32_t h1 = (uint32_t)hash, h2 = (uint32_t)(hash >> 32) | 1;

	return (size_t)(((uint64_t)h1 + (uint64_t)i * h2) % nbits);
}

void roster_afilter_add(uint8_t *bits, size_t nbytes, uint64_t hash)
{
	for (unsigned i = 0; i < ROSTER_AFILTER_PROBES; i++) {
		size_t b = probe(hash, i, nbytes * 8);

		bits[b / 8] |= (uint8_t)(1u << (b % 8));
	}
}

int roster_afilter_may_hold(const uint8_t *bits, size_t nbytes, uint64_t hash)
{
	if (nbytes == 0)
		return 1;
	for (unsigned i = 0; i < ROSTER_AFILTER_PROBES; i++) {
		size_t b = probe(hash, i, nbytes * 8);

		if (!(bits[b / 8] & (1u << (b % 8))))
			return 0;
	}
	return 1;
}

static int name(const json_t *v, int (*fn)(const char *, size_t, void *), void *arg)
{
	return json_is_string(v) ? fn(json_string_value(v), json_string_length(v), arg) : 0;
}

int roster_audit_names(const json_t *entry, int (*fn)(const char *id, size_t len, void *arg),
                       void *arg)
{
	const json_t *v;
	size_t i;
	int rc;

	if ((rc = name(json_object_get(entry, "target"), fn, arg)) != 0 ||
	    (rc = name(json_object_get(json_object_get(entry, "stored"), "target"), fn, arg)) !=
	        0 ||
	    (rc = name(json_object_get(entry, "person"), fn, arg)) != 0)
		return rc;
	json_array_foreach(json_object_get(entry, "targets"), i, v)
	{
		if ((rc = name(v, fn, arg)) != 0)
			return rc;
	}
	return 0;
}

static int field_name(const char *s, int (*fn)(const char *, size_t, void *), void *arg)
{
	return s ? fn(s, strlen(s), arg) : 0;
}

int roster_audit_fields_names(const struct roster_audit_fields *f,
                              int (*fn)(const char *id, size_t len, void *arg), void *arg)
{
	int rc;

	if ((rc = field_name(f->target, fn, arg)) != 0 ||
	    (rc = field_name(f->stored_target, fn, arg)) != 0 ||
	    (rc = field_name(f->person, fn, arg)) != 0)
		return rc;
	for (size_t i = 0; i < json_array_size(f->targets); i++)
		if ((rc = field_name(json_string_value(json_array_get(f->targets, i)), fn, arg)) !=
		    0)
			return rc;
	return 0;
}

static int is_wanted(const char *id, size_t len, void *arg)
{
	const char *want = arg;

	return strlen(want) == len && memcmp(id, want, len) == 0;
}

int roster_audit_names_id(const json_t *entry, const char *id)
{
	return roster_audit_names(entry, is_wanted, (void *)id) != 0;
}

struct key_sink {
	void (*fn)(uint64_t hash, void *arg);
	void *arg;
};

static int id_key(const char *id, size_t len, void *arg)
{
	struct key_sink *k = arg;

	k->fn(roster_afilter_hash(id, len), k->arg);
	return 0;
}

static void typed_key(const struct key_sink *k, char kind, const char *s)
{
	if (s)
		k->fn(roster_afilter_key_hash(kind, s, strlen(s)), k->arg);
}

static void uid_key(const struct key_sink *k, unsigned long long uid)
{
	char s[21];

	/* an entry's uid is a JSON integer >= 0, a writer's a uid_t: both fit */
	roster_i64_format(s, (long long)uid);
	typed_key(k, ROSTER_AFILTER_UID, s);
}

void roster_audit_keys(const json_t *entry, void (*fn)(uint64_t hash, void *arg), void *arg)
{
	struct key_sink k = {fn, arg};
	const json_t *actor = json_object_get(entry, "actor"), *uid = json_object_get(actor, "uid");

	roster_audit_names(entry, id_key, &k);
	typed_key(&k, ROSTER_AFILTER_USER, json_string_value(json_object_get(actor, "user")));
	if (json_is_integer(uid) && json_integer_value(uid) >= 0)
		uid_key(&k, (unsigned long long)json_integer_value(uid));
	typed_key(&k, ROSTER_AFILTER_ACTION, json_string_value(json_object_get(entry, "action")));
	typed_key(&k, ROSTER_AFILTER_OUTCOME, json_string_value(json_object_get(entry, "outcome")));
}

void roster_audit_fields_keys(const struct roster_audit_fields *f,
                              void (*fn)(uint64_t hash, void *arg), void *arg)
{
	struct key_sink k = {fn, arg};

	roster_audit_fields_names(f, id_key, &k);
	typed_key(&k, ROSTER_AFILTER_USER, f->user);
	uid_key(&k, f->uid);
	typed_key(&k, ROSTER_AFILTER_ACTION, f->action);
	typed_key(&k, ROSTER_AFILTER_OUTCOME, f->outcome);
}

uint64_t roster_audit_time_pack(const char *s, size_t len)
{
	static const char shape[] = "dddd-dd-ddTdd:dd:ddZ";
	uint64_t v = 0;

	if (s == NULL || len != sizeof(shape) - 1)
		return 0;
	for (size_t i = 0; i < len; i++) {
		if (shape[i] != 'd') {
			if (s[i] != shape[i])
				return 0;
		} else if (s[i] < '0' || s[i] > '9') {
			return 0;
		} else {
			v = v * 10 + (uint64_t)(s[i] - '0');
		}
	}
	return v;
}

int roster_afilter_parse(const uint8_t *p, size_t len, struct roster_afilter *f)
{
	size_t head;

	if (len < ROSTER_AFILTER_HEAD1)
		return -1;
	if (memcmp(p, "RAF2", 4) == 0 && len >= ROSTER_AFILTER_HEAD) {
		head = ROSTER_AFILTER_HEAD;
		f->typed = 1;
		f->tmin = roster_be64_get(p + 16);
		f->tmax = roster_be64_get(p + 24);
	} else if (memcmp(p, "RAF1", 4) == 0) {
		head = ROSTER_AFILTER_HEAD1;
		f->typed = 0;
		f->tmin = f->tmax = 0;
	} else {
		return -1;
	}
	f->first = roster_be64_get(p + 4);
	f->count = roster_be32_get(p + 12);
	f->bits = p + head;
	f->nbytes = len - head;
	return f->count > 0 ? 0 : -1;
}

struct id_check {
	const struct roster_afilter *f;
	const char *missing;
	size_t len;
};

static int id_held(const char *id, size_t len, void *arg)
{
	struct id_check *c = arg;

	if (roster_afilter_may_hold(c->f->bits, c->f->nbytes, roster_afilter_hash(id, len)))
		return 0;
	c->missing = id;
	c->len = len;
	return 1;
}

static int typed_held(const struct roster_afilter *f, char kind, const char *s)
{
	return s == NULL || roster_afilter_may_hold(f->bits, f->nbytes,
	                                            roster_afilter_key_hash(kind, s, strlen(s)));
}

/* Fills why with what the filter leaves the entry out of; returns -1. */
static int left_out(const struct roster_afilter *f, char *why, size_t len, const char *question)
{
	snprintf(why, len,
	         "left out of the filter of entries %llu to %llu: %s would not find it (the "
	         "filter was altered)",
	         (unsigned long long)f->first, (unsigned long long)(f->first + f->count - 1),
	         question);
	return -1;
}

int roster_afilter_check_entry(const struct roster_afilter *f, const json_t *e, char *why,
                               size_t len)
{
	const json_t *actor = json_object_get(e, "actor"), *uid = json_object_get(actor, "uid");
	const json_t *time = json_object_get(e, "time");
	struct id_check c = {f, NULL, 0};
	char num[24] = "", question[96];
	uint64_t at;

	if (roster_audit_names(e, id_held, &c) != 0) {
		snprintf(question, sizeof(question), "a question by target %.*s", (int)c.len,
		         c.missing);
		return left_out(f, why, len, question);
	}
	if (!f->typed)
		return 0;
	if (json_is_integer(uid) && json_integer_value(uid) >= 0) /* as roster_audit_keys */
		snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(uid));
	if (!typed_held(f, ROSTER_AFILTER_USER,
	                json_string_value(json_object_get(actor, "user"))) ||
	    (num[0] && !typed_held(f, ROSTER_AFILTER_UID, num)))
		return left_out(f, why, len, "a question by its account");
	if (!typed_held(f, ROSTER_AFILTER_ACTION, json_string_value(json_object_get(e, "action"))))
		return left_out(f, why, len, "a question by its action");
	if (!typed_held(f, ROSTER_AFILTER_OUTCOME,
	                json_string_value(json_object_get(e, "outcome"))))
		return left_out(f, why, len, "a question by its outcome");
	at = roster_audit_time_pack(json_string_value(time), json_string_length(time));
	if (f->tmin != 0 && f->tmax != 0 && (at < f->tmin || at > f->tmax))
		return left_out(f, why, len,
		                "a question by time (the block's span leaves out its time)");
	return 0;
}
