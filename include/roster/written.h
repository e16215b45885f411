/*
 * written.h - what `audit verify --deep` and `rosterd verify-backup` remember of
 * the log: for every value an entry wrote (a record, a custody history entry, a
 * role grant), the digest and seq of its last write and the seq of its first.
 * One compact table: under 200 bytes a value where a JSON object took 640, since
 * a registry holds millions of values.
 */
#ifndef ROSTER_WRITTEN_H
#define ROSTER_WRITTEN_H

#include <stddef.h>
#include <stdint.h>

struct written_last {
	uint64_t seq;       /* the entry that last wrote the value */
	uint64_t first;     /* the entry that first wrote it */
	uint8_t object[32]; /* the digest that entry recorded */
	uint8_t valid;      /* object was 64 hex digits (else nothing matches it) */
	uint8_t seen;       /* for the caller: set when the value was found stored */
};

struct written;

struct written *roster_written_new(void);
void roster_written_free(struct written *wt);
size_t roster_written_count(const struct written *wt);
/* Records a write of id with the entry's object (hex) at seq. */
void roster_written_set(struct written *wt, const char *id, size_t idlen, const char *object,
                        uint64_t seq);
/* The last write of id, or NULL; valid until the next roster_written_set. */
struct written_last *roster_written_find(struct written *wt, const char *id, size_t idlen);
/* Whether a stored value's digest (hex) is the one its last write recorded. */
int roster_written_matches(const struct written_last *w, const char *object);
/* Calls fn for every value, in no particular order, until it returns non-zero
 * (which is returned). */
int roster_written_each(struct written *wt,
                        int (*fn)(void *arg, const char *id, size_t idlen, struct written_last *w),
                        void *arg);

#endif
