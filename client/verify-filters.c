/*
 * verify-filters.c - `audit verify --deep` checks the log's block filters
 * (daemon/audit-filter.c) against the entries as it reads them.
 *
 * The filters only select which blocks a question reads, so they are not in
 * the hash chain or the Merkle tree; but a filter that left an entry out would
 * hide that entry from every `audit find` that asks for it, with the log itself
 * intact. So each entry is checked against the filter of its block: every key
 * it holds must be there, and its time within the block's span. The filters
 * come a page at a time (GET /v1/audit/filters), in step with the entries.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "roster/afilter.h"
#include "roster/util.h"
#include "rosterctl.h"

void vfilters_init(struct vfilters *vf, struct ctl *ctl)
{
	memset(vf, 0, sizeof(*vf));
	vf->ctl = ctl;
	vf->more = 1;
}

void vfilters_free(struct vfilters *vf)
{
	json_decref(vf->page);
	free(vf->value);
	vf->page = NULL;
	vf->value = NULL;
}

/* The next page of filters, from vf->next on; 0 when none is left. */
static int page_fetch(struct vfilters *vf)
{
	char path[96];
	struct response r;
	int rc;

	snprintf(path, sizeof(path), "/v1/audit/filters?from=%llu&limit=1000",
	         (unsigned long long)vf->next);
	if ((rc = http_request(vf->ctl, "GET", path, NULL, &r)) != 0) {
		vf->rc = rc;
		return 0;
	}
	if (r.status == 404) { /* a daemon before 0.7.4: its filters are not checked */
		response_free(&r);
		vf->absent = 1;
		return 0;
	}
	if (r.status != 200 || r.json == NULL) {
		vf->rc = http_finish(vf->ctl, &r, NULL);
		return 0;
	}
	json_decref(vf->page);
	vf->page = json_incref(json_object_get(r.json, "items"));
	vf->i = 0;
	vf->more = json_is_integer(json_object_get(r.json, "next"));
	if (vf->more)
		vf->next = (uint64_t)json_integer_value(json_object_get(r.json, "next"));
	response_free(&r);
	return json_array_size(vf->page) > 0;
}

/* Moves to the next stored filter; 0 when there is none. A damaged one (no
 * filter: its block is read whole) is counted and passed over. */
static int filter_next(struct vfilters *vf)
{
	for (;;) {
		const char *b64;
		size_t cap, len;

		if (vf->i >= json_array_size(vf->page) && (!vf->more || !page_fetch(vf)))
			return vf->have = 0;
		b64 =
		    json_string_value(json_object_get(json_array_get(vf->page, vf->i++), "value"));
		cap = b64 ? strlen(b64) : 0;
		free(vf->value);
		vf->value = roster_xmalloc(cap + 1);
		if (b64 &&
		    sodium_base642bin(vf->value, cap, b64, cap, NULL, &len, NULL,
		                      sodium_base64_VARIANT_ORIGINAL) == 0 &&
		    roster_afilter_parse(vf->value, len, &vf->f) == 0) {
			vf->checked++;
			return vf->have = 1;
		}
		vf->damaged++;
	}
}

int vfilters_check(void *arg, uint64_t seq, const json_t *entry, char *why, size_t len)
{
	struct vfilters *vf = arg;

	if (!vf->started) {
		vf->started = 1;
		vf->next = seq;
		filter_next(vf);
	}
	while (vf->have && seq - vf->f.first >= vf->f.count && seq >= vf->f.first)
		filter_next(vf);
	if (!vf->have || seq < vf->f.first) /* no filter: a question reads it */
		return 0;
	return roster_afilter_check_entry(&vf->f, entry, why, len);
}
