/*
 * fuzz-envelope.c - the record envelope (XChaCha20-Poly1305, AD = database, id,
 * version, key id). Promises: any bytes read as an envelope either open under
 * the right key and slot or are refused with a message; any plaintext sealed
 * opens back to itself in its own slot and in no other (another version, id,
 * database or key id), and any single flipped bit makes it fail.
 */
#include <string.h>

#include "fuzz.h"
#include "roster/envelope.h"

static const uint8_t key[ROSTER_KEY_BYTES] = {
    0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42,
    0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42};

static int opens(uint32_t key_id, const struct roster_slot *slot, const uint8_t *env, size_t len,
                 uint8_t **pt, size_t *ptlen)
{
	struct roster_err err = {0};
	int rc = roster_envelope_open(key, key_id, slot, env, len, pt, ptlen, &err);

	FUZZ_ASSERT(rc == 0 || err.message[0]);
	return rc == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct roster_slot slot = {"persons", "per_01m82y2ah15yrrhqz9t4f9wjrp", 3};
	struct roster_slot other = slot;
	uint8_t *env, *pt = NULL;
	size_t envlen, ptlen;
	uint32_t kid;
	uint64_t version;

	/* As an envelope read from disk. */
	(void)roster_envelope_header(data, size, &kid, &version);
	if (opens(7, &slot, data, size, &pt, &ptlen))
		free(pt);
	pt = NULL;

	/* As a plaintext: seal, open, and fail anywhere else. */
	roster_envelope_seal(key, 7, &slot, data, size, &env, &envlen);
	FUZZ_ASSERT(roster_envelope_header(env, envlen, &kid, &version) == 0);
	FUZZ_ASSERT(kid == 7 && version == 3);
	FUZZ_ASSERT(opens(7, &slot, env, envlen, &pt, &ptlen));
	FUZZ_ASSERT(ptlen == size && memcmp(pt, data, size) == 0);
	free(pt);
	other.version = 4;
	FUZZ_ASSERT(!opens(7, &other, env, envlen, &pt, &ptlen));
	other = slot;
	other.id = "per_01m82y2mpye700tcgz28qr6x50";
	FUZZ_ASSERT(!opens(7, &other, env, envlen, &pt, &ptlen));
	other = slot;
	other.db = "documents";
	FUZZ_ASSERT(!opens(7, &other, env, envlen, &pt, &ptlen));
	FUZZ_ASSERT(!opens(8, &slot, env, envlen, &pt, &ptlen));
	FUZZ_ASSERT(!opens(7, &slot, env, envlen - 1, &pt, &ptlen));
	if (size > 0) {
		size_t at = data[0] % envlen;

		env[at] ^= (uint8_t)(1u << (data[size - 1] % 8));
		FUZZ_ASSERT(!opens(7, &slot, env, envlen, &pt, &ptlen));
	}
	free(env);
	return 0;
}
