/*
 * canon.h - RFC 8785 (JCS) canonical JSON. Audit entries are hashed in this
 * form, so any third party can re-serialise and re-hash them.
 */
#ifndef ROSTER_CANON_H
#define ROSTER_CANON_H

#include <jansson.h>
#include <stddef.h>

#include "roster/err.h"

/* Returns a malloc'd, NUL-terminated canonical serialisation, or NULL with err set. */
char *roster_canon_dump(const json_t *value, size_t *len, struct roster_err *err);

/* Canonical JSON written directly, for shapes fixed in code (audit entries):
 * the caller emits members in RFC 8785 order, strings must be valid UTF-8 and
 * integers within +-2^53, where RFC 8785 prints them as plain integers. */
struct roster_canon_buf {
	char *p; /* malloc'd, NUL-terminated */
	size_t len, cap;
};
void roster_canon_raw(struct roster_canon_buf *b, const char *s, size_t n);
void roster_canon_str(struct roster_canon_buf *b, const char *s);
void roster_canon_int(struct roster_canon_buf *b, long long v);

/* Appends v as compact JSON with each object's members in their own order (what
 * json_dumps writes with JSON_COMPACT, strings and numbers as RFC 8785 writes
 * them): rosterd's records and replies. -1 with err set for no value (NULL),
 * NaN, infinity or nesting deeper than 64; b then holds part of v. */
int roster_json_compact(struct roster_canon_buf *b, const json_t *v, struct roster_err *err);

/* Wipes and frees b's bytes (a record's plaintext, say), leaving b empty. */
void roster_canon_buf_wipe(struct roster_canon_buf *b);

/* Whether buf is exactly the canonical form of the JSON it holds. */
int roster_canon_check(const char *buf, size_t len);

#endif
