/*
 * aquery.h - an auditor's question of the audit log: the entries naming a
 * record, by an account, of an action or outcome, within a time span, each
 * condition optional and all of them required. Shared by the daemon, which
 * answers it from the log's block filters (daemon/audit-filter.c), and by
 * rosterctl, which asks it and answers it itself over an exported file, so both
 * select the same entries.
 */
#ifndef ROSTER_AQUERY_H
#define ROSTER_AQUERY_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "roster/err.h"

/* Longest value a condition takes (an account name, an action, an outcome). */
#define ROSTER_AQUERY_VALUE_MAX 64

struct roster_aquery {
	char *target, *user, *action, *outcome, *since, *until; /* NULL: any */
	long long uid;                                          /* -1: any */
	uint64_t since_at, until_at; /* the span as roster_audit_time_pack gives it */
	/* Text each matching entry holds as the canonical form writes it: an entry
	 * without one is passed over unparsed (a parse is most of a match's cost). */
	char *needle[5];
	size_t nneedles;
	/* Hashes a block's filter must hold for the block to hold a match. */
	uint64_t id_hash, key[3];
	size_t nkeys;
};

void roster_aquery_init(struct roster_aquery *q);
void roster_aquery_free(struct roster_aquery *q);

/* Sets one condition: field is "target", "actor" (an account name or uid:N),
 * "action", "outcome", "since" or "until" (YYYY-MM-DD, or YYYY-MM-DDTHH:MM:SSZ
 * as the entries have it; a date as "until" covers that whole day). -1 with err
 * set (400 bad_query) when the value cannot be one, or was given already. */
int roster_aquery_set(struct roster_aquery *q, const char *field, const char *value,
                      struct roster_err *err);
/* Whether no condition is set (every entry matches). */
int roster_aquery_empty(const struct roster_aquery *q);

/* 0 when the entry's canonical bytes certainly do not match; 1 when they may. */
int roster_aquery_text_may_match(const struct roster_aquery *q, const char *entry, size_t len);
/* For a question without a target: 1 when the entry's canonical bytes (as
 * rosterd writes them) certainly match, 0 when they certainly do not, -1 when
 * only the parse can tell (a target, a value with an escape, another shape). */
int roster_aquery_text_match(const struct roster_aquery *q, const char *entry, size_t len);
/* Whether the parsed entry matches every condition. */
int roster_aquery_match(const struct roster_aquery *q, const json_t *entry);
/* Whether a block whose filter holds bits, and whose entries' times lie in
 * [tmin, tmax] (0, 0: unknown), may hold a match. typed: the filter holds
 * accounts, actions and outcomes too (a RAF2 filter), not only record ids. */
int roster_aquery_block_may_match(const struct roster_aquery *q, const uint8_t *bits, size_t nbytes,
                                  int typed, uint64_t tmin, uint64_t tmax);

#endif
