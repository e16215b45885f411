/*
 * audit.c - the audit entry's hash chain, shared by the writer and verifiers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>
#include <unistr.h>

#include "roster/audit.h"
#include "roster/canon.h"
#include "roster/sha256.h"
#include "roster/util.h"

void roster_audit_leaf_hash(uint8_t out[ROSTER_HASH_BYTES], const uint8_t *entry, size_t len)
{
	static const uint8_t zero = 0;
	const struct roster_bytes parts[] = {{&zero, 1}, {entry, len}};

	roster_sha256_parts(out, parts, 2);
}

static void member(struct roster_canon_buf *b, const char *name)
{
	roster_canon_raw(b, name, strlen(name));
}

static int valid(const char *s)
{
	return s && u8_check((const uint8_t *)s, strlen(s)) == NULL;
}

/* The query member: its canonical form, from the general serialiser (it is
 * small, and its members vary with what was asked). */
static int query_dump(struct roster_canon_buf *b, const json_t *query)
{
	size_t n;
	char *s;

	if (!json_is_object(query) || (s = roster_canon_dump(query, &n, NULL)) == NULL)
		return -1;
	member(b, ",\"query\":");
	roster_canon_raw(b, s, n);
	free(s);
	return 0;
}

char *roster_audit_entry_dump(const struct roster_audit_fields *f, size_t *len,
                              struct roster_err *err)
{
	const char *strs[] = {f->time,
	                      f->user,
	                      f->action,
	                      f->target,
	                      f->outcome,
	                      f->object,
	                      f->prev,
	                      f->stored_target ? f->stored_object : "",
	                      f->stored_target ? f->stored_target : "",
	                      f->person ? f->person : ""};
	struct roster_canon_buf b = {0};
	size_t i;

	for (i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
		if (!valid(strs[i]))
			goto bad;
	if (f->seq > (1ULL << 53))
		goto bad;
	/* Members in RFC 8785 order: names sorted by code unit. */
	member(&b, "{\"action\":");
	roster_canon_str(&b, f->action);
	member(&b, ",\"actor\":{\"uid\":");
	roster_canon_int(&b, (long long)f->uid);
	member(&b, ",\"user\":");
	roster_canon_str(&b, f->user);
	member(&b, "},\"object\":");
	roster_canon_str(&b, f->object);
	member(&b, ",\"outcome\":");
	roster_canon_str(&b, f->outcome);
	if (f->person) {
		member(&b, ",\"person\":");
		roster_canon_str(&b, f->person);
	}
	member(&b, ",\"prev\":");
	roster_canon_str(&b, f->prev);
	if (f->query && query_dump(&b, f->query) < 0)
		goto bad;
	member(&b, ",\"seq\":");
	roster_canon_int(&b, (long long)f->seq);
	member(&b, ",\"status\":");
	roster_canon_int(&b, f->status);
	if (f->stored_target) {
		member(&b, ",\"stored\":{\"object\":");
		roster_canon_str(&b, f->stored_object);
		member(&b, ",\"target\":");
		roster_canon_str(&b, f->stored_target);
		member(&b, "}");
	}
	member(&b, ",\"target\":");
	roster_canon_str(&b, f->target);
	if (f->targets) {
		member(&b, ",\"targets\":[");
		for (i = 0; i < json_array_size(f->targets); i++) {
			const char *id = json_string_value(json_array_get(f->targets, i));

			if (!valid(id))
				goto bad;
			if (i > 0)
				member(&b, ",");
			roster_canon_str(&b, id);
		}
		member(&b, "]");
	}
	member(&b, ",\"time\":");
	roster_canon_str(&b, f->time);
	member(&b, "}");
	if (len)
		*len = b.len;
	return b.p;
bad:
	free(b.p);
	roster_err_set(err, 500, "internal",
	               "cannot write audit entry %llu: a field is not valid UTF-8 or out of range",
	               (unsigned long long)f->seq);
	return NULL;
}

json_t *roster_audit_entry_read(const char *entry, size_t len, uint8_t leaf[ROSTER_HASH_BYTES])
{
	json_t *v = json_loadb(entry, len, JSON_REJECT_DUPLICATES, NULL);
	size_t clen;
	/* One parse serves both the canonical-form check and the fields. */
	char *canon = v ? roster_canon_dump(v, &clen, NULL) : NULL;
	int same = canon && clen == len && memcmp(canon, entry, len) == 0;

	free(canon);
	if (!same) {
		json_decref(v);
		return NULL;
	}
	roster_audit_leaf_hash(leaf, (const uint8_t *)entry, len);
	return v;
}

int roster_audit_seq_follows(int has_seq, long long seq, const char *prev, uint64_t want_seq,
                             const uint8_t prev_hash[ROSTER_HASH_BYTES], struct roster_err *err)
{
	char want_prev[2 * ROSTER_HASH_BYTES + 1];

	roster_hex_encode(want_prev, prev_hash, ROSTER_HASH_BYTES);
	if (!has_seq || (uint64_t)seq != want_seq)
		return roster_err_set(err, 422, "out_of_order",
		                      "entry %llu carries seq %lld: missing or reordered entries",
		                      (unsigned long long)want_seq, has_seq ? seq : -1LL);
	if (prev == NULL || strcmp(prev, want_prev) != 0)
		return roster_err_set(
		    err, 422, "broken_chain",
		    "entry %llu: prev does not match the hash of entry %lld: the log was "
		    "altered before it, or entries are missing",
		    (unsigned long long)want_seq, (long long)want_seq - 1);
	return 0;
}

int roster_audit_entry_follows(const json_t *v, uint64_t want_seq,
                               const uint8_t prev_hash[ROSTER_HASH_BYTES], struct roster_err *err)
{
	const json_t *seq = json_object_get(v, "seq");

	return roster_audit_seq_follows(json_is_integer(seq), (long long)json_integer_value(seq),
	                                json_string_value(json_object_get(v, "prev")), want_seq,
	                                prev_hash, err);
}

int roster_audit_check_entry(const char *entry, size_t len, uint64_t want_seq,
                             const uint8_t prev_hash[ROSTER_HASH_BYTES],
                             uint8_t leaf[ROSTER_HASH_BYTES], json_t **parsed,
                             struct roster_err *err)
{
	uint8_t mine[ROSTER_HASH_BYTES];
	json_t *v = roster_audit_entry_read(entry, len, mine);

	if (v == NULL)
		return roster_err_set(err, 422, "not_canonical",
		                      "entry %llu is not canonical JSON: altered",
		                      (unsigned long long)want_seq);
	if (roster_audit_entry_follows(v, want_seq, prev_hash, err) < 0) {
		json_decref(v);
		return -1;
	}
	memcpy(leaf, mine, sizeof(mine));
	if (parsed)
		*parsed = v;
	else
		json_decref(v);
	return 0;
}
