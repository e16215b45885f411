/*
 * merkle.h - RFC 6962 / RFC 9162 Merkle trees over SHA-256: node hashing, a
 * streaming root over leaf hashes (for verifiers that read a whole log), and
 * verification of inclusion and consistency proofs.
 */
#ifndef ROSTER_MERKLE_H
#define ROSTER_MERKLE_H

#include <stddef.h>
#include <stdint.h>

#include "roster/err.h"

#define MERKLE_HASH 32

/* SHA-256(0x01 || left || right) */
void roster_merkle_node(uint8_t out[MERKLE_HASH], const uint8_t left[MERKLE_HASH],
                        const uint8_t right[MERKLE_HASH]);
/* SHA-256 of the empty string: the root of the empty tree. */
void roster_merkle_empty(uint8_t out[MERKLE_HASH]);

/* A compact range [0, size): the roots of the perfect subtrees of the prefix,
 * largest first. Appending is O(1) amortised, the root O(log n). */
struct roster_merkle_range {
	uint64_t size;
	uint8_t peaks[64][MERKLE_HASH];
	int npeaks;
};

void roster_merkle_range_init(struct roster_merkle_range *r);
void roster_merkle_range_append(struct roster_merkle_range *r, const uint8_t leaf[MERKLE_HASH]);
void roster_merkle_range_root(const struct roster_merkle_range *r, uint8_t out[MERKLE_HASH]);

/* Proof verification, byte-exact with RFC 9162 sections 2.1.3.2 and 2.1.4.2.
 * Hashes may have any length (a wrong length simply fails to match). */
int roster_merkle_verify_inclusion(uint64_t index, uint64_t size, const uint8_t *leaf,
                                   size_t leaf_len, const uint8_t (*proof)[MERKLE_HASH],
                                   size_t nproof, const uint8_t *root, size_t root_len,
                                   struct roster_err *err);
int roster_merkle_verify_consistency(uint64_t size1, uint64_t size2, const uint8_t *root1,
                                     size_t root1_len, const uint8_t *root2, size_t root2_len,
                                     const uint8_t (*proof)[MERKLE_HASH], size_t nproof,
                                     struct roster_err *err);

#endif
