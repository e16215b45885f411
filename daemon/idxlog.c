/*
 * idxlog.c - the person index's log: tag changes written at one edge of a tree
 * of their own, merged into person_idx later.
 *
 * A person's tags (name, birth date, employer, segment, status, expertise) land
 * at random leaves of person_idx, and a lone create that writes them there
 * rewrites half of the pages it commits (bench/README.md, ninth round). So a
 * request's transaction appends its tag changes to person_idx_log instead, keyed
 * by a sequence number (MDB_APPEND: the tree's right edge, one or two pages),
 * and the writer merges the log into person_idx in sorted passes, a slice at a
 * time between requests, once it holds index_log_entries changes (writer.c).
 * The national id's
 * tag is still written to person_idx at once: the uniqueness check reads it
 * there, and a person's one unique tag is one leaf.
 *
 * Finds read person_idx and the log in the same snapshot (idxlog_view): the
 * log's last change of a (tag, id) pair wins over what the index holds. Every
 * write of person_idx outside this file happens with the log empty (an index
 * key rotation drains it first, and a log grown past IDXLOG_MAX is drained and
 * bypassed), so the log's changes are always the later ones.
 *
 * While the log holds anything, meta "requires" is format 2: a rosterd from
 * before the log would not read it. A clean stop drains it and clears that.
 */
#include <stdlib.h>
#include <string.h>

#include "rosterd.h"

#define LOG_VAL_MAX (1 + 16 + ROSTER_ID_MAX)

static int log_requires(struct wtxn *w, int on)
{
	uint8_t be[4];

	if (!on)
		return meta_del(w, "requires");
	roster_be32_put(be, IDXLOG_FORMAT);
	return meta_put(w, "requires", be, sizeof(be));
}

int idxlog_note(struct wtxn *w, int add, const uint8_t tag[16], const char *id)
{
	size_t len = strlen(id);
	uint8_t key[8], val[LOG_VAL_MAX];
	MDB_val k = {sizeof(key), key}, v = {1 + 16 + len, val};
	int rc;

	if (len >= ROSTER_ID_MAX)
		return ROSTER_FATAL;
	if (w->ilog_n == 0 && (rc = log_requires(w, 1)) != 0)
		return rc;
	roster_be64_put(key, w->ilog_next);
	val[0] = add ? '+' : '-';
	memcpy(val + 1, tag, 16);
	memcpy(val + 17, id, len);
	rc = store_put(&w->srv->store, w->txn, w->srv->store.person_idx_log, &k, &v, MDB_APPEND);
	if (rc != 0)
		return rc == MDB_MAP_FULL ? ROSTER_RETRY : ROSTER_FATAL;
	w->ilog_next++;
	w->ilog_n++;
	return 0;
}

/* One change read back, copied out of the map: the merge writes as it goes. */
struct change {
	uint8_t tag[16];
	char id[ROSTER_ID_MAX];
	uint64_t seq;
	int add;
};

static int change_cmp(const void *a, const void *b)
{
	const struct change *x = a, *y = b;
	int c = memcmp(x->tag, y->tag, 16);

	if (c == 0)
		c = strcmp(x->id, y->id);
	if (c == 0)
		c = x->seq < y->seq ? -1 : x->seq > y->seq;
	return c;
}

static int change_parse(const MDB_val *k, const MDB_val *v, struct change *c)
{
	const uint8_t *p = v->mv_data;

	if (k->mv_size != 8 || v->mv_size <= 17 || v->mv_size >= LOG_VAL_MAX ||
	    (p[0] != '+' && p[0] != '-'))
		return -1;
	c->seq = roster_be64_get(k->mv_data);
	c->add = p[0] == '+';
	memcpy(c->tag, p + 1, 16);
	memcpy(c->id, p + 17, v->mv_size - 17);
	c->id[v->mv_size - 17] = '\0';
	return 0;
}

/* The first `max` changes, oldest first; *all says whether they are all there is. */
static int changes_read(struct wtxn *w, size_t max, struct change **out, size_t *n, int *all,
                        struct roster_err *err)
{
	struct change *c = roster_xcalloc(max ? max : 1, sizeof(*c));
	MDB_cursor *cur;
	MDB_val k, v;
	int rc;

	*n = 0;
	if ((rc = mdb_cursor_open(w->txn, w->srv->store.person_idx_log, &cur)) != 0) {
		free(c);
		return store_mdb_err(err, rc, "reading the index log");
	}
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0 && *n < max;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT))
		if (change_parse(&k, &v, &c[(*n)++]) < 0) {
			rc = -1;
			break;
		}
	*all = rc == MDB_NOTFOUND; /* the loop read one past the last it kept */
	mdb_cursor_close(cur);
	if (rc != 0 && rc != MDB_NOTFOUND) {
		free(c);
		return roster_err_set(err, 500, "corrupt_index_log",
		                      "the index log's entry %zu is damaged", *n);
	}
	*out = c;
	return 0;
}

/* Removes the first n changes from the log; all of it with one drop. */
static int changes_forget(struct wtxn *w, const struct change *c, size_t n, int all)
{
	struct store *st = &w->srv->store;
	uint8_t key[8];
	int rc = 0;

	if (all)
		rc = store_drop(st, w->txn, st->person_idx_log);
	for (size_t i = 0; !all && rc == 0 && i < n; i++) {
		MDB_val k = {sizeof(key), key};

		roster_be64_put(key, c[i].seq);
		rc = store_del(st, w->txn, st->person_idx_log, &k, NULL);
	}
	if (rc != 0)
		return rc == MDB_MAP_FULL ? ROSTER_RETRY : ROSTER_FATAL;
	w->ilog_n = all || n > w->ilog_n ? 0 : w->ilog_n - n;
	return w->ilog_n == 0 ? log_requires(w, 0) : 0;
}

/* Merges up to max of the oldest changes into person_idx at once. */
static int merge_oldest(struct wtxn *w, size_t max, size_t *merged, struct roster_err *err)
{
	MDB_dbi idx = w->srv->store.person_idx;
	struct change *c = NULL, *byseq;
	size_t n;
	int rc, all = 0;

	*merged = 0;
	if (max > w->ilog_n)
		max = (size_t)w->ilog_n;
	if (max == 0)
		return 0;
	if ((rc = changes_read(w, max, &c, &n, &all, err)) != 0)
		return rc;
	byseq = roster_xmalloc(n * sizeof(*c));
	memcpy(byseq, c, n * sizeof(*c));
	/* In (tag, id) order the changes walk the index from one end to the other, and
	 * of one pair's changes only the last counts. */
	qsort(c, n, sizeof(*c), change_cmp);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		if (i + 1 < n && memcmp(c[i].tag, c[i + 1].tag, 16) == 0 &&
		    strcmp(c[i].id, c[i + 1].id) == 0)
			continue;
		rc = c[i].add ? idx_put(w, idx, c[i].tag, 16, c[i].id)
		              : idx_del(w, idx, c[i].tag, 16, c[i].id);
	}
	if (rc == 0)
		rc = changes_forget(w, byseq, n, all);
	free(byseq);
	free(c);
	if (rc == 0)
		*merged = n;
	return rc;
}

int idxlog_drain(struct wtxn *w, struct roster_err *err)
{
	size_t merged;
	int rc = merge_oldest(w, (size_t)w->ilog_n, &merged, err);

	if (rc == 0 && merged > 0)
		w->ilog_gen++; /* a merge pass under way read changes that are gone now */
	return rc;
}

/* A merge pass: the log as it stood when the pass began, sorted, applied to the
 * index a slice at a time between requests; then the changes it covered are
 * removed from the front of the log. Changes made meanwhile are appended after
 * them and wait for the next pass; a pair's change the pass applies may be
 * older than one made meanwhile, which the log then still holds and finds still
 * prefer. Held in memory by the writer alone: a restart, or a drain (which
 * merges everything at once), begins a new pass. Each slice says what it did in
 * `next`, taken on only once its transaction commits (idxlog_pass_commit). */
struct idxlog_pass {
	struct change *c; /* the pass's changes, in (tag, id, seq) order */
	size_t n;
	size_t applied;   /* changes applied to the index */
	size_t forgotten; /* then removed from the log */
	uint64_t gen;     /* the drain count (wtxn ilog_gen) it began at */
	struct {
		size_t applied, forgotten;
	} next;
};

struct idxlog_pass *idxlog_pass_new(void)
{
	return roster_xcalloc(1, sizeof(struct idxlog_pass));
}

static void pass_end(struct idxlog_pass *p)
{
	free(p->c);
	memset(p, 0, sizeof(*p));
}

void idxlog_pass_free(struct idxlog_pass *p)
{
	if (p)
		pass_end(p);
	free(p);
}

int idxlog_pass_active(const struct idxlog_pass *p)
{
	return p->c != NULL;
}

static int pass_begin(struct wtxn *w, struct idxlog_pass *p, struct roster_err *err)
{
	int rc, all;

	pass_end(p);
	if ((rc = changes_read(w, (size_t)w->ilog_n, &p->c, &p->n, &all, err)) != 0)
		return rc;
	qsort(p->c, p->n, sizeof(*p->c), change_cmp);
	p->gen = w->ilog_gen;
	p->next.applied = p->next.forgotten = 0;
	return 0;
}

/* Applies up to max changes from where the pass stands, whole (tag, id) pairs;
 * *done says how many. */
static int pass_apply(struct wtxn *w, struct idxlog_pass *p, size_t max, size_t *done)
{
	MDB_dbi idx = w->srv->store.person_idx;
	const struct change *c = p->c;
	size_t i = p->applied;
	int rc = 0;

	for (*done = 0; rc == 0 && i < p->n && *done < max; i++) {
		if (i + 1 < p->n && memcmp(c[i].tag, c[i + 1].tag, 16) == 0 &&
		    strcmp(c[i].id, c[i + 1].id) == 0)
			continue;
		rc = c[i].add ? idx_put(w, idx, c[i].tag, 16, c[i].id)
		              : idx_del(w, idx, c[i].tag, 16, c[i].id);
		(*done)++;
	}
	p->next.applied = i;
	return rc;
}

/* Removes up to max of the pass's changes, the oldest in the log. */
static int pass_forget(struct wtxn *w, struct idxlog_pass *p, size_t max)
{
	struct store *st = &w->srv->store;
	size_t left = p->n - p->forgotten, i = 0;
	MDB_cursor *cur;
	MDB_val k, v;
	int rc;

	if (left == w->ilog_n) { /* nothing came since the pass began: all of it */
		if ((rc = store_drop(st, w->txn, st->person_idx_log)) != 0)
			return rc == MDB_MAP_FULL ? ROSTER_RETRY : ROSTER_FATAL;
		i = left;
	}
	for (; i < left && i < max; i++) {
		if ((rc = mdb_cursor_open(w->txn, st->person_idx_log, &cur)) != 0)
			return ROSTER_FATAL;
		rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
		mdb_cursor_close(cur);
		if (rc != 0 || (rc = store_del(st, w->txn, st->person_idx_log, &k, NULL)) != 0)
			return rc == MDB_MAP_FULL ? ROSTER_RETRY : ROSTER_FATAL;
	}
	p->next.forgotten = p->forgotten + i;
	w->ilog_n -= i;
	return w->ilog_n == 0 ? log_requires(w, 0) : 0;
}

int idxlog_merge_slice(struct wtxn *w, struct idxlog_pass *p, size_t max, struct roster_err *err)
{
	size_t done = 0;
	int rc;

	if (p->c && p->gen != w->ilog_gen)
		pass_end(p);
	if (p->c == NULL && w->ilog_n > 0 && (rc = pass_begin(w, p, err)) != 0)
		return rc;
	p->next.applied = p->applied;
	p->next.forgotten = p->forgotten;
	if (p->applied < p->n && (rc = pass_apply(w, p, max, &done)) != 0)
		return rc;
	/* What is left of the slice removes the applied changes from the log. */
	if (p->next.applied < p->n || done >= max || p->forgotten == p->n)
		return 0;
	return pass_forget(w, p, max - done);
}

void idxlog_pass_commit(struct idxlog_pass *p)
{
	p->applied = p->next.applied;
	p->forgotten = p->next.forgotten;
	if (p->c && p->forgotten == p->n)
		pass_end(p);
}

int idxlog_state(MDB_txn *txn, MDB_dbi log, uint64_t *next, uint64_t *n, struct roster_err *err)
{
	MDB_cursor *cur;
	MDB_stat st;
	MDB_val k, v;
	int rc;

	if ((rc = mdb_stat(txn, log, &st)) != 0 || (rc = mdb_cursor_open(txn, log, &cur)) != 0)
		return store_mdb_err(err, rc, "reading the index log");
	rc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
	mdb_cursor_close(cur);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return store_mdb_err(err, rc, "reading the index log");
	if (rc == 0 && k.mv_size != 8)
		return roster_err_set(err, 0, "corrupt_index_log",
		                      "the index log's last key is damaged");
	*next = rc == 0 ? roster_be64_get(k.mv_data) + 1 : 1;
	*n = st.ms_entries;
	return 0;
}

/* ---- reading: the log's changes of the tags a find asks for ---- */

static int view_cmp(const void *a, const void *b)
{
	const struct idxlog_change *x = a, *y = b;
	size_t n = x->len < y->len ? x->len : y->len;
	int c = x->which - y->which;

	if (c == 0 && (c = memcmp(x->id, y->id, n)) == 0)
		c = x->len < y->len ? -1 : x->len > y->len;
	if (c == 0)
		c = x->seq < y->seq ? -1 : x->seq > y->seq;
	return c;
}

int idxlog_view_load(MDB_txn *txn, MDB_dbi log, const uint8_t (*tags)[16], size_t ntags,
                     struct idxlog_view *view)
{
	MDB_cursor *cur;
	MDB_val k, v;
	size_t cap = 0, keep = 0;
	int rc;

	memset(view, 0, sizeof(*view));
	if ((rc = mdb_cursor_open(txn, log, &cur)) != 0)
		return rc;
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		const uint8_t *p = v.mv_data;

		if (k.mv_size != 8 || v.mv_size <= 17 || v.mv_size >= LOG_VAL_MAX)
			continue;
		for (size_t i = 0; i < ntags; i++) {
			struct idxlog_change *c;

			if (memcmp(p + 1, tags[i], 16) != 0)
				continue;
			if (view->n == cap) {
				cap = cap ? 2 * cap : 16;
				view->c = roster_xrealloc(view->c, cap * sizeof(*view->c));
			}
			c = &view->c[view->n++];
			c->which = (int)i;
			c->id = (const char *)p + 17;
			c->len = v.mv_size - 17;
			c->seq = roster_be64_get(k.mv_data);
			c->add = p[0] == '+';
		}
	}
	mdb_cursor_close(cur);
	if (rc != MDB_NOTFOUND) {
		idxlog_view_free(view);
		return rc;
	}
	qsort(view->c, view->n, sizeof(*view->c), view_cmp);
	/* Of one (tag, id) pair's changes, the last counts. */
	for (size_t i = 0; i < view->n; i++)
		if (i + 1 == view->n || view->c[i].which != view->c[i + 1].which ||
		    view->c[i].len != view->c[i + 1].len ||
		    memcmp(view->c[i].id, view->c[i + 1].id, view->c[i].len) != 0)
			view->c[keep++] = view->c[i];
	view->n = keep;
	return 0;
}

void idxlog_view_free(struct idxlog_view *view)
{
	free(view->c);
	memset(view, 0, sizeof(*view));
}

int idxlog_id_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	int c = memcmp(a, b, alen < blen ? alen : blen);

	return c ? c : alen < blen ? -1 : alen > blen;
}

/* The first change of tag `which` whose id sorts at or after (id, len), or the
 * one past that tag's changes. */
const struct idxlog_change *idxlog_view_seek(const struct idxlog_view *view, int which,
                                             const char *id, size_t len)
{
	size_t lo = 0, hi = view->n;

	if (view->n == 0)
		return view->c;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct idxlog_change *c = &view->c[mid];
		int cmp =
		    c->which != which ? c->which - which : idxlog_id_cmp(c->id, c->len, id, len);

		if (cmp < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return &view->c[lo];
}

const struct idxlog_change *idxlog_view_end(const struct idxlog_view *view, int which)
{
	size_t lo = 0, hi = view->n;

	if (view->n == 0)
		return view->c;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (view->c[mid].which <= which)
			lo = mid + 1;
		else
			hi = mid;
	}
	return &view->c[lo];
}

int idxlog_view_says(const struct idxlog_view *view, int which, const char *id, size_t len)
{
	const struct idxlog_change *c = idxlog_view_seek(view, which, id, len);

	if (view->n == 0 || c == view->c + view->n || c->which != which || c->len != len ||
	    memcmp(c->id, id, len) != 0)
		return -1;
	return c->add;
}

size_t idxlog_view_adds(const struct idxlog_view *view, int which)
{
	const struct idxlog_change *c = idxlog_view_seek(view, which, "", 0),
	                           *end = idxlog_view_end(view, which);
	size_t n = 0;

	for (; c < end; c++)
		n += c->add;
	return n;
}
