/*
 * test-canon.c - RFC 8785 canonical JSON against the public vectors, plus the
 * properties audit entries rely on; and the compact form records are stored in,
 * held to jansson's own json_dumps.
 */
#include <dirent.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>

#include <unistr.h>

#include "roster/canon.h"
#include "roster/util.h"
#include "test.h"

static void test_vectors(void)
{
	DIR *d = opendir(VECTORS "/rfc8785/input");
	struct dirent *e;
	int seen = 0;

	CHECK(d != NULL, "cannot open %s/rfc8785/input", VECTORS);
	while (d && (e = readdir(d)) != NULL) {
		char in_path[512], out_path[512];
		size_t inlen = 0, outlen = 0, clen = 0;
		char *in, *out, *c;
		json_t *v;

		if (e->d_name[0] == '.')
			continue;
		snprintf(in_path, sizeof(in_path), VECTORS "/rfc8785/input/%s", e->d_name);
		snprintf(out_path, sizeof(out_path), VECTORS "/rfc8785/output/%s", e->d_name);
		in = test_slurp(in_path, &inlen);
		out = test_slurp(out_path, &outlen);
		v = json_loadb(in, inlen, JSON_DECODE_ANY, NULL);
		c = v ? roster_canon_dump(v, &clen, NULL) : NULL;
		CHECK(c && clen == outlen && memcmp(c, out, outlen) == 0, "%s: got %s", e->d_name,
		      c ? c : "(null)");
		CHECK(c && roster_canon_check(c, clen), "%s: canonical output not recognised",
		      e->d_name);
		seen++;
		free(c);
		free(in);
		free(out);
		json_decref(v);
	}
	if (d)
		closedir(d);
	CHECK(seen >= 6, "only %d vectors found", seen);
}

static void test_numbers(void)
{
	static const struct {
		double v;
		const char *want;
	} cases[] = {{0.0, "0"},
	             {-0.0, "0"},
	             {1.0, "1"},
	             {-1.5, "-1.5"},
	             {1e21, "1e+21"},
	             {1e20, "100000000000000000000"},
	             {1e-7, "1e-7"},
	             {0.000001, "0.000001"},
	             {123456789012.5, "123456789012.5"},
	             {5e-324, "5e-324"},
	             {1.7976931348623157e308, "1.7976931348623157e+308"}};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *v = json_real(cases[i].v);
		char *c = roster_canon_dump(v, NULL, NULL);

		CHECK(c && strcmp(c, cases[i].want) == 0, "%.17g: got %s want %s", cases[i].v, c,
		      cases[i].want);
		free(c);
		json_decref(v);
	}
}

static void test_rejects(void)
{
	json_t *big = json_integer(9007199254740993LL);
	struct roster_err err;
	char *c0 = roster_canon_dump(big, NULL, &err);

	/* Found by fuzz-canon: a real printed as 100000000000000000 (or 3333333336333333500)
	 * read back as an integer was refused, so a canonical form did not canonicalise.
	 * Beyond 2^53 an integer is its nearest double, as RFC 8785 reads numbers. */
	CHECK(c0 && strcmp(c0, "9007199254740992") == 0, "2^53 + 1 gave %s", c0);
	free(c0);
	json_decref(big);
	big = json_integer(100000000000000000LL);
	char *c = roster_canon_dump(big, NULL, &err);
	json_t *real = json_real(1e17);
	char *cr = roster_canon_dump(real, NULL, &err);
	CHECK(c && cr && strcmp(c, cr) == 0 && strcmp(c, "100000000000000000") == 0,
	      "1e17 as integer (%s) and as real (%s) differ", c, cr);
	free(c);
	free(cr);
	json_decref(big);
	json_decref(real);
	CHECK(!roster_canon_check("{\"b\":1,\"a\":2}", 13), "unsorted keys passed as canonical");
	CHECK(!roster_canon_check("{\"a\": 1}", 8), "whitespace passed as canonical");
	CHECK(!roster_canon_check("{\"a\":1,\"a\":1}", 13), "duplicate keys passed as canonical");
	CHECK(roster_canon_check("{\"a\":\"\\u001f\"}", 14), "control escape is canonical");
	CHECK(!roster_canon_check("{\"a\":\"\\u001F\"}", 14), "upper-case escape is not");
}

/* A deterministic stream, so a failure repeats. */
static unsigned long rnd_next(unsigned long *s)
{
	*s = *s * 6364136223846793005UL + 1442695040888963407UL;
	return *s >> 33;
}

/* Strings mixing what needs escaping (quotes, backslashes, every control byte,
 * NUL) with plain ASCII, multi-byte UTF-8 and runs long enough to grow the
 * buffer past its first sizes. */
static json_t *rnd_string(unsigned long *s)
{
	static const char *const bits[] = {"a",
	                                   "Zz",
	                                   "\"",
	                                   "\\",
	                                   "/",
	                                   "\n",
	                                   "\t",
	                                   "\x01",
	                                   "\x1f",
	                                   "\x7f",
	                                   "\xc3\xa9",
	                                   "\xe2\x80\xa8",
	                                   "\xf0\x9f\x98\x80",
	                                   " ",
	                                   "\b\f\r"};
	char buf[3000];
	size_t len = 0, parts = rnd_next(s) % 8 == 0 ? rnd_next(s) % 700 : rnd_next(s) % 12;

	for (size_t i = 0; i < parts; i++) {
		const char *b = bits[rnd_next(s) % (sizeof(bits) / sizeof(bits[0]))];

		if (rnd_next(s) % 40 == 0)
			buf[len++] = '\0';
		else
			len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s", b);
	}
	return json_stringn(buf, len);
}

static json_t *rnd_value(unsigned long *s, int depth)
{
	unsigned long k = rnd_next(s) % (depth > 4 ? 5 : 7);
	json_t *v;

	switch (k) {
	case 0:
		return json_null();
	case 1:
		return json_boolean(rnd_next(s) & 1);
	case 2:
		return json_integer((json_int_t)rnd_next(s) * (rnd_next(s) & 1 ? -1 : 1));
	case 3:
	case 4:
		return rnd_string(s);
	case 5:
		v = json_array();
		for (unsigned long i = rnd_next(s) % 6; i > 0; i--)
			json_array_append_new(v, rnd_value(s, depth + 1));
		return v;
	default:
		v = json_object();
		for (unsigned long i = rnd_next(s) % 7; i > 0; i--) {
			json_t *key = rnd_string(s);

			/* Keys with NUL are jansson's json_object_setn; strlen-keyed here. */
			json_object_set_new(v, json_string_value(key), rnd_value(s, depth + 1));
			json_decref(key);
		}
		return v;
	}
}

/* jansson writes \u escapes in upper case, RFC 8785 (and so rosterd) in lower. */
static void lower_escapes(char *t)
{
	for (char *p = t; (p = strstr(p, "\\u")) != NULL; p += 6)
		for (int i = 2; i < 6; i++)
			if (p[i] >= 'A' && p[i] <= 'F')
				p[i] = (char)(p[i] - 'A' + 'a');
}

static void test_compact(void)
{
	unsigned long seed = 20261207;
	int same = 0, round = 0;

	for (int n = 0; n < 3000; n++) {
		json_t *v = rnd_value(&seed, 0), *back;
		struct roster_canon_buf b = {0};
		struct roster_err err;
		json_error_t jerr;
		char *j = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);

		if (roster_json_compact(&b, v, &err) < 0 || j == NULL) {
			CHECK(0, "value %d not written: %s", n, err.message);
			goto next;
		}
		lower_escapes(j);
		same += b.len == strlen(j) && memcmp(b.p, j, b.len) == 0;
		if (!(b.len == strlen(j) && memcmp(b.p, j, b.len) == 0))
			fprintf(stderr, "value %d:\n  jansson %s\n  rosterd %s\n", n, j, b.p);
		back = json_loadb(b.p, b.len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
		round += back != NULL && json_equal(back, v);
		json_decref(back);
	next:
		free(j);
		roster_canon_buf_wipe(&b);
		json_decref(v);
	}
	CHECK(same == 3000, "%d of 3000 values written as json_dumps writes them", same);
	CHECK(round == 3000, "%d of 3000 values read back equal", round);
}

/* Member order is kept (a record's fields as given), where the canonical form sorts. */
static void test_compact_order(void)
{
	json_t *v = json_pack("{s:i, s:[s, {s:b, s:n}], s:s}", "zeta", 1, "alpha", "x", "y", 1, "b",
	                      "mid", "\xc3\xa9");
	struct roster_canon_buf b = {0};
	struct roster_err err;
	json_t *deep = json_array(), *inner = deep;

	CHECK(roster_json_compact(&b, v, &err) == 0 &&
	          strcmp(b.p, "{\"zeta\":1,\"alpha\":[\"x\",{\"y\":true,\"b\":null}],\"mid\":"
	                      "\"\xc3\xa9\"}") == 0,
	      "member order: %s", b.p);
	roster_canon_buf_wipe(&b);
	CHECK(b.p == NULL && b.len == 0 && b.cap == 0, "a wiped buffer is empty");
	CHECK(roster_json_compact(&b, NULL, &err) < 0 && err.status == 500,
	      "no value (a failed json_pack) is an error, not a crash");
	for (int i = 0; i < 70; i++) {
		json_t *next = json_array();

		json_array_append_new(inner, next);
		inner = next;
	}
	CHECK(roster_json_compact(&b, deep, &err) < 0 && strcmp(err.code, "too_deep") == 0,
	      "70 levels written");
	roster_canon_buf_wipe(&b);
	json_decref(deep);
	json_decref(v);
}

/* RFC 8785's member order, the names as UTF-16 code units, computed here with
 * libunistring for reference. */
static int ref_cmp(const char *a, const char *b)
{
	size_t la = 0, lb = 0;
	uint16_t *ua = u8_to_u16((const uint8_t *)a, strlen(a), NULL, &la);
	uint16_t *ub = u8_to_u16((const uint8_t *)b, strlen(b), NULL, &lb);
	int c = 0;

	for (size_t i = 0; c == 0 && i < la && i < lb; i++)
		c = ua[i] < ub[i] ? -1 : ua[i] > ub[i];
	if (c == 0)
		c = la < lb ? -1 : la > lb;
	free(ua);
	free(ub);
	return c;
}

/* Names sharing prefixes and lead bytes, ASCII next to two-, three- and
 * four-byte characters (U+1F600 sorts before U+FB33 as UTF-16, after it as
 * code points), in every order: the canonical form lists them in order. */
static void test_member_order(void)
{
	static const char *const bits[] = {"a",
	                                   "b",
	                                   "\xc3\xa9",
	                                   "\xc3\xa8",
	                                   "\xc4\x80",
	                                   "\xef\xac\xb3",
	                                   "\xee\x80\x80",
	                                   "\xf0\x9f\x98\x80",
	                                   "\xf0\x9f\x98\x81",
	                                   "~",
	                                   "\x7f"};
	unsigned long seed = 99;
	int ordered = 0, rounds = 400;

	for (int r = 0; r < rounds; r++) {
		json_t *o = json_object(), *back;
		const char *prev = NULL, *key;
		json_t *val;
		size_t len;
		char *c;
		int ok = 1;

		for (int k = 0; k < 12; k++) {
			char name[40] = "";
			size_t parts = 1 + rnd_next(&seed) % 4;

			for (size_t i = 0; i < parts; i++)
				strcat(name,
				       bits[rnd_next(&seed) % (sizeof(bits) / sizeof(bits[0]))]);
			json_object_set_new(o, name, json_null());
		}
		c = roster_canon_dump(o, &len, NULL);
		back = c ? json_loadb(c, len, 0, NULL) : NULL;
		json_object_foreach(back, key, val)
		{
			if (prev && ref_cmp(prev, key) >= 0)
				ok = 0;
			prev = key;
		}
		ordered += ok && back != NULL && json_object_size(back) == json_object_size(o);
		json_decref(back);
		json_decref(o);
		free(c);
	}
	CHECK(ordered == rounds, "%d of %d objects' members in UTF-16 order", ordered, rounds);
}

/* Integers are written without printf (util.c): held to it at the edges and
 * across the range. */
static void test_integers(void)
{
	static const long long edges[] = {
	    0,         1,        -1, 9, 10, -10, 99, 100, 9007199254740992LL, -9007199254740992LL,
	    LLONG_MAX, LLONG_MIN};
	unsigned long seed = 7;
	int same = 0, n = 0;

	for (size_t i = 0; i < sizeof(edges) / sizeof(edges[0]); i++, n++) {
		char a[21], b[24];
		size_t len = roster_i64_format(a, edges[i]);

		snprintf(b, sizeof(b), "%lld", edges[i]);
		same += strcmp(a, b) == 0 && len == strlen(b);
	}
	for (int i = 0; i < 10000; i++, n++) {
		long long v = (long long)(rnd_next(&seed) << 31 ^ rnd_next(&seed)) >> (i % 40);
		char a[21], b[24];
		size_t len = roster_i64_format(a, i & 1 ? -v : v);

		snprintf(b, sizeof(b), "%lld", i & 1 ? -v : v);
		same += strcmp(a, b) == 0 && len == strlen(b);
	}
	CHECK(same == n, "%d of %d integers written as printf writes them", same, n);
}

int main(void)
{
	test_vectors();
	test_numbers();
	test_rejects();
	test_compact();
	test_compact_order();
	test_integers();
	test_member_order();
	return test_done();
}
