/*
 * conn.c - the connection table: limits on how many connections there are
 * (in all and per uid) and how long a client may take to send a request.
 *
 * evhttp (libevent 2.1) neither limits connections nor bounds a request that
 * arrives a byte a second: each byte restarts its read timeout. So every
 * connection is known here from its birth, when evhttp asks for its
 * bufferevent (evhttp_set_bevcb). We hold one extra reference to it: the
 * bufferevent outlives evhttp's use, and a connection evhttp has let go shows
 * as a bufferevent with no callbacks, which the next sweep or admission then
 * frees. evhttp has closed the socket itself by then, so a client sees its
 * end at once; only the small struct waits. A new connection is admitted on
 * the next loop turn, once its socket is known: over a limit it gets a 503
 * and is shut. The sweep, four times a second, also shuts connections that
 * have neither a request in progress nor finished one within client_timeout:
 * idle keep-alive ones and slow senders alike (told so with a 408). Shutting
 * the socket lets evhttp free the connection its usual way.
 *
 * evhttp also reads a request's whole body before any handler sees it, up to
 * the one limit it has for every route (the import's, 64 MiB), and 2.1 has no
 * hook between a request's headers and its body. So the bytes each connection
 * has received towards requests not yet handed over are counted as they arrive
 * (a callback on the bufferevent's input): a connection whose account may not
 * import (not a clerk) is shut past a route's 1 MiB body and its headers, any
 * past the import's, and the one that takes all connections' unhandled bytes
 * past UNREAD_MAX, each with a 413 or 503 written straight to the socket.
 * Memory for requests in the making is bounded whatever the number of
 * connections.
 *
 * Such a client is usually still sending. Shutting both directions at once
 * made its next send fail, and a client that sends and reads in turn (libcurl,
 * so rosterctl) then reported a daemon it could not reach, not the 413, unless
 * it happened to read first. So the cut lingers: the reply is written and only
 * our sending side shut; the socket is no longer read, so the client's sends
 * stall (nothing more reaches memory) while the reply waits to be read, and the
 * client stops. LINGER_MS later the sweep shuts the rest, and a client that
 * never reads finds its send failing and the reply still there. A connection
 * refused over a limit lingers the same way (its request may be on its way as
 * the 503 is written). At most LINGER_MAX connections linger at once, so a flood
 * of refused connections holds no more sockets than that; past it they are shut
 * at once. Lingering ones do not count against max_connections.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "rosterd.h"
#include "roster/log.h"

#define REQUEST_MAX        ((size_t)BODY_MAX + (64 << 10)) /* a body and its headers */
#define REQUEST_MAX_IMPORT ((size_t)IMPORT_BODY_MAX + (1 << 20))
#define UNREAD_MAX         ((size_t)256 << 20)
#define LINGER_MS          1000
#define LINGER_MAX         64

struct conn {
	struct conn *next;
	struct server *srv;
	struct bufferevent *bev; /* our reference keeps it allocated */
	size_t unread;           /* received towards requests not yet handed over */
	size_t limit;            /* how much of that this connection may hold */
	int fd;                  /* -1 until admitted */
	struct ucred cred;       /* the peer at connect; uid (uid_t)-1 if unread */
	int admitted;
	int closing;          /* shut by us: over a limit, or timed out */
	int busy;             /* requests received and not yet answered */
	int64_t linger_until; /* a cut whose reading side is still open; 0 if none */
	int64_t last_ms;      /* accepted, or a request received or answered (monotonic) */
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char reply_fmt[] = "HTTP/1.1 %s\r\nContent-Type: application/json\r\n"
                                "Connection: close\r\nContent-Length: %zu\r\n\r\n%s";

/* Writes a reply straight to the socket when no reply of evhttp's is due there;
 * -1 when none was written. */
static int conn_reply(struct conn *c, const char *status, const char *code, const char *why)
{
	int fd = (int)bufferevent_getfd(c->bev);
	char body[512], msg[768];
	int n;

	if (c->busy != 0 || evbuffer_get_length(bufferevent_get_output(c->bev)) != 0)
		return -1;
	snprintf(body, sizeof(body), "{\"error\":{\"code\":\"%s\",\"message\":\"%s\"}}\n", code,
	         why);
	n = snprintf(msg, sizeof(msg), reply_fmt, status, strlen(body), body);
	return send(fd, msg, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL) == n ? 0 : -1;
}

/* Shuts our sending side and stops reading, so a client still sending stalls and
 * reads the reply; the sweep shuts the rest (conn_linger_end) LINGER_MS later. */
static int conn_linger(struct conn *c)
{
	if (c->srv->conns.lingering >= LINGER_MAX ||
	    shutdown((int)bufferevent_getfd(c->bev), SHUT_WR) < 0 ||
	    bufferevent_disable(c->bev, EV_READ) < 0)
		return -1;
	c->linger_until = now_ms() + LINGER_MS;
	c->srv->conns.lingering++;
	return 0;
}

/* A reply written straight to the socket, then the socket shut, so evhttp sees
 * the end and frees the connection. Only where evhttp has no reply of its own to
 * write there: none of the connection's requests is being answered. A client cut
 * off or refused while it may be sending gets the lingering shut; one timed out
 * (too slow to send) is shut at once. */
static void conn_shut(struct conn *c, const char *status, const char *code, const char *why,
                      int linger)
{
	int fd = (int)bufferevent_getfd(c->bev);

	if (conn_reply(c, status, code, why) < 0 || !linger || conn_linger(c) < 0)
		shutdown(fd, SHUT_RDWR);
	c->closing = 1;
}

/* Over a connection limit, before any request was read on it: a 503. */
static void conn_refuse(struct server *srv, struct conn *c, const char *why)
{
	conn_shut(c, "503 Service Unavailable", "too_many_connections", why, 1);
	srv->conns.refused++;
}

/* evhttp has let the connection go: bufferevent_free cleared its callbacks.
 * The event callback is the sign; the read callback is not, since evhttp
 * clears it while a reply is being written, and a connection caught so by a
 * sweep would drop out of the table, its limits and its timeout. */
static int conn_released(struct conn *c)
{
	bufferevent_event_cb ev = NULL;

	bufferevent_getcb(c->bev, NULL, NULL, &ev, NULL);
	return ev == NULL;
}

static size_t conns_of(const struct server *srv, uid_t uid)
{
	size_t n = 0;

	for (const struct conn *c = srv->conns.head; c; c = c->next)
		n += c->admitted && !c->closing && c->cred.uid == uid;
	return n;
}

/* Learns the connection's socket and peer, and applies the limits. */
static void conn_admit(struct server *srv, struct conn *c)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (c->admitted)
		return;
	c->fd = (int)bufferevent_getfd(c->bev);
	if (c->fd < 0)
		return; /* evhttp let it go already; the sweep releases it */
	c->admitted = 1;
	if ((size_t)c->fd >= srv->conns.nfd) {
		size_t nfd = (size_t)c->fd * 2 + 64;

		/* An array of pointers: sizeof a pointer is meant. */
		srv->conns.by_fd = roster_xrealloc(
		    srv->conns.by_fd,
		    nfd * sizeof(*srv->conns.by_fd)); // NOLINT(bugprone-sizeof-expression)
		memset(srv->conns.by_fd + srv->conns.nfd, 0,
		       (nfd - srv->conns.nfd) *
		           sizeof(*srv->conns.by_fd)); // NOLINT(bugprone-sizeof-expression)
		srv->conns.nfd = nfd;
	}
	srv->conns.by_fd[c->fd] = c;
	if (getsockopt(c->fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0) {
		c->cred = cred;
		c->limit = auth_roles(srv, cred.uid, cred.gid) & ROLE_CLERK ? REQUEST_MAX_IMPORT
		                                                            : REQUEST_MAX;
	} else {
		c->cred.uid = (uid_t)-1;
		c->limit = REQUEST_MAX;
	}
	if (srv->conns.n - srv->conns.lingering > srv->cfg.max_connections)
		conn_refuse(srv, c,
		            "rosterd has as many connections as it takes (max_connections): "
		            "retry shortly");
	else if (conns_of(srv, c->cred.uid) > srv->cfg.max_connections_per_uid)
		conn_refuse(srv, c,
		            "this account has as many connections as one account may hold "
		            "(max_connections_per_uid): close some");
}

/* Counts what arrives towards a request, and shuts a connection over its bound
 * (evhttp reads what the socket still holds, then sees the end). Runs inside
 * the bufferevent's read, so it frees nothing. */
static void conn_input_cb(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
	struct conn *c = arg;
	struct server *srv = c->srv;

	(void)buf;
	if (info->n_added == 0)
		return;
	c->unread += info->n_added;
	srv->conns.unread += info->n_added;
	if (c->closing || (c->unread <= c->limit && srv->conns.unread <= UNREAD_MAX))
		return;
	/* The client may still be sending: it reads the reply once its send fails. */
	if (c->unread > c->limit)
		conn_shut(c, "413 Payload Too Large", "too_large",
		          c->limit == REQUEST_MAX
		              ? "this request is larger than 1 MiB, and only a clerk may send "
		                "more (an import, up to 64 MiB): the connection is closed"
		              : "this request is larger than an import may be (64 MiB): the "
		                "connection is closed",
		          1);
	else
		conn_shut(c, "503 Service Unavailable", "busy",
		          "rosterd holds as much unhandled request data as it takes: the "
		          "connection is closed; retry shortly",
		          1);
	srv->conns.too_large++;
	log_warnx("closed a connection of uid %ld: %zu bytes towards a request, over %s",
	          c->admitted ? (long)c->cred.uid : -1L, c->unread,
	          c->unread > c->limit ? "what this account may send"
	                               : "what all connections may hold unhandled");
}

/* Releases the connections evhttp has let go and no request still needs. */
static void conns_reap(struct server *srv)
{
	for (struct conn **pc = &srv->conns.head, *c; (c = *pc) != NULL;) {
		if (conn_released(c) && c->busy == 0) {
			*pc = c->next;
			srv->conns.unread -= c->unread;
			if (c->linger_until != 0)
				srv->conns.lingering--;
			if (c->fd >= 0 && (size_t)c->fd < srv->conns.nfd &&
			    srv->conns.by_fd[c->fd] == c)
				srv->conns.by_fd[c->fd] = NULL;
			bufferevent_decref(c->bev); /* the last reference: closes the socket */
			free(c);
			srv->conns.n--;
			continue;
		}
		pc = &c->next;
	}
}

static void admit_cb(evutil_socket_t fd, short what, void *arg)
{
	struct server *srv = arg;

	(void)fd;
	(void)what;
	conns_reap(srv); /* connections just closed do not count against new ones */
	for (struct conn *c = srv->conns.head; c; c = c->next)
		conn_admit(srv, c);
}

static struct bufferevent *conn_new(struct event_base *base, void *arg)
{
	struct server *srv = arg;
	struct conn *c = roster_xcalloc(1, sizeof(*c));

	c->bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL) {
		free(c);
		return NULL; /* evhttp makes its own; this one goes uncounted */
	}
	bufferevent_incref(c->bev);
	c->srv = srv;
	c->limit = REQUEST_MAX_IMPORT; /* until admitted: the account is not known yet */
	evbuffer_add_cb(bufferevent_get_input(c->bev), conn_input_cb, c);
	c->fd = -1;
	c->last_ms = now_ms();
	c->next = srv->conns.head;
	srv->conns.head = c;
	srv->conns.n++;
	event_active(srv->conns.ev_admit, EV_TIMEOUT, 0);
	return c->bev;
}

/* Shuts what a lingering cut left open and lets evhttp read on: it sees the end
 * and lets the connection go. */
static void conn_linger_end(struct conn *c)
{
	shutdown((int)bufferevent_getfd(c->bev), SHUT_RDWR);
	if (!conn_released(c))
		bufferevent_enable(c->bev, EV_READ);
	c->linger_until = 0;
	c->srv->conns.lingering--;
}

static void sweep_cb(evutil_socket_t fd, short what, void *arg)
{
	struct server *srv = arg;
	int64_t now = now_ms();

	(void)fd;
	(void)what;
	conns_reap(srv);
	for (struct conn *c = srv->conns.head; c; c = c->next) {
		conn_admit(srv, c);
		if (c->linger_until != 0 && now >= c->linger_until)
			conn_linger_end(c);
		if (c->admitted && !c->closing && c->busy == 0 &&
		    now - c->last_ms >= (int64_t)srv->cfg.client_timeout * 1000) {
			/* Too slow to send a request: told so. Idle: just closed. */
			if (c->unread > 0)
				conn_shut(c, "408 Request Timeout", "timeout",
				          "the request did not arrive within client_timeout: the "
				          "connection is closed",
				          0);
			else {
				shutdown(c->fd, SHUT_RDWR);
				c->closing = 1;
			}
			srv->conns.timed_out++;
		}
	}
}

int conn_start(struct server *srv, struct roster_err *err)
{
	struct timeval quarter = {0, 250000};

	srv->conns.ev_admit = event_new(srv->base, -1, 0, admit_cb, srv);
	srv->conns.ev_sweep = event_new(srv->base, -1, EV_PERSIST, sweep_cb, srv);
	if (srv->conns.ev_admit == NULL || srv->conns.ev_sweep == NULL ||
	    event_add(srv->conns.ev_sweep, &quarter) < 0)
		return roster_err_set(err, 0, "events", "cannot set up the connection sweep");
	evhttp_set_bevcb(srv->http, conn_new, srv);
	return 0;
}

void conn_stop(struct server *srv)
{
	struct conn *c;

	if (srv->conns.ev_admit)
		event_free(srv->conns.ev_admit);
	if (srv->conns.ev_sweep)
		event_free(srv->conns.ev_sweep);
	/* After evhttp_free: every connection has been let go. */
	while ((c = srv->conns.head) != NULL) {
		srv->conns.head = c->next;
		srv->conns.unread -= c->unread;
		bufferevent_decref(c->bev);
		free(c);
	}
	free(srv->conns.by_fd);
	srv->conns.by_fd = NULL;
	srv->conns.nfd = 0;
	srv->conns.n = 0;
}

/* The connection a request came on (admitted now if the admit turn has not come). */
struct conn *conn_of(struct server *srv, struct evhttp_request *req)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	struct bufferevent *bev = evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;
	evutil_socket_t fd = bev ? bufferevent_getfd(bev) : -1;

	if (fd >= 0 && (size_t)fd < srv->conns.nfd && srv->conns.by_fd[fd] &&
	    srv->conns.by_fd[fd]->bev == bev)
		return srv->conns.by_fd[fd];
	for (struct conn *c = srv->conns.head; c && bev; c = c->next)
		if (c->bev == bev) {
			conn_admit(srv, c);
			return c;
		}
	return NULL;
}

/* The peer's credentials as read at admission: 0, or -1 when they were not read. */
int conn_peer(const struct conn *c, uid_t *uid, gid_t *gid, pid_t *pid)
{
	if (c == NULL || !c->admitted || c->cred.uid == (uid_t)-1)
		return -1;
	*uid = c->cred.uid;
	*gid = c->cred.gid;
	*pid = c->cred.pid;
	return 0;
}

int conn_refused(const struct conn *c)
{
	return c && c->closing;
}

void conn_busy(struct conn *c, int delta)
{
	if (c == NULL)
		return;
	c->busy += delta;
	c->last_ms = now_ms();
}

/* A request was handed over: what the connection still holds is the start of the
 * next ones (pipelined), and only that counts towards its bound now. */
void conn_received(struct conn *c)
{
	size_t left;

	if (c == NULL)
		return;
	left = evbuffer_get_length(bufferevent_get_input(c->bev));
	c->srv->conns.unread -= c->unread;
	c->unread = left < c->unread ? left : c->unread;
	c->srv->conns.unread += c->unread;
}
