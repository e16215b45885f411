/*
 * merkle.c - RFC 6962 Merkle tree arithmetic shared by the daemon (which
 * stores the tree) and verifiers (which recompute it). The verification
 * functions follow RFC 9162 section 2.1 step by step so that any other
 * implementation's proofs check here and ours check there.
 */
#include <string.h>

#include <sodium.h>

#include "roster/merkle.h"
#include "roster/sha256.h"

void roster_merkle_node(uint8_t out[MERKLE_HASH], const uint8_t left[MERKLE_HASH],
                        const uint8_t right[MERKLE_HASH])
{
	uint8_t in[1 + 2 * MERKLE_HASH] = {1};

	memcpy(in + 1, left, MERKLE_HASH);
	memcpy(in + 1 + MERKLE_HASH, right, MERKLE_HASH);
	roster_sha256(out, in, sizeof(in));
}

void roster_merkle_empty(uint8_t out[MERKLE_HASH])
{
	roster_sha256(out, "", 0);
}

void roster_merkle_range_init(struct roster_merkle_range *r)
{
	memset(r, 0, sizeof(*r));
}

void roster_merkle_range_append(struct roster_merkle_range *r, const uint8_t leaf[MERKLE_HASH])
{
	/* Each trailing 1 bit of the old size is a peak that merges with the new leaf. */
	memcpy(r->peaks[r->npeaks++], leaf, MERKLE_HASH);
	for (uint64_t s = r->size; s & 1; s >>= 1) {
		r->npeaks--;
		roster_merkle_node(r->peaks[r->npeaks - 1], r->peaks[r->npeaks - 1],
		                   r->peaks[r->npeaks]);
	}
	r->size++;
}

void roster_merkle_range_root(const struct roster_merkle_range *r, uint8_t out[MERKLE_HASH])
{
	if (r->npeaks == 0) {
		roster_merkle_empty(out);
		return;
	}
	/* MTH folds right: H(p0 || H(p1 || ... pk)). */
	memcpy(out, r->peaks[r->npeaks - 1], MERKLE_HASH);
	for (int i = r->npeaks - 2; i >= 0; i--)
		roster_merkle_node(out, r->peaks[i], out);
}

static int same(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	return alen == blen && sodium_memcmp(a, b, alen) == 0;
}

int roster_merkle_verify_inclusion(uint64_t index, uint64_t size, const uint8_t *leaf,
                                   size_t leaf_len, const uint8_t (*proof)[MERKLE_HASH],
                                   size_t nproof, const uint8_t *root, size_t root_len,
                                   struct roster_err *err)
{
	uint64_t fn = index, sn = size - 1;
	uint8_t r[MERKLE_HASH];

	if (index >= size)
		return roster_err_set(err, 422, "bad_proof", "index %llu is outside a tree of %llu",
		                      (unsigned long long)index, (unsigned long long)size);
	if (leaf_len != MERKLE_HASH)
		return roster_err_set(err, 422, "bad_proof", "the leaf hash is not 32 bytes");
	memcpy(r, leaf, MERKLE_HASH);
	for (size_t i = 0; i < nproof; i++) {
		if (sn == 0)
			return roster_err_set(err, 422, "bad_proof", "the proof is too long");
		if ((fn & 1) || fn == sn) {
			roster_merkle_node(r, proof[i], r);
			while (!(fn & 1) && fn != 0) {
				fn >>= 1;
				sn >>= 1;
			}
		} else {
			roster_merkle_node(r, r, proof[i]);
		}
		fn >>= 1;
		sn >>= 1;
	}
	if (sn != 0)
		return roster_err_set(err, 422, "bad_proof", "the proof is too short");
	if (!same(r, MERKLE_HASH, root, root_len))
		return roster_err_set(err, 422, "bad_proof",
		                      "the proof does not lead to the expected root");
	return 0;
}

int roster_merkle_verify_consistency(uint64_t size1, uint64_t size2, const uint8_t *root1,
                                     size_t root1_len, const uint8_t *root2, size_t root2_len,
                                     const uint8_t (*proof)[MERKLE_HASH], size_t nproof,
                                     struct roster_err *err)
{
	uint8_t fr[MERKLE_HASH], sr[MERKLE_HASH];
	uint64_t fn, sn;
	size_t i = 0;

	if (size1 > size2)
		return roster_err_set(err, 422, "bad_proof", "size %llu is larger than %llu",
		                      (unsigned long long)size1, (unsigned long long)size2);
	if (size1 == 0)
		return roster_err_set(err, 422, "bad_proof",
		                      "consistency with the empty tree proves nothing");
	if (size1 == size2) {
		if (nproof != 0 || !same(root1, root1_len, root2, root2_len))
			return roster_err_set(err, 422, "bad_proof",
			                      "equal sizes need equal roots and an empty proof");
		return 0;
	}
	if (nproof == 0)
		return roster_err_set(err, 422, "bad_proof", "the proof is empty");
	/* A power-of-two old size is itself a node of the new tree: its root starts the walk. */
	if ((size1 & (size1 - 1)) == 0) {
		if (root1_len != MERKLE_HASH)
			return roster_err_set(err, 422, "bad_proof",
			                      "the old root is not 32 bytes");
		memcpy(fr, root1, MERKLE_HASH);
	} else {
		memcpy(fr, proof[i++], MERKLE_HASH);
	}
	memcpy(sr, fr, MERKLE_HASH);
	fn = size1 - 1;
	sn = size2 - 1;
	while (fn & 1) {
		fn >>= 1;
		sn >>= 1;
	}
	for (; i < nproof; i++) {
		if (sn == 0)
			return roster_err_set(err, 422, "bad_proof", "the proof is too long");
		if ((fn & 1) || fn == sn) {
			roster_merkle_node(fr, proof[i], fr);
			roster_merkle_node(sr, proof[i], sr);
			while (!(fn & 1) && fn != 0) {
				fn >>= 1;
				sn >>= 1;
			}
		} else {
			roster_merkle_node(sr, sr, proof[i]);
		}
		fn >>= 1;
		sn >>= 1;
	}
	if (sn != 0)
		return roster_err_set(err, 422, "bad_proof", "the proof is too short");
	if (!same(fr, MERKLE_HASH, root1, root1_len) || !same(sr, MERKLE_HASH, root2, root2_len))
		return roster_err_set(err, 422, "bad_proof",
		                      "the proof does not join the old root to the new one");
	return 0;
}
