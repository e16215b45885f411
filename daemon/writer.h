/*
 * writer.h - the writer's state, shared by writer.c (the queue, group commits,
 * the thread's loop), upkeep.c (the background work it does between client
 * batches) and lone.c (a request that arrives alone, committed by the main
 * thread). Private to those; the rest of the daemon uses rosterd.h's writer_*
 * calls.
 *
 * Whoever writes holds the pen: the writer thread whenever it is awake, the
 * main thread for a lone request while the writer sleeps. The writer's fields
 * are read and changed only with the pen held; those that other threads read
 * too (stats, log_size, failed...) change under the lock as well.
 */
#ifndef ROSTERD_WRITER_H
#define ROSTERD_WRITER_H

#include <pthread.h>

#include "rosterd.h"

enum { ASLEEP_UNTIL = 1, ASLEEP_UNTIMED = 2 };

struct writer {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_mutex_t pen; /* the right to write: see above (lock is taken after it) */
	struct op *queue, **queue_tail;
	struct op *done, **done_tail;
	int done_fd; /* an eventfd: written when done was filled (writer_wake_main) */
	int stop;
	int failed;
	int asleep;         /* the writer waits: ASLEEP_UNTIL a time, ASLEEP_UNTIMED (under lock) */
	struct op *lone;    /* main thread's: a lone request held to the loop's turn's end */
	int disk_full;      /* the last commit found no space; cleared by the next one */
	int upkeep_failed;  /* stop retrying a re-encryption, walk or merge that cannot proceed */
	size_t slice;       /* records in the next walk slice while clients are served */
	double last_client; /* when the last client batch committed, lone ones too (monotonic) */
	double ops_avg;     /* requests a commit carried, moving average (under lock) */
	/* The chain's state after the last commit: changed with the pen and the lock. */
	uint64_t log_size;
	uint8_t head[ROSTER_HASH_BYTES];
	uint64_t cp_size;                     /* the latest signed checkpoint's tree size */
	time_t cp_time;                       /* and when it was signed (or the daemon started) */
	uint64_t ilog_next, ilog_n, ilog_gen; /* the index log's (idxlog.c) */
	uint64_t afilter_end;                 /* entries before it have filters */
	uint64_t afilter_old;                 /* the last 0.7.3 filter to rewrite, or OFF */
	double afilter_at;                    /* when a batch last built one */
	struct afilter_acc acc;               /* the names of entries since */
	struct idxlog_pass *pass;             /* its merge under way */
	size_t merge_slice;                   /* changes in the next merge slice */
	int convert_failed;                   /* the tree's conversion stopped (tree-convert.c) */
	double convert_t0, convert_at;        /* when it began, and its last slice */
	struct {
		size_t n;       /* the slice the batch being committed carries, or 0 */
		double seconds; /* and how long it took */
	} batch_merge;
	struct writer_stats stats; /* for /v1/metrics, under lock */
};

double writer_now(void); /* monotonic seconds */
/* A write transaction on the chain's and the index log's state after the last
 * commit (an LMDB error code when none could begin). */
int writer_txn_begin(struct server *srv, struct writer *wr, struct wtxn *w);
/* After a commit: the chain's and the index log's state move to the txn's. */
void writer_adopt(struct writer *wr, const struct wtxn *w);
void writer_fail(struct writer *wr, const struct roster_err *err);
/* Fails a batch's ops (NULL: none) on a full disk; writing goes on afterwards. */
void batch_nospace(struct writer *wr, struct op *batch, const struct roster_err *err);
int batch_checkpoint(struct server *srv, struct writer *wr, struct wtxn *w, struct op *batch,
                     struct roster_err *err);
/* Whether a failed commit found the disk full without changing anything. */
int commit_nospace(struct server *srv, int rc, size_t txnid);

/* upkeep.c */
int merge_due(struct server *srv, struct writer *wr);
int walk_due(struct server *srv, struct writer *wr);
int upkeep_due(struct server *srv, struct writer *wr);
/* Whether a whole block of entries has no filter yet; then, one in its own txn. */
int afilter_behind(struct server *srv, struct writer *wr);
void afilter_catch_up(struct server *srv, struct writer *wr);
/* Whether the Merkle tree waits to be put in completion order; then, a slice. */
int convert_due(struct server *srv, struct writer *wr);
void tree_convert_run(struct server *srv, struct writer *wr);
/* merges: whether a merge slice may run (the idle writer's) or only a walk's. */
void upkeep_run(struct server *srv, struct writer *wr, int merges);
/* writer.c, for lone.c: one transaction for the batch (0 when committed, or
 * ROSTER_RETRY, ROSTER_NOSPACE, ROSTER_FATAL); batch_settle fails its ops for a
 * result other than 0 or ROSTER_RETRY. writer_after: the journal's upkeep after
 * a commit (writeback: it carried several requests). */
int batch_try(struct server *srv, struct writer *wr, struct op *batch, struct roster_err *err);
void batch_settle(struct writer *wr, struct op *batch, int rc, const struct roster_err *err);
void writer_after(struct server *srv, struct writer *wr, int writeback);
void writer_queue(struct server *srv, struct op *op);
/* Replies to finished ops, on the main thread. */
void writer_reply(struct server *srv, struct op *op);

/* lone.c */
void lone_start(struct server *srv);
void lone_stop(struct server *srv);
/* Whether op was held to be committed alone at the end of the loop's turn. */
int lone_hold(struct server *srv, struct op *op);
/* The op held, if any (NULL), no longer held. */
struct op *lone_release(struct server *srv);

/* A merge slice in a client batch's txn, after its ops; then, committed or not: */
int upkeep_merge_in_batch(struct server *srv, struct writer *wr, struct wtxn *w,
                          struct roster_err *err);
void upkeep_batch_done(struct server *srv, struct writer *wr, int committed);

#endif
