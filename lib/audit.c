/*
 * audit.c - the audit entry's hash chain, shared by the writer and verifiers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "roster/audit.h"
#include "roster/canon.h"
#include "roster/util.h"

void roster_audit_leaf_hash(uint8_t out[ROSTER_HASH_BYTES], const uint8_t *entry, size_t len)
{
	crypto_hash_sha256_state st;
	const uint8_t zero = 0;

	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, &zero, 1);
	crypto_hash_sha256_update(&st, entry, len);
	crypto_hash_sha256_final(&st, out);
}

int roster_audit_check_entry(const char *entry, size_t len, uint64_t want_seq,
                             const uint8_t prev_hash[ROSTER_HASH_BYTES],
                             uint8_t leaf[ROSTER_HASH_BYTES], struct roster_err *err)
{
	char want_prev[2 * ROSTER_HASH_BYTES + 1], *canon = NULL;
	json_t *v = json_loadb(entry, len, JSON_REJECT_DUPLICATES, NULL), *seq, *prev;
	size_t clen;
	int rc = -1;

	/* One parse serves both the canonical-form check and the fields. */
	if (v == NULL || (canon = roster_canon_dump(v, &clen, NULL)) == NULL || clen != len ||
	    memcmp(canon, entry, len) != 0) {
		roster_err_set(err, 422, "not_canonical",
		               "entry %llu is not canonical JSON: altered",
		               (unsigned long long)want_seq);
		goto done;
	}
	seq = json_object_get(v, "seq");
	prev = json_object_get(v, "prev");
	roster_hex_encode(want_prev, prev_hash, ROSTER_HASH_BYTES);
	if (!json_is_integer(seq) || (uint64_t)json_integer_value(seq) != want_seq) {
		roster_err_set(err, 422, "out_of_order",
		               "entry %llu carries seq %lld: missing or reordered entries",
		               (unsigned long long)want_seq,
		               json_is_integer(seq) ? (long long)json_integer_value(seq) : -1LL);
		goto done;
	}
	if (!json_is_string(prev) || strcmp(json_string_value(prev), want_prev) != 0) {
		roster_err_set(
		    err, 422, "broken_chain",
		    "entry %llu: prev does not match the hash of entry %lld: the log was "
		    "altered before it, or entries are missing",
		    (unsigned long long)want_seq, (long long)want_seq - 1);
		goto done;
	}
	roster_audit_leaf_hash(leaf, (const uint8_t *)entry, len);
	rc = 0;
done:
	free(canon);
	json_decref(v);
	return rc;
}
