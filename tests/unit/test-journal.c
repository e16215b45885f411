/*
 * test-journal.c - the journal (daemon/journal.c, journal-open.c) on a real LMDB:
 * commits of puts, deletes and a drop are journaled, data.mdb is put back as it
 * was at the checkpoint (a power loss: none of LMDB's unsynced writes reached the
 * disk), and the next open must replay the journal to exactly the state the
 * commits made.
 *
 * The commits change entries the way the daemon does: removing the first of a
 * tree's entries by the key a cursor returns, one at a time (as idxlog.c's
 * entries_forget once did), rewriting entries with longer values, and changes
 * LMDB refuses (a key already there, a key not there), which must leave no
 * trace in the journal. A cursor's key points into a page of the map that the
 * removal itself rewrites: noted after the removal, the journal named other
 * entries, and the replay refused the registry or removed the wrong ones.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "journal.h" /* to let go of the checkpoint's snapshot as a crash would */
#include "roster/log.h"
#include "rosterd.h"
#include "test.h"

#define ENTRIES 200
#define FORGET  40 /* removed from the front, one at a time */

static struct store st;

static void key_of(uint64_t i, uint8_t key[8])
{
	roster_be64_put(key, i);
}

static void value_of(uint64_t i, size_t len, uint8_t *val)
{
	for (size_t j = 0; j < len; j++)
		val[j] = (uint8_t)(i * 31 + j);
}

static MDB_txn *txn_begin(void)
{
	MDB_txn *txn;

	if (mdb_txn_begin(st.env, NULL, 0, &txn) != 0)
		fatalx("txn");
	journal_capture(st.journal);
	st.failed = 0;
	return txn;
}

static void txn_commit(MDB_txn *txn)
{
	struct roster_err err;

	if (mdb_txn_commit(txn) != 0)
		fatalx("commit");
	if (journal_commit(&st, &err) < 0)
		fatalx("journal: %s", err.message);
}

/* ENTRIES entries appended, as the index log takes them. */
static void fill(void)
{
	MDB_txn *txn = txn_begin();

	for (uint64_t i = 1; i <= ENTRIES; i++) {
		uint8_t key[8], val[120];
		MDB_val k = {sizeof(key), key}, v = {sizeof(val), val};

		key_of(i, key);
		value_of(i, sizeof(val), val);
		if (store_put(&st, txn, st.person_idx_log, &k, &v, MDB_APPEND) != 0)
			fatalx("put");
	}
	txn_commit(txn);
}

/* The first FORGET entries removed one at a time by the key a cursor returns. */
static void forget_first(MDB_txn *txn)
{
	for (int i = 0; i < FORGET; i++) {
		MDB_cursor *cur;
		MDB_val k, v;
		int rc;

		if (mdb_cursor_open(txn, st.person_idx_log, &cur) != 0)
			fatalx("cursor");
		rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
		mdb_cursor_close(cur);
		CHECK(rc == 0 && store_del(&st, txn, st.person_idx_log, &k, NULL) == 0,
		      "removing entry %d", i + 1);
	}
}

/* Every tenth entry after those rewritten with a longer value (keys copied out:
 * LMDB reads a put's key after changing the page). */
static void rewrite_some(MDB_txn *txn)
{
	MDB_cursor *cur;
	MDB_val k, v;
	uint8_t keys[ENTRIES][8];
	size_t n = 0;

	if (mdb_cursor_open(txn, st.person_idx_log, &cur) != 0)
		fatalx("cursor");
	for (int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT))
		if (roster_be64_get(k.mv_data) % 10 == 0)
			memcpy(keys[n++], k.mv_data, 8);
	mdb_cursor_close(cur);
	for (size_t i = 0; i < n; i++) {
		uint8_t val[300];
		MDB_val nk = {8, keys[i]}, nv = {sizeof(val), val};

		value_of(roster_be64_get(keys[i]) + 7, sizeof(val), val);
		CHECK(store_put(&st, txn, st.person_idx_log, &nk, &nv, 0) == 0, "rewriting %zu", i);
	}
}

/* Changes LMDB refuses: nothing of them may reach the journal. */
static void refused(MDB_txn *txn)
{
	uint8_t key[8], val[16] = {0};
	MDB_val k = {sizeof(key), key}, v = {sizeof(val), val};

	key_of(ENTRIES, key);
	CHECK(store_put(&st, txn, st.person_idx_log, &k, &v, MDB_NOOVERWRITE) == MDB_KEYEXIST,
	      "a key already there");
	key_of(1, key); /* removed above */
	CHECK(store_del(&st, txn, st.person_idx_log, &k, NULL) == MDB_NOTFOUND, "a key not there");
	CHECK(store_failed(&st, &(struct roster_err){0}) == 0, "refusals leave the txn usable");
}

/* The whole index log as one string of (key, value) records. */
static char *contents(size_t *len)
{
	MDB_txn *txn;
	MDB_cursor *cur;
	MDB_val k, v;
	char *buf = NULL;
	size_t cap = 0;

	*len = 0;
	if (mdb_txn_begin(st.env, NULL, MDB_RDONLY, &txn) != 0 ||
	    mdb_cursor_open(txn, st.person_idx_log, &cur) != 0)
		fatalx("read");
	for (int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		size_t need = *len + 16 + k.mv_size + v.mv_size;

		if (need > cap) {
			cap = 2 * need;
			buf = roster_xrealloc(buf, cap);
		}
		memcpy(buf + *len, &k.mv_size, 8);
		memcpy(buf + *len + 8, &v.mv_size, 8);
		memcpy(buf + *len + 16, k.mv_data, k.mv_size);
		memcpy(buf + *len + 16 + k.mv_size, v.mv_data, v.mv_size);
		*len = need;
	}
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	return buf;
}

static void file_copy(const char *from, const char *to)
{
	size_t len;
	char *buf = test_slurp(from, &len);
	FILE *f = fopen(to, "wb");

	if (buf == NULL || f == NULL || fwrite(buf, 1, len, f) != len || fclose(f) != 0)
		fatalx("copying %s", from);
	free(buf);
}

static void open_registry(const char *dir, int create)
{
	struct journal *jr;
	struct roster_err err;

	if (journal_open(&jr, dir, 16UL << 20, &err) < 0 ||
	    store_open(&st, dir, 64UL << 20, create, &err) < 0 ||
	    journal_replay(&st, jr, &err) < 0 || journal_begin(&st, &err) < 0)
		fatalx("opening %s: %s", dir, err.message);
}

/* A power loss: the process ends without a checkpoint, and data.mdb is as it was
 * at the last one. */
static void power_loss(const char *data, const char *at_checkpoint)
{
	mdb_txn_abort(st.journal->protect);
	journal_free(st.journal);
	st.journal = NULL;
	store_close(&st);
	file_copy(at_checkpoint, data);
}

int main(void)
{
	char dir[] = "/tmp/test-journal.XXXXXX", data[64], saved[64], lock[64];
	struct journal *jr;
	struct roster_err err;
	char *want, *have;
	size_t wlen, hlen;
	MDB_txn *txn;

	if (sodium_init() < 0 || mkdtemp(dir) == NULL)
		fatalx("setup");
	snprintf(data, sizeof(data), "%s/data.mdb", dir);
	snprintf(saved, sizeof(saved), "%s/saved.mdb", dir);
	snprintf(lock, sizeof(lock), "%s/lock.mdb", dir);
	open_registry(dir, 1);
	file_copy(data, saved); /* just checkpointed: data.mdb is whole by itself */

	fill();
	txn = txn_begin();
	forget_first(txn);
	rewrite_some(txn);
	refused(txn);
	txn_commit(txn);
	txn = txn_begin();
	forget_first(txn); /* the next commit removes from where this one stopped */
	txn_commit(txn);
	want = contents(&wlen);

	power_loss(data, saved);
	if (journal_open(&jr, dir, 16UL << 20, &err) < 0 ||
	    store_open(&st, dir, 64UL << 20, 0, &err) < 0)
		fatalx("reopening: %s", err.message);
	CHECK(journal_replay(&st, jr, &err) == 0, "the replay: %s", err.message);
	have = contents(&hlen);
	CHECK(hlen == wlen && memcmp(have, want, wlen) == 0,
	      "the replayed log is the one the commits made (%zu against %zu bytes)", hlen, wlen);
	free(have);

	/* A drop, then a crash again: replayed, the log is empty. */
	if (journal_begin(&st, &err) < 0)
		fatalx("journal: %s", err.message);
	file_copy(data, saved);
	txn = txn_begin();
	CHECK(store_drop(&st, txn, st.person_idx_log) == 0, "a drop");
	txn_commit(txn);
	power_loss(data, saved);
	open_registry(dir, 0);
	have = contents(&hlen);
	CHECK(hlen == 0, "the drop replayed (%zu bytes left)", hlen);
	free(have);
	free(want);
	store_close(&st);

	unlink(data);
	unlink(saved);
	unlink(lock);
	snprintf(saved, sizeof(saved), "%s/journal", dir);
	unlink(saved);
	rmdir(dir);
	printf("%d passed, %d failed\n", test_pass, test_fail);
	return test_fail != 0;
}
