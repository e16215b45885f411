/*
 * err.h - errors returned as values. A code (an HTTP status, since that is
 * what every error finally becomes) and a message a person can act on.
 */
#ifndef ROSTER_ERR_H
#define ROSTER_ERR_H

struct roster_err {
	int status;        /* 400, 403, 404, 409, 413, 422, 500, 503 */
	char code[32];     /* machine-readable: "invalid_field", "conflict", ... */
	char message[512]; /* for a person: what was wrong and what to do */
};

/* Fills err (if not NULL) and returns -1, so callers can `return roster_err_set(...)`. */
int roster_err_set(struct roster_err *err, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
