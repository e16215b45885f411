/*
 * idxlog.c - the person index's log: tag changes written at one edge of a tree
 * of their own, merged into person_idx later.
 *
 * A person's tags (name, birth date, employer, segment, status, expertise) land
 * at random leaves of person_idx, and a lone create that writes them there
 * rewrites half of the pages it commits (bench/README.md, ninth round). So a
 * request appends its tag changes for a person to person_idx_log instead, as
 * one entry keyed by a sequence number (MDB_APPEND: the tree's right edge, one
 * or two pages), and once the log holds index_log_entries entries the writer
 * merges it into person_idx in a sorted pass, a slice at a time (upkeep.c). The
 * national id's tag is still written to person_idx at once: the uniqueness check
 * reads it there, and a person's one unique tag is one leaf.
 *
 * An entry's value: the record id's length (one byte), the id, then for each
 * change '+' (add) or '-' (remove) and the 16-byte tag.
 *
 * Finds read person_idx and the log in the same snapshot (idxlog_view): the
 * log's last change of a (tag, id) pair wins over what the index holds. Every
 * write of person_idx outside this file happens with the log empty (an index
 * key rotation drains it first, and a log grown past IDXLOG_MAX is drained and
 * bypassed), so the log's changes are always the later ones.
 *
 * While the log holds anything, meta "requires" is format 2: a rosterd from
 * before the log would not read it. A clean stop drains it and clears that
 * (back to the registry's own level, tree.c, if it has one).
 */
#include <stdlib.h>
#include <string.h>

#include "rosterd.h"

#define OP_SIZE 17 /* '+' or '-', then the tag */

/* The level never goes below the registry's own (a tree in completion order). */
static int log_requires(struct wtxn *w, int on)
{
	uint32_t floor = w->srv->store.format_floor;
	uint8_t be[4];

	if (!on && floor == 0)
		return meta_del(w, "requires");
	roster_be32_put(be, on && floor < IDXLOG_FORMAT ? IDXLOG_FORMAT : floor);
	return meta_put(w, "requires", be, sizeof(be));
}

int idxlog_note(struct wtxn *w, const char *id, const struct idxlog_op *ops, size_t n)
{
	size_t len = strlen(id);
	uint8_t key[8], val[1 + ROSTER_ID_MAX + IDXLOG_OPS_MAX * OP_SIZE], *p;
	MDB_val k = {sizeof(key), key}, v = {1 + len + n * OP_SIZE, val};
	int rc;

	if (n == 0)
		return 0;
	if (len == 0 || len >= ROSTER_ID_MAX || n > IDXLOG_OPS_MAX)
		return ROSTER_FATAL;
	if (w->ilog_n == 0 && (rc = log_requires(w, 1)) != 0)
		return rc;
	roster_be64_put(key, w->ilog_next);
	val[0] = (uint8_t)len;    /* the id is length-prefixed, not NUL-terminated */
	memcpy(val + 1, id, len); // NOLINT(bugprone-not-null-terminated-result)
	for (p = val + 1 + len; n > 0; n--, ops++, p += OP_SIZE) {
		p[0] = ops->add ? '+' : '-';
		memcpy(p + 1, ops->tag, 16);
	}
	rc = store_put(&w->srv->store, w->txn, w->srv->store.person_idx_log, &k, &v, MDB_APPEND);
	if (rc != 0)
		return rc == MDB_MAP_FULL ? ROSTER_RETRY : ROSTER_FATAL;
	w->ilog_next++;
	w->ilog_n++;
	return 0;
}

/* An entry's id and its changes, or -1 when it is damaged. */
struct entry {
	uint64_t seq;
	const char *id;
	size_t len, n;
	const uint8_t *ops;
};

static int entry_parse(const MDB_val *k, const MDB_val *v, struct entry *e)
{
	const uint8_t *p = v->mv_data;

	if (k->mv_size != 8 || v->mv_size < 1)
		return -1;
	e->len = p[0];
	if (e->len == 0 || e->len >= ROSTER_ID_MAX || v->mv_size < 1 + e->len + OP_SIZE ||
	    (v->mv_size - 1 - e->len) % OP_SIZE != 0)
		return -1;
	e->seq = roster_be64_get(k->mv_data);
	e->id = (const char *)p + 1;
	e->ops = p + 1 + e->len;
	e->n = (v->mv_size - 1 - e->len) / OP_SIZE;
	for (size_t i = 0; i < e->n; i++)
		if (e->ops[i * OP_SIZE] != '+' && e->ops[i * OP_SIZE] != '-')
			return -1;
	return 0;
}

/* One change read back, copied out of the map: the merge writes as it goes. Its
 * order is the entry's seq, then its place in the entry. */
struct change {
	uint8_t tag[16];
	char id[ROSTER_ID_MAX];
	uint64_t seq, sub;
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
	if (c == 0)
		c = x->sub < y->sub ? -1 : x->sub > y->sub;
	return c;
}

static int same_pair(const struct change *x, const struct change *y)
{
	return memcmp(x->tag, y->tag, 16) == 0 && strcmp(x->id, y->id) == 0;
}

/* Every change of the log's first `max` entries, oldest first; *entries says
 * how many entries that was. */
static int changes_read(struct wtxn *w, size_t max, struct change **out, size_t *n, size_t *entries,
                        struct roster_err *err)
{
	struct change *c = NULL;
	size_t cap = 0;
	MDB_cursor *cur;
	MDB_val k, v;
	int rc;

	*n = *entries = 0;
	if ((rc = mdb_cursor_open(w->txn, w->srv->store.person_idx_log, &cur)) != 0)
		return store_mdb_err(err, rc, "reading the index log");
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0 && *entries < max;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT), (*entries)++) {
		struct entry e;

		if (entry_parse(&k, &v, &e) < 0) {
			rc = -1;
			break;
		}
		if (*n + e.n > cap) {
			cap = 2 * cap + e.n + 64;
			c = roster_xrealloc(c, cap * sizeof(*c));
		}
		for (size_t i = 0; i < e.n; i++, (*n)++) {
			struct change *ch = &c[*n];

			memcpy(ch->id, e.id, e.len);
			ch->id[e.len] = '\0';
			memcpy(ch->tag, e.ops + i * OP_SIZE + 1, 16);
			ch->add = e.ops[i * OP_SIZE] == '+';
			ch->seq = e.seq;
			ch->sub = i;
		}
	}
	mdb_cursor_close(cur);
	if (rc != 0 && rc != MDB_NOTFOUND) {
		free(c);
		return roster_err_set(err, 500, "corrupt_index_log",
		                      "the index log's entry %zu is damaged", *entries + 1);
	}
	*out = c;
	return 0;
}

/* Applies changes [from, n) in (tag, id) order, the last of each pair, at most
 * max of them; returns where it stopped in *at. */
static int changes_apply(struct wtxn *w, const struct change *c, size_t from, size_t n, size_t max,
                         size_t *at)
{
	MDB_dbi idx = w->srv->store.person_idx;
	size_t i = from, done = 0;
	int rc = 0;

	for (; rc == 0 && i < n && done < max; i++) {
		if (i + 1 < n && same_pair(&c[i], &c[i + 1]))
			continue;
		rc = c[i].add ? idx_put(w, idx, c[i].tag, 16, c[i].id)
		              : idx_del(w, idx, c[i].tag, 16, c[i].id);
		done++;
	}
	*at = i;
	return rc;
}

/* Removes the log's first n entries; the whole log with one drop. */
static int entries_forget(struct wtxn *w, size_t n)
{
	struct store *st = &w->srv->store;
	MDB_cursor *cur;
	MDB_val k, v;
	int rc = 0;

	if (n >= w->ilog_n) {
		rc = store_drop(st, w->txn, st->person_idx_log);
		n = (size_t)w->ilog_n;
	}
	for (size_t i = 0; rc == 0 && n < w->ilog_n && i < n; i++) {
		uint8_t key[8];

		if ((rc = mdb_cursor_open(w->txn, st->person_idx_log, &cur)) != 0)
			break;
		rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
		mdb_cursor_close(cur);
		if (rc == 0 && k.mv_size != sizeof(key))
			rc = MDB_CORRUPTED;
		if (rc != 0)
			break;
		/* Copied out of the page the removal rewrites. */
		memcpy(key, k.mv_data, sizeof(key));
		k.mv_data = key;
		rc = store_del(st, w->txn, st->person_idx_log, &k, NULL);
	}
	if (rc != 0)
		return rc == MDB_MAP_FULL ? ROSTER_RETRY : ROSTER_FATAL;
	w->ilog_n -= n;
	return w->ilog_n == 0 ? log_requires(w, 0) : 0;
}

int idxlog_drain(struct wtxn *w, struct roster_err *err)
{
	struct change *c;
	size_t n, entries, at;
	int rc;

	if (w->ilog_n == 0)
		return 0;
	if ((rc = changes_read(w, (size_t)w->ilog_n, &c, &n, &entries, err)) != 0)
		return rc;
	/* In (tag, id) order the changes walk the index from one end to the other. */
	if (n > 1)
		qsort(c, n, sizeof(*c), change_cmp);
	rc = changes_apply(w, c, 0, n, n, &at);
	free(c);
	if (rc == 0 && (rc = entries_forget(w, entries)) == 0)
		w->ilog_gen++; /* a merge pass under way read entries that are gone now */
	return rc;
}

/* A merge pass: the log as it stood when the pass began, sorted, applied to the
 * index a slice at a time between requests; then the entries it covered are
 * removed from the front of the log. Entries made meanwhile are appended after
 * them and wait for the next pass; a pair's change the pass applies may be
 * older than one made meanwhile, which the log then still holds and finds still
 * prefer. Held in memory by the writer alone: a restart, or a drain (which
 * merges everything at once), begins a new pass. Each slice says what it did in
 * `next`, taken on only once its transaction commits (idxlog_pass_commit). */
struct idxlog_pass {
	struct change *c; /* the pass's changes, in (tag, id, seq) order */
	size_t n;
	size_t entries;   /* the log entries they came from */
	size_t applied;   /* changes applied to the index */
	size_t forgotten; /* entries then removed from the log */
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
	return p->entries > 0;
}

static int pass_begin(struct wtxn *w, struct idxlog_pass *p, struct roster_err *err)
{
	int rc;

	pass_end(p);
	if ((rc = changes_read(w, (size_t)w->ilog_n, &p->c, &p->n, &p->entries, err)) != 0)
		return rc;
	if (p->n > 1)
		qsort(p->c, p->n, sizeof(*p->c), change_cmp);
	p->gen = w->ilog_gen;
	return 0;
}

/* Removes up to max of the pass's entries, the oldest in the log. */
static int pass_forget(struct wtxn *w, struct idxlog_pass *p, size_t max)
{
	size_t left = p->entries - p->forgotten, n;

	/* Nothing came since the pass began: the whole log, whatever max says. */
	n = left == w->ilog_n ? left : left < max ? left : max;
	p->next.forgotten = p->forgotten + n;
	return entries_forget(w, n);
}

int idxlog_merge_slice(struct wtxn *w, struct idxlog_pass *p, size_t max, struct roster_err *err)
{
	size_t at;
	int rc;

	if (p->entries > 0 && p->gen != w->ilog_gen)
		pass_end(p);
	if (p->entries == 0 && w->ilog_n > 0 && (rc = pass_begin(w, p, err)) != 0)
		return rc;
	p->next.applied = p->applied;
	p->next.forgotten = p->forgotten;
	if (p->applied < p->n) {
		if ((rc = changes_apply(w, p->c, p->applied, p->n, max, &at)) != 0)
			return rc;
		p->next.applied = at;
		/* A slice that finished the changes with room left goes on to forget. */
		if (at < p->n || max < 2)
			return 0;
		max /= 2;
	}
	return p->forgotten < p->entries ? pass_forget(w, p, max) : 0;
}

void idxlog_pass_commit(struct idxlog_pass *p)
{
	p->applied = p->next.applied;
	p->forgotten = p->next.forgotten;
	if (p->entries > 0 && p->forgotten == p->entries)
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
		struct entry e;

		if (entry_parse(&k, &v, &e) < 0)
			continue; /* the merge names it; a find reads what it can */
		for (size_t j = 0; j < e.n; j++)
			for (size_t i = 0; i < ntags; i++) {
				const uint8_t *op = e.ops + j * OP_SIZE;
				struct idxlog_change *c;

				if (memcmp(op + 1, tags[i], 16) != 0)
					continue;
				if (view->n == cap) {
					cap = cap ? 2 * cap : 16;
					view->c = roster_xrealloc(view->c, cap * sizeof(*view->c));
				}
				c = &view->c[view->n++];
				c->which = (int)i;
				c->id = e.id;
				c->len = e.len;
				c->seq = e.seq * IDXLOG_OPS_MAX + j;
				c->add = op[0] == '+';
			}
	}
	mdb_cursor_close(cur);
	if (rc != MDB_NOTFOUND) {
		idxlog_view_free(view);
		return rc;
	}
	if (view->n > 1)
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
