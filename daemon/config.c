/*
 * config.c - rosterd.conf, an INI file read with inih into struct config.
 * Parsed once at start; SIGHUP re-reads it only to swap the role table.
 */
#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ini.h>
#include <sodium.h>

#include "rosterd.h"
#include "roster/log.h"

static const char *const role_names[ROLE_COUNT] = {"clerk", "approver", "auditor", "admin"};

const char *role_name(int role_bit)
{
	for (int i = 0; i < ROLE_COUNT; i++)
		if (role_bit == 1 << i)
			return role_names[i];
	return "?";
}

struct parse_ctx {
	struct config *cfg;
	struct roster_err *err;
	int failed;
};

static void add_uid(struct role_members *m, uid_t uid)
{
	m->uids = roster_xrealloc(m->uids, (m->n_uids + 1) * sizeof(uid_t));
	m->uids[m->n_uids++] = uid;
}

static void add_gid(struct role_members *m, gid_t gid)
{
	m->gids = roster_xrealloc(m->gids, (m->n_gids + 1) * sizeof(gid_t));
	m->gids[m->n_gids++] = gid;
}

static int parse_number(const char *s, unsigned long max, unsigned long *out)
{
	char *end;

	errno = 0;
	*out = strtoul(s, &end, 10);
	return errno || end == s || *end || *s == '-' || *out > max ? -1 : 0;
}

/* One member: user:NAME, uid:N, group:NAME (its gid and its listed members), gid:N. */
static int add_member(struct role_members *m, char *item, struct roster_err *err)
{
	char *val = strchr(item, ':');
	unsigned long n;

	if (val == NULL)
		return roster_err_set(
		    err, 0, "config",
		    "role member '%s' needs a kind: user:, uid:, group: or gid:", item);
	*val++ = '\0';
	if (strcmp(item, "uid") == 0 || strcmp(item, "gid") == 0) {
		if (parse_number(val, 0xfffffffeUL, &n) < 0)
			return roster_err_set(err, 0, "config", "%s:%s is not a number", item, val);
		if (item[0] == 'u')
			add_uid(m, (uid_t)n);
		else
			add_gid(m, (gid_t)n);
	} else if (strcmp(item, "user") == 0) {
		struct passwd *pw = getpwnam(val);

		if (pw == NULL)
			return roster_err_set(err, 0, "config", "no such user '%s'", val);
		add_uid(m, pw->pw_uid);
	} else if (strcmp(item, "group") == 0) {
		struct group *gr = getgrnam(val);

		if (gr == NULL)
			return roster_err_set(err, 0, "config", "no such group '%s'", val);
		add_gid(m, gr->gr_gid);
		for (char **mem = gr->gr_mem; *mem; mem++) {
			struct passwd *pw = getpwnam(*mem);

			if (pw)
				add_uid(m, pw->pw_uid);
		}
	} else {
		return roster_err_set(
		    err, 0, "config",
		    "role member kind '%s' is unknown: use user:, uid:, group: or "
		    "gid:",
		    item);
	}
	return 0;
}

static int parse_role(struct config *cfg, const char *role, const char *value,
                      struct roster_err *err)
{
	char *list, *item, *save = NULL;
	int idx = -1, rc = 0;

	for (int i = 0; i < ROLE_COUNT; i++)
		if (strcmp(role, role_names[i]) == 0)
			idx = i;
	if (idx < 0)
		return roster_err_set(
		    err, 0, "config",
		    "unknown role '%s': roles are clerk, approver, auditor, admin", role);
	list = roster_xstrdup(value);
	for (item = strtok_r(list, ",", &save); item && rc == 0;
	     item = strtok_r(NULL, ",", &save)) {
		while (isspace((unsigned char)*item))
			item++;
		for (char *e = item + strlen(item); e > item && isspace((unsigned char)e[-1]);)
			*--e = '\0';
		if (*item)
			rc = add_member(&cfg->roles.members[idx], item, err);
	}
	free(list);
	return rc;
}

static int set_string(char **slot, const char *value)
{
	free(*slot);
	*slot = roster_xstrdup(value);
	return 0;
}

/* Whole-number settings, each at least 1: name, largest value, where it goes. */
static const struct count_setting {
	const char *name;
	unsigned long max;
	size_t offset, size; /* of the field in struct config */
} count_settings[] = {
    {"checkpoint_entries", 1UL << 40, offsetof(struct config, checkpoint_entries),
     sizeof(uint64_t)},
    {"checkpoint_seconds", 86400, offsetof(struct config, checkpoint_seconds), sizeof(unsigned)},
    {"reencrypt_batch", 65536, offsetof(struct config, reencrypt_batch), sizeof(size_t)},
    {"reencrypt_slice_ms", 60000, offsetof(struct config, reencrypt_slice_ms), sizeof(unsigned)},
    {"batch_max", 65536, offsetof(struct config, batch_max), sizeof(size_t)},
    {"index_log_entries", IDXLOG_MAX / 2, offsetof(struct config, index_log_entries),
     sizeof(size_t)},
    {"audit_filter_block", 65536, offsetof(struct config, audit_filter_block), sizeof(size_t)},
    {"tree_convert_slice", 65536, offsetof(struct config, tree_convert_slice), sizeof(size_t)},
    {"max_connections", 1000000, offsetof(struct config, max_connections), sizeof(size_t)},
    {"max_connections_per_uid", 1000000, offsetof(struct config, max_connections_per_uid),
     sizeof(size_t)},
    {"client_timeout", 3600, offsetof(struct config, client_timeout), sizeof(unsigned)},
};
_Static_assert(sizeof(size_t) == sizeof(uint64_t), "size_t settings are stored as 64 bits");

/* A size in bytes, or with M or G; from 1M to max. */
static int set_bytes(const char *name, const char *value, unsigned long max, size_t *out,
                     struct roster_err *err)
{
	char *end;
	unsigned long n = strtoul(value, &end, 10);
	int shift = 0;

	if (*end == 'M' || *end == 'm')
		shift = 20, end++;
	else if (*end == 'G' || *end == 'g')
		shift = 30, end++;
	if (*value < '0' || *value > '9' || *end || n > (max >> shift) ||
	    (n << shift) < (1UL << 20))
		return roster_err_set(err, 0, "config",
		                      "%s must be bytes (or with M or G), from 1M to %luM", name,
		                      max >> 20);
	*out = n << shift;
	return 0;
}

static int set_count(struct config *cfg, const struct count_setting *c, const char *value,
                     struct roster_err *err)
{
	char *field = (char *)cfg + c->offset;
	unsigned long n;

	if (parse_number(value, c->max, &n) < 0 || n == 0)
		return roster_err_set(err, 0, "config", "%s must be a number from 1 to %lu",
		                      c->name, c->max);
	if (c->size == sizeof(unsigned)) {
		unsigned u = (unsigned)n;

		memcpy(field, &u, sizeof(u));
	} else {
		uint64_t v = n;

		memcpy(field, &v, sizeof(v));
	}
	return 0;
}

static int set_yes_no(const char *name, const char *value, int *out, struct roster_err *err)
{
	if (strcmp(value, "yes") != 0 && strcmp(value, "no") != 0)
		return roster_err_set(err, 0, "config", "%s is yes or no", name);
	*out = strcmp(value, "yes") == 0;
	return 0;
}

static int parse_setting(struct config *cfg, const char *name, const char *value,
                         struct roster_err *err)
{
	unsigned long n;
	char *end;

	if (strcmp(name, "data_dir") == 0)
		return set_string(&cfg->data_dir, value);
	if (strcmp(name, "socket") == 0)
		return set_string(&cfg->socket, value);
	if (strcmp(name, "socket_group") == 0)
		return set_string(&cfg->socket_group, value);
	if (strcmp(name, "master_key") == 0 && strncmp(value, "credential:", 11) == 0) {
		/* systemd's LoadCredential=/LoadCredentialEncrypted= hands it over here. */
		const char *dir = getenv("CREDENTIALS_DIRECTORY");

		if (dir == NULL || value[11] == '\0' || strchr(value + 11, '/'))
			return roster_err_set(
			    err, 0, "config",
			    "master_key = %s needs $CREDENTIALS_DIRECTORY (run under "
			    "systemd with LoadCredential=) and a plain name",
			    value);
		free(cfg->master_key);
		cfg->master_key = roster_xasprintf("%s/%s", dir, value + 11);
		cfg->master_is_credential = 1;
		return 0;
	}
	if (strcmp(name, "master_key") == 0 || strcmp(name, "master_passphrase") == 0) {
		if (cfg->master_key)
			return roster_err_set(err, 0, "config",
			                      "give one of master_key and master_passphrase");
		cfg->master_is_passphrase = name[7] == 'p';
		return set_string(&cfg->master_key, value);
	}
	if (strcmp(name, "kdf") == 0) {
		if (strcmp(value, "interactive") == 0) {
			cfg->kdf_ops = crypto_pwhash_OPSLIMIT_INTERACTIVE;
			cfg->kdf_mem = crypto_pwhash_MEMLIMIT_INTERACTIVE;
		} else if (strcmp(value, "moderate") == 0) {
			cfg->kdf_ops = crypto_pwhash_OPSLIMIT_MODERATE;
			cfg->kdf_mem = crypto_pwhash_MEMLIMIT_MODERATE;
		} else if (strcmp(value, "sensitive") == 0) {
			cfg->kdf_ops = crypto_pwhash_OPSLIMIT_SENSITIVE;
			cfg->kdf_mem = crypto_pwhash_MEMLIMIT_SENSITIVE;
		} else {
			return roster_err_set(err, 0, "config",
			                      "kdf is interactive, moderate or sensitive");
		}
		return 0;
	}
	if (strcmp(name, "origin") == 0) {
		for (const char *p = value; *p; p++)
			if (*p <= ' ' || *p == '+' || (unsigned char)*p >= 0x7f)
				return roster_err_set(err, 0, "config",
				                      "origin must be printable ASCII without "
				                      "spaces or '+'");
		return set_string(&cfg->origin, value);
	}
	if (strcmp(name, "socket_mode") == 0) {
		n = strtoul(value, &end, 8);
		if (*value == '\0' || *end || n > 0777)
			return roster_err_set(err, 0, "config",
			                      "socket_mode must be octal, such as 0660");
		cfg->socket_mode = (mode_t)n;
		return 0;
	}
	if (strcmp(name, "map_size") == 0)
		return set_bytes(name, value, 1UL << 40, &cfg->map_size, err);
	if (strcmp(name, "journal_size") == 0)
		return set_bytes(name, value, 1UL << 32, &cfg->journal_size, err);
	for (size_t i = 0; i < sizeof(count_settings) / sizeof(count_settings[0]); i++)
		if (strcmp(name, count_settings[i].name) == 0)
			return set_count(cfg, &count_settings[i], value, err);
	if (strcmp(name, "allow_root") == 0)
		return set_yes_no(name, value, &cfg->allow_root, err);
	if (strcmp(name, "tree_convert") == 0)
		return set_yes_no(name, value, &cfg->tree_convert, err);
	if (strcmp(name, "lone_commit") == 0)
		return set_yes_no(name, value, &cfg->lone_commit, err);
	return roster_err_set(err, 0, "config", "unknown setting '%s'", name);
}

static int conf_line(void *user, const char *section, const char *name, const char *value)
{
	struct parse_ctx *ctx = user;
	int rc;

	if (strcmp(section, "roles") == 0)
		rc = parse_role(ctx->cfg, name, value, ctx->err);
	else if (section[0] == '\0' || strcmp(section, "rosterd") == 0)
		rc = parse_setting(ctx->cfg, name, value, ctx->err);
	else
		rc = roster_err_set(ctx->err, 0, "config", "unknown section [%s]", section);
	if (rc < 0)
		ctx->failed = 1;
	return rc == 0;
}

int config_load(struct config *cfg, const char *path, struct roster_err *err)
{
	struct parse_ctx ctx = {cfg, err, 0};
	int line;

	memset(cfg, 0, sizeof(*cfg));
	cfg->path = roster_xstrdup(path);
	cfg->socket_mode = 0660;
	cfg->map_size = 1UL << 30;
	cfg->journal_size = 16UL << 20;
	cfg->batch_max = 1024;
	cfg->tree_convert = 1;
	cfg->lone_commit = 1;
	cfg->tree_convert_slice = 8192;
	cfg->reencrypt_batch = 256;
	cfg->reencrypt_slice_ms = 2;
	cfg->index_log_entries = 512;
	cfg->audit_filter_block = 1024;
	cfg->kdf_ops = crypto_pwhash_OPSLIMIT_MODERATE;
	cfg->kdf_mem = crypto_pwhash_MEMLIMIT_MODERATE;
	cfg->checkpoint_entries = 1000;
	cfg->checkpoint_seconds = 60;
	cfg->max_connections = 4096;
	cfg->max_connections_per_uid = 2048;
	cfg->client_timeout = 30;
	line = ini_parse(path, conf_line, &ctx);
	if (line < 0)
		return roster_err_set(err, 0, "config", "cannot read %s: %s", path,
		                      line == -1 ? strerror(errno) : "out of memory");
	if (line > 0) {
		char msg[sizeof(err->message)];

		if (!ctx.failed)
			roster_err_set(err, 0, "config", "syntax error");
		snprintf(msg, sizeof(msg), "%.200s line %d: %.280s", path, line, err->message);
		memcpy(err->message, msg, sizeof(msg));
		return -1;
	}
	if (cfg->data_dir == NULL || cfg->socket == NULL || cfg->master_key == NULL)
		return roster_err_set(err, 0, "config",
		                      "%s: data_dir, socket and master_key (or master_passphrase) "
		                      "are required",
		                      path);
	if (cfg->origin == NULL) {
		char host[256] = "localhost";

		gethostname(host, sizeof(host) - 1);
		cfg->origin = roster_xasprintf("%s/roster", host);
	}
	return 0;
}

void roles_free(struct role_table *roles)
{
	for (int i = 0; i < ROLE_COUNT; i++) {
		free(roles->members[i].uids);
		free(roles->members[i].gids);
	}
	memset(roles, 0, sizeof(*roles));
}

void config_free(struct config *cfg)
{
	free(cfg->path);
	free(cfg->data_dir);
	free(cfg->socket);
	free(cfg->socket_group);
	free(cfg->master_key);
	free(cfg->origin);
	roles_free(&cfg->roles);
	memset(cfg, 0, sizeof(*cfg));
}
