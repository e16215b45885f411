/*
 * test-audit.c - the audit chain: leaf hashes as RFC 6962 defines them, and the
 * per-entry checks a verifier runs on an export.
 */
#include <string.h>

#include <sodium.h>

#include "roster/audit.h"
#include "roster/canon.h"
#include "roster/util.h"
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

int main(void)
{
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
	CHECK(roster_audit_check_entry(e0, strlen(e0), 0, zero, leaf, &err) == 0 &&
	          memcmp(leaf, h0, 32) == 0,
	      "entry 0: %s", err.message);
	CHECK(roster_audit_check_entry(e1, strlen(e1), 1, h0, h1, &err) == 0, "entry 1: %s",
	      err.message);
	CHECK(roster_audit_check_entry(e1, strlen(e1), 0, zero, leaf, &err) < 0 &&
	          strcmp(err.code, "out_of_order") == 0,
	      "wrong seq accepted");
	CHECK(roster_audit_check_entry(e1, strlen(e1), 1, zero, leaf, &err) < 0 &&
	          strcmp(err.code, "broken_chain") == 0,
	      "wrong prev accepted");
	/* An altered entry is still well-formed alone: the next entry's prev catches it. */
	bad = roster_xstrdup(e0);
	bad[strlen(bad) - 3] = '9';
	CHECK(roster_audit_check_entry(bad, strlen(bad), 0, zero, leaf, &err) == 0,
	      "well-formed entry refused: %s", err.message);
	CHECK(roster_audit_check_entry(e1, strlen(e1), 1, leaf, h1, &err) < 0 &&
	          strcmp(err.code, "broken_chain") == 0,
	      "entry after an altered one accepted");
	free(bad);
	free(e0);
	free(e1);
	return test_done();
}
