/*
 * audit.h - audit entries: RFC 8785 canonical JSON, chained by the RFC 6962 leaf
 * hash of the previous entry. Shared by the daemon (which writes them) and the
 * client (which checks an export).
 */
#ifndef ROSTER_AUDIT_H
#define ROSTER_AUDIT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "roster/err.h"

#define ROSTER_HASH_BYTES 32

/* What one entry records. Strings are NUL-terminated; targets is NULL or an array
 * of the ids a list returned; stored_target is NULL, or a value the request stored
 * beside its target (a custody history entry) with its digest in stored_object. */
struct roster_audit_fields {
	uint64_t seq;
	const char *time;
	unsigned long uid;
	const char *user, *action, *target, *outcome, *object, *prev;
	int status;
	const json_t *targets;
	const char *stored_target, *stored_object;
	const char *person; /* the person a document or travel request is of, or NULL */
	/* What an audit read asked for (its range, or its question's conditions),
	 * an object of strings and integers, or NULL. */
	const json_t *query;
};

/* The entry's canonical bytes (malloc'd, NUL-terminated), written directly in RFC
 * 8785 member order; NULL with err set when a string is not valid UTF-8 or a
 * number is out of range. Equal, byte for byte, to roster_canon_dump of the same
 * entry built as a jansson object (tests/unit/test-audit.c). */
char *roster_audit_entry_dump(const struct roster_audit_fields *f, size_t *len,
                              struct roster_err *err);

/* SHA-256(0x00 || entry): the RFC 6962 leaf hash, also the next entry's `prev`. */
void roster_audit_leaf_hash(uint8_t out[ROSTER_HASH_BYTES], const uint8_t *entry, size_t len);

/* An exported entry's half of the check that needs no other entry (so it can
 * run on any thread): its parse, or NULL when it is not canonical JSON, with
 * its leaf hash in leaf. */
json_t *roster_audit_entry_read(const char *entry, size_t len, uint8_t leaf[ROSTER_HASH_BYTES]);
/* The other half, given the entry before it: its seq is want_seq and its prev
 * is prev_hash (all zeros for seq 0); err's code out_of_order or broken_chain. */
int roster_audit_entry_follows(const json_t *entry, uint64_t want_seq,
                               const uint8_t prev_hash[ROSTER_HASH_BYTES], struct roster_err *err);
/* The same from the entry's seq (has_seq 0 when it has none that is an integer)
 * and prev (NULL when it is not a string). */
int roster_audit_seq_follows(int has_seq, long long seq, const char *prev, uint64_t want_seq,
                             const uint8_t prev_hash[ROSTER_HASH_BYTES], struct roster_err *err);

/* Checks one exported entry: canonical, its seq, and that prev equals the leaf hash
 * of the entry before it (prev_hash, all zeros for seq 0), in one parse. On
 * success fills leaf with this entry's leaf hash and, if parsed is not NULL,
 * hands over the parsed entry. err's code says what failed: not_canonical,
 * out_of_order or broken_chain. */
int roster_audit_check_entry(const char *entry, size_t len, uint64_t want_seq,
                             const uint8_t prev_hash[ROSTER_HASH_BYTES],
                             uint8_t leaf[ROSTER_HASH_BYTES], json_t **parsed,
                             struct roster_err *err);

#endif
