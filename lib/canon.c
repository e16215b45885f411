/*
 * canon.c - RFC 8785 JSON Canonicalization Scheme over jansson values, and the
 * compact JSON rosterd stores and replies.
 *
 * Object members are sorted by their names' UTF-16 code units, strings use the
 * minimal escapes of ECMAScript's JSON.stringify, and numbers use ECMAScript's
 * Number.prototype.toString (shortest round-trip digits). Audit entries are
 * hashed in this form, so an auditor in any language can reproduce the bytes.
 * The compact form is the same with members left in their own order: records
 * keep the order their fields were given in, and writing them costs a quarter
 * of jansson's json_dumps (bench/README.md, sixteenth round).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "roster/canon.h"
#include "roster/util.h"

/* Grows by copying and wiping, never realloc: the buffer may hold a record's
 * plaintext, and realloc would leave the old copy in freed memory. */
static void cbuf_grow(struct roster_canon_buf *b, size_t need)
{
	size_t cap = b->cap ? b->cap : 512;
	char *p;

	while (need > cap)
		cap *= 2;
	p = roster_xmalloc(cap);
	if (b->p) {
		memcpy(p, b->p, b->len);
		sodium_memzero(b->p, b->cap);
		free(b->p);
	}
	b->p = p;
	b->cap = cap;
}

/* Inlined: a record's members make a few dozen calls each. */
static inline void cbuf_add(struct roster_canon_buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap)
		cbuf_grow(b, b->len + n + 1);
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void cbuf_str(struct roster_canon_buf *b, const char *s)
{
	cbuf_add(b, s, strlen(s));
}

/* RFC 8785 orders members by their names' UTF-16 code units. UTF-8's byte
 * order is the code points' order, and so is UTF-16's but for one pair of
 * ranges: a character past U+FFFF (surrogates, from 0xd800) comes before one
 * from U+E000 to U+FFFF (lead bytes 0xee, 0xef). Where the names first differ
 * in a byte after a shared lead byte, both characters are of one range. */
static int names_cmp(const char *a, const char *b)
{
	const unsigned char *x = (const unsigned char *)a, *y = (const unsigned char *)b;
	size_t i = 0;

	while (x[i] && x[i] == y[i])
		i++;
	if (x[i] >= 0xf0 && (y[i] == 0xee || y[i] == 0xef))
		return -1;
	if (y[i] >= 0xf0 && (x[i] == 0xee || x[i] == 0xef))
		return 1;
	return x[i] < y[i] ? -1 : x[i] > y[i];
}

static int key_cmp(const void *a, const void *b)
{
	return names_cmp(*(const char *const *)a, *(const char *const *)b);
}

/* s holds len bytes of valid UTF-8, NULs included (escaped as \u0000). */
static void emit_string(struct roster_canon_buf *b, const char *s, size_t len)
{
	const unsigned char *end = (const unsigned char *)s + len;

	cbuf_add(b, "\"", 1);
	for (const unsigned char *p = (const unsigned char *)s; p < end; p++) {
		char esc[8];
		size_t run = 0;

		/* Most bytes need no escape: copy each run of them at once. */
		while (p + run < end && p[run] >= 0x20 && p[run] != '"' && p[run] != '\\')
			run++;
		if (run > 0) {
			cbuf_add(b, (const char *)p, run);
			p += run - 1;
			continue;
		}
		switch (*p) {
		case '"':
			cbuf_add(b, "\\\"", 2);
			break;
		case '\\':
			cbuf_add(b, "\\\\", 2);
			break;
		case '\b':
			cbuf_add(b, "\\b", 2);
			break;
		case '\f':
			cbuf_add(b, "\\f", 2);
			break;
		case '\n':
			cbuf_add(b, "\\n", 2);
			break;
		case '\r':
			cbuf_add(b, "\\r", 2);
			break;
		case '\t':
			cbuf_add(b, "\\t", 2);
			break;
		default:
			snprintf(esc, sizeof(esc), "\\u%04x", *p);
			cbuf_str(b, esc);
		}
	}
	cbuf_add(b, "\"", 1);
}

/* ECMAScript Number::toString for finite doubles. */
static void emit_double(struct roster_canon_buf *b, double v)
{
	char tmp[40], digits[20], out[64];
	int exp10, k = 0, n;
	size_t o = 0;

	if (v == 0) {
		cbuf_str(b, "0");
		return;
	}
	if (v < 0) {
		cbuf_str(b, "-");
		v = -v;
	}
	/* The shortest %e precision that round-trips gives the digits s and exponent. */
	for (int prec = 0; prec < 17; prec++) {
		snprintf(tmp, sizeof(tmp), "%.*e", prec, v);
		if (strtod(tmp, NULL) == v)
			break;
	}
	for (char *p = tmp; *p && *p != 'e'; p++)
		if (*p >= '0' && *p <= '9')
			digits[k++] = *p;
	while (k > 1 && digits[k - 1] == '0')
		k--;
	digits[k] = '\0';
	exp10 = atoi(strchr(tmp, 'e') + 1);
	n = exp10 + 1; /* the decimal point sits after n digits */

	if (k <= n && n <= 21) {
		o += (size_t)snprintf(out, sizeof(out), "%s", digits);
		for (int i = 0; i < n - k; i++)
			out[o++] = '0';
		out[o] = '\0';
	} else if (0 < n && n < k) { /* k <= 17 digits, so n < 21 here */
		snprintf(out, sizeof(out), "%.*s.%s", n, digits, digits + n);
	} else if (-6 < n && n <= 0) {
		o += (size_t)snprintf(out, sizeof(out), "0.");
		for (int i = 0; i < -n; i++)
			out[o++] = '0';
		snprintf(out + o, sizeof(out) - o, "%s", digits);
	} else if (k == 1) {
		snprintf(out, sizeof(out), "%se%c%d", digits, n - 1 < 0 ? '-' : '+', abs(n - 1));
	} else {
		snprintf(out, sizeof(out), "%c.%se%c%d", digits[0], digits + 1,
		         n - 1 < 0 ? '-' : '+', abs(n - 1));
	}
	cbuf_str(b, out);
}

static int emit(struct roster_canon_buf *b, const json_t *v, int depth, int sorted,
                struct roster_err *err);

/* RFC 8785's order: by the names' UTF-16 code units. */
static int emit_sorted(struct roster_canon_buf *b, const json_t *v, int depth,
                       struct roster_err *err)
{
	size_t n = json_object_size(v), i = 0;
	const char **keys = roster_xcalloc(n ? n : 1, sizeof(*keys));
	const char *key;
	json_t *val;
	int rc = 0;

	json_object_foreach((json_t *)v, key, val) keys[i++] = key;
	/* A canonical entry read back (verify) has its members in order already. */
	for (i = 1; i < n && names_cmp(keys[i - 1], keys[i]) < 0;)
		i++;
	if (i < n)
		qsort(keys, n, sizeof(*keys), key_cmp);
	cbuf_add(b, "{", 1);
	for (i = 0; i < n && rc == 0; i++) {
		if (i)
			cbuf_add(b, ",", 1);
		emit_string(b, keys[i], strlen(keys[i]));
		cbuf_add(b, ":", 1);
		rc = emit(b, json_object_get(v, keys[i]), depth + 1, 1, err);
	}
	cbuf_add(b, "}", 1);
	free(keys);
	return rc;
}

static int emit_members(struct roster_canon_buf *b, const json_t *v, int depth,
                        struct roster_err *err)
{
	size_t n = 0;

	cbuf_add(b, "{", 1);
	for (void *it = json_object_iter((json_t *)v); it != NULL;
	     it = json_object_iter_next((json_t *)v, it)) {
		if (n++ > 0)
			cbuf_add(b, ",", 1);
		emit_string(b, json_object_iter_key(it), json_object_iter_key_len(it));
		cbuf_add(b, ":", 1);
		if (emit(b, json_object_iter_value(it), depth + 1, 0, err) < 0)
			return -1;
	}
	cbuf_add(b, "}", 1);
	return 0;
}

static int emit(struct roster_canon_buf *b, const json_t *v, int depth, int sorted,
                struct roster_err *err)
{
	char num[32];

	if (v == NULL) /* a json_pack that failed, say: an error, never a crash */
		return roster_err_set(err, 500, "internal", "no JSON value to write");
	if (depth > 64)
		return roster_err_set(err, 422, "too_deep", "JSON nested deeper than 64 levels");
	switch (json_typeof(v)) {
	case JSON_NULL:
		cbuf_str(b, "null");
		return 0;
	case JSON_TRUE:
		cbuf_str(b, "true");
		return 0;
	case JSON_FALSE:
		cbuf_str(b, "false");
		return 0;
	case JSON_INTEGER: {
		json_int_t i = json_integer_value(v);

		/* JSON numbers are IEEE doubles (RFC 8785): beyond 2^53 an integer is its
		 * nearest double and prints as that double does, so 1e17 and
		 * 100000000000000000 are one number, as are 2^53 and 2^53 + 1. Records keep
		 * their numbers far below that (fields.c). */
		if (i > 9007199254740992LL || i < -9007199254740992LL) {
			emit_double(b, (double)i);
			return 0;
		}
		cbuf_add(b, num, roster_i64_format(num, (long long)i));
		return 0;
	}
	case JSON_REAL:
		if (!isfinite(json_real_value(v)))
			return roster_err_set(err, 422, "bad_number",
			                      "NaN and infinity are not JSON");
		emit_double(b, json_real_value(v));
		return 0;
	case JSON_STRING:
		emit_string(b, json_string_value(v), json_string_length(v));
		return 0;
	case JSON_ARRAY:
		cbuf_add(b, "[", 1);
		for (size_t i = 0; i < json_array_size(v); i++) {
			if (i)
				cbuf_add(b, ",", 1);
			if (emit(b, json_array_get(v, i), depth + 1, sorted, err) < 0)
				return -1;
		}
		cbuf_add(b, "]", 1);
		return 0;
	case JSON_OBJECT:
		return sorted ? emit_sorted(b, v, depth, err) : emit_members(b, v, depth, err);
	}
	return roster_err_set(err, 500, "internal", "unknown JSON type");
}

char *roster_canon_dump(const json_t *value, size_t *len, struct roster_err *err)
{
	struct roster_canon_buf b = {0};

	if (emit(&b, value, 0, 1, err) < 0) {
		free(b.p);
		return NULL;
	}
	if (len)
		*len = b.len;
	return b.p;
}

int roster_canon_check(const char *buf, size_t len)
{
	json_error_t jerr;
	/* Numbers read as doubles, as RFC 8785 reads them: an integer too large for
	 * int64 (100000000000000000000, the canonical 1e20) is still a number. */
	json_t *v = json_loadb(
	    buf, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY | JSON_DECODE_INT_AS_REAL, &jerr);
	size_t clen;
	char *c;
	int same;

	if (v == NULL)
		return 0;
	c = roster_canon_dump(v, &clen, NULL);
	json_decref(v);
	if (c == NULL)
		return 0;
	same = clen == len && memcmp(c, buf, len) == 0;
	free(c);
	return same;
}

void roster_canon_raw(struct roster_canon_buf *b, const char *s, size_t n)
{
	cbuf_add(b, s, n);
}

void roster_canon_str(struct roster_canon_buf *b, const char *s)
{
	emit_string(b, s, strlen(s));
}

int roster_json_compact(struct roster_canon_buf *b, const json_t *v, struct roster_err *err)
{
	return emit(b, v, 0, 0, err);
}

void roster_canon_buf_wipe(struct roster_canon_buf *b)
{
	if (b->p) {
		sodium_memzero(b->p, b->cap);
		free(b->p);
	}
	memset(b, 0, sizeof(*b));
}

void roster_canon_int(struct roster_canon_buf *b, long long v)
{
	char tmp[21];

	cbuf_add(b, tmp, roster_i64_format(tmp, v));
}
