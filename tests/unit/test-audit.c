/*
 * test-audit.c - the audit chain: leaf hashes as RFC 6962 defines them, and the
 * per-entry checks a verifier runs on an export, one entry at a time and on
 * several threads at once.
 */
#include <string.h>

#include <sodium.h>

#include "roster/audit.h"
#include "roster/canon.h"
#include "roster/util.h"
#include "roster/verify.h"
#include "test.h"

static char *entry(uint64_t seq, const uint8_t prev[32])
{
	char hex[65];
	json_t *v;
	char *s;

	roster_hex_encode(hex, prev, 32);
	v = json_pack("{s:I, s:s, s:{s:i, s:s}, s:s, s:s, s:s, s:s, s:s}", "seq", (json_int_t)seq,
	              "time", "2026-11-22T00:00:00Z", "actor", "uid", 1000, "user", "ana", "action",
	              "person.read", "target", "per_0123456789abcdefghjkmnpqrs", "outcome", "ok",
	              "object", "", "prev", hex);
	s = roster_canon_dump(v, NULL, NULL);
	json_decref(v);
	return s;
}

/* The same entry through jansson and the RFC 8785 serialiser: the reference. */
static char *entry_via_json(const struct roster_audit_fields *f)
{
	json_t *v =
	    json_pack("{s:I, s:s, s:{s:I, s:s}, s:s, s:s, s:s, s:s, s:s, s:i}", "seq",
	              (json_int_t)f->seq, "time", f->time, "actor", "uid", (json_int_t)f->uid,
	              "user", f->user, "action", f->action, "target", f->target, "outcome",
	              f->outcome, "object", f->object, "prev", f->prev, "status", f->status);
	char *s;

	if (f->targets)
		json_object_set(v, "targets", (json_t *)f->targets);
	if (f->person)
		json_object_set_new(v, "person", json_string(f->person));
	if (f->query)
		json_object_set(v, "query", (json_t *)f->query);
	if (f->stored_target)
		json_object_set_new(v, "stored",
		                    json_pack("{s:s, s:s}", "target", f->stored_target, "object",
		                              f->stored_object));
	s = roster_canon_dump(v, NULL, NULL);
	json_decref(v);
	return s;
}

/* roster_audit_entry_dump writes entries without jansson; it must give the very
 * bytes the canonical serialiser gives, for every kind of string and number. */
static void test_entry_dump(void)
{
	static const char *const strs[] = {"",
	                                   "ana",
	                                   "uid:4294967294",
	                                   "quote \" and backslash \\",
	                                   "tab\tnew\nline\r",
	                                   "\x01\x1f control",
	                                   "Zo\xc3\xab Ni\xc3\xb1o",
	                                   "\xe6\x97\xa5\xe6\x9c\xac",
	                                   "\xf0\x9f\x98\x80 emoji",
	                                   "\x7f del",
	                                   "per_0123456789abcdefghjkmnpqrs",
	                                   "2026-11-22T00:00:00Z"};
	const size_t n = sizeof(strs) / sizeof(strs[0]);
	json_t *lists[4] = {NULL, json_array(), json_pack("[s]", "per_a"),
	                    json_pack("[s, s, s]", "per_a", "x\"y", "\xc3\xa9")};
	json_t *queries[3] = {
	    NULL, json_pack("{s:I, s:I}", "from", (json_int_t)0, "limit", (json_int_t)1000),
	    json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:I}", "target", "per_a", "actor", "uid:1000",
	              "action", "person.read", "outcome", "denied", "since", "2026-12-01", "until",
	              "2026-12-07T10:00:00Z", "from", (json_int_t)7)};
	uint64_t seqs[] = {0, 1, 9007199254740992ULL};
	int status[] = {200, 201, 404, 507};
	size_t same = 0, total = 0, len;
	struct roster_err err;

	for (size_t i = 0; i < n * 4; i++) {
		struct roster_audit_fields f = {.seq = seqs[i % 3],
		                                .time = strs[(i + 11) % n],
		                                .uid = i % 2 ? 4294967294UL : 0,
		                                .user = strs[i % n],
		                                .action = strs[(i + 1) % n],
		                                .target = strs[(i + 2) % n],
		                                .outcome = strs[(i + 3) % n],
		                                .object = strs[(i + 4) % n],
		                                .prev = strs[(i + 5) % n],
		                                .status = status[i % 4],
		                                .targets = lists[i % 4],
		                                .stored_target = i % 3 ? NULL : strs[(i + 6) % n],
		                                .stored_object = strs[(i + 7) % n],
		                                .person = i % 5 ? NULL : strs[(i + 8) % n],
		                                .query = queries[i % 3]};
		char *direct = roster_audit_entry_dump(&f, &len, &err), *ref = entry_via_json(&f);

		total++;
		if (direct && ref && strcmp(direct, ref) == 0 && len == strlen(ref))
			same++;
		else
			fprintf(stderr, "differs:\n  %s\n  %s\n", direct ? direct : "(null)",
			        ref ? ref : "(null)");
		CHECK(direct && roster_canon_check(direct, len), "entry %zu is canonical", i);
		free(direct);
		free(ref);
	}
	CHECK(same == total, "%zu of %zu entries written directly match the serialiser", same,
	      total);
	{
		struct roster_audit_fields f = {.time = "t",
		                                .user = "\xff\xfe",
		                                .action = "a",
		                                .target = "",
		                                .outcome = "ok",
		                                .object = "",
		                                .prev = ""};

		CHECK(roster_audit_entry_dump(&f, &len, &err) == NULL &&
		          strcmp(err.code, "internal") == 0,
		      "a name that is not UTF-8 is refused, not written");
		f.user = "ana";
		f.seq = (1ULL << 53) + 2;
		CHECK(roster_audit_entry_dump(&f, &len, &err) == NULL,
		      "a seq beyond 2^53 is refused");
		f.seq = 0;
		f.query = lists[1];
		CHECK(roster_audit_entry_dump(&f, &len, &err) == NULL,
		      "a query that is not an object is refused");
	}
	for (int i = 0; i < 4; i++)
		json_decref(lists[i]);
	for (int i = 0; i < 3; i++)
		json_decref(queries[i]);
}

/* A log of n chained entries (each a malloc'd string) and its Merkle root. */
static char **chain(size_t n, uint8_t root[32])
{
	char **e = roster_xcalloc(n, sizeof(*e));
	uint8_t prev[32] = {0};
	struct roster_merkle_range r;

	roster_merkle_range_init(&r);
	for (size_t i = 0; i < n; i++) {
		e[i] = entry(i, prev);
		roster_audit_leaf_hash(prev, (const uint8_t *)e[i], strlen(e[i]));
		roster_merkle_range_append(&r, prev);
	}
	roster_merkle_range_root(&r, root);
	return e;
}

/* How the log fares, checked one entry at a time (jobs 0) or in pages of 1,000
 * on jobs threads: "ok", or the verifier's first failure. */
static char *verdict(char **e, size_t n, const uint8_t root[32], int jobs)
{
	struct verifier_line *lines = roster_xcalloc(n, sizeof(*lines));
	struct verifier v;
	char *out;
	int rc = 0;

	verifier_init(&v, 0);
	verifier_expect(&v, n, root, "signed checkpoint");
	for (size_t i = 0; i < n; i++)
		lines[i] = (struct verifier_line){e[i], strlen(e[i])};
	for (size_t at = 0; at < n && rc == 0; at += 1000) {
		size_t m = n - at < 1000 ? n - at : 1000;

		if (jobs == 0)
			for (size_t i = 0; i < m && rc == 0; i++)
				rc = verifier_entry(&v, e[at + i], strlen(e[at + i]),
				                    (const char *const *)e + at + i + 1, m - i - 1);
		else
			rc = verifier_entries(&v, lines + at, m, m, jobs);
	}
	if (rc == 0)
		rc = verifier_finish(&v);
	out = roster_xstrdup(rc == 0 ? "ok" : v.failure);
	verifier_free(&v);
	free(lines);
	return out;
}

/* The log read ahead on threads fails where and as the one-at-a-time check does:
 * an entry altered (in a chunk's first, middle and last place), two swapped, one
 * gone, one with its prev rewritten. */
static void test_threads(void)
{
	enum { N = 5000 };
	uint8_t root[32];
	char **e = chain(N, root), *tmp;
	static const size_t altered[] = {0, 1, 2047, 2048, 2049, 3001, N - 1};
	int agree = 0, cases = 0;

	for (int step = 0; step < 4; step++) {
		for (size_t k = 0; k < (step == 0 ? sizeof(altered) / sizeof(altered[0]) : 1);
		     k++) {
			size_t at = altered[k], n = N;
			char *saved = e[at], *one, *two, *four;

			if (step == 0) { /* one byte of the target changed */
				e[at] = roster_xstrdup(saved);
				*strstr(e[at], "per_0") = 'P';
			} else if (step == 1) { /* entries 2500 and 2501 swapped */
				tmp = e[2500], e[2500] = e[2501], e[2501] = tmp;
			} else if (step == 2) { /* entry 4000 gone */
				saved = e[4000];
				memmove(e + 4000, e + 4001, (N - 4001) * sizeof(*e));
				n = N - 1;
			}
			one = verdict(e, n, root, 0);
			two = verdict(e, n, root, 2);
			four = verdict(e, n, root, 4);
			cases++;
			agree += strcmp(one, two) == 0 && strcmp(one, four) == 0 &&
			         (step == 3) == (strcmp(one, "ok") == 0);
			if (strcmp(one, two) != 0 || strcmp(one, four) != 0)
				fprintf(stderr, "one at a time: %s\n  2 threads: %s\n  4: %s\n",
				        one, two, four);
			free(one);
			free(two);
			free(four);
			if (step == 0) {
				free(e[at]);
				e[at] = saved;
			} else if (step == 1) {
				tmp = e[2500], e[2500] = e[2501], e[2501] = tmp;
			} else if (step == 2) {
				memmove(e + 4001, e + 4000, (N - 4001) * sizeof(*e));
				e[4000] = saved;
			}
		}
	}
	CHECK(agree == cases, "%d of %d logs judged alike on 1, 2 and 4 threads", agree, cases);
	for (size_t i = 0; i < N; i++)
		free(e[i]);
	free(e);
}

int main(void)
{
	test_threads();
	uint8_t zero[32] = {0}, h0[32], h1[32], leaf[32], empty_leaf[32];
	struct roster_err err;
	char hex[65], *e0, *e1, *bad;

	/* RFC 6962 leaf hash of the empty string, as in every RFC 6962 test tree. */
	roster_audit_leaf_hash(empty_leaf, (const uint8_t *)"", 0);
	roster_hex_encode(hex, empty_leaf, 32);
	CHECK(strcmp(hex, "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d") == 0,
	      "empty leaf %s", hex);

	e0 = entry(0, zero);
	roster_audit_leaf_hash(h0, (const uint8_t *)e0, strlen(e0));
	e1 = entry(1, h0);
	CHECK(roster_audit_check_entry(e0, strlen(e0), 0, zero, leaf, NULL, &err) == 0 &&
	          memcmp(leaf, h0, 32) == 0,
	      "entry 0: %s", err.message);
	CHECK(roster_audit_check_entry(e1, strlen(e1), 1, h0, h1, NULL, &err) == 0, "entry 1: %s",
	      err.message);
	CHECK(roster_audit_check_entry(e1, strlen(e1), 0, zero, leaf, NULL, &err) < 0 &&
	          strcmp(err.code, "out_of_order") == 0,
	      "wrong seq accepted");
	CHECK(roster_audit_check_entry(e1, strlen(e1), 1, zero, leaf, NULL, &err) < 0 &&
	          strcmp(err.code, "broken_chain") == 0,
	      "wrong prev accepted");
	/* An altered entry is still well-formed alone: the next entry's prev catches it. */
	bad = roster_xstrdup(e0);
	bad[strlen(bad) - 3] = '9';
	CHECK(roster_audit_check_entry(bad, strlen(bad), 0, zero, leaf, NULL, &err) == 0,
	      "well-formed entry refused: %s", err.message);
	CHECK(roster_audit_check_entry(e1, strlen(e1), 1, leaf, h1, NULL, &err) < 0 &&
	          strcmp(err.code, "broken_chain") == 0,
	      "entry after an altered one accepted");
	free(bad);
	free(e0);
	free(e1);
	test_entry_dump();
	return test_done();
}
