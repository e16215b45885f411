/*
 * rotate.c - data key rotation. `key rotate data` makes a new data key active
 * for new writes at once (in the rotation's transaction; installed in memory
 * once that commits). The writer then re-encrypts the records still sealed
 * under older keys, a few at a time (reencrypt_batch per transaction), each
 * with its own audit entry so the log keeps naming every record's current
 * ciphertext. Its position is kept in `meta` in the same transaction, so a
 * restart resumes where it stopped. When nothing is left under the old keys
 * they are retired: their wrapped copies deleted, their memory wiped.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "rosterd.h"
#include "roster/log.h"
#include "roster/note.h"

/* Every database of sealed values: all are re-encrypted after a data key rotation. */
static const char *const record_dbs[] = {"persons", "documents", "travel", "custody"};
#define RECORD_DBS 4

static MDB_dbi record_dbi(struct store *st, int i)
{
	const MDB_dbi dbis[RECORD_DBS] = {st->persons, st->documents, st->travel, st->custody};

	return dbis[i];
}

int meta_put(struct wtxn *w, const char *name, const void *val, size_t len)
{
	MDB_val k = {strlen(name), (void *)name}, v = {len, (void *)val};
	int rc = store_put(&w->srv->store, w->txn, w->srv->store.meta, &k, &v, 0);

	return rc == 0 ? 0 : rc == MDB_MAP_FULL ? ROSTER_RETRY : ROSTER_FATAL;
}

int meta_del(struct wtxn *w, const char *name)
{
	MDB_val k = {strlen(name), (void *)name};
	int rc = store_del(&w->srv->store, w->txn, w->srv->store.meta, &k, NULL);

	return rc == 0 || rc == MDB_NOTFOUND ? 0 : rc == MDB_MAP_FULL ? ROSTER_RETRY : ROSTER_FATAL;
}

static int reencrypt_scanned_put(struct wtxn *w, uint64_t n);

static uint32_t meta_u32(struct wtxn *w, const char *name)
{
	MDB_val k = {strlen(name), (void *)name}, v;

	return mdb_get(w->txn, w->srv->store.meta, &k, &v) == 0 && v.mv_size == 4
	           ? roster_be32_get(v.mv_data)
	           : 0;
}

/* Adds "created" to the entries of out that lack it, from meta "created:KIND:ID". */
static void key_created_add(struct wtxn *w, json_t *out)
{
	size_t i;
	json_t *k;

	json_array_foreach(out, i, k)
	{
		char name[64];
		MDB_val mk = {0, name}, mv;

		if (json_object_get(k, "created"))
			continue;
		snprintf(name, sizeof(name), "created:%s:%lld",
		         json_string_value(json_object_get(k, "kind")),
		         (long long)json_integer_value(json_object_get(k, "id")));
		mk.mv_size = strlen(name);
		if (mdb_get(w->txn, w->srv->store.meta, &mk, &mv) == 0)
			json_object_set_new(k, "created", json_stringn(mv.mv_data, mv.mv_size));
	}
}

/* Every key with its state, and for data keys how many records each protects. */
json_t *keys_status(struct wtxn *w, struct roster_err *err)
{
	const struct keyring *kr = &w->srv->keys;
	uint64_t counts[16] = {0};
	uint32_t ids[16];
	size_t nids = 0;
	json_t *out = json_array(), *idx;
	MDB_cursor *cur;
	MDB_val k, v;
	int rc;

	ids[nids++] = kr->data_id;
	for (size_t i = 0; i < kr->nold; i++)
		ids[nids++] = kr->old[i].id;
	for (int d = 0; d < RECORD_DBS; d++) {
		if ((rc = mdb_cursor_open(w->txn, record_dbi(&w->srv->store, d), &cur)) != 0) {
			json_decref(out);
			store_mdb_err(err, rc, "counting records per key");
			return NULL;
		}
		for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
		     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
			uint32_t id;
			uint64_t version;

			if (roster_envelope_header(v.mv_data, v.mv_size, &id, &version) == 0)
				for (size_t i = 0; i < nids; i++)
					counts[i] += ids[i] == id;
		}
		mdb_cursor_close(cur);
	}
	for (size_t i = 0; i < nids; i++)
		json_array_append_new(out, json_pack("{s:s, s:I, s:s, s:I}", "kind", "data", "id",
		                                     (json_int_t)ids[i], "state",
		                                     i == 0 ? "active" : "retiring", "records",
		                                     (json_int_t)counts[i]));
	/* Retired data keys are remembered in meta as "retired:data:N" -> time. */
	mdb_cursor_open(w->txn, w->srv->store.meta, &cur);
	k.mv_size = 13;
	k.mv_data = "retired:data:";
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	     rc == 0 && k.mv_size > 13 && memcmp(k.mv_data, "retired:data:", 13) == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		char num[16];

		snprintf(num, sizeof(num), "%.*s", (int)k.mv_size - 13, (char *)k.mv_data + 13);
		json_array_append_new(out, json_pack("{s:s, s:I, s:s, s:I, s:s%}", "kind", "data",
		                                     "id", (json_int_t)strtoul(num, NULL, 10),
		                                     "state", "retired", "records", (json_int_t)0,
		                                     "retired", v.mv_data, v.mv_size));
	}
	mdb_cursor_close(cur);
	key_created_add(w, out);
	idx = reindex_status(w);
	json_array_extend(out, idx);
	json_decref(idx);
	json_array_append_new(out, json_pack("{s:s, s:I, s:s}", "kind", "signing", "id",
	                                     (json_int_t)kr->sign_id, "state", "active"));
	for (uint32_t i = 1; i < kr->sign_id; i++)
		json_array_append_new(out, json_pack("{s:s, s:I, s:s}", "kind", "signing", "id",
		                                     (json_int_t)i, "state", "retired"));
	key_created_add(w, out);
	return out;
}

static int key_status_apply(struct wtxn *w, struct op *op)
{
	json_t *keys = keys_status(w, &op->err);

	if (keys == NULL)
		return -1;
	op->reply = json_pack("{s:o}", "keys", keys);
	return 0;
}

int h_key_status(struct server *srv, struct op *op, const char *id)
{
	(void)srv;
	(void)id;
	op->apply = key_status_apply;
	return 0;
}

/* A second rotation in the same transaction would find the first one's key names
 * taken, or every key already re-wrapped under a master key it does not hold,
 * before the first is installed: a storage failure that stops all writing. */
int rotate_once(struct wtxn *w, struct op *op)
{
	if (w->rotated)
		return roster_err_set(&op->err, 409, "rotation_running",
		                      "another key rotation is being committed at this moment: "
		                      "retry once it is done ('rosterctl key status --wait')");
	w->rotated = 1;
	return 0;
}

int rotate_key_new(struct wtxn *w, struct op *op, const char *kind, uint32_t id)
{
	char name[32];

	if (op->newkey == NULL) { /* kept when a full map re-runs the batch */
		if ((op->newkey = sodium_malloc(ROSTER_KEY_BYTES)) == NULL)
			return roster_err_set(&op->err, 500, "no_memory",
			                      "cannot allocate locked memory for a key");
		randombytes_buf(op->newkey, ROSTER_KEY_BYTES);
	}
	op->newkey_id = id;
	snprintf(name, sizeof(name), "%s:%u", kind, id);
	if (keys_wrap_put(&w->srv->keys, &w->srv->store, w->txn, name, op->newkey, ROSTER_KEY_BYTES,
	                  &op->err) < 0)
		return ROSTER_FATAL;
	return 0;
}

/* After the rotation commits: new writes use the new key from now on. */
static void rotate_commit(struct server *srv, struct op *op)
{
	keys_install(&srv->keys, op->newkey_id, op->newkey);
	op->newkey = NULL;
	log_info("data key %u active; re-encrypting records under older keys", op->newkey_id);
}

static int rotate_apply(struct wtxn *w, struct op *op)
{
	struct keyring *kr = &w->srv->keys;
	uint32_t last = meta_u32(w, "data_key_last"), id;
	uint8_t be[4];
	int rc;

	if (rotate_once(w, op) < 0)
		return -1;
	if (kr->nold > 0)
		return roster_err_set(&op->err, 409, "rotation_running",
		                      "data key %u is still being retired: 'rosterctl key status "
		                      "--wait' stays until it is",
		                      kr->old[0].id);
	id = (last > kr->data_id ? last : kr->data_id) + 1;
	roster_be32_put(be, id);
	if ((rc = rotate_key_new(w, op, "data", id)) != 0 ||
	    (rc = meta_put(w, "data_key", be, 4)) || (rc = meta_put(w, "data_key_last", be, 4)) ||
	    (rc = meta_put(w, "reencrypt", "", 0)) || (rc = reencrypt_scanned_put(w, 0)))
		return rc;
	op->after_commit = rotate_commit;
	op->newkey_kind = 'd';
	op->reply = json_pack("{s:s, s:I, s:I}", "kind", "data", "active", (json_int_t)id,
	                      "retiring", (json_int_t)kr->data_id);
	return 0;
}

/* Master key: every wrapped key is re-wrapped under a new master key in one
 * transaction; the new key file takes the old one's place after the commit (see
 * master_resume in init.c for a crash in between). */
static void rotate_master_commit(struct server *srv, struct op *op)
{
	char *next = roster_xasprintf("%s.new", srv->cfg.master_key);

	if (rename(next, srv->cfg.master_key) < 0)
		log_warn("master key rotated in the registry, but moving %s over %s failed: "
		         "rosterd finishes this at its next start",
		         next, srv->cfg.master_key);
	free(next);
	sodium_free(srv->keys.master);
	sodium_mprotect_readonly(op->newkey);
	srv->keys.master = op->newkey;
	op->newkey = NULL;
	log_info("master key rotated: every key re-wrapped, %s replaced", srv->cfg.master_key);
}

static int write_master_next(struct server *srv, struct op *op)
{
	char *next = roster_xasprintf("%s.new", srv->cfg.master_key);
	char hex[2 * ROSTER_KEY_BYTES + 2];
	int fd, rc = 0;

	unlink(next); /* a leftover of a rotation that never committed */
	fd = open(next, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	roster_hex_encode(hex, op->newkey, ROSTER_KEY_BYTES);
	hex[2 * ROSTER_KEY_BYTES] = '\n';
	if (fd < 0 || write(fd, hex, 2 * ROSTER_KEY_BYTES + 1) != 2 * ROSTER_KEY_BYTES + 1 ||
	    fsync(fd) < 0)
		rc =
		    roster_err_set(&op->err, 500, "master_write",
		                   "cannot write the new master key %s: %s", next, strerror(errno));
	sodium_memzero(hex, sizeof(hex));
	if (fd >= 0)
		close(fd);
	free(next);
	return rc;
}

static int rotate_master_apply(struct wtxn *w, struct op *op)
{
	struct keyring *kr = &w->srv->keys;
	json_t *names = NULL, *name;
	MDB_val v;
	size_t i;
	int rc;

	if (rotate_once(w, op) < 0)
		return -1;
	if (w->srv->cfg.master_is_passphrase) {
		/* The administrator wrote the new passphrase to <file>.new. */
		char *next = roster_xasprintf("%s.new", w->srv->cfg.master_key);
		struct keyring fresh = {0};
		struct kdf kdf;

		kdf_new(&w->srv->cfg, &kdf);
		rc = keys_master_derive(&fresh, next, &kdf, &op->err);
		free(next);
		if (rc < 0) {
			sodium_free(fresh.master);
			op->err.status = 422;
			snprintf(op->err.code, sizeof(op->err.code), "no_passphrase");
			json_decref(names);
			return -1;
		}
		sodium_free(op->newkey);
		op->newkey = fresh.master;
		sodium_mprotect_readwrite(op->newkey);
		if ((rc = kdf_put(w->txn, w->srv->store.meta, &kdf)) != 0) {
			json_decref(names);
			return rc == MDB_MAP_FULL ? ROSTER_RETRY : ROSTER_FATAL;
		}
	} else if (op->newkey == NULL) {
		if ((op->newkey = sodium_malloc(ROSTER_KEY_BYTES)) == NULL) {
			json_decref(names);
			return roster_err_set(&op->err, 500, "no_memory",
			                      "cannot allocate locked memory for a key");
		}
		randombytes_buf(op->newkey, ROSTER_KEY_BYTES);
		if (write_master_next(w->srv, op) < 0) {
			json_decref(names);
			return -1;
		}
	}
	names = store_keys(w->txn, w->srv->store.keys);
	rc = 0;
	json_array_foreach(names, i, name)
	{
		const char *n = json_string_value(name);
		struct roster_slot slot = {"keys", n, 1};
		MDB_val key = {strlen(n), (void *)n};
		uint8_t *pt, *env;
		size_t ptlen, envlen;

		if (mdb_get(w->txn, w->srv->store.keys, &key, &v) != 0 ||
		    roster_envelope_open(kr->master, 0, &slot, v.mv_data, v.mv_size, &pt, &ptlen,
		                         &op->err) < 0) {
			rc = ROSTER_FATAL;
			break;
		}
		roster_envelope_seal(op->newkey, 0, &slot, pt, ptlen, &env, &envlen);
		sodium_memzero(pt, ptlen);
		free(pt);
		v.mv_size = envlen;
		v.mv_data = env;
		rc = store_put(&w->srv->store, w->txn, w->srv->store.keys, &key, &v, 0);
		free(env);
		if (rc) {
			rc = rc == MDB_MAP_FULL ? ROSTER_RETRY : ROSTER_FATAL;
			break;
		}
	}
	if (rc == 0) {
		op->after_commit = rotate_master_commit;
		op->newkey_kind = 'm';
		op->reply =
		    json_pack("{s:s, s:I, s:s}", "kind", "master", "rewrapped",
		              (json_int_t)json_array_size(names), "file", w->srv->cfg.master_key);
	}
	json_decref(names);
	return rc;
}

/* Signing keys: the checkpoint of the rotation's own batch is signed by the old key
 * and the new one, so an auditor who trusts the old key can follow the hand-over. */
static void rotate_signing_commit(struct server *srv, struct op *op)
{
	struct keyring *kr = &srv->keys;

	sodium_free(kr->sign_sk);
	sodium_mprotect_readonly(op->newkey);
	kr->sign_sk = op->newkey;
	kr->sign_id = op->newkey_id;
	crypto_sign_ed25519_sk_to_pk(kr->sign_pk, kr->sign_sk);
	op->newkey = NULL;
	log_info("signing key %u active; the hand-over checkpoint carries both signatures",
	         kr->sign_id);
}

static int rotate_signing_apply(struct wtxn *w, struct op *op)
{
	struct keyring *kr = &w->srv->keys;
	char name[32], old[32], meta[48], *vkey_old, *vkey_new;
	uint8_t pk[32], be[4];
	MDB_val k;
	int rc;

	if (rotate_once(w, op) < 0)
		return -1;
	if (op->newkey == NULL) {
		if ((op->newkey = sodium_malloc(crypto_sign_SECRETKEYBYTES)) == NULL)
			return roster_err_set(&op->err, 500, "no_memory",
			                      "cannot allocate locked memory for a key");
		crypto_sign_keypair(pk, op->newkey);
	}
	crypto_sign_ed25519_sk_to_pk(pk, op->newkey);
	op->newkey_id = kr->sign_id + 1;
	op->newkey_kind = 's';
	snprintf(name, sizeof(name), "signing:%u", op->newkey_id);
	snprintf(old, sizeof(old), "signing:%u", kr->sign_id);
	snprintf(meta, sizeof(meta), "retired:%s", old);
	roster_be32_put(be, op->newkey_id);
	vkey_old = roster_note_vkey_format(w->srv->cfg.origin, kr->sign_pk);
	vkey_new = roster_note_vkey_format(w->srv->cfg.origin, pk);
	k.mv_size = strlen(old);
	k.mv_data = old;
	rc = keys_wrap_put(kr, &w->srv->store, w->txn, name, op->newkey, crypto_sign_SECRETKEYBYTES,
	                   &op->err) < 0
	         ? ROSTER_FATAL
	     : store_del(&w->srv->store, w->txn, w->srv->store.keys, &k, NULL) ? ROSTER_FATAL
	                                                                       : 0;
	if (rc == 0 && !(rc = meta_put(w, "signing_key", be, 4)))
		rc = meta_put(w, meta, vkey_old, strlen(vkey_old));
	if (rc == 0) {
		op->checkpoint = 1; /* the writer signs it with both keys */
		op->after_commit = rotate_signing_commit;
		op->reply =
		    json_pack("{s:s, s:I, s:s, s:s}", "kind", "signing", "active",
		              (json_int_t)op->newkey_id, "vkey", vkey_new, "previous", vkey_old);
	}
	free(vkey_old);
	free(vkey_new);
	return rc;
}

/* The verifier keys of retired signing keys, oldest first. */
json_t *signing_history(MDB_txn *txn, MDB_dbi meta)
{
	MDB_val k = {16, "retired:signing:"}, v;
	json_t *out = json_array();
	MDB_cursor *cur;
	int rc;

	if (mdb_cursor_open(txn, meta, &cur) != 0)
		return out;
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	     rc == 0 && k.mv_size > 16 && memcmp(k.mv_data, "retired:signing:", 16) == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT))
		json_array_append_new(out, json_stringn(v.mv_data, v.mv_size));
	mdb_cursor_close(cur);
	return out;
}

int h_key_rotate(struct server *srv, struct op *op, const char *id)
{
	const char *kind;

	(void)id;
	if ((op->body = http_body_json(op->req, &op->err)) == NULL)
		return -1;
	kind = json_string_value(json_object_get(op->body, "kind"));
	if (kind == NULL || json_object_size(op->body) != 1)
		return roster_err_set(&op->err, 422, "invalid_field", "send {\"kind\": \"data\"}");
	if (strcmp(kind, "data") == 0)
		op->apply = rotate_apply;
	else if (strcmp(kind, "signing") == 0)
		op->apply = rotate_signing_apply;
	else if (strcmp(kind, "master") == 0 && srv->cfg.master_is_credential)
		return roster_err_set(&op->err, 409, "credential",
		                      "the master key is a systemd credential: rotate it with "
		                      "systemd-creds and a restart, not online");
	else if (strcmp(kind, "master") == 0)
		op->apply = rotate_master_apply;
	else if (strcmp(kind, "index") == 0)
		op->apply = reindex_start;
	else
		return roster_err_set(&op->err, 422, "not_supported",
		                      "unknown key kind '%s': data, signing, master or index",
		                      kind);
	return 0;
}

/* The audit entry of work the daemon does on its own. */
int audit_own_entry(struct wtxn *w, const char *action, const char *target, const char *object,
                    struct roster_err *err)
{
	struct op op = {.action = action, .status = 200, .outcome = OUT_OK};

	op.peer.uid = getuid();
	snprintf(op.peer.user, sizeof(op.peer.user), "rosterd");
	snprintf(op.target, sizeof(op.target), "%s", target);
	snprintf(op.object, sizeof(op.object), "%s", object);
	return audit_append(w, &op, err);
}

static int retire_old(struct wtxn *w, struct roster_err *err)
{
	struct keyring *kr = &w->srv->keys;
	int rc;

	for (size_t i = 0; i < kr->nold; i++) {
		char name[32], meta[48];
		MDB_val k;

		snprintf(name, sizeof(name), "data:%u", kr->old[i].id);
		snprintf(meta, sizeof(meta), "retired:%s", name);
		k.mv_size = strlen(name);
		k.mv_data = name;
		if ((rc = store_del(&w->srv->store, w->txn, w->srv->store.keys, &k, NULL)) != 0 &&
		    rc != MDB_NOTFOUND)
			return store_mdb_err(err, rc, "retiring a key"), ROSTER_FATAL;
		if ((rc = meta_put(w, meta, w->now, strlen(w->now))) ||
		    (rc = audit_own_entry(w, "key.retire", "", "", err)))
			return rc;
	}
	if ((rc = meta_del(w, "reencrypt")) != 0)
		return rc;
	return meta_del(w, "reencrypt_scanned");
}

/* Progress survives restarts: records walked so far, kept beside the position. */
static uint64_t reencrypt_scanned(struct wtxn *w)
{
	MDB_val k = {17, "reencrypt_scanned"}, v;

	if (mdb_get(w->txn, w->srv->store.meta, &k, &v) == 0 && v.mv_size == 8)
		return roster_be64_get(v.mv_data);
	return 0;
}

static int reencrypt_scanned_put(struct wtxn *w, uint64_t n)
{
	uint8_t be[8];

	roster_be64_put(be, n);
	return meta_put(w, "reencrypt_scanned", be, 8);
}

static uint64_t records_total(struct wtxn *w)
{
	const struct store *st = &w->srv->store;
	const MDB_dbi dbis[RECORD_DBS] = {st->persons, st->documents, st->travel, st->custody};

	return store_entries(w->txn, dbis, RECORD_DBS);
}

int reencrypt_step(struct wtxn *w, size_t max, int *retired, struct reencrypt_progress *prog,
                   struct roster_err *err)
{
	struct store *st = &w->srv->store;
	uint64_t scanned = reencrypt_scanned(w);
	MDB_val cv;
	char after[ROSTER_ID_MAX] = "";
	uint8_t pos[1 + ROSTER_ID_MAX];
	size_t done = 0;
	int d = 0, rc, more;

	*retired = 0;
	if (mdb_get(w->txn, st->meta, &(MDB_val){9, "reencrypt"}, &cv) == 0 && cv.mv_size >= 1 &&
	    cv.mv_size <= sizeof(pos)) {
		d = ((uint8_t *)cv.mv_data)[0];
		snprintf(after, sizeof(after), "%.*s", (int)cv.mv_size - 1, (char *)cv.mv_data + 1);
	}
	for (; d < RECORD_DBS && done < max; d++, after[0] = '\0') {
		MDB_cursor *cur;
		MDB_val k = {strlen(after), after}, v;
		json_t *ids = json_array();
		size_t i;
		json_t *idv;

		/* Collect first: the cursor must not live across the puts below. */
		mdb_cursor_open(w->txn, record_dbi(st, d), &cur);
		more = after[0] ? mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE)
		                : mdb_cursor_get(cur, &k, &v, MDB_FIRST);
		if (more == 0 && after[0] && k.mv_size == strlen(after) &&
		    memcmp(k.mv_data, after, k.mv_size) == 0)
			more = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
		for (; more == 0 && json_array_size(ids) + done < max;
		     more = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
			uint32_t id;
			uint64_t version;

			if (roster_envelope_header(v.mv_data, v.mv_size, &id, &version) == 0 &&
			    id != w->srv->keys.data_id)
				json_array_append_new(ids, json_stringn(k.mv_data, k.mv_size));
			scanned++;
			snprintf(after, sizeof(after), "%.*s", (int)k.mv_size, (char *)k.mv_data);
		}
		mdb_cursor_close(cur);
		json_array_foreach(ids, i, idv)
		{
			struct op op = {0};
			json_t *rec;
			const char *rid = json_string_value(idv);

			if (rec_get(w, record_dbi(st, d), record_dbs[d], rid, &rec, err) < 0) {
				json_decref(ids);
				return ROSTER_FATAL;
			}
			rc = rec_put(w, record_dbi(st, d), record_dbs[d], rid, rec, &op, err);
			json_decref(rec);
			if (rc ||
			    (rc = audit_own_entry(w, "record.reencrypt", rid, op.object, err))) {
				json_decref(ids);
				return rc;
			}
			done++;
		}
		json_decref(ids);
		if (more == 0) /* this database has more: stop here, resume after `after` */
			break;
	}
	prog->total = records_total(w);
	prog->scanned = scanned < prog->total ? scanned : prog->total;
	if (d >= RECORD_DBS) {
		if ((rc = retire_old(w, err)) != 0)
			return rc;
		*retired = 1;
		prog->scanned = prog->total;
		return 0;
	}
	pos[0] = (uint8_t)d;
	memcpy(pos + 1, after, strlen(after));
	if ((rc = meta_put(w, "reencrypt", pos, 1 + strlen(after))) != 0 ||
	    (rc = reencrypt_scanned_put(w, scanned)) != 0)
		return rc;
	return 1;
}
