/*
 * test-envelope.c - sealed records open only in their own slot, at their own
 * version, under their own key; any flipped byte is caught.
 */
#include <string.h>

#include <sodium.h>

#include "roster/envelope.h"
#include "test.h"

int main(void)
{
	uint8_t key[ROSTER_KEY_BYTES], other[ROSTER_KEY_BYTES];
	const char *msg = "{\"name\":\"Ana Example\"}";
	struct roster_slot slot = {"persons", "per_0123456789abcdefghjkmnpqrs", 3};
	struct roster_slot moved = slot, older = slot, elsewhere = slot;
	struct roster_err err;
	uint8_t *env, *pt;
	size_t envlen, ptlen;
	uint32_t kid;
	uint64_t ver;

	if (sodium_init() < 0)
		return 1;
	randombytes_buf(key, sizeof(key));
	randombytes_buf(other, sizeof(other));
	roster_envelope_seal(key, 7, &slot, (const uint8_t *)msg, strlen(msg), &env, &envlen);

	CHECK(roster_envelope_header(env, envlen, &kid, &ver) == 0 && kid == 7 && ver == 3,
	      "header key %u version %llu", kid, (unsigned long long)ver);
	CHECK(memmem(env, envlen, "Ana", 3) == NULL, "plaintext visible in envelope");
	CHECK(roster_envelope_open(key, 7, &slot, env, envlen, &pt, &ptlen, &err) == 0 &&
	          ptlen == strlen(msg) && memcmp(pt, msg, ptlen) == 0,
	      "round trip failed: %s", err.message);
	free(pt);

	moved.id = "per_zzzzzzzzzzzzzzzzzzzzzzzzzz";
	CHECK(roster_envelope_open(key, 7, &moved, env, envlen, &pt, &ptlen, &err) < 0,
	      "opened under another record id");
	older.version = 2;
	CHECK(roster_envelope_open(key, 7, &older, env, envlen, &pt, &ptlen, &err) < 0,
	      "opened at another version");
	elsewhere.db = "documents";
	CHECK(roster_envelope_open(key, 7, &elsewhere, env, envlen, &pt, &ptlen, &err) < 0,
	      "opened in another database");
	CHECK(roster_envelope_open(other, 7, &slot, env, envlen, &pt, &ptlen, &err) < 0,
	      "opened under another key");
	CHECK(roster_envelope_open(key, 8, &slot, env, envlen, &pt, &ptlen, &err) < 0 &&
	          strcmp(err.code, "wrong_key") == 0,
	      "key id mismatch not reported");
	for (size_t i = 0; i < envlen; i++) {
		env[i] ^= 0x01;
		CHECK(roster_envelope_open(key, 7, &slot, env, envlen, &pt, &ptlen, &err) < 0,
		      "flipped byte %zu not detected", i);
		env[i] ^= 0x01;
	}
	CHECK(roster_envelope_open(key, 7, &slot, env, 10, &pt, &ptlen, &err) < 0,
	      "truncated envelope opened");
	free(env);
	return test_done();
}
