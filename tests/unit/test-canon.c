/*
 * test-canon.c - RFC 8785 canonical JSON against the public vectors, plus the
 * properties audit entries rely on.
 */
#include <dirent.h>
#include <string.h>

#include "roster/canon.h"
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

int main(void)
{
	test_vectors();
	test_numbers();
	test_rejects();
	return test_done();
}
