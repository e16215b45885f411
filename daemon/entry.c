/*
 * entry.c - the audit entry every request leaves, whatever its outcome: the
 * chain's head read back at start, and each op's entry appended (canonical
 * JSON chained to the previous entry's leaf hash, then its leaf in the Merkle
 * tree) inside the transaction of the op's changes. writer.c calls it for
 * every op of a batch; init.c for the genesis entry.
 */
#include <string.h>

#include "rosterd.h"

static const char *const outcome_names[] = {"ok", "denied", "rejected", "error"};

enum outcome outcome_of(int status)
{
	if (status < 400)
		return OUT_OK;
	if (status == 403)
		return OUT_DENIED;
	return status < 500 ? OUT_REJECTED : OUT_ERROR;
}

int audit_head_load(MDB_txn *txn, MDB_dbi audit, uint64_t *size, uint8_t head[32],
                    struct roster_err *err)
{
	MDB_cursor *cur;
	MDB_val k, v;
	int rc = mdb_cursor_open(txn, audit, &cur);

	if (rc)
		return store_mdb_err(err, rc, "reading the audit log");
	rc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
	if (rc == MDB_NOTFOUND) {
		*size = 0;
		memset(head, 0, ROSTER_HASH_BYTES);
		rc = 0;
	} else if (rc == 0 && k.mv_size == 8) {
		*size = roster_be64_get(k.mv_data) + 1;
		roster_audit_leaf_hash(head, v.mv_data, v.mv_size);
	} else if (rc == 0) {
		rc = MDB_CORRUPTED;
	}
	mdb_cursor_close(cur);
	return rc ? store_mdb_err(err, rc, "reading the audit log's last entry") : 0;
}

int audit_append(struct wtxn *w, struct op *op, struct roster_err *err)
{
	char prev[2 * ROSTER_HASH_BYTES + 1];
	uint8_t key[8];
	MDB_val k = {8, key}, v;
	struct roster_audit_fields f = {.seq = w->log_size,
	                                .time = w->now,
	                                .uid = op->peer.uid,
	                                .user = op->peer.user,
	                                .action = op->action,
	                                .target = op->target,
	                                .outcome = outcome_names[op->outcome],
	                                .object = op->object,
	                                .prev = prev,
	                                .status = op->status,
	                                .targets = op->targets,
	                                .stored_target =
	                                    op->stored_target[0] ? op->stored_target : NULL,
	                                .stored_object = op->stored_object,
	                                .person = op->person[0] ? op->person : NULL,
	                                .query = op->asked};
	char *bytes;
	size_t len;
	int rc;

	roster_hex_encode(prev, w->head, ROSTER_HASH_BYTES);
	if ((bytes = roster_audit_entry_dump(&f, &len, err)) == NULL)
		return ROSTER_FATAL;
	roster_be64_put(key, w->log_size);
	v.mv_size = len;
	v.mv_data = bytes;
	rc = store_put(&w->srv->store, w->txn, w->srv->store.audit, &k, &v, MDB_APPEND);
	if (rc == 0)
		roster_audit_leaf_hash(w->head, (const uint8_t *)bytes, len);
	free(bytes);
	if (rc == MDB_MAP_FULL)
		return ROSTER_RETRY;
	if (rc) {
		store_mdb_err(err, rc, "appending an audit entry");
		return ROSTER_FATAL;
	}
	if ((rc = tree_append(&w->srv->store, w->txn, w->log_size, w->head, err)) != 0)
		return rc;
	afilter_note(w, &f);
	op->seq = w->log_size++;
	return 0;
}
