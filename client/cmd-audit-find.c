/*
 * cmd-audit-find.c - rosterctl audit find: the entries that name a record, an
 * account, an action, an outcome or a time span, as JSON lines byte for byte as
 * the daemon hashed them. An auditor's question "who read this person, and
 * when" answered from the log itself.
 *
 * With --target the daemon selects the entries naming the record, reading only
 * the blocks of the log whose filter may hold it (daemon/audit-filter.c); the
 * other filters run here, over what it sends or, without --target, over the log
 * paged from --from on (each page an audited read, as `audit export` does), or
 * over a file `audit export` wrote (--export), which needs no daemon at all.
 * `audit verify` is what proves the entries; this only selects them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "roster/afilter.h"
#include "roster/util.h"
#include "rosterctl.h"

struct filter {
	const char *target, *user, *action, *outcome, *since, *until;
	long long uid; /* -1: not by uid */
	size_t lines, seen, matched;
	/* Text each matching line must hold, as the canonical form writes it: a line
	 * without one is passed over unparsed (a JSON parse is most of the cost). */
	char *needle[5];
	size_t nneedles;
};

static int in_span(const char *time, const struct filter *f);

/* A value as a JSON string, when it needs no escaping (else no needle). */
static void needle_add(struct filter *f, const char *value)
{
	for (const char *p = value; *p; p++)
		if (*p == '"' || *p == '\\' || (unsigned char)*p < 0x20)
			return;
	f->needle[f->nneedles++] = roster_xasprintf("\"%s\"", value);
}

static void needles_make(struct filter *f)
{
	const char *values[] = {f->target, f->user, f->action, f->outcome};

	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++)
		if (values[i])
			needle_add(f, values[i]);
	if (f->uid >= 0)
		f->needle[f->nneedles++] = roster_xasprintf("\"uid\":%lld", f->uid);
}

static void needles_free(struct filter *f)
{
	while (f->nneedles > 0)
		free(f->needle[--f->nneedles]);
}

/* The time span without a parse: "time":" occurs once in a canonical entry, as
 * its member (inside a string every quote is escaped). A line without it is left
 * to the parse. */
static int time_could_be_in(const struct filter *f, const char *line, size_t n)
{
	static const char key[] = "\"time\":\"";
	const char *at = memmem(line, n, key, sizeof(key) - 1);
	char time[32];
	size_t len;

	if (at == NULL)
		return 1;
	at += sizeof(key) - 1;
	for (len = 0; at + len < line + n && at[len] != '"' && len < sizeof(time) - 1; len++)
		time[len] = at[len];
	time[len] = '\0';
	return in_span(time, f);
}

static int needles_in(const struct filter *f, const char *line, size_t n)
{
	for (size_t i = 0; i < f->nneedles; i++)
		if (memmem(line, n, f->needle[i], strlen(f->needle[i])) == NULL)
			return 0;
	return !(f->since || f->until) || time_could_be_in(f, line, n);
}

static int str_is(const json_t *v, const char *want)
{
	return json_is_string(v) && strcmp(json_string_value(v), want) == 0;
}

/* Times are RFC 3339 UTC to the second, so text order is time order; a bound
 * given as a date covers that whole day. */
static int in_span(const char *time, const struct filter *f)
{
	if (f->since && strcmp(time, f->since) < 0)
		return 0;
	if (f->until && strncmp(time, f->until, strlen(f->until)) > 0)
		return 0;
	return 1;
}

static int entry_matches(const json_t *e, const struct filter *f)
{
	const json_t *actor = json_object_get(e, "actor"), *time = json_object_get(e, "time");

	/* Its target, one of a list's targets, a value stored beside the target (a
	 * custody event's history entry), or the person whose document or trip the
	 * target is: the daemon's filters go by the same names. */
	if (f->target && !roster_audit_names_id(e, f->target))
		return 0;
	if (f->uid >= 0 && json_integer_value(json_object_get(actor, "uid")) != f->uid)
		return 0;
	if (f->user && !str_is(json_object_get(actor, "user"), f->user))
		return 0;
	if (f->action && !str_is(json_object_get(e, "action"), f->action))
		return 0;
	if (f->outcome && !str_is(json_object_get(e, "outcome"), f->outcome))
		return 0;
	if ((f->since || f->until) &&
	    (!json_is_string(time) || !in_span(json_string_value(time), f)))
		return 0;
	return 1;
}

/* Prints the lines of buf[0..len) that match; -1 on a line that is not an entry. */
static int lines_filter(const char *buf, size_t len, struct filter *f, const char *where)
{
	const char *p = buf, *end = buf + len;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = (nl ? nl : end) - p;
		json_t *e;

		f->lines++;
		if (n > 0 && !needles_in(f, p, n)) {
			f->seen++;
		} else if (n > 0) {
			if ((e = json_loadb(p, n, 0, NULL)) == NULL || !json_is_object(e)) {
				json_decref(e);
				fprintf(stderr, "rosterctl: %s: line %zu is not an audit entry\n",
				        where, f->lines);
				return -1;
			}
			f->seen++;
			if (entry_matches(e, f)) {
				f->matched++;
				fwrite(p, 1, n, stdout);
				fputc('\n', stdout);
			}
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

/* The daemon's pages of the entries naming f->target, from `from` on: each page
 * says where the next begins (Roster-Audit-Next) until the log's end. */
static int find_by_target(struct ctl *ctl, unsigned long long from, struct filter *f)
{
	char *id = http_escape(f->target), path[256];
	int rc;

	for (;;) {
		unsigned long long next;
		struct response r;

		snprintf(path, sizeof(path), "/v1/audit/entries?target=%s&from=%llu&limit=%d", id,
		         from, AUDIT_PAGE);
		if ((rc = http_request(ctl, "GET", path, NULL, &r)) != 0)
			break;
		if (r.status != 200) {
			rc = http_finish(ctl, &r, NULL);
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
		response_free(&r);
		from = next;
	}
	free(id);
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

/* Two digits at s, from lo to hi. */
static int in_range(const char *s, int lo, int hi)
{
	int v = (s[0] - '0') * 10 + (s[1] - '0');

	return v >= lo && v <= hi;
}

/* YYYY-MM-DD, or YYYY-MM-DDTHH:MM:SSZ as the entries have it. */
static int time_ok(const char *s)
{
	static const char shape[] = "dddd-dd-ddTdd:dd:ddZ";
	size_t n = strlen(s);

	if (n != 10 && n != sizeof(shape) - 1)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (shape[i] == 'd' ? s[i] < '0' || s[i] > '9' : s[i] != shape[i])
			return 0;
	return in_range(s + 5, 1, 12) && in_range(s + 8, 1, 31) &&
	       (n == 10 ||
	        (in_range(s + 11, 0, 23) && in_range(s + 14, 0, 59) && in_range(s + 17, 0, 60)));
}

static int actor_parse(const char *s, struct filter *f)
{
	char *end;

	if (strncmp(s, "uid:", 4) != 0) {
		f->user = s;
		return 0;
	}
	errno = 0;
	f->uid = strtoll(s + 4, &end, 10);
	return s[4] >= '0' && s[4] <= '9' && *end == '\0' && errno == 0 ? 0 : -1;
}

static int cmd_audit_find(struct ctl *ctl, int argc, char **argv)
{
	static const char *const opts[] = {"target", "actor", "action", "outcome", "since",
	                                   "until",  "from",  "export", NULL};
	const struct cmd_entry *e = &cmd_audit_find_entry;
	struct filter f = {.uid = -1};
	unsigned long long from = 0;
	struct args a;
	int rc = args_parse(e, argc, argv, NULL, opts, 0, 0, &a);

	if (rc)
		return ARGS_DONE(rc);
	f.target = a.opt[0];
	f.action = a.opt[2];
	f.outcome = a.opt[3];
	f.since = a.opt[4];
	f.until = a.opt[5];
	if (!f.target && !a.opt[1] && !f.action && !f.outcome && !f.since && !f.until)
		return cmd_usage_error(e,
		                       "give at least one of --target, --actor, --action, "
		                       "--outcome, --since, --until (every entry: audit export)");
	if (a.opt[1] && actor_parse(a.opt[1], &f) < 0)
		return cmd_usage_error(e, "--actor takes an account name or uid:N");
	if ((f.since && !time_ok(f.since)) || (f.until && !time_ok(f.until)))
		return cmd_usage_error(e, "--since and --until take YYYY-MM-DD or "
		                          "YYYY-MM-DDTHH:MM:SSZ (UTC)");
	if (a.opt[6]) {
		char *end;

		errno = 0;
		from = strtoull(a.opt[6], &end, 10);
		if (a.opt[6][0] < '0' || a.opt[6][0] > '9' || *end || errno)
			return cmd_usage_error(e, "--from takes a sequence number");
		if (a.opt[7])
			return cmd_usage_error(e, "--from reads the daemon's log; with --export, "
			                          "the file holds what was exported");
	}
	needles_make(&f);
	rc = a.opt[7]   ? find_offline(a.opt[7], &f)
	     : f.target ? find_by_target(ctl, from, &f)
	                : audit_pages(ctl, from, page_filter, &f);
	needles_free(&f);
	if (fflush(stdout) != 0 && rc == EXIT_OK)
		rc = EXIT_INTERNAL;
	if (rc == EXIT_OK && f.matched == 0) {
		if (f.target && !a.opt[7])
			fprintf(stderr, "rosterctl: none of the %zu entries naming %s matched\n",
			        f.seen, f.target);
		else
			fprintf(stderr, "rosterctl: none of %zu entries matched\n", f.seen);
		rc = EXIT_NOTFOUND;
	}
	return rc;
}

const struct cmd_entry cmd_audit_find_entry = {
    "audit", "find",
    "[--target ID] [--actor USER|uid:N] [--action A] [--outcome O] [--since T] [--until T] "
    "[--from SEQ | --export FILE]",
    "print the audit entries naming a record, by an account, of an action, outcome or time "
    "span (T: YYYY-MM-DD or RFC 3339 UTC); exit 1 if none",
    cmd_audit_find};
