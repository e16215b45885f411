/*
 * audit-span.c - the time span of each run of ASPAN_RUN consecutive block
 * filters, kept in memory by the audit reader thread (aread.c), so that a
 * question bounded in time (since, until) passes over the runs its span rules
 * out instead of reading their filters one by one: at ten million entries every
 * such question read all 9,766 filters, about 70 ms, and the count grew with
 * the log.
 *
 * The runs are summarised from the committed filters in log order: while the
 * reader is idle (from the start, so that a restart does not make the first
 * question pay for them), and a few at the start of each question bounded in
 * time. A run is summarised only once all its filters are there. A run holding
 * a damaged filter, a filter without a span, or a stretch no filter covers gets
 * no span and is never passed over; a filter 0.7.3 wrote (ids only, no times)
 * stops the summary until the writer has rewritten it (they are a prefix of
 * the log, rewritten from the last back). Only the reader thread touches it,
 * so it takes no lock. 40 bytes a run: 6 KB at ten million entries.
 */
#include <stdlib.h>
#include <string.h>

#include "rosterd.h"
#include "roster/afilter.h"

struct aspan_run {
	uint64_t first, end; /* the entries [first, end) */
	uint64_t tmin, tmax; /* their times, as roster_audit_time_pack packs them */
	uint32_t filters;    /* filters in the run, for the skipped-blocks metric */
	int known;           /* 0: no span (never passed over) */
};

struct aspan {
	struct aspan_run *runs;
	size_t n, cap;
	uint64_t next; /* the first entry no run covers */
};

struct aspan *aspan_new(void)
{
	return roster_xcalloc(1, sizeof(struct aspan));
}

void aspan_free(struct aspan *s)
{
	if (s == NULL)
		return;
	free(s->runs);
	free(s);
}

/* Reads the run of filters from entry `from` into r; *whole: all its filters are
 * there (none of them 0.7.3's, which the writer has yet to rewrite). */
static int run_read(MDB_cursor *cur, uint64_t from, struct aspan_run *r, int *whole)
{
	uint8_t key[8];
	MDB_val k = {8, key}, v;
	int rc;

	*whole = 0;
	*r = (struct aspan_run){.first = from, .end = from, .tmin = UINT64_MAX, .known = 1};
	roster_be64_put(key, from);
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0 && r->filters < ASPAN_RUN;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		struct roster_afilter f;

		if (k.mv_size != 8)
			return MDB_CORRUPTED;
		if (roster_be64_get(k.mv_data) != r->end)
			r->known = 0; /* a stretch no filter covers, or a damaged one's block */
		r->filters++;
		if (afilter_record_parse(&k, &v, &f) < 0) {
			r->known = 0;
			r->end = roster_be64_get(k.mv_data); /* its block: up to the next */
			continue;
		}
		if (!f.typed)
			return 0;
		if (f.tmin == 0 || f.tmax == 0)
			r->known = 0;
		r->tmin = f.tmin < r->tmin ? f.tmin : r->tmin;
		r->tmax = f.tmax > r->tmax ? f.tmax : r->tmax;
		r->end = f.first + f.count;
	}
	if (rc != 0 && rc != MDB_NOTFOUND)
		return rc;
	/* The run ends where its last filter's block does; a damaged last filter's
	 * block goes to the next run, which then has no span. */
	*whole = r->filters == ASPAN_RUN && r->end > r->first;
	return 0;
}

int aspan_extend(struct aspan *s, MDB_txn *txn, MDB_dbi filters, size_t max_runs, int *more)
{
	MDB_cursor *cur;
	int rc = mdb_cursor_open(txn, filters, &cur), whole;

	*more = 0;
	if (rc)
		return rc;
	for (size_t i = 0;; i++) {
		struct aspan_run r;

		if ((rc = run_read(cur, s->next, &r, &whole)) != 0 || !whole)
			break;
		if (i == max_runs) {
			*more = 1;
			break;
		}
		if (s->n == s->cap) {
			s->cap = s->cap ? 2 * s->cap : 64;
			s->runs = roster_xrealloc(s->runs, s->cap * sizeof(*s->runs));
		}
		s->runs[s->n++] = r;
		s->next = r.end;
	}
	mdb_cursor_close(cur);
	return rc;
}

/* Whether the run holds no entry in [since, until] (0: that bound is open). */
static int run_ruled_out(const struct aspan_run *r, uint64_t since, uint64_t until)
{
	return r->known && ((since && r->tmax < since) || (until && r->tmin > until));
}

uint64_t aspan_next(const struct aspan *s, uint64_t seq, uint64_t since, uint64_t until,
                    uint64_t *skipped)
{
	size_t lo = 0, hi = s->n;

	if (since == 0 && until == 0)
		return seq;
	while (lo < hi) { /* the first run that ends after seq */
		size_t mid = lo + (hi - lo) / 2;

		if (s->runs[mid].end <= seq)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* Runs follow each other without a gap: each begins where the last ended. */
	for (; lo < s->n && s->runs[lo].first <= seq && run_ruled_out(&s->runs[lo], since, until);
	     lo++) {
		seq = s->runs[lo].end;
		*skipped += s->runs[lo].filters;
	}
	return seq;
}
