/*
 * rosterctl.h - the client's shared pieces. Like tmux, each noun's commands
 * live in their own file (cmd-person.c, ...) as const struct cmd_entry values,
 * and cmd.c lists them in one table.
 */
#ifndef ROSTERCTL_H
#define ROSTERCTL_H

#include <stdint.h>

#include <jansson.h>

#include "roster/afilter.h"

#include "roster/record.h"

/* Exit codes (sysexits.h values), one per kind of outcome. */
enum {
	EXIT_OK = 0,
	EXIT_NOTFOUND = 1,
	EXIT_USAGE = 64,
	EXIT_REJECTED = 65,
	EXIT_UNREACHABLE = 69,
	EXIT_INTERNAL = 70,
	EXIT_TEMPFAIL = 75, /* the disk is full, rosterd busy or stopping: retry later */
	EXIT_DENIED = 77,
};

struct ctl {
	const char *socket;
	int json;     /* --json: the daemon's JSON, untouched */
	int progress; /* show an upload bar on stderr (set by commands, on a terminal) */
	/* While a request is outstanding, called about four times a second (a command
	 * drawing the daemon-side progress of a long operation). */
	void (*watch)(struct ctl *ctl);
};

struct response {
	long status;
	char *body;
	size_t len;
	json_t *json;        /* the body parsed, when it is JSON */
	char audit_next[24]; /* header Roster-Audit-Next: where a find goes on, or "" */
	char audit_end[24];  /* header Roster-Audit-End: a question answered, or "" */
};

struct cmd_entry {
	const char *noun;
	const char *verb;
	const char *usage; /* arguments after NOUN VERB */
	const char *help;
	int (*exec)(struct ctl *ctl, int argc, char **argv);
};

extern const struct cmd_entry cmd_person_find_entry, cmd_doc_find_entry, cmd_person_import_entry,
    cmd_person_export_entry;
extern const struct cmd_entry cmd_person_add_entry, cmd_person_get_entry, cmd_person_update_entry,
    cmd_person_list_entry;
extern const struct cmd_entry cmd_doc_add_entry, cmd_doc_get_entry, cmd_doc_list_entry,
    cmd_doc_custody_entry;
extern const struct cmd_entry cmd_travel_request_entry, cmd_travel_get_entry, cmd_travel_list_entry,
    cmd_travel_approve_entry, cmd_travel_deny_entry, cmd_travel_complete_entry,
    cmd_travel_cancel_entry;
extern const struct cmd_entry cmd_audit_tail_entry, cmd_audit_export_entry, cmd_audit_find_entry,
    cmd_audit_checkpoint_entry, cmd_audit_pubkey_entry, cmd_audit_prove_entry,
    cmd_audit_consistency_entry, cmd_audit_verify_entry;
extern const struct cmd_entry cmd_status_entry;
extern const struct cmd_entry cmd_role_list_entry, cmd_role_grant_entry, cmd_role_revoke_entry,
    cmd_backup_entry, cmd_key_status_entry, cmd_key_rotate_entry;
void print_keys(const json_t *keys);

#define AUDIT_PAGE 10000 /* the daemon's largest page of audit entries */

/* verify-filters.c: `audit verify --deep` checks each entry against its block's
 * filter (vfilters_check is a verifier's entry_check). */
struct vfilters {
	struct ctl *ctl;
	json_t *page; /* the filters fetched, and the next to look at */
	size_t i;
	uint64_t next; /* the seq the next page starts from */
	int more, started, absent;
	uint8_t *value; /* the filter at hand, decoded */
	struct roster_afilter f;
	int have;
	uint64_t checked, damaged;
	int rc; /* an exit code when the filters could not be read */
};
void vfilters_init(struct vfilters *vf, struct ctl *ctl);
int vfilters_check(void *arg, uint64_t seq, const json_t *entry, char *why, size_t len);
void vfilters_free(struct vfilters *vf);

/* cmd-audit.c: calls page with each page of the log from SEQ on, as the daemon
 * sent it (JSON lines), until a page comes back short or page returns non-zero. */
int audit_pages(struct ctl *ctl, unsigned long long from,
                int (*page)(const char *body, size_t len, void *arg), void *arg);

/* docgen.c: the manual page and bash completion, from the command table. */
void docgen_man(FILE *f, const struct cmd_entry *const *table);
void docgen_completion(FILE *f, const struct cmd_entry *const *table);

/* cmd.c */
extern const struct cmd_entry *const cmd_table[];
int cmd_run(struct ctl *ctl, int argc, char **argv);
void cmd_usage(FILE *f, const char *noun);
int cmd_usage_error(const struct cmd_entry *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Argument parsing shared by all commands: positional arguments, "--flag value"
 * options named in opts, and record fields from `fields` (when not NULL) into a
 * JSON body, which -f FILE (or - for stdin) may also supply. */
struct args {
	const char *pos[4];
	int npos;
	const char *opt[16]; /* values of opts[i], or NULL */
	json_t *body;        /* record fields, when fields != NULL */
};
int args_parse(const struct cmd_entry *e, int argc, char **argv, const struct roster_field *fields,
               const char *const *opts, int npos_min, int npos_max, struct args *a);
void args_free(struct args *a);

/* http.c: one request over the Unix socket; returns 0 or EXIT_UNREACHABLE. */
int http_request(struct ctl *ctl, const char *method, const char *path, const json_t *body,
                 struct response *r);
void response_free(struct response *r);
/* Reports r as the exit code says; on success calls print (unless --json). */
int http_finish(struct ctl *ctl, struct response *r, void (*print)(const json_t *));
/* Percent-encodes a query value. */
char *http_escape(const char *s);

/* progress.c: bars on a terminal's stderr, and the daemon's GET /v1/progress. */
int progress_wanted(const struct ctl *ctl);
void progress_draw(const char *label, uint64_t done, uint64_t total, const char *what);
void progress_done(void);
json_t *progress_fetch(const struct ctl *ctl);
void progress_sleep(unsigned ms);

/* output.c: human-readable forms. */
void print_person(const json_t *p);
void print_document(const json_t *d);
void print_travel(const json_t *t);
void print_person_line(const json_t *p);
void print_document_line(const json_t *d);
void print_travel_line(const json_t *t);
void print_list(const json_t *page, void (*line)(const json_t *));

/* The shapes most verbs share: get one record by id; page through a list. */
int cmd_get(struct ctl *ctl, const struct cmd_entry *e, const char *what, int argc, char **argv,
            void (*print)(const json_t *));
int cmd_list(struct ctl *ctl, const char *base, const char *limit, const char *after, int all,
             int find, void (*line)(const json_t *));
/* base + "?" + name=value for each non-NULL value (names with '-' sent as '_'). */
char *query_build(const char *base, const char *const *names, const char *const *values, size_t n);
#define ARGS_DONE(rc) ((rc) < 0 ? EXIT_OK : (rc))

/* A GET/POST of a record by id, printed with print: the common shape of many verbs. */
int cmd_simple(struct ctl *ctl, const char *method, const char *path, const json_t *body,
               void (*print)(const json_t *));

#endif
