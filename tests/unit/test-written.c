/*
 * test-written.c - the table `audit verify --deep` and verify-backup keep of every
 * value's last write: a hundred thousand ids through its growth, rewrites that
 * keep the first seq, digests that match only as recorded, and a walk that visits
 * each value once.
 */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "roster/util.h"
#include "roster/written.h"
#include "test.h"

#define N 100000

static void id_of(char *out, size_t len, unsigned i)
{
	snprintf(out, len, "per_%026u", i);
}

static void digest_of(char out[65], unsigned i, unsigned round)
{
	uint8_t d[32];
	unsigned in[2] = {i, round};

	crypto_generichash(d, sizeof(d), (const uint8_t *)in, sizeof(in), NULL, 0);
	roster_hex_encode(out, d, sizeof(d));
}

struct walk {
	unsigned char *visits;
	size_t n, bad;
};

static int visit(void *arg, const char *id, size_t idlen, struct written_last *w)
{
	struct walk *wk = arg;
	unsigned i;

	if (idlen != 30 || sscanf(id + 4, "%26u", &i) != 1 || i >= N || w->first != i) {
		wk->bad++;
		return 0;
	}
	wk->visits[i]++;
	wk->n++;
	return 0;
}

static int stop_at_ten(void *arg, const char *id, size_t idlen, struct written_last *w)
{
	(void)id;
	(void)idlen;
	(void)w;
	return ++*(int *)arg == 10 ? 7 : 0;
}

int main(void)
{
	struct written *wt = roster_written_new();
	struct walk wk = {.visits = calloc(N, 1)};
	char id[40], hex[65];
	size_t wrong = 0;
	int calls = 0;

	if (sodium_init() < 0)
		return 1;
	for (unsigned i = 0; i < N; i++) {
		id_of(id, sizeof(id), i);
		digest_of(hex, i, 0);
		roster_written_set(wt, id, strlen(id), hex, i);
	}
	CHECK(roster_written_count(wt) == N, "count %zu", roster_written_count(wt));
	/* Every third value written again later: its seq and digest move, its first stays. */
	for (unsigned i = 0; i < N; i += 3) {
		id_of(id, sizeof(id), i);
		digest_of(hex, i, 1);
		roster_written_set(wt, id, strlen(id), hex, N + i);
	}
	CHECK(roster_written_count(wt) == N, "a rewrite adds no value: %zu",
	      roster_written_count(wt));
	for (unsigned i = 0; i < N; i++) {
		struct written_last *w;
		char other[65];

		id_of(id, sizeof(id), i);
		w = roster_written_find(wt, id, strlen(id));
		digest_of(hex, i, i % 3 == 0);
		digest_of(other, i, i % 3 != 0);
		if (w == NULL || w->first != i || w->seq != (i % 3 == 0 ? N + i : i) ||
		    !roster_written_matches(w, hex) || roster_written_matches(w, other))
			wrong++;
	}
	CHECK(wrong == 0, "%zu of %d values came back wrong", wrong, N);
	CHECK(roster_written_find(wt, "per_unknown", 11) == NULL, "an unknown id is not found");
	CHECK(roster_written_find(wt, "", 0) == NULL, "nor an empty one");
	id_of(id, sizeof(id), 7);
	CHECK(roster_written_find(wt, id, strlen(id) - 1) == NULL, "nor a prefix of a known one");
	CHECK(!roster_written_matches(NULL, hex), "nothing matches a value never written");

	/* A digest that is not 64 hex digits is kept as written, and matches nothing. */
	roster_written_set(wt, "doc_x.00000001", 14, "not hex", 5);
	CHECK(roster_written_find(wt, "doc_x.00000001", 14) != NULL, "kept");
	CHECK(!roster_written_matches(roster_written_find(wt, "doc_x.00000001", 14), "not hex"),
	      "a malformed digest matches nothing, not even itself");
	CHECK(!roster_written_matches(
	          roster_written_find(wt, id, strlen(id)),
	          "0000000000000000000000000000000000000000000000000000000000000000"),
	      "a digest of zeros does not match");

	wk.n = wk.bad = 0;
	roster_written_each(wt, visit, &wk);
	CHECK(wk.n == N && wk.bad == 1, "the walk saw %zu values and %zu others", wk.n, wk.bad);
	wrong = 0;
	for (unsigned i = 0; i < N; i++)
		wrong += wk.visits[i] != 1;
	CHECK(wrong == 0, "%zu values not visited exactly once", wrong);
	CHECK(roster_written_each(wt, stop_at_ten, &calls) == 7 && calls == 10,
	      "the walk stops at the first non-zero return and returns it (%d calls)", calls);
	free(wk.visits);
	roster_written_free(wt);
	return test_done();
}
