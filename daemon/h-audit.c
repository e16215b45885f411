/*
 * h-audit.c - reading the audit log (auditors): ?from=SEQ&limit=N or ?last=N,
 * a page of at most AUDIT_PAGE_MAX entries. The read is itself audited; the
 * entries go out as JSON lines, byte for byte as hashed, after the commit that
 * records the read, so a page can end with the entry of its own read.
 */
#include <stdlib.h>

#include "rosterd.h"

static int parse_u64(const char *s, uint64_t *out)
{
	char *end;

	if (*s < '0' || *s > '9')
		return -1;
	*out = strtoull(s, &end, 10);
	return *end ? -1 : 0;
}

static int entries_apply(struct wtxn *w, struct op *op)
{
	/* This op's own entry gets seq w->log_size; include it. */
	uint64_t size = w->log_size + 1;

	op->reply_audit = 1;
	if (op->param2[0] == 'l') /* last N */
		op->seq_from = op->version < size ? size - op->version : 0;
	else
		op->seq_from = op->version;
	if (op->seq_from > size)
		op->seq_from = size;
	op->seq_to = op->seq_from + op->limit < size ? op->seq_from + op->limit : size;
	op->status = 200;
	return 0;
}

int h_audit_entries(struct server *srv, struct op *op, const char *id)
{
	char from[32], last[32];
	int has_from = http_query(op->req, "from", from, sizeof(from)) != NULL;
	int has_last = http_query(op->req, "last", last, sizeof(last)) != NULL;

	(void)srv;
	(void)id;
	if (has_from && has_last)
		return roster_err_set(&op->err, 400, "bad_query", "give from or last, not both");
	if ((has_from && parse_u64(from, &op->version) < 0) ||
	    (has_last && parse_u64(last, &op->version) < 0))
		return roster_err_set(&op->err, 400, "bad_query",
		                      "from and last must be whole numbers");
	if (has_last)
		op->param2[0] = 'l';
	if (http_query_limit(op->req, AUDIT_PAGE_MAX, AUDIT_PAGE_MAX, &op->limit, &op->err) < 0)
		return -1;
	op->apply = entries_apply;
	return 0;
}
