/*
 * rosterd.h - the daemon's private interfaces. One server struct owns every
 * long-lived resource (config, LMDB environment, keys, event base, writer);
 * each module below works on a part of it.
 */
#ifndef ROSTERD_H
#define ROSTERD_H

#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include <event2/event.h>
#include <event2/http.h>
#include <jansson.h>
#include <lmdb.h>

#include "roster/audit.h"
#include "roster/envelope.h"
#include "roster/err.h"
#include "roster/sha256.h"
#include "roster/util.h"

struct server;
struct conn;

/* Roles are bits so one account can hold several. */
enum role { ROLE_CLERK = 1, ROLE_APPROVER = 2, ROLE_AUDITOR = 4, ROLE_ADMIN = 8, ROLE_ANY = 15 };
#define ROLE_COUNT 4

struct role_members {
	uid_t *uids;
	size_t n_uids;
	gid_t *gids;
	size_t n_gids;
};

struct role_table {
	struct role_members members[ROLE_COUNT];
};

/* config.c: parsed once at start (and the role table again on SIGHUP). */
struct config {
	char *path;
	char *data_dir;
	char *socket;
	char *socket_group;
	char *master_key;
	int master_is_credential;   /* read-only: rotation writes the new key elsewhere */
	int master_is_passphrase;   /* master_key names a passphrase file (Argon2id) */
	unsigned long long kdf_ops; /* Argon2id cost for new passphrase-derived keys */
	size_t kdf_mem;
	char *origin;
	mode_t socket_mode;
	size_t map_size;
	size_t journal_size; /* records between checkpoints of the journal (journal.c) */
	size_t batch_max;
	size_t index_log_entries;    /* person index changes merged once the log holds so many */
	size_t audit_filter_block;   /* audit entries per filter block (audit-filter.c) */
	int allow_root;              /* rosterd refuses to run as root unless this is set */
	int tree_convert;            /* a tree by level into completion order while serving */
	int lone_commit;             /* a lone request committed by the main thread (lone.c) */
	size_t tree_convert_slice;   /* its nodes a transaction while clients wait (x8 when not) */
	size_t reencrypt_batch;      /* records re-encrypted per transaction after a rotation */
	unsigned reencrypt_slice_ms; /* ... fewer when such a transaction takes longer */
	size_t max_connections;      /* open connections in all */
	size_t max_connections_per_uid; /* ... and per peer uid */
	unsigned client_timeout;        /* seconds a client may take to send a request */
	uint64_t checkpoint_entries;    /* sign a checkpoint at least every N entries */
	unsigned checkpoint_seconds;    /* ... and every T seconds while the log grows */
	struct role_table roles;
};

int config_load(struct config *cfg, const char *path, struct roster_err *err);
void config_free(struct config *cfg);
void roles_free(struct role_table *roles);
const char *role_name(int role_bit);

/* keys.c: the master key and the keys it wraps, in locked memory. */
struct keyring {
	uint8_t *master;  /* sodium_malloc'd, read-only once loaded */
	uint8_t *data;    /* the active data key */
	uint32_t data_id; /* its id, named in every envelope */
	/* Data keys being retired: they still open records not yet re-encrypted. */
	struct old_key {
		uint32_t id;
		uint8_t *key;
	} old[8];
	size_t nold;
	uint8_t *index; /* blind-index key: tags state indexes */
	uint32_t index_id;
	/* An index key rotation (reindex.c), one phase at a time: while index_next is
	 * built every index write also goes under it; once it is whole it becomes the
	 * active key, and index_old's entries are removed. NULL when not running. */
	uint8_t *index_next, *index_old;
	uint32_t index_next_id, index_old_id;
	uint8_t *sign_sk; /* Ed25519 secret key (64 bytes) */
	uint8_t sign_pk[32];
	uint32_t sign_id;
};

int keys_master_create(const char *path, struct roster_err *err);
int keys_master_load(struct keyring *kr, const char *path, struct roster_err *err);
/* Argon2id parameters, stored in meta as "kdf": salt (16) | opslimit | memlimit. */
struct kdf {
	uint8_t salt[16];
	uint64_t ops, mem;
};
int keys_master_derive(struct keyring *kr, const char *path, const struct kdf *kdf,
                       struct roster_err *err);
/* The master key as the config says: a key file, or a passphrase file with the
 * registry's stored KDF parameters (from txn's meta). path overrides the file. */
int master_open(struct server *srv, MDB_txn *txn, MDB_dbi meta, const char *path,
                struct roster_err *err);
void kdf_new(const struct config *cfg, struct kdf *kdf);
int kdf_put(MDB_txn *txn, MDB_dbi meta, const struct kdf *kdf);
struct store;
int keys_generate(struct keyring *kr, struct store *st, MDB_txn *txn, struct roster_err *err);
int keys_unwrap(struct keyring *kr, MDB_txn *txn, MDB_dbi keys_dbi, MDB_dbi meta_dbi,
                struct roster_err *err);
void keys_free(struct keyring *kr);
/* Replaces view's data keys (active and retiring) and index key with copies of kr's. */
void keys_view_copy(struct keyring *view, const struct keyring *kr);
/* The active id of a kind of key recorded in meta ("index_key", "signing_key"). */
uint32_t keys_meta_id(MDB_txn *txn, MDB_dbi meta, const char *name);
/* The data key with that id (active or retiring), or NULL. */
const uint8_t *keys_data(const struct keyring *kr, uint32_t id);
int keys_wrap_put(struct keyring *kr, struct store *st, MDB_txn *txn, const char *name,
                  const uint8_t *key, size_t len, struct roster_err *err);
/* Makes key (sodium_malloc'd, owned from now on) the active data key; the old one retires. */
void keys_install(struct keyring *kr, uint32_t id, uint8_t *key);
/* Wipes and forgets every retiring data key. */
void keys_drop_old(struct keyring *kr);
/* A 16-byte keyed tag for an index key, e.g. tag("custody", "employer"). */
void keys_tag(const struct keyring *kr, const char *kind, const char *value, uint8_t out[16]);
void keys_tag_with(const uint8_t *index_key, const char *kind, const char *value, uint8_t out[16]);

/* store.c: the LMDB environment and its named databases. */
struct store {
	MDB_env *env;
	MDB_dbi meta, keys, persons, documents, travel, audit, tree, checkpoints, roles;
	MDB_dbi person_idx, doc_idx; /* blind indexes: keyed tag -> record ids */
	MDB_dbi person_idx_log;      /* person_idx's changes not merged yet (idxlog.c) */
	MDB_dbi custody;             /* "doc_ID.NNNNNNNN" -> a document's history entry */
	MDB_dbi audit_filter;        /* first seq of a block of entries -> its filter */
	MDB_dbi doc_by_person, travel_by_person, doc_by_state, travel_by_state;
	MDB_dbi merkle; /* the Merkle tree in completion order (tree.c); `tree` before */
	size_t map_size;
	/* Readers outside the writer hold it shared; growing the map holds it exclusive. */
	pthread_rwlock_t resize;
	struct journal *journal; /* while rosterd serves: what each commit changed */
	int failed;              /* the first failed change of the writer's transaction */
	off_t primed;            /* data.mdb is allocated and cached up to here (prime.c) */
	int tree_order;          /* TREE_LEVELS (nodes in `tree`) or TREE_COMPLETION (`merkle`) */
	uint32_t format_floor;   /* meta "requires" never below this (0: may be absent) */
};

int store_open(struct store *st, const char *dir, size_t map_size, int create,
               struct roster_err *err);
void store_close(struct store *st);
int store_grow(struct store *st, struct roster_err *err);
int store_mdb_err(struct roster_err *err, int rc, const char *what);
/* The registry's stored format level this rosterd can carry on (meta "requires"). */
#define ROSTER_FORMAT 3
/* Merkle nodes keyed (level, index) in `tree` as before format 3, or (last leaf,
 * level) in `merkle` (tree.c). */
#define TREE_LEVELS     0
#define TREE_COMPLETION 1
#define TREE_FORMAT     3 /* a registry whose tree is in completion order */
#define TREE_KEY        9 /* bytes in a node's key, either way */
int store_format_check(MDB_txn *txn, MDB_dbi meta, const char *what, struct roster_err *err);
/* The database holding the Merkle tree's nodes, in the order st->tree_order says. */
static inline MDB_dbi tree_dbi(const struct store *st)
{
	return st->tree_order == TREE_COMPLETION ? st->merkle : st->tree;
}
json_t *store_keys(MDB_txn *txn, MDB_dbi dbi);
/* Entries in the n databases together: a background walk's total. */
uint64_t store_entries(MDB_txn *txn, const MDB_dbi *dbis, size_t n);
int store_put(struct store *st, MDB_txn *txn, MDB_dbi dbi, MDB_val *k, MDB_val *v, unsigned flags);
int store_del(struct store *st, MDB_txn *txn, MDB_dbi dbi, MDB_val *k, MDB_val *v);
int store_drop(struct store *st, MDB_txn *txn, MDB_dbi dbi);
int store_failed(struct store *st, struct roster_err *err);
const char *store_db_name(struct store *st, MDB_dbi dbi);
int store_db_find(struct store *st, const char *name, MDB_dbi *dbi);
size_t store_db_count(void);
MDB_dbi store_db_at(struct store *st, size_t i);
void store_prime(struct store *st);

/* journal.c: a sequential log of each commit's changes, synced once per commit,
 * while LMDB writes its pages without syncing until a checkpoint. */
enum journal_op { JOURNAL_PUT = 1, JOURNAL_DEL, JOURNAL_DEL_DUP, JOURNAL_DROP };
struct journal;
int journal_open(struct journal **out, const char *dir, size_t limit, struct roster_err *err);
int journal_replay(struct store *st, struct journal *jr, struct roster_err *err);
/* `rosterd recover`: the stop's meta pages back after a refused replay (journal-undo.c). */
int journal_recover(const char *dir, struct roster_err *err);
int journal_begin(struct store *st, struct roster_err *err);
void journal_capture(struct journal *jr);
/* Where the capture stood before a note, so a change LMDB refused is taken back. */
struct journal_mark {
	size_t len;
	int overflow;
};
struct journal_mark journal_note(struct journal *jr, enum journal_op op, MDB_dbi dbi,
                                 const MDB_val *k, const MDB_val *v);
void journal_unnote(struct journal *jr, struct journal_mark mark);
int journal_commit(struct store *st, struct roster_err *err);
int journal_after(struct store *st, int writeback, struct roster_err *err);
int journal_release(struct store *st, struct roster_err *err);
int journal_retake(struct store *st, struct roster_err *err);
int journal_checkpoint(struct store *st, int clean, struct roster_err *err);
void journal_end(struct store *st);
void journal_free(struct journal *jr);

/* The caller of a request, from SO_PEERCRED. */
struct peer {
	uid_t uid;
	gid_t gid;
	pid_t pid;
	char user[64]; /* the account name, or "uid:N" when it has none */
	int roles;
};

/* writer.c: one thread that applies queued operations in group commits. */
struct op;
/* The ids the entries after the last filter name, noted as the writer appends
 * them, so the next block's filter needs no entry read back (audit-filter.c). */
struct afilter_name {
	uint64_t seq;
	uint64_t hash; /* a key's hash, or the entry's time (roster_audit_time_pack) */
	int is_time;
};
struct afilter_acc {
	struct afilter_name *v;
	size_t n, cap;
	size_t committed; /* names of committed entries; any after, an open txn's */
	uint64_t first;   /* every entry from this seq on has its names here */
};

struct wtxn {
	MDB_txn *txn;
	struct server *srv;
	/* The keys records are opened and tagged with: the writer's own, or the
	 * committed copy when a read runs on a snapshot (snapshot.c). */
	const struct keyring *keys;
	char now[21];
	uint64_t log_size;               /* the next entry's seq */
	uint8_t head[ROSTER_HASH_BYTES]; /* leaf hash of the last entry, zeros if none */
	uint64_t cp_size;                /* the latest checkpoint's size, as of this txn */
	int rotated;                     /* a key rotation is in this txn (rotate_once) */
	uint64_t ilog_next, ilog_n;      /* the index log's next seq and its changes */
	uint64_t ilog_gen;               /* drains of the index log (idxlog.c) */
	int ilog_off;                    /* writing person_idx directly (search.c) */
	uint64_t afilter_end;            /* entries before it have filters (audit-filter.c) */
	struct afilter_acc *acc;         /* the writer's names of entries since, or NULL */
};
typedef int (*op_apply_fn)(struct wtxn *w, struct op *op);

enum outcome { OUT_OK, OUT_DENIED, OUT_REJECTED, OUT_ERROR };

struct op {
	struct op *next;
	struct evhttp_request *req;
	struct peer peer;
	const char *action;         /* "person.create", ... */
	char target[ROSTER_ID_MAX]; /* the record the request names, or "" */
	op_apply_fn apply;          /* NULL: the entry alone (denials, rejections) */
	op_apply_fn read;           /* a read, run on a snapshot before queueing (snapshot.c) */
	json_t *body;               /* parsed request body, if any */
	struct tagset *tags;        /* its index tags, when the main thread made them */
	char param[ROSTER_ID_MAX];  /* a second id (query cursor, person filter) */
	char param2[32];            /* a state filter */
	uint64_t version;           /* expected version, for updates */
	size_t limit;
	/* Filled by apply, or set up front for audit-only ops. */
	int status;
	json_t *reply;
	struct evbuffer *reply_raw; /* or the reply already serialised (records read as stored) */
	json_t *targets;            /* ids read by a list, for the entry */
	char object[2 * ROSTER_HASH_BYTES + 1];
	/* A value stored beside the target (a custody history entry), named in the
	 * entry's "stored" member with its digest; "" for none. */
	char stored_target[ROSTER_ID_MAX], stored_object[2 * ROSTER_HASH_BYTES + 1];
	/* The person the document or travel request belongs to, named in the entry's
	 * "person" member so an auditor finds it by the person's id; "" for none. */
	char person[ROSTER_ID_MAX];
	enum outcome outcome;
	struct roster_err err;
	json_t *err_details; /* more about the error, such as every refused row */
	uint64_t seq;        /* the audit entry written for it */
	int reply_audit;     /* AUDIT_PENDING, AUDIT_READ: entries [seq_from, seq_to) */
	int checkpoint;      /* wants a checkpoint signed in its batch, as its reply */
	int heavy;           /* holds a transaction long (an import): the writer's alone */
	/* Role grants (h-admin.c): applied to the main thread's table on success. */
	uid_t grant_uid;
	int grant_bit, grant_on, grant_after, config_admin;
	struct conn *conn;  /* the connection it came on (NULL if unknown) */
	int backup;         /* after commit, copy the environment to op->body's path */
	struct server *srv; /* for work finished off the main thread (backups) */
	/* A key made by a rotation: installed by after_commit once it is durable. */
	uint8_t *newkey;
	uint32_t newkey_id;
	char newkey_kind; /* 'd' data, 's' signing (its handover checkpoint is cosigned) */
	void (*after_commit)(struct server *srv, struct op *op);
	/* Undoes what apply changed in memory, when its transaction is abandoned. */
	void (*after_abort)(struct server *srv, struct op *op);
	uint64_t seq_from, seq_to;
	struct roster_aquery *query; /* an audit question (h-audit.c), or NULL */
	json_t *asked;               /* what an audit read asked, for its entry, or NULL */
};

/* How far a re-encryption's walk over every record has come. */
struct reencrypt_progress {
	uint64_t scanned, total;
};

#define WRITER_BATCH_BUCKETS  12 /* ops per commit: <=1, <=2, <=4 ... <=1024, more */
#define WRITER_COMMIT_BUCKETS 10 /* commit seconds: bounds in writer.c, then +Inf */
struct journal_stats {
	uint64_t records, checkpoints; /* since the start; checkpoints completed */
	uint64_t beside;               /* of those, the ones synced beside the writer */
	uint64_t started;              /* checkpoints begun beside the writer */
	uint64_t waits;                /* commits that waited for one: the ring was full */
	double checkpoint_seconds;     /* the writer's time in checkpoints, in all */
	double checkpoint_max;         /* the longest checkpoint */
	uint64_t bytes;                /* of records since the last checkpoint */
};
void journal_stats(struct store *st, struct journal_stats *out);

struct writer_stats {
	uint64_t batch[WRITER_BATCH_BUCKETS], batch_sum;
	uint64_t commit[WRITER_COMMIT_BUCKETS + 1], commits;
	double commit_sum;
	uint32_t active_data_key;
	size_t retiring_data_keys;
	struct reencrypt_progress reencrypt; /* total 0: none running */
	struct reencrypt_progress reindex;   /* an index key rotation's walk */
	char reindex_phase;                  /* 'b' building, 'c' cleaning, 0 none */
	uint64_t slices;                     /* walk slices committed (either walk) */
	double slice_sum;                    /* ... seconds they held the writer */
	size_t slice_last;                   /* records the last one asked for */
	uint64_t index_log;                  /* changes in the index log, not merged */
	uint64_t afilter_end;                /* audit entries before it have filters */
	uint64_t merges;                     /* index log merge slices committed */
	double merge_sum;                    /* ... seconds they held the writer */
	uint64_t lone;                       /* commits the main thread made (lone.c) */
	struct journal_stats journal;
};
void writer_stats(struct server *srv, struct writer_stats *out, const double **bounds);

/* rng.c: libsodium's random bytes drawn from the kernel a pool at a time. */
int rng_install(void);

/* Runs one write transaction's worth of put, growing the map if it is full. */
int writer_start(struct server *srv, struct roster_err *err);
void writer_submit(struct server *srv, struct op *op);
void writer_stop(struct server *srv);
int writer_failed(struct server *srv);
/* Whether the last commit found the disk full (writing resumes once it has room). */
int writer_disk_full(struct server *srv);
/* From any thread: queue a finished op for the main thread to reply to. */
void writer_hand_back(struct server *srv, struct op *op);
uint64_t writer_log_size(struct server *srv);
/* The records in the next walk slice, after n took `seconds` against a budget. */
size_t writer_slice_next(size_t n, double seconds, double budget, size_t max);
/* entry.c: an op's audit entry (also the genesis entry, at init). */
enum outcome outcome_of(int status);
int audit_append(struct wtxn *w, struct op *op, struct roster_err *err);
int audit_head_load(MDB_txn *txn, MDB_dbi audit, uint64_t *size, uint8_t head[32],
                    struct roster_err *err);

/* tree.c: the log's Merkle tree; checkpoint.c: signed checkpoints. */
int tree_order_load(struct store *st, MDB_txn *txn, struct roster_err *err);
void tree_node_key(int order, uint8_t key[TREE_KEY], unsigned level, uint64_t index);
/* tree-convert.c: a tree by level into completion order, nodes at a time. A
 * slice in txn copies up to `nodes` of the first `size` leaves' nodes, and the
 * last one switches the order in the registry (*switched): 1 while nodes are
 * left, 0 when done, ROSTER_RETRY on a full map, -1 otherwise. Once the txn
 * commits, tree_convert_switched says so in st. tree_convert_step does one
 * slice in a transaction of its own (before the writer starts, or in tests). */
int tree_convert_slice(MDB_txn *txn, struct store *st, uint64_t size, size_t nodes, int *switched,
                       struct roster_err *err);
void tree_convert_switched(struct store *st);
/* Whether the writer is converting the tree (on the writer's thread only). */
int writer_converting(struct server *srv);
int tree_convert_step(struct store *st, uint64_t size, size_t nodes, struct roster_err *err);
int tree_append(struct store *st, MDB_txn *txn, uint64_t seq, const uint8_t leaf[32],
                struct roster_err *err);
int tree_leaf(MDB_txn *txn, const struct store *st, uint64_t index, uint8_t out[32],
              struct roster_err *err);
int tree_root(MDB_txn *txn, const struct store *st, uint64_t size, uint8_t out[32],
              struct roster_err *err);
int tree_inclusion(MDB_txn *txn, const struct store *st, uint64_t index, uint64_t size,
                   json_t *proof, struct roster_err *err);
int tree_consistency(MDB_txn *txn, const struct store *st, uint64_t old, uint64_t size,
                     json_t *proof, struct roster_err *err);
/* tree-check.c: the stored tree against the log's leaves, appended in order;
 * with copy, the prefix of it a conversion has copied into `merkle` so far. */
struct tree_check {
	const struct store *st;
	MDB_txn *txn;
	MDB_dbi dbi;
	int order, copy;
	int ended;       /* copy: past its last node */
	MDB_cursor *cur; /* completion order: the nodes in the order appends make them */
	uint8_t peaks[64][32];
	int npeaks;
	uint64_t size;  /* leaves appended */
	uint64_t nodes; /* nodes found as they should be */
};
int tree_check_begin(struct tree_check *tc, const struct store *st, MDB_txn *txn, int copy,
                     struct roster_err *err);
int tree_check_leaf(struct tree_check *tc, const uint8_t leaf[32], struct roster_err *err);
/* After the last leaf: no node stored past the log's end. */
int tree_check_finish(struct tree_check *tc, struct roster_err *err);
void tree_check_end(struct tree_check *tc);
int checkpoint_sign(struct wtxn *w, const uint8_t *cosigner, char **note, struct roster_err *err);
int checkpoint_latest(MDB_txn *txn, MDB_dbi dbi, uint64_t *size, char **note,
                      struct roster_err *err);

/* Record helpers for handlers' apply functions (h-*.c). */
int rec_get(struct wtxn *w, MDB_dbi dbi, const char *db, const char *id, json_t **out,
            struct roster_err *err);
/* The record's plaintext JSON, to be wiped (sodium_memzero) and freed by the caller. */
int rec_open(struct wtxn *w, MDB_dbi dbi, const char *db, const char *id, uint8_t **pt,
             size_t *ptlen, struct roster_err *err);
/* Drops whatever reply an op holds (it failed after all). */
void op_reply_clear(struct op *op);
/* Notes the record's "person" (a document's, a travel request's) for its entry. */
void op_person_of(struct op *op, const json_t *rec);
int rec_put(struct wtxn *w, MDB_dbi dbi, const char *db, const char *id, json_t *rec, struct op *op,
            struct roster_err *err);
/* rec_put, and the record as stored becomes op's reply (status unchanged). */
int rec_put_reply(struct wtxn *w, MDB_dbi dbi, const char *db, const char *id, json_t *rec,
                  struct op *op);
int idx_put(struct wtxn *w, MDB_dbi dbi, const void *key, size_t klen, const char *id);
int idx_del(struct wtxn *w, MDB_dbi dbi, const void *key, size_t klen, const char *id);
/* reindex.c: the entry of id under the tag of (kind, value), under every index key
 * that must have it (the active one, and one being built or retired). */
int idx_put_term(struct wtxn *w, MDB_dbi idx, const char *kind, const char *value, const char *id);
int idx_del_term(struct wtxn *w, MDB_dbi idx, const char *kind, const char *value, const char *id);
int idx_list(struct wtxn *w, MDB_dbi dbi, const void *key, size_t klen, const char *after,
             size_t limit, json_t *ids, char *next, struct roster_err *err);
int rec_reply(struct wtxn *w, struct op *op, MDB_dbi dbi, const char *db);
int rec_list_index(struct wtxn *w, struct op *op, MDB_dbi idx, const void *key, size_t klen,
                   MDB_dbi dbi, const char *db);
int rec_list_all(struct wtxn *w, struct op *op, MDB_dbi dbi, const char *db);
int rec_state_move(struct wtxn *w, MDB_dbi idx, const char *kind, const char *from, const char *to,
                   const char *id);
void rec_stamp(struct wtxn *w, json_t *rec, int creating);
struct owned_kind {
	const char *what; /* "document", "travel request": for messages */
	const char *db;
	MDB_dbi dbi, by_person, by_state;
	const char *state_kind; /* the index tag's kind: "custody", "status" */
};
int rec_create_owned(struct wtxn *w, struct op *op, const struct owned_kind *k, const char *state);
int rec_exists(struct wtxn *w, MDB_dbi dbi, const char *id);
int state_known(const char *word, const char *list);
int list_filter_parse(struct op *op, const char *state_param, const char *states,
                      const char *prefix, const char *what);
int rec_list_filtered(struct wtxn *w, struct op *op, MDB_dbi by_person, MDB_dbi by_state,
                      const char *kind, MDB_dbi dbi, const char *db);
int rec_reply_items(struct wtxn *w, struct op *op, MDB_dbi dbi, const char *db, const char *next);

/* snapshot.c: audited reads answered from a committed snapshot on the main thread,
 * so the writer only appends their entries. */
void snapshot_start(struct server *srv);
void snapshot_stop(struct server *srv);
void snapshot_read(struct server *srv, struct op *op);
/* The committed keys, for work done before queueing; unlock when done with them. */
const struct keyring *snapshot_keys_lock(struct server *srv);
void snapshot_keys_unlock(struct server *srv);
/* Writer: hold readers off while keys change, then publish the committed keys. */
void snapshot_keys_hold(struct server *srv);
void snapshot_keys_release(struct server *srv, int publish);

/* h-document.c: a document's history lives apart from it, one entry per event. */
#define CUSTODY_EVENT_ID_MAX ROSTER_ID_MAX
#define CUSTODY_EVENTS_MAX   99999999ULL /* event numbers keep 8 digits (sorted keys) */
#define HISTORY_PAGE_MAX     1000        /* history entries in one document read */
int custody_event_id(char out[CUSTODY_EVENT_ID_MAX], const char *doc, long long n);
/* Moves the history of documents stored before 0.3 out of their records (once). */
int custody_migrate(struct wtxn *w, struct roster_err *err);
/* Names every stored custody entry in the log, for registries from before 0.5 (once). */
int custody_audit_all(struct wtxn *w, struct roster_err *err);
/* rotate.c: an audit entry written by rosterd itself. */
int audit_own_entry(struct wtxn *w, const char *action, const char *target, const char *object,
                    struct roster_err *err);

/* search.c: blind indexes. */
/* A record's index tags, computed before its op is queued. */
struct tagset {
	uint32_t index_id; /* the index key they were made with */
	size_t nid;        /* 1 + the national id's tag, 0 if none */
	size_t n;
	uint8_t tag[][16];
};
struct tagset *search_person_tags(const struct keyring *kr, const json_t *rec);
/* A new person's index entries from ts, after checking its national id is free. */
int search_person_add(struct wtxn *w, const struct tagset *ts, const json_t *rec, const char *id,
                      struct roster_err *err);
int search_person_update(struct wtxn *w, const json_t *old, const json_t *rec, const char *id,
                         struct roster_err *err);
int search_person_unique(struct wtxn *w, const json_t *rec, const char *self,
                         struct roster_err *err);
int search_doc_unique(struct wtxn *w, const json_t *rec, struct roster_err *err);
int search_doc_add(struct wtxn *w, const json_t *rec, const char *id);
/* Calls fn with each (index, kind, value) a record of db ("persons", "documents",
 * "travel") is indexed under, until fn returns non-zero. */
typedef int (*search_term_fn)(struct wtxn *w, MDB_dbi idx, const char *kind, const char *value,
                              const char *id, void *arg);
int search_terms_each(struct wtxn *w, const char *db, const json_t *rec, const char *id,
                      search_term_fn fn, void *arg);
json_t *search_person_filters(struct evhttp_request *req, struct roster_err *err);
json_t *search_doc_filter(const char *number, const char *country);
int search_list(struct wtxn *w, struct op *op, MDB_dbi idx, const json_t *terms, MDB_dbi recs,
                const char *db);
int list_params(struct evhttp_request *req, const char *prefix, struct op *op);
#define ROSTER_RETRY   (-2) /* the map was full: the whole batch is retried */
#define ROSTER_FATAL   (-3) /* the transaction is broken: the whole batch fails */
#define ROSTER_NOSPACE (-4) /* the disk is full: the batch fails, nothing changed */

/* The main loop's event priorities: every event at the default, LOOP_PRIORITIES / 2,
 * but the commit of a lone request, at the lowest (lone.c). */
#define LOOP_PRIORITIES 3

/* The server: everything a request may touch. */
struct server {
	struct config cfg;
	struct store store;
	struct keyring keys;
	/* The committed data and index keys, for reads on the main thread: the writer
	 * replaces them under the lock (snapshot.c). */
	struct keyring rkeys;
	pthread_rwlock_t rkeys_lock;
	struct event_base *base;
	struct evhttp *http;
	struct evhttp_bound_socket *bound;
	struct event *ev_term, *ev_int, *ev_hup, *ev_done, *ev_watchdog;
	struct event *ev_lone; /* commits a lone request once nothing else is ready (lone.c) */
	int activated;         /* the socket came from systemd: never unlink it */
	struct writer *writer;
	struct aread *aread; /* the audit reader's thread (aread.c) */
	time_t started;
	long in_flight;
	int stopping;
	/* The role table (in cfg) and the grants stored in the database, as the main
	 * thread sees them: only read and changed on the main thread. */
	struct grant {
		uid_t uid;
		int roles;
	} * grants;
	size_t ngrants;
	/* Account names by uid: one NSS lookup per uid, not per request (cleared on SIGHUP). */
	struct name_cache {
		uid_t uid;
		char name[64];
	} names[64];
	size_t nnames;
	/* Requests answered, by route and status, for /v1/metrics (main thread only). */
	struct route_count {
		const char *action;
		int status;
		uint64_t n;
	} counts[256];
	size_t ncounts;
	/* What audit questions cost (audit-filter.c): blocks a filter let them
	 * skip, and entries they read. */
	struct {
		_Atomic uint64_t blocks_skipped, entries_read,
		    filters_read; /* aread.c's thread adds */
	} afind;
	/* Every client connection (conn.c). */
	struct conn_table {
		struct conn *head;
		size_t n;
		struct conn **by_fd; /* admitted connections by socket */
		size_t nfd;
		uint64_t refused, timed_out, too_large;
		size_t unread;    /* bytes of requests not yet dispatched, on every connection */
		size_t lingering; /* shut for sending, their reply waiting to be read (conn.c) */
		struct event *ev_admit, *ev_sweep;
	} conns;
	/* A running backup's bytes written and the environment's size (0: none running);
	 * written by the backup thread, read by GET /v1/progress. */
	_Atomic uint64_t backup_bytes, backup_estimate;
};

/* aread.c: audit entries read off the main thread, after the commit that
 * records the read; the op comes back through the writer's done queue. */
#define AUDIT_PENDING 1 /* entries to read */
#define AUDIT_READ    2 /* read into op->reply_raw (or op->status, op->err) */
int aread_start(struct server *srv, struct roster_err *err);
void aread_stop(struct server *srv);
void aread_submit(struct server *srv, struct op *op);
void aread_fail(struct op *op, int rc);
/* Main thread: sends what was read, with the audit headers. */
void aread_reply(struct op *op);

/* metrics.c */
void metrics_count(struct server *srv, const char *action, int status);
void metrics_reply(struct server *srv, struct evhttp_request *req);
void progress_reply(struct server *srv, struct evhttp_request *req);

/* h-admin.c: the main thread's copy of stored grants. */
int grants_load(struct server *srv, struct roster_err *err);
int grants_of(const struct server *srv, uid_t uid);
/* Each stored grant as the log and `audit verify --deep` name it: id "uid:N" and
 * object the SHA-256 of its role bits (one byte). fn's nonzero return stops the
 * walk and is returned; a malformed grant is an error. */
typedef int (*grant_fn)(void *arg, const char *id, const char *object, struct roster_err *err);
int grants_each(MDB_txn *txn, MDB_dbi roles, grant_fn fn, void *arg, struct roster_err *err);
int grants_audit_all(struct wtxn *w, struct roster_err *err);
/* auth.c: the roles rosterd.conf and the stored grants give an account. */
int auth_roles(const struct server *srv, uid_t uid, gid_t gid);
void grants_apply(struct server *srv, const struct op *op);
void backup_start(struct server *srv, struct op *op);

/* conn.c: connection limits and the client timeout. */
int conn_start(struct server *srv, struct roster_err *err);
void conn_stop(struct server *srv);
struct conn *conn_of(struct server *srv, struct evhttp_request *req);
int conn_refused(const struct conn *c);
int conn_peer(const struct conn *c, uid_t *uid, gid_t *gid, pid_t *pid);
/* A request received (+1) or answered (-1) on c (which may be NULL). */
void conn_busy(struct conn *c, int delta);
void conn_received(struct conn *c);

/* auth.c */
int auth_peer(struct server *srv, const struct conn *c, struct evhttp_request *req,
              struct peer *peer);

/* systemd.c */
int systemd_listen_fd(struct roster_err *err);
void systemd_notify(const char *state);
void systemd_watchdog_start(struct server *srv);

/* server.c */
int server_listen(struct server *srv, struct roster_err *err);
int server_run(struct server *srv);
void server_reply_done(struct server *srv, struct op *op);

/* routes.c and http.c: dispatch and the HTTP-side helpers handlers use. */
void routes_dispatch(struct evhttp_request *req, void *arg);
void http_reply_json(struct evhttp_request *req, int status, json_t *body);
void http_reply_raw(struct evhttp_request *req, int status, struct evbuffer *body);
/* The request's connection (NULL once its client left), and a reply queued on it
 * written out at once (http.c says when that is allowed). */
struct bufferevent *http_reply_bev(struct evhttp_request *req);
void http_reply_flush(struct bufferevent *bev);
/* details (may be NULL) joins the error object, e.g. the rows an import refused. */
void http_reply_error(struct evhttp_request *req, const struct roster_err *err,
                      const json_t *details);
json_t *http_body_json(struct evhttp_request *req, struct roster_err *err);
json_t *http_body_json_max(struct evhttp_request *req, size_t max, struct roster_err *err);
#define IMPORT_BODY_MAX (64 << 20)
#define BODY_MAX        (1 << 20) /* every other route's */
#define IMPORT_ROWS_MAX 100000
/* Before any handler: every parameter of the query is name=value, both UTF-8
 * text, the value shorter than HTTP_QUERY_MAX bytes, the name one of the
 * route's params (space-separated; NULL: none), else 400 bad_query: a filter
 * misspelt must not list every record. */
#define HTTP_QUERY_MAX 1024
int http_query_check(struct evhttp_request *req, const char *params, struct roster_err *err);
/* A parameter's value copied into buf, or NULL when the query has none; a value
 * that does not fit reads as empty (no parameter is that long, and an empty
 * value is refused or means none). */
const char *http_query(struct evhttp_request *req, const char *key, char *buf, size_t len);
int http_query_limit(struct evhttp_request *req, size_t def, size_t max, size_t *out,
                     struct roster_err *err);
#define AUDIT_PAGE_MAX 10000

/* audit-filter.c: for each block of entries, a Bloom filter of the ids, accounts,
 * actions and outcomes they name, and the span of their times. */
#define AFILTER_OFF UINT64_MAX /* the last filter is damaged: no more are made */
int afilter_end_load(MDB_txn *txn, MDB_dbi dbi, uint64_t *end, struct roster_err *err);
/* Notes the keys and time of the entry f describes (audit_append). */
void afilter_note(struct wtxn *w, const struct roster_audit_fields *f);
/* After a commit: its names are kept, those of entries now filtered dropped;
 * before a txn: an uncommitted one's are dropped. Past AFILTER_ACC_MAX names
 * (24 MiB) all go, and names start again at the log's end. */
#define AFILTER_ACC_MAX (1 << 20)
void afilter_acc_commit(struct afilter_acc *acc, uint64_t afilter_end, uint64_t log_size);
void afilter_acc_rewind(struct afilter_acc *acc);
/* The first seq of the last filter 0.7.3 wrote, or AFILTER_OFF when none is left. */
int afilter_old_load(MDB_txn *txn, MDB_dbi dbi, uint64_t *old, struct roster_err *err);
/* In a write txn: that filter rewritten with accounts, actions, outcomes and
 * times, and *old moved to the one before it (or AFILTER_OFF). */
int afilter_upgrade_next(struct wtxn *w, uint64_t *old, struct roster_err *err);
/* In a write txn: the next block's filter, if the log holds that block whole. */
int afilter_build_next(struct wtxn *w, size_t block, struct roster_err *err);
/* A stored filter (key and value) read, or -1 when it is damaged. */
struct roster_afilter;
int afilter_record_parse(const MDB_val *k, const MDB_val *v, struct roster_afilter *f);
struct aspan;
/* On the audit reader's thread (aread.c): the entries from op->seq_from, before
 * op->seq_to, that match op->query, at most op->limit, into op->reply_raw;
 * op->seq_from is left where a next reply goes on from. span: the runs of
 * filters whose time span rules them out, extended a little first. */
void afilter_answer(struct server *srv, struct op *op, struct aspan *span);

/* audit-span.c: the time span of each run of ASPAN_RUN filters, on the audit
 * reader's thread only. */
#define ASPAN_RUN 64
struct aspan *aspan_new(void);
void aspan_free(struct aspan *s);
/* Summarises up to max_runs more whole runs of committed filters; *more: whole
 * runs are left. 0, or an LMDB error. */
int aspan_extend(struct aspan *s, MDB_txn *txn, MDB_dbi filters, size_t max_runs, int *more);
/* The first entry from seq on that a question of [since, until] (packed times,
 * 0: open) may match, as far as the runs tell; adds the filters passed over to
 * *skipped. */
uint64_t aspan_next(const struct aspan *s, uint64_t seq, uint64_t since, uint64_t until,
                    uint64_t *skipped);
/* A page of stored filters for `audit verify --deep` (an op's read). */
#define AFILTER_PAGE 1000
int afilter_page_read(struct wtxn *w, struct op *op);

/* Handlers: prepare an op from the request, or fill op->err to reject it. */
struct route;
typedef int (*handler_fn)(struct server *srv, struct op *op, const char *id);
int h_person_create(struct server *srv, struct op *op, const char *id);
int h_person_get(struct server *srv, struct op *op, const char *id);
int h_person_update(struct server *srv, struct op *op, const char *id);
int h_person_list(struct server *srv, struct op *op, const char *id);
int h_person_import(struct server *srv, struct op *op, const char *id);
int h_doc_create(struct server *srv, struct op *op, const char *id);
int h_doc_get(struct server *srv, struct op *op, const char *id);
int h_doc_list(struct server *srv, struct op *op, const char *id);
int h_doc_custody(struct server *srv, struct op *op, const char *id);
int h_travel_create(struct server *srv, struct op *op, const char *id);
int h_travel_get(struct server *srv, struct op *op, const char *id);
int h_travel_list(struct server *srv, struct op *op, const char *id);
int h_travel_decide(struct server *srv, struct op *op, const char *id);
int h_travel_complete(struct server *srv, struct op *op, const char *id);
int h_travel_cancel(struct server *srv, struct op *op, const char *id);
int h_audit_entries(struct server *srv, struct op *op, const char *id);
int h_audit_checkpoint(struct server *srv, struct op *op, const char *id);
int h_audit_checkpoint_new(struct server *srv, struct op *op, const char *id);
int h_audit_checkpoints(struct server *srv, struct op *op, const char *id);
int h_audit_pubkey(struct server *srv, struct op *op, const char *id);
int h_audit_inclusion(struct server *srv, struct op *op, const char *id);
int h_audit_consistency(struct server *srv, struct op *op, const char *id);
int h_audit_digests(struct server *srv, struct op *op, const char *id);
int h_audit_filters(struct server *srv, struct op *op, const char *id);
int h_status(struct server *srv, struct op *op, const char *id);
int h_role_list(struct server *srv, struct op *op, const char *id);
int h_role_grant(struct server *srv, struct op *op, const char *id);
int h_role_revoke(struct server *srv, struct op *op, const char *id);
int h_backup(struct server *srv, struct op *op, const char *id);
int h_key_status(struct server *srv, struct op *op, const char *id);
int h_key_rotate(struct server *srv, struct op *op, const char *id);

/* rotate.c: data key rotation and the background re-encryption it starts. */
/* A value in `meta` (a full map: ROSTER_RETRY); meta_del of one absent is no error. */
int meta_put(struct wtxn *w, const char *name, const void *val, size_t len);
int meta_del(struct wtxn *w, const char *name);
/* A new random key in op->newkey (kept when a full map re-runs the batch), wrapped
 * and stored as "KIND:ID" in the rotation's transaction. */
int rotate_key_new(struct wtxn *w, struct op *op, const char *kind, uint32_t id);
/* One key rotation per transaction: 0 for the first, -1 (409) for any other. */
int rotate_once(struct wtxn *w, struct op *op);
json_t *keys_status(struct wtxn *w, struct roster_err *err);
json_t *signing_history(MDB_txn *txn, MDB_dbi meta);
/* One slice of re-encryption in its own transaction; 1 more to do, 0 done, -1 failed.
 * prog says how far the walk over every record has come. */
int reencrypt_step(struct wtxn *w, size_t max, int *retired, struct reencrypt_progress *prog,
                   struct roster_err *err);

/* reindex.c: index key rotation. `key rotate index` (reindex_start, an op's apply)
 * adds a key; the writer then walks every record in slices (reindex_step, like
 * re-encryption): first tagging each under the new key, then, with the new key
 * active, removing its entries under the old one. */
int reindex_start(struct wtxn *w, struct op *op);
enum reindex_event { REINDEX_MORE, REINDEX_SWITCH, REINDEX_DONE };
int reindex_step(struct wtxn *w, size_t max, enum reindex_event *ev,
                 struct reencrypt_progress *prog, struct roster_err *err);
/* After a committed step: REINDEX_SWITCH makes the new key active (readers held
 * off by the caller), REINDEX_DONE wipes the old one. */
void reindex_after(struct keyring *kr, enum reindex_event ev);
/* The index keys and their states, for key status (in a transaction). */
json_t *reindex_status(struct wtxn *w);

/* idxlog.c: person_idx's changes, appended to a log and merged later. */
#define IDXLOG_FORMAT  2    /* meta "requires" while the log holds changes */
#define IDXLOG_MAX     4096 /* past this many entries, drain the log and write directly */
#define IDXLOG_OPS_MAX 64   /* changes in one entry: a person's tags, removed and added */
struct idxlog_op {
	int add;
	uint8_t tag[16];
};
/* Appends one entry: the n changes of one record's tags. */
int idxlog_note(struct wtxn *w, const char *id, const struct idxlog_op *ops, size_t n);
/* Merges everything at once (a key rotation's walk, a full log, a clean stop). */
int idxlog_drain(struct wtxn *w, struct roster_err *err);
/* The writer's merge pass (idxlog.c): one slice of at most max changes in the
 * caller's txn, then idxlog_pass_commit once that txn has committed. */
struct idxlog_pass;
struct idxlog_pass *idxlog_pass_new(void);
void idxlog_pass_free(struct idxlog_pass *p);
int idxlog_pass_active(const struct idxlog_pass *p);
int idxlog_merge_slice(struct wtxn *w, struct idxlog_pass *p, size_t max, struct roster_err *err);
void idxlog_pass_commit(struct idxlog_pass *p);
/* The seq the next change gets and how many the log holds. */
int idxlog_state(MDB_txn *txn, MDB_dbi log, uint64_t *next, uint64_t *n, struct roster_err *err);
/* The log's last change of each (tag, id) pair for a find's tags, sorted by tag
 * (its place in the find's list) and id; ids point into the snapshot's map. */
struct idxlog_change {
	int which, add;
	const char *id;
	size_t len;
	uint64_t seq;
};
struct idxlog_view {
	struct idxlog_change *c;
	size_t n;
};
int idxlog_view_load(MDB_txn *txn, MDB_dbi log, const uint8_t (*tags)[16], size_t ntags,
                     struct idxlog_view *view);
void idxlog_view_free(struct idxlog_view *view);
int idxlog_id_cmp(const char *a, size_t alen, const char *b, size_t blen);
const struct idxlog_change *idxlog_view_seek(const struct idxlog_view *view, int which,
                                             const char *id, size_t len);
const struct idxlog_change *idxlog_view_end(const struct idxlog_view *view, int which);
/* 1 added, 0 removed by the log, -1 the log does not say (ask the index). */
int idxlog_view_says(const struct idxlog_view *view, int which, const char *id, size_t len);
size_t idxlog_view_adds(const struct idxlog_view *view, int which);

/* init.c and main.c */
int registry_init(struct config *cfg, struct roster_err *err);
int registry_open(struct server *srv, struct roster_err *err);
int verify_backup(struct config *cfg, const char *path, struct roster_err *err);

#endif
