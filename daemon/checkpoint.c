/*
 * checkpoint.c - signing C2SP checkpoints of the audit log's Merkle tree with
 * the registry's Ed25519 key, and finding the latest one. The key's name is
 * the log's origin, so the verifier key reads "origin+keyid+key".
 */
#include <stdlib.h>
#include <string.h>

#include "rosterd.h"
#include "roster/note.h"

/* cosigner, when not NULL, is a second Ed25519 secret key that signs the same note:
 * the hand-over from one signing key to the next. */
int checkpoint_sign(struct wtxn *w, const uint8_t *cosigner, char **note, struct roster_err *err)
{
	struct server *srv = w->srv;
	uint8_t root[32], key[8];
	MDB_val k = {8, key}, v;
	char *body;
	int rc;

	if (tree_root(w->txn, &srv->store, w->log_size, root, err) < 0)
		return ROSTER_FATAL;
	body = roster_checkpoint_format(srv->cfg.origin, w->log_size, root);
	*note = roster_note_sign(body, srv->cfg.origin, srv->keys.sign_sk);
	free(body);
	if (cosigner) {
		char *both = roster_note_cosign(*note, srv->cfg.origin, cosigner, err);

		free(*note);
		if ((*note = both) == NULL)
			return ROSTER_FATAL;
	}
	roster_be64_put(key, w->log_size);
	v.mv_size = strlen(*note);
	v.mv_data = *note;
	if ((rc = store_put(&srv->store, w->txn, srv->store.checkpoints, &k, &v, 0)) != 0) {
		free(*note);
		*note = NULL;
		if (rc == MDB_MAP_FULL)
			return ROSTER_RETRY;
		store_mdb_err(err, rc, "storing a checkpoint");
		return ROSTER_FATAL;
	}
	return 0;
}

int checkpoint_latest(MDB_txn *txn, MDB_dbi dbi, uint64_t *size, char **note,
                      struct roster_err *err)
{
	MDB_cursor *cur;
	MDB_val k, v;
	int rc = mdb_cursor_open(txn, dbi, &cur);

	if (rc)
		return store_mdb_err(err, rc, "reading checkpoints");
	rc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
	if (rc == 0 && k.mv_size == 8) {
		*size = roster_be64_get(k.mv_data);
		if (note) {
			*note = roster_xmalloc(v.mv_size + 1);
			memcpy(*note, v.mv_data, v.mv_size);
			(*note)[v.mv_size] = '\0';
		}
	} else if (rc == MDB_NOTFOUND) {
		*size = 0;
		if (note)
			*note = NULL;
		rc = 0;
	}
	mdb_cursor_close(cur);
	return rc ? store_mdb_err(err, rc, "reading the latest checkpoint") : 0;
}
