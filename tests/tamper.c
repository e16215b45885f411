/*
 * tamper.c - a test-only tool that edits a stopped registry's LMDB file
 * directly, as an attacker with write access to the data dir would:
 *
 *   roster-tamper DIR DB keys              list the keys (hex)
 *   roster-tamper DIR DB get KEYHEX        print the value (hex)
 *   roster-tamper DIR DB put KEYHEX VALHEX set a value
 *   roster-tamper DIR DB del KEYHEX        delete a key
 *
 * Keys and values are hex so any byte can be written.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lmdb.h>

static unsigned char *unhex(const char *s, size_t *len)
{
	size_t n = strlen(s) / 2;
	unsigned char *out = malloc(n ? n : 1);

	for (size_t i = 0; i < n; i++) {
		unsigned v;

		if (sscanf(s + 2 * i, "%2x", &v) != 1) {
			free(out);
			return NULL;
		}
		out[i] = (unsigned char)v;
	}
	*len = n;
	return out;
}

static void print_hex(const MDB_val *v)
{
	for (size_t i = 0; i < v->mv_size; i++)
		printf("%02x", ((unsigned char *)v->mv_data)[i]);
	printf("\n");
}

int main(int argc, char **argv)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_val k = {0, NULL}, v = {0, NULL};
	MDB_cursor *cur;
	unsigned char *key = NULL, *val = NULL;
	int rc;

	if (argc < 4) {
		fprintf(stderr, "usage: roster-tamper DIR DB keys|get|put|del [KEYHEX [VALHEX]]\n");
		return 64;
	}
	if ((rc = mdb_env_create(&env)) || (rc = mdb_env_set_maxdbs(env, 16)) ||
	    (rc = mdb_env_open(env, argv[1], 0, 0600)) ||
	    (rc = mdb_txn_begin(env, NULL, 0, &txn)) ||
	    (rc = mdb_dbi_open(txn, argv[2], 0, &dbi))) {
		fprintf(stderr, "roster-tamper: %s\n", mdb_strerror(rc));
		return 1;
	}
	if ((argc > 4 && (k.mv_data = key = unhex(argv[4], &k.mv_size)) == NULL) ||
	    (argc > 5 && (v.mv_data = val = unhex(argv[5], &v.mv_size)) == NULL)) {
		fprintf(stderr, "roster-tamper: keys and values are hex\n");
		free(key);
		mdb_txn_abort(txn);
		mdb_env_close(env);
		return 64;
	}
	if (strcmp(argv[3], "keys") == 0) {
		mdb_cursor_open(txn, dbi, &cur);
		while ((rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) == 0)
			print_hex(&k);
		rc = rc == MDB_NOTFOUND ? 0 : rc;
	} else if (strcmp(argv[3], "get") == 0 && argc == 5) {
		if ((rc = mdb_get(txn, dbi, &k, &v)) == 0)
			print_hex(&v);
	} else if (strcmp(argv[3], "put") == 0 && argc == 6) {
		rc = mdb_put(txn, dbi, &k, &v, 0);
	} else if (strcmp(argv[3], "del") == 0 && argc == 5) {
		rc = mdb_del(txn, dbi, &k, NULL);
	} else {
		fprintf(stderr, "roster-tamper: unknown command\n");
		rc = -1;
	}
	if (rc == 0)
		rc = mdb_txn_commit(txn); /* frees txn either way */
	else
		mdb_txn_abort(txn);
	if (rc > 0)
		fprintf(stderr, "roster-tamper: %s\n", mdb_strerror(rc));
	mdb_env_close(env);
	free(key); /* the hex-decoded key and value, so leak checkers stay quiet */
	free(val);
	return rc < 0 ? 64 : rc > 0 ? 1 : 0;
}
