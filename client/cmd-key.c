/*
 * cmd-key.c - rosterctl key status|rotate: the administrator's view of the
 * registry's keys and their rotation. Key material never leaves the daemon.
 */
#include <stdio.h>
#include <string.h>

#include "rosterctl.h"

void print_keys(const json_t *keys)
{
	size_t i;
	json_t *k;

	json_array_foreach(keys, i, k)
	{
		printf("%-8s %-4lld %-9s", json_string_value(json_object_get(k, "kind")),
		       (long long)json_integer_value(json_object_get(k, "id")),
		       json_string_value(json_object_get(k, "state")));
		if (json_object_get(k, "records"))
			printf(" protects %lld records",
			       (long long)json_integer_value(json_object_get(k, "records")));
		if (json_object_get(k, "walked"))
			printf(" walked %lld of %lld records",
			       (long long)json_integer_value(json_object_get(k, "walked")),
			       (long long)json_integer_value(json_object_get(k, "of")));
		if (json_object_get(k, "created"))
			printf(" created %s", json_string_value(json_object_get(k, "created")));
		if (json_object_get(k, "retired"))
			printf(" (retired %s)", json_string_value(json_object_get(k, "retired")));
		printf("\n");
	}
}

static void print_key_status(const json_t *r)
{
	print_keys(json_object_get(r, "keys"));
}

static void print_rotated(const json_t *r)
{
	const char *kind = json_string_value(json_object_get(r, "kind"));
	long long active = (long long)json_integer_value(json_object_get(r, "active"));

	if (kind && strcmp(kind, "data") == 0)
		printf("data key %lld is active; key %lld is being retired as records are "
		       "re-encrypted (see rosterctl key status)\n",
		       active, (long long)json_integer_value(json_object_get(r, "retiring")));
	else if (kind && strcmp(kind, "signing") == 0)
		printf("signing key %lld is active: %s\nthe hand-over checkpoint, signed by both "
		       "keys:\n%s",
		       active, json_string_value(json_object_get(r, "vkey")),
		       json_string_value(json_object_get(r, "checkpoint")));
	else if (kind && strcmp(kind, "index") == 0)
		printf("index key %lld added: every record is being tagged under it in the "
		       "background; key %lld stays active until then, and is retired after (see "
		       "rosterctl key status)\n",
		       (long long)json_integer_value(json_object_get(r, "building")), active);
	else
		printf("master key replaced: %lld keys re-wrapped; %s holds the new key (back it "
		       "up now; the old one no longer opens the registry)\n",
		       (long long)json_integer_value(json_object_get(r, "rewrapped")),
		       json_string_value(json_object_get(r, "file")));
}

/* What a rotation leaves running in the background, as /v1/progress names it. */
struct bg_job {
	const char *field, *doing, *done;
};
static const struct bg_job reencrypt_job = {
    "reencrypt", "re-encrypting",
    "re-encryption done: every record is sealed under the active data key and older data "
    "keys are retired"};
static const struct bg_job reindex_job = {
    "reindex", "re-indexing",
    "index key rotation done: every record is indexed under the new key alone and the old "
    "one is retired"};

/* Waits for the background work a rotation started, drawing it on a terminal. The
 * end is announced when the job was seen running, or always if told. */
static int rotation_wait(struct ctl *ctl, const struct bg_job *job, int announce)
{
	int bar = progress_wanted(ctl);
	uint64_t scanned = 0, total = 0;
	char what[64];

	for (;;) {
		json_t *p = progress_fetch(ctl), *re;

		if (p == NULL) {
			fprintf(stderr,
			        "rosterctl: lost the daemon while %s; see rosterctl key status\n",
			        job->doing);
			return EXIT_UNREACHABLE;
		}
		re = json_object_get(p, job->field);
		if (!json_is_object(re)) {
			json_decref(p);
			break;
		}
		announce = 1;
		if (json_integer_value(json_object_get(re, "total")) > 0) {
			scanned = (uint64_t)json_integer_value(json_object_get(re, "scanned"));
			total = (uint64_t)json_integer_value(json_object_get(re, "total"));
		}
		json_decref(p);
		if (bar && total) {
			snprintf(what, sizeof(what), "%llu of %llu records",
			         (unsigned long long)scanned, (unsigned long long)total);
			progress_draw(job->doing, scanned, total, what);
		}
		progress_sleep(250);
	}
	if (bar && announce) {
		snprintf(what, sizeof(what), "%llu records", (unsigned long long)total);
		progress_draw(job->doing, total, total, total ? what : "");
		progress_done();
	}
	if (!ctl->json && announce)
		printf("%s\n", job->done);
	return EXIT_OK;
}

static int cmd_key_status(struct ctl *ctl, int argc, char **argv)
{
	static const char *const opts[] = {"!wait", NULL};
	struct args a;
	int rc = args_parse(&cmd_key_status_entry, argc, argv, NULL, opts, 0, 0, &a);

	if (rc)
		return ARGS_DONE(rc);
	if (a.opt[0] && ((rc = rotation_wait(ctl, &reencrypt_job, 0)) != EXIT_OK ||
	                 (rc = rotation_wait(ctl, &reindex_job, 0)) != EXIT_OK))
		return rc;
	return cmd_simple(ctl, "GET", "/v1/keys", NULL, print_key_status);
}

const struct cmd_entry cmd_key_status_entry = {
    "key", "status", "[--wait]",
    "every key: kind, id, state, and the records each data key protects; --wait first "
    "stays until the background work of rotations (re-encryption, re-indexing) is done",
    cmd_key_status};

static int cmd_key_rotate(struct ctl *ctl, int argc, char **argv)
{
	static const char *const opts[] = {"!wait", NULL};
	struct args a;
	json_t *body;
	int rc = args_parse(&cmd_key_rotate_entry, argc, argv, NULL, opts, 1, 1, &a);

	if (rc)
		return ARGS_DONE(rc);
	if (a.opt[0] && strcmp(a.pos[0], "data") != 0 && strcmp(a.pos[0], "index") != 0)
		return cmd_usage_error(
		    &cmd_key_rotate_entry,
		    "--wait only applies to data and index keys (the others finish at once)");
	body = json_pack("{s:s}", "kind", a.pos[0]);
	rc = cmd_simple(ctl, "POST", "/v1/keys/rotate", body, print_rotated);
	json_decref(body);
	if (rc == EXIT_OK && a.opt[0])
		rc = rotation_wait(
		    ctl, strcmp(a.pos[0], "data") == 0 ? &reencrypt_job : &reindex_job, 1);
	return rc;
}

const struct cmd_entry cmd_key_rotate_entry = {
    "key", "rotate", "data|signing|master|index [--wait]",
    "replace a key online: data (records re-encrypted in the background), signing (hand-over "
    "checkpoint signed by both), master (every key re-wrapped, the key file replaced), index "
    "(every record re-indexed in the background); --wait stays until the background work is "
    "done",
    cmd_key_rotate};
