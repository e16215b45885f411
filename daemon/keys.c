/*
 * keys.c - the key hierarchy. A master key (KEK) read from a file that never
 * touches the database wraps every other key: the data key that seals records,
 * the index key that tags index entries, and the Ed25519 log-signing key. All
 * key material lives in sodium_malloc'd, locked memory and is wiped when freed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "rosterd.h"
#include "roster/log.h"

#define MASTER_KEY_ID 0

static uint8_t *secure_alloc(size_t n)
{
	uint8_t *p = sodium_malloc(n);

	if (p == NULL)
		fatalx("cannot allocate locked memory for a key: raise RLIMIT_MEMLOCK");
	return p;
}

int keys_master_create(const char *path, struct roster_err *err)
{
	uint8_t key[ROSTER_KEY_BYTES];
	char hex[2 * ROSTER_KEY_BYTES + 2];
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	ssize_t n;

	if (fd < 0)
		return roster_err_set(err, 0, "cannot_create", "cannot create master key %s: %s",
		                      path, strerror(errno));
	randombytes_buf(key, sizeof(key));
	roster_hex_encode(hex, key, sizeof(key));
	hex[2 * ROSTER_KEY_BYTES] = '\n';
	n = write(fd, hex, 2 * ROSTER_KEY_BYTES + 1);
	sodium_memzero(key, sizeof(key));
	sodium_memzero(hex, sizeof(hex));
	if (n != 2 * ROSTER_KEY_BYTES + 1 || fsync(fd) < 0) {
		close(fd);
		unlink(path);
		return roster_err_set(err, 0, "cannot_create", "cannot write master key %s: %s",
		                      path, strerror(errno));
	}
	close(fd);
	return 0;
}

int keys_master_load(struct keyring *kr, const char *path, struct roster_err *err)
{
	char buf[2 * ROSTER_KEY_BYTES + 2];
	struct stat sb;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW), rc = -1;

	if (fd < 0)
		return roster_err_set(err, 0, "master_key", "cannot open master key %s: %s", path,
		                      strerror(errno));
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		roster_err_set(err, 0, "master_key", "master key %s is not a regular file", path);
		goto done;
	}
	if (sb.st_mode & 077) {
		roster_err_set(err, 0, "master_key",
		               "master key %s has mode %04o: it must not be readable by group or "
		               "others (chmod 600 it)",
		               path, (unsigned)(sb.st_mode & 07777));
		goto done;
	}
	n = read(fd, buf, sizeof(buf));
	if (n < 2 * ROSTER_KEY_BYTES || (n == sizeof(buf) && buf[n - 1] != '\n')) {
		roster_err_set(err, 0, "master_key",
		               "master key %s must hold %d hex digits and a newline", path,
		               2 * ROSTER_KEY_BYTES);
		goto done;
	}
	buf[2 * ROSTER_KEY_BYTES] = '\0';
	kr->master = secure_alloc(ROSTER_KEY_BYTES);
	if (roster_hex_decode(kr->master, ROSTER_KEY_BYTES, buf) < 0) {
		roster_err_set(err, 0, "master_key", "master key %s is not %d hex digits", path,
		               2 * ROSTER_KEY_BYTES);
		goto done;
	}
	sodium_mprotect_readonly(kr->master);
	rc = 0;
done:
	sodium_memzero(buf, sizeof(buf));
	close(fd);
	return rc;
}

/* Reads a secret file that only its owner may read; *len excludes a final newline. */
static int read_secret(const char *path, char *buf, size_t cap, size_t *len, struct roster_err *err)
{
	struct stat sb;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW), rc = -1;

	if (fd < 0)
		return roster_err_set(err, 0, "master_key", "cannot open %s: %s", path,
		                      strerror(errno));
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode))
		roster_err_set(err, 0, "master_key", "%s is not a regular file", path);
	else if (sb.st_mode & 077)
		roster_err_set(err, 0, "master_key",
		               "%s has mode %04o: it must not be readable by group or others "
		               "(chmod 600 it)",
		               path, (unsigned)(sb.st_mode & 07777));
	else if ((n = read(fd, buf, cap)) <= 0 || (size_t)n == cap)
		roster_err_set(err, 0, "master_key", "%s is empty or longer than %zu bytes", path,
		               cap - 1);
	else {
		*len = (size_t)n - (buf[n - 1] == '\n');
		rc = 0;
	}
	close(fd);
	return rc;
}

int keys_master_derive(struct keyring *kr, const char *path, const struct kdf *kdf,
                       struct roster_err *err)
{
	char pass[1024];
	size_t len = 0;
	int rc;

	if (read_secret(path, pass, sizeof(pass), &len, err) < 0)
		return -1;
	if (len < 12) {
		sodium_memzero(pass, sizeof(pass));
		return roster_err_set(err, 0, "master_key",
		                      "the passphrase in %s is shorter than 12 bytes", path);
	}
	kr->master = secure_alloc(ROSTER_KEY_BYTES);
	rc = crypto_pwhash(kr->master, ROSTER_KEY_BYTES, pass, len, kdf->salt, kdf->ops,
	                   (size_t)kdf->mem, crypto_pwhash_ALG_ARGON2ID13);
	sodium_memzero(pass, sizeof(pass));
	if (rc != 0)
		return roster_err_set(err, 0, "kdf", "Argon2id failed (out of memory?)");
	sodium_mprotect_readonly(kr->master);
	return 0;
}

int keys_wrap_put(struct keyring *kr, struct store *st, MDB_txn *txn, const char *name,
                  const uint8_t *key, size_t len, struct roster_err *err)
{
	struct roster_slot slot = {"keys", name, 1};
	MDB_val k = {strlen(name), (void *)name}, v;
	uint8_t *env;
	size_t envlen;
	int rc;

	roster_envelope_seal(kr->master, MASTER_KEY_ID, &slot, key, len, &env, &envlen);
	v.mv_size = envlen;
	v.mv_data = env;
	rc = store_put(st, txn, st->keys, &k, &v, MDB_NOOVERWRITE);
	free(env);
	if (rc == 0) { /* when it was made, for `key status` */
		char meta_name[48], now[21];
		MDB_val mk = {0, meta_name}, mv = {20, now};

		snprintf(meta_name, sizeof(meta_name), "created:%s", name);
		mk.mv_size = strlen(meta_name);
		roster_time_rfc3339(now, time(NULL));
		rc = store_put(st, txn, st->meta, &mk, &mv, 0);
	}
	return rc ? store_mdb_err(err, rc, "storing a wrapped key") : 0;
}

static int unwrap_get(struct keyring *kr, MDB_txn *txn, MDB_dbi dbi, const char *name, uint8_t *out,
                      size_t len, struct roster_err *err)
{
	struct roster_slot slot = {"keys", name, 1};
	MDB_val k = {strlen(name), (void *)name}, v;
	uint8_t *pt;
	size_t ptlen;
	int rc = mdb_get(txn, dbi, &k, &v);

	if (rc)
		return store_mdb_err(err, rc, name);
	if (roster_envelope_open(kr->master, MASTER_KEY_ID, &slot, v.mv_data, v.mv_size, &pt,
	                         &ptlen, err) < 0)
		return roster_err_set(err, 0, "wrong_master",
		                      "the master key does not open this registry's key '%s': is "
		                      "master_key the file made when this registry was created?",
		                      name);
	if (ptlen != len) {
		sodium_memzero(pt, ptlen);
		free(pt);
		return roster_err_set(err, 0, "keys", "key '%s' has the wrong length", name);
	}
	memcpy(out, pt, len);
	sodium_memzero(pt, ptlen);
	free(pt);
	return 0;
}

static void keyring_alloc(struct keyring *kr)
{
	kr->data = secure_alloc(ROSTER_KEY_BYTES);
	kr->index = secure_alloc(ROSTER_KEY_BYTES);
	kr->sign_sk = secure_alloc(crypto_sign_SECRETKEYBYTES);
}

static void keyring_seal(struct keyring *kr)
{
	sodium_mprotect_readonly(kr->data);
	sodium_mprotect_readonly(kr->index);
	sodium_mprotect_readonly(kr->sign_sk);
}

int keys_generate(struct keyring *kr, struct store *st, MDB_txn *txn, struct roster_err *err)
{
	uint8_t id[4];
	MDB_val k = {8, "data_key"}, v = {4, id};
	int rc;

	keyring_alloc(kr);
	kr->data_id = kr->index_id = kr->sign_id = 1;
	randombytes_buf(kr->data, ROSTER_KEY_BYTES);
	randombytes_buf(kr->index, ROSTER_KEY_BYTES);
	crypto_sign_keypair(kr->sign_pk, kr->sign_sk);
	if (keys_wrap_put(kr, st, txn, "data:1", kr->data, ROSTER_KEY_BYTES, err) < 0 ||
	    keys_wrap_put(kr, st, txn, "index:1", kr->index, ROSTER_KEY_BYTES, err) < 0 ||
	    keys_wrap_put(kr, st, txn, "signing:1", kr->sign_sk, crypto_sign_SECRETKEYBYTES, err) <
	        0)
		return -1;
	roster_be32_put(id, kr->data_id);
	if ((rc = store_put(st, txn, st->meta, &k, &v, 0)) != 0)
		return store_mdb_err(err, rc, "storing the active key id");
	keyring_seal(kr);
	return 0;
}

/* Every other "data:N" in the keys database is a key still being retired. */
static int unwrap_old(struct keyring *kr, MDB_txn *txn, MDB_dbi dbi, struct roster_err *err)
{
	MDB_cursor *cur;
	MDB_val k = {5, "data:"}, v;
	int rc = mdb_cursor_open(txn, dbi, &cur);

	for (rc = rc ? rc : mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	     rc == 0 && k.mv_size > 5 && memcmp(k.mv_data, "data:", 5) == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		char name[32];
		uint32_t id;

		snprintf(name, sizeof(name), "%.*s", (int)k.mv_size, (char *)k.mv_data);
		id = (uint32_t)strtoul(name + 5, NULL, 10);
		if (id == kr->data_id)
			continue;
		if (kr->nold == sizeof(kr->old) / sizeof(kr->old[0])) {
			mdb_cursor_close(cur);
			return roster_err_set(err, 0, "keys", "too many data keys being retired");
		}
		kr->old[kr->nold].id = id;
		kr->old[kr->nold].key = secure_alloc(ROSTER_KEY_BYTES);
		if (unwrap_get(kr, txn, dbi, name, kr->old[kr->nold].key, ROSTER_KEY_BYTES, err) <
		    0) {
			mdb_cursor_close(cur);
			return -1;
		}
		sodium_mprotect_readonly(kr->old[kr->nold++].key);
	}
	mdb_cursor_close(cur);
	return rc == 0 || rc == MDB_NOTFOUND ? 0 : store_mdb_err(err, rc, "reading data keys");
}

const uint8_t *keys_data(const struct keyring *kr, uint32_t id)
{
	if (id == kr->data_id)
		return kr->data;
	for (size_t i = 0; i < kr->nold; i++)
		if (kr->old[i].id == id)
			return kr->old[i].key;
	return NULL;
}

void keys_install(struct keyring *kr, uint32_t id, uint8_t *key)
{
	if (kr->nold < sizeof(kr->old) / sizeof(kr->old[0])) {
		kr->old[kr->nold].id = kr->data_id;
		kr->old[kr->nold++].key = kr->data;
	} else {
		sodium_free(kr->data); /* cannot happen: rotation waits for retirement */
	}
	sodium_mprotect_readonly(key);
	kr->data = key;
	kr->data_id = id;
}

void keys_drop_old(struct keyring *kr)
{
	for (size_t i = 0; i < kr->nold; i++)
		sodium_free(kr->old[i].key);
	kr->nold = 0;
}

static uint8_t *key_copy(const uint8_t *key)
{
	uint8_t *p = secure_alloc(ROSTER_KEY_BYTES);

	memcpy(p, key, ROSTER_KEY_BYTES);
	sodium_mprotect_readonly(p);
	return p;
}

void keys_view_copy(struct keyring *view, const struct keyring *kr)
{
	sodium_free(view->data);
	sodium_free(view->index);
	keys_drop_old(view);
	view->data = key_copy(kr->data);
	view->data_id = kr->data_id;
	view->index = key_copy(kr->index);
	view->index_id = kr->index_id;
	for (size_t i = 0; i < kr->nold; i++) {
		view->old[i].id = kr->old[i].id;
		view->old[i].key = key_copy(kr->old[i].key);
	}
	view->nold = kr->nold;
}

/* The index key an interrupted rotation was building or retiring (meta names its
 * id), so the walk resumes where it stopped; *out stays NULL when none is. */
static int unwrap_index_other(struct keyring *kr, MDB_txn *txn, MDB_dbi keys_dbi, MDB_dbi meta_dbi,
                              const char *meta_name, uint8_t **out, uint32_t *id,
                              struct roster_err *err)
{
	MDB_val k = {strlen(meta_name), (void *)meta_name}, v;
	char name[32];

	if (mdb_get(txn, meta_dbi, &k, &v) != 0 || v.mv_size != 4)
		return 0;
	*id = roster_be32_get(v.mv_data);
	snprintf(name, sizeof(name), "index:%u", *id);
	*out = secure_alloc(ROSTER_KEY_BYTES);
	if (unwrap_get(kr, txn, keys_dbi, name, *out, ROSTER_KEY_BYTES, err) < 0)
		return -1;
	sodium_mprotect_readonly(*out);
	return 0;
}

uint32_t keys_meta_id(MDB_txn *txn, MDB_dbi meta, const char *name)
{
	MDB_val k = {strlen(name), (void *)name}, v;

	/* Registries made before a rotation of that kind have key 1. */
	return mdb_get(txn, meta, &k, &v) == 0 && v.mv_size == 4 ? roster_be32_get(v.mv_data) : 1;
}

int keys_unwrap(struct keyring *kr, MDB_txn *txn, MDB_dbi keys_dbi, MDB_dbi meta_dbi,
                struct roster_err *err)
{
	MDB_val k = {8, "data_key"}, v;
	char name[32], iname[32], sname[32];
	int rc;

	if ((rc = mdb_get(txn, meta_dbi, &k, &v)) != 0 || v.mv_size != 4)
		return rc ? store_mdb_err(err, rc, "reading the active key id")
		          : roster_err_set(err, 0, "keys", "the active key id is damaged");
	keyring_alloc(kr);
	kr->data_id = roster_be32_get(v.mv_data);
	kr->index_id = keys_meta_id(txn, meta_dbi, "index_key");
	kr->sign_id = keys_meta_id(txn, meta_dbi, "signing_key");
	snprintf(name, sizeof(name), "data:%u", kr->data_id);
	snprintf(iname, sizeof(iname), "index:%u", kr->index_id);
	snprintf(sname, sizeof(sname), "signing:%u", kr->sign_id);
	if (unwrap_get(kr, txn, keys_dbi, name, kr->data, ROSTER_KEY_BYTES, err) < 0 ||
	    unwrap_get(kr, txn, keys_dbi, iname, kr->index, ROSTER_KEY_BYTES, err) < 0 ||
	    unwrap_get(kr, txn, keys_dbi, sname, kr->sign_sk, crypto_sign_SECRETKEYBYTES, err) < 0)
		return -1;
	crypto_sign_ed25519_sk_to_pk(kr->sign_pk, kr->sign_sk);
	keyring_seal(kr);
	if (unwrap_index_other(kr, txn, keys_dbi, meta_dbi, "index_next", &kr->index_next,
	                       &kr->index_next_id, err) < 0 ||
	    unwrap_index_other(kr, txn, keys_dbi, meta_dbi, "index_old", &kr->index_old,
	                       &kr->index_old_id, err) < 0)
		return -1;
	return unwrap_old(kr, txn, keys_dbi, err);
}

void keys_tag(const struct keyring *kr, const char *kind, const char *value, uint8_t out[16])
{
	keys_tag_with(kr->index, kind, value, out);
}

void keys_tag_with(const uint8_t *index_key, const char *kind, const char *value, uint8_t out[16])
{
	crypto_generichash_state st;

	crypto_generichash_init(&st, index_key, ROSTER_KEY_BYTES, 16);
	crypto_generichash_update(&st, (const uint8_t *)kind, strlen(kind) + 1);
	crypto_generichash_update(&st, (const uint8_t *)value, strlen(value));
	crypto_generichash_final(&st, out, 16);
}

void keys_free(struct keyring *kr)
{
	/* sodium_free wipes before it unmaps. */
	sodium_free(kr->master);
	sodium_free(kr->data);
	sodium_free(kr->index);
	sodium_free(kr->index_next);
	sodium_free(kr->index_old);
	sodium_free(kr->sign_sk);
	keys_drop_old(kr);
	memset(kr, 0, sizeof(*kr));
}
