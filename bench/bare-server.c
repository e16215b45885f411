/*
 * bare-server.c - the transport's ceiling: libevent's evhttp on a Unix socket
 * answering every request with a constant JSON body, nothing else. loadgen runs
 * against it in the same run as against rosterd, so the ratio is the cost of
 * everything rosterd adds (identity, validation, encryption, audit, fsync).
 *
 *   bare-server SOCKET
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>

static void reply(struct evhttp_request *req, void *arg)
{
	struct evbuffer *buf = arg;

	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
	                  "application/json");
	evhttp_send_reply(req, 200, "OK", buf);
	evbuffer_add(buf, "{\"status\":\"ok\"}\n", 16); /* send_reply drained it */
}

int main(int argc, char **argv)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	struct event_base *base;
	struct evhttp *http;
	struct evbuffer *buf;
	int fd;

	if (argc != 2 || strlen(argv[1]) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "usage: bare-server SOCKET\n");
		return 64;
	}
	signal(SIGPIPE, SIG_IGN);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", argv[1]);
	unlink(argv[1]);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 || listen(fd, 512) < 0) {
		perror("bare-server");
		return 1;
	}
	base = event_base_new();
	http = evhttp_new(base);
	buf = evbuffer_new();
	evbuffer_add(buf, "{\"status\":\"ok\"}\n", 16);
	evhttp_set_gencb(http, reply, buf);
	evhttp_accept_socket(http, fd);
	event_base_dispatch(base);
	return 0;
}
