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

/* Whether buf is exactly the canonical form of the JSON it holds. */
int roster_canon_check(const char *buf, size_t len);

#endif
