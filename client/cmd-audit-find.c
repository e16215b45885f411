/*
 * cmd-audit-find.c - rosterctl audit find: the entries that name a record, an
 * account, an action, an outcome or a time span, as JSON lines byte for byte as
 * the daemon hashed them. An auditor's question "who read this person, and
 * when" answered from the log itself.
 *
 * The daemon answers the question (roster/aquery.h), reading only the blocks of
 * the log whose filter and time span may hold a match (daemon/audit-filter.c),
 * a bounded amount a reply, each reply an audited read. Given an export file
 * (--export) this answers it here, with the same code, and needs no daemon at
 * all. `audit verify` is what proves the entries; this only selects them.
 *
 * --asked ID turns the question on the auditors: the reads of the log whose
 * question named the record (their entry's query.target). The daemon selects
 * the reads (action audit.read) and the record is matched here, since it is no
 * key of the filters.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "roster/aquery.h"
#include "roster/util.h"
#include "rosterctl.h"

struct filter {
	struct roster_aquery q;
	const char *asked; /* --asked: the record the reads' questions named, or NULL */
	size_t lines, seen, matched;
};

/* Whether the read's entry asked about f->asked. */
static int asked_about(const struct filter *f, const char *p, size_t n)
{
	json_t *e = json_loadb(p, n, 0, NULL);
	const char *target =
	    json_string_value(json_object_get(json_object_get(e, "query"), "target"));
	int yes = target && strcmp(target, f->asked) == 0;

	json_decref(e);
	return yes;
}

static void line_print(struct filter *f, const char *p, size_t n)
{
	if (f->asked && !asked_about(f, p, n))
		return;
	f->matched++;
	fwrite(p, 1, n, stdout);
	fputc('\n', stdout);
}

/* Prints the lines of buf[0..len) that match; -1 on a line that is not an entry
 * (one the text alone decides is taken for one: a line of that shape). */
static int lines_filter(const char *buf, size_t len, struct filter *f, const char *where)
{
	const char *p = buf, *end = buf + len;
	int sure;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = (nl ? nl : end) - p;
		json_t *e;

		f->lines++;
		if (n > 0 && (sure = roster_aquery_text_match(&f->q, p, n)) >= 0) {
			f->seen++;
			if (sure)
				line_print(f, p, n);
		} else if (n > 0 && !roster_aquery_text_may_match(&f->q, p, n)) {
			f->seen++;
		} else if (n > 0) {
			if ((e = json_loadb(p, n, 0, NULL)) == NULL || !json_is_object(e)) {
				json_decref(e);
				fprintf(stderr, "rosterctl: %s: line %zu is not an audit entry\n",
				        where, f->lines);
				return -1;
			}
			f->seen++;
			if (roster_aquery_match(&f->q, e))
				line_print(f, p, n);
			json_decref(e);
		}
		p += n + 1;
	}
	return 0;
}

static int page_filter(const char *body, size_t len, void *arg)
{
	return lines_filter(body, len, arg, "the daemon's reply") < 0 ? EXIT_INTERNAL : EXIT_OK;
}

/* The question as a query string, each value escaped. */
static char *query_string(const struct roster_aquery *q)
{
	char uid[32];
	const char *names[] = {"target", "actor", "action", "outcome", "since", "until"};
	const char *values[] = {q->target, q->user, q->action, q->outcome, q->since, q->until};
	char *out = roster_xstrdup(""), *next;

	if (q->uid >= 0) {
		snprintf(uid, sizeof(uid), "uid:%lld", q->uid);
		values[1] = uid;
	}
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char *v;

		if (values[i] == NULL)
			continue;
		v = http_escape(values[i]);
		next = roster_xasprintf("%s%s=%s&", out, names[i], v);
		free(v);
		free(out);
		out = next;
	}
	return out;
}

/* The daemon's answers from `from` on: each says where the next begins
 * (Roster-Audit-Next) until the log's end. A daemon before 0.7.4 knows only
 * target: without one it sends a page of the log instead of an answer (no
 * Roster-Audit-End), and the log is paged and filtered here. What comes back is
 * filtered here too, which for such a daemon applies the other conditions. */
static int find_by_question(struct ctl *ctl, unsigned long long from, struct filter *f)
{
	char *query = query_string(&f->q), *path = NULL;
	/* How far the daemon has searched, when the entries go to a file or a pipe. */
	int shown = 0, show = progress_wanted(ctl) && !isatty(1);
	int rc;

	for (;;) {
		unsigned long long next;
		struct response r;

		free(path);
		path = roster_xasprintf("/v1/audit/entries?%sfrom=%llu&limit=%d", query, from,
		                        AUDIT_PAGE);
		if ((rc = http_request(ctl, "GET", path, NULL, &r)) != 0)
			break;
		if (r.status != 200) {
			rc = http_finish(ctl, &r, NULL);
			break;
		}
		if (r.audit_end[0] == '\0' && f->q.target == NULL) {
			response_free(&r);
			rc = audit_pages(ctl, from, page_filter, f);
			break;
		}
		rc = page_filter(r.body ? r.body : "", r.len, f);
		next = strtoull(r.audit_next, NULL, 10);
		if (rc == EXIT_OK && r.audit_next[0] && next <= from) {
			fprintf(stderr, "rosterctl: the daemon's find went back to entry %llu\n",
			        next);
			rc = EXIT_INTERNAL;
		}
		if (rc != EXIT_OK || r.audit_next[0] == '\0') {
			response_free(&r);
			break;
		}
		if (show && r.audit_end[0]) {
			progress_draw("searching", next, strtoull(r.audit_end, NULL, 10),
			              "of the log");
			shown = 1;
		}
		response_free(&r);
		from = next;
	}
	if (shown)
		progress_done();
	free(path);
	free(query);
	return rc;
}

static int find_offline(const char *path, struct filter *f)
{
	FILE *in = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int rc = EXIT_OK;

	if (in == NULL)
		return cmd_usage_error(&cmd_audit_find_entry, "cannot read export %s: %s", path,
		                       strerror(errno));
	while ((n = getline(&line, &cap, in)) > 0)
		if (lines_filter(line, (size_t)n, f, path) < 0) {
			rc = EXIT_REJECTED;
			break;
		}
	if (rc == EXIT_OK && ferror(in)) {
		fprintf(stderr, "rosterctl: reading %s: %s\n", path, strerror(errno));
		rc = EXIT_INTERNAL;
	}
	free(line);
	fclose(in);
	return rc;
}

/* --asked ID: the reads of the log (the action, unless another was given) whose
 * question named ID, a value a target could be. */
static int asked_set(struct filter *f, const char *id, struct roster_err *err)
{
	struct roster_aquery check;
	int rc;

	roster_aquery_init(&check);
	rc = roster_aquery_set(&check, "target", id, err);
	roster_aquery_free(&check);
	if (rc < 0)
		return -1;
	if (f->q.action && strcmp(f->q.action, "audit.read") != 0)
		return roster_err_set(err, 400, "bad_query",
		                      "it finds reads of the log (audit.read), not %s",
		                      f->q.action);
	if (f->q.action == NULL && roster_aquery_set(&f->q, "action", "audit.read", err) < 0)
		return -1;
	f->asked = id;
	return 0;
}

static int cmd_audit_find(struct ctl *ctl, int argc, char **argv)
{
	static const char *const opts[] = {"target", "actor", "action", "outcome", "since",
	                                   "until",  "from",  "export", "asked",   NULL};
	const struct cmd_entry *e = &cmd_audit_find_entry;
	struct filter f = {0};
	unsigned long long from = 0;
	struct roster_err err;
	struct args a;
	int rc = args_parse(e, argc, argv, NULL, opts, 0, 0, &a);

	if (rc)
		return ARGS_DONE(rc);
	roster_aquery_init(&f.q);
	for (size_t i = 0; i < 6; i++)
		if (a.opt[i] && roster_aquery_set(&f.q, opts[i], a.opt[i], &err) < 0) {
			roster_aquery_free(&f.q);
			return cmd_usage_error(e, "--%s", err.message);
		}
	if (a.opt[8] && asked_set(&f, a.opt[8], &err) < 0) {
		roster_aquery_free(&f.q);
		return cmd_usage_error(e, "--asked: %s", err.message);
	}
	if (roster_aquery_empty(&f.q))
		return cmd_usage_error(e,
		                       "give at least one of --target, --actor, --action, "
		                       "--outcome, --since, --until (every entry: audit export)");
	if (a.opt[6]) {
		char *end;

		errno = 0;
		from = strtoull(a.opt[6], &end, 10);
		if (a.opt[6][0] < '0' || a.opt[6][0] > '9' || *end || errno || a.opt[7]) {
			roster_aquery_free(&f.q);
			return cmd_usage_error(e, a.opt[7] ? "--from reads the daemon's log; with "
			                                     "--export, the file holds what was "
			                                     "exported"
			                                   : "--from takes a sequence number");
		}
	}
	rc = a.opt[7] ? find_offline(a.opt[7], &f) : find_by_question(ctl, from, &f);
	if (fflush(stdout) != 0 && rc == EXIT_OK)
		rc = EXIT_INTERNAL;
	if (rc == EXIT_OK && f.matched == 0) {
		if (a.opt[7])
			fprintf(stderr, "rosterctl: none of %zu entries matched\n", f.seen);
		else if (f.asked)
			fprintf(stderr, "rosterctl: no read of the log asked about %s\n", f.asked);
		else if (f.q.target)
			fprintf(stderr, "rosterctl: no entry naming %s matched\n", f.q.target);
		else
			fprintf(stderr, "rosterctl: no entry matched\n");
		rc = EXIT_NOTFOUND;
	}
	roster_aquery_free(&f.q);
	return rc;
}

const struct cmd_entry cmd_audit_find_entry = {
    "audit", "find",
    "[--target ID] [--actor USER|uid:N] [--action A] [--outcome O] [--since T] [--until T] "
    "[--asked ID] [--from SEQ | --export FILE]",
    "print the audit entries naming a record, by an account, of an action, outcome or time "
    "span (T: YYYY-MM-DD or RFC 3339 UTC); --asked: the reads of the log whose question named "
    "a record; exit 1 if none",
    cmd_audit_find};
