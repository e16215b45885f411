/*
 * http.c - the client's transport: HTTP/1.1 over the daemon's Unix socket with
 * libcurl, and turning replies into output and an exit code.
 */
#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "rosterctl.h"
#include "roster/util.h"

static size_t collect(char *data, size_t size, size_t n, void *arg)
{
	struct response *r = arg;

	r->body = roster_xrealloc(r->body, r->len + size * n + 1);
	memcpy(r->body + r->len, data, size * n);
	r->len += size * n;
	r->body[r->len] = '\0';
	return size * n;
}

/* The digits of a header's value, into out (len bytes), when data is that header. */
static void header_number(const char *data, size_t len, const char *name, char *out, size_t outlen)
{
	size_t i = strlen(name), j = 0;

	if (len <= i || strncasecmp(data, name, i) != 0)
		return;
	while (i < len && data[i] == ' ')
		i++;
	while (i < len && data[i] >= '0' && data[i] <= '9' && j < outlen - 1)
		out[j++] = data[i++];
	out[j] = '\0';
}

/* Keeps the headers a command reads: where an audit find goes on from, and the
 * log size a daemon that answered the question searched to. */
static size_t header(char *data, size_t size, size_t n, void *arg)
{
	struct response *r = arg;
	size_t len = size * n;

	header_number(data, len, "roster-audit-next:", r->audit_next, sizeof(r->audit_next));
	header_number(data, len, "roster-audit-end:", r->audit_end, sizeof(r->audit_end));
	return len;
}

struct transfer {
	struct ctl *ctl;
	struct timespec last_watch;
};

/* libcurl calls this often while a request is outstanding, even when no byte moves. */
static int on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
	struct transfer *t = arg;
	struct timespec now;
	char what[64];

	(void)dltotal;
	(void)dlnow;
	if (t->ctl->progress && ultotal > 0) {
		snprintf(what, sizeof(what), "%.1f of %.1f MiB", (double)ulnow / 1048576,
		         (double)ultotal / 1048576);
		progress_draw("sending", (uint64_t)ulnow, (uint64_t)ultotal, what);
	}
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (t->ctl->watch && (now.tv_sec - t->last_watch.tv_sec) * 1000 +
	                             (now.tv_nsec - t->last_watch.tv_nsec) / 1000000 >=
	                         250) {
		t->last_watch = now;
		t->ctl->watch(t->ctl);
	}
	return 0;
}

char *http_escape(const char *s)
{
	char *e = curl_easy_escape(NULL, s, 0), *copy;

	copy = roster_xstrdup(e ? e : "");
	curl_free(e);
	return copy;
}

/* libcurl says only that it could not connect: a connect of our own says why, so
 * that an account outside the socket's group is not told to start rosterd. */
static int unreachable_why(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct stat st;
	struct group *gr;
	int fd, err = 0;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "rosterctl: the socket path %s is too long\n", path);
		return EXIT_USAGE;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		err = errno;
	if (fd >= 0)
		close(fd);
	if ((err == EACCES || err == EPERM) && stat(path, &st) == 0) {
		gr = getgrgid(st.st_gid);
		fprintf(
		    stderr,
		    "rosterctl: permission denied on rosterd's socket %s (mode %03o, group %s)\n"
		    "  An administrator adds your account to that group (socket_group in "
		    "rosterd.conf).\n",
		    path, (unsigned)(st.st_mode & 0777), gr ? gr->gr_name : "?");
		return EXIT_DENIED;
	}
	if (err == EACCES || err == EPERM) {
		fprintf(stderr,
		        "rosterctl: permission denied on a folder on the way to rosterd's socket "
		        "%s\n  An administrator adds your account to the group that may reach it "
		        "(socket_group in rosterd.conf).\n",
		        path);
		return EXIT_DENIED;
	}
	fprintf(stderr, "rosterctl: cannot reach rosterd at %s: %s\n", path,
	        err == ENOENT         ? "there is no socket there"
	        : err == ECONNREFUSED ? "nothing listens on it (rosterd is not running)"
	        : err                 ? strerror(err)
	                              : "the connection failed");
	fprintf(stderr, "  Is rosterd running? Set the socket with -s PATH or ROSTER_SOCKET.\n");
	return EXIT_UNREACHABLE;
}

static int http_request_once(struct ctl *ctl, const char *method, const char *path,
                             const json_t *body, struct response *r)
{
	CURL *curl = curl_easy_init();
	struct transfer t = {.ctl = ctl};
	struct curl_slist *headers = NULL;
	char url[2048], *text = NULL;
	CURLcode rc;

	memset(r, 0, sizeof(*r));
	if (curl == NULL) {
		fprintf(stderr, "rosterctl: cannot initialise libcurl\n");
		return EXIT_INTERNAL;
	}
	snprintf(url, sizeof(url), "http://roster%s", path);
	curl_easy_setopt(curl, CURLOPT_UNIX_SOCKET_PATH, ctl->socket);
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, header);
	curl_easy_setopt(curl, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	if (ctl->progress || ctl->watch) {
		clock_gettime(CLOCK_MONOTONIC, &t.last_watch);
		curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, on_progress);
		curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &t);
		curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
	}
	if (body) {
		text = json_dumps(body, JSON_COMPACT);
		headers = curl_slist_append(headers, "Content-Type: application/json");
		curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, text);
	}
	rc = curl_easy_perform(curl);
	if (rc == CURLE_OK)
		curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &r->status);
	curl_slist_free_all(headers);
	curl_easy_cleanup(curl);
	free(text);
	if (rc != CURLE_OK)
		response_free(r); /* what arrived before the failure: callers return at once */
	if (rc == CURLE_COULDNT_CONNECT)
		return unreachable_why(ctl->socket);
	if (rc != CURLE_OK) {
		fprintf(stderr,
		        "rosterctl: cannot reach rosterd at %s: %s\n"
		        "  Is rosterd running? Set the socket with -s PATH or ROSTER_SOCKET.\n",
		        ctl->socket, curl_easy_strerror(rc));
		return EXIT_UNREACHABLE;
	}
	if (r->body)
		r->json = json_loadb(r->body, r->len, JSON_DECODE_ANY, NULL);
	return 0;
}

/* The code of a reply's error object, or NULL. */
static const char *error_code(const json_t *reply)
{
	return json_string_value(json_object_get(json_object_get(reply, "error"), "code"));
}

/* A 503 that rosterd sends before any handler has seen the request: over a
 * connection limit, holding as much unhandled request data as it takes, or
 * stopping (a restart). Sending it again cannot do anything twice. */
static int refused_before_handling(const struct response *r)
{
	const char *code = error_code(r->json);

	return r->status == 503 && code &&
	       (strcmp(code, "too_many_connections") == 0 || strcmp(code, "busy") == 0 ||
	        strcmp(code, "stopping") == 0);
}

/* One request; one refused before any handler saw it is sent again after 0.1,
 * 0.2, 0.4, 0.8 and 1.6 s, so a restart or a moment at a connection limit does not
 * fail a clerk's command. The last refusal is the answer (exit 75). */
int http_request(struct ctl *ctl, const char *method, const char *path, const json_t *body,
                 struct response *r)
{
	long wait_ms = 100;
	int rc;

	while ((rc = http_request_once(ctl, method, path, body, r)) == 0 &&
	       refused_before_handling(r) && wait_ms <= 1600) {
		struct timespec ts = {wait_ms / 1000, (wait_ms % 1000) * 1000000L};

		response_free(r);
		nanosleep(&ts, NULL);
		wait_ms *= 2;
	}
	return rc;
}

void response_free(struct response *r)
{
	free(r->body);
	json_decref(r->json);
	memset(r, 0, sizeof(*r));
}

/* A 503 is a retry later (over a connection limit, rosterd busy or stopping), but
 * for a registry that stopped taking writes after a storage failure. */
static int exit_for(long status, const json_t *reply)
{
	const char *code = error_code(reply);

	if (status < 300)
		return EXIT_OK;
	switch (status) {
	case 503:
		return code && strcmp(code, "storage_failed") == 0 ? EXIT_INTERNAL : EXIT_TEMPFAIL;
	case 404:
		return EXIT_NOTFOUND;
	case 403:
		return EXIT_DENIED;
	case 400:
	case 405:
	case 409:
	case 413:
	case 422:
		return EXIT_REJECTED;
	case 507:
		return EXIT_TEMPFAIL;
	default:
		return EXIT_INTERNAL;
	}
}

int http_finish(struct ctl *ctl, struct response *r, void (*print)(const json_t *))
{
	int code = exit_for(r->status, r->json);

	if (code == EXIT_OK) {
		if (ctl->json || print == NULL)
			fwrite(r->body ? r->body : "", 1, r->len, stdout);
		else if (r->json)
			print(r->json);
	} else if (ctl->json) {
		fwrite(r->body ? r->body : "", 1, r->len, stderr);
	} else {
		json_t *e = json_object_get(r->json, "error");
		const char *msg = json_string_value(json_object_get(e, "message"));

		fprintf(stderr, "rosterctl: %s (HTTP %ld%s%s)\n",
		        msg ? msg : "the daemon gave an unexpected reply", r->status, e ? ", " : "",
		        e ? json_string_value(json_object_get(e, "code")) : "");
	}
	response_free(r);
	return code;
}

int cmd_simple(struct ctl *ctl, const char *method, const char *path, const json_t *body,
               void (*print)(const json_t *))
{
	struct response r;
	int rc = http_request(ctl, method, path, body, &r);

	return rc ? rc : http_finish(ctl, &r, print);
}
