/*
 * err.c - filling a struct roster_err, the value every fallible function returns.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <unistr.h>

#include "roster/err.h"

/* A message becomes a JSON string in a reply: a byte that is not UTF-8 (a raw
 * byte of a request's path quoted back, a character the message's bound cut in
 * two) becomes '?', or the reply could not be written at all. */
static void utf8_scrub(char *s)
{
	uint8_t *p = (uint8_t *)s, *end = p + strlen(s);
	const uint8_t *bad;

	while (p < end && (bad = u8_check(p, (size_t)(end - p))) != NULL) {
		p = (uint8_t *)bad;
		*p++ = '?';
	}
}

int roster_err_set(struct roster_err *err, int status, const char *code, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return -1;
	err->status = status;
	snprintf(err->code, sizeof(err->code), "%s", code);
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	utf8_scrub(err->message);
	return -1;
}
