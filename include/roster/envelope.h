/*
 * envelope.h - the encrypted form of every stored record.
 *
 * Layout: "RE1" | key id (u32 BE) | version (u64 BE) | nonce (24) | XChaCha20-Poly1305
 * ciphertext and tag. The associated data binds the database name, the record id,
 * the version and the key id, so a ciphertext copied into another slot, or replayed at
 * another version, fails to open.
 */
#ifndef ROSTER_ENVELOPE_H
#define ROSTER_ENVELOPE_H

#include <stddef.h>
#include <stdint.h>

#include "roster/err.h"

#define ROSTER_KEY_BYTES     32
#define ROSTER_ENVELOPE_HEAD (3 + 4 + 8 + 24)

struct roster_slot {
	const char *db;   /* "persons", "documents", "travel", "keys" */
	const char *id;   /* the record's id */
	uint64_t version; /* the record's version */
};

/* Seals pt into a new malloc'd envelope in *out. Never fails short of memory. */
void roster_envelope_seal(const uint8_t key[ROSTER_KEY_BYTES], uint32_t key_id,
                          const struct roster_slot *slot, const uint8_t *pt, size_t ptlen,
                          uint8_t **out, size_t *outlen);

/* Reads the header; -1 when env is not an envelope. */
int roster_envelope_header(const uint8_t *env, size_t len, uint32_t *key_id, uint64_t *version);

/* Opens env into a malloc'd plaintext (NUL-terminated for convenience). -1 and err
 * when it is not an envelope, the key id differs, or authentication fails. */
int roster_envelope_open(const uint8_t key[ROSTER_KEY_BYTES], uint32_t key_id,
                         const struct roster_slot *slot, const uint8_t *env, size_t len,
                         uint8_t **pt, size_t *ptlen, struct roster_err *err);

#endif
