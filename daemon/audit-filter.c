/*
 * audit-filter.c - answering an auditor's question (roster/aquery.h: the
 * entries naming a record, by an account, of an action or outcome, in a time
 * span) without reading the whole log: for each block of audit_filter_block
 * entries, a Bloom filter (roster/afilter.h) of the ids, account names and uids,
 * actions and outcomes its entries hold, and the span of their times, in the
 * audit_filter database keyed by the block's first seq.
 *
 * An index from each id to its entries would put every read's entry at a
 * random leaf of a large tree (what the blind index cost creates: bench/
 * README.md, ninth round). A block's filter is written once, at the tree's right
 * edge, by the client batch that completes the block; a log further behind (a
 * registry upgraded with millions of entries, a large import) gains its filters
 * a block at a time when the writer is idle, and one block a tenth of a second
 * in client batches while it is not (writer.c, upkeep.c).
 * A question reads the filters in order, skips the blocks that certainly hold
 * no match, and matches the entries of the others, and of the stretch after the
 * last filter, one by one, a bounded amount a reply. The filters only select:
 * `audit verify` proves the entries, and a filter that cannot be read makes its
 * block be read whole. 0.7.3's filters ("RAF1") hold ids only and no times: for
 * any other condition their blocks are read.
 */
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <sodium.h>

#include "rosterd.h"
#include "roster/afilter.h"
#include "roster/aquery.h"
#include "roster/log.h"

static const uint8_t magic[4] = {'R', 'A', 'F', '2'};

/* What one reply may read before it hands back a place to go on from: about what
 * a page of `audit export` costs (10-20 ms here), so that one auditor's question
 * does not hold the audit thread (aread.c) from another's for longer. An entry
 * passed over by its text costs 1, one parsed 16. */
#define SCAN_MAX   32768
#define PARSE_COST 16
#define BLOCKS_MAX 65536 /* filters probed */

/* A block's keys as it is built, and the span of its entries' times. */
struct hashes {
	uint64_t *v;
	size_t n, cap;
	uint64_t tmin, tmax; /* 0, 0 while unknown */
	int untimed;         /* an entry's time was not one: the span stays unknown */
};

static void span_add(struct hashes *h, uint64_t at)
{
	if (at == 0)
		h->untimed = 1;
	if (h->tmin == 0 || at < h->tmin)
		h->tmin = at;
	if (at > h->tmax)
		h->tmax = at;
}

static void hash_add_raw(struct hashes *h, uint64_t hash)
{
	if (h->n == h->cap) {
		h->cap = h->cap ? 2 * h->cap : 1024;
		h->v = roster_xrealloc(h->v, h->cap * sizeof(*h->v));
	}
	h->v[h->n++] = hash;
}

static void hash_add(uint64_t hash, void *arg)
{
	hash_add_raw(arg, hash);
}

static int u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The keys and times of entries [first, first+count), read back: 0, or 1 when
 * one of them is missing or not JSON (its block then gets no filter: always
 * read), or -1 with err set. */
static int block_hashes(struct wtxn *w, uint64_t first, uint32_t count, struct hashes *h,
                        struct roster_err *err)
{
	uint8_t key[8];
	MDB_val k = {8, key}, v;
	MDB_cursor *cur;
	int rc = mdb_cursor_open(w->txn, w->srv->store.audit, &cur), whole = 1;

	if (rc)
		return store_mdb_err(err, rc, "reading the audit log for its filters");
	roster_be64_put(key, first);
	rc = mdb_cursor_get(cur, &k, &v, MDB_SET_KEY);
	for (uint32_t i = 0; i < count && whole; i++) {
		json_t *e;

		if (rc != 0 || k.mv_size != 8 || roster_be64_get(k.mv_data) != first + i ||
		    (e = json_loadb(v.mv_data, v.mv_size, 0, NULL)) == NULL) {
			whole = 0;
			break;
		}
		roster_audit_keys(e, hash_add, h);
		span_add(h, roster_audit_time_pack(json_string_value(json_object_get(e, "time")),
		                                   json_string_length(json_object_get(e, "time"))));
		json_decref(e);
		rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	return !whole;
}

struct note {
	struct afilter_acc *acc;
	uint64_t seq;
};

static void acc_push(struct afilter_acc *acc, uint64_t seq, uint64_t hash, int is_time)
{
	if (acc->n == acc->cap) {
		acc->cap = acc->cap ? 2 * acc->cap : 4096;
		acc->v = roster_xrealloc(acc->v, acc->cap * sizeof(*acc->v));
	}
	acc->v[acc->n++] = (struct afilter_name){seq, hash, is_time};
}

static void acc_add(uint64_t hash, void *arg)
{
	struct note *n = arg;

	acc_push(n->acc, n->seq, hash, 0);
}

void afilter_note(struct wtxn *w, const struct roster_audit_fields *f)
{
	struct note n = {w->acc, f->seq};

	if (w->acc == NULL || f->seq < w->acc->first)
		return;
	roster_audit_fields_keys(f, acc_add, &n);
	acc_push(w->acc, f->seq, roster_audit_time_pack(f->time, f->time ? strlen(f->time) : 0), 1);
}

void afilter_acc_rewind(struct afilter_acc *acc)
{
	acc->n = acc->committed;
}

void afilter_acc_commit(struct afilter_acc *acc, uint64_t afilter_end, uint64_t log_size)
{
	size_t drop = 0;

	while (drop < acc->n && acc->v[drop].seq < afilter_end)
		drop++;
	if (drop > 0) { /* never with no names: memmove takes no null pointer */
		memmove(acc->v, acc->v + drop, (acc->n - drop) * sizeof(*acc->v));
		acc->n -= drop;
	}
	if (acc->n > AFILTER_ACC_MAX) {
		/* The filters are far behind (an upgraded registry under steady load):
		 * notes start again here, and the blocks before read their entries back. */
		acc->n = 0;
		acc->first = log_size;
	}
	acc->committed = acc->n;
	if (afilter_end != AFILTER_OFF && acc->first < afilter_end)
		acc->first = afilter_end;
}

/* The keys and times of entries [first, first+count) as the writer noted them,
 * when it noted them all (every block but the one a start or an upgrade broke
 * into). */
static int block_noted(struct wtxn *w, uint64_t first, uint32_t count, struct hashes *h)
{
	if (w->acc == NULL || w->acc->first > first)
		return -1;
	for (size_t i = 0; i < w->acc->n; i++)
		if (w->acc->v[i].seq >= first && w->acc->v[i].seq - first < count) {
			if (w->acc->v[i].is_time)
				span_add(h, w->acc->v[i].hash);
			else
				hash_add_raw(h, w->acc->v[i].hash);
		}
	return 0;
}

/* Stores the filter of entries [first, first+count): a new one at the end
 * (append), or in place of the one the block has. */
static int block_build(struct wtxn *w, uint64_t first, uint32_t count, int append,
                       struct roster_err *err)
{
	struct hashes h = {0};
	size_t nbytes = 0, uniq = 0;
	uint8_t key[8], *val;
	MDB_val k = {8, key}, v;
	int rc = block_noted(w, first, count, &h) == 0 ? 0 : block_hashes(w, first, count, &h, err);

	if (rc < 0) {
		free(h.v);
		return ROSTER_FATAL;
	}
	if (rc == 0) {
		if (h.n > 1)
			qsort(h.v, h.n, sizeof(*h.v), u64_cmp);
		for (size_t i = 0; i < h.n; i++)
			if (i == 0 || h.v[i] != h.v[i - 1])
				h.v[uniq++] = h.v[i];
		nbytes = roster_afilter_bytes(uniq);
	}
	val = roster_xcalloc(1, ROSTER_AFILTER_HEAD + nbytes);
	memcpy(val, magic, sizeof(magic));
	roster_be64_put(val + 4, first);
	roster_be32_put(val + 12, count);
	if (rc == 0 && !h.untimed) {
		roster_be64_put(val + 16, h.tmin);
		roster_be64_put(val + 24, h.tmax);
	}
	for (size_t i = 0; i < uniq; i++)
		roster_afilter_add(val + ROSTER_AFILTER_HEAD, nbytes, h.v[i]);
	free(h.v);
	roster_be64_put(key, first);
	v = (MDB_val){ROSTER_AFILTER_HEAD + nbytes, val};
	rc = store_put(&w->srv->store, w->txn, w->srv->store.audit_filter, &k, &v,
	               append ? MDB_APPEND : 0);
	free(val);
	if (rc == MDB_MAP_FULL)
		return ROSTER_RETRY;
	if (rc)
		return store_mdb_err(err, rc, "storing an audit filter"), ROSTER_FATAL;
	if (append)
		w->afilter_end = first + count;
	return 0;
}

int afilter_build_next(struct wtxn *w, size_t block, struct roster_err *err)
{
	if (w->afilter_end == AFILTER_OFF || w->log_size < w->afilter_end + block)
		return 0;
	return block_build(w, w->afilter_end, (uint32_t)block, 1, err);
}

/* A stored filter's block, span and bits; -1 when the value is not one. */
int afilter_record_parse(const MDB_val *k, const MDB_val *v, struct roster_afilter *f)
{
	if (k->mv_size != 8 || roster_afilter_parse(v->mv_data, v->mv_size, f) < 0)
		return -1;
	return f->first == roster_be64_get(k->mv_data) ? 0 : -1;
}

int afilter_end_load(MDB_txn *txn, MDB_dbi dbi, uint64_t *end, struct roster_err *err)
{
	MDB_val k, v;
	MDB_cursor *cur;
	struct roster_afilter f;
	int rc = mdb_cursor_open(txn, dbi, &cur);

	*end = 0;
	if (rc)
		return store_mdb_err(err, rc, "reading the audit filters");
	rc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
	mdb_cursor_close(cur);
	if (rc == MDB_NOTFOUND)
		return 0;
	if (rc)
		return store_mdb_err(err, rc, "reading the audit filters");
	if (afilter_record_parse(&k, &v, &f) < 0) {
		/* Finds stay right (they read on past the last good filter); only new
		 * filters stop. */
		log_warnx("the last audit filter is damaged: no more are made, and finds read "
		          "the log after the last good one entry by entry");
		*end = AFILTER_OFF;
		return 0;
	}
	*end = f.first + f.count;
	return 0;
}

/* Whether the filter under cur is one 0.7.3 wrote (ids only, no times). */
static int is_raf1(const MDB_val *k, const MDB_val *v)
{
	struct roster_afilter f;

	return afilter_record_parse(k, v, &f) == 0 && !f.typed;
}

/* The filters 0.7.3 wrote are the first ones, if any (0.7.4 and later add after
 * them, and 0.7.3 adds none after a later one: it takes it for damaged), and
 * they are rewritten from the last one back: so they stay a prefix, and the last
 * is found in a number of reads that grows with log n. */
int afilter_old_load(MDB_txn *txn, MDB_dbi dbi, uint64_t *old, struct roster_err *err)
{
	MDB_cursor *cur;
	MDB_val k, v;
	uint64_t lo, hi;
	int rc = mdb_cursor_open(txn, dbi, &cur);

	*old = AFILTER_OFF;
	if (rc)
		return store_mdb_err(err, rc, "reading the audit filters");
	if ((rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST)) != 0 || !is_raf1(&k, &v))
		goto done;
	lo = roster_be64_get(k.mv_data);
	if ((rc = mdb_cursor_get(cur, &k, &v, MDB_LAST)) != 0)
		goto done;
	hi = roster_be64_get(k.mv_data);
	if (is_raf1(&k, &v)) {
		lo = hi;
		goto found;
	}
	/* The filter at lo is 0.7.3's, the one at hi is not. */
	while (hi - lo > 1) {
		uint8_t key[8];
		uint64_t at;

		roster_be64_put(key, lo + (hi - lo) / 2);
		k = (MDB_val){8, key};
		if ((rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE)) != 0)
			goto done;
		if (roster_be64_get(k.mv_data) == hi &&
		    (rc = mdb_cursor_get(cur, &k, &v, MDB_PREV)) != 0)
			goto done;
		if ((at = roster_be64_get(k.mv_data)) == lo)
			break;
		if (is_raf1(&k, &v))
			lo = at;
		else
			hi = at;
	}
found:
	*old = lo;
	rc = 0;
done:
	mdb_cursor_close(cur);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return store_mdb_err(err, rc, "reading the audit filters");
	return 0;
}

int afilter_upgrade_next(struct wtxn *w, uint64_t *old, struct roster_err *err)
{
	struct roster_afilter f;
	MDB_cursor *cur;
	uint8_t key[8];
	MDB_val k = {8, key}, v;
	int rc = mdb_cursor_open(w->txn, w->srv->store.audit_filter, &cur);

	if (rc)
		return store_mdb_err(err, rc, "reading the audit filters"), ROSTER_FATAL;
	roster_be64_put(key, *old);
	rc = mdb_cursor_get(cur, &k, &v, MDB_SET_KEY);
	if (rc == 0 && is_raf1(&k, &v)) {
		afilter_record_parse(&k, &v, &f);
		mdb_cursor_close(cur);
		if ((rc = block_build(w, f.first, f.count, 0, err)) != 0)
			return rc;
		if ((rc = mdb_cursor_open(w->txn, w->srv->store.audit_filter, &cur)) != 0)
			return store_mdb_err(err, rc, "reading the audit filters"), ROSTER_FATAL;
		roster_be64_put(key, *old);
		k = (MDB_val){8, key};
		rc = mdb_cursor_get(cur, &k, &v, MDB_SET_KEY);
		if (rc == 0)
			rc = mdb_cursor_get(cur, &k, &v, MDB_PREV);
	}
	*old = rc == 0 && is_raf1(&k, &v) ? roster_be64_get(k.mv_data) : AFILTER_OFF;
	mdb_cursor_close(cur);
	return 0;
}

/* A question in progress: what it asks, where it has got to, what it found. */
struct find {
	const struct roster_aquery *q;
	const struct aspan *span;
	uint64_t seq, size;
	size_t limit, found, scanned, probed, read;
	uint64_t skipped;
	struct evbuffer *out;
};

static int find_more(const struct find *f)
{
	return f->seq < f->size && f->found < f->limit && f->scanned < SCAN_MAX &&
	       f->probed < BLOCKS_MAX;
}

/* Matches entries from f->seq up to end one by one. A log with a gap before
 * size is damaged (MDB_CORRUPTED): `audit verify` says where. */
static int scan_to(MDB_cursor *cur, struct find *f, uint64_t end)
{
	uint8_t key[8];
	MDB_val k = {8, key}, v;
	int rc;

	roster_be64_put(key, f->seq);
	rc = mdb_cursor_get(cur, &k, &v, MDB_SET_KEY);
	while (rc == 0 && f->seq < end && find_more(f)) {
		json_t *e;
		int match;

		if (k.mv_size != 8 || roster_be64_get(k.mv_data) != f->seq)
			return MDB_CORRUPTED;
		f->scanned++;
		f->read++;
		/* Most entries are decided by their text, unparsed: a question without
		 * a target from the entry's head and time, any by what it cannot match. */
		if ((match = roster_aquery_text_match(f->q, v.mv_data, v.mv_size)) < 0) {
			match = 0;
			if (roster_aquery_text_may_match(f->q, v.mv_data, v.mv_size) &&
			    (f->scanned += PARSE_COST,
			     (e = json_loadb(v.mv_data, v.mv_size, 0, NULL)) != NULL)) {
				match = roster_aquery_match(f->q, e);
				json_decref(e);
			}
		}
		if (match) {
			evbuffer_add(f->out, v.mv_data, v.mv_size);
			evbuffer_add(f->out, "\n", 1);
			f->found++;
		}
		f->seq++;
		rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	}
	if (rc == MDB_NOTFOUND && f->seq < end && find_more(f))
		return MDB_CORRUPTED; /* the log ends before its size */
	return rc == MDB_NOTFOUND ? 0 : rc;
}

/* Positions fcur at the filter of the block holding seq, or the first after it. */
static int filter_seek(MDB_cursor *fcur, uint64_t seq, MDB_val *k, MDB_val *v)
{
	struct roster_afilter flt;
	uint8_t key[8];
	int rc;

	roster_be64_put(key, seq);
	*k = (MDB_val){8, key};
	rc = mdb_cursor_get(fcur, k, v, MDB_SET_RANGE);
	if (rc == 0 && roster_be64_get(k->mv_data) == seq)
		return 0;
	if (mdb_cursor_get(fcur, k, v, rc == 0 ? MDB_PREV : MDB_LAST) == 0) {
		if (afilter_record_parse(k, v, &flt) == 0 && flt.first <= seq &&
		    seq - flt.first < flt.count)
			return 0;
		return mdb_cursor_get(fcur, k, v, MDB_NEXT);
	}
	return rc;
}

static int find_run(MDB_txn *txn, struct store *st, struct find *f)
{
	MDB_cursor *cur = NULL, *fcur = NULL;
	MDB_val k, v;
	int rc, have;

	if ((rc = mdb_cursor_open(txn, st->audit, &cur)) != 0 ||
	    (rc = mdb_cursor_open(txn, st->audit_filter, &fcur)) != 0)
		goto done;
	have = filter_seek(fcur, f->seq, &k, &v) == 0;
	while (find_more(f)) {
		struct roster_afilter flt;
		uint64_t end = f->size;
		uint64_t next =
		    aspan_next(f->span, f->seq, f->q->since_at, f->q->until_at, &f->skipped);
		int filtered = 0;

		if (next > f->seq) { /* runs of blocks its span rules out */
			f->seq = next < f->size ? next : f->size;
			have = filter_seek(fcur, f->seq, &k, &v) == 0;
			continue;
		}
		if (have && afilter_record_parse(&k, &v, &flt) == 0) {
			if (f->seq >= flt.first + flt.count) {
				have = mdb_cursor_get(fcur, &k, &v, MDB_NEXT) == 0;
				continue;
			}
			if (flt.first <= f->seq) {
				filtered = 1;
				end = flt.first + flt.count;
				f->probed++;
			} else {
				end = flt.first; /* a stretch no filter covers */
			}
		} else if (have) { /* a damaged filter: its block is read whole */
			have = mdb_cursor_get(fcur, &k, &v, MDB_NEXT) == 0;
			if (have && roster_be64_get(k.mv_data) > f->seq)
				end = roster_be64_get(k.mv_data);
		}
		if (filtered && !roster_aquery_block_may_match(f->q, flt.bits, flt.nbytes,
		                                               flt.typed, flt.tmin, flt.tmax)) {
			f->seq = end;
			f->skipped++;
		} else if ((rc = scan_to(cur, f, end < f->size ? end : f->size)) != 0)
			goto done;
	}
done:
	if (fcur)
		mdb_cursor_close(fcur);
	if (cur)
		mdb_cursor_close(cur);
	return rc;
}

/* A few runs' spans first, so that a question bounded in time does not wait
 * for the reader to be idle to pass over the blocks filtered since. */
#define SPAN_RUNS_ASKED 4

void afilter_answer(struct server *srv, struct op *op, struct aspan *span)
{
	struct store *st = &srv->store;
	struct find f = {.q = op->query,
	                 .span = span,
	                 .seq = op->seq_from,
	                 .size = op->seq_to,
	                 .limit = op->limit};
	MDB_txn *txn = NULL;
	int rc, more;

	f.out = op->reply_raw = evbuffer_new();
	pthread_rwlock_rdlock(&st->resize);
	if ((rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn)) == 0 &&
	    (op->query->since_at || op->query->until_at))
		rc = aspan_extend(span, txn, st->audit_filter, SPAN_RUNS_ASKED, &more);
	if (rc == 0)
		rc = find_run(txn, st, &f);
	if (txn)
		mdb_txn_abort(txn);
	pthread_rwlock_unlock(&st->resize);
	srv->afind.blocks_skipped += f.skipped;
	srv->afind.entries_read += f.read;
	srv->afind.filters_read += f.probed;
	if (rc != 0)
		aread_fail(op, rc);
	op->seq_from = f.seq; /* where a next reply goes on, if before seq_to */
}

/* For `audit verify --deep`, which checks that no filter leaves out an entry it
 * should hold: the stored filters from the one holding op->version on, at most
 * op->limit, each value whole in base64, damaged ones too; "next" is the first
 * seq of the filter after them, when there is one. */
int afilter_page_read(struct wtxn *w, struct op *op)
{
	json_t *items = json_array();
	MDB_cursor *cur;
	MDB_val k, v;
	size_t n = 0;
	int rc = mdb_cursor_open(w->txn, w->srv->store.audit_filter, &cur);

	if (rc != 0) {
		json_decref(items);
		return store_mdb_err(&op->err, rc, "reading the audit filters");
	}
	rc = filter_seek(cur, op->version, &k, &v);
	for (; rc == 0 && n < op->limit; n++, rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		size_t blen = sodium_base64_ENCODED_LEN(v.mv_size, sodium_base64_VARIANT_ORIGINAL);
		char *b64 = roster_xmalloc(blen);

		sodium_bin2base64(b64, blen, v.mv_data, v.mv_size, sodium_base64_VARIANT_ORIGINAL);
		json_array_append_new(
		    items, json_pack("{s:I, s:s}", "first",
		                     (json_int_t)(k.mv_size == 8 ? roster_be64_get(k.mv_data) : 0),
		                     "value", b64));
		free(b64);
	}
	op->reply = json_pack("{s:o}", "items", items);
	if (rc == 0 && k.mv_size == 8)
		json_object_set_new(op->reply, "next",
		                    json_integer((json_int_t)roster_be64_get(k.mv_data)));
	mdb_cursor_close(cur);
	if (rc != 0 && rc != MDB_NOTFOUND) {
		json_decref(op->reply);
		op->reply = NULL;
		return store_mdb_err(&op->err, rc, "reading the audit filters");
	}
	return 0;
}
