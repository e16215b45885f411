/*
 * sha256.c - SHA-256 through OpenSSL's libcrypto. libsodium's SHA-256 is portable
 * C; libcrypto uses the CPU's SHA extensions where it has them, about four times
 * faster on a record's digest, and hashing (the ciphertext digest, the entry's
 * leaf hash, Merkle nodes) was a third of the writer's instructions per create.
 * Everything else cryptographic stays with libsodium.
 */
#include <pthread.h>

#include <openssl/evp.h>

#include "roster/log.h"
#include "roster/sha256.h"

static pthread_once_t fetch_once = PTHREAD_ONCE_INIT;
static EVP_MD *sha256_md; /* set once, then only read */

static void fetch(void)
{
	/* An explicit fetch: EVP_sha256() would look the implementation up per call. */
	if ((sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL)) == NULL)
		fatalx("libcrypto has no SHA-256");
}

static const EVP_MD *md(void)
{
	pthread_once(&fetch_once, fetch);
	return sha256_md;
}

void roster_sha256(uint8_t out[ROSTER_SHA256_BYTES], const void *in, size_t len)
{
	if (EVP_Digest(in, len, out, NULL, md(), NULL) != 1)
		fatalx("SHA-256 failed (out of memory?)");
}

void roster_sha256_parts(uint8_t out[ROSTER_SHA256_BYTES], const struct roster_bytes *parts,
                         size_t n)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok = ctx != NULL && EVP_DigestInit_ex2(ctx, md(), NULL) == 1;

	for (size_t i = 0; ok && i < n; i++)
		ok = EVP_DigestUpdate(ctx, parts[i].p, parts[i].len) == 1;
	ok = ok && EVP_DigestFinal_ex(ctx, out, NULL) == 1;
	EVP_MD_CTX_free(ctx);
	if (!ok)
		fatalx("SHA-256 failed (out of memory?)");
}
