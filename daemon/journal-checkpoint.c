/*
 * journal-checkpoint.c - the journal's checkpoints: data.mdb synced, its meta
 * pages copied into a header slot (journal.h), and the snapshot they name kept
 * from reuse until the next checkpoint is durable.
 *
 * Two kinds. A checkpoint in the writer's path (at a clean stop, before the map
 * is resized, when a commit's record finds no room) syncs data.mdb and writes
 * the slot while requests wait, and the records start again at the front of the
 * ring with a new generation. A checkpoint beside the writer, the usual kind
 * under load, takes the snapshot and the meta pages in the writer's path (a
 * read transaction and two reads; the writer's path runs on whichever thread
 * holds the writer's pen, writer.h), then leaves data.mdb's sync and the slot's
 * write to a thread of its own while the writer goes on committing: its records
 * follow the last ones in the ring, in the same generation, so that they
 * belong to the old checkpoint as much as to the new one. Until the new slot is
 * durable the old one stands, with its snapshot still kept, and a replay from
 * it meets every record since, those written during the sync included. Once the
 * slot is durable the ring's records before it are free and the old snapshot is
 * let go (journal_checkpoint_finish, in the writer's path).
 *
 * Why the new slot may be trusted once written: its meta pages were read right
 * after the commit they name, in the writer's path, before any other commit;
 * every page of that snapshot was written by LMDB before the sync began and is
 * kept from reuse by the read transaction taken with it; later commits write
 * other pages, and their meta pages (which LMDB does overwrite) are put back
 * from the slot by a replay.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "journal.h"
#include "roster/log.h"

/* LMDB's meta page (format 1): after a 16-byte page header, its magic, and at
 * byte 128 the main database's root page, at 144 the transaction id. */
#define META_MAGIC_AT 16
#define META_ROOT_AT  128
#define META_TXNID_AT 144

/* The root page of the newer of two meta pages, or UINT64_MAX if it has none. */
static uint64_t metas_root(const uint8_t *metas, uint32_t psize)
{
	const uint8_t *m = metas;
	uint64_t t0, t1, root;
	uint32_t magic;

	memcpy(&t0, metas + META_TXNID_AT, 8);
	memcpy(&t1, metas + psize + META_TXNID_AT, 8);
	if (t1 > t0)
		m = metas + psize;
	memcpy(&magic, m + META_MAGIC_AT, 4);
	memcpy(&root, m + META_ROOT_AT, 8);
	return magic == 0xBEEFC0DEu ? root : UINT64_MAX;
}

/* Hashes the checkpoint's root page as data.mdb holds it: the checkpoint names the
 * main database's root page, and that page, kept from reuse while rosterd ran,
 * tells this registry's data file (at this checkpoint) from any other. */
int journal_root_hash(int fd, const uint8_t *metas, uint32_t psize, uint8_t out[JR_HASH])
{
	uint64_t root = metas_root(metas, psize);
	uint8_t *page;
	int rc = -1;

	memset(out, 0, JR_HASH);
	if (root == UINT64_MAX)
		return 0;
	page = roster_xmalloc(psize);
	if (pread(fd, page, psize, (off_t)(root * psize)) == (ssize_t)psize) {
		crypto_generichash(out, JR_HASH, page, psize, NULL, 0);
		rc = 0;
	}
	free(page);
	return rc;
}

static double seconds_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void seconds_add(struct journal *jr, double t0)
{
	double t = seconds_now() - t0;

	jr->stats.checkpoint_seconds += t;
	if (t > jr->stats.checkpoint_max)
		jr->stats.checkpoint_max = t;
}

/* Fills slot with LMDB's meta pages as they are now (the last commit's), this
 * registry's databases and where the records after it begin. */
static int slot_prepare(struct journal *jr, struct store *st, uint8_t *slot, int clean, off_t start,
                        uint64_t chain, uint32_t *psize, size_t *pages, struct roster_err *err)
{
	size_t n = store_db_count();
	MDB_envinfo info;
	MDB_stat ms;
	int rc, fd;

	if ((rc = mdb_env_stat(st->env, &ms)) != 0 || (rc = mdb_env_get_fd(st->env, &fd)) != 0 ||
	    (rc = mdb_env_info(st->env, &info)) != 0)
		return store_mdb_err(err, rc, "checkpointing the registry");
	if (ms.ms_psize > JR_PAGE_MAX || n > JR_DBS_MAX)
		return roster_err_set(err, 0, "journal", "LMDB pages of %u bytes are not supported",
		                      ms.ms_psize);
	if (pread(fd, slot + JR_FIXED, 2 * (size_t)ms.ms_psize, 0) !=
	    (ssize_t)(2 * (size_t)ms.ms_psize))
		return journal_sys_err(err, "cannot read the meta pages of", "data.mdb");
	/* The slot is written whole: what smaller pages leave of it is zeros. */
	memset(slot + JR_FIXED + 2 * (size_t)ms.ms_psize, 0,
	       JR_SLOT - JR_FIXED - 2 * (size_t)ms.ms_psize);
	memset(slot, 0, JR_FIXED);
	memcpy(slot, JR_MAGIC, sizeof(JR_MAGIC) - 1); /* 8 bytes, no terminator */
	roster_be64_put(slot + 8, jr->gen + 1);
	roster_be64_put(slot + 16, jr->seq);
	/* bytes 24-31 are reserved (zero) */
	roster_be32_put(slot + 32, ms.ms_psize);
	roster_be32_put(slot + 36, (uint32_t)clean);
	roster_be32_put(slot + 40, (uint32_t)n);
	for (size_t i = 0; i < n; i++) {
		uint8_t *e = slot + JR_DBS_AT + i * (4 + JR_DB_NAME);
		MDB_dbi dbi = store_db_at(st, i);

		roster_be32_put(e, (uint32_t)dbi);
		strncpy((char *)e + 4, store_db_name(st, dbi), JR_DB_NAME);
	}
	if (journal_root_hash(fd, slot + JR_FIXED, ms.ms_psize, slot + JR_ROOT_AT) < 0)
		return journal_sys_err(err, "cannot read the root page of", "data.mdb");
	roster_be64_put(slot + JR_START_AT, (uint64_t)start);
	roster_be64_put(slot + JR_CHAIN_AT, chain);
	journal_slot_hash(slot + JR_HASH_AT, slot, ms.ms_psize);
	*psize = ms.ms_psize;
	*pages = info.me_last_pgno;
	return 0;
}

/* In the writer's path: everything committed so far made durable by data.mdb,
 * and the records started again at the front with a new generation. */
int journal_checkpoint(struct store *st, int clean, struct roster_err *err)
{
	struct journal *jr = st->journal;
	double t0 = seconds_now();
	uint32_t psize = 0;
	size_t pages = 0;
	int rc;

	if (journal_checkpoint_finish(st, 1, err) < 0)
		return -1;
	if (jr->broken)
		return roster_err_set(err, 0, "journal", "the journal failed earlier");
	jr->broken = 1; /* until this checkpoint is whole */
	if ((rc = mdb_env_sync(st->env, 1)) != 0)
		return store_mdb_err(err, rc, "checkpointing the registry");
	if (slot_prepare(jr, st, jr->slot, clean, JR_RECORDS, jr->gen + 1, &psize, &pages, err) < 0)
		return -1;
	if (pwrite(jr->fd, jr->slot, JR_SLOT, (off_t)((jr->gen + 1) % 2) * JR_SLOT) !=
	        (ssize_t)JR_SLOT ||
	    fdatasync(jr->fd) < 0)
		return journal_sys_err(err, "cannot write the checkpoint to", jr->path);
	jr->broken = 0;
	if (jr->size < JR_RECORDS)
		jr->size = JR_RECORDS;
	jr->pages = pages;
	jr->psize = psize;
	jr->gen++;
	jr->chain = jr->gen;
	jr->tail = jr->start = JR_RECORDS;
	jr->start_written = jr->written;
	jr->stats.checkpoints++;
	seconds_add(jr, t0);
	/* Only now may the pages of the previous checkpoint be reused. */
	if (jr->protect) {
		mdb_txn_reset(jr->protect);
		if ((rc = mdb_txn_renew(jr->protect)) != 0)
			return store_mdb_err(err, rc, "keeping the checkpointed snapshot");
	}
	return 0;
}

/* data.mdb's pages are written back a quarter MiB at a time, each waited for,
 * before the sync: the writer's journal syncs meanwhile then carry at most that
 * much of them to the disk, not the whole interval's (a lone client's p99.9 from
 * 41-60 ms to 6-7, bench/README.md, fifteenth round). */
#define CHECKPOINT_PACE ((off_t)256 << 10)

static void *checkpoint_sync(void *arg)
{
	struct journal_async *a = arg;
	off_t end = ((off_t)a->pages + 1) * a->psize;
	int rc = 0;

	for (off_t at = 0; at < end && rc == 0; at += CHECKPOINT_PACE)
		rc = sync_file_range(a->data_fd, at, CHECKPOINT_PACE,
		                     SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE |
		                         SYNC_FILE_RANGE_WAIT_AFTER);
	if (rc < 0 || fdatasync(a->data_fd) < 0) {
		a->error = errno;
		a->failed = "data.mdb";
	} else if (pwrite(a->jfd, a->slot, JR_SLOT, a->slot_at) != (ssize_t)JR_SLOT ||
	           fdatasync(a->jfd) < 0) {
		a->error = errno ? errno : EIO;
		a->failed = "the journal";
	}
	atomic_store(&a->done, 1);
	return NULL;
}

/* Beside the writer: the snapshot of the last commit taken and kept, its slot
 * prepared, and the sync and the slot's write handed to a thread. */
int journal_checkpoint_start(struct store *st, struct roster_err *err)
{
	struct journal *jr = st->journal;
	struct journal_async *a = &jr->async;
	double t0 = seconds_now();
	int rc;

	if (a->running || jr->broken)
		return 0;
	if (a->slot == NULL)
		a->slot = roster_xmalloc(JR_SLOT);
	if ((rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &a->protect)) != 0)
		return store_mdb_err(err, rc, "keeping the snapshot to checkpoint");
	if (slot_prepare(jr, st, a->slot, 0, jr->tail, jr->chain, &a->psize, &a->pages, err) < 0 ||
	    (rc = mdb_env_get_fd(st->env, &a->data_fd)) != 0) {
		if (rc)
			store_mdb_err(err, rc, "checkpointing the registry");
		mdb_txn_abort(a->protect);
		a->protect = NULL;
		return -1;
	}
	a->jfd = jr->fd;
	a->slot_at = (off_t)((jr->gen + 1) % 2) * JR_SLOT;
	a->start = jr->tail;
	a->written = jr->written;
	a->error = 0;
	a->failed = NULL;
	atomic_store(&a->done, 0);
	if ((rc = pthread_create(&a->thread, NULL, checkpoint_sync, a)) != 0) {
		/* No thread to be had (a process limit): the writer checkpoints itself. */
		log_warnx("cannot start a thread for a checkpoint (%s): checkpointing in the "
		          "writer's path",
		          strerror(rc));
		mdb_txn_abort(a->protect);
		a->protect = NULL;
		return journal_checkpoint(st, 0, err);
	}
	a->running = 1;
	jr->stats.started++;
	seconds_add(jr, t0);
	return 0;
}

/* In the writer's path: when the checkpoint beside it is done (or, with wait,
 * once it is), the new slot stands, the ring's records before it are free and
 * the old snapshot is let go. A failed sync is fail-stop, as in the writer's
 * path: the records since the old slot still hold every acknowledged commit. */
int journal_checkpoint_finish(struct store *st, int wait, struct roster_err *err)
{
	struct journal *jr = st->journal;
	struct journal_async *a = &jr->async;

	if (!a->running || (!wait && !atomic_load(&a->done)))
		return 0;
	pthread_join(a->thread, NULL);
	a->running = 0;
	if (a->error) {
		mdb_txn_abort(a->protect);
		a->protect = NULL;
		jr->broken = 1;
		errno = a->error;
		return journal_sys_err(err, "a checkpoint could not sync", a->failed);
	}
	jr->gen++;
	jr->start = a->start;
	jr->start_written = a->written;
	jr->pages = a->pages;
	jr->psize = a->psize;
	if (jr->size < JR_RECORDS)
		jr->size = JR_RECORDS;
	mdb_txn_abort(jr->protect);
	jr->protect = a->protect;
	a->protect = NULL;
	jr->stats.checkpoints++;
	jr->stats.beside++;
	return 0;
}

/* The process is going away (a failed start, or a test's crash): the thread is
 * waited for, since it uses the journal's memory, and its snapshot let go. */
void journal_checkpoint_abandon(struct journal *jr)
{
	struct journal_async *a = &jr->async;

	if (a->running) {
		pthread_join(a->thread, NULL);
		a->running = 0;
	}
	if (a->protect) {
		mdb_txn_abort(a->protect);
		a->protect = NULL;
	}
	free(a->slot);
	a->slot = NULL;
}

/* Before the map is resized: the snapshot kept for the checkpoint is let go, which
 * is safe only right after a checkpoint, with no commit until journal_retake. */
int journal_release(struct store *st, struct roster_err *err)
{
	struct journal *jr = st->journal;

	if (jr == NULL || !jr->active)
		return 0;
	if (journal_checkpoint(st, 0, err) < 0)
		return -1;
	mdb_txn_reset(jr->protect);
	return 0;
}

int journal_retake(struct store *st, struct roster_err *err)
{
	struct journal *jr = st->journal;
	int rc;

	if (jr == NULL || !jr->active)
		return 0;
	if ((rc = mdb_txn_renew(jr->protect)) != 0) {
		jr->broken = 1;
		return store_mdb_err(err, rc, "keeping the checkpointed snapshot");
	}
	return 0;
}
