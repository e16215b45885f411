/*
 * afilter.h - the audit log's block filters: for each block of consecutive
 * entries, a Bloom filter of the record ids they name, so a question about one
 * record reads only the blocks that may hold it instead of the whole log.
 * Shared by the daemon (which builds and probes them) and the client (which
 * tells which entries name a record the same way).
 *
 * A filter answers "maybe" or "no": "no" is certain (every id added is found),
 * "maybe" is wrong about 1% of the time (ten bits and seven probes an id), and
 * the entries of a "maybe" block are read and matched one by one. The ids are
 * not secret (the entries hold them in the clear), so the hash is unkeyed.
 */
#ifndef ROSTER_AFILTER_H
#define ROSTER_AFILTER_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "roster/audit.h"

#define ROSTER_AFILTER_BITS_PER_ID 10
#define ROSTER_AFILTER_PROBES      7

/* A stored filter: "RAF2", the block's first seq and entry count, its entries'
 * earliest and latest times (roster_audit_time_pack; 0 for both when unknown),
 * then the bits (none: the block could not be read whole, and is always read).
 * "RAF1" (0.7.3) has no times and its bits hold record ids only. */
#define ROSTER_AFILTER_HEAD1 16
#define ROSTER_AFILTER_HEAD  32

/* Keys a filter holds besides record ids, each hashed under a key of its own so
 * that no account name, action or outcome is mistaken for an id. */
#define ROSTER_AFILTER_USER    'u'
#define ROSTER_AFILTER_UID     'n'
#define ROSTER_AFILTER_ACTION  'a'
#define ROSTER_AFILTER_OUTCOME 'o'

/* The filter's size in bytes for n distinct ids (at least 8). */
size_t roster_afilter_bytes(size_t n);
/* The 64-bit hash an id is added and probed by. */
uint64_t roster_afilter_hash(const char *id, size_t len);
/* The hash of a key of one of the kinds above. */
uint64_t roster_afilter_key_hash(char kind, const char *s, size_t len);
void roster_afilter_add(uint8_t *bits, size_t nbytes, uint64_t hash);
/* 0 when the filter certainly lacks the id; 1 when it may hold it. */
int roster_afilter_may_hold(const uint8_t *bits, size_t nbytes, uint64_t hash);

/* The record ids an entry names: its target, each of a list's targets, the value
 * stored beside the target (a custody event), and the person a document or trip
 * belongs to. Calls fn for each (an id may come twice); stops at fn's nonzero. */
int roster_audit_names(const json_t *entry, int (*fn)(const char *id, size_t len, void *arg),
                       void *arg);
/* Whether the entry names id. */
int roster_audit_names_id(const json_t *entry, const char *id);
/* The same names, from the fields an entry is written from (no parse): what
 * roster_audit_names finds in roster_audit_entry_dump's bytes, in that order. */
int roster_audit_fields_names(const struct roster_audit_fields *f,
                              int (*fn)(const char *id, size_t len, void *arg), void *arg);

/* A stored filter, as roster_afilter_parse reads it (bits point into the value). */
struct roster_afilter {
	uint64_t first, tmin, tmax; /* tmin, tmax: 0 when unknown */
	uint32_t count;
	const uint8_t *bits;
	size_t nbytes;
	int typed; /* holds accounts, actions and outcomes (RAF2), not only ids */
};
/* 0, or -1 when the value is not a filter of a block of entries. */
int roster_afilter_parse(const uint8_t *value, size_t len, struct roster_afilter *f);
/* 0 when every question the entry answers gets past the filter (every key it
 * holds may be there, its time is in the span); else -1, with why saying which
 * block's filter and what question would miss it. For `audit verify --deep`: the filters only
 * select, and one that left an entry out would hide it from the auditor's questions. */
int roster_afilter_check_entry(const struct roster_afilter *f, const json_t *entry, char *why,
                               size_t len);

/* Every key a block's filter holds for an entry: the ids it names, then its
 * account's name and uid, its action and its outcome. Calls fn with each hash. */
void roster_audit_keys(const json_t *entry, void (*fn)(uint64_t hash, void *arg), void *arg);
/* The same keys from the fields an entry is written from. */
void roster_audit_fields_keys(const struct roster_audit_fields *f,
                              void (*fn)(uint64_t hash, void *arg), void *arg);

/* An entry's time, "YYYY-MM-DDTHH:MM:SSZ", as the number YYYYMMDDHHMMSS (so
 * number order is time order); 0 when s is not a time of that shape. */
uint64_t roster_audit_time_pack(const char *s, size_t len);

#endif
