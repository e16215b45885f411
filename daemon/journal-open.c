/*
 * journal-open.c - opening the journal at start: one rosterd per registry (a
 * lock), the newer valid header slot, and after a stop that was not clean,
 * LMDB put back at the last checkpoint (its saved meta pages, once the data
 * file is shown to be the one they describe) and every intact record since
 * applied again, in order, in one transaction. journal.c has the layout.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "journal.h"
#include "roster/log.h"

/* Reads slot i into buf; returns its generation, or 0 when it is not valid. */
uint64_t journal_slot_read(int fd, int i, uint8_t *buf)
{
	uint8_t want[JR_HASH];
	uint32_t psize;

	if (pread(fd, buf, JR_SLOT, (off_t)i * JR_SLOT) != (ssize_t)JR_SLOT ||
	    (memcmp(buf, JR_MAGIC, 8) != 0 && memcmp(buf, JR_MAGIC_V1, 8) != 0))
		return 0;
	psize = get32(buf + 32);
	if (psize < 512 || psize > JR_PAGE_MAX || get32(buf + 40) > JR_DBS_MAX)
		return 0;
	journal_slot_hash(want, buf, psize);
	if (sodium_memcmp(want, buf + JR_HASH_AT, JR_HASH) != 0)
		return 0;
	return roster_be64_get(buf + 8);
}

/* Keeps data.mdb's meta pages as the stop left them in journal.undo, synced,
 * before the checkpoint's replace them: should the replay then be refused, they
 * name the state LMDB held at the stop (whole after a crash of the process, not
 * after a power loss), which an operator can put back (docs/operations.md).
 * Pages that already are the checkpoint's were put back by an earlier start
 * whose replay was refused or cut short: its journal.undo stays as it is. */
static int metas_keep(int fd, const char *dir, const uint8_t *checkpoint, size_t len,
                      struct roster_err *err)
{
	uint8_t *metas = roster_xmalloc(len);
	char path[PATH_MAX];
	int ufd, dfd, rc = -1;

	snprintf(path, sizeof(path), "%s/journal.undo", dir);
	if (pread(fd, metas, len, 0) != (ssize_t)len) {
		journal_sys_err(err, "cannot read the meta pages of", "data.mdb");
		goto done;
	}
	if (memcmp(metas, checkpoint, len) == 0) {
		rc = 0;
		goto done;
	}
	if ((ufd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0) {
		journal_sys_err(err, "cannot create", path);
		goto done;
	}
	rc = write(ufd, metas, len) == (ssize_t)len && fdatasync(ufd) == 0 ? 0 : -1;
	close(ufd);
	if (rc == 0 && (dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		rc = fsync(dfd);
		close(dfd);
	}
	if (rc < 0) {
		journal_sys_err(err, "cannot write", path);
		unlink(path); /* not half of the pages an operator would put back */
	}
done:
	free(metas);
	return rc;
}

/* Puts the checkpoint's meta pages back into data.mdb, so LMDB opens the
 * checkpointed state; refuses, touching nothing, a data.mdb that is not the one
 * the journal was written for (a backup put in place of a registry that had not
 * stopped cleanly, say). */
static int metas_restore(struct journal *jr, const char *dir, struct roster_err *err)
{
	uint32_t psize = get32(jr->slot + 32);
	uint8_t have[JR_HASH];
	char path[PATH_MAX];
	int fd, rc = -1;

	snprintf(path, sizeof(path), "%s/data.mdb", dir);
	if ((fd = open(path, O_RDWR | O_CLOEXEC)) < 0)
		return journal_sys_err(err, "cannot open", path);
	if (journal_root_hash(fd, jr->slot + JR_FIXED, psize, have) < 0 ||
	    sodium_memcmp(have, jr->slot + JR_ROOT_AT, JR_HASH) != 0) {
		roster_err_set(err, 0, "journal_mismatch",
		               "%s is not the data file %s was written for (its checkpointed "
		               "pages differ: a backup restored over a registry that had not "
		               "stopped cleanly?); refusing to start, nothing was changed. "
		               "Restore with rosterd stopped and move %s away first",
		               path, jr->path, jr->path);
		goto done;
	}
	/* Only a refused replay needs them: a start on a full disk goes on without. */
	if (metas_keep(fd, dir, jr->slot + JR_FIXED, 2 * (size_t)psize, err) < 0)
		log_warnx("%s: a replay refused could not be undone", err->message);
	if (pwrite(fd, jr->slot + JR_FIXED, 2 * (size_t)psize, 0) != (ssize_t)(2 * (size_t)psize) ||
	    fdatasync(fd) < 0) {
		journal_sys_err(err, "cannot restore the checkpoint into", path);
		goto done;
	}
	rc = 0;
done:
	close(fd);
	return rc;
}

/* Where the records after the header's checkpoint begin, the generation they
 * carry and the last one's seq it covers (a 0.7.1 header has zeros for the first
 * two: its records began at the front and carried its own generation). */
static int slot_records(struct journal *jr, struct roster_err *err)
{
	uint64_t start = jr->gen ? roster_be64_get(jr->slot + JR_START_AT) : 0;
	uint64_t chain = jr->gen ? roster_be64_get(jr->slot + JR_CHAIN_AT) : 0;

	jr->seq = jr->gen ? roster_be64_get(jr->slot + 16) : 0;
	jr->start = jr->tail = start ? (off_t)start : JR_RECORDS;
	jr->chain = chain ? chain : jr->gen;
	if (start != 0 && (start < (uint64_t)JR_RECORDS || start > (uint64_t)jr->size))
		return roster_err_set(err, 0, "journal_damaged",
		                      "%s names records at byte %llu, outside the file: refusing "
		                      "to start; restore the last backup",
		                      jr->path, (unsigned long long)start);
	return 0;
}

int journal_open(struct journal **out, const char *dir, size_t limit, struct roster_err *err)
{
	struct journal *jr = roster_xcalloc(1, sizeof(*jr));
	uint8_t *other = roster_xmalloc(JR_SLOT);
	uint64_t g0, g1;
	struct stat sb;

	jr->limit = limit;
	jr->dfd = -1;
	jr->slot = roster_xmalloc(JR_SLOT);
	snprintf(jr->path, sizeof(jr->path), "%s/journal", dir);
	if ((jr->fd = open(jr->path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0 ||
	    fstat(jr->fd, &sb) < 0) {
		journal_sys_err(err, "cannot open", jr->path);
		goto fail;
	}
	/* One rosterd per registry: a second one would rewind the first one's file. */
	if (flock(jr->fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno == EWOULDBLOCK)
			roster_err_set(err, 0, "busy",
			               "another rosterd is serving the registry in %s (it holds "
			               "%s); stop it first",
			               dir, jr->path);
		else
			journal_sys_err(err, "cannot lock", jr->path);
		goto fail;
	}
	jr->size = sb.st_size;
	g0 = journal_slot_read(jr->fd, 0, jr->slot);
	g1 = journal_slot_read(jr->fd, 1, other);
	if (g1 > g0) {
		uint8_t *t = jr->slot;

		jr->slot = other;
		other = t;
	}
	jr->gen = g0 > g1 ? g0 : g1;
	free(other);
	other = NULL;
	/* Records are written only after a whole header, and LMDB runs unsynced only
	 * then: a journal that reaches its records but has no valid header was
	 * damaged, and the registry may need what it held. */
	if (jr->gen == 0 && jr->size > JR_RECORDS) {
		roster_err_set(err, 0, "journal_damaged",
		               "%s has no valid header: refusing to start, since the registry "
		               "may lack writes it held; restore the last backup",
		               jr->path);
		goto fail;
	}
	if (slot_records(jr, err) < 0)
		goto fail;
	if (jr->gen == 0 || get32(jr->slot + 36) == 1) {
		*out = jr;
		return 0;
	}
	log_warnx("rosterd did not stop cleanly: restoring the registry to its last "
	          "checkpoint and applying the journal since");
	if (metas_restore(jr, dir, err) < 0)
		goto fail;
	jr->replay = 1;
	*out = jr;
	return 0;
fail:
	free(other);
	journal_free(jr);
	return -1;
}

void journal_free(struct journal *jr)
{
	if (jr == NULL)
		return;
	journal_checkpoint_abandon(jr);
	if (jr->fd >= 0)
		close(jr->fd);
	if (jr->dfd >= 0)
		close(jr->dfd);
	free(jr->wbuf);
	free(jr->slot);
	free(jr->buf);
	free(jr);
}

static void journal_undo_forget(struct journal *jr)
{
	char path[PATH_MAX + 8];

	snprintf(path, sizeof(path), "%s.undo", jr->path);
	if (unlink(path) < 0 && errno != ENOENT)
		log_warn("%s", path);
}

/* The database a record's dbi named when it was written, as opened now. */
static int replay_dbi(struct store *st, const uint8_t *slot, uint32_t dbi, MDB_dbi *out)
{
	uint32_t n = get32(slot + 40);

	for (uint32_t i = 0; i < n; i++) {
		const uint8_t *e = slot + JR_DBS_AT + i * (4 + JR_DB_NAME);
		char name[JR_DB_NAME + 1];

		if (get32(e) != dbi)
			continue;
		memcpy(name, e + 4, JR_DB_NAME);
		name[JR_DB_NAME] = '\0';
		return store_db_find(st, name, out);
	}
	return -1;
}

/* Applies one record's changes; -1 if they do not fit the checkpointed state. */
static int replay_ops(struct store *st, struct journal *jr, MDB_txn *txn, const uint8_t *p,
                      size_t len, int *rc)
{
	while (len >= JR_OP_HEAD) {
		uint32_t klen = get32(p + 5), vlen = get32(p + 9);
		MDB_val k = {klen, (void *)(p + JR_OP_HEAD)};
		MDB_val v = {vlen, (void *)(p + JR_OP_HEAD + klen)};
		MDB_dbi dbi;

		if ((size_t)klen + vlen > len - JR_OP_HEAD ||
		    replay_dbi(st, jr->slot, get32(p + 1), &dbi) < 0)
			return -1;
		switch (p[0]) {
		case JOURNAL_PUT:
			*rc = mdb_put(txn, dbi, &k, &v, 0);
			break;
		case JOURNAL_DEL:
			*rc = mdb_del(txn, dbi, &k, NULL);
			break;
		case JOURNAL_DEL_DUP:
			*rc = mdb_del(txn, dbi, &k, &v);
			break;
		case JOURNAL_DROP:
			*rc = mdb_drop(txn, dbi, 0);
			break;
		default:
			return -1;
		}
		if (*rc)
			return -1;
		p += JR_OP_HEAD + klen + vlen;
		len -= JR_OP_HEAD + klen + vlen;
	}
	return len == 0 ? 0 : -1;
}

/* Reads the record at off into *buf; its length, or 0 at the end of the journal. */
static size_t record_read(struct journal *jr, off_t off, uint64_t seq, uint8_t **buf, size_t *cap)
{
	uint8_t head[JR_REC_HEAD], want[JR_HASH];
	size_t len;

	if (pread(jr->fd, head, sizeof(head), off) != (ssize_t)sizeof(head) ||
	    get32(head) != JR_REC_MAGIC || roster_be64_get(head + 8) != jr->chain ||
	    roster_be64_get(head + 16) != seq)
		return 0;
	len = JR_REC_HEAD + (size_t)get32(head + 4) + JR_HASH;
	if (off + (off_t)len > jr->size)
		return 0;
	if (len > *cap) {
		*buf = roster_xrealloc(*buf, len);
		*cap = len;
	}
	if (pread(jr->fd, *buf, len, off) != (ssize_t)len)
		return 0;
	crypto_generichash(want, JR_HASH, *buf, len - JR_HASH, NULL, 0);
	return sodium_memcmp(want, *buf + len - JR_HASH, JR_HASH) == 0 ? len : 0;
}

/* One transaction with every intact record since the checkpoint: from where the
 * header says, each after the last or, when the writer found no room there, at
 * the front of the ring (journal.c); a record is the next one only with the next
 * seq and the header's generation, which no stale one has. */
static int replay_once(struct store *st, struct journal *jr, size_t *n, struct roster_err *err)
{
	uint8_t *buf = NULL;
	size_t cap = 0, len;
	off_t off = jr->start;
	MDB_txn *txn;
	int rc = 0;

	*n = 0;
	if ((rc = mdb_txn_begin(st->env, NULL, 0, &txn)) != 0)
		return store_mdb_err(err, rc, "replaying the journal");
	for (;;) {
		if ((len = record_read(jr, off, jr->seq + *n + 1, &buf, &cap)) == 0 &&
		    off != JR_RECORDS)
			len = record_read(jr, off = JR_RECORDS, jr->seq + *n + 1, &buf, &cap);
		if (len == 0)
			break;
		if (replay_ops(st, jr, txn, buf + JR_REC_HEAD, len - JR_REC_HEAD - JR_HASH, &rc) <
		    0) {
			mdb_txn_abort(txn);
			free(buf);
			if (rc == MDB_MAP_FULL)
				return ROSTER_RETRY;
			/* Intact (its hash holds) yet not what the checkpointed state
			 * can take: a fault in what was journaled, which a restart
			 * would meet again. */
			return roster_err_set(err, 0, "journal_damaged",
			                      "record %llu of %s does not apply to the "
			                      "checkpointed registry (%s); refusing to start. "
			                      "data.mdb is at its last checkpoint, the journal "
			                      "as it was, and %s.undo holds data.mdb's meta "
			                      "pages as the stop left them: copy the data folder "
			                      "aside and restore the last backup, or, after a "
			                      "crash of the process (not a power loss), run "
			                      "'rosterd recover' (rosterd(8))",
			                      (unsigned long long)jr->seq + *n + 1, jr->path,
			                      rc ? mdb_strerror(rc) : "malformed", jr->path);
		}
		off += (off_t)len;
		(*n)++;
	}
	free(buf);
	if ((rc = mdb_txn_commit(txn)) != 0)
		return rc == MDB_MAP_FULL
		           ? ROSTER_RETRY
		           : store_mdb_err(err, rc, "committing the journal's replay");
	return 0;
}

int journal_replay(struct store *st, struct journal *jr, struct roster_err *err)
{
	size_t n = 0;
	int rc = 0;

	st->journal = jr;
	while (jr->replay && (rc = replay_once(st, jr, &n, err)) == ROSTER_RETRY)
		if (store_grow(st, err) < 0)
			return -1;
	if (rc < 0)
		return -1;
	if (jr->replay)
		log_info("journal: %zu commits since the checkpoint applied again", n);
	jr->seq += n;
	if (!jr->replay)
		return journal_checkpoint(st, 1, err);
	jr->replay = 0;
	/* LMDB syncs every commit until journal_begin: the state now is durable, and
	 * the meta pages kept in case of a refused replay are of no more use. */
	if (journal_checkpoint(st, 1, err) < 0)
		return -1;
	journal_undo_forget(jr);
	return 0;
}
