/*
 * err.c - filling a struct roster_err, the value every fallible function returns.
 */
#include <stdarg.h>
#include <stdio.h>

#include "roster/err.h"

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
	return -1;
}
