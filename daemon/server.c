/*
 * server.c - the Unix socket, the event loop and its signals, and sending the
 * replies the writer hands back. A live socket of another daemon is never
 * taken over; a stale one (nobody answering) is replaced.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <sodium.h>

#include "rosterd.h"
#include "roster/aquery.h"
#include "roster/log.h"

static int socket_claim(const char *path, struct roster_err *err)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	struct stat sb;
	int fd;

	if (lstat(path, &sb) < 0)
		return errno == ENOENT ? 0
		                       : roster_err_set(err, 0, "socket", "cannot inspect %s: %s",
		                                        path, strerror(errno));
	if (!S_ISSOCK(sb.st_mode))
		return roster_err_set(err, 0, "socket",
		                      "%s exists and is not a socket: refusing to replace it",
		                      path);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0) {
		close(fd);
		return roster_err_set(err, 0, "socket_busy",
		                      "another daemon is answering on %s: stop it first, or choose "
		                      "another socket",
		                      path);
	}
	if (fd >= 0)
		close(fd);
	log_info("removing stale socket %s", path);
	if (unlink(path) < 0)
		return roster_err_set(err, 0, "socket", "cannot remove stale socket %s: %s", path,
		                      strerror(errno));
	return 0;
}

int server_listen(struct server *srv, struct roster_err *err)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	const char *path = srv->cfg.socket;
	mode_t old;
	int fd, rc;

	if ((fd = systemd_listen_fd(err)) >= 0) {
		srv->activated = 1;
		evutil_make_socket_nonblocking(
		    fd); /* passed blocking; the event loop must not be */
		srv->bound = evhttp_accept_socket_with_handle(srv->http, fd);
		if (srv->bound == NULL)
			return roster_err_set(err, 0, "socket",
			                      "libevent cannot accept on the socket "
			                      "systemd passed");
		log_info("using the socket passed by systemd");
		return 0;
	}
	if (fd == -2)
		return -1;
	if (strlen(path) >= sizeof(sun.sun_path))
		return roster_err_set(err, 0, "socket", "socket path %s is too long", path);
	if (socket_claim(path, err) < 0)
		return -1;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return roster_err_set(err, 0, "socket", "socket: %s", strerror(errno));
	old = umask(0177); /* never a moment with a wider mode than configured */
	rc = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old);
	if (rc < 0) {
		roster_err_set(err, 0, "socket", "cannot bind %s: %s", path, strerror(errno));
		goto fail;
	}
	if (srv->cfg.socket_group) {
		struct group *gr = getgrnam(srv->cfg.socket_group);

		if (gr == NULL || chown(path, (uid_t)-1, gr->gr_gid) < 0) {
			roster_err_set(err, 0, "socket", "cannot give %s to group %s: %s", path,
			               srv->cfg.socket_group,
			               gr ? strerror(errno) : "no such group");
			goto fail_unlink;
		}
	}
	if (chmod(path, srv->cfg.socket_mode) < 0 || listen(fd, 512) < 0) {
		roster_err_set(err, 0, "socket", "cannot set up %s: %s", path, strerror(errno));
		goto fail_unlink;
	}
	srv->bound = evhttp_accept_socket_with_handle(srv->http, fd);
	if (srv->bound == NULL) {
		roster_err_set(err, 0, "socket", "libevent cannot accept on %s", path);
		goto fail_unlink;
	}
	return 0;
fail_unlink:
	unlink(path);
fail:
	close(fd);
	return -1;
}

static void maybe_exit(struct server *srv)
{
	if (srv->stopping && srv->in_flight == 0)
		event_base_loopexit(srv->base, NULL);
}

void server_reply_done(struct server *srv, struct op *op)
{
	int deferred = op->status < 400 && (op->backup || op->reply_audit == AUDIT_PENDING);

	if (op->action && !deferred)
		metrics_count(srv, op->action, op->status);
	if (op->backup && op->status < 400) {
		backup_start(srv, op); /* replies when the copy is done */
		return;
	}
	if (deferred) {
		aread_submit(srv, op); /* replies when the entries are read */
		return;
	}
	if (op->grant_bit && op->status < 400)
		grants_apply(srv, op);
	if (op->status >= 400)
		http_reply_error(op->req, &op->err, op->err_details);
	else if (op->reply_audit == AUDIT_READ)
		aread_reply(op);
	else if (op->reply_raw)
		http_reply_raw(op->req, op->status, op->reply_raw);
	else
		http_reply_json(op->req, op->status, op->reply);
	op_reply_clear(op);
	json_decref(op->targets);
	json_decref(op->body);
	free(op->tags);
	json_decref(op->err_details);
	json_decref(op->asked);
	if (op->query) {
		roster_aquery_free(op->query);
		free(op->query);
	}
	sodium_free(op->newkey); /* a rotation that did not commit */
	conn_busy(op->conn, -1);
	free(op);
	srv->in_flight--;
	maybe_exit(srv);
}

static void on_stop(evutil_socket_t sig, short what, void *arg)
{
	struct server *srv = arg;

	(void)what;
	if (srv->stopping)
		return;
	log_info("signal %d: finishing %ld request(s) in flight, then exiting", (int)sig,
	         srv->in_flight);
	srv->stopping = 1;
	systemd_notify("STOPPING=1");
	if (srv->bound) {
		evhttp_del_accept_socket(srv->http, srv->bound);
		srv->bound = NULL;
		if (!srv->activated) /* systemd owns an activated socket */
			unlink(srv->cfg.socket);
	}
	maybe_exit(srv);
}

static void on_reload(evutil_socket_t sig, short what, void *arg)
{
	struct server *srv = arg;
	struct config fresh = {0};
	struct roster_err err = {0};

	(void)sig;
	(void)what;
	if (config_load(&fresh, srv->cfg.path, &err) < 0) {
		log_warnx("SIGHUP: keeping the old role table: %s", err.message);
		config_free(&fresh);
		return;
	}
	roles_free(&srv->cfg.roles);
	srv->cfg.roles = fresh.roles;
	srv->nnames = 0; /* accounts may have been renamed too */
	memset(&fresh.roles, 0, sizeof(fresh.roles));
	config_free(&fresh);
	log_info("SIGHUP: role table reloaded from %s (other settings need a restart)",
	         srv->cfg.path);
	systemd_notify("STATUS=role table reloaded");
}

int server_run(struct server *srv)
{
	srv->ev_term = evsignal_new(srv->base, SIGTERM, on_stop, srv);
	srv->ev_int = evsignal_new(srv->base, SIGINT, on_stop, srv);
	srv->ev_hup = evsignal_new(srv->base, SIGHUP, on_reload, srv);
	evsignal_add(srv->ev_term, NULL);
	evsignal_add(srv->ev_int, NULL);
	evsignal_add(srv->ev_hup, NULL);
	signal(SIGPIPE, SIG_IGN);
	log_info("serving %s on %s", srv->cfg.origin, srv->cfg.socket);
	systemd_watchdog_start(srv);
	{
		char status[512];

		snprintf(status, sizeof(status),
		         "READY=1\nSTATUS=serving %s, audit log of %llu entries", srv->cfg.origin,
		         (unsigned long long)writer_log_size(srv));
		systemd_notify(status);
	}
	event_base_dispatch(srv->base);
	if (srv->ev_watchdog)
		event_free(srv->ev_watchdog);
	event_free(srv->ev_term);
	event_free(srv->ev_int);
	event_free(srv->ev_hup);
	return 0;
}
