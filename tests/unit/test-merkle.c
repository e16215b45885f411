/*
 * test-merkle.c - RFC 6962 trees: every public inclusion and consistency vector,
 * the standard 8-leaf test tree, and the compact range against a plain recursive
 * MTH for every size up to 70.
 */
#include <ftw.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "roster/audit.h"
#include "roster/merkle.h"
#include "test.h"

static size_t b64(const char *s, uint8_t *out, size_t max)
{
	size_t len = 0;

	if (s == NULL || sodium_base642bin(out, max, s, strlen(s), NULL, &len, NULL,
	                                   sodium_base64_VARIANT_ORIGINAL) != 0)
		return 0;
	return len;
}

static size_t proof_of(const json_t *arr, uint8_t (*proof)[MERKLE_HASH], int *bad_len)
{
	size_t n = 0;

	*bad_len = 0;
	for (size_t i = 0; i < json_array_size(arr) && n < 64; i++, n++)
		if (b64(json_string_value(json_array_get(arr, i)), proof[n], MERKLE_HASH) !=
		    MERKLE_HASH)
			*bad_len = 1;
	return n;
}

/* Sizes and indexes go up to 2^64 - 1, beyond jansson's integers: read them raw. */
static uint64_t u64_field(const char *text, const char *key)
{
	char pattern[32];
	const char *p;

	snprintf(pattern, sizeof(pattern), "\"%s\":", key);
	p = strstr(text, pattern);
	return p ? strtoull(p + strlen(pattern) + strspn(p + strlen(pattern), " "), NULL, 10) : 0;
}

static int vectors_seen;

static int one_vector(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	uint8_t proof[64][MERKLE_HASH], r1[64], r2[64], leaf[64];
	json_t *v;
	size_t n, l1, l2, ll;
	int bad_len, rc, want_err;
	char *text;

	(void)sb;
	(void)ftw;
	if (type != FTW_F || strstr(path, ".json") == NULL)
		return 0;
	text = test_slurp(path, NULL);
	v = json_loads(text, JSON_DECODE_INT_AS_REAL, NULL);
	CHECK(v != NULL, "%s does not load", path);
	if (v == NULL) {
		free(text);
		return 0;
	}
	want_err = json_is_true(json_object_get(v, "wantErr"));
	n = proof_of(json_object_get(v, "proof"), proof, &bad_len);
	if (json_object_get(v, "leafIdx")) {
		l1 = b64(json_string_value(json_object_get(v, "root")), r1, sizeof(r1));
		ll = b64(json_string_value(json_object_get(v, "leafHash")), leaf, sizeof(leaf));
		rc = bad_len ? -1
		             : roster_merkle_verify_inclusion(
		                   u64_field(text, "leafIdx"), u64_field(text, "treeSize"), leaf,
		                   ll, (const uint8_t(*)[MERKLE_HASH])proof, n, r1, l1, NULL);
	} else {
		l1 = b64(json_string_value(json_object_get(v, "root1")), r1, sizeof(r1));
		l2 = b64(json_string_value(json_object_get(v, "root2")), r2, sizeof(r2));
		rc = bad_len ? -1
		             : roster_merkle_verify_consistency(
		                   u64_field(text, "size1"), u64_field(text, "size2"), r1, l1, r2,
		                   l2, (const uint8_t(*)[MERKLE_HASH])proof, n, NULL);
	}
	CHECK((rc == 0) == !want_err, "%s: verify says %s, vector says %s", path,
	      rc == 0 ? "valid" : "invalid", want_err ? "invalid" : "valid");
	vectors_seen++;
	json_decref(v);
	free(text);
	return 0;
}

/* The recursive definition of RFC 6962 section 2.1, as the reference. */
static void mth(const uint8_t (*leaves)[MERKLE_HASH], size_t n, uint8_t out[MERKLE_HASH])
{
	uint8_t l[MERKLE_HASH], r[MERKLE_HASH];
	size_t k = 1;

	if (n == 1) {
		memcpy(out, leaves[0], MERKLE_HASH);
		return;
	}
	while (k * 2 < n)
		k *= 2;
	mth(leaves, k, l);
	mth(leaves + k, n - k, r);
	roster_merkle_node(out, l, r);
}

static void test_test_tree(void)
{
	static const char *const hex[] = {"",
	                                  "00",
	                                  "10",
	                                  "2021",
	                                  "3031",
	                                  "40414243",
	                                  "5051525354555657",
	                                  "606162636465666768696a6b6c6d6e6f"};
	struct roster_merkle_range range;
	uint8_t leaves[70][MERKLE_HASH], root[MERKLE_HASH], want[MERKLE_HASH];
	char out[65];

	roster_merkle_range_init(&range);
	roster_merkle_range_root(&range, root);
	roster_merkle_empty(want);
	CHECK(memcmp(root, want, MERKLE_HASH) == 0, "empty tree root");
	for (int i = 0; i < 8; i++) {
		uint8_t data[16];
		size_t len = strlen(hex[i]) / 2;

		sodium_hex2bin(data, sizeof(data), hex[i], strlen(hex[i]), NULL, NULL, NULL);
		roster_audit_leaf_hash(leaves[i], data, len);
		roster_merkle_range_append(&range, leaves[i]);
	}
	roster_merkle_range_root(&range, root);
	sodium_bin2hex(out, sizeof(out), root, MERKLE_HASH);
	CHECK(strcmp(out, "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328") == 0,
	      "8-leaf test tree root %s", out);

	roster_merkle_range_init(&range);
	for (int n = 1; n <= 70; n++) {
		uint8_t b = (uint8_t)n;

		roster_audit_leaf_hash(leaves[n - 1], &b, 1);
		roster_merkle_range_append(&range, leaves[n - 1]);
		roster_merkle_range_root(&range, root);
		mth((const uint8_t(*)[MERKLE_HASH])leaves, (size_t)n, want);
		CHECK(memcmp(root, want, MERKLE_HASH) == 0, "compact range root at size %d", n);
	}
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	nftw(VECTORS "/rfc6962", one_vector, 16, FTW_PHYS);
	CHECK(vectors_seen >= 150, "only %d RFC 6962 vectors found", vectors_seen);
	test_test_tree();
	return test_done();
}
