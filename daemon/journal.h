/*
 * journal.h - the journal's file layout and state, shared by journal.c (the
 * checkpoints and each commit's record) and journal-open.c (opening the file
 * and, after a stop that was not clean, applying its records again). Private
 * to those two; the rest of the daemon uses rosterd.h's journal_* calls.
 */
#ifndef ROSTERD_JOURNAL_H
#define ROSTERD_JOURNAL_H

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/types.h>

#include "rosterd.h"

#define JR_MAGIC     "RSTRJRN2" /* 0.7.2: records may begin anywhere in the ring */
#define JR_MAGIC_V1  "RSTRJRN1" /* read still: its records begin at JR_RECORDS */
#define JR_PAGE_MAX  65536u     /* the largest LMDB page size kept */
#define JR_FIXED     4096u      /* a slot's fields, before the meta pages */
#define JR_SLOT      (JR_FIXED + 2 * JR_PAGE_MAX) /* one header slot */
#define JR_RECORDS   (2 * (off_t)JR_SLOT)         /* where records start */
#define JR_HASH      32u
#define JR_HASH_AT   (JR_FIXED - JR_HASH)
#define JR_DB_NAME   28u
#define JR_DBS_AT    44u
#define JR_ROOT_AT   3968u /* the hash of the checkpoint's root page (journal_root_hash) */
#define JR_START_AT  4000u /* where the records after the checkpoint begin (0: JR_RECORDS) */
#define JR_CHAIN_AT  4008u /* the generation those records carry (0: the slot's own) */
#define JR_DBS_MAX   ((JR_ROOT_AT - JR_DBS_AT) / (4 + JR_DB_NAME))
#define JR_REC_MAGIC 0x524a5231u /* "RJR1" */
#define JR_REC_HEAD  24u         /* magic, length, generation, seq */
#define JR_OP_HEAD   13u         /* kind, dbi, key length, value length */
#define JR_CHUNK     ((off_t)256 << 10)
#define JR_BLOCK     4096u             /* direct writes: aligned, whole blocks */
#define JR_KEEP      ((size_t)1 << 20) /* a capture buffer larger than this is let go */

/* A checkpoint whose data sync runs beside the writer (journal-checkpoint.c):
 * the snapshot it covers is kept from the moment it is taken, and the slot
 * naming it is written once data.mdb is synced. */
struct journal_async {
	pthread_t thread;
	int running;     /* a thread was started and not yet joined */
	atomic_int done; /* the thread has finished (joined by the writer) */
	int error;       /* errno of the step that failed, or 0 */
	const char *failed;
	int data_fd, jfd;
	uint8_t *slot;    /* JR_SLOT bytes: the header to write, prepared by the writer */
	off_t slot_at;    /* which of the two slots */
	MDB_txn *protect; /* the snapshot checkpointed: kept once the slot is durable */
	off_t start;      /* the records after it: from here */
	uint64_t written; /* jr->written then */
	size_t pages;
	uint32_t psize;
};

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
	off_t start;       /* where the records after the durable checkpoint begin */
	uint64_t gen, seq; /* the header's generation; the last record's seq */
	uint64_t chain;    /* the generation records carry: new when they restart */
	uint64_t written;  /* bytes of records since the open, and at the checkpoint: */
	uint64_t start_written;
	size_t pages; /* LMDB's last page at the checkpoint: the file grows from it */
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
	struct journal_async async;
};

static inline uint32_t get32(const uint8_t *p)
{
	return roster_be32_get(p);
}

uint64_t journal_slot_read(int fd, int i, uint8_t *buf);
void journal_slot_hash(uint8_t out[JR_HASH], const uint8_t *slot, uint32_t psize);
int journal_root_hash(int fd, const uint8_t *metas, uint32_t psize, uint8_t out[JR_HASH]);
int journal_sys_err(struct roster_err *err, const char *what, const char *path);
/* journal-checkpoint.c */
int journal_checkpoint_start(struct store *st, struct roster_err *err);
int journal_checkpoint_finish(struct store *st, int wait, struct roster_err *err);
void journal_checkpoint_abandon(struct journal *jr);

#endif
