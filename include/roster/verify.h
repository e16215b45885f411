/*
 * verify.h - the auditor's side of the log: checking an export entry by entry
 * against the chain, the Merkle roots of signed checkpoints, and what this
 * auditor saw before. Needs nothing from the daemon but bytes and a key.
 */
#ifndef ROSTER_VERIFY_H
#define ROSTER_VERIFY_H

#include <jansson.h>

#include "roster/merkle.h"
#include "roster/note.h"
#include "roster/written.h"

struct known_root {
	uint64_t size;
	uint8_t root[MERKLE_HASH];
	const char *what; /* "signed checkpoint", "the checkpoint you saw last" */
};

struct verifier {
	struct roster_merkle_range range;
	uint8_t prev[MERKLE_HASH];
	struct known_root *roots; /* sorted by size */
	size_t nroots, next_root;
	uint64_t last_good;      /* the largest size whose root matched */
	struct written *written; /* every value's last write (--deep), or NULL */
	char *failure;           /* what went wrong, first failure only */
	/* With --deep, called with each entry parsed: -1, with why filled, fails it. */
	int (*entry_check)(void *arg, uint64_t seq, const json_t *entry, char *why, size_t len);
	void *entry_arg;
};

void verifier_init(struct verifier *v, int deep);
void verifier_free(struct verifier *v);
/* Adds a root the prefix of that size must have. */
void verifier_expect(struct verifier *v, uint64_t size, const uint8_t root[MERKLE_HASH],
                     const char *what);
/* Checks the next entry; -1 (with v->failure) at the first problem. lookahead holds the
 * entries after it in the same page, to tell reordered entries from missing ones. */
int verifier_entry(struct verifier *v, const char *line, size_t len, const char *const *lookahead,
                   size_t nlookahead);
/* Checks the next n entries, the first n of total lines, as verifier_entry does
 * each (the lines after each are its lookahead), parsing up to jobs of them at
 * once on threads of its own: the parse and the canonical form are most of a
 * check's cost. */
struct verifier_line {
	const char *p;
	size_t len;
};
#define VERIFIER_JOBS_MAX 16
int verifier_entries(struct verifier *v, const struct verifier_line *lines, size_t n, size_t total,
                     int jobs);
/* At the end: checks that every expected root was reached. */
int verifier_finish(struct verifier *v);

/* Verifies a signed checkpoint note with key and parses it. */
int checkpoint_open(const char *note, const struct roster_vkey *key, char *origin, size_t olen,
                    uint64_t *size, uint8_t root[MERKLE_HASH], char **why);

#endif
