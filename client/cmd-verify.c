/*
 * cmd-verify.c - rosterctl audit verify: the auditor's proof that the log is
 * complete, unaltered and only ever grew, against the log's public key, the
 * signed checkpoints and this auditor's own last state (--state FILE). With
 * --offline it needs no daemon at all; with --deep it also checks every stored
 * record against the last audited write of it, and the log's block filters
 * against the entries (verify-filters.c). Exits 1 naming the first bad entry and
 * what is wrong with it.
 */
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rosterctl.h"
#include "roster/verify.h"
#include "roster/util.h"

#define PAGE 10000

struct vrun {
	struct ctl *ctl;
	const char *state_path, *export_path, *checkpoint_path, *pin;
	int deep, offline;
	struct roster_vkey key;
	char *vkey_text;
	char *note;      /* the signed checkpoint verified against */
	json_t *trusted; /* every key vouched for by a hand-over from the first one */
	uint64_t size;   /* the checkpoint verified against */
	uint64_t fed;    /* entries read into the verifier */
	int jobs;        /* threads parsing entries: the CPUs this process may use */
	uint8_t root[MERKLE_HASH];
	struct verifier v;
	struct vfilters filters; /* --deep: the block filters checked against the entries */
};

static int verify_failed(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int verify_failed(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "rosterctl: audit verify FAILED: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return EXIT_NOTFOUND; /* 1: the log does not verify */
}

/* GET path and hand back the parsed JSON (NULL and an exit code on failure). */
static json_t *get_json(struct ctl *ctl, const char *method, const char *path, int *rc)
{
	struct response r;
	json_t *v;

	if ((*rc = http_request(ctl, method, path, NULL, &r)) != 0)
		return NULL;
	if (r.status != 200 || r.json == NULL) {
		*rc = http_finish(ctl, &r, NULL);
		return NULL;
	}
	v = json_incref(r.json);
	response_free(&r);
	return v;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t len = 0;

	if (f == NULL)
		return NULL;
	for (;;) {
		buf = roster_xrealloc(buf, len + 65536 + 1);
		size_t n = fread(buf + len, 1, 65536, f);

		len += n;
		if (n < 65536)
			break;
	}
	fclose(f);
	buf[len] = '\0';
	return buf;
}

static int verifies(const char *note, const char *vkey, struct roster_vkey *key)
{
	char *text;

	if (roster_note_vkey_parse(vkey, key, NULL) < 0 ||
	    roster_note_verify(note, key, &text, NULL) < 0)
		return 0;
	free(text);
	return 1;
}

static int trusted_has(const json_t *trusted, const char *vkey)
{
	size_t i;
	json_t *t;

	json_array_foreach(trusted, i, t) if (strcmp(json_string_value(t), vkey) == 0) return 1;
	return 0;
}

static int load_key(struct vrun *vr, json_t *state)
{
	const char *saved = json_string_value(json_object_get(state, "vkey"));
	struct roster_err err;
	json_t *pk = NULL;
	int rc = 0;

	if (vr->pin)
		vr->vkey_text = roster_xstrdup(vr->pin);
	else if (saved)
		vr->vkey_text = roster_xstrdup(saved);
	else if (vr->offline)
		return cmd_usage_error(&cmd_audit_verify_entry, "--offline needs --pubkey KEY");
	else if ((pk = get_json(vr->ctl, "GET", "/v1/audit/pubkey", &rc)) == NULL)
		return rc;
	else {
		vr->vkey_text = roster_xstrdup(json_string_value(json_object_get(pk, "vkey")));
		fprintf(stderr, "rosterctl: trusting the log's key on first use: %s\n",
		        vr->vkey_text);
		json_decref(pk);
	}
	if (roster_note_vkey_parse(vr->vkey_text, &vr->key, &err) < 0)
		return cmd_usage_error(&cmd_audit_verify_entry, "%s", err.message);
	vr->trusted = json_is_array(json_object_get(state, "trusted"))
	                  ? json_copy(json_object_get(state, "trusted"))
	                  : json_array();
	if (!trusted_has(vr->trusted, vr->vkey_text))
		json_array_append_new(vr->trusted, json_string(vr->vkey_text));
	return 0;
}

/* The checkpoint to verify against: from --checkpoint FILE, or freshly signed. Its
 * signature is checked by open_checkpoint, once the key is known. */
static int fetch_checkpoint(struct vrun *vr)
{
	json_t *cp = NULL;
	int rc = 0;

	if (vr->offline)
		vr->note = slurp(vr->checkpoint_path);
	else if ((cp = get_json(vr->ctl, "POST", "/v1/audit/checkpoint", &rc)) != NULL)
		vr->note = roster_xstrdup(json_string_value(json_object_get(cp, "checkpoint")));
	json_decref(cp);
	if (vr->note == NULL)
		return rc ? rc
		          : cmd_usage_error(&cmd_audit_verify_entry, "cannot read checkpoint %s",
		                            vr->checkpoint_path);
	return 0;
}

static int open_checkpoint(struct vrun *vr)
{
	char origin[NOTE_NAME_MAX], *why = NULL;
	int rc = 0;

	if (checkpoint_open(vr->note, &vr->key, origin, sizeof(origin), &vr->size, vr->root, &why) <
	    0) {
		rc = verify_failed("bad signature on the checkpoint: %s", why);
		free(why);
	} else {
		verifier_expect(&vr->v, vr->size, vr->root, "signed checkpoint");
	}
	return rc;
}

/* A note signed by a trusted key and by another key the log names is a hand-over:
 * the other key becomes trusted too. Repeats until no note adds a key. */
static void follow_handovers(struct vrun *vr, const json_t *notes, const json_t *candidates)
{
	struct roster_vkey key;
	int changed = 1;
	size_t i, j;
	json_t *note, *cand, *t;

	while (changed) {
		changed = 0;
		json_array_foreach(notes, i, note)
		{
			int signed_by_trusted = 0;

			json_array_foreach(vr->trusted, j, t) signed_by_trusted |=
			    verifies(json_string_value(note), json_string_value(t), &key);
			if (!signed_by_trusted)
				continue;
			json_array_foreach(candidates, j, cand)
			{
				const char *vkey = json_string_value(cand);

				if (trusted_has(vr->trusted, vkey) ||
				    !verifies(json_string_value(note), vkey, &key))
					continue;
				fprintf(stderr,
				        "rosterctl: following the log's key hand-over to %s\n",
				        vkey);
				json_array_append_new(vr->trusted, json_string(vkey));
				changed = 1;
			}
		}
	}
}

/* Every checkpoint the log ever signed pins the root of its prefix, and must carry
 * a signature by a trusted key. */
static int load_history(struct vrun *vr)
{
	char path[128], origin[NOTE_NAME_MAX], *why = NULL;
	uint64_t from = 0, size, upto;
	uint8_t root[MERKLE_HASH];
	json_t *pk, *candidates, *notes = json_array(), *note;
	const char *current;
	size_t i, j;
	int rc = 0;

	if ((pk = get_json(vr->ctl, "GET", "/v1/audit/pubkey", &rc)) == NULL) {
		json_decref(notes);
		return rc;
	}
	candidates = json_copy(json_object_get(pk, "previous"));
	json_array_append(candidates, json_object_get(pk, "vkey"));
	for (;;) {
		json_t *page;
		size_t n;

		snprintf(path, sizeof(path), "/v1/audit/checkpoints?from=%llu",
		         (unsigned long long)from);
		if ((page = get_json(vr->ctl, "GET", path, &rc)) == NULL)
			goto done;
		n = json_array_size(json_object_get(page, "items"));
		json_array_foreach(json_object_get(page, "items"), i, note)
		{
			json_array_append(notes, note);
			if (roster_checkpoint_parse(json_string_value(note), origin, sizeof(origin),
			                            &size, root, NULL) == 0)
				from = size + 1;
		}
		json_decref(page);
		if (n < 1000)
			break;
	}
	json_array_append_new(notes, json_string(vr->note));
	follow_handovers(vr, notes, candidates);
	/* Only checkpoints up to the one being verified against count. */
	if (roster_checkpoint_parse(vr->note, origin, sizeof(origin), &upto, root, NULL) < 0)
		upto = UINT64_MAX;
	json_array_foreach(notes, i, note)
	{
		json_t *t;

		rc = -1;
		json_array_foreach(vr->trusted, j, t)
		{
			struct roster_vkey key;

			free(why);
			why = NULL;
			if (roster_note_vkey_parse(json_string_value(t), &key, NULL) == 0 &&
			    (rc = checkpoint_open(json_string_value(note), &key, origin,
			                          sizeof(origin), &size, root, &why)) == 0)
				break;
		}
		if (rc < 0) {
			rc = verify_failed("bad signature on a stored checkpoint: %s", why);
			goto done;
		}
		if (size <= upto)
			verifier_expect(&vr->v, size, root, "signed checkpoint");
	}
	/* The fresh checkpoint is checked under the log's current key, if trusted. */
	current = json_string_value(json_object_get(pk, "vkey"));
	if (current && trusted_has(vr->trusted, current) && strcmp(current, vr->vkey_text) != 0) {
		free(vr->vkey_text);
		vr->vkey_text = roster_xstrdup(current);
		roster_note_vkey_parse(current, &vr->key, NULL);
	}
done:
	free(why);
	json_decref(pk);
	json_decref(candidates);
	json_decref(notes);
	return rc;
}

/* The CPUs this process may run on (taskset and cpusets narrow it). */
static int usable_cpus(void)
{
	cpu_set_t set;

	if (sched_getaffinity(0, sizeof(set), &set) != 0)
		return 1;
	return CPU_COUNT(&set) > 0 ? CPU_COUNT(&set) : 1;
}

/* The lines of buf (its newlines become NULs) into the verifier, up to entry upto. */
static int feed_lines(struct vrun *vr, char *buf, uint64_t *fed, uint64_t upto)
{
	size_t n = 0, cap = 0, take;
	struct verifier_line *lines = NULL;
	int rc;

	for (char *p = buf, *nl; *p && (nl = strchr(p, '\n')) != NULL; p = nl + 1) {
		*nl = '\0';
		if (n == cap)
			lines =
			    roster_xrealloc(lines, (cap = cap ? 2 * cap : 1024) * sizeof(*lines));
		lines[n++] = (struct verifier_line){p, (size_t)(nl - p)};
	}
	take = *fed >= upto ? 0 : upto - *fed < n ? (size_t)(upto - *fed) : n;
	rc = verifier_entries(&vr->v, lines, take, n, vr->jobs);
	if (rc == 0)
		*fed += take;
	free(lines);
	return rc;
}

/* Entries from vr->fed up to upto, from the daemon a page at a time, into the
 * verifier; a failure is left in vr->v.failure. */
static int fetch_entries(struct vrun *vr, uint64_t upto, int tty)
{
	char path[128];

	while (vr->fed < upto) {
		struct response r;
		int rc;

		snprintf(path, sizeof(path), "/v1/audit/entries?from=%llu&limit=%d",
		         (unsigned long long)vr->fed, PAGE);
		if ((rc = http_request(vr->ctl, "GET", path, NULL, &r)) != 0)
			return rc;
		if (r.status != 200)
			return http_finish(vr->ctl, &r, NULL);
		if (r.len == 0 || feed_lines(vr, r.body, &vr->fed, upto) < 0) {
			response_free(&r);
			break;
		}
		response_free(&r);
		if (tty) /* a long log shows how far the check has come */
			fprintf(stderr, "\rverifying %llu of %llu entries",
			        (unsigned long long)vr->fed, (unsigned long long)upto);
	}
	return 0;
}

static int check_entries(struct vrun *vr)
{
	int tty = isatty(2) && vr->size > PAGE, rc;

	if (vr->offline) {
		char *buf = slurp(vr->export_path);

		if (buf == NULL)
			return cmd_usage_error(&cmd_audit_verify_entry, "cannot read export %s",
			                       vr->export_path);
		feed_lines(vr, buf, &vr->fed, vr->size);
		free(buf);
	} else if ((rc = fetch_entries(vr, vr->size, tty)) != 0) {
		return rc;
	}
	if (tty && !vr->offline)
		fputc('\n', stderr);
	if (verifier_finish(&vr->v) < 0)
		return verify_failed("%s", vr->v.failure);
	return 0;
}

/* One page of digests: each stored value is the ciphertext the log last recorded
 * for it, as of the page's snapshot (the log is read up to its size first; pages
 * come at sizes that only grow). Each value found is marked seen. */
static int check_digests(struct vrun *vr, const json_t *page)
{
	json_int_t size = json_integer_value(json_object_get(page, "size"));
	const json_t *rec;
	size_t i;
	int rc;

	/* Writes since the checkpoint verified against are in entries past it: those
	 * are read too, chained to the verified ones, before the values are matched. */
	if (size > 0 && (uint64_t)size > vr->fed &&
	    (rc = fetch_entries(vr, (uint64_t)size, 0)) != 0)
		return rc;
	if (vr->v.failure)
		return verify_failed("%s", vr->v.failure);
	json_array_foreach(json_object_get(page, "items"), i, rec)
	{
		const char *id = json_string_value(json_object_get(rec, "id"));
		struct written_last *w =
		    id ? roster_written_find(vr->v.written, id, strlen(id)) : NULL;
		char what[256];

		if (w &&
		    roster_written_matches(w, json_string_value(json_object_get(rec, "object")))) {
			w->seen = 1;
			continue;
		}
		snprintf(what, sizeof(what), "record %s in %s: %s%lld", id ? id : "(no id)",
		         json_string_value(json_object_get(rec, "db")),
		         w ? "its ciphertext is not the one the log recorded at entry "
		           : "no audited write made it",
		         w ? (long long)w->seq : 0LL);
		if (w == NULL)
			what[strlen(what) - 1] = '\0';
		return verify_failed("%s: changed behind the daemon's back", what);
	}
	return 0;
}

/* A value the log wrote before the first page was read, and no page listed: the
 * one written last the earliest, so the same one is named every time. */
struct unlisted {
	uint64_t before;
	char id[128];
	uint64_t seq;
};

static int unlisted_find(void *arg, const char *id, size_t idlen, struct written_last *w)
{
	struct unlisted *u = arg;

	if (w->seen || w->first >= u->before || (u->id[0] && w->seq >= u->seq))
		return 0;
	snprintf(u->id, sizeof(u->id), "%.*s", (int)idlen, id);
	u->seq = w->seq;
	return 0;
}

/* Both ways: every stored value (records and custody entries) is the ciphertext
 * the log last recorded for it, and every value the log recorded a write of is
 * still stored (nothing is ever deleted through the daemon). The digests come a
 * page at a time while clients keep writing; a value the log first wrote after
 * the first page was read may have come to be stored behind the pages already
 * read, so only values older than that are required to have been listed. */
static int check_records(struct vrun *vr)
{
	char path[160] = "/v1/audit/digests?limit=5000";
	struct unlisted u = {.before = UINT64_MAX};
	json_t *page = NULL;
	const char *next;
	int rc = 0;

	for (;;) {
		if ((page = get_json(vr->ctl, "GET", path, &rc)) == NULL)
			return rc;
		if (u.before == UINT64_MAX)
			u.before = (uint64_t)json_integer_value(json_object_get(page, "size"));
		if ((rc = check_digests(vr, page)) != 0)
			goto done;
		if ((next = json_string_value(json_object_get(page, "next"))) == NULL)
			break;
		if (snprintf(path, sizeof(path), "/v1/audit/digests?limit=5000&after=%s", next) >=
		    (int)sizeof(path)) {
			rc = verify_failed("the daemon sent a page cursor too long to follow");
			goto done;
		}
		json_decref(page);
	}
	roster_written_each(vr->v.written, unlisted_find, &u);
	if (u.id[0])
		rc = verify_failed("record %s: the log recorded its write at entry %llu, but it is "
		                   "not stored: deleted behind the daemon's back",
		                   u.id, (unsigned long long)u.seq);
done:
	json_decref(page);
	return rc;
}

static int save_state(struct vrun *vr)
{
	char hex[2 * MERKLE_HASH + 1];
	json_t *st;
	int rc;

	roster_hex_encode(hex, vr->root, MERKLE_HASH);
	st = json_pack("{s:s, s:O, s:I, s:s}", "vkey", vr->vkey_text, "trusted", vr->trusted,
	               "size", (json_int_t)vr->size, "root", hex);
	rc = json_dump_file(st, vr->state_path, JSON_INDENT(1));
	json_decref(st);
	if (rc < 0) {
		fprintf(stderr, "rosterctl: cannot write state file %s\n", vr->state_path);
		return EXIT_INTERNAL;
	}
	return 0;
}

static int load_state(struct vrun *vr, json_t **state)
{
	uint8_t root[MERKLE_HASH];
	const char *root_hex;
	json_int_t size;

	*state = NULL;
	if (vr->state_path == NULL)
		return 0;
	*state = json_load_file(vr->state_path, 0, NULL);
	if (*state == NULL) /* first run: nothing seen yet */
		return 0;
	size = json_integer_value(json_object_get(*state, "size"));
	root_hex = json_string_value(json_object_get(*state, "root"));
	if (size <= 0 || roster_hex_decode(root, MERKLE_HASH, root_hex ? root_hex : "") < 0)
		return cmd_usage_error(&cmd_audit_verify_entry, "%s is not a verify state file",
		                       vr->state_path);
	verifier_expect(&vr->v, (uint64_t)size, root, "checkpoint you verified last");
	return 0;
}

static int cmd_audit_verify(struct ctl *ctl, int argc, char **argv)
{
	static const char *const opts[] = {"state", "pubkey",   "export", "checkpoint",
	                                   "!deep", "!offline", NULL};
	struct vrun vr = {.ctl = ctl};
	json_t *state = NULL;
	struct args a;
	int rc = args_parse(&cmd_audit_verify_entry, argc, argv, NULL, opts, 0, 0, &a);

	if (rc)
		return ARGS_DONE(rc);
	vr.state_path = a.opt[0];
	vr.pin = a.opt[1];
	vr.export_path = a.opt[2];
	vr.checkpoint_path = a.opt[3];
	vr.deep = a.opt[4] != NULL;
	vr.offline = a.opt[5] != NULL;
	if (vr.offline && (!vr.export_path || !vr.checkpoint_path || !vr.pin || vr.deep))
		return cmd_usage_error(&cmd_audit_verify_entry,
		                       "--offline needs --export, --checkpoint and --pubkey (and "
		                       "cannot check records: no --deep)");
	verifier_init(&vr.v, vr.deep);
	vr.jobs = usable_cpus();
	vfilters_init(&vr.filters, ctl);
	if (vr.deep) {
		vr.v.entry_check = vfilters_check;
		vr.v.entry_arg = &vr.filters;
	}
	if ((rc = load_state(&vr, &state)) || (rc = load_key(&vr, state)) ||
	    (rc = fetch_checkpoint(&vr)) || (!vr.offline && (rc = load_history(&vr))) ||
	    (rc = open_checkpoint(&vr)))
		goto done;
	if (state && (uint64_t)json_integer_value(json_object_get(state, "size")) > vr.size) {
		char seen[32];

		snprintf(seen, sizeof(seen), "%lld",
		         (long long)json_integer_value(json_object_get(state, "size")));
		rc =
		    verify_failed("entries from %llu on are missing: log rolled back: you verified "
		                  "%s entries before; the log now signs %llu",
		                  (unsigned long long)vr.size, seen, (unsigned long long)vr.size);
		goto done;
	}
	if ((rc = check_entries(&vr)) || (rc = vr.filters.rc) ||
	    (vr.deep && (rc = check_records(&vr))))
		goto done;
	printf("ok: %llu entries verified against the signed checkpoint%s%s\n",
	       (unsigned long long)vr.size, state ? " and your last state" : "",
	       vr.deep ? ", and every stored record matches its last audited write" : "");
	if (vr.deep && !vr.filters.absent)
		printf("ok: %llu block filters hold every entry they cover%s\n",
		       (unsigned long long)vr.filters.checked,
		       vr.filters.damaged ? " (and some are damaged: their blocks are read whole)"
		                          : "");
	if (vr.state_path)
		rc = save_state(&vr);
done:
	json_decref(state);
	free(vr.vkey_text);
	free(vr.note);
	json_decref(vr.trusted);
	verifier_free(&vr.v);
	vfilters_free(&vr.filters);
	return rc;
}

const struct cmd_entry cmd_audit_verify_entry = {
    "audit", "verify",
    "[--state FILE] [--pubkey KEY] [--deep] | --offline --export FILE --checkpoint FILE "
    "--pubkey KEY [--state FILE]",
    "verify the log's chain, Merkle roots and signatures; exit 1 names the first bad entry",
    cmd_audit_verify};
