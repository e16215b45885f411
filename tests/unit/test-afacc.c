/*
 * test-afacc.c - the writer's notes of the entries ahead of the audit filters
 * (daemon/audit-filter.c): what each entry adds, what a commit drops once the
 * filters cover it, what an abandoned transaction takes back, and the reset
 * when the notes outgrow their bound (a registry whose filters are far behind
 * under steady load): the notes start again at the log's end, so that the
 * blocks before are built from their entries read back, never from a partial
 * set of notes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rosterd.h"
#include "test.h"

static void note(struct afilter_acc *acc, uint64_t seq)
{
	struct wtxn w = {.acc = acc};
	struct roster_audit_fields f = {.seq = seq,
	                                .time = "2026-12-07T10:00:00Z",
	                                .uid = 1000,
	                                .user = "clerk",
	                                .action = "person.create",
	                                .target = "per_0000000000000000000000001",
	                                .outcome = "ok"};

	afilter_note(&w, &f);
}

/* Whether every note is of an entry in [lo, hi). */
static int notes_within(const struct afilter_acc *acc, uint64_t lo, uint64_t hi)
{
	for (size_t i = 0; i < acc->n; i++)
		if (acc->v[i].seq < lo || acc->v[i].seq >= hi)
			return 0;
	return 1;
}

int main(void)
{
	struct afilter_acc acc = {0};
	size_t per, kept;
	uint64_t seq, end;

	/* Each entry: its keys and its time, one of them marked as the time. */
	note(&acc, 0);
	per = acc.n;
	CHECK(per >= 2, "an entry noted %zu names", per);
	CHECK(acc.v[per - 1].is_time && acc.v[per - 1].hash != 0, "the entry's time comes last");
	for (seq = 1; seq < 100; seq++)
		note(&acc, seq);
	afilter_acc_commit(&acc, 0, 100);
	CHECK(acc.n == 100 * per && acc.committed == acc.n, "%zu notes, %zu committed", acc.n,
	      acc.committed);

	/* A filter for entries up to 64: their notes go, the rest stay. */
	afilter_acc_commit(&acc, 64, 100);
	kept = acc.n;
	CHECK(kept == 36 * per && notes_within(&acc, 64, 100), "%zu notes kept", kept);
	CHECK(acc.first == 64, "notes now begin at %llu", (unsigned long long)acc.first);

	/* An abandoned transaction's notes are taken back; an entry before the first
	 * noted one adds nothing. */
	for (seq = 100; seq < 110; seq++)
		note(&acc, seq);
	CHECK(acc.n == kept + 10 * per, "the open transaction noted %zu", acc.n - kept);
	afilter_acc_rewind(&acc);
	CHECK(acc.n == kept, "after the rewind %zu notes", acc.n);
	note(&acc, 10);
	CHECK(acc.n == kept, "an entry before the notes' start was noted");

	/* Past the bound with no filter made: everything goes, and the notes start
	 * again at the log's end. */
	for (seq = 100; acc.n <= AFILTER_ACC_MAX; seq++)
		note(&acc, seq);
	end = seq;
	afilter_acc_commit(&acc, 64, end);
	CHECK(acc.n == 0 && acc.committed == 0, "%zu notes past the bound", acc.n);
	CHECK(acc.first == end, "the notes start at %llu, not the log's end %llu",
	      (unsigned long long)acc.first, (unsigned long long)end);
	note(&acc, end - 1);
	CHECK(acc.n == 0, "an entry from before the reset was noted");
	note(&acc, end);
	note(&acc, end + 1);
	afilter_acc_commit(&acc, 64, end + 2);
	CHECK(acc.n == 2 * per && notes_within(&acc, end, end + 2), "%zu notes after the reset",
	      acc.n);

	/* Once the filters pass the reset, the notes begin where they end. */
	afilter_acc_commit(&acc, end + 1, end + 2);
	CHECK(acc.first == end + 1 && acc.n == per && notes_within(&acc, end + 1, end + 2),
	      "first %llu, %zu notes", (unsigned long long)acc.first, acc.n);

	/* No more filters (the last one damaged): no note is kept for them. */
	note(&acc, end + 2);
	afilter_acc_commit(&acc, AFILTER_OFF, end + 3);
	CHECK(acc.n == 0, "%zu notes kept with the filters off", acc.n);
	CHECK(acc.first == end + 1, "the start moved to %llu", (unsigned long long)acc.first);

	free(acc.v);
	return test_done();
}
