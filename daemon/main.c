/*
 * main.c - rosterd's entry point: `rosterd init -c FILE` creates a registry,
 * `rosterd -c FILE` serves it in the foreground until SIGTERM.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <event2/thread.h>
#include <sodium.h>

#include "rosterd.h"
#include "roster/log.h"

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: rosterd [-c FILE] [--log-level LEVEL]    serve the registry\n"
	        "       rosterd init [-c FILE]                   create a new registry\n"
	        "       rosterd verify-backup [-c FILE] PATH     check a backup with FILE's key\n"
	        "       rosterd recover [-c FILE]                after a refused journal replay "
	        "(rosterd(8))\n"
	        "       rosterd --version\n"
	        "FILE defaults to /etc/roster/rosterd.conf; LEVEL is error, warning, info "
	        "or debug.\n");
}

/* Room for max_connections sockets beside the files rosterd keeps open. */
static void fd_limit_raise(size_t conns)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return;
	if (rl.rlim_cur < conns + 256) {
		rl.rlim_cur = rl.rlim_max < conns + 256 ? rl.rlim_max : conns + 256;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			log_warn("cannot raise the open file limit to %llu",
			         (unsigned long long)rl.rlim_cur);
	}
	if (rl.rlim_cur < conns + 64)
		log_warnx("the open file limit (%llu) is below max_connections (%zu): raise "
		          "LimitNOFILE= or lower max_connections",
		          (unsigned long long)rl.rlim_cur, conns);
}

/* What a failed start, init, verify-backup or recover exits with (sysexits.h), by the
 * error's code. 75: another process holds the registry or the socket, so a later
 * start may succeed. 65: the registry, its keys or its journal cannot be served as
 * found, and starting again changes nothing (restore a backup, or give the right
 * key). 66: data_dir (or a backup's folder) holds no registry, or recover finds
 * nothing to recover. 73: init cannot create the registry or its master key, or
 * one is there already, or recover finds journal.refused in its way. 78: the master
 * key file is missing, open to others or malformed, or map_size too small for a
 * registry. 70 for the rest (an I/O error, say). rosterd.service restarts on 70
 * and 75 only. */
static int exit_status(const struct roster_err *err)
{
	static const struct {
		const char *code;
		int status;
	} statuses[] = {
	    {"busy", 75},
	    {"socket_busy", 75},
	    {"wrong_master", 65},
	    {"keys", 65},
	    {"format", 65},
	    {"journal_mismatch", 65},
	    {"journal_damaged", 65},
	    {"not_rewound", 65},
	    {"undo_damaged", 65},
	    {"nothing_to_recover", 66},
	    {"audit_truncated", 65},
	    {"no_registry", 66},
	    {"exists", 73},
	    {"cannot_create", 73},
	    {"master_key", 78},
	    {"map_size", 78},
	};

	for (size_t i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++)
		if (strcmp(err->code, statuses[i].code) == 0)
			return statuses[i].status;
	return 70;
}

static int serve(struct server *srv)
{
	struct event_config *evcfg;
	struct roster_err err;
	int rc = 70;

	srv->started = time(NULL);
	if (registry_open(srv, &err) < 0) {
		log_warnx("%s", err.message);
		rc = exit_status(&err);
		goto done;
	}
	evthread_use_pthreads();
	/* Each request re-arms its socket's events: the changelist folds those into
	 * the next epoll_wait instead of one epoll_ctl each. */
	if ((evcfg = event_config_new()) == NULL ||
	    event_config_set_flag(evcfg, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST) != 0)
		fatalx("cannot set up libevent");
	srv->base = event_base_new_with_config(evcfg);
	event_config_free(evcfg);
	if (srv->base == NULL || event_base_priority_init(srv->base, LOOP_PRIORITIES) < 0)
		fatalx("cannot set up libevent");
	srv->http = evhttp_new(srv->base);
	if (srv->http == NULL)
		fatalx("cannot set up libevent");
	evhttp_set_allowed_methods(srv->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_PATCH |
	                                          EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE);
	evhttp_set_max_body_size(srv->http, IMPORT_BODY_MAX + (1 << 20));
	evhttp_set_max_headers_size(srv->http, 16 << 10);
	/* conn.c enforces client_timeout (evhttp's own read timeout restarts with each
	 * byte); evhttp's, twice as long, still bounds a reader that never reads. */
	evhttp_set_timeout(srv->http, 2 * (int)srv->cfg.client_timeout);
	evhttp_set_gencb(srv->http, routes_dispatch, srv);
	fd_limit_raise(srv->cfg.max_connections);
	snapshot_start(srv);
	if (conn_start(srv, &err) < 0 || writer_start(srv, &err) < 0 ||
	    aread_start(srv, &err) < 0 || server_listen(srv, &err) < 0) {
		log_warnx("%s", err.message);
		rc = exit_status(&err);
		goto done;
	}
	server_run(srv);
	rc = 0;
done:
	aread_stop(srv); /* before the writer: it hands ops back through the writer's queue */
	writer_stop(srv);
	if (srv->http)
		evhttp_free(srv->http);
	conn_stop(srv);
	if (srv->base)
		event_base_free(srv->base);
	store_close(&srv->store);
	snapshot_stop(srv);
	keys_free(&srv->keys);
	free(srv->grants);
	srv->grants = NULL;
	log_info("stopped");
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
	                                     {"log-level", required_argument, NULL, 'l'},
	                                     {"version", no_argument, NULL, 'V'},
	                                     {"help", no_argument, NULL, 'h'},
	                                     {NULL, 0, NULL, 0}};
	const char *conf = "/etc/roster/rosterd.conf";
	struct server srv = {0};
	struct roster_err err;
	int ch, level = LOG_LEVEL_INFO, init = 0, rc;

	log_init("rosterd", level);
	if (argc > 1 && strcmp(argv[1], "init") == 0) {
		init = 1;
		argv++;
		argc--;
	} else if (argc > 1 && strcmp(argv[1], "verify-backup") == 0) {
		init = 2;
		argv++;
		argc--;
	} else if (argc > 1 && strcmp(argv[1], "recover") == 0) {
		init = 3;
		argv++;
		argc--;
	}
	while ((ch = getopt_long(argc, argv, "c:l:Vh", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			conf = optarg;
			break;
		case 'l':
			if ((level = log_level_parse(optarg)) < 0) {
				fprintf(stderr, "rosterd: unknown log level '%s'\n", optarg);
				return 64;
			}
			break;
		case 'V':
			printf("rosterd %s\n", ROSTER_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 64;
		}
	}
	if (optind != argc - (init == 2)) {
		usage(stderr);
		return 64;
	}
	log_init("rosterd", level);
	/* No core dumps or ptrace by other users: the process holds keys. */
	prctl(PR_SET_DUMPABLE, 0);
	if (sodium_init() < 0 || rng_install() != 0)
		fatalx("libsodium failed to initialise");
	if (config_load(&srv.cfg, conf, &err) < 0) {
		log_warnx("%s", err.message);
		config_free(&srv.cfg);
		return 78;
	}
	if (init < 2 && geteuid() == 0 && !srv.cfg.allow_root) {
		log_warnx("refusing to run as root: run rosterd as its own account (the package's "
		          "'roster'), or set allow_root = yes in %s",
		          conf);
		config_free(&srv.cfg);
		return 77;
	}
	if (init == 2) {
		/* 0: verifies; 1: a fault was found (named); else it could not be checked. */
		rc = verify_backup(&srv.cfg, argv[optind], &err);
		if (rc < 0)
			fprintf(stderr, "rosterd: cannot check backup %s: %s\n", argv[optind],
			        err.message);
		config_free(&srv.cfg);
		return rc < 0 ? exit_status(&err) : rc;
	}
	if (init == 3) {
		/* Writes in place and renames: owners and modes stay, so root may run it. */
		rc = journal_recover(srv.cfg.data_dir, &err);
		if (rc < 0)
			log_warnx("%s", err.message);
		else
			log_info(
			    "%s/data.mdb is back at the state rosterd left when it stopped; the "
			    "journal is set aside as journal.refused. Start rosterd, then run "
			    "'rosterctl audit verify --deep' with an auditor's state file",
			    srv.cfg.data_dir);
		config_free(&srv.cfg);
		return rc < 0 ? exit_status(&err) : 0;
	}
	if (init) {
		rc = registry_init(&srv.cfg, &err);
		if (rc < 0)
			log_warnx("%s", err.message);
		else
			log_info("created registry %s in %s", srv.cfg.origin, srv.cfg.data_dir);
		config_free(&srv.cfg);
		return rc < 0 ? exit_status(&err) : 0;
	}
	rc = serve(&srv);
	config_free(&srv.cfg);
	return rc;
}
