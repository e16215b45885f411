/*
 * fuzz-verify.c - what an auditor's rosterctl reads from a daemon it need not
 * trust: verifier keys, signed checkpoint notes, Merkle proofs and audit log
 * entries. The input is cut at 0xff bytes into those parts. Promises: nothing
 * crashes on any bytes; a note verifies only if our key signed it; a text we
 * sign verifies back to the same text; the verifier fails with a reason, never
 * silently.
 */
#include <string.h>

#include <sodium.h>

#include "fuzz.h"
#include "roster/merkle.h"
#include "roster/note.h"
#include "roster/verify.h"

#define PARTS 4

static struct {
	int ready;
	uint8_t pk[32], sk[64];
	struct roster_vkey vkey;
} k;

static void key_once(void)
{
	uint8_t seed[32] = {1};
	struct roster_err err = {0};
	char *vk;

	if (k.ready)
		return;
	FUZZ_ASSERT(sodium_init() >= 0);
	crypto_sign_seed_keypair(k.pk, k.sk, seed);
	vk = roster_note_vkey_format("fuzz.example/roster", k.pk);
	FUZZ_ASSERT(roster_note_vkey_parse(vk, &k.vkey, &err) == 0);
	free(vk);
	k.ready = 1;
}

static void check_note(const char *note)
{
	struct roster_err err = {0};
	struct roster_vkey vk;
	char origin[256], *text = NULL, *why = NULL;
	uint8_t root[MERKLE_HASH];
	uint64_t size;

	(void)roster_note_vkey_parse(note, &vk, &err);
	if (roster_note_verify(note, &k.vkey, &text, &err) == 0) {
		/* Only our key's signature verifies; text is what it signed. */
		FUZZ_ASSERT(text != NULL);
		(void)roster_checkpoint_parse(text, origin, sizeof(origin), &size, root, &err);
	}
	free(text);
	if (checkpoint_open(note, &k.vkey, origin, sizeof(origin), &size, root, &why) != 0)
		FUZZ_ASSERT(why != NULL);
	free(why);
	(void)roster_checkpoint_parse(note, origin, sizeof(origin), &size, root, &err);
}

static void check_sign_roundtrip(const char *text)
{
	struct roster_err err = {0};
	char *note, *back = NULL;
	size_t len = strlen(text);

	if (len == 0 || text[len - 1] != '\n' || strstr(text, "\n\n"))
		return;
	note = roster_note_sign(text, "fuzz.example/roster", k.sk);
	if (note == NULL)
		return;
	FUZZ_ASSERT(roster_note_verify(note, &k.vkey, &back, &err) == 0);
	FUZZ_ASSERT(back != NULL && strcmp(back, text) == 0);
	free(back);
	free(note);
}

static uint64_t u64_at(const uint8_t *p, size_t n)
{
	uint64_t v = 0;

	for (size_t i = 0; i < 8 && i < n; i++)
		v = v << 8 | p[i];
	return v;
}

static void check_proofs(const uint8_t *p, size_t n)
{
	struct roster_err err = {0};
	const uint8_t(*proof)[MERKLE_HASH];
	size_t nproof;
	uint64_t a, b;

	if (n < 16 + 2 * MERKLE_HASH)
		return;
	a = u64_at(p, 8) % 4096;
	b = u64_at(p + 8, 8) % 4096;
	proof = (const uint8_t(*)[MERKLE_HASH])(p + 16 + 2 * MERKLE_HASH);
	nproof = (n - 16 - 2 * MERKLE_HASH) / MERKLE_HASH;
	(void)roster_merkle_verify_inclusion(a, b, p + 16, MERKLE_HASH, proof, nproof,
	                                     p + 16 + MERKLE_HASH, MERKLE_HASH, &err);
	(void)roster_merkle_verify_consistency(a, b, p + 16, MERKLE_HASH, p + 16 + MERKLE_HASH,
	                                       MERKLE_HASH, proof, nproof, &err);
}

static void check_entries(char *text)
{
	struct verifier v, w;
	const char *lines[64];
	struct verifier_line page[64];
	size_t n = 0;
	int rc = 0, rc2;

	for (char *s = text, *nl; *s && n < 64; s = nl + 1) {
		lines[n++] = s;
		if ((nl = strchr(s, '\n')) == NULL)
			break;
		*nl = '\0';
	}
	verifier_init(&v, 1);
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = verifier_entry(&v, lines[i], strlen(lines[i]), lines + i + 1, n - i - 1);
	if (rc == 0)
		rc = verifier_finish(&v);
	FUZZ_ASSERT(rc == 0 || v.failure != NULL);
	/* A page at once (the path audit verify takes) judges it alike. */
	for (size_t i = 0; i < n; i++)
		page[i] = (struct verifier_line){lines[i], strlen(lines[i])};
	verifier_init(&w, 1);
	rc2 = verifier_entries(&w, page, n, n, 2);
	if (rc2 == 0)
		rc2 = verifier_finish(&w);
	FUZZ_ASSERT(rc2 == rc);
	FUZZ_ASSERT(rc == 0 || strcmp(v.failure, w.failure) == 0);
	verifier_free(&w);
	verifier_free(&v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *part[PARTS] = {0};
	size_t len[PARTS] = {0}, at = 0;

	key_once();
	for (int i = 0; i < PARTS; i++) {
		size_t end = at;

		while (end < size && data[end] != 0xff)
			end++;
		len[i] = end - at;
		part[i] = malloc(len[i] + 1);
		memcpy(part[i], data + at, len[i]);
		part[i][len[i]] = '\0';
		at = end < size ? end + 1 : size;
	}
	check_note(part[0]);
	check_sign_roundtrip(part[1]);
	check_proofs((const uint8_t *)part[2], len[2]);
	check_entries(part[3]);
	for (int i = 0; i < PARTS; i++)
		free(part[i]);
	return 0;
}
