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
 *  - A checkpoint syncs LMDB's file, copies its two meta pages into a header
 *    slot here and syncs that. The records after the header are what the
 *    checkpointed state lacks.
 *  - A read transaction stays open on the checkpointed snapshot until the next
 *    checkpoint, so LMDB never reuses a page that snapshot uses: whatever the
 *    kernel wrote back since, in whatever order, those pages are intact on disk.
 *  - After a stop that was not clean, the next start writes the header's meta
 *    pages back over LMDB's (LMDB is then exactly at the checkpoint) and applies
 *    the records again in order, up to the first torn or stale one. A record is
 *    written after its commit and a reply after its record's sync, so every
 *    acknowledged change is here.
 * The header has two slots, written in turn, each with its own hash: a torn
 * header write leaves the previous checkpoint. Records carry the header's
 * generation, a sequence number and a hash. A clean stop checkpoints and marks
 * the header clean, and the next start changes nothing.
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
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "rosterd.h"
#include "roster/log.h"

#define JR_MAGIC     "RSTRJRN1"
#define JR_PAGE_MAX  65536u                       /* the largest LMDB page size kept */
#define JR_FIXED     4096u                        /* a slot's fields, before the meta pages */
#define JR_SLOT      (JR_FIXED + 2 * JR_PAGE_MAX) /* one header slot */
#define JR_RECORDS   (2 * (off_t)JR_SLOT)         /* where records start */
#define JR_HASH      32u
#define JR_HASH_AT   (JR_FIXED - JR_HASH)
#define JR_DB_NAME   28u
#define JR_DBS_AT    44u
#define JR_ROOT_AT   3968u /* the hash of the checkpoint's root page (root_hash) */
#define JR_DBS_MAX   ((JR_ROOT_AT - JR_DBS_AT) / (4 + JR_DB_NAME))
#define JR_REC_MAGIC 0x524a5231u /* "RJR1" */
#define JR_REC_HEAD  24u         /* magic, length, generation, seq */
#define JR_OP_HEAD   13u         /* kind, dbi, key length, value length */
#define JR_CHUNK     ((off_t)256 << 10)
#define JR_BLOCK     4096u             /* direct writes: aligned, whole blocks */
#define JR_KEEP      ((size_t)1 << 20) /* a capture buffer larger than this is let go */

struct journal {
	int fd;
	int dfd;       /* the same file opened O_DIRECT | O_DSYNC, or -1 (tmpfs, say) */
	uint8_t *wbuf; /* JR_BLOCK-aligned: whole blocks written through dfd */
	size_t wcap;
	uint8_t part[JR_BLOCK]; /* the tail's block up to the tail: rewritten with the next */
	char path[PATH_MAX];
	size_t limit;      /* bytes of records between checkpoints */
	off_t size;        /* the file's length: written with zeros ahead of records */
	off_t tail;        /* where the next record goes */
	uint64_t gen, seq; /* the header's generation; the last record's seq */
	size_t pages;      /* LMDB's last page at the checkpoint: the file grows from it */
	size_t psize;
	uint8_t *slot;    /* JR_SLOT bytes: the header read at open, then the next one */
	int replay;       /* opened after an unclean stop: records to apply */
	int active;       /* LMDB commits without syncing; commits are journaled */
	MDB_txn *protect; /* the checkpointed snapshot, kept so its pages stay */
	uint8_t *buf;     /* the record being captured, header included */
	size_t len, cap;
	int capturing, overflow;
	int broken; /* a write or sync failed: no checkpoint may follow (fail-stop) */
	struct journal_stats stats;
};

static uint32_t get32(const uint8_t *p)
{
	return roster_be32_get(p);
}

/* A slot's hash covers its fields and as many meta page bytes as it names. */
static void slot_hash(uint8_t out[JR_HASH], const uint8_t *slot, uint32_t psize)
{
	crypto_generichash_state st;

	crypto_generichash_init(&st, NULL, 0, JR_HASH);
	crypto_generichash_update(&st, slot, JR_HASH_AT);
	crypto_generichash_update(&st, slot + JR_FIXED, 2 * (size_t)psize);
	crypto_generichash_final(&st, out, JR_HASH);
}

/* Reads slot i into buf; returns its generation, or 0 when it is not valid. */
static uint64_t slot_read(int fd, int i, uint8_t *buf)
{
	uint8_t want[JR_HASH];
	uint32_t psize;

	if (pread(fd, buf, JR_SLOT, (off_t)i * JR_SLOT) != (ssize_t)JR_SLOT ||
	    memcmp(buf, JR_MAGIC, 8) != 0)
		return 0;
	psize = get32(buf + 32);
	if (psize < 512 || psize > JR_PAGE_MAX || get32(buf + 40) > JR_DBS_MAX)
		return 0;
	slot_hash(want, buf, psize);
	if (sodium_memcmp(want, buf + JR_HASH_AT, JR_HASH) != 0)
		return 0;
	return roster_be64_get(buf + 8);
}

static int sys_err(struct roster_err *err, const char *what, const char *path)
{
	return roster_err_set(err, 0, "journal", "%s %s: %s", what, path, strerror(errno));
}

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
static int root_hash(int fd, const uint8_t *metas, uint32_t psize, uint8_t out[JR_HASH])
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
		return sys_err(err, "cannot open", path);
	if (root_hash(fd, jr->slot + JR_FIXED, psize, have) < 0 ||
	    sodium_memcmp(have, jr->slot + JR_ROOT_AT, JR_HASH) != 0) {
		roster_err_set(err, 0, "journal_mismatch",
		               "%s is not the data file %s was written for (its checkpointed "
		               "pages differ: a backup restored over a registry that had not "
		               "stopped cleanly?); refusing to start, nothing was changed. "
		               "Restore with rosterd stopped and move %s away first",
		               path, jr->path, jr->path);
		goto done;
	}
	if (pwrite(fd, jr->slot + JR_FIXED, 2 * (size_t)psize, 0) != (ssize_t)(2 * (size_t)psize) ||
	    fdatasync(fd) < 0) {
		sys_err(err, "cannot restore the checkpoint into", path);
		goto done;
	}
	rc = 0;
done:
	close(fd);
	return rc;
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
		sys_err(err, "cannot open", jr->path);
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
			sys_err(err, "cannot lock", jr->path);
		goto fail;
	}
	jr->size = sb.st_size;
	g0 = slot_read(jr->fd, 0, jr->slot);
	g1 = slot_read(jr->fd, 1, other);
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
	if (jr->gen == 0 || get32(jr->slot + 36) == 1) {
		jr->seq = jr->gen ? roster_be64_get(jr->slot + 16) : 0;
		*out = jr;
		return 0;
	}
	jr->seq = roster_be64_get(jr->slot + 16);
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
	if (jr->fd >= 0)
		close(jr->fd);
	if (jr->dfd >= 0)
		close(jr->dfd);
	free(jr->wbuf);
	free(jr->slot);
	free(jr->buf);
	free(jr);
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
	    get32(head) != JR_REC_MAGIC || roster_be64_get(head + 8) != jr->gen ||
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

/* One transaction with every intact record since the checkpoint. */
static int replay_once(struct store *st, struct journal *jr, size_t *n, struct roster_err *err)
{
	uint8_t *buf = NULL;
	size_t cap = 0, len;
	off_t off = JR_RECORDS;
	MDB_txn *txn;
	int rc = 0;

	*n = 0;
	if ((rc = mdb_txn_begin(st->env, NULL, 0, &txn)) != 0)
		return store_mdb_err(err, rc, "replaying the journal");
	while ((len = record_read(jr, off, jr->seq + *n + 1, &buf, &cap)) != 0) {
		if (replay_ops(st, jr, txn, buf + JR_REC_HEAD, len - JR_REC_HEAD - JR_HASH, &rc) <
		    0) {
			mdb_txn_abort(txn);
			free(buf);
			if (rc == MDB_MAP_FULL)
				return ROSTER_RETRY;
			return roster_err_set(err, 0, "journal",
			                      "record %llu of %s does not apply to the "
			                      "checkpointed registry (%s); refusing to start",
			                      (unsigned long long)jr->seq + *n + 1, jr->path,
			                      rc ? mdb_strerror(rc) : "malformed");
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
	jr->replay = 0;
	/* LMDB syncs every commit until journal_begin: the state now is durable. */
	return journal_checkpoint(st, 1, err);
}

/* Writes zeros ahead of the records, so a record's sync never changes the file's
 * size (which would cost a filesystem journal commit per sync). */
static int journal_grow(struct journal *jr, off_t need)
{
	static const uint8_t zero[64 << 10];

	while (jr->size < need) {
		off_t end = (jr->size / JR_CHUNK + 1) * JR_CHUNK;

		for (off_t o = jr->size; o < end; o += (off_t)sizeof(zero))
			if (pwrite(jr->fd, zero, sizeof(zero), o) != (ssize_t)sizeof(zero))
				return -1;
		if (fdatasync(jr->fd) < 0)
			return -1;
		jr->size = end;
	}
	return 0;
}

static void slot_fill(struct journal *jr, struct store *st, uint32_t psize, int clean)
{
	size_t n = store_db_count();
	uint8_t *s = jr->slot;

	memset(s, 0, JR_FIXED);
	memcpy(s, JR_MAGIC, sizeof(JR_MAGIC) - 1); /* 8 bytes, no terminator */
	roster_be64_put(s + 8, jr->gen + 1);
	roster_be64_put(s + 16, jr->seq);
	/* bytes 24-31 are reserved (zero) */
	roster_be32_put(s + 32, psize);
	roster_be32_put(s + 36, (uint32_t)clean);
	roster_be32_put(s + 40, (uint32_t)n);
	for (size_t i = 0; i < n; i++) {
		uint8_t *e = s + JR_DBS_AT + i * (4 + JR_DB_NAME);
		MDB_dbi dbi = store_db_at(st, i);

		roster_be32_put(e, (uint32_t)dbi);
		strncpy((char *)e + 4, store_db_name(st, dbi), JR_DB_NAME);
	}
}

static double seconds_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int journal_checkpoint(struct store *st, int clean, struct roster_err *err)
{
	struct journal *jr = st->journal;
	double t0 = seconds_now();
	MDB_envinfo info;
	MDB_stat ms;
	int rc, fd;

	if (jr->broken)
		return roster_err_set(err, 0, "journal", "the journal failed earlier");
	jr->broken = 1; /* until this checkpoint is whole */

	if ((rc = mdb_env_sync(st->env, 1)) != 0 || (rc = mdb_env_stat(st->env, &ms)) != 0 ||
	    (rc = mdb_env_get_fd(st->env, &fd)) != 0 || (rc = mdb_env_info(st->env, &info)) != 0)
		return store_mdb_err(err, rc, "checkpointing the registry");
	if (ms.ms_psize > JR_PAGE_MAX || store_db_count() > JR_DBS_MAX)
		return roster_err_set(err, 0, "journal", "LMDB pages of %u bytes are not supported",
		                      ms.ms_psize);
	if (pread(fd, jr->slot + JR_FIXED, 2 * (size_t)ms.ms_psize, 0) !=
	    (ssize_t)(2 * (size_t)ms.ms_psize))
		return sys_err(err, "cannot read the meta pages of", "data.mdb");
	/* The slot is written whole: what smaller pages leave of it is zeros. */
	memset(jr->slot + JR_FIXED + 2 * (size_t)ms.ms_psize, 0,
	       JR_SLOT - JR_FIXED - 2 * (size_t)ms.ms_psize);
	slot_fill(jr, st, ms.ms_psize, clean);
	if (root_hash(fd, jr->slot + JR_FIXED, ms.ms_psize, jr->slot + JR_ROOT_AT) < 0)
		return sys_err(err, "cannot read the root page of", "data.mdb");
	slot_hash(jr->slot + JR_HASH_AT, jr->slot, ms.ms_psize);
	if (pwrite(jr->fd, jr->slot, JR_SLOT, (off_t)((jr->gen + 1) % 2) * JR_SLOT) !=
	        (ssize_t)JR_SLOT ||
	    fdatasync(jr->fd) < 0)
		return sys_err(err, "cannot write the checkpoint to", jr->path);
	jr->broken = 0;
	if (jr->size < JR_RECORDS)
		jr->size = JR_RECORDS;
	jr->pages = info.me_last_pgno;
	jr->psize = ms.ms_psize;
	jr->gen++;
	jr->tail = JR_RECORDS;
	jr->stats.checkpoints++;
	jr->stats.checkpoint_seconds += seconds_now() - t0;
	/* Only now may the pages of the previous checkpoint be reused. */
	if (jr->protect) {
		mdb_txn_reset(jr->protect);
		if ((rc = mdb_txn_renew(jr->protect)) != 0)
			return store_mdb_err(err, rc, "keeping the checkpointed snapshot");
	}
	return 0;
}

int journal_begin(struct store *st, struct roster_err *err)
{
	struct journal *jr = st->journal;
	int rc;

	if ((rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &jr->protect)) != 0)
		return store_mdb_err(err, rc, "keeping the checkpointed snapshot");
	if (journal_checkpoint(st, 0, err) < 0)
		return -1;
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

void journal_note(struct journal *jr, enum journal_op op, MDB_dbi dbi, const MDB_val *k,
                  const MDB_val *v)
{
	size_t klen = k ? k->mv_size : 0, vlen = v ? v->mv_size : 0;
	size_t need = jr->len + JR_OP_HEAD + klen + vlen + JR_HASH;
	uint8_t *p;

	if (!jr->capturing || jr->overflow)
		return;
	if (need > jr->limit) { /* too big for the journal: this commit checkpoints */
		jr->overflow = 1;
		return;
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

/* After each commit of the writer: its record written and synced, or, when it
 * does not fit, a checkpoint, which makes it durable as well. */
int journal_commit(struct store *st, struct roster_err *err)
{
	struct journal *jr = st->journal;
	size_t len;
	int rc = 0;

	if (jr == NULL || !jr->active)
		return 0;
	jr->capturing = 0;
	len = jr->len + JR_HASH;
	if (jr->overflow || jr->tail + (off_t)len > JR_RECORDS + (off_t)jr->limit ||
	    journal_grow(jr, jr->tail + (off_t)len + JR_BLOCK) < 0) {
		rc = journal_checkpoint(st, 0, err);
		goto done;
	}
	roster_be32_put(jr->buf, JR_REC_MAGIC);
	roster_be32_put(jr->buf + 4, (uint32_t)(jr->len - JR_REC_HEAD));
	roster_be64_put(jr->buf + 8, jr->gen);
	roster_be64_put(jr->buf + 16, jr->seq + 1);
	crypto_generichash(jr->buf + jr->len, JR_HASH, jr->buf, jr->len, NULL, 0);
	if (record_write(jr, jr->buf, len) < 0) {
		/* The commit is not durable and its requests fail: keep its record from
		 * being applied at the next start (best effort: the disk is failing), and
		 * checkpoint no more, since that would make the commit durable after all. */
		static const uint8_t none[JR_REC_HEAD];

		rc = sys_err(err, "cannot write the journal", jr->path);
		if (pwrite(jr->fd, none, sizeof(none), jr->tail) == (ssize_t)sizeof(none))
			(void)fdatasync(jr->fd);
		jr->broken = 1;
		goto done;
	}
	jr->seq++;
	jr->tail += (off_t)len;
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

/* After the replies of a commit are on their way: starts writing LMDB's pages back
 * (so a checkpoint has little left to sync) and checkpoints when one is due. */
int journal_after(struct store *st, struct roster_err *err)
{
	struct journal *jr = st->journal;
	MDB_envinfo info;
	int fd;

	if (jr == NULL || !jr->active)
		return 0;
	if (mdb_env_get_fd(st->env, &fd) == 0)
		sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);
	/* Pages freed since the checkpoint cannot be reused before the next one, so
	 * LMDB takes new pages at the end of its file: its growth bounds the interval
	 * as much as the journal's size does. */
	if (jr->tail - JR_RECORDS > (off_t)(jr->limit / 2) ||
	    (mdb_env_info(st->env, &info) == 0 &&
	     (info.me_last_pgno - jr->pages) * jr->psize > jr->limit))
		return journal_checkpoint(st, 0, err);
	return 0;
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

/* On the writer's thread, which owns the journal (writer.c hands the copy on). */
void journal_stats(struct store *st, struct journal_stats *out)
{
	struct journal *jr = st->journal;

	memset(out, 0, sizeof(*out));
	if (jr == NULL)
		return;
	*out = jr->stats;
	out->bytes = jr->tail > JR_RECORDS ? (uint64_t)(jr->tail - JR_RECORDS) : 0;
}
