/*
 * envelope.c - sealing and opening stored records with XChaCha20-Poly1305.
 * See envelope.h for the layout. The associated data is rebuilt from the
 * slot the caller expects, never read from the stored bytes alone, which is
 * what makes a moved or replayed ciphertext fail to open.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "roster/envelope.h"
#include "roster/util.h"

static const uint8_t envelope_magic[3] = {'R', 'E', '1'};

/* "roster-record\0" db "\0" id "\0" version(8) key_id(4): lengths are implied by
 * the NUL separators, and neither db nor id may contain a NUL. */
static uint8_t *slot_ad(const struct roster_slot *slot, uint32_t key_id, size_t *adlen)
{
	static const char tag[] = "roster-record";
	size_t dlen = strlen(slot->db), ilen = strlen(slot->id);
	size_t n = sizeof(tag) + dlen + 1 + ilen + 1 + 8 + 4;
	uint8_t *ad = roster_xmalloc(n), *p = ad;

	memcpy(p, tag, sizeof(tag));
	p += sizeof(tag);
	memcpy(p, slot->db, dlen + 1);
	p += dlen + 1;
	memcpy(p, slot->id, ilen + 1);
	p += ilen + 1;
	roster_be64_put(p, slot->version);
	roster_be32_put(p + 8, key_id);
	*adlen = n;
	return ad;
}

void roster_envelope_seal(const uint8_t key[ROSTER_KEY_BYTES], uint32_t key_id,
                          const struct roster_slot *slot, const uint8_t *pt, size_t ptlen,
                          uint8_t **out, size_t *outlen)
{
	size_t adlen, n = ROSTER_ENVELOPE_HEAD + ptlen + crypto_aead_xchacha20poly1305_ietf_ABYTES;
	uint8_t *ad = slot_ad(slot, key_id, &adlen);
	uint8_t *env = roster_xmalloc(n);
	unsigned long long clen;

	memcpy(env, envelope_magic, 3);
	roster_be32_put(env + 3, key_id);
	roster_be64_put(env + 7, slot->version);
	randombytes_buf(env + 15, 24);
	crypto_aead_xchacha20poly1305_ietf_encrypt(env + ROSTER_ENVELOPE_HEAD, &clen, pt, ptlen, ad,
	                                           adlen, NULL, env + 15, key);
	free(ad);
	*out = env;
	*outlen = ROSTER_ENVELOPE_HEAD + (size_t)clen;
}

int roster_envelope_header(const uint8_t *env, size_t len, uint32_t *key_id, uint64_t *version)
{
	if (len < ROSTER_ENVELOPE_HEAD + crypto_aead_xchacha20poly1305_ietf_ABYTES ||
	    memcmp(env, envelope_magic, 3) != 0)
		return -1;
	*key_id = roster_be32_get(env + 3);
	*version = roster_be64_get(env + 7);
	return 0;
}

int roster_envelope_open(const uint8_t key[ROSTER_KEY_BYTES], uint32_t key_id,
                         const struct roster_slot *slot, const uint8_t *env, size_t len,
                         uint8_t **pt, size_t *ptlen, struct roster_err *err)
{
	uint32_t env_key;
	uint64_t env_version;
	size_t adlen, clen;
	unsigned long long plen;
	uint8_t *ad, *out;
	int rc;

	if (roster_envelope_header(env, len, &env_key, &env_version) < 0)
		return roster_err_set(err, 500, "corrupt_record",
		                      "record %s in %s is not a sealed envelope", slot->id,
		                      slot->db);
	if (env_key != key_id)
		return roster_err_set(err, 500, "wrong_key",
		                      "record %s in %s is sealed with key %u", slot->id, slot->db,
		                      env_key);
	if (env_version != slot->version)
		return roster_err_set(err, 500, "corrupt_record",
		                      "record %s in %s carries version %llu, expected %llu",
		                      slot->id, slot->db, (unsigned long long)env_version,
		                      (unsigned long long)slot->version);
	clen = len - ROSTER_ENVELOPE_HEAD;
	ad = slot_ad(slot, key_id, &adlen);
	out = roster_xmalloc(clen + 1);
	rc = crypto_aead_xchacha20poly1305_ietf_decrypt(
	    out, &plen, NULL, env + ROSTER_ENVELOPE_HEAD, clen, ad, adlen, env + 15, key);
	free(ad);
	if (rc != 0) {
		sodium_memzero(out, clen + 1);
		free(out);
		return roster_err_set(err, 500, "corrupt_record",
		                      "record %s in %s fails authentication: altered, moved or "
		                      "sealed under another key",
		                      slot->id, slot->db);
	}
	out[plen] = '\0';
	*pt = out;
	*ptlen = (size_t)plen;
	return 0;
}
