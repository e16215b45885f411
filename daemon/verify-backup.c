/*
 * verify-backup.c - `rosterd verify-backup -c FILE PATH`: opens a backup
 * read-only with the master key of FILE and checks all of it: the keys unwrap,
 * every audit entry is canonical and chained, every stored checkpoint carries a
 * valid signature and the Merkle root of its prefix, and every record opens
 * under its key in its own slot and is the ciphertext its last audited write
 * recorded, and no block filter of the log leaves out an entry of its block. Prints a summary;
 * exits 0 when all holds, 1 naming the first fault, and otherwise (main.c's table) when it could
 * not check: no registry copy at PATH (66), a master key that does not open it (65), and so on.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "rosterd.h"
#include "roster/afilter.h"
#include "roster/log.h"
#include "roster/note.h"
#include "roster/verify.h"

static int open_backup(struct server *srv, const char *path, MDB_txn **txn, struct roster_err *err)
{
	struct store *st = &srv->store;
	const struct {
		const char *name;
		MDB_dbi *dbi;
	} dbs[] = {{"meta", &st->meta},       {"keys", &st->keys},
	           {"persons", &st->persons}, {"documents", &st->documents},
	           {"travel", &st->travel},   {"audit", &st->audit},
	           {"tree", &st->tree},       {"checkpoints", &st->checkpoints}};
	int rc;

	if ((rc = mdb_env_create(&st->env)) || (rc = mdb_env_set_maxdbs(st->env, 16)) ||
	    (rc = mdb_env_open(st->env, path, MDB_RDONLY | MDB_NOLOCK, 0600)) ||
	    (rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, txn))) {
		if (rc == ENOENT || rc == ENOTDIR) /* nothing there to check */
			return roster_err_set(err, 0, "no_registry",
			                      "cannot open %s: %s (PATH is the folder rosterctl "
			                      "backup wrote, holding data.mdb)",
			                      path, mdb_strerror(rc));
		return roster_err_set(err, 0, "backup", "cannot open %s: %s", path,
		                      mdb_strerror(rc));
	}
	for (size_t i = 0; i < sizeof(dbs) / sizeof(dbs[0]); i++)
		if ((rc = mdb_dbi_open(*txn, dbs[i].name, 0, dbs[i].dbi)) != 0)
			return roster_err_set(err, 0, "backup", "%s lacks the %s database: %s",
			                      path, dbs[i].name, mdb_strerror(rc));
	/* Backups from before 0.2.0 have no roles database (grants came later). */
	if ((rc = mdb_dbi_open(*txn, "roles", 0, &st->roles)) == MDB_NOTFOUND)
		st->roles = 0;
	else if (rc != 0)
		return roster_err_set(err, 0, "backup", "%s: the roles database: %s", path,
		                      mdb_strerror(rc));
	/* Backups from before 0.3.0 have no custody database (history was inside). */
	if ((rc = mdb_dbi_open(*txn, "custody", 0, &st->custody)) == MDB_NOTFOUND)
		st->custody = 0;
	else if (rc != 0)
		return roster_err_set(err, 0, "backup", "%s: the custody database: %s", path,
		                      mdb_strerror(rc));
	if ((rc = mdb_dbi_open(*txn, "audit_filter", 0, &st->audit_filter)) == MDB_NOTFOUND)
		st->audit_filter = 0; /* a backup from before 0.7.3 */
	else if (rc != 0)
		return roster_err_set(err, 0, "backup", "%s: the audit filters: %s", path,
		                      mdb_strerror(rc));
	if ((rc = mdb_dbi_open(*txn, "merkle", 0, &st->merkle)) == MDB_NOTFOUND)
		st->merkle = 0; /* a backup from before 0.7.8 */
	else if (rc != 0)
		return roster_err_set(err, 0, "backup", "%s: the Merkle tree: %s", path,
		                      mdb_strerror(rc));
	if (store_format_check(*txn, st->meta, path, err) < 0 ||
	    tree_order_load(st, *txn, err) < 0 || master_open(srv, *txn, st->meta, NULL, err) < 0)
		return -1;
	if (st->tree_order == TREE_COMPLETION && st->merkle == 0)
		return roster_err_set(err, 0, "backup",
		                      "%s lacks the merkle database its meta says holds the tree",
		                      path);
	return keys_unwrap(&srv->keys, *txn, st->keys, st->meta, err);
}

/* The log's block filters, walked in step with the entries: one that left out
 * an entry of its block would hide it from the auditor's questions. */
struct filter_walk {
	MDB_cursor *cur;
	struct roster_afilter f;
	int have;
	uint64_t checked, damaged;
};

/* Moves to the next filter that can be read (a damaged one: its block is read
 * whole by questions, so it hides nothing). */
static void filter_walk_next(struct filter_walk *fw, MDB_cursor_op op)
{
	MDB_val k, v;

	for (fw->have = 0; mdb_cursor_get(fw->cur, &k, &v, op) == 0; op = MDB_NEXT) {
		if (k.mv_size == 8 && roster_afilter_parse(v.mv_data, v.mv_size, &fw->f) == 0 &&
		    fw->f.first == roster_be64_get(k.mv_data)) {
			fw->checked++;
			fw->have = 1;
			return;
		}
		fw->damaged++;
	}
}

static int filter_walk_check(void *arg, uint64_t seq, const json_t *entry, char *why, size_t len)
{
	struct filter_walk *fw = arg;

	while (fw->have && seq >= fw->f.first && seq - fw->f.first >= fw->f.count)
		filter_walk_next(fw, MDB_NEXT);
	if (!fw->have || seq < fw->f.first) /* no filter: a question reads it */
		return 0;
	return roster_afilter_check_entry(&fw->f, entry, why, len);
}

/* The log's entries in order: each checked by the verifier, then its leaf
 * against the stored Merkle tree (tree-check.c), and, in a registry whose tree
 * is by level and being converted, against the prefix copied so far, which
 * the conversion resumes from. nodes[0] and nodes[1] count theirs. */
static int check_entries(struct server *srv, MDB_txn *txn, struct verifier *v, uint64_t *entries,
                         uint64_t nodes[2], struct roster_err *err)
{
	static const char *const what[] = {
	    "Merkle tree", "the Merkle tree's copy in completion order (a conversion under way)"};
	struct roster_err terr = {0};
	struct tree_check tc[2];
	int ntc = srv->store.tree_order == TREE_LEVELS && srv->store.merkle ? 2 : 1;
	MDB_cursor *cur;
	MDB_val k, val;
	int rc = 0, bad = -1, i;

	for (i = 0; i < ntc && rc == 0; i++)
		if ((rc = tree_check_begin(&tc[i], &srv->store, txn, i, &terr)) < 0)
			rc = roster_err_set(err, 0, "backup", "%s: %s", what[i], terr.message);
	if (rc < 0) {
		while (i-- > 0)
			tree_check_end(&tc[i]);
		return -1;
	}
	mdb_cursor_open(txn, srv->store.audit, &cur);
	for (rc = mdb_cursor_get(cur, &k, &val, MDB_FIRST); rc == 0 && bad < 0;
	     rc = mdb_cursor_get(cur, &k, &val, MDB_NEXT)) {
		if (verifier_entry(v, val.mv_data, val.mv_size, NULL, 0) < 0)
			break;
		for (i = 0; i < ntc && bad < 0; i++)
			if (tree_check_leaf(&tc[i], v->prev, &terr) < 0)
				bad = i;
		if (bad < 0)
			(*entries)++;
	}
	mdb_cursor_close(cur);
	/* A tree fault stops the walk short of the checkpoints: it is the one to name.
	 * Else the log's own faults (a log cut short leaves nodes past its end too). */
	if (bad < 0 && verifier_finish(v) < 0) {
		rc = roster_err_set(err, 0, "backup", "audit log: %s", v->failure);
	} else {
		for (i = 0; i < ntc && bad < 0; i++)
			if (tree_check_finish(&tc[i], &terr) < 0)
				bad = i;
		rc = bad < 0 ? 0
		             : roster_err_set(err, 0, "backup", "%s: %s", what[bad], terr.message);
	}
	nodes[0] = tc[0].nodes;
	nodes[1] = ntc > 1 ? tc[1].nodes : 0;
	for (i = 0; i < ntc; i++)
		tree_check_end(&tc[i]);
	return rc;
}

static int check_log(struct server *srv, MDB_txn *txn, struct verifier *v, struct filter_walk *fw,
                     uint64_t *entries, uint64_t *checkpoints, uint64_t nodes[2],
                     struct roster_err *err)
{
	char *vkey = roster_note_vkey_format(srv->cfg.origin, srv->keys.sign_pk), origin[256];
	json_t *keys = signing_history(txn, srv->store.meta);
	MDB_cursor *cur;
	MDB_val k, val;
	int rc;

	/* Checkpoints before a signing-key rotation carry a retired key's signature. */
	json_array_append_new(keys, json_string(vkey));
	free(vkey);
	*checkpoints = 0;
	mdb_cursor_open(txn, srv->store.checkpoints, &cur);
	for (rc = mdb_cursor_get(cur, &k, &val, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &val, MDB_NEXT)) {
		char *note = roster_xmalloc(val.mv_size + 1), *why = NULL;
		uint8_t root[32];
		uint64_t size;

		memcpy(note, val.mv_data, val.mv_size);
		note[val.mv_size] = '\0';
		rc = -1;
		for (size_t i = 0; i < json_array_size(keys) && rc < 0; i++) {
			struct roster_vkey key;

			free(why);
			why = NULL;
			roster_note_vkey_parse(json_string_value(json_array_get(keys, i)), &key,
			                       NULL);
			rc = checkpoint_open(note, &key, origin, sizeof(origin), &size, root, &why);
		}
		free(note);
		if (rc < 0) {
			roster_err_set(err, 0, "backup", "checkpoint: bad signature: %s", why);
			free(why);
			mdb_cursor_close(cur);
			json_decref(keys);
			return -1;
		}
		free(why);
		verifier_expect(v, size, root, "signed checkpoint");
		(*checkpoints)++;
	}
	mdb_cursor_close(cur);
	json_decref(keys);
	*entries = 0;
	if (srv->store.audit_filter &&
	    mdb_cursor_open(txn, srv->store.audit_filter, &fw->cur) == 0) {
		filter_walk_next(fw, MDB_FIRST);
		v->entry_check = filter_walk_check;
		v->entry_arg = fw;
	}
	rc = check_entries(srv, txn, v, entries, nodes, err);
	if (fw->cur)
		mdb_cursor_close(fw->cur);
	fw->cur = NULL;
	v->entry_check = NULL;
	return rc;
}

/* A stored value is the ciphertext its last audited write recorded. */
static int logged(const struct verifier *v, const char *id, const MDB_val *val)
{
	const struct written_last *last = roster_written_find(v->written, id, strlen(id));
	uint8_t digest[32];
	char hex[65];

	roster_sha256(digest, val->mv_data, val->mv_size);
	roster_hex_encode(hex, digest, 32);
	return roster_written_matches(last, hex);
}

/* Registries from 0.5 on name each custody entry and each role grant in the log
 * (custody_audit_all, grants_audit_all). */
static int upgraded(struct server *srv, MDB_txn *txn, const char *done)
{
	MDB_val k = {strlen(done), (void *)done}, v;

	return mdb_get(txn, srv->store.meta, &k, &v) == 0;
}

static int grant_logged(void *v, const char *id, const char *object, struct roster_err *err)
{
	struct written *wt = ((const struct verifier *)v)->written;

	if (roster_written_matches(roster_written_find(wt, id, strlen(id)), object))
		return 0;
	return roster_err_set(err, 0, "backup",
	                      "the role grant of %s is not the one its last audited grant or "
	                      "revoke left",
	                      id);
}

/* Every stored role grant is the one its last audited grant or revoke left. */
static int check_grants(struct server *srv, MDB_txn *txn, struct verifier *v,
                        struct roster_err *err)
{
	if (srv->store.roles == 0 || !upgraded(srv, txn, "grants_audit"))
		return 0;
	return grants_each(txn, srv->store.roles, grant_logged, v, err) ? -1 : 0;
}

/* Every entry of a document's history opens, and as many as the document counts;
 * where the log names each entry, each is the ciphertext it recorded. */
static int check_history(struct wtxn *w, const struct verifier *v, const char *id,
                         const json_t *doc, int audited, uint64_t *n, struct roster_err *err)
{
	long long events = json_integer_value(json_object_get(doc, "events"));
	char eid[CUSTODY_EVENT_ID_MAX];

	for (long long i = 1; i <= events; i++) {
		uint8_t *pt = NULL;
		size_t len = 0;
		MDB_val k, val;

		if (w->srv->store.custody == 0 || custody_event_id(eid, id, i) < 0 ||
		    rec_open(w, w->srv->store.custody, "custody", eid, &pt, &len, err) < 0)
			return roster_err_set(
			    err, 0, "backup",
			    "document %s: history entry %lld of %lld is missing or "
			    "does not open",
			    id, i, events);
		sodium_memzero(pt, len);
		free(pt);
		k.mv_size = strlen(eid);
		k.mv_data = eid;
		if (audited && (mdb_get(w->txn, w->srv->store.custody, &k, &val) != 0 ||
		                !logged(v, eid, &val)))
			return roster_err_set(err, 0, "backup",
			                      "custody entry %s is not the ciphertext its audited "
			                      "write recorded",
			                      eid);
		(*n)++;
	}
	return 0;
}

/* Nothing is deleted through the daemon: every value the log recorded a write of
 * is stored. */
struct stored_check {
	struct server *srv;
	MDB_txn *txn;
	struct roster_err *err;
	uint64_t seq; /* of the missing value written last the earliest, named */
	int missing;
};

static int stored_find(void *arg, const char *id, size_t idlen, struct written_last *last)
{
	struct stored_check *c = arg;
	struct store *st = &c->srv->store;
	const MDB_dbi dbis[] = {st->persons, st->documents, st->travel, st->custody};
	MDB_val k = {idlen, (void *)id}, val;
	uint8_t uid[4];
	int found = 0;

	if (idlen > 4 && strncmp(id, "uid:", 4) == 0) { /* a role grant */
		char num[16];

		snprintf(num, sizeof(num), "%.*s", (int)(idlen - 4), id + 4);
		roster_be32_put(uid, (uint32_t)strtoul(num, NULL, 10));
		k.mv_size = 4;
		k.mv_data = uid;
		found = st->roles != 0 && mdb_get(c->txn, st->roles, &k, &val) == 0;
	}
	for (size_t i = 0; i < sizeof(dbis) / sizeof(dbis[0]) && !found; i++)
		found = dbis[i] != 0 && mdb_get(c->txn, dbis[i], &k, &val) == 0;
	if (found || (c->missing && last->seq >= c->seq))
		return 0;
	c->missing = 1;
	c->seq = last->seq;
	roster_err_set(
	    c->err, 0, "backup",
	    "record %.*s: the log recorded its write at entry %llu, but it is not stored",
	    (int)idlen, id, (unsigned long long)last->seq);
	return 0;
}

static int check_written_stored(struct server *srv, MDB_txn *txn, const struct verifier *v,
                                struct roster_err *err)
{
	struct stored_check c = {.srv = srv, .txn = txn, .err = err};

	roster_written_each(v->written, stored_find, &c);
	return c.missing ? -1 : 0;
}

static int check_records(struct server *srv, MDB_txn *txn, struct verifier *v, uint64_t *n,
                         struct roster_err *err)
{
	struct wtxn w = {.txn = txn, .srv = srv, .keys = &srv->keys};
	const struct {
		const char *name;
		MDB_dbi dbi;
	} dbs[] = {{"persons", srv->store.persons},
	           {"documents", srv->store.documents},
	           {"travel", srv->store.travel}};

	/* Registries from 0.5 on name each history entry in the log: read once. */
	int audited = upgraded(srv, txn, "custody_audit");

	*n = 0;
	for (size_t i = 0; i < sizeof(dbs) / sizeof(dbs[0]); i++) {
		MDB_cursor *cur;
		MDB_val k, val;
		int rc, bad;

		mdb_cursor_open(txn, dbs[i].dbi, &cur);
		for (rc = mdb_cursor_get(cur, &k, &val, MDB_FIRST); rc == 0;
		     rc = mdb_cursor_get(cur, &k, &val, MDB_NEXT), (*n)++) {
			char id[ROSTER_ID_MAX];
			json_t *rec;

			snprintf(id, sizeof(id), "%.*s", (int)k.mv_size, (char *)k.mv_data);
			if (rec_get(&w, dbs[i].dbi, dbs[i].name, id, &rec, err) < 0)
				break;
			bad = dbs[i].dbi == srv->store.documents &&
			      check_history(&w, v, id, rec, audited, n, err) < 0;
			json_decref(rec);
			if (bad)
				break;
			if (!logged(v, id, &val)) {
				roster_err_set(
				    err, 0, "backup",
				    "record %s in %s is not the ciphertext its last audited "
				    "write recorded",
				    id, dbs[i].name);
				break;
			}
		}
		mdb_cursor_close(cur);
		if (rc == 0)
			return -1;
	}
	return 0;
}

/* 0 when the backup verifies, 1 when it holds a fault (printed), -1 with err set
 * when it could not be checked: nothing at PATH, a key that does not open it. */
int verify_backup(struct config *cfg, const char *path, struct roster_err *err)
{
	struct server srv = {.cfg = *cfg};
	uint64_t entries = 0, checkpoints = 0, records = 0, nodes[2] = {0, 0};
	struct verifier v;
	struct filter_walk fw = {0};
	MDB_txn *txn = NULL;
	int rc = 1;

	memset(err, 0, sizeof(*err));
	verifier_init(&v, 1);
	if (open_backup(&srv, path, &txn, err) < 0) {
		/* A copy that is not a registry, or lacks one of its databases, is a fault;
		 * the rest (no copy there, the wrong key, a newer format) is not. */
		if (strcmp(err->code, "backup") == 0)
			fprintf(stderr, "rosterd: backup %s does NOT verify: %s\n", path,
			        err->message);
		else if (strcmp(err->code, "wrong_master") == 0)
			rc = roster_err_set(
			    err, 0, "wrong_master",
			    "the master key of the configuration does not open it: "
			    "a backup taken before a master key rotation needs the key "
			    "of that time (a configuration naming it, with -c)");
		else
			rc = -1;
	} else if (check_log(&srv, txn, &v, &fw, &entries, &checkpoints, nodes, err) < 0 ||
	           check_records(&srv, txn, &v, &records, err) < 0 ||
	           check_grants(&srv, txn, &v, err) < 0 ||
	           check_written_stored(&srv, txn, &v, err) < 0) {
		fprintf(stderr, "rosterd: backup %s does NOT verify: %s\n", path, err->message);
	} else {
		char copy[96] = "";

		if (nodes[1] > 0)
			snprintf(copy, sizeof(copy), " (and the %llu its conversion has copied)",
			         (unsigned long long)nodes[1]);
		printf("backup %s verifies: %llu audit entries chained and matching %llu signed "
		       "checkpoints, %llu Merkle tree nodes the hashes of their entries%s, %llu "
		       "records open under their keys and match the log, %llu "
		       "block filters hold every entry they cover%s\n",
		       path, (unsigned long long)entries, (unsigned long long)checkpoints,
		       (unsigned long long)nodes[0], copy, (unsigned long long)records,
		       (unsigned long long)fw.checked,
		       fw.damaged ? " (some damaged: questions read their blocks whole)" : "");
		rc = 0;
	}
	if (txn)
		mdb_txn_abort(txn);
	if (srv.store.env)
		mdb_env_close(srv.store.env);
	keys_free(&srv.keys);
	verifier_free(&v);
	return rc;
}
