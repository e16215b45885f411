/*
 * audit-bench.c - the audit log at scale: builds a log of N entries (default
 * 10 million) with the daemon's own append path (entry, hash chain, Merkle
 * tree), then times what an auditor and the daemon do with it: inclusion and
 * consistency proofs at that size, signing a checkpoint, and the verifier's
 * full pass over every entry (canonical form, chain, Merkle root).
 *
 *   audit-bench [-n ENTRIES] [-d DIR]        (DIR is kept if given)
 *
 * Building uses MDB_NOSYNC and one transaction per 10,000 entries: it prepares
 * data and is not a measure of the daemon's durable write path.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "rosterd.h"
#include "roster/verify.h"
#include "roster/log.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void check(int rc, const struct roster_err *err, const char *what)
{
	if (rc != 0)
		fatalx("%s: %s", what, err->message);
}

static void build(struct server *srv, uint64_t n)
{
	static const char *const actions[] = {"person.create", "person.read", "document.custody",
	                                      "person.list"};
	struct roster_err err;
	struct wtxn w = {.srv = srv, .keys = &srv->keys};
	double t0 = now();

	while (w.log_size < n) {
		check(mdb_txn_begin(srv->store.env, NULL, 0, &w.txn), &err, "txn");
		roster_time_rfc3339(w.now, time(NULL));
		for (int i = 0; i < 10000 && w.log_size < n; i++) {
			struct op op = {.status = 200, .outcome = OUT_OK};
			uint8_t rnd[32];

			op.peer.uid = 2001;
			snprintf(op.peer.user, sizeof(op.peer.user), "clerk%d", i % 7);
			op.action = actions[i % 4];
			roster_id_new(op.target, sizeof(op.target), "per_");
			randombytes_buf(rnd, sizeof(rnd));
			if (i % 4 != 1)
				roster_hex_encode(op.object, rnd, sizeof(rnd));
			int rc = audit_append(&w, &op, &err);

			if (rc == ROSTER_RETRY)
				fatalx("map full: raise the map size");
			check(rc, &err, "append");
		}
		check(mdb_txn_commit(w.txn), &err, "commit");
		if (w.log_size % 1000000 == 0)
			fprintf(stderr, "  %llu entries (%.0f/s)\n", (unsigned long long)w.log_size,
			        (double)w.log_size / (now() - t0));
	}
	printf("build:        %llu entries in %.1f s (%.0f entries/s, no fsync)\n",
	       (unsigned long long)n, now() - t0, (double)n / (now() - t0));
}

static void proofs(struct server *srv, uint64_t n)
{
	struct roster_err err;
	MDB_txn *txn;
	double t0, incl, cons;
	const int reps = 20000;
	size_t hashes = 0;

	check(mdb_txn_begin(srv->store.env, NULL, MDB_RDONLY, &txn), &err, "txn");
	t0 = now();
	for (int i = 0; i < reps; i++) {
		json_t *p = json_array();

		check(
		    tree_inclusion(txn, &srv->store, randombytes_uniform((uint32_t)n), n, p, &err),
		    &err, "inclusion");
		hashes += json_array_size(p);
		json_decref(p);
	}
	incl = (now() - t0) / reps;
	t0 = now();
	for (int i = 0; i < reps; i++) {
		json_t *p = json_array();

		check(tree_consistency(txn, &srv->store, 1 + randombytes_uniform((uint32_t)n - 1),
		                       n, p, &err),
		      &err, "consistency");
		json_decref(p);
	}
	cons = (now() - t0) / reps;
	mdb_txn_abort(txn);
	printf("inclusion:    %.1f us per proof at size %llu (%.1f hashes)\n", incl * 1e6,
	       (unsigned long long)n, (double)hashes / reps);
	printf("consistency:  %.1f us per proof at size %llu\n", cons * 1e6, (unsigned long long)n);
}

static void sign(struct server *srv, uint64_t n)
{
	struct roster_err err;
	struct wtxn w = {.srv = srv, .keys = &srv->keys, .log_size = n};
	const int reps = 2000;
	double t0;

	check(mdb_txn_begin(srv->store.env, NULL, 0, &w.txn), &err, "txn");
	t0 = now();
	for (int i = 0; i < reps; i++) {
		char *note;

		check(checkpoint_sign(&w, NULL, &note, &err), &err, "sign");
		free(note);
	}
	printf("checkpoint:   %.1f us to compute the root and sign at size %llu\n",
	       (now() - t0) / reps * 1e6, (unsigned long long)n);
	mdb_txn_abort(w.txn);
}

/* Every entry through the verifier, read straight from LMDB, its parses on jobs
 * threads (verifier_entries) a page of 65,536 entries at a time. */
static void verify(struct server *srv, uint64_t n, int jobs)
{
	enum { PAGE = 65536 };
	struct verifier_line *lines = calloc(PAGE, sizeof(*lines));
	struct roster_err err;
	struct verifier v;
	MDB_txn *txn;
	MDB_cursor *cur;
	MDB_val k, val;
	uint8_t root[32];
	double t0 = now();
	size_t m;
	int rc;

	if (lines == NULL)
		fatalx("out of memory");
	check(mdb_txn_begin(srv->store.env, NULL, MDB_RDONLY, &txn), &err, "txn");
	check(tree_root(txn, &srv->store, n, root, &err), &err, "root");
	verifier_init(&v, 0);
	verifier_expect(&v, n, root, "signed checkpoint");
	mdb_cursor_open(txn, srv->store.audit, &cur);
	/* A read-only transaction's values stay put until it ends. */
	rc = mdb_cursor_get(cur, &k, &val, MDB_FIRST);
	while (rc == 0) {
		for (m = 0; rc == 0 && m < PAGE; rc = mdb_cursor_get(cur, &k, &val, MDB_NEXT))
			lines[m++] = (struct verifier_line){val.mv_data, val.mv_size};
		if (verifier_entries(&v, lines, m, m, jobs) < 0)
			fatalx("verify: %s", v.failure);
	}
	if (verifier_finish(&v) < 0)
		fatalx("verify: %s", v.failure);
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	printf("verify:       %llu entries in %.1f s (%.0f entries/s: canonical form, chain, "
	       "Merkle root; %d thread%s parsing)\n",
	       (unsigned long long)n, now() - t0, (double)n / (now() - t0), jobs,
	       jobs > 1 ? "s" : "");
	verifier_free(&v);
	free(lines);
}

int main(int argc, char **argv)
{
	struct server srv = {0};
	struct roster_err err;
	char dir[4096] = "", key[4200], cmd[4300];
	uint64_t n = 10000000;
	int ch, keep = 0;
	MDB_txn *txn;
	struct stat sb;

	log_init("audit-bench", LOG_LEVEL_WARN);
	while ((ch = getopt(argc, argv, "n:d:")) != -1) {
		if (ch == 'n')
			n = strtoull(optarg, NULL, 10);
		else if (ch == 'd')
			snprintf(dir, sizeof(dir), "%s", optarg), keep = 1;
		else
			fatalx("usage: audit-bench [-n ENTRIES] [-d DIR]");
	}
	if (sodium_init() < 0 || n < 2)
		fatalx("cannot start");
	if (!dir[0] && mkdtemp(strcpy(dir, "/tmp/audit-bench.XXXXXX")) == NULL)
		fatal("mkdtemp");
	mkdir(dir, 0700);
	snprintf(key, sizeof(key), "%s/master.key", dir);
	srv.cfg.origin = "bench.example/roster";
	if (access(key, F_OK) < 0)
		check(keys_master_create(key, &err), &err, "master key");
	check(keys_master_load(&srv.keys, key, &err), &err, "master key");
	check(store_open(&srv.store, dir, (size_t)n * 1200 + (64UL << 20), 1, &err), &err, "store");
	mdb_env_set_flags(srv.store.env, MDB_NOSYNC, 1);
	check(mdb_txn_begin(srv.store.env, NULL, 0, &txn), &err, "txn");
	if (keys_unwrap(&srv.keys, txn, srv.store.keys, srv.store.meta, &err) < 0)
		check(keys_generate(&srv.keys, &srv.store, txn, &err), &err, "keys");
	check(mdb_txn_commit(txn), &err, "commit");

	check(mdb_txn_begin(srv.store.env, NULL, MDB_RDONLY, &txn), &err, "txn");
	{
		uint64_t have;
		uint8_t head[32];

		check(audit_head_load(txn, srv.store.audit, &have, head, &err), &err, "head");
		mdb_txn_abort(txn);
		if (have == 0)
			build(&srv, n);
		else
			n = have,
			printf("reusing a log of %llu entries in %s\n", (unsigned long long)n, dir);
	}
	if (stat(dir, &sb) == 0) {
		MDB_envinfo info;
		MDB_stat st;

		mdb_env_info(srv.store.env, &info);
		mdb_env_stat(srv.store.env, &st);
		printf("disk:         %.0f bytes per entry (entry, chain and tree)\n",
		       (double)(info.me_last_pgno + 1) * st.ms_psize / (double)n);
	}
	proofs(&srv, n);
	sign(&srv, n);
	verify(&srv, n, 1);
	verify(&srv, n, (int)sysconf(_SC_NPROCESSORS_ONLN));
	store_close(&srv.store);
	keys_free(&srv.keys);
	if (!keep) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0) // NOLINT(cert-env33-c): a fixed rm of our own scratch folder
			log_warnx("could not remove %s", dir);
	}
	return 0;
}
