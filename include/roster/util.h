/*
 * util.h - allocation helpers that never return NULL, hex, time and id helpers
 * shared by rosterd and rosterctl.
 */
#ifndef ROSTER_UTIL_H
#define ROSTER_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

void *roster_xmalloc(size_t n);
void *roster_xcalloc(size_t n, size_t size);
void *roster_xrealloc(void *p, size_t n);
char *roster_xstrdup(const char *s);
char *roster_xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Lower-case hex; out must hold 2 * len + 1 bytes. */
void roster_hex_encode(char *out, const uint8_t *in, size_t len);
/* Returns 0 when hex is exactly 2 * outlen hex digits, -1 otherwise. */
int roster_hex_decode(uint8_t *out, size_t outlen, const char *hex);

/* RFC 3339 UTC with seconds, "2026-11-22T19:57:48Z"; out holds 21 bytes. */
void roster_time_rfc3339(char out[21], time_t t);
/* Today's date as YYYY-MM-DD (UTC); out holds 11 bytes. */
void roster_time_today(char out[11]);

/* A new opaque record id: prefix followed by 26 base32 characters of randomness. */
void roster_id_new(char *out, size_t outlen, const char *prefix);
/* Whether s looks like an id this registry could have issued with that prefix. */
int roster_id_valid(const char *s, const char *prefix);
/* Whether s is an id with any of the space-separated prefixes. */
int roster_id_valid_any(const char *s, const char *prefixes);
#define ROSTER_ID_MAX 40

/* v in decimal, as "%lld" prints it, without printf's cost (a few per
 * request: audit entries, records); out holds 21 bytes. Returns the length. */
size_t roster_i64_format(char out[21], long long v);

/* Writes all of buf to fd, retrying short writes and EINTR; -1 with errno set. */
int roster_write_all(int fd, const void *buf, size_t len);

void roster_be64_put(uint8_t out[8], uint64_t v);
uint64_t roster_be64_get(const uint8_t in[8]);
void roster_be32_put(uint8_t out[4], uint32_t v);
uint32_t roster_be32_get(const uint8_t in[4]);

#endif
