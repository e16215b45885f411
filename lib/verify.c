/*
 * verify.c - checking an exported audit log. Each entry must be canonical JSON
 * with the next seq and the previous entry's leaf hash as prev; the Merkle root
 * of every prefix that a signed checkpoint (or this auditor's last state)
 * covers must equal that checkpoint's root. The first failure is named with its
 * seq and why: altered, missing, reordered, forked.
 */
#include <pthread.h>
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

/* The entries after one in the same page, as lines or as strings: only a
 * failure looks at them, to tell a reordered entry from a missing one. */
struct ahead {
	const struct verifier_line *lines;
	const char *const *strs;
	size_t n;
};

/* Which of the later entries is entry seq (1 for the next), or 0 (missing). */
static size_t found_ahead(const struct ahead *a, uint64_t seq)
{
	if (a->lines == NULL && a->strs == NULL)
		return 0;
	for (size_t i = 0; i < a->n; i++) {
		const char *p = a->lines ? a->lines[i].p : a->strs[i];
		size_t len = a->lines ? a->lines[i].len : strlen(a->strs[i]);

		if (seq_of(p, len) == (long long)seq)
			return i + 1;
	}
	return 0;
}

/* What the checks that need the entries before take from an entry: read on any
 * thread (read_entry), checked in order (entry_follows). */
struct read {
	json_t *e; /* the parse, kept only for --deep */
	int canonical, has_seq;
	long long seq;
	int has_prev; /* prev is a string of 64 characters, copied */
	char prev[2 * MERKLE_HASH + 1];
	uint8_t leaf[MERKLE_HASH];
};

/* The parse is let go on the thread that made it unless kept: allocations freed
 * on another thread cost glibc's malloc more than the parse saved. */
static void read_entry(const struct verifier_line *line, int keep, struct read *r)
{
	json_t *e = roster_audit_entry_read(line->p, line->len, r->leaf);
	const json_t *seq = json_object_get(e, "seq");
	const char *prev = json_string_value(json_object_get(e, "prev"));

	r->canonical = e != NULL;
	r->has_seq = json_is_integer(seq);
	r->seq = (long long)json_integer_value(seq);
	r->has_prev = prev && strlen(prev) == 2 * MERKLE_HASH;
	if (r->has_prev)
		memcpy(r->prev, prev, sizeof(r->prev));
	if (keep)
		r->e = e;
	else
		json_decref(e);
}

static int entry_follows(struct verifier *v, const struct verifier_line *line, const struct read *r,
                         const struct ahead *ahead)
{
	uint64_t seq = v->range.size;
	struct roster_err err;
	size_t at;
	int rc = 0;

	if (!r->canonical)
		return fail(v, "entry %llu: altered: it is not canonical JSON any more",
		            (unsigned long long)seq);
	/* A prev of another length differs from any hash: "" stands for it. */
	if (roster_audit_seq_follows(r->has_seq, r->seq, r->has_prev ? r->prev : "", seq, v->prev,
	                             &err) < 0) {
		if (strcmp(err.code, "out_of_order") != 0)
			return fail(v,
			            "entry %llu: altered: entry %llu records another hash for it",
			            (unsigned long long)seq - 1, (unsigned long long)seq);
		if ((at = found_ahead(ahead, seq)) != 0)
			return fail(v, "entry %llu: reordered: found at position %llu",
			            (unsigned long long)seq, (unsigned long long)seq + at);
		return fail(v, "entry %llu: missing (the next entry present is %lld)",
		            (unsigned long long)seq, seq_of(line->p, line->len));
	}
	memcpy(v->prev, r->leaf, MERKLE_HASH);
	roster_merkle_range_append(&v->range, r->leaf);
	if (v->written)
		rc = entry_deep(v, seq, r->e);
	return rc < 0 ? rc : check_roots(v);
}

int verifier_entry(struct verifier *v, const char *line, size_t len, const char *const *lookahead,
                   size_t nlookahead)
{
	struct verifier_line one = {line, len};
	struct ahead ahead = {NULL, lookahead, nlookahead};
	struct read r = {0};
	int rc;

	read_entry(&one, v->written != NULL, &r);
	rc = entry_follows(v, &one, &r, &ahead);
	json_decref(r.e);
	return rc;
}

/* Entries read ahead a chunk at a time: each thread reads a stride of it. */
#define CHUNK 2048

struct reader {
	const struct verifier_line *lines;
	struct read *out;
	size_t n, first, step;
	int keep;
};

static void *reader_main(void *arg)
{
	const struct reader *r = arg;

	for (size_t i = r->first; i < r->n; i += r->step)
		read_entry(&r->lines[i], r->keep, &r->out[i]);
	return NULL;
}

/* Reads lines[0..n) (n <= CHUNK) on up to jobs threads, this one among them. */
static void chunk_read(const struct verifier_line *lines, size_t n, int jobs, int keep,
                       struct read *out)
{
	struct reader r[VERIFIER_JOBS_MAX];
	pthread_t tid[VERIFIER_JOBS_MAX];
	int started[VERIFIER_JOBS_MAX] = {0};

	/* A thread that cannot start leaves its stride to this one. */
	for (int j = 1; j < jobs; j++) {
		r[j] = (struct reader){lines, out, n, (size_t)j, (size_t)jobs, keep};
		started[j] = pthread_create(&tid[j], NULL, reader_main, &r[j]) == 0;
	}
	r[0] = (struct reader){lines, out, n, 0, (size_t)jobs, keep};
	reader_main(&r[0]);
	for (int j = 1; j < jobs; j++) {
		if (started[j])
			pthread_join(tid[j], NULL);
		else
			reader_main(&r[j]);
	}
}

int verifier_entries(struct verifier *v, const struct verifier_line *lines, size_t n, size_t total,
                     int jobs)
{
	struct read *out = roster_xcalloc(CHUNK, sizeof(*out));
	int rc = 0;

	if (jobs < 1)
		jobs = 1;
	if (jobs > VERIFIER_JOBS_MAX)
		jobs = VERIFIER_JOBS_MAX;
	for (size_t at = 0; at < n && rc == 0; at += CHUNK) {
		size_t m = n - at;

		if (m > CHUNK)
			m = CHUNK;
		memset(out, 0, m * sizeof(*out));
		chunk_read(lines + at, m, m < 64 ? 1 : jobs, v->written != NULL, out);
		for (size_t i = 0; i < m && rc == 0; i++) {
			struct ahead ahead = {lines + at + i + 1, NULL, total - at - i - 1};

			rc = entry_follows(v, &lines[at + i], &out[i], &ahead);
		}
		for (size_t i = 0; i < m; i++)
			json_decref(out[i].e);
	}
	free(out);
	return rc;
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
