/*
 * h-admin.c - administrators' routes: status, role grants stored in the
 * database beside the config's bootstrap table, and online backups. None of
 * them reads personal data.
 */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rosterd.h"

static int role_bit(const char *name)
{
	for (int i = 0; i < ROLE_COUNT; i++)
		if (strcmp(name, role_name(1 << i)) == 0)
			return 1 << i;
	return 0;
}

static json_t *role_names(int bits)
{
	json_t *a = json_array();

	for (int i = 0; i < ROLE_COUNT; i++)
		if (bits & (1 << i))
			json_array_append_new(a, json_string(role_name(1 << i)));
	return a;
}

/* ---- status ---- */

/* A tree by level: whether it is being put in completion order, and how far. */
static void status_conversion(struct wtxn *w, json_t *format)
{
	uint64_t n = w->log_size, nodes = 2 * n - (uint64_t)__builtin_popcountll(n);
	MDB_stat ms;

	if (mdb_stat(w->txn, w->srv->store.merkle, &ms) != 0)
		ms.ms_entries = 0;
	json_object_set_new(format, "converting", json_boolean(writer_converting(w->srv)));
	json_object_set_new(format, "tree_copied", json_integer((json_int_t)ms.ms_entries));
	json_object_set_new(format, "tree_nodes", json_integer((json_int_t)nodes));
}

static int status_apply(struct wtxn *w, struct op *op)
{
	struct store *st = &w->srv->store;
	MDB_stat sp, sd, stv, envst;
	struct journal_stats js;
	MDB_envinfo info;
	uint64_t cp_size;
	uint32_t level = 0; /* meta "requires": absent is 0 */
	json_t *keys;
	MDB_val v;

	mdb_stat(w->txn, st->persons, &sp);
	mdb_stat(w->txn, st->documents, &sd);
	mdb_stat(w->txn, st->travel, &stv);
	mdb_env_info(st->env, &info);
	mdb_env_stat(st->env, &envst);
	if (checkpoint_latest(w->txn, st->checkpoints, &cp_size, NULL, &op->err) < 0 ||
	    (keys = keys_status(w, &op->err)) == NULL)
		return -1;
	journal_stats(st, &js); /* apply runs on the writer's thread, which owns the journal */
	if (mdb_get(w->txn, st->meta, &(MDB_val){8, "requires"}, &v) == 0 && v.mv_size == 4)
		level = roster_be32_get(v.mv_data);
	op->reply = json_pack(
	    "{s:s, s:s, s:I, s:{s:I, s:I, s:I}, s:I, s:I, s:o, s:{s:I, s:I}, "
	    "s:{s:I, s:I, s:I}, s:{s:I, s:s}}",
	    "version", ROSTER_VERSION, "origin", w->srv->cfg.origin, "uptime",
	    (json_int_t)(time(NULL) - w->srv->started), "records", "persons",
	    (json_int_t)sp.ms_entries, "documents", (json_int_t)sd.ms_entries, "travel",
	    (json_int_t)stv.ms_entries, "log_size", (json_int_t)w->log_size, "last_checkpoint",
	    (json_int_t)cp_size, "keys", keys, "map", "size", (json_int_t)info.me_mapsize, "used",
	    (json_int_t)((info.me_last_pgno + 1) * envst.ms_psize), "journal", "bytes",
	    (json_int_t)js.bytes, "records", (json_int_t)js.records, "checkpoints",
	    (json_int_t)js.checkpoints, "format", "requires", (json_int_t)level, "tree_order",
	    st->tree_order == TREE_COMPLETION ? "completion" : "levels");
	if (op->reply && st->tree_order == TREE_LEVELS)
		status_conversion(w, json_object_get(op->reply, "format"));
	return 0;
}

int h_status(struct server *srv, struct op *op, const char *id)
{
	(void)srv;
	(void)id;
	op->apply = status_apply;
	return 0;
}

/* ---- roles ---- */

int grants_load(struct server *srv, struct roster_err *err)
{
	MDB_txn *txn;
	MDB_cursor *cur;
	MDB_val k, v;
	int rc;

	if ((rc = mdb_txn_begin(srv->store.env, NULL, MDB_RDONLY, &txn)) != 0 ||
	    (rc = mdb_cursor_open(txn, srv->store.roles, &cur)) != 0)
		return store_mdb_err(err, rc, "reading role grants");
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (k.mv_size != 4 || v.mv_size != 1)
			continue;
		srv->grants =
		    roster_xrealloc(srv->grants, (srv->ngrants + 1) * sizeof(*srv->grants));
		srv->grants[srv->ngrants].uid = roster_be32_get(k.mv_data);
		srv->grants[srv->ngrants++].roles = *(uint8_t *)v.mv_data;
	}
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	return 0;
}

/* A grant's role bits as the log names them: the SHA-256 of the stored byte. */
static void grant_digest(uint8_t bits, char hex[2 * ROSTER_HASH_BYTES + 1])
{
	uint8_t digest[ROSTER_HASH_BYTES];

	roster_sha256(digest, &bits, 1);
	roster_hex_encode(hex, digest, sizeof(digest));
}

int grants_each(MDB_txn *txn, MDB_dbi roles, grant_fn fn, void *arg, struct roster_err *err)
{
	MDB_cursor *cur;
	MDB_val k, v;
	int rc = mdb_cursor_open(txn, roles, &cur), stop = 0;

	if (rc)
		return store_mdb_err(err, rc, "reading role grants");
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0 && !stop;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		char id[24], hex[2 * ROSTER_HASH_BYTES + 1];

		if (k.mv_size != 4 || v.mv_size != 1) {
			rc = MDB_CORRUPTED;
			break;
		}
		snprintf(id, sizeof(id), "uid:%u", (unsigned)roster_be32_get(k.mv_data));
		grant_digest(*(uint8_t *)v.mv_data, hex);
		stop = fn(arg, id, hex, err);
	}
	mdb_cursor_close(cur);
	if (stop)
		return stop;
	return rc == 0 || rc == MDB_NOTFOUND ? 0 : store_mdb_err(err, rc, "reading role grants");
}

static int grant_record(void *arg, const char *id, const char *object, struct roster_err *err)
{
	return audit_own_entry(arg, "role.record", id, object, err);
}

/* Registries before 0.5 logged grants without naming whom: names each stored
 * grant once (entries by rosterd), so `audit verify --deep` can match them. */
int grants_audit_all(struct wtxn *w, struct roster_err *err)
{
	return grants_each(w->txn, w->srv->store.roles, grant_record, w, err);
}

int grants_of(const struct server *srv, uid_t uid)
{
	for (size_t i = 0; i < srv->ngrants; i++)
		if (srv->grants[i].uid == uid)
			return srv->grants[i].roles;
	return 0;
}

void grants_apply(struct server *srv, const struct op *op)
{
	for (size_t i = 0; i < srv->ngrants; i++)
		if (srv->grants[i].uid == op->grant_uid) {
			srv->grants[i].roles = op->grant_after;
			return;
		}
	srv->grants = roster_xrealloc(srv->grants, (srv->ngrants + 1) * sizeof(*srv->grants));
	srv->grants[srv->ngrants].uid = op->grant_uid;
	srv->grants[srv->ngrants++].roles = op->grant_after;
}

static json_t *members_json(const struct role_members *m)
{
	json_t *a = json_array();

	for (size_t i = 0; i < m->n_uids; i++)
		json_array_append_new(a, json_sprintf("uid:%u", (unsigned)m->uids[i]));
	for (size_t i = 0; i < m->n_gids; i++)
		json_array_append_new(a, json_sprintf("gid:%u", (unsigned)m->gids[i]));
	return a;
}

static int role_list_apply(struct wtxn *w, struct op *op)
{
	json_t *config = json_object(), *grants = json_array();
	MDB_cursor *cur;
	MDB_val k, v;
	int rc;

	for (int i = 0; i < ROLE_COUNT; i++)
		json_object_set_new(config, role_name(1 << i),
		                    json_incref(json_object_get(op->body, role_name(1 << i))));
	if ((rc = mdb_cursor_open(w->txn, w->srv->store.roles, &cur)) != 0) {
		json_decref(config);
		json_decref(grants);
		return store_mdb_err(&op->err, rc, "reading role grants");
	}
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		uid_t uid = roster_be32_get(k.mv_data);
		struct passwd *pw = getpwuid(uid);

		if (*(uint8_t *)v.mv_data)
			json_array_append_new(grants,
			                      json_pack("{s:I, s:s, s:o}", "uid", (json_int_t)uid,
			                                "user", pw ? pw->pw_name : "", "roles",
			                                role_names(*(uint8_t *)v.mv_data)));
	}
	mdb_cursor_close(cur);
	op->reply = json_pack("{s:o, s:o}", "config", config, "grants", grants);
	return 0;
}

int h_role_list(struct server *srv, struct op *op, const char *id)
{
	(void)id;
	/* The config's table is the main thread's: hand a copy to the writer. */
	op->body = json_object();
	for (int i = 0; i < ROLE_COUNT; i++)
		json_object_set_new(op->body, role_name(1 << i),
		                    members_json(&srv->cfg.roles.members[i]));
	op->apply = role_list_apply;
	return 0;
}

/* Whether a stored grant other than `except` holds the admin role. */
static int other_admin(struct wtxn *w, uid_t except)
{
	MDB_cursor *cur;
	MDB_val k, v;
	int rc, found = 0;

	if (mdb_cursor_open(w->txn, w->srv->store.roles, &cur) != 0)
		return 1; /* cannot tell: do not block on it */
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0 && !found;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT))
		found =
		    roster_be32_get(k.mv_data) != except && (*(uint8_t *)v.mv_data & ROLE_ADMIN);
	mdb_cursor_close(cur);
	return found;
}

static int grant_apply(struct wtxn *w, struct op *op)
{
	uint8_t key[4], bits = 0;
	MDB_val k = {4, key}, v;
	int rc;

	roster_be32_put(key, op->grant_uid);
	if (mdb_get(w->txn, w->srv->store.roles, &k, &v) == 0 && v.mv_size == 1)
		bits = *(uint8_t *)v.mv_data;
	if (!op->grant_on && !(bits & op->grant_bit))
		return roster_err_set(
		    &op->err, 409, "not_granted", "uid %u holds no stored %s grant%s",
		    (unsigned)op->grant_uid, role_name(op->grant_bit),
		    op->config_admin & 2 ? ": it comes from rosterd.conf, edit that" : "");
	if (!op->grant_on && op->grant_bit == ROLE_ADMIN && !(op->config_admin & 1) &&
	    !other_admin(w, op->grant_uid))
		return roster_err_set(&op->err, 409, "last_admin",
		                      "uid %u is the last admin: grant admin to someone else first",
		                      (unsigned)op->grant_uid);
	bits = (uint8_t)(op->grant_on ? bits | op->grant_bit : bits & ~op->grant_bit);
	v.mv_size = 1;
	v.mv_data = &bits;
	if ((rc = store_put(&w->srv->store, w->txn, w->srv->store.roles, &k, &v, 0)) != 0)
		return rc == MDB_MAP_FULL ? ROSTER_RETRY
		                          : (store_mdb_err(&op->err, rc, "grant"), ROSTER_FATAL);
	op->grant_after = bits;
	grant_digest(bits, op->object);
	op->reply =
	    json_pack("{s:I, s:o}", "uid", (json_int_t)op->grant_uid, "roles", role_names(bits));
	return 0;
}

static int grant_prepare(struct server *srv, struct op *op, int on)
{
	const struct role_members *adm;
	const char *user, *role;
	struct passwd *pw;
	char *end;

	if ((op->body = http_body_json(op->req, &op->err)) == NULL)
		return -1;
	user = json_string_value(json_object_get(op->body, "user"));
	role = json_string_value(json_object_get(op->body, "role"));
	if (user == NULL || role == NULL || json_object_size(op->body) != 2)
		return roster_err_set(&op->err, 422, "invalid_field",
		                      "send {\"user\": NAME or \"uid:N\", \"role\": ROLE}");
	if ((op->grant_bit = role_bit(role)) == 0)
		return roster_err_set(
		    &op->err, 422, "invalid_field",
		    "unknown role '%s': roles are clerk, approver, auditor, admin", role);
	if (strncmp(user, "uid:", 4) == 0) {
		unsigned long n = strtoul(user + 4, &end, 10);

		if (user[4] == '\0' || *end || n > 0xfffffffeUL)
			return roster_err_set(&op->err, 422, "invalid_field", "'%s' is not uid:N",
			                      user);
		op->grant_uid = (uid_t)n;
	} else if ((pw = getpwnam(user)) != NULL) {
		op->grant_uid = pw->pw_uid;
	} else {
		return roster_err_set(&op->err, 422, "invalid_field",
		                      "no local account '%s': name an account or uid:N", user);
	}
	op->grant_on = on;
	snprintf(op->target, sizeof(op->target), "uid:%u", (unsigned)op->grant_uid);
	/* bit 1: the config names some admin; bit 2: it names this uid for this role. */
	adm = &srv->cfg.roles.members[__builtin_ctz(ROLE_ADMIN)];
	op->config_admin = (adm->n_uids || adm->n_gids) ? 1 : 0;
	for (int i = 0; i < ROLE_COUNT; i++)
		if ((1 << i) == op->grant_bit)
			for (size_t j = 0; j < srv->cfg.roles.members[i].n_uids; j++)
				if (srv->cfg.roles.members[i].uids[j] == op->grant_uid)
					op->config_admin |= 2;
	op->apply = grant_apply;
	return 0;
}

int h_role_grant(struct server *srv, struct op *op, const char *id)
{
	(void)id;
	return grant_prepare(srv, op, 1);
}

int h_role_revoke(struct server *srv, struct op *op, const char *id)
{
	(void)id;
	return grant_prepare(srv, op, 0);
}

/* ---- backup ---- */

static int backup_apply(struct wtxn *w, struct op *op)
{
	(void)w;
	op->backup = 1; /* the copy starts once this entry is committed */
	return 0;
}

int h_backup(struct server *srv, struct op *op, const char *id)
{
	const char *path;
	char file[4200];
	struct stat sb;

	(void)id;
	if ((op->body = http_body_json(op->req, &op->err)) == NULL)
		return -1;
	path = json_string_value(json_object_get(op->body, "path"));
	if (path == NULL || path[0] != '/' || json_object_size(op->body) != 1 ||
	    strlen(path) > 4000)
		return roster_err_set(&op->err, 422, "invalid_field",
		                      "send {\"path\": an absolute directory path}");
	if (srv->backup_estimate)
		return roster_err_set(&op->err, 409, "busy",
		                      "a backup is running: wait for it to finish");
	snprintf(file, sizeof(file), "%s/data.mdb", path);
	if (stat(file, &sb) == 0)
		return roster_err_set(&op->err, 409, "exists",
		                      "%s already holds a database: choose an empty directory",
		                      path);
	op->apply = backup_apply;
	return 0;
}

/* mdb_env_copyfd2 gives no progress, so it writes into a pipe and the backup
 * thread moves the bytes to the file, counting them for GET /v1/progress. */
struct copy_job {
	MDB_env *env;
	int fd; /* the pipe's write end, closed when the copy ends */
	int rc;
};

static void *copy_main(void *arg)
{
	struct copy_job *job = arg;

	job->rc = mdb_env_copyfd2(job->env, job->fd, MDB_CP_COMPACT);
	close(job->fd);
	return NULL;
}

/* Copies the environment into fd, counting *bytes; returns 0, an errno value or an
 * LMDB code. */
static int backup_copy(struct server *srv, int fd, uint64_t *bytes)
{
	struct copy_job job = {.env = srv->store.env};
	char buf[1 << 16];
	MDB_envinfo info;
	MDB_stat st;
	pthread_t t;
	ssize_t n;
	int p[2], rc = 0;

	if (pipe2(p, O_CLOEXEC) < 0)
		return errno;
	job.fd = p[1];
	/* The map is not resized while the backup reads it (nor while its size is read). */
	pthread_rwlock_rdlock(&srv->store.resize);
	mdb_env_info(srv->store.env, &info);
	mdb_env_stat(srv->store.env, &st);
	srv->backup_bytes = 0;
	srv->backup_estimate = (uint64_t)(info.me_last_pgno + 1) * st.ms_psize;
	if ((rc = pthread_create(&t, NULL, copy_main, &job)) != 0) {
		close(p[1]);
		goto done;
	}
	while ((n = read(p[0], buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || roster_write_all(fd, buf, (size_t)n) < 0) {
			rc = errno; /* closing the pipe below stops the copy (EPIPE) */
			break;
		}
		*bytes += (uint64_t)n;
		srv->backup_bytes = *bytes;
	}
	close(p[0]);
	p[0] = -1;
	pthread_join(t, NULL);
	if (rc == 0)
		rc = job.rc;
done:
	pthread_rwlock_unlock(&srv->store.resize);
	if (p[0] >= 0)
		close(p[0]);
	srv->backup_estimate = 0;
	return rc;
}

static void *backup_main(void *arg)
{
	struct op *op = arg;
	struct server *srv = op->srv;
	const char *path = json_string_value(json_object_get(op->body, "path"));
	uint64_t bytes = 0;
	int rc = 0;

	if (mkdir(path, 0700) < 0 && errno != EEXIST)
		rc = errno;
	if (rc == 0) {
		/* Our own descriptor, so the copy is 0600 from its first byte. */
		char *file = roster_xasprintf("%s/data.mdb", path);
		int fd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

		if (fd < 0) {
			rc = errno;
		} else {
			rc = backup_copy(srv, fd, &bytes);
			if (rc == 0 && fsync(fd) < 0)
				rc = errno;
			close(fd);
			if (rc)
				unlink(file);
		}
		free(file);
	}
	if (rc) {
		roster_err_set(&op->err, 500, "backup_failed", "the backup to %s failed: %s", path,
		               rc > 0 ? strerror(rc) : mdb_strerror(rc));
		op->status = 500;
	} else {
		op->reply = json_pack("{s:s, s:I, s:I}", "path", path, "audit_seq",
		                      (json_int_t)op->seq, "bytes", (json_int_t)bytes);
	}
	writer_hand_back(srv, op);
	return NULL;
}

/* Main thread: the backup's audit entry is durable; copy without blocking anyone. */
void backup_start(struct server *srv, struct op *op)
{
	pthread_t t;

	op->backup = 0;
	op->srv = srv;
	if (pthread_create(&t, NULL, backup_main, op) != 0) {
		roster_err_set(&op->err, 500, "backup_failed", "cannot start the backup thread");
		op->status = 500;
		server_reply_done(srv, op);
		return;
	}
	pthread_detach(t);
}
