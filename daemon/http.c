/*
 * http.c - the HTTP side of requests: JSON replies and errors, request bodies,
 * query parameters, and streaming audit entries as JSON lines.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/keyvalq_struct.h>
#include <unistr.h>

#include "rosterd.h"
#include "roster/canon.h"
#include "roster/log.h"
#include "roster/record.h"

static const char *reason_phrase(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 201:
		return "Created";
	case 400:
		return "Bad Request";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 409:
		return "Conflict";
	case 413:
		return "Payload Too Large";
	case 422:
		return "Unprocessable Entity";
	case 503:
		return "Service Unavailable";
	case 507:
		return "Insufficient Storage";
	default:
		return status >= 500 ? "Internal Server Error" : "Error";
	}
}

void http_reply_json(struct evhttp_request *req, int status, json_t *body)
{
	static const char unwritten[] = "{\"error\":{\"code\":\"internal\",\"message\":"
	                                "\"rosterd could not write this reply\"}}";
	struct evbuffer *buf = evbuffer_new();
	struct roster_canon_buf text = {0};
	struct roster_err err;

	/* body is NULL when building it failed (json_pack refuses a message that is
	 * not UTF-8, say): the client still gets JSON, and a status that says so. */
	if (roster_json_compact(&text, body, &err) == 0) {
		evbuffer_add(buf, text.p, text.len);
	} else {
		log_warnx("a reply could not be written: %s", err.message);
		evbuffer_add(buf, unwritten, sizeof(unwritten) - 1);
		status = 500;
	}
	evbuffer_add(buf, "\n", 1);
	roster_canon_buf_wipe(&text);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
	                  "application/json");
	evhttp_send_reply(req, status, reason_phrase(status), buf);
	evbuffer_free(buf);
}

struct bufferevent *http_reply_bev(struct evhttp_request *req)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);

	return evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;
}

/*
 * evhttp_send_reply only queues a reply: libevent then arms EPOLLOUT, waits for
 * the next turn of the loop to write it, and disarms it, two epoll_ctl calls
 * and a wake-up per request (bench/README.md, eleventh round). This writes what
 * was queued at once and, when the socket took all of it, runs the bufferevent's
 * write callback as the write event would have: evhttp finishes the request
 * there (frees it, reads the next), and the arming and disarming fall in the
 * same turn, which the changelist folds away. What the socket does not take,
 * or an error, is left to libevent's own path. The output's front is frozen
 * outside libevent's write callback, as there: unfrozen for the write alone.
 * Only with no evhttp callback on the stack (writer_done_cb), and only right
 * after a reply was queued on an output that was empty before it.
 */
void http_reply_flush(struct bufferevent *bev)
{
	struct evbuffer *out = bufferevent_get_output(bev);
	int rc;

	if (evbuffer_get_length(out) == 0)
		return;
	evbuffer_unfreeze(out, 1);
	rc = evbuffer_write(out, bufferevent_getfd(bev));
	evbuffer_freeze(out, 1);
	if (rc > 0 && evbuffer_get_length(out) == 0)
		bufferevent_trigger(bev, EV_WRITE, 0);
}

void http_reply_raw(struct evhttp_request *req, int status, struct evbuffer *body)
{
	evbuffer_add(body, "\n", 1);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
	                  "application/json");
	evhttp_send_reply(req, status, reason_phrase(status), body);
}

void http_reply_error(struct evhttp_request *req, const struct roster_err *err,
                      const json_t *details)
{
	int status = err->status ? err->status : 500;
	json_t *body = json_pack("{s:{s:s, s:s}}", "error", "code",
	                         err->code[0] ? err->code : "error", "message", err->message);

	if (details)
		json_object_set(json_object_get(body, "error"), "rows", (json_t *)details);

	http_reply_json(req, status, body);
	json_decref(body);
}

json_t *http_body_json(struct evhttp_request *req, struct roster_err *err)
{
	return http_body_json_max(req, BODY_MAX, err);
}

json_t *http_body_json_max(struct evhttp_request *req, size_t max, struct roster_err *err)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t len = evbuffer_get_length(in);
	const char *ctype =
	    evhttp_find_header(evhttp_request_get_input_headers(req), "Content-Type");

	if (len > max) {
		roster_err_set(err, 413, "too_large", "request body is %zu bytes; the limit is %zu",
		               len, max);
		return NULL;
	}
	if (ctype && strncmp(ctype, "application/json", 16) != 0) {
		roster_err_set(err, 400, "bad_content_type",
		               "send the body as application/json, not %s", ctype);
		return NULL;
	}
	if (len == 0) {
		roster_err_set(err, 400, "no_body", "this request needs a JSON object as its body");
		return NULL;
	}
	return roster_body_parse((const char *)evbuffer_pullup(in, -1), len, err);
}

const char *http_query(struct evhttp_request *req, const char *key, char *buf, size_t len)
{
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *q = uri ? evhttp_uri_get_query(uri) : NULL;
	struct evkeyvalq params;
	const char *v;

	if (q == NULL)
		return NULL;
	TAILQ_INIT(&params);
	if (evhttp_parse_query_str(q, &params) < 0)
		return NULL;
	v = evhttp_find_header(&params, key);
	if (v) {
		/* Cut, a value could end inside a character, or name something else. */
		if (snprintf(buf, len, "%s", v) >= (int)len)
			buf[0] = '\0';
		v = buf;
	}
	evhttp_clear_headers(&params);
	return v;
}

/* Whether name is one of the space-separated words of list. */
static int word_in(const char *list, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = list; p && *p; p += strcspn(p, " "), p += *p == ' ')
		if (strncmp(p, name, n) == 0 && (p[n] == ' ' || p[n] == '\0'))
			return 1;
	return 0;
}

int http_query_check(struct evhttp_request *req, const char *params, struct roster_err *err)
{
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *q = uri ? evhttp_uri_get_query(uri) : NULL;
	struct evkeyvalq pairs;
	struct evkeyval *kv;
	int rc = 0;

	if (q == NULL)
		return 0;
	TAILQ_INIT(&pairs);
	if (evhttp_parse_query_str(q, &pairs) < 0)
		return roster_err_set(err, 400, "bad_query",
		                      "the query is not name=value pairs joined by '&'");
	TAILQ_FOREACH(kv, &pairs, next)
	{
		if (u8_check((const uint8_t *)kv->key, strlen(kv->key)) != NULL ||
		    u8_check((const uint8_t *)kv->value, strlen(kv->value)) != NULL) {
			rc =
			    roster_err_set(err, 400, "bad_query",
			                   "query parameter '%s' is not UTF-8 text: percent-encode "
			                   "the UTF-8 bytes of each character",
			                   kv->key);
			break;
		}
		if (!word_in(params, kv->key)) {
			rc = roster_err_set(
			    err, 400, "bad_query",
			    "'%s' is not a query parameter of this path: it takes %s", kv->key,
			    params ? params : "none");
			break;
		}
		if (strlen(kv->value) >= HTTP_QUERY_MAX) {
			rc = roster_err_set(err, 400, "bad_query",
			                    "query parameter '%s' is longer than %d bytes", kv->key,
			                    HTTP_QUERY_MAX - 1);
			break;
		}
	}
	evhttp_clear_headers(&pairs);
	return rc;
}

int http_query_limit(struct evhttp_request *req, size_t def, size_t max, size_t *out,
                     struct roster_err *err)
{
	char buf[32], *end;
	const char *v = http_query(req, "limit", buf, sizeof(buf));
	unsigned long n;

	*out = def;
	if (v == NULL)
		return 0;
	n = strtoul(v, &end, 10);
	if (*v == '\0' || *end || *v == '-' || n == 0 || n > max)
		return roster_err_set(err, 400, "bad_query", "limit must be 1 to %zu", max);
	*out = n;
	return 0;
}

/* Replies with entries [from, to) as JSON lines, read under one short read
 * transaction after the commit that recorded this read. Pages are capped
 * (AUDIT_PAGE_MAX in rosterd.h), so a reply never holds up the writer for long;
 * clients page with ?from=. */
