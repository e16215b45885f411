/*
 * cmd-audit.c - rosterctl audit tail|export: the audit log as JSON lines,
 * byte for byte as the daemon hashed them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rosterctl.h"

#define AUDIT_PAGE 10000 /* the daemon's largest page */

static int audit_get(struct ctl *ctl, const char *path)
{
	struct response r;
	int rc = http_request(ctl, "GET", path, NULL, &r);

	if (rc)
		return rc;
	if (r.status == 200) {
		/* JSON lines are the output in both modes: they are what gets verified. */
		fwrite(r.body ? r.body : "", 1, r.len, stdout);
		response_free(&r);
		return EXIT_OK;
	}
	return http_finish(ctl, &r, NULL);
}

static int number_ok(const char *s)
{
	if (s == NULL || *s == '\0')
		return 0;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return 0;
	return 1;
}

static int cmd_audit_tail(struct ctl *ctl, int argc, char **argv)
{
	static const char *const opts[] = {"n", NULL};
	char path[128];
	struct args a;
	int rc = args_parse(&cmd_audit_tail_entry, argc, argv, NULL, opts, 0, 0, &a);

	if (rc)
		return ARGS_DONE(rc);
	if (a.opt[0] && !number_ok(a.opt[0]))
		return cmd_usage_error(&cmd_audit_tail_entry, "--n takes a whole number");
	snprintf(path, sizeof(path), "/v1/audit/entries?last=%s", a.opt[0] ? a.opt[0] : "20");
	return audit_get(ctl, path);
}

const struct cmd_entry cmd_audit_tail_entry = {
    "audit", "tail", "[--n N]", "print the last N audit entries (default 20)", cmd_audit_tail};

/* Pages through the log with ?from= until a page comes back short. Each page is
 * itself an audited read, so the export ends with the entry of its last page. */
static int cmd_audit_export(struct ctl *ctl, int argc, char **argv)
{
	static const char *const opts[] = {"from", NULL};
	unsigned long long from;
	char path[128];
	struct args a;
	int rc = args_parse(&cmd_audit_export_entry, argc, argv, NULL, opts, 0, 0, &a);

	if (rc)
		return ARGS_DONE(rc);
	if (a.opt[0] && !number_ok(a.opt[0]))
		return cmd_usage_error(&cmd_audit_export_entry, "--from takes a sequence number");
	from = a.opt[0] ? strtoull(a.opt[0], NULL, 10) : 0;
	for (;;) {
		struct response r;
		size_t lines = 0;

		snprintf(path, sizeof(path), "/v1/audit/entries?from=%llu&limit=%d", from,
		         AUDIT_PAGE);
		if ((rc = http_request(ctl, "GET", path, NULL, &r)) != 0)
			return rc;
		if (r.status != 200)
			return http_finish(ctl, &r, NULL);
		fwrite(r.body ? r.body : "", 1, r.len, stdout);
		for (size_t i = 0; i < r.len; i++)
			lines += r.body[i] == '\n';
		response_free(&r);
		if (lines < AUDIT_PAGE)
			return EXIT_OK;
		from += lines;
	}
}

const struct cmd_entry cmd_audit_export_entry = {
    "audit", "export", "[--from SEQ]", "print every audit entry from SEQ on, as JSON lines",
    cmd_audit_export};
