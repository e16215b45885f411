/*
 * rotate-bench.c - re-encryption after a data key rotation, at scale: builds a
 * registry of N persons (default 1 million) with the daemon's own record and
 * audit code, rotates the data key, and runs the writer's re-encryption slices
 * durably (one fsync per slice) until the old key retires. Reports records/s
 * and how long each slice held the writer: the longest time a client request
 * can wait behind re-encryption.
 *
 *   rotate-bench [-n PERSONS] [-b RECORDS_PER_SLICE] [-d DIR] [-B] [-e ENTRIES]
 *
 * -B only builds the registry in DIR (for bench/rotate-live.sh, which rotates it
 * under a running rosterd while a client measures its latency, and for
 * bench/scale.sh); -e then pads the audit log with person.read entries until it
 * holds ENTRIES, as a registry that has served that many requests would: every
 * 10,000th reads one watched person (printed, for timing a find). Blocks of
 * entries get their filters (audit-filter.c) as the writer makes them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "rosterd.h"
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
		fatalx("%s: %s (%d)", what, err->message, rc);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Commits a building transaction with the filters of the blocks it completed,
 * made from the names the appends noted, as the writer makes them. */
static void commit_with_filters(struct server *srv, struct wtxn *w)
{
	struct roster_err err;
	uint64_t end;

	do {
		end = w->afilter_end;
		check(afilter_build_next(w, srv->cfg.audit_filter_block, &err), &err, "filter");
	} while (w->afilter_end != end);
	check(mdb_txn_commit(w->txn), &err, "commit");
	afilter_acc_commit(w->acc, w->afilter_end, w->log_size);
}

static void build(struct server *srv, struct wtxn *w, uint64_t n)
{
	struct roster_err err;
	double t0 = now();
	char last[ROSTER_ID_MAX] = "";

	for (uint64_t made = 0; made < n;) {
		check(mdb_txn_begin(srv->store.env, NULL, 0, &w->txn), &err, "txn");
		roster_time_rfc3339(w->now, time(NULL));
		for (int i = 0; i < 10000 && made < n; i++, made++) {
			struct op op = {
			    .status = 201, .outcome = OUT_OK, .action = "person.create"};
			json_t *p =
			    json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:[s,s], s:s, s:I}",
			              "name", "Bench Person", "birth_date", "1980-01-01",
			              "nationality", "DE", "employer", "Acme Magnets", "site",
			              "Plant 2", "segment", "downstream", "status", "active",
			              "expertise", "magnet-alloys", "powder-metallurgy", "research",
			              "Sintering of NdFeB magnets; grain boundary diffusion; "
			              "patents pending.",
			              "version", (json_int_t)1);

			snprintf(op.peer.user, sizeof(op.peer.user), "clerk");
			roster_id_new(op.target, sizeof(op.target), "per_");
			json_object_set_new(p, "id", json_string(op.target));
			json_object_set_new(p, "national_id",
			                    json_sprintf("B%09llu", (unsigned long long)made));
			check(rec_put(w, srv->store.persons, "persons", op.target, p, &op, &err),
			      &err, "put");
			check(search_person_update(w, NULL, p, op.target, &err), &err, "index");
			check(audit_append(w, &op, &err), &err, "append");
			snprintf(last, sizeof(last), "%s", op.target);
			json_decref(p);
		}
		commit_with_filters(srv, w);
	}
	printf("build:        %llu persons in %.1f s (no fsync)\n", (unsigned long long)n,
	       now() - t0);
	printf("last person:  %s\n", last);
}

/* The id of the first person stored (ids start with their creation time). */
static const char *first_person(struct server *srv)
{
	static char id[ROSTER_ID_MAX];
	struct roster_err err;
	MDB_txn *txn;
	MDB_cursor *cur;
	MDB_val k, v;

	check(mdb_txn_begin(srv->store.env, NULL, MDB_RDONLY, &txn), &err, "txn");
	check(mdb_cursor_open(txn, srv->store.persons, &cur), &err, "cursor");
	if (mdb_cursor_get(cur, &k, &v, MDB_FIRST) != 0 || k.mv_size >= sizeof(id))
		fatalx("no person to watch");
	memcpy(id, k.mv_data, k.mv_size);
	id[k.mv_size] = '\0';
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	return id;
}

/* Pads the log with audited reads until it holds `entries`: of a new id each,
 * and every 10,000th of the watched person. */
static void pad_log(struct server *srv, struct wtxn *w, uint64_t entries, const char *watched)
{
	struct roster_err err;
	double t0 = now();
	uint64_t start = w->log_size;

	while (w->log_size < entries) {
		check(mdb_txn_begin(srv->store.env, NULL, 0, &w->txn), &err, "txn");
		roster_time_rfc3339(w->now, time(NULL));
		for (int i = 0; i < 100000 && w->log_size < entries; i++) {
			struct op op = {.status = 200, .outcome = OUT_OK, .action = "person.read"};

			snprintf(op.peer.user, sizeof(op.peer.user), "clerk");
			if (w->log_size % 10000 == 0)
				snprintf(op.target, sizeof(op.target), "%s", watched);
			else
				roster_id_new(op.target, sizeof(op.target), "per_");
			check(audit_append(w, &op, &err), &err, "append");
		}
		commit_with_filters(srv, w);
	}
	printf("pad:          %llu audit entries in %.1f s (no fsync)\n",
	       (unsigned long long)(w->log_size - start), now() - t0);
	printf("watched:      %s\n", watched);
}

int main(int argc, char **argv)
{
	struct server srv = {0};
	struct roster_err err;
	struct afilter_acc acc = {0};
	struct wtxn w = {
	    .srv = &srv, .keys = &srv.keys, .ilog_off = 1, .acc = &acc}; /* person_idx directly */
	char dir[4096] = "", key[4200], cmd[4300];
	uint64_t n = 1000000, entries = 0;
	size_t batch = 256, nslices = 0, cap = 1024;
	double *slices = malloc(cap * sizeof(double)), t0, total;
	int ch, keep = 0, retired = 0, build_only = 0;
	MDB_txn *txn;
	uint8_t *fresh;

	log_init("rotate-bench", LOG_LEVEL_WARN);
	while ((ch = getopt(argc, argv, "n:b:d:Be:")) != -1) {
		if (ch == 'B')
			build_only = 1;
		else if (ch == 'e')
			entries = strtoull(optarg, NULL, 10);
		else if (ch == 'n')
			n = strtoull(optarg, NULL, 10);
		else if (ch == 'b')
			batch = strtoul(optarg, NULL, 10);
		else if (ch == 'd')
			snprintf(dir, sizeof(dir), "%s", optarg), keep = 1;
		else
			fatalx("usage: rotate-bench [-n PERSONS] [-b RECORDS_PER_SLICE] [-d DIR]");
	}
	if (sodium_init() < 0 || batch == 0)
		fatalx("cannot start");
	if (!dir[0] && mkdtemp(strcpy(dir, "/tmp/rotate-bench.XXXXXX")) == NULL)
		fatal("mkdtemp");
	snprintf(key, sizeof(key), "%s/master.key", dir);
	srv.cfg.origin = "bench.example/roster";
	srv.cfg.audit_filter_block = 1024;
	check(keys_master_create(key, &err), &err, "master key");
	check(keys_master_load(&srv.keys, key, &err), &err, "master key");
	check(store_open(&srv.store, dir, (size_t)n * 4000 + (size_t)entries * 800 + (256UL << 20),
	                 1, &err),
	      &err, "store");
	check(mdb_txn_begin(srv.store.env, NULL, 0, &txn), &err, "txn");
	check(keys_generate(&srv.keys, &srv.store, txn, &err), &err, "keys");
	check(mdb_txn_commit(txn), &err, "commit");

	mdb_env_set_flags(srv.store.env, MDB_NOSYNC, 1);
	build(&srv, &w, n);
	pad_log(&srv, &w, entries, first_person(&srv));
	printf("filters:      %llu of %llu entries in blocks with a filter\n",
	       (unsigned long long)w.afilter_end, (unsigned long long)w.log_size);
	free(acc.v);
	mdb_env_set_flags(srv.store.env, MDB_NOSYNC, 0);
	mdb_env_sync(srv.store.env, 1); /* the build's pages reach the disk before timing */
	if (build_only) {
		store_close(&srv.store);
		keys_free(&srv.keys);
		free(slices);
		return 0;
	}

	/* The rotation itself: a new active key; key 1 starts retiring. */
	fresh = sodium_malloc(ROSTER_KEY_BYTES);
	randombytes_buf(fresh, ROSTER_KEY_BYTES);
	keys_install(&srv.keys, 2, fresh);
	t0 = now();
	while (!retired) {
		struct reencrypt_progress prog;
		double s = now();
		int rc;

		check(mdb_txn_begin(srv.store.env, NULL, 0, &w.txn), &err, "txn");
		roster_time_rfc3339(w.now, time(NULL));
		rc = reencrypt_step(&w, batch, &retired, &prog, &err);
		if (rc < 0)
			fatalx("re-encryption: %s (%d)", err.message, rc);
		check(mdb_txn_commit(w.txn), &err, "commit");
		if (nslices == cap)
			slices = roster_xrealloc(slices, (cap *= 2) * sizeof(double));
		slices[nslices++] = now() - s;
	}
	total = now() - t0;
	qsort(slices, nslices, sizeof(double), cmp_double);
	printf("re-encrypt:   %llu records in %.1f s: %.0f records/s (%zu per durable slice)\n",
	       (unsigned long long)n, total, (double)n / total, batch);
	printf("slice:        p50 %.1f ms, p99 %.1f ms, max %.1f ms (the longest a client "
	       "request waits behind re-encryption)\n",
	       slices[nslices / 2] * 1e3, slices[nslices * 99 / 100] * 1e3,
	       slices[nslices - 1] * 1e3);
	printf("retired:      key 1 (%zu slices, %llu audit entries)\n", nslices,
	       (unsigned long long)w.log_size);
	store_close(&srv.store);
	keys_free(&srv.keys);
	free(slices);
	if (!keep) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0) // NOLINT(cert-env33-c): a fixed rm of our own scratch folder
			log_warnx("could not remove %s", dir);
	}
	return 0;
}
