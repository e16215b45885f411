/*
 * verify.c - checking an exported audit log. Each entry must be canonical JSON
 * with the next seq and the previous entry's leaf hash as prev; the Merkle root
 * of every prefix that a signed checkpoint (or this auditor's last state)
 * covers must equal that checkpoint's root. The first failure is named with its
 * seq and why: altered, missing, reordered, forked.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "roster/verify.h"
#include "roster/audit.h"
#include "roster/canon.h"
#include "roster/util.h"

__attribute__((format(printf, 2, 3))) static int fail(struct verifier *v, const char *fmt, ...)
{
	va_list ap;

	if (v->failure == NULL) {
		va_start(ap, fmt);
		if (vasprintf(&v->failure, fmt, ap) < 0)
			v->failure = NULL;
		va_end(ap);
	}
	return -1;
}

void verifier_init(struct verifier *v, int deep)
{
	memset(v, 0, sizeof(*v));
	roster_merkle_range_init(&v->range);
	v->written = deep ? roster_written_new() : NULL;
}

void verifier_free(struct verifier *v)
{
	free(v->roots);
	free(v->failure);
	roster_written_free(v->written);
}

static int root_cmp(const void *a, const void *b)
{
	const struct known_root *x = a, *y = b;

	return x->size < y->size ? -1 : x->size > y->size;
}

void verifier_expect(struct verifier *v, uint64_t size, const uint8_t root[MERKLE_HASH],
                     const char *what)
{
	v->roots = roster_xrealloc(v->roots, (v->nroots + 1) * sizeof(*v->roots));
	v->roots[v->nroots].size = size;
	memcpy(v->roots[v->nroots].root, root, MERKLE_HASH);
	v->roots[v->nroots].what = what;
	v->nroots++;
	qsort(v->roots, v->nroots, sizeof(*v->roots), root_cmp);
}

static long long seq_of(const char *line, size_t len)
{
	json_t *e = json_loadb(line, len, 0, NULL);
	long long seq = json_is_integer(json_object_get(e, "seq"))
	                    ? (long long)json_integer_value(json_object_get(e, "seq"))
	                    : -1;

	json_decref(e);
	return seq;
}

/* --deep: the values each entry says were stored, and the caller's own check. */
static int entry_deep(struct verifier *v, uint64_t seq, const json_t *e)
{
	const char *obj = json_string_value(json_object_get(e, "object"));
	const char *target = json_string_value(json_object_get(e, "target"));
	/* A custody event also names the history entry it stored. */
	const json_t *stored = json_object_get(e, "stored");
	const char *sobj = json_string_value(json_object_get(stored, "object"));
	const char *starget = json_string_value(json_object_get(stored, "target"));
	char why[256];

	if (obj && obj[0] && target && target[0])
		roster_written_set(v->written, target, strlen(target), obj, seq);
	if (sobj && sobj[0] && starget && starget[0])
		roster_written_set(v->written, starget, strlen(starget), sobj, seq);
	if (v->entry_check && v->entry_check(v->entry_arg, seq, e, why, sizeof(why)) < 0)
		return fail(v, "entry %llu: %s", (unsigned long long)seq, why);
	return 0;
}

static int check_roots(struct verifier *v)
{
	uint8_t root[MERKLE_HASH];

	for (; v->next_root < v->nroots && v->roots[v->next_root].size <= v->range.size;
	     v->next_root++) {
		const struct known_root *k = &v->roots[v->next_root];

		if (k->size < v->range.size)
			continue; /* sizes below the first entry checked (resumed runs) */
		roster_merkle_range_root(&v->range, root);
		if (memcmp(root, k->root, MERKLE_HASH) != 0)
			return fail(
			    v,
			    "entries %llu to %llu: the log forked or was rewritten: the first "
			    "%llu entries do not have the root of the %s at size %llu",
			    (unsigned long long)v->last_good, (unsigned long long)k->size - 1,
			    (unsigned long long)k->size, k->what, (unsigned long long)k->size);
		v->last_good = k->size;
	}
	return 0;
}

int verifier_entry(struct verifier *v, const char *line, size_t len, const char *const *lookahead,
                   size_t nlookahead)
{
	uint64_t seq = v->range.size;
	struct roster_err err;
	uint8_t leaf[MERKLE_HASH];
	json_t *e = NULL;
	long long got;
	int rc = 0;

	/* One parse: the canonical form, the seq, the chain, then --deep's checks. */
	if (roster_audit_check_entry(line, len, seq, v->prev, leaf, &e, &err) < 0) {
		if (strcmp(err.code, "not_canonical") == 0)
			return fail(v, "entry %llu: altered: it is not canonical JSON any more",
			            (unsigned long long)seq);
		if (strcmp(err.code, "out_of_order") != 0)
			return fail(v,
			            "entry %llu: altered: entry %llu records another hash for it",
			            (unsigned long long)seq - 1, (unsigned long long)seq);
		got = seq_of(line, len);
		for (size_t i = 0; i < nlookahead; i++)
			if (seq_of(lookahead[i], strlen(lookahead[i])) == (long long)seq)
				return fail(v, "entry %llu: reordered: found at position %llu",
				            (unsigned long long)seq,
				            (unsigned long long)seq + i + 1);
		return fail(v, "entry %llu: missing (the next entry present is %lld)",
		            (unsigned long long)seq, got);
	}
	memcpy(v->prev, leaf, MERKLE_HASH);
	roster_merkle_range_append(&v->range, leaf);
	if (v->written)
		rc = entry_deep(v, seq, e);
	json_decref(e);
	return rc < 0 ? rc : check_roots(v);
}

int verifier_finish(struct verifier *v)
{
	if (v->failure)
		return -1;
	if (v->next_root < v->nroots) {
		const struct known_root *k = &v->roots[v->nroots - 1];

		return fail(v,
		            "entry %llu: missing: the %s covers %llu entries, the log has only "
		            "%llu (deleted or rolled back)",
		            (unsigned long long)v->range.size, k->what, (unsigned long long)k->size,
		            (unsigned long long)v->range.size);
	}
	return 0;
}

int checkpoint_open(const char *note, const struct roster_vkey *key, char *origin, size_t olen,
                    uint64_t *size, uint8_t root[MERKLE_HASH], char **why)
{
	struct roster_err err;
	char *text = NULL;

	if (roster_note_verify(note, key, &text, &err) < 0 ||
	    roster_checkpoint_parse(text, origin, olen, size, root, &err) < 0) {
		*why = roster_xstrdup(err.message);
		free(text);
		return -1;
	}
	free(text);
	if (strcmp(origin, key->name) != 0) {
		*why =
		    roster_xasprintf("the checkpoint is for log '%s', not '%s'", origin, key->name);
		return -1;
	}
	return 0;
}
