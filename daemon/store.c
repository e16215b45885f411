/*
 * store.c - the LMDB environment: one file, named databases, and the record
 * and index helpers the handlers' apply functions use inside the writer's
 * transaction. Records are always sealed on the way in and opened on the way
 * out here; the plaintext leaves only as a reply (records.c, h-document.c copy
 * it into the reply and wipe their copy).
 *
 *   meta                  settings of the registry (format, active key id,
 *                         "tree_order");
 *                         "requires": the format level a rosterd must know
 *   keys                  wrapped keys, "data:1", "index:1", "signing:1"
 *   persons, documents,   record id -> envelope
 *   travel
 *   audit                 seq (u64 BE) -> canonical entry
 *   tree                  (level, index) -> Merkle subtree hash (tree.c), in
 *                         registries made before format 3; empty since
 *   merkle                (last leaf, level) -> Merkle subtree hash, since
 *   checkpoints           tree size (u64 BE) -> signed checkpoint note
 *   roles                 uid (u32 BE) -> role bits granted with `rosterctl role`
 *   custody               "doc_ID.NNNNNNNN" -> envelope of that document's Nth
 *                         history entry (h-document.c)
 *   person_idx, doc_idx   blind indexes (search.c): keyed tag -> record ids
 *   person_idx_log        seq (u64 BE) -> a change of person_idx not merged
 *                         yet: '+' or '-', tag, record id (idxlog.c)
 *   doc_by_person,        person id -> record ids (sorted duplicates)
 *   travel_by_person
 *   doc_by_state,         keyed tag of the state -> record ids
 *   travel_by_state
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <event2/buffer.h>
#include <sodium.h>

#include "rosterd.h"
#include "roster/canon.h"
#include "roster/log.h"

int store_mdb_err(struct roster_err *err, int rc, const char *what)
{
	if (rc == MDB_MAP_FULL)
		return roster_err_set(err, 503, "storage_full", "%s: the database map is full",
		                      what);
	return roster_err_set(err, rc == MDB_NOTFOUND ? 404 : 500, "storage", "%s: %s", what,
	                      mdb_strerror(rc));
}

static int open_dbi(MDB_txn *txn, const char *name, unsigned flags, MDB_dbi *dbi,
                    struct roster_err *err)
{
	int rc = mdb_dbi_open(txn, name, flags, dbi);

	return rc ? store_mdb_err(err, rc, name) : 0;
}

/* Every named database, in the order they are opened. Databases added after
 * 0.1.0 are created when an older registry is opened; the rest only by init. */
#define DB(name, flags, later)                                                                     \
	{                                                                                          \
#name, flags, later, offsetof(struct store, name)                                  \
	}
static const struct store_db {
	const char *name;
	unsigned flags;
	int later;
	size_t off;
} store_dbs[] = {
    DB(meta, 0, 0),
    DB(keys, 0, 0),
    DB(persons, 0, 0),
    DB(documents, 0, 0),
    DB(travel, 0, 0),
    DB(audit, 0, 0),
    DB(tree, 0, 0),
    DB(checkpoints, 0, 0),
    DB(roles, 0, 1),
    DB(person_idx, MDB_DUPSORT, 1),
    DB(doc_idx, MDB_DUPSORT, 1),
    DB(custody, 0, 1),
    DB(doc_by_person, MDB_DUPSORT, 0),
    DB(travel_by_person, MDB_DUPSORT, 0),
    DB(doc_by_state, MDB_DUPSORT, 0),
    DB(travel_by_state, MDB_DUPSORT, 0),
    DB(person_idx_log, 0, 1),
    DB(audit_filter, 0, 1),
    DB(merkle, 0, 1),
};
#undef DB
#define STORE_NDBS (sizeof(store_dbs) / sizeof(store_dbs[0]))

static MDB_dbi *store_dbi(struct store *st, size_t i)
{
	return (MDB_dbi *)(void *)((char *)st + store_dbs[i].off);
}

const char *store_db_name(struct store *st, MDB_dbi dbi)
{
	for (size_t i = 0; i < STORE_NDBS; i++)
		if (*store_dbi(st, i) == dbi)
			return store_dbs[i].name;
	return NULL;
}

int store_db_find(struct store *st, const char *name, MDB_dbi *dbi)
{
	for (size_t i = 0; i < STORE_NDBS; i++)
		if (strcmp(store_dbs[i].name, name) == 0) {
			*dbi = *store_dbi(st, i);
			return 0;
		}
	return -1;
}

size_t store_db_count(void)
{
	return STORE_NDBS;
}

MDB_dbi store_db_at(struct store *st, size_t i)
{
	return *store_dbi(st, i);
}

/* A later rosterd that stores something this one would misread (a state this
 * one would not carry on correctly) sets meta "requires" above ROSTER_FORMAT while
 * it is stored; this one then refuses the registry rather than corrupt it. */
int store_format_check(MDB_txn *txn, MDB_dbi meta, const char *what, struct roster_err *err)
{
	MDB_val v;
	uint32_t level;
	int rc;

	if ((rc = mdb_get(txn, meta, &(MDB_val){8, "requires"}, &v)) == MDB_NOTFOUND)
		return 0;
	if (rc != 0)
		return store_mdb_err(err, rc, "reading the registry's format");
	if (v.mv_size != 4)
		return roster_err_set(err, 0, "format", "%s: its format level is unreadable", what);
	level = roster_be32_get(v.mv_data);
	if (level > ROSTER_FORMAT)
		return roster_err_set(err, 0, "format",
		                      "%s needs a rosterd that knows format %u (this is %s, "
		                      "format %u): use the newer rosterd that wrote it",
		                      what, level, ROSTER_VERSION, ROSTER_FORMAT);
	return 0;
}

int store_open(struct store *st, const char *dir, size_t map_size, int create,
               struct roster_err *err)
{
	MDB_envinfo info;
	MDB_txn *txn = NULL;
	int rc;

	memset(st, 0, sizeof(*st));
	pthread_rwlock_init(&st->resize, NULL);
	if ((rc = mdb_env_create(&st->env)) != 0 || (rc = mdb_env_set_maxdbs(st->env, 32)) != 0 ||
	    (rc = mdb_env_set_mapsize(st->env, map_size)) != 0)
		return store_mdb_err(err, rc, "creating the LMDB environment");
	/* NOTLS: read transactions may be opened on the main thread while the writer runs. */
	if ((rc = mdb_env_open(st->env, dir, MDB_NOTLS, 0600)) != 0) {
		roster_err_set(err, 0, "storage", "cannot open the registry in %s: %s", dir,
		               mdb_strerror(rc));
		goto fail;
	}
	mdb_env_info(st->env, &info);
	st->map_size = info.me_mapsize; /* a larger map kept from an earlier grow wins */
	if ((rc = mdb_txn_begin(st->env, NULL, 0, &txn)) != 0) {
		store_mdb_err(err, rc, "opening the databases");
		goto fail;
	}
	for (size_t i = 0; i < STORE_NDBS; i++) {
		unsigned flags = store_dbs[i].flags;

		if (create || store_dbs[i].later)
			flags |= MDB_CREATE;
		if (open_dbi(txn, store_dbs[i].name, flags, store_dbi(st, i), err) == 0)
			continue;
		if (!create)
			roster_err_set(err, 0, "no_registry",
			               "%s does not hold a roster registry (run 'rosterd init')",
			               dir);
		goto fail;
	}
	if (tree_order_load(st, txn, err) < 0)
		goto fail;
	if ((rc = mdb_txn_commit(txn)) != 0) {
		txn = NULL;
		store_mdb_err(err, rc, "opening the databases");
		goto fail;
	}
	return 0;
fail:
	if (txn)
		mdb_txn_abort(txn);
	mdb_env_close(st->env);
	st->env = NULL;
	return -1;
}

void store_close(struct store *st)
{
	journal_end(st);
	journal_free(st->journal);
	st->journal = NULL;
	if (st->env)
		mdb_env_close(st->env);
	pthread_rwlock_destroy(&st->resize);
	st->env = NULL;
}

/* Every change to the registry goes through these three, so the journal sees what
 * the writer's transaction did (journal.c) and can do it again after a crash.
 * Each change is noted before LMDB makes it: a key may point into a page the
 * change rewrites (entries_forget deletes by a cursor's key), and read after
 * the change it named another key. A change that failed is taken back out of
 * the note; one that failed otherwise than "not found" or "exists" leaves
 * LMDB's transaction unusable: st->failed keeps the first such code, so the
 * writer aborts (or retries on a full map) whatever an op's code made of it. */
static int store_changed(struct store *st, int rc, struct journal_mark mark)
{
	if (rc == 0)
		return 0;
	journal_unnote(st->journal, mark);
	if (rc != MDB_NOTFOUND && rc != MDB_KEYEXIST && st->failed == 0)
		st->failed = rc;
	return rc;
}

int store_put(struct store *st, MDB_txn *txn, MDB_dbi dbi, MDB_val *k, MDB_val *v, unsigned flags)
{
	struct journal_mark m = journal_note(st->journal, JOURNAL_PUT, dbi, k, v);

	return store_changed(st, mdb_put(txn, dbi, k, v, flags), m);
}

int store_del(struct store *st, MDB_txn *txn, MDB_dbi dbi, MDB_val *k, MDB_val *v)
{
	struct journal_mark m =
	    journal_note(st->journal, v ? JOURNAL_DEL_DUP : JOURNAL_DEL, dbi, k, v);

	return store_changed(st, mdb_del(txn, dbi, k, v), m);
}

int store_drop(struct store *st, MDB_txn *txn, MDB_dbi dbi)
{
	struct journal_mark m = journal_note(st->journal, JOURNAL_DROP, dbi, NULL, NULL);

	return store_changed(st, mdb_drop(txn, dbi, 0), m);
}

/* What the writer makes of a transaction a change failed in (0 if none did). */
int store_failed(struct store *st, struct roster_err *err)
{
	int rc = st->failed;

	st->failed = 0;
	if (rc == 0)
		return 0;
	if (rc == MDB_MAP_FULL)
		return ROSTER_RETRY;
	store_mdb_err(err, rc, "changing the registry");
	return ROSTER_FATAL;
}

/* Called by the writer with no transaction open; readers are held off meanwhile. */
int store_grow(struct store *st, struct roster_err *err)
{
	size_t next = st->map_size * 2;
	int rc;

	/* LMDB resizes the map only with no transaction open in the process. */
	if (journal_release(st, err) < 0)
		return -1;
	pthread_rwlock_wrlock(&st->resize);
	rc = mdb_env_set_mapsize(st->env, next);
	pthread_rwlock_unlock(&st->resize);
	if (journal_retake(st, err) < 0)
		return -1;
	if (rc)
		return store_mdb_err(err, rc, "growing the database map");
	log_info("database map grown from %zu to %zu MiB", st->map_size >> 20, next >> 20);
	st->map_size = next;
	return 0;
}

static int mdb_rc(int rc, struct roster_err *err, const char *what)
{
	if (rc == MDB_MAP_FULL)
		return ROSTER_RETRY;
	store_mdb_err(err, rc, what);
	return ROSTER_FATAL;
}

int rec_open(struct wtxn *w, MDB_dbi dbi, const char *db, const char *id, uint8_t **pt,
             size_t *ptlen, struct roster_err *err)
{
	const struct keyring *kr = w->keys;
	MDB_val k = {strlen(id), (void *)id}, v;
	struct roster_slot slot = {db, id, 0};
	uint32_t key_id;
	int rc = mdb_get(w->txn, dbi, &k, &v);

	if (rc == MDB_NOTFOUND)
		return roster_err_set(err, 404, "not_found", "no record %s in %s", id, db);
	if (rc)
		return store_mdb_err(err, rc, "reading a record");
	if (roster_envelope_header(v.mv_data, v.mv_size, &key_id, &slot.version) < 0 ||
	    keys_data(kr, key_id) == NULL)
		return roster_err_set(err, 500, "corrupt_record",
		                      "record %s in %s is damaged or sealed with an unknown key",
		                      id, db);
	if (roster_envelope_open(keys_data(kr, key_id), key_id, &slot, v.mv_data, v.mv_size, pt,
	                         ptlen, err) < 0) {
		log_warnx("record %s in %s failed authentication", id, db);
		return -1;
	}
	return 0;
}

int rec_get(struct wtxn *w, MDB_dbi dbi, const char *db, const char *id, json_t **out,
            struct roster_err *err)
{
	json_error_t jerr;
	uint8_t *pt = NULL;
	size_t ptlen = 0;

	if (rec_open(w, dbi, db, id, &pt, &ptlen, err) < 0)
		return -1;
	*out = json_loadb((const char *)pt, ptlen, 0, &jerr);
	sodium_memzero(pt, ptlen);
	free(pt);
	if (*out == NULL)
		return roster_err_set(err, 500, "corrupt_record", "record %s in %s is not JSON", id,
		                      db);
	return 0;
}

/* Seals rec at its "version" and stores it; op->object gets the ciphertext digest.
 * With reply set, the stored JSON also becomes op's reply. */
static int rec_store(struct wtxn *w, MDB_dbi dbi, const char *db, const char *id, json_t *rec,
                     struct op *op, int reply, struct roster_err *err)
{
	const struct keyring *kr = w->keys;
	struct roster_slot slot = {db, id,
	                           (uint64_t)json_integer_value(json_object_get(rec, "version"))};
	uint8_t digest[ROSTER_SHA256_BYTES], *env;
	struct roster_canon_buf pt = {0};
	size_t envlen;
	MDB_val k = {strlen(id), (void *)id}, v;
	int rc;

	if (roster_json_compact(&pt, rec, err) < 0) {
		roster_canon_buf_wipe(&pt);
		return -1;
	}
	roster_envelope_seal(kr->data, kr->data_id, &slot, (const uint8_t *)pt.p, pt.len, &env,
	                     &envlen);
	if (reply) {
		op_reply_clear(op);
		op->reply_raw = evbuffer_new();
		evbuffer_add(op->reply_raw, pt.p, pt.len);
	}
	roster_canon_buf_wipe(&pt);
	roster_sha256(digest, env, envlen);
	roster_hex_encode(op->object, digest, sizeof(digest));
	v.mv_size = envlen;
	v.mv_data = env;
	rc = store_put(&w->srv->store, w->txn, dbi, &k, &v, 0);
	free(env);
	return rc ? mdb_rc(rc, err, "storing a record") : 0;
}

int rec_put(struct wtxn *w, MDB_dbi dbi, const char *db, const char *id, json_t *rec, struct op *op,
            struct roster_err *err)
{
	return rec_store(w, dbi, db, id, rec, op, 0, err);
}

int rec_put_reply(struct wtxn *w, MDB_dbi dbi, const char *db, const char *id, json_t *rec,
                  struct op *op)
{
	return rec_store(w, dbi, db, id, rec, op, 1, &op->err);
}

int idx_put(struct wtxn *w, MDB_dbi dbi, const void *key, size_t klen, const char *id)
{
	MDB_val k = {klen, (void *)key}, v = {strlen(id), (void *)id};
	int rc = store_put(&w->srv->store, w->txn, dbi, &k, &v, MDB_NODUPDATA);

	return rc == 0 || rc == MDB_KEYEXIST ? 0 : mdb_rc(rc, NULL, "index");
}

int idx_del(struct wtxn *w, MDB_dbi dbi, const void *key, size_t klen, const char *id)
{
	MDB_val k = {klen, (void *)key}, v = {strlen(id), (void *)id};
	int rc = store_del(&w->srv->store, w->txn, dbi, &k, &v);

	return rc == 0 || rc == MDB_NOTFOUND ? 0 : mdb_rc(rc, NULL, "index");
}

/* Appends up to limit ids under key, after the id `after` (or from the first);
 * next gets the last id returned when more may follow, else "". */
int idx_list(struct wtxn *w, MDB_dbi dbi, const void *key, size_t klen, const char *after,
             size_t limit, json_t *ids, char *next, struct roster_err *err)
{
	MDB_val k = {klen, (void *)key}, v = {after ? strlen(after) : 0, (void *)after};
	MDB_cursor *cur;
	MDB_cursor_op how = after ? MDB_GET_BOTH_RANGE : MDB_SET_KEY;
	int rc = mdb_cursor_open(w->txn, dbi, &cur);

	next[0] = '\0';
	if (rc)
		return store_mdb_err(err, rc, "listing an index");
	rc = mdb_cursor_get(cur, &k, &v, how);
	if (rc == 0 && after && v.mv_size == strlen(after) &&
	    memcmp(v.mv_data, after, v.mv_size) == 0)
		rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT_DUP);
	while (rc == 0 && json_array_size(ids) < limit) {
		json_array_append_new(ids, json_stringn(v.mv_data, v.mv_size));
		rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT_DUP);
	}
	if (rc == 0 && json_array_size(ids) == limit)
		snprintf(next, ROSTER_ID_MAX, "%s",
		         json_string_value(json_array_get(ids, json_array_size(ids) - 1)));
	mdb_cursor_close(cur);
	if (rc && rc != MDB_NOTFOUND)
		return store_mdb_err(err, rc, "listing an index");
	return 0;
}

uint64_t store_entries(MDB_txn *txn, const MDB_dbi *dbis, size_t n)
{
	uint64_t total = 0;

	for (size_t i = 0; i < n; i++) {
		MDB_stat ms;

		if (mdb_stat(txn, dbis[i], &ms) == 0)
			total += ms.ms_entries;
	}
	return total;
}

/* Every key of a database, as strings: for passes that write while they walk it
 * (an LMDB cursor must not outlive puts into the same database). */
json_t *store_keys(MDB_txn *txn, MDB_dbi dbi)
{
	json_t *keys = json_array();
	MDB_cursor *cur;
	MDB_val k, v;
	int rc;

	if (mdb_cursor_open(txn, dbi, &cur) != 0)
		return keys;
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT))
		json_array_append_new(keys, json_stringn(k.mv_data, k.mv_size));
	mdb_cursor_close(cur);
	return keys;
}
