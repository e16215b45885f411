/*
 * snapshot.c - audited reads answered on the main thread.
 *
 * A read changes nothing but its audit entry, so it need not run inside the
 * writer's transaction: the main thread reads the record from a committed
 * snapshot (an LMDB read transaction), decrypts it and builds the reply, then
 * queues the op with no apply function: the writer appends only its entry, and
 * the reply still leaves after that entry is durable. This keeps decryption and
 * JSON work out of the one thread every write waits for.
 *
 * Records are opened with srv->rkeys, a copy of the keys as of the last commit.
 * The writer's own keyring runs ahead of what is committed (an index key
 * rotation tags with its new key before the commit), so the writer holds the
 * lock across any commit that changes keys and publishes the copy before letting
 * readers in: a reader never pairs a snapshot with keys of another commit.
 */
#include "rosterd.h"

void snapshot_start(struct server *srv)
{
	pthread_rwlock_init(&srv->rkeys_lock, NULL);
	keys_view_copy(&srv->rkeys, &srv->keys);
}

void snapshot_stop(struct server *srv)
{
	if (srv->rkeys.data == NULL)
		return; /* never started */
	keys_free(&srv->rkeys);
	pthread_rwlock_destroy(&srv->rkeys_lock);
}

void snapshot_keys_hold(struct server *srv)
{
	pthread_rwlock_wrlock(&srv->rkeys_lock);
}

void snapshot_keys_release(struct server *srv, int publish)
{
	if (publish)
		keys_view_copy(&srv->rkeys, &srv->keys);
	pthread_rwlock_unlock(&srv->rkeys_lock);
}

const struct keyring *snapshot_keys_lock(struct server *srv)
{
	pthread_rwlock_rdlock(&srv->rkeys_lock);
	return &srv->rkeys;
}

void snapshot_keys_unlock(struct server *srv)
{
	pthread_rwlock_unlock(&srv->rkeys_lock);
}

void snapshot_read(struct server *srv, struct op *op)
{
	struct wtxn w = {.srv = srv, .keys = snapshot_keys_lock(srv)};
	int rc;

	pthread_rwlock_rdlock(&srv->store.resize);
	if ((rc = mdb_txn_begin(srv->store.env, NULL, MDB_RDONLY, &w.txn)) != 0) {
		store_mdb_err(&op->err, rc, "starting a read");
	} else {
		rc = op->read(&w, op);
		mdb_txn_abort(w.txn);
	}
	pthread_rwlock_unlock(&srv->store.resize);
	snapshot_keys_unlock(srv);
	op->read = NULL;
	if (rc != 0) { /* the writer's rule for a failed apply: the error, no reply */
		op->status = op->err.status ? op->err.status : 500;
		op_reply_clear(op);
	}
}
