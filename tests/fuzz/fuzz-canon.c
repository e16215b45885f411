/*
 * fuzz-canon.c - RFC 8785 canonical JSON, the bytes every audit entry and
 * record digest is computed over. Promise: whatever JSON jansson accepts
 * either has a canonical form or is refused (numbers outside what the registry
 * stores); the canonical form passes roster_canon_check, and canonicalising it
 * again gives the very same bytes. roster_canon_check never crashes on any bytes.
 * The compact form records are stored in (members in their own order) is
 * written for exactly the values that have a canonical form, and reads back
 * as the same value: its canonical form is the original's.
 */
#include <string.h>

#include "fuzz.h"
#include "roster/canon.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct roster_err err = {0}, cerr = {0};
	struct roster_canon_buf compact = {0};
	json_t *v, *again;
	size_t len, len2;
	char *c, *c2;
	int compact_rc;

	(void)roster_canon_check((const char *)data, size);
	v = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL);
	if (v == NULL)
		return 0;
	c = roster_canon_dump(v, &len, &err);
	compact_rc = roster_json_compact(&compact, v, &cerr);
	json_decref(v);
	FUZZ_ASSERT((c == NULL) == (compact_rc < 0));
	if (c == NULL) {
		FUZZ_ASSERT(err.message[0] && cerr.message[0]);
		roster_canon_buf_wipe(&compact);
		return 0;
	}
	again = json_loadb(compact.p, compact.len, JSON_DECODE_ANY | JSON_DECODE_INT_AS_REAL, NULL);
	FUZZ_ASSERT(again != NULL);
	c2 = roster_canon_dump(again, &len2, &err);
	FUZZ_ASSERT(c2 != NULL && len2 == len && memcmp(c, c2, len) == 0);
	json_decref(again);
	free(c2);
	roster_canon_buf_wipe(&compact);
	FUZZ_ASSERT(roster_canon_check(c, len) == 1);
	again = json_loadb(c, len, JSON_DECODE_ANY | JSON_DECODE_INT_AS_REAL, NULL);
	FUZZ_ASSERT(again != NULL);
	c2 = roster_canon_dump(again, &len2, &err);
	FUZZ_ASSERT(c2 != NULL && len2 == len && memcmp(c, c2, len) == 0);
	json_decref(again);
	free(c);
	free(c2);
	return 0;
}
