/*
 * util.c - allocation helpers that never return NULL (running out of memory
 * is fatal, as in the OpenBSD daemons), hex, big-endian, time and id helpers.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <unistd.h>

#include <sodium.h>

#include "roster/log.h"
#include "roster/util.h"

void *roster_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL)
		fatal("out of memory allocating %zu bytes", n);
	return p;
}

void *roster_xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (p == NULL)
		fatal("out of memory allocating %zu x %zu bytes", n, size);
	return p;
}

void *roster_xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	if (q == NULL)
		fatal("out of memory reallocating %zu bytes", n);
	return q;
}

char *roster_xstrdup(const char *s)
{
	char *p = strdup(s);

	if (p == NULL)
		fatal("out of memory copying a string");
	return p;
}

char *roster_xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		fatal("out of memory formatting a string");
	return s;
}

void roster_hex_encode(char *out, const uint8_t *in, size_t len)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * len] = '\0';
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int roster_hex_decode(uint8_t *out, size_t outlen, const char *hex)
{
	if (strlen(hex) != 2 * outlen)
		return -1;
	for (size_t i = 0; i < outlen; i++) {
		int hi = hex_value(hex[2 * i]), lo = hex_value(hex[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

void roster_time_rfc3339(char out[21], time_t t)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, 21, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void roster_time_today(char out[11])
{
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(out, 11, "%Y-%m-%d", &tm);
}

/* Crockford's base32 alphabet: no i, l, o, u, so ids survive being read aloud. */
static const char id_alphabet[] = "0123456789abcdefghjkmnpqrstvwxyz";

/* 10 characters of milliseconds since 1970, then 16 of randomness (80 bits): ids sort
 * by creation time, so new records append at the right edge of every B-tree and
 * index instead of dirtying a random page each (a write-path cost measured in
 * bench/README.md). The creation time they reveal is in the audit log anyway. */
void roster_id_new(char *out, size_t outlen, const char *prefix)
{
	uint8_t rnd[16];
	size_t plen = strlen(prefix);
	struct timespec ts;
	uint64_t ms;

	if (outlen < plen + 26 + 1)
		fatalx("roster_id_new: buffer too small");
	clock_gettime(CLOCK_REALTIME, &ts);
	ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
	memcpy(out, prefix, plen);
	for (int i = 9; i >= 0; i--, ms >>= 5)
		out[plen + (size_t)i] = id_alphabet[ms & 31];
	randombytes_buf(rnd, sizeof(rnd));
	for (size_t i = 0; i < sizeof(rnd); i++)
		out[plen + 10 + i] = id_alphabet[rnd[i] & 31];
	out[plen + 26] = '\0';
}

int roster_id_valid(const char *s, const char *prefix)
{
	size_t plen = strlen(prefix);

	if (strncmp(s, prefix, plen) != 0 || strlen(s) != plen + 26)
		return 0;
	for (const char *p = s + plen; *p; p++)
		if (strchr(id_alphabet, *p) == NULL)
			return 0;
	return 1;
}

void roster_be64_put(uint8_t out[8], uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		out[i] = (uint8_t)v;
}

uint64_t roster_be64_get(const uint8_t in[8])
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | in[i];
	return v;
}

void roster_be32_put(uint8_t out[4], uint32_t v)
{
	for (int i = 3; i >= 0; i--, v >>= 8)
		out[i] = (uint8_t)v;
}

uint32_t roster_be32_get(const uint8_t in[4])
{
	return (uint32_t)in[0] << 24 | (uint32_t)in[1] << 16 | (uint32_t)in[2] << 8 | in[3];
}

int roster_id_valid_any(const char *s, const char *prefixes)
{
	char prefix[16];

	for (const char *p = prefixes; *p;) {
		size_t len = strcspn(p, " ");

		if (len < sizeof(prefix)) {
			memcpy(prefix, p, len);
			prefix[len] = '\0';
			if (roster_id_valid(s, prefix))
				return 1;
		}
		p += len + (p[len] == ' ');
	}
	return 0;
}

size_t roster_i64_format(char out[21], long long v)
{
	/* Digits of the magnitude, held unsigned so LLONG_MIN has one. */
	unsigned long long m = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
	char tmp[20];
	size_t n = 0, len = 0;

	do {
		tmp[n++] = (char)('0' + m % 10);
		m /= 10;
	} while (m);
	if (v < 0)
		out[len++] = '-';
	while (n)
		out[len++] = tmp[--n];
	out[len] = '\0';
	return len;
}

int roster_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}
