/*
 * cmd-audit.c - rosterctl audit tail|export: the audit log as JSON lines,
 * byte for byte as the daemon hashed them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rosterctl.h"

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
 * itself an audited read, so what is read ends with the entry of its last page. */
int audit_pages(struct ctl *ctl, unsigned long long from,
                int (*page)(const char *body, size_t len, void *arg), void *arg)
{
	char path[128];
	int rc;

	for (;;) {
		struct response r;
		size_t lines = 0;

		snprintf(path, sizeof(path), "/v1/audit/entries?from=%llu&limit=%d", from,
		         AUDIT_PAGE);
		if ((rc = http_request(ctl, "GET", path, NULL, &r)) != 0)
			return rc;
		if (r.status != 200)
			return http_finish(ctl, &r, NULL);
		for (size_t i = 0; r.body && i < r.len; i++)
			lines += r.body[i] == '\n';
		rc = page(r.body ? r.body : "", r.len, arg);
		response_free(&r);
		if (rc != EXIT_OK || lines < AUDIT_PAGE)
			return rc;
		from += lines;
	}
}

static int page_print(const char *body, size_t len, void *arg)
{
	(void)arg;
	fwrite(body, 1, len, stdout);
	return EXIT_OK;
}

static int cmd_audit_export(struct ctl *ctl, int argc, char **argv)
{
	static const char *const opts[] = {"from", NULL};
	struct args a;
	int rc = args_parse(&cmd_audit_export_entry, argc, argv, NULL, opts, 0, 0, &a);

	if (rc)
		return ARGS_DONE(rc);
	if (a.opt[0] && !number_ok(a.opt[0]))
		return cmd_usage_error(&cmd_audit_export_entry, "--from takes a sequence number");
	return audit_pages(ctl, a.opt[0] ? strtoull(a.opt[0], NULL, 10) : 0, page_print, NULL);
}

const struct cmd_entry cmd_audit_export_entry = {
    "audit", "export", "[--from SEQ]", "print every audit entry from SEQ on, as JSON lines",
    cmd_audit_export};

/* Prints one string field of the reply as it is (notes and keys are text). */
static int print_field(struct ctl *ctl, const char *method, const char *path, const char *field)
{
	struct response r;
	const char *text;
	int rc = http_request(ctl, method, path, NULL, &r);

	if (rc)
		return rc;
	text = json_string_value(json_object_get(r.json, field));
	if (r.status != 200 || ctl->json || text == NULL)
		return http_finish(ctl, &r, NULL);
	fputs(text, stdout);
	if (text[0] && text[strlen(text) - 1] != '\n')
		fputc('\n', stdout);
	response_free(&r);
	return EXIT_OK;
}

static int cmd_audit_checkpoint(struct ctl *ctl, int argc, char **argv)
{
	static const char *const opts[] = {"!new", NULL};
	struct args a;
	int rc = args_parse(&cmd_audit_checkpoint_entry, argc, argv, NULL, opts, 0, 0, &a);

	if (rc)
		return ARGS_DONE(rc);
	return print_field(ctl, a.opt[0] ? "POST" : "GET", "/v1/audit/checkpoint", "checkpoint");
}

const struct cmd_entry cmd_audit_checkpoint_entry = {
    "audit", "checkpoint", "[--new]",
    "print the latest signed checkpoint (--new: sign one covering the log now)",
    cmd_audit_checkpoint};

static int cmd_audit_pubkey(struct ctl *ctl, int argc, char **argv)
{
	struct args a;
	int rc = args_parse(&cmd_audit_pubkey_entry, argc, argv, NULL, NULL, 0, 0, &a);

	if (rc)
		return ARGS_DONE(rc);
	return print_field(ctl, "GET", "/v1/audit/pubkey", "vkey");
}

const struct cmd_entry cmd_audit_pubkey_entry = {
    "audit", "pubkey", "", "print the log's verifier key (C2SP vkey)", cmd_audit_pubkey};

static int cmd_audit_prove(struct ctl *ctl, int argc, char **argv)
{
	static const char *const opts[] = {"size", NULL};
	char path[128];
	struct args a;
	int rc = args_parse(&cmd_audit_prove_entry, argc, argv, NULL, opts, 1, 1, &a);

	if (rc)
		return ARGS_DONE(rc);
	if (!number_ok(a.pos[0]) || (a.opt[0] && !number_ok(a.opt[0])))
		return cmd_usage_error(&cmd_audit_prove_entry, "SEQ and N are whole numbers");
	snprintf(path, sizeof(path), "/v1/audit/proof/inclusion?index=%s%s%s", a.pos[0],
	         a.opt[0] ? "&size=" : "", a.opt[0] ? a.opt[0] : "");
	return cmd_simple(ctl, "GET", path, NULL, NULL);
}

const struct cmd_entry cmd_audit_prove_entry = {
    "audit", "prove", "SEQ [--size N]",
    "print an inclusion proof of entry SEQ in the tree of size N (default: now)", cmd_audit_prove};

static int cmd_audit_consistency(struct ctl *ctl, int argc, char **argv)
{
	char path[128];
	struct args a;
	int rc = args_parse(&cmd_audit_consistency_entry, argc, argv, NULL, NULL, 2, 2, &a);

	if (rc)
		return ARGS_DONE(rc);
	if (!number_ok(a.pos[0]) || !number_ok(a.pos[1]))
		return cmd_usage_error(&cmd_audit_consistency_entry, "OLD and NEW are tree sizes");
	snprintf(path, sizeof(path), "/v1/audit/proof/consistency?old=%s&new=%s", a.pos[0],
	         a.pos[1]);
	return cmd_simple(ctl, "GET", path, NULL, NULL);
}

const struct cmd_entry cmd_audit_consistency_entry = {
    "audit", "consistency", "OLD NEW", "print a consistency proof between tree sizes OLD and NEW",
    cmd_audit_consistency};
