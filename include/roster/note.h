/*
 * note.h - C2SP signed notes (Ed25519) and tlog-checkpoint bodies: what the
 * daemon signs and what any auditor verifies with nothing but a verifier key.
 */
#ifndef ROSTER_NOTE_H
#define ROSTER_NOTE_H

#include <stddef.h>
#include <stdint.h>

#include "roster/err.h"

#define NOTE_NAME_MAX 256

struct roster_vkey {
	char name[NOTE_NAME_MAX];
	uint32_t id;
	uint8_t pk[32];
};

/* The key id of an Ed25519 key: SHA-256(name || "\n" || 0x01 || pk)[:4], big-endian. */
uint32_t roster_note_key_id(const char *name, const uint8_t pk[32]);
/* "name+hexid+base64(0x01 || pk)"; malloc'd. */
char *roster_note_vkey_format(const char *name, const uint8_t pk[32]);
int roster_note_vkey_parse(const char *s, struct roster_vkey *out, struct roster_err *err);

/* Appends a signature line block to text (which must end in "\n"); malloc'd note. */
char *roster_note_sign(const char *text, const char *name, const uint8_t sk[64]);
/* Adds one more signature to an existing note; malloc'd. */
char *roster_note_cosign(const char *note, const char *name, const uint8_t sk[64],
                         struct roster_err *err);
/* Verifies that key signed note; on success *text (malloc'd) is the signed text. */
int roster_note_verify(const char *note, const struct roster_vkey *key, char **text,
                       struct roster_err *err);

/* tlog-checkpoint body: "origin\nsize\nbase64(root)\n". */
char *roster_checkpoint_format(const char *origin, uint64_t size, const uint8_t root[32]);
int roster_checkpoint_parse(const char *text, char *origin, size_t origin_len, uint64_t *size,
                            uint8_t root[32], struct roster_err *err);

#endif
