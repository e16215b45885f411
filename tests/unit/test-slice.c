/*
 * test-slice.c - how the writer sizes the next slice of a re-encryption or index
 * walk (writer_slice_next): a slice over its time budget shrinks in proportion at
 * once, one well under it grows by a quarter, and the size stays from 1 to the
 * configured reencrypt_batch whatever the timings.
 */
#include <stddef.h>

#include "rosterd.h"
#include "test.h"

int main(void)
{
	const double ms = 0.001;

	/* 256 records took 20 ms against 2 ms: a tenth next time. */
	CHECK(writer_slice_next(256, 20 * ms, 2 * ms, 256) == 25, "got %zu",
	      writer_slice_next(256, 20 * ms, 2 * ms, 256));
	/* Just over the budget: shrinks a little. */
	CHECK(writer_slice_next(100, 2.5 * ms, 2 * ms, 256) == 80, "got %zu",
	      writer_slice_next(100, 2.5 * ms, 2 * ms, 256));
	/* Near the budget (from three quarters to all of it): stays. */
	CHECK(writer_slice_next(40, 1.8 * ms, 2 * ms, 256) == 40, "got %zu",
	      writer_slice_next(40, 1.8 * ms, 2 * ms, 256));
	CHECK(writer_slice_next(40, 2 * ms, 2 * ms, 256) == 40, "got %zu",
	      writer_slice_next(40, 2 * ms, 2 * ms, 256));
	/* Well under: grows by a quarter (and at least one), never past the batch. */
	CHECK(writer_slice_next(40, 0.5 * ms, 2 * ms, 256) == 51, "got %zu",
	      writer_slice_next(40, 0.5 * ms, 2 * ms, 256));
	CHECK(writer_slice_next(1, 0.1 * ms, 2 * ms, 256) == 2, "got %zu",
	      writer_slice_next(1, 0.1 * ms, 2 * ms, 256));
	CHECK(writer_slice_next(250, 0.1 * ms, 2 * ms, 256) == 256, "got %zu",
	      writer_slice_next(250, 0.1 * ms, 2 * ms, 256));
	/* A single record slower than the budget still makes progress. */
	CHECK(writer_slice_next(1, 50 * ms, 2 * ms, 256) == 1, "got %zu",
	      writer_slice_next(1, 50 * ms, 2 * ms, 256));
	/* A stall (seconds) drops to one record; a batch setting of 1 holds it there. */
	CHECK(writer_slice_next(256, 3.0, 2 * ms, 256) == 1, "got %zu",
	      writer_slice_next(256, 3.0, 2 * ms, 256));
	CHECK(writer_slice_next(1, 0.0, 2 * ms, 1) == 1, "got %zu",
	      writer_slice_next(1, 0.0, 2 * ms, 1));
	/* From a slice of 1 at the budget's edge it climbs back to the batch. */
	{
		size_t n = 1;
		int steps = 0;

		while (n < 256 && steps < 100) {
			n = writer_slice_next(n, 0.1 * ms, 2 * ms, 256);
			steps++;
		}
		CHECK(n == 256 && steps < 30, "reached %zu in %d steps", n, steps);
	}
	printf("%d passed, %d failed\n", test_pass, test_fail);
	return test_fail != 0;
}
