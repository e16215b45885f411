/*
 * test-aquery.c - an auditor's question (lib/aquery.c): values it refuses, and
 * that its three tests agree. Over a log of generated entries in blocks, every
 * entry that matches passes the text test, and every block holding one passes
 * the filter test with the block's keys and time span, for each question; the
 * filter test must also skip blocks, or it is no use. Where the text alone
 * decides (a question without a target), it decides as the parse does, and
 * decides every entry whose values hold no escape, query members that repeat
 * the entry's own member names included.
 */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "roster/afilter.h"
#include "roster/aquery.h"
#include "test.h"

enum { ENTRIES = 512, BLOCK = 16 };

struct entry {
	char *bytes;
	json_t *json;
};

static const char *users[] = {"alice", "bob", "carol", "uid:4242", "o\"neil"};
static const char *actions[] = {"person.read", "person.create", "document.custody", "audit.read",
                                "role.grant"};
static const char *outcomes[] = {"ok", "denied", "rejected", "error"};

static void entry_make(struct entry *out, unsigned i)
{
	char time[32], target[48], person[48];
	unsigned r = i * 2654435761u;
	json_t *targets = json_pack("[s,s]", "per_L1", "per_L2");
	/* An auditor's question names members the entry has too. */
	json_t *query = json_pack("{s:s, s:s, s:s, s:s, s:I}", "action", "role.grant", "outcome",
	                          "denied", "actor", "carol", "since", "2026-12-01", "from", 0);
	struct roster_audit_fields f = {.seq = i,
	                                .time = time,
	                                .uid = 1000 + r % 7,
	                                .user = users[r % 31 == 0 ? 4 : r % 4],
	                                /* rare actions and outcomes, so blocks lack them */
	                                .action = actions[r % 97 == 0 ? 4 : r % 4],
	                                .target = target,
	                                .outcome = outcomes[r % 61 == 0 ? 1 + r % 3 : 0],
	                                .object = "",
	                                .prev = "00",
	                                .status = 200,
	                                .targets = r % 13 == 0 ? targets : NULL,
	                                .person = r % 5 == 0 ? person : NULL,
	                                .query = r % 3 == 0 ? query : NULL};
	struct roster_err err;

	/* Times rise a minute an entry, with a clock set back once. */
	snprintf(time, sizeof(time), "2026-12-%02uT%02u:%02u:00Z", 1 + i / 1440 % 28, i / 60 % 24,
	         i % 60);
	if (i >= 300 && i < 310)
		snprintf(time, sizeof(time), "2026-11-30T23:%02u:00Z", i - 300);
	snprintf(target, sizeof(target), "per_T%u", r % 200);
	snprintf(person, sizeof(person), "per_P%u", r % 50);
	out->bytes = roster_audit_entry_dump(&f, NULL, &err);
	out->json = json_loads(out->bytes, 0, NULL);
	json_decref(targets);
	json_decref(query);
}

struct block {
	uint8_t bits[512];
	size_t nbytes;
	uint64_t tmin, tmax;
};

static void key_add(uint64_t hash, void *arg)
{
	struct block *b = arg;

	roster_afilter_add(b->bits, b->nbytes, hash);
}

static void block_make(struct block *b, const struct entry *e)
{
	memset(b, 0, sizeof(*b));
	b->nbytes = roster_afilter_bytes(BLOCK * 8);
	for (unsigned i = 0; i < BLOCK; i++) {
		const json_t *t = json_object_get(e[i].json, "time");
		uint64_t at = roster_audit_time_pack(json_string_value(t), json_string_length(t));

		roster_audit_keys(e[i].json, key_add, b);
		if (b->tmin == 0 || at < b->tmin)
			b->tmin = at;
		if (at > b->tmax)
			b->tmax = at;
	}
}

static void test_refused(void)
{
	const char *bad[][2] = {
	    {"since", "2026-13-01"},
	    {"until", "2026-12-07T24:00:00Z"},
	    {"since", "2026-12-07T05:00"},
	    {"until", "yesterday"},
	    {"actor", "uid:x"},
	    {"actor", "uid:"},
	    {"actor", "uid:12x"},
	    {"actor", "uid:99999999999999999999"},
	    {"actor", "a\"b"},
	    {"actor", ""},
	    {"action", "person read"},
	    {"outcome", "o\\k"},
	    {"target", ""},
	    {"target", "per_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"},
	    {"colour", "red"},
	    {"action", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"},
	};
	struct roster_aquery q;
	struct roster_err err;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		roster_aquery_init(&q);
		err.status = 0;
		CHECK(roster_aquery_set(&q, bad[i][0], bad[i][1], &err) < 0 && err.status == 400,
		      "%s=%s is refused", bad[i][0], bad[i][1]);
		CHECK(roster_aquery_empty(&q) && q.uid == -1, "%s=%s sets nothing", bad[i][0],
		      bad[i][1]);
		roster_aquery_free(&q);
	}
	roster_aquery_init(&q);
	CHECK(roster_aquery_set(&q, "actor", "uid:7", &err) == 0, "uid:7 is an actor");
	CHECK(roster_aquery_set(&q, "actor", "alice", &err) < 0 && strstr(err.message, "twice"),
	      "one actor a question");
	CHECK(roster_aquery_set(&q, "until", "2026-02-29", &err) == 0,
	      "a date's shape is checked, not the calendar");
	roster_aquery_free(&q);
}

/* Each question's tests agree over the log; returns the blocks skipped. */
static size_t question_check(const char *label, const char *const *conds, const struct entry *e,
                             const struct block *b)
{
	struct roster_aquery q;
	struct roster_err err;
	size_t matched = 0, skipped = 0, untyped_skipped = 0, decided = 0, escaped = 0;

	roster_aquery_init(&q);
	for (size_t i = 0; conds[i]; i += 2)
		CHECK(roster_aquery_set(&q, conds[i], conds[i + 1], &err) == 0, "%s: %s", label,
		      err.message);
	for (unsigned blk = 0; blk < ENTRIES / BLOCK; blk++) {
		size_t here = 0;

		for (unsigned i = blk * BLOCK; i < (blk + 1) * BLOCK; i++) {
			int m = roster_aquery_match(&q, e[i].json);
			int t = roster_aquery_text_match(&q, e[i].bytes, strlen(e[i].bytes));

			here += m;
			decided += t >= 0;
			escaped += strchr(e[i].bytes, '\\') != NULL;
			CHECK(t < 0 || t == m, "%s: entry %u: the text says %d, the parse %d",
			      label, i, t, m);
			if (m)
				CHECK(roster_aquery_text_may_match(&q, e[i].bytes,
				                                   strlen(e[i].bytes)),
				      "%s: entry %u matches, but its text was passed over", label,
				      i);
		}
		matched += here;
		if (!roster_aquery_block_may_match(&q, b[blk].bits, b[blk].nbytes, 1, b[blk].tmin,
		                                   b[blk].tmax)) {
			skipped++;
			CHECK(here == 0, "%s: block %u skipped, yet %zu of its entries match",
			      label, blk, here);
		}
		/* A 0.7.3 filter: ids only, no times. */
		if (!roster_aquery_block_may_match(&q, b[blk].bits, b[blk].nbytes, 0, 0, 0)) {
			untyped_skipped++;
			CHECK(q.target != NULL && here == 0,
			      "%s: block %u skipped by an ids-only filter", label, blk);
		}
	}
	CHECK(matched > 0, "%s: some entry matches", label);
	CHECK(q.target ? decided == 0 : decided == ENTRIES - escaped && escaped > 0,
	      "%s: the text decides %zu entries (%zu hold an escape)", label, decided, escaped);
	roster_aquery_free(&q);
	return skipped;
}

static void test_questions(void)
{
	static struct entry e[ENTRIES];
	static struct block b[ENTRIES / BLOCK];
	const char *const by_target[] = {"target", "per_T7", NULL};
	const char *const by_person[] = {"target", "per_P5", NULL};
	const char *const by_list[] = {"target", "per_L2", "action", "person.read", NULL};
	const char *const by_uid[] = {"actor", "uid:1003", NULL};
	const char *const by_user[] = {"actor", "carol", "outcome", "ok", NULL};
	const char *const rare_action[] = {"action", "role.grant", NULL};
	const char *const denied[] = {"outcome", "denied", NULL};
	const char *const day[] = {"since", "2026-12-01T02:00:00Z", "until", "2026-12-01T02:40:00Z",
	                           NULL};
	const char *const set_back[] = {"since", "2026-11-30", "until", "2026-11-30", NULL};
	const char *const late[] = {"since", "2026-12-01T08:00:00Z", "actor", "alice", NULL};

	for (unsigned i = 0; i < ENTRIES; i++) {
		entry_make(&e[i], i);
		CHECK(e[i].json != NULL, "entry %u", i);
	}
	for (unsigned blk = 0; blk < ENTRIES / BLOCK; blk++)
		block_make(&b[blk], &e[blk * BLOCK]);
	CHECK(question_check("by target", by_target, e, b) > 0, "a target skips blocks");
	question_check("by a document's person", by_person, e, b);
	question_check("by a list's target", by_list, e, b);
	question_check("by uid", by_uid, e, b);
	question_check("by account and outcome", by_user, e, b);
	CHECK(question_check("a rare action", rare_action, e, b) > ENTRIES / BLOCK / 2,
	      "a rare action skips most blocks");
	CHECK(question_check("denials", denied, e, b) > 0, "an outcome skips blocks");
	/* Four blocks hold the span; the two the clock went back in reach round it. */
	CHECK(question_check("forty minutes", day, e, b) == ENTRIES / BLOCK - 6,
	      "a short span skips the blocks outside it");
	CHECK(question_check("the clock set back", set_back, e, b) >= ENTRIES / BLOCK - 2,
	      "a span finds the block the clock went back in");
	question_check("since, by account", late, e, b);
	for (unsigned i = 0; i < ENTRIES; i++) {
		json_decref(e[i].json);
		free(e[i].bytes);
	}
}

int main(void)
{
	if (sodium_init() < 0)
		return 2;
	test_refused();
	test_questions();
	return test_done();
}
