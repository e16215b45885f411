/*
 * test-slice.c - how the writer sizes the next slice of a re-encryption or index
 * walk (writer_slice_next): a slice over its time budget shrinks in proportion at
 * once, one well under it grows by a quarter, and the size stays from 1 to the
 * configured reencrypt_batch whatever the timings.
 */
#include <stddef.h>

#include "rosterd.h"
#include "test.h"

#define MS 0.001

static const struct slice_case {
	const char *what;
	size_t n;
	double seconds, budget;
	size_t max, want;
} cases[] = {
    {"256 records in 20 ms against 2 ms: a tenth", 256, 20 * MS, 2 * MS, 256, 25},
    {"just over the budget: a little fewer", 100, 2.5 * MS, 2 * MS, 256, 80},
    {"three quarters of the budget: the same", 40, 1.8 * MS, 2 * MS, 256, 40},
    {"all of the budget: the same", 40, 2 * MS, 2 * MS, 256, 40},
    {"well under: a quarter more", 40, 0.5 * MS, 2 * MS, 256, 51},
    {"one record well under: at least one more", 1, 0.1 * MS, 2 * MS, 256, 2},
    {"never past the batch", 250, 0.1 * MS, 2 * MS, 256, 256},
    {"one record over the budget still makes progress", 1, 50 * MS, 2 * MS, 256, 1},
    {"a stall of seconds: one record", 256, 3.0, 2 * MS, 256, 1},
    {"a batch setting of 1 holds it at 1", 1, 0.0, 2 * MS, 1, 1},
};

int main(void)
{
	size_t n = 1;
	int steps = 0;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct slice_case *c = &cases[i];
		size_t got = writer_slice_next(c->n, c->seconds, c->budget, c->max);

		CHECK(got == c->want, "%s: %zu, not %zu", c->what, got, c->want);
	}
	/* From a slice of 1, fast slices climb back to the batch in a few steps. */
	while (n < 256 && steps < 100) {
		n = writer_slice_next(n, 0.1 * MS, 2 * MS, 256);
		steps++;
	}
	CHECK(n == 256 && steps < 30, "reached %zu in %d steps", n, steps);
	printf("%d passed, %d failed\n", test_pass, test_fail);
	return test_fail != 0;
}
