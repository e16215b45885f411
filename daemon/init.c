/*
 * init.c - creating a new registry (rosterd init) and opening an existing one.
 * Init makes the data dir, the master key file if there is none, the wrapped
 * keys and the genesis audit entry, all in one transaction; it refuses to touch
 * a directory that already holds a registry.
 */
#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "rosterd.h"
#include "roster/log.h"

void kdf_new(const struct config *cfg, struct kdf *kdf)
{
	randombytes_buf(kdf->salt, sizeof(kdf->salt));
	kdf->ops = cfg->kdf_ops;
	kdf->mem = cfg->kdf_mem;
}

int kdf_put(MDB_txn *txn, MDB_dbi meta, const struct kdf *kdf)
{
	uint8_t buf[32];
	MDB_val k = {3, "kdf"}, v = {sizeof(buf), buf};

	memcpy(buf, kdf->salt, 16);
	roster_be64_put(buf + 16, kdf->ops);
	roster_be64_put(buf + 24, kdf->mem);
	return mdb_put(txn, meta, &k, &v, 0);
}

int master_open(struct server *srv, MDB_txn *txn, MDB_dbi meta, const char *path,
                struct roster_err *err)
{
	MDB_val k = {3, "kdf"}, v;
	struct kdf kdf;

	if (path == NULL)
		path = srv->cfg.master_key;
	if (!srv->cfg.master_is_passphrase)
		return keys_master_load(&srv->keys, path, err);
	if (mdb_get(txn, meta, &k, &v) != 0 || v.mv_size != 32)
		return roster_err_set(
		    err, 0, "master_key",
		    "this registry was not made with a passphrase: set master_key "
		    "to its key file");
	memcpy(kdf.salt, v.mv_data, 16);
	kdf.ops = roster_be64_get((uint8_t *)v.mv_data + 16);
	kdf.mem = roster_be64_get((uint8_t *)v.mv_data + 24);
	return keys_master_derive(&srv->keys, path, &kdf, err);
}

static int genesis(struct server *srv, MDB_txn *txn, struct roster_err *err)
{
	struct wtxn w = {.txn = txn, .srv = srv, .keys = &srv->keys};
	struct op op = {.action = "registry.init", .status = 201, .outcome = OUT_OK};
	struct passwd *pw = getpwuid(getuid());
	char *note = NULL;
	int rc;

	roster_time_rfc3339(w.now, time(NULL));
	op.peer.uid = getuid();
	snprintf(op.peer.user, sizeof(op.peer.user), "%s", pw ? pw->pw_name : "?");
	rc = audit_append(&w, &op, err);
	if (rc == 0)
		rc = checkpoint_sign(&w, NULL, &note, err);
	free(note);
	return rc == ROSTER_RETRY ? roster_err_set(err, 0, "map_size", "map_size is too small")
	                          : rc;
}

int registry_init(struct config *cfg, struct roster_err *err)
{
	struct server srv = {.cfg = *cfg};
	struct kdf kdf;
	char path[4096];
	MDB_txn *txn = NULL;
	struct stat sb;
	int rc = -1, made_key = 0;

	snprintf(path, sizeof(path), "%s/data.mdb", cfg->data_dir);
	if (stat(path, &sb) == 0)
		return roster_err_set(err, 0, "exists",
		                      "%s already holds a registry: refusing to touch it",
		                      cfg->data_dir);
	if (mkdir(cfg->data_dir, 0700) < 0 && errno != EEXIST)
		return roster_err_set(err, 0, "cannot_create", "cannot create %s: %s",
		                      cfg->data_dir, strerror(errno));
	if (cfg->master_is_passphrase) {
		kdf_new(cfg, &kdf);
		if (keys_master_derive(&srv.keys, cfg->master_key, &kdf, err) < 0)
			return -1;
	} else if (access(cfg->master_key, F_OK) < 0) {
		if (keys_master_create(cfg->master_key, err) < 0)
			return -1;
		made_key = 1;
		log_info("created master key %s (mode 0600): back it up apart from the data",
		         cfg->master_key);
	}
	if (!cfg->master_is_passphrase && keys_master_load(&srv.keys, cfg->master_key, err) < 0)
		goto fail;
	if (store_open(&srv.store, cfg->data_dir, cfg->map_size, 1, err) < 0) {
		snprintf(err->code, sizeof(err->code), "cannot_create");
		goto fail;
	}
	if ((rc = mdb_txn_begin(srv.store.env, NULL, 0, &txn)) != 0) {
		rc = store_mdb_err(err, rc, "starting init");
		goto fail_store;
	}
	if ((cfg->master_is_passphrase && kdf_put(txn, srv.store.meta, &kdf) != 0) ||
	    keys_generate(&srv.keys, &srv.store, txn, err) < 0 || genesis(&srv, txn, err) < 0) {
		mdb_txn_abort(txn);
		rc = -1;
		goto fail_store;
	}
	if ((rc = mdb_txn_commit(txn)) != 0) {
		rc = store_mdb_err(err, rc, "committing init");
		goto fail_store;
	}
	rc = 0;
fail_store:
	store_close(&srv.store);
	if (rc < 0) {
		unlink(path);
		snprintf(path, sizeof(path), "%s/lock.mdb", cfg->data_dir);
		unlink(path);
	}
fail:
	keys_free(&srv.keys);
	if (rc < 0 && made_key)
		unlink(cfg->master_key);
	return rc;
}

/* A master key rotation writes the new key to "<master_key>.new", commits the keys
 * re-wrapped under it, then renames the file over master_key. A crash between the
 * commit and the rename leaves keys that only the .new file opens: finish the
 * rename. Before the commit, the .new file is stale: drop it. Exactly one of the
 * two keys ever opens the registry. */
static int master_resume(struct server *srv, MDB_txn *txn, struct roster_err *err)
{
	char *next = roster_xasprintf("%s.new", srv->cfg.master_key);
	struct roster_err again;
	int rc = -1;

	if (access(next, F_OK) < 0)
		goto done;
	keys_free(&srv->keys);
	if (master_open(srv, txn, srv->store.meta, next, &again) < 0 ||
	    keys_unwrap(&srv->keys, txn, srv->store.keys, srv->store.meta, &again) < 0)
		goto done;
	if (rename(next, srv->cfg.master_key) < 0) {
		roster_err_set(err, 0, "master_rename", "cannot move %s over %s: %s", next,
		               srv->cfg.master_key, strerror(errno));
		goto done;
	}
	log_warnx("completed an interrupted master key rotation: %s is the new master key "
	          "(the old one no longer opens this registry)",
	          srv->cfg.master_key);
	rc = 0;
done:
	free(next);
	return rc;
}

static void master_discard_next(struct server *srv)
{
	char *next = roster_xasprintf("%s.new", srv->cfg.master_key);

	if (access(next, F_OK) == 0 && unlink(next) == 0)
		log_warnx("removed %s, left by a master key rotation that did not commit", next);
	free(next);
}

/* One-time changes of the stored format, in order, each marked done in meta. */
static const struct upgrade {
	const char *done;
	int (*run)(struct wtxn *w, struct roster_err *err);
} upgrades[] = {
    {"custody_events", custody_migrate},  /* 0.3: history out of document records */
    {"custody_audit", custody_audit_all}, /* 0.5: each custody entry named in the log */
    {"grants_audit", grants_audit_all},   /* 0.5: each stored role grant named */
};

static int upgrade_done(struct wtxn *w, const struct upgrade *u)
{
	MDB_val k = {strlen(u->done), (void *)u->done}, v;

	return mdb_get(w->txn, w->srv->store.meta, &k, &v) == 0;
}

static int upgrade_run(struct wtxn *w, const struct upgrade *u, struct roster_err *err)
{
	MDB_val k = {strlen(u->done), (void *)u->done};
	int rc;

	if ((rc = u->run(w, err)) != 0)
		return rc;
	if ((rc = mdb_put(w->txn, w->srv->store.meta, &k, &(MDB_val){1, "1"}, 0)) != 0)
		return rc == MDB_MAP_FULL ? ROSTER_RETRY
		                          : store_mdb_err(err, rc, "upgrading the registry");
	return 0;
}

static int registry_upgrade_once(struct server *srv, struct roster_err *err)
{
	struct wtxn w = {.srv = srv, .keys = &srv->keys};
	size_t i, pending = 0;
	int rc;

	if ((rc = mdb_txn_begin(srv->store.env, NULL, 0, &w.txn)) != 0)
		return store_mdb_err(err, rc, "upgrading the registry");
	for (i = 0; i < sizeof(upgrades) / sizeof(upgrades[0]); i++)
		pending += !upgrade_done(&w, &upgrades[i]);
	if (pending == 0) {
		mdb_txn_abort(w.txn);
		return 0;
	}
	roster_time_rfc3339(w.now, time(NULL));
	rc = audit_head_load(w.txn, srv->store.audit, &w.log_size, w.head, err);
	for (i = 0; rc == 0 && i < sizeof(upgrades) / sizeof(upgrades[0]); i++)
		if (!upgrade_done(&w, &upgrades[i]))
			rc = upgrade_run(&w, &upgrades[i], err);
	if (rc != 0) {
		mdb_txn_abort(w.txn);
		return rc;
	}
	if ((rc = mdb_txn_commit(w.txn)) != 0)
		return rc == MDB_MAP_FULL ? ROSTER_RETRY
		                          : store_mdb_err(err, rc, "committing the upgrade");
	return 0;
}

static int registry_upgrade(struct server *srv, struct roster_err *err)
{
	int rc;

	while ((rc = registry_upgrade_once(srv, err)) == ROSTER_RETRY)
		if (store_grow(&srv->store, err) < 0)
			return -1;
	return rc < 0 ? -1 : 0;
}

/* Says at start what becomes of a Merkle tree by level: put in completion order
 * by the writer while rosterd serves (upkeep.c), unless tree_convert = no. */
static void registry_tree_order_log(struct server *srv)
{
	if (srv->store.tree_order == TREE_COMPLETION)
		return;
	if (!srv->cfg.tree_convert)
		log_info("the Merkle tree stays in its order by level (tree_convert = no)");
	else
		log_info("the Merkle tree is put in the order appends complete it while rosterd "
		         "serves (once; resumed if stopped)");
}

int registry_open(struct server *srv, struct roster_err *err)
{
	char path[PATH_MAX];
	struct journal *jr;
	MDB_txn *txn;
	int rc;

	snprintf(path, sizeof(path), "%s/data.mdb", srv->cfg.data_dir);
	if (access(path, F_OK) < 0)
		return roster_err_set(err, 0, "no_registry",
		                      "%s does not hold a roster registry (run 'rosterd init')",
		                      srv->cfg.data_dir);
	/* The journal first: after an unclean stop it rewinds data.mdb to its checkpoint. */
	if (journal_open(&jr, srv->cfg.data_dir, srv->cfg.journal_size, err) < 0)
		return -1;
	if (store_open(&srv->store, srv->cfg.data_dir, srv->cfg.map_size, 0, err) < 0) {
		journal_free(jr);
		return -1;
	}
	if (journal_replay(&srv->store, jr, err) < 0)
		return -1;
	if ((rc = mdb_txn_begin(srv->store.env, NULL, MDB_RDONLY, &txn)) != 0)
		return store_mdb_err(err, rc, "opening the registry");
	rc = store_format_check(txn, srv->store.meta, srv->cfg.data_dir, err);
	/* Read again: the replay may have applied the conversion's last slice. */
	if (rc == 0)
		rc = tree_order_load(&srv->store, txn, err);
	if (rc == 0)
		rc = master_open(srv, txn, srv->store.meta, NULL, err);
	if (rc == 0)
		rc = keys_unwrap(&srv->keys, txn, srv->store.keys, srv->store.meta, err);
	if (rc < 0 && strcmp(err->code, "wrong_master") == 0)
		rc = master_resume(srv, txn, err);
	else if (rc == 0)
		master_discard_next(srv);
	mdb_txn_abort(txn);
	if (rc < 0 || registry_upgrade(srv, err) < 0)
		return -1;
	registry_tree_order_log(srv);
	return grants_load(srv, err);
}
