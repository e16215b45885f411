/*
 * test-afilter.c - the audit log's block filters (lib/afilter.c): an id added
 * is always found, ids never added are mostly not (about 1%), the bits an id
 * sets are the stored format's, and an entry names exactly the ids its target,
 * list targets, stored target and person hold.
 */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "roster/afilter.h"
#include "roster/util.h"
#include "test.h"

static void id_make(char *out, size_t len, const char *prefix, unsigned i)
{
	snprintf(out, len, "%s%026u", prefix, i * 2654435761u);
}

static void test_sizes(void)
{
	CHECK(roster_afilter_bytes(0) == 8, "an empty block still gets 8 bytes");
	CHECK(roster_afilter_bytes(1) == 8, "one id: 8 bytes");
	CHECK(roster_afilter_bytes(1000) == 1250, "ten bits an id");
}

static void test_no_false_negatives_few_false_positives(void)
{
	enum { N = 2000, OTHERS = 200000 };
	size_t nbytes = roster_afilter_bytes(N);
	uint8_t *bits = calloc(1, nbytes);
	char id[48];
	unsigned missed = 0, false_pos = 0;

	for (unsigned i = 0; i < N; i++) {
		id_make(id, sizeof(id), "per_", i);
		roster_afilter_add(bits, nbytes, roster_afilter_hash(id, strlen(id)));
	}
	for (unsigned i = 0; i < N; i++) {
		id_make(id, sizeof(id), "per_", i);
		missed +=
		    !roster_afilter_may_hold(bits, nbytes, roster_afilter_hash(id, strlen(id)));
	}
	CHECK(missed == 0, "%u of %d ids added were not found", missed, N);
	for (unsigned i = N; i < N + OTHERS; i++) {
		id_make(id, sizeof(id), "doc_", i);
		false_pos +=
		    roster_afilter_may_hold(bits, nbytes, roster_afilter_hash(id, strlen(id)));
	}
	/* Ten bits and seven probes an id: 0.82% expected. */
	CHECK(false_pos > OTHERS / 1000 && false_pos < OTHERS / 50,
	      "%u false positives of %d (about 1%% expected)", false_pos, OTHERS);
	CHECK(roster_afilter_may_hold(bits, 0, 1) == 1, "no bits: every block may hold anything");
	free(bits);
}

/* The layout stored filters depend on, worked out here on its own: SipHash-2-4
 * with a zero key, big-endian, probes h1 + i*h2 (h2 odd) modulo the bits. */
static void test_layout(void)
{
	static const uint8_t zero[crypto_shorthash_KEYBYTES];
	const char *id = "per_01kb6z3y9m2x8q4r7t5v0w1a2b";
	uint8_t out[8], bits[64] = {0}, want[64] = {0};
	uint64_t h = 0;

	crypto_shorthash(out, (const uint8_t *)id, strlen(id), zero);
	for (int i = 0; i < 8; i++)
		h = h << 8 | out[i];
	CHECK(roster_afilter_hash(id, strlen(id)) == h, "the hash is SipHash-2-4, big-endian");
	for (uint64_t i = 0; i < ROSTER_AFILTER_PROBES; i++) {
		uint64_t b = ((h & 0xffffffffu) + i * ((h >> 32) | 1)) % (8 * sizeof(want));

		want[b / 8] |= (uint8_t)(1u << (b % 8));
	}
	roster_afilter_add(bits, sizeof(bits), h);
	CHECK(memcmp(bits, want, sizeof(bits)) == 0, "the bits set are the stored format's");
}

struct keys {
	uint64_t v[32];
	size_t n;
};

static void key_collect(uint64_t hash, void *arg)
{
	struct keys *k = arg;

	if (k->n < 32)
		k->v[k->n++] = hash;
}

static int collect(const char *id, size_t len, void *arg)
{
	char *seen = arg;

	strncat(seen, id, len);
	strcat(seen, " ");
	return 0;
}

static void test_names(void)
{
	const char *text = "{\"action\":\"document.custody\",\"person\":\"per_P\",\"seq\":7,"
	                   "\"stored\":{\"object\":\"00\",\"target\":\"doc_D.00000001\"},"
	                   "\"target\":\"doc_D\",\"targets\":[\"per_A\",\"per_B\"],\"actor\":{"
	                   "\"user\":\"per_U\"}}";
	json_t *e = json_loads(text, 0, NULL), *bare = json_loads("{\"seq\":1}", 0, NULL);
	char seen[256] = "";

	roster_audit_names(e, collect, seen);
	CHECK(strcmp(seen, "doc_D doc_D.00000001 per_P per_A per_B ") == 0, "names: %s", seen);
	CHECK(roster_audit_names_id(e, "per_A") && roster_audit_names_id(e, "doc_D.00000001") &&
	          roster_audit_names_id(e, "per_P"),
	      "each name is found");
	CHECK(!roster_audit_names_id(e, "per_U"), "an account name is no record's id");
	CHECK(!roster_audit_names_id(e, "doc_"), "nor a prefix of one");
	CHECK(!roster_audit_names_id(e, "7"), "nor another member's value");
	seen[0] = '\0';
	roster_audit_names(bare, collect, seen);
	CHECK(seen[0] == '\0', "an entry naming nothing");
	json_decref(e);
	json_decref(bare);
}

/* The writer notes an entry's names from its fields; finds match the written
 * bytes. Both must give the same ids, for every shape of entry. */
static void test_fields_match_bytes(void)
{
	json_t *targets = json_pack("[s,s,s]", "per_A", "per_B", "per_A");
	const struct {
		const char *target, *stored, *person;
		json_t *targets;
	} cases[] = {{"per_T", NULL, NULL, NULL},
	             {"", NULL, NULL, NULL},
	             {"doc_D", "doc_D.00000002", "per_P", NULL},
	             {"", NULL, NULL, targets},
	             {"uid:2009", NULL, "per_P", targets}};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct roster_audit_fields f = {.seq = i,
		                                .time = "2026-12-07T05:00:00Z",
		                                .uid = 2001,
		                                .user = "per_U",
		                                .action = "person.read",
		                                .target = cases[i].target,
		                                .outcome = "ok",
		                                .object = "",
		                                .prev = "00",
		                                .status = 200,
		                                .targets = cases[i].targets,
		                                .stored_target = cases[i].stored,
		                                .stored_object = "ab",
		                                .person = cases[i].person};
		struct roster_err err;
		char from_fields[256] = "", from_bytes[256] = "", *bytes;
		json_t *e;

		bytes = roster_audit_entry_dump(&f, NULL, &err);
		e = bytes ? json_loads(bytes, 0, NULL) : NULL;
		CHECK(e != NULL, "case %zu: an entry", i);
		roster_audit_fields_names(&f, collect, from_fields);
		roster_audit_names(e, collect, from_bytes);
		CHECK(strcmp(from_fields, from_bytes) == 0,
		      "case %zu: fields name '%s', bytes '%s'", i, from_fields, from_bytes);
		struct keys kf = {0}, kb = {0};

		roster_audit_fields_keys(&f, key_collect, &kf);
		roster_audit_keys(e, key_collect, &kb);
		CHECK(kf.n == kb.n && memcmp(kf.v, kb.v, kf.n * sizeof(kf.v[0])) == 0,
		      "case %zu: the fields' keys (%zu) are the bytes' (%zu)", i, kf.n, kb.n);
		CHECK(
		    kf.n >= 4 &&
		        kf.v[kf.n - 1] ==
		            roster_afilter_key_hash(ROSTER_AFILTER_OUTCOME, "ok", 2) &&
		        kf.v[kf.n - 2] ==
		            roster_afilter_key_hash(ROSTER_AFILTER_ACTION, "person.read", 11) &&
		        kf.v[kf.n - 3] == roster_afilter_key_hash(ROSTER_AFILTER_UID, "2001", 4) &&
		        kf.v[kf.n - 4] == roster_afilter_key_hash(ROSTER_AFILTER_USER, "per_U", 5),
		    "case %zu: the account's name and uid, the action and the outcome follow the "
		    "ids",
		    i);
		json_decref(e);
		free(bytes);
	}
	json_decref(targets);
}

/* An account named like a record, or an action named like an outcome, must not
 * be taken for it: each kind hashes under a key of its own. */
static void test_typed_keys(void)
{
	const char *s = "per_01kb6z3y9m2x8q4r7t5v0w1a2b";
	uint64_t id = roster_afilter_hash(s, strlen(s));
	const char kinds[] = {ROSTER_AFILTER_USER, ROSTER_AFILTER_UID, ROSTER_AFILTER_ACTION,
	                      ROSTER_AFILTER_OUTCOME};

	for (size_t i = 0; i < sizeof(kinds); i++) {
		uint64_t h = roster_afilter_key_hash(kinds[i], s, strlen(s));

		CHECK(h != id, "kind %c hashes apart from ids", kinds[i]);
		for (size_t j = i + 1; j < sizeof(kinds); j++)
			CHECK(h != roster_afilter_key_hash(kinds[j], s, strlen(s)),
			      "kinds %c and %c hash apart", kinds[i], kinds[j]);
	}
}

static void test_time_pack(void)
{
	const char *bad[] = {"",
	                     "2026-12-07",
	                     "2026-12-07T05:00:00",
	                     "2026-12-07 05:00:00Z",
	                     "2026-12-07T05:00:0xZ",
	                     "2026-12-07T05:00:00.1Z"};

	CHECK(roster_audit_time_pack("2026-12-07T05:06:07Z", 20) == 20261207050607ULL,
	      "a time packs to its digits");
	CHECK(roster_audit_time_pack("1999-12-31T23:59:60Z", 20) <
	          roster_audit_time_pack("2000-01-01T00:00:00Z", 20),
	      "number order is time order");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(roster_audit_time_pack(bad[i], strlen(bad[i])) == 0, "'%s' is no time",
		      bad[i]);
	CHECK(roster_audit_time_pack(NULL, 0) == 0, "nor is nothing");
}

static void value_add(uint64_t hash, void *arg)
{
	uint8_t *v = arg;

	roster_afilter_add(v + ROSTER_AFILTER_HEAD, 64, hash);
}

/* A stored value read back, and an entry checked against it as verify --deep
 * does: a filter that lacks one of its keys, or whose span misses its time,
 * would hide it from a question. */
static void test_parse_and_check(void)
{
	const char *text =
	    "{\"action\":\"person.read\",\"actor\":{\"uid\":2001,\"user\":\"alice\"},"
	    "\"outcome\":\"ok\",\"seq\":16,\"target\":\"per_T\","
	    "\"time\":\"2026-12-07T05:06:07Z\"}";
	json_t *e = json_loads(text, 0, NULL);
	uint8_t v[ROSTER_AFILTER_HEAD + 64] = {'R', 'A', 'F', '2'};
	struct roster_afilter f;
	char why[160];

	roster_be64_put(v + 4, 16);
	roster_be32_put(v + 12, 16);
	roster_be64_put(v + 16, 20261207050000ULL);
	roster_be64_put(v + 24, 20261207059999ULL);
	roster_audit_keys(e, value_add, v);
	CHECK(roster_afilter_parse(v, sizeof(v), &f) == 0 && f.first == 16 && f.count == 16 &&
	          f.typed && f.nbytes == 64 && f.tmin == 20261207050000ULL,
	      "a RAF2 value reads back");
	CHECK(roster_afilter_check_entry(&f, e, why, sizeof(why)) == 0, "its entry passes");
	roster_be64_put(v + 16, 20261207060000ULL);
	roster_afilter_parse(v, sizeof(v), &f);
	CHECK(roster_afilter_check_entry(&f, e, why, sizeof(why)) < 0 && strstr(why, "time"),
	      "a span after the entry's time leaves it out: %s", why);
	roster_be64_put(v + 16, 0);
	roster_be64_put(v + 24, 0);
	roster_afilter_parse(v, sizeof(v), &f);
	CHECK(roster_afilter_check_entry(&f, e, why, sizeof(why)) == 0, "an unknown span holds it");
	memset(v + ROSTER_AFILTER_HEAD, 0, 64);
	roster_afilter_add(v + ROSTER_AFILTER_HEAD, 64, roster_afilter_hash("per_T", 5));
	roster_afilter_parse(v, sizeof(v), &f);
	CHECK(roster_afilter_check_entry(&f, e, why, sizeof(why)) < 0 && strstr(why, "account"),
	      "ids alone, in a RAF2 filter, leave out its account: %s", why);
	memcpy(v, "RAF1", 4);
	memset(v + ROSTER_AFILTER_HEAD1, 0, 64);
	roster_afilter_add(v + ROSTER_AFILTER_HEAD1, 64, roster_afilter_hash("per_T", 5));
	CHECK(roster_afilter_parse(v, ROSTER_AFILTER_HEAD1 + 64, &f) == 0 && !f.typed &&
	          f.tmin == 0 && f.nbytes == 64,
	      "a RAF1 value reads back, ids only");
	CHECK(roster_afilter_check_entry(&f, e, why, sizeof(why)) == 0,
	      "a RAF1 filter holding its ids passes");
	memset(v + ROSTER_AFILTER_HEAD1, 0, 64);
	CHECK(roster_afilter_check_entry(&f, e, why, sizeof(why)) < 0 && strstr(why, "per_T"),
	      "one without them names the id: %s", why);
	CHECK(roster_afilter_parse(v, ROSTER_AFILTER_HEAD1 - 1, &f) < 0, "a short value is none");
	memcpy(v, "RAF3", 4);
	CHECK(roster_afilter_parse(v, sizeof(v), &f) < 0, "an unknown layout is none");
	memcpy(v, "RAF2", 4);
	roster_be32_put(v + 12, 0);
	CHECK(roster_afilter_parse(v, sizeof(v), &f) < 0, "a block of no entries is none");
	json_decref(e);
}

int main(void)
{
	if (sodium_init() < 0)
		return 2;
	test_sizes();
	test_no_false_negatives_few_false_positives();
	test_layout();
	test_names();
	test_fields_match_bytes();
	test_typed_keys();
	test_time_pack();
	test_parse_and_check();
	return test_done();
}
