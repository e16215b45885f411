/*
 * journal.c - each commit made durable by one sequential write and one sync.
 *
 * LMDB makes a commit durable with two fdatasyncs (its data pages, then the meta
 * page that points at them), and a registry's data pages are scattered: every
 * create touches a leaf of each blind index. While rosterd serves, LMDB commits
 * without syncing (MDB_NOSYNC) and what each commit changed -- the writer's puts,
 * deletes and drops, values already sealed -- is appended here and synced.
 * Replies wait for that sync (writer.c).
 *
 * Why a power loss between checkpoints loses nothing acknowledged:
 *  - A checkpoint syncs LMDB's file, copies its two meta pages (as they were
 *    when the checkpoint began) into a header slot here and syncs that. The
 *    header names where the records after it begin; they are what the
 *    checkpointed state lacks.
 *  - A read transaction stays open on the checkpointed snapshot until the next
 *    checkpoint is durable, so LMDB never reuses a page that snapshot uses:
 *    whatever the kernel wrote back since, in whatever order, those pages are
 *    intact on disk.
 *  - After a stop that was not clean, the next start writes the header's meta
 *    pages back over LMDB's (LMDB is then exactly at the checkpoint) and applies
 *    the records again in order, up to the first torn or stale one. A record is
 *    written after its commit and a reply after its record's sync, so every
 *    acknowledged change is here.
 * The header has two slots, written in turn, each with its own hash: a torn
 * header write leaves the previous checkpoint. Records carry a generation, a
 * sequence number and a hash, and follow each other in a ring of journal_size
 * bytes: a checkpoint usually runs beside the writer (journal-checkpoint.c),
 * and the records written during its sync must outlive it. A clean stop
 * checkpoints and marks the header clean, and the next start changes nothing.
 *
 * The file holds what data.mdb holds (sealed records, keyed index tags, audit
 * entries), so no personal data in plaintext.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "journal.h"
#include "roster/log.h"

/* A slot's hash covers its fields and as many meta page bytes as it names. */
void journal_slot_hash(uint8_t out[JR_HASH], const uint8_t *slot, uint32_t psize)
{
	crypto_generichash_state st;

	crypto_generichash_init(&st, NULL, 0, JR_HASH);
	crypto_generichash_update(&st, slot, JR_HASH_AT);
	crypto_generichash_update(&st, slot + JR_FIXED, 2 * (size_t)psize);
	crypto_generichash_final(&st, out, JR_HASH);
}

int journal_sys_err(struct roster_err *err, const char *what, const char *path)
{
	return roster_err_set(err, 0, "journal", "%s %s: %s", what, path, strerror(errno));
}

/* Writes zeros ahead of the records, so a record's sync never changes the file's
 * size (which would cost a filesystem journal commit per sync). */
static int journal_grow(struct journal *jr, off_t need)
{
	static const uint8_t zero[64 << 10];
	off_t size = jr->size;

	if (size >= need)
		return 0;
	while (size < need) {
		off_t end = (size / JR_CHUNK + 1) * JR_CHUNK;

		for (off_t o = size; o < end; o += (off_t)sizeof(zero))
			if (pwrite(jr->fd, zero, sizeof(zero), o) != (ssize_t)sizeof(zero))
				goto fail;
		size = end;
	}
	if (fdatasync(jr->fd) < 0)
		goto fail;
	jr->size = size;
	return 0;
fail:
	/* Short of room: what was written gives the space back to data.mdb. */
	if (ftruncate(jr->fd, jr->size) < 0)
		log_warn("%s", jr->path);
	return -1;
}

int journal_begin(struct store *st, struct roster_err *err)
{
	struct journal *jr = st->journal;
	int rc;

	if ((rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &jr->protect)) != 0)
		return store_mdb_err(err, rc, "keeping the checkpointed snapshot");
	if (journal_checkpoint(st, 0, err) < 0)
		return -1;
	/* The whole ring written at once, now: grown while serving, the file's sync
	 * would queue behind a checkpoint's sync of data.mdb (tens of ms). Short of
	 * room, the ring is what the file holds, and checkpoints come sooner. */
	if (journal_grow(jr, JR_RECORDS + (off_t)jr->limit + JR_BLOCK) < 0)
		log_warn("%s: cannot write the journal's %zu bytes ahead", jr->path, jr->limit);
	if ((rc = mdb_env_set_flags(st->env, MDB_NOSYNC, 1)) != 0)
		return store_mdb_err(err, rc, "setting up the journal");
	/* A direct, synchronous write of a few blocks is quicker than a write through the
	 * page cache and an fdatasync; a filesystem without O_DIRECT gets the latter. */
	jr->dfd = open(jr->path, O_WRONLY | O_DIRECT | O_DSYNC | O_CLOEXEC);
	jr->active = 1;
	return 0;
}

void journal_end(struct store *st)
{
	struct journal *jr = st->journal;
	struct roster_err err;

	if (jr == NULL || !jr->active)
		return;
	if (journal_checkpoint_finish(st, 1, &err) < 0)
		log_warnx("%s", err.message);
	if (jr->broken)
		log_warnx("the journal failed: the next start restores the last checkpoint and "
		          "applies the journal's intact records");
	else if (journal_checkpoint(st, 1, &err) < 0)
		log_warnx("%s: the next start applies the journal again", err.message);
	mdb_env_set_flags(st->env, MDB_NOSYNC, 0);
	mdb_txn_abort(jr->protect);
	jr->protect = NULL;
	jr->active = 0;
}

void journal_capture(struct journal *jr)
{
	if (jr == NULL)
		return;
	jr->len = JR_REC_HEAD;
	jr->overflow = 0;
	jr->capturing = jr->active;
}

/* Called before LMDB makes the change: a key or value may point into a page of the
 * map (a cursor's key, say), and the change itself may move what is there. */
struct journal_mark journal_note(struct journal *jr, enum journal_op op, MDB_dbi dbi,
                                 const MDB_val *k, const MDB_val *v)
{
	size_t klen = k ? k->mv_size : 0, vlen = v ? v->mv_size : 0;
	struct journal_mark mark = {0, 0};
	size_t need;
	uint8_t *p;

	if (jr == NULL || !jr->capturing)
		return mark;
	mark = (struct journal_mark){jr->len, jr->overflow};
	need = jr->len + JR_OP_HEAD + klen + vlen + JR_HASH;
	if (jr->overflow)
		return mark;
	if (need > jr->limit) { /* too big for the journal: this commit checkpoints */
		jr->overflow = 1;
		return mark;
	}
	if (need > jr->cap) {
		jr->cap = need > 2 * jr->cap ? need : 2 * jr->cap;
		jr->buf = roster_xrealloc(jr->buf, jr->cap);
	}
	p = jr->buf + jr->len;
	p[0] = (uint8_t)op;
	roster_be32_put(p + 1, (uint32_t)dbi);
	roster_be32_put(p + 5, (uint32_t)klen);
	roster_be32_put(p + 9, (uint32_t)vlen);
	if (klen)
		memcpy(p + JR_OP_HEAD, k->mv_data, klen);
	if (vlen)
		memcpy(p + JR_OP_HEAD + klen, v->mv_data, vlen);
	jr->len += JR_OP_HEAD + klen + vlen;
	return mark;
}

/* Takes back the last note: LMDB did not make its change. */
void journal_unnote(struct journal *jr, struct journal_mark mark)
{
	if (jr == NULL || !jr->capturing)
		return;
	jr->len = mark.len;
	jr->overflow = mark.overflow;
}

/* Writes len bytes of record at the tail and makes them durable. Directly: the
 * blocks from the one holding the tail to the record's end, the first one with
 * the bytes before the tail kept from the last write. */
static int record_write(struct journal *jr, const uint8_t *rec, size_t len)
{
	off_t start = jr->tail - jr->tail % JR_BLOCK, end = jr->tail + (off_t)len;
	size_t pre = (size_t)(jr->tail - start), total = pre + len;
	size_t wlen = (total + JR_BLOCK - 1) / JR_BLOCK * JR_BLOCK;
	size_t keep = (size_t)(end % JR_BLOCK);

	if (jr->dfd < 0)
		return pwrite(jr->fd, rec, len, jr->tail) == (ssize_t)len && fdatasync(jr->fd) == 0
		           ? 0
		           : -1;
	if (wlen > jr->wcap) {
		free(jr->wbuf);
		if (posix_memalign((void **)&jr->wbuf, JR_BLOCK, wlen) != 0)
			fatalx("out of memory");
		jr->wcap = wlen;
	}
	memcpy(jr->wbuf, jr->part, pre);
	memcpy(jr->wbuf + pre, rec, len);
	memset(jr->wbuf + total, 0, wlen - total);
	if (pwrite(jr->dfd, jr->wbuf, wlen, start) != (ssize_t)wlen) {
		if (errno != EINVAL)
			return -1;
		/* The filesystem took O_DIRECT but not these blocks: write through the
		 * page cache from now on (nothing was written). */
		log_warnx("%s: direct writes refused (%s); writing through the page cache",
		          jr->path, strerror(errno));
		close(jr->dfd);
		jr->dfd = -1;
		return record_write(jr, rec, len);
	}
	memcpy(jr->part, jr->wbuf + (end - start) - keep, keep);
	return 0;
}

/* The end of the last block a record of len bytes at off is written with. */
static off_t blocks_end(off_t off, size_t len)
{
	off_t end = off + (off_t)len;

	return (end + JR_BLOCK - 1) / JR_BLOCK * JR_BLOCK;
}

/* Where a record of len bytes goes in the ring, or -1 when it has no room: after
 * the last record, or at the front, short of the block where the records the
 * durable checkpoint needs begin (a direct write rewrites whole blocks). */
static off_t record_place(const struct journal *jr, size_t len)
{
	off_t fence = jr->start - jr->start % JR_BLOCK;

	if (jr->tail >= jr->start) {
		if (jr->tail + (off_t)len <= JR_RECORDS + (off_t)jr->limit)
			return jr->tail;
		return blocks_end(JR_RECORDS, len) <= fence ? JR_RECORDS : -1;
	}
	return blocks_end(jr->tail, len) <= fence ? jr->tail : -1;
}

/* After each commit of the writer: its record written and synced, or, when it
 * does not fit, a checkpoint, which makes it durable as well. A full ring waits
 * for the checkpoint running beside the writer, which frees the front. */
int journal_commit(struct store *st, struct roster_err *err)
{
	struct journal *jr = st->journal;
	off_t at = -1;
	size_t len;
	int rc = 0;

	if (jr == NULL || !jr->active)
		return 0;
	jr->capturing = 0;
	len = jr->len + JR_HASH;
	if (!jr->overflow && (at = record_place(jr, len)) < 0 && jr->async.running) {
		jr->stats.waits++;
		if (journal_checkpoint_finish(st, 1, err) < 0) {
			rc = -1;
			goto done;
		}
		at = record_place(jr, len);
	}
	if (at < 0 || journal_grow(jr, at + (off_t)len + JR_BLOCK) < 0) {
		rc = journal_checkpoint(st, 0, err);
		goto done;
	}
	if (jr->cap < len) { /* a commit of nothing has no buffer yet, or had it let go */
		jr->cap = len;
		jr->buf = roster_xrealloc(jr->buf, jr->cap);
	}
	jr->tail = at;
	roster_be32_put(jr->buf, JR_REC_MAGIC);
	roster_be32_put(jr->buf + 4, (uint32_t)(jr->len - JR_REC_HEAD));
	roster_be64_put(jr->buf + 8, jr->chain);
	roster_be64_put(jr->buf + 16, jr->seq + 1);
	crypto_generichash(jr->buf + jr->len, JR_HASH, jr->buf, jr->len, NULL, 0);
	if (record_write(jr, jr->buf, len) < 0) {
		/* The commit is not durable and its requests fail: keep its record from
		 * being applied at the next start (best effort: the disk is failing), and
		 * checkpoint no more, since that would make the commit durable after all. */
		static const uint8_t none[JR_REC_HEAD];

		rc = journal_sys_err(err, "cannot write the journal", jr->path);
		if (pwrite(jr->fd, none, sizeof(none), jr->tail) == (ssize_t)sizeof(none))
			(void)fdatasync(jr->fd);
		jr->broken = 1;
		goto done;
	}
	jr->seq++;
	jr->tail += (off_t)len;
	jr->written += len;
	jr->stats.records++;
done:
	if (jr->cap > JR_KEEP) { /* a big commit's capture: do not keep its memory */
		free(jr->buf);
		jr->buf = NULL;
		jr->cap = 0;
	}
	if (jr->wcap > JR_KEEP) {
		free(jr->wbuf);
		jr->wbuf = NULL;
		jr->wcap = 0;
	}
	return rc;
}

/* After the replies of a commit are on their way: a checkpoint beside the writer
 * finished or started when one is due. With writeback (a commit of several
 * requests), LMDB's pages start on their way to the disk now, so that the
 * checkpoint has little left to sync while many clients' journal syncs would
 * meet it; a client alone gains more from leaving them to the checkpoint, since
 * its next record's sync would wait for them (bench/README.md, fifteenth round). */
int journal_after(struct store *st, int writeback, struct roster_err *err)
{
	struct journal *jr = st->journal;
	MDB_envinfo info;
	int fd;

	if (jr == NULL || !jr->active)
		return 0;
	if (journal_checkpoint_finish(st, 0, err) < 0)
		return -1;
	if (writeback && mdb_env_get_fd(st->env, &fd) == 0)
		sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);
	/* Pages freed since the checkpoint cannot be reused before the next one, so
	 * LMDB takes new pages at the end of its file: its growth bounds the interval
	 * as much as the journal's size does. */
	if (jr->written - jr->start_written > jr->limit / 2 ||
	    (mdb_env_info(st->env, &info) == 0 &&
	     (info.me_last_pgno - jr->pages) * jr->psize > jr->limit))
		return journal_checkpoint_start(st, err);
	return 0;
}

/* In the writer's path, which owns the journal (writer.c hands the copy on). */
void journal_stats(struct store *st, struct journal_stats *out)
{
	struct journal *jr = st->journal;

	memset(out, 0, sizeof(*out));
	if (jr == NULL)
		return;
	*out = jr->stats;
	out->bytes = jr->written - jr->start_written;
}
