/*
 * note.c - C2SP signed-note and tlog-checkpoint, for Ed25519 keys.
 *
 * A note is its text (ending in a newline), a blank line, and one line per
 * signature: "— <key name> <base64(key id || signature)>". A verifier key is
 * "<name>+<hex key id>+<base64(0x01 || public key)>". Only the formats are
 * implemented here; trust decisions (which key, which origin) are the caller's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "roster/note.h"
#include "roster/sha256.h"
#include "roster/util.h"

#define EM_DASH     "\xe2\x80\x94"
#define ED25519_ALG 0x01

static char *b64(const uint8_t *bin, size_t len)
{
	size_t n = sodium_base64_encoded_len(len, sodium_base64_VARIANT_ORIGINAL);
	char *out = roster_xmalloc(n);

	sodium_bin2base64(out, n, bin, len, sodium_base64_VARIANT_ORIGINAL);
	return out;
}

static int unb64(const char *s, size_t slen, uint8_t *out, size_t max, size_t *len)
{
	const char *end;

	return sodium_base642bin(out, max, s, slen, NULL, len, &end,
	                         sodium_base64_VARIANT_ORIGINAL) == 0 &&
	               end == s + slen
	           ? 0
	           : -1;
}

static int name_ok(const char *name, size_t len)
{
	if (len == 0 || len >= NOTE_NAME_MAX)
		return 0;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)name[i] <= ' ' || name[i] == '+' ||
		    (unsigned char)name[i] >= 0x7f)
			return 0;
	return 1;
}

uint32_t roster_note_key_id(const char *name, const uint8_t pk[32])
{
	const uint8_t alg = ED25519_ALG;
	const struct roster_bytes parts[] = {{name, strlen(name)}, {"\n", 1}, {&alg, 1}, {pk, 32}};
	uint8_t h[ROSTER_SHA256_BYTES];

	roster_sha256_parts(h, parts, 4);
	return roster_be32_get(h);
}

char *roster_note_vkey_format(const char *name, const uint8_t pk[32])
{
	uint8_t raw[33] = {ED25519_ALG};
	char *enc, *out;

	memcpy(raw + 1, pk, 32);
	enc = b64(raw, sizeof(raw));
	out = roster_xasprintf("%s+%08x+%s", name, roster_note_key_id(name, pk), enc);
	free(enc);
	return out;
}

int roster_note_vkey_parse(const char *s, struct roster_vkey *out, struct roster_err *err)
{
	const char *p1 = strchr(s, '+'), *p2 = p1 ? strchr(p1 + 1, '+') : NULL;
	uint8_t raw[33], idb[4];
	char idhex[9];
	size_t len;

	if (p1 == NULL || p2 == NULL || !name_ok(s, (size_t)(p1 - s)) || p2 - p1 != 9)
		return roster_err_set(err, 422, "bad_vkey",
		                      "a verifier key looks like name+1234abcd+base64");
	memcpy(idhex, p1 + 1, 8);
	idhex[8] = '\0';
	if (roster_hex_decode(idb, 4, idhex) < 0 ||
	    unb64(p2 + 1, strlen(p2 + 1), raw, sizeof(raw), &len) < 0 || len != 33 ||
	    raw[0] != ED25519_ALG)
		return roster_err_set(err, 422, "bad_vkey",
		                      "the verifier key is not an Ed25519 key in C2SP form");
	memcpy(out->name, s, (size_t)(p1 - s));
	out->name[p1 - s] = '\0';
	memcpy(out->pk, raw + 1, 32);
	out->id = roster_be32_get(idb);
	if (out->id != roster_note_key_id(out->name, out->pk))
		return roster_err_set(err, 422, "bad_vkey",
		                      "the verifier key's id does not match its name and key");
	return 0;
}

static char *sig_line(const char *text, size_t text_len, const char *name, const uint8_t sk[64])
{
	uint8_t blob[4 + crypto_sign_BYTES], pk[32];
	char *enc, *line;

	crypto_sign_ed25519_sk_to_pk(pk, sk);
	roster_be32_put(blob, roster_note_key_id(name, pk));
	crypto_sign_detached(blob + 4, NULL, (const uint8_t *)text, text_len, sk);
	enc = b64(blob, sizeof(blob));
	line = roster_xasprintf(EM_DASH " %s %s\n", name, enc);
	free(enc);
	return line;
}

char *roster_note_sign(const char *text, const char *name, const uint8_t sk[64])
{
	char *line = sig_line(text, strlen(text), name, sk);
	char *note = roster_xasprintf("%s\n%s", text, line);

	free(line);
	return note;
}

/* Splits note at its last blank line: text is [0, *text_len), signatures follow. */
static int note_split(const char *note, size_t *text_len, struct roster_err *err)
{
	const char *sep = NULL;

	for (const char *p = strstr(note, "\n\n"); p; p = strstr(p + 1, "\n\n"))
		sep = p;
	if (sep == NULL || sep[2] == '\0' || note[strlen(note) - 1] != '\n') {
		roster_err_set(err, 422, "bad_note",
		               "not a signed note: no blank line before signatures");
		return -1;
	}
	*text_len = (size_t)(sep - note) + 1;
	return 0;
}

char *roster_note_cosign(const char *note, const char *name, const uint8_t sk[64],
                         struct roster_err *err)
{
	size_t text_len;
	char *line, *out;

	if (note_split(note, &text_len, err) < 0)
		return NULL;
	line = sig_line(note, text_len, name, sk);
	out = roster_xasprintf("%s%s", note, line);
	free(line);
	return out;
}

int roster_note_verify(const char *note, const struct roster_vkey *key, char **text,
                       struct roster_err *err)
{
	size_t text_len, name_len = strlen(key->name);
	const char *line;

	if (note_split(note, &text_len, err) < 0)
		return -1;
	for (line = note + text_len + 1; *line;) {
		const char *nl = strchr(line, '\n'), *p = line + strlen(EM_DASH " ");
		uint8_t blob[4 + crypto_sign_BYTES + 1];
		size_t len;

		if (nl == NULL || strncmp(line, EM_DASH " ", strlen(EM_DASH " ")) != 0)
			return roster_err_set(err, 422, "bad_note",
			                      "a signature line must start with an em dash");
		if (strncmp(p, key->name, name_len) == 0 && p[name_len] == ' ' &&
		    unb64(p + name_len + 1, (size_t)(nl - p - name_len - 1), blob, sizeof(blob),
		          &len) == 0 &&
		    len == sizeof(blob) - 1 && roster_be32_get(blob) == key->id) {
			if (crypto_sign_verify_detached(blob + 4, (const uint8_t *)note, text_len,
			                                key->pk) != 0)
				return roster_err_set(err, 422, "bad_signature",
				                      "the signature of %s does not match the "
				                      "note: altered, or not signed by this key",
				                      key->name);
			*text = roster_xmalloc(text_len + 1);
			memcpy(*text, note, text_len);
			(*text)[text_len] = '\0';
			return 0;
		}
		line = nl + 1;
	}
	return roster_err_set(err, 422, "unsigned",
	                      "the note carries no signature by %s (key %08x)", key->name, key->id);
}

char *roster_checkpoint_format(const char *origin, uint64_t size, const uint8_t root[32])
{
	char *enc = b64(root, 32);
	char *body = roster_xasprintf("%s\n%llu\n%s\n", origin, (unsigned long long)size, enc);

	free(enc);
	return body;
}

int roster_checkpoint_parse(const char *text, char *origin, size_t origin_len, uint64_t *size,
                            uint8_t root[32], struct roster_err *err)
{
	const char *l1 = strchr(text, '\n'), *l2 = l1 ? strchr(l1 + 1, '\n') : NULL;
	const char *l3 = l2 ? strchr(l2 + 1, '\n') : NULL;
	char num[24];
	size_t len;

	if (l3 == NULL || (size_t)(l1 - text) >= origin_len || l2 - l1 - 1 <= 0 ||
	    l2 - l1 - 1 >= (long)sizeof(num))
		return roster_err_set(err, 422, "bad_checkpoint",
		                      "a checkpoint is origin, size and root on three lines");
	memcpy(origin, text, (size_t)(l1 - text));
	origin[l1 - text] = '\0';
	memcpy(num, l1 + 1, (size_t)(l2 - l1 - 1));
	num[l2 - l1 - 1] = '\0';
	for (const char *p = num; *p; p++)
		if (*p < '0' || *p > '9' || (p == num && *p == '0' && p[1]))
			return roster_err_set(err, 422, "bad_checkpoint",
			                      "the checkpoint's size is not a decimal number");
	*size = strtoull(num, NULL, 10);
	if (unb64(l2 + 1, (size_t)(l3 - l2 - 1), root, 32, &len) < 0 || len != 32)
		return roster_err_set(err, 422, "bad_checkpoint",
		                      "the checkpoint's root is not a base64 SHA-256 hash");
	return 0;
}
