/*
 * systemd.c - running under systemd, the usual way: the listening socket can
 * come from socket activation (LISTEN_FDS, rosterd.socket), readiness and status
 * go to the notify socket (READY=1, STATUS=, STOPPING=1), and the watchdog is
 * fed while the writer is healthy. Without systemd every call here is a no-op
 * and rosterd binds its socket itself.
 */
#include <sys/socket.h>

#include <systemd/sd-daemon.h>

#include "rosterd.h"
#include "roster/log.h"

/* The socket passed by systemd, or -1 when there is none. */
int systemd_listen_fd(struct roster_err *err)
{
	int n = sd_listen_fds(1);

	if (n <= 0)
		return -1;
	if (n > 1 || sd_is_socket_unix(SD_LISTEN_FDS_START, SOCK_STREAM, 1, NULL, 0) <= 0) {
		roster_err_set(err, 0, "socket",
		               "systemd passed %d sockets: rosterd takes one listening Unix stream "
		               "socket",
		               n);
		return -2;
	}
	return SD_LISTEN_FDS_START;
}

void systemd_notify(const char *state)
{
	sd_notify(0, state);
}

static void watchdog_cb(evutil_socket_t fd, short what, void *arg)
{
	struct server *srv = arg;

	(void)fd;
	(void)what;
	/* A writer that failed stops the pings: systemd restarts us, recovery runs. */
	if (!writer_failed(srv))
		sd_notify(0, "WATCHDOG=1");
}

void systemd_watchdog_start(struct server *srv)
{
	uint64_t usec = 0;
	struct timeval tv;

	if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0)
		return;
	tv.tv_sec = (time_t)(usec / 2 / 1000000);
	tv.tv_usec = (suseconds_t)(usec / 2 % 1000000);
	srv->ev_watchdog = event_new(srv->base, -1, EV_PERSIST, watchdog_cb, srv);
	event_add(srv->ev_watchdog, &tv);
	log_info("watchdog: pinging systemd every %llu ms", (unsigned long long)usec / 2000);
}
