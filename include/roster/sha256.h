/*
 * sha256.h - SHA-256 for the audit log's leaf and node hashes (RFC 6962), the
 * ciphertext digests in audit entries and signed-note key ids.
 */
#ifndef ROSTER_SHA256_H
#define ROSTER_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define ROSTER_SHA256_BYTES 32

struct roster_bytes {
	const void *p;
	size_t len;
};

void roster_sha256(uint8_t out[ROSTER_SHA256_BYTES], const void *in, size_t len);
/* The hash of the parts one after the other. */
void roster_sha256_parts(uint8_t out[ROSTER_SHA256_BYTES], const struct roster_bytes *parts,
                         size_t n);

#endif
