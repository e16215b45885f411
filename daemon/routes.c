/*
 * routes.c - the daemon's one table of routes (method, path, roles, audit
 * action, handler, query parameters) and the dispatch every request goes
 * through: identify the peer, match the route, check the role and the query,
 * let the handler prepare an op, and queue it for the writer. Every request
 * but health ends in an audit entry, refusals included.
 */
#include <stdio.h>
#include <string.h>

#include "rosterd.h"

/* Fields in the order the table reads (method, path, roles): a few padding bytes. */
struct route { // NOLINT(clang-analyzer-optin.performance.Padding)
	enum evhttp_cmd_type method;
	const char *path; /* "{id}" matches one path segment */
	int roles;
	const char *action;
	handler_fn handler; /* NULL: answered on the spot, not audited */
	const char *params; /* the query parameters it takes, by name; NULL: none */
};

#define CLERK    ROLE_CLERK
#define READERS  (ROLE_CLERK | ROLE_APPROVER)
#define APPROVER ROLE_APPROVER
#define AUDITOR  ROLE_AUDITOR
#define ADMIN    ROLE_ADMIN

static const struct route routes[] = {
    {EVHTTP_REQ_POST, "/v1/persons", CLERK, "person.create", h_person_create, NULL},
    {EVHTTP_REQ_GET, "/v1/persons", READERS, "person.list", h_person_list,
     "national_id name birth_date employer segment status expertise after limit"},
    {EVHTTP_REQ_POST, "/v1/persons/import", CLERK, "person.import", h_person_import, NULL},
    {EVHTTP_REQ_GET, "/v1/persons/{id}", READERS, "person.read", h_person_get, NULL},
    {EVHTTP_REQ_PATCH, "/v1/persons/{id}", CLERK, "person.update", h_person_update, NULL},
    {EVHTTP_REQ_POST, "/v1/documents", CLERK, "document.create", h_doc_create, NULL},
    {EVHTTP_REQ_GET, "/v1/documents", READERS, "document.list", h_doc_list,
     "number country person custody after limit"},
    {EVHTTP_REQ_GET, "/v1/documents/{id}", READERS, "document.read", h_doc_get,
     "history_from limit"},
    {EVHTTP_REQ_POST, "/v1/documents/{id}/custody", CLERK, "document.custody", h_doc_custody, NULL},
    {EVHTTP_REQ_POST, "/v1/travel", CLERK, "travel.create", h_travel_create, NULL},
    {EVHTTP_REQ_GET, "/v1/travel", READERS, "travel.list", h_travel_list,
     "person status after limit"},
    {EVHTTP_REQ_GET, "/v1/travel/{id}", READERS, "travel.read", h_travel_get, NULL},
    {EVHTTP_REQ_POST, "/v1/travel/{id}/decision", APPROVER, "travel.decide", h_travel_decide, NULL},
    {EVHTTP_REQ_POST, "/v1/travel/{id}/complete", CLERK, "travel.complete", h_travel_complete,
     NULL},
    {EVHTTP_REQ_POST, "/v1/travel/{id}/cancel", CLERK, "travel.cancel", h_travel_cancel, NULL},
    {EVHTTP_REQ_GET, "/v1/audit/entries", AUDITOR, "audit.read", h_audit_entries,
     "from last limit target actor action outcome since until"},
    {EVHTTP_REQ_GET, "/v1/audit/checkpoint", AUDITOR, "audit.checkpoint", h_audit_checkpoint, NULL},
    {EVHTTP_REQ_POST, "/v1/audit/checkpoint", AUDITOR, "audit.sign", h_audit_checkpoint_new, NULL},
    {EVHTTP_REQ_GET, "/v1/audit/checkpoints", AUDITOR, "audit.checkpoints", h_audit_checkpoints,
     "from limit"},
    {EVHTTP_REQ_GET, "/v1/audit/pubkey", AUDITOR, "audit.pubkey", h_audit_pubkey, NULL},
    {EVHTTP_REQ_GET, "/v1/audit/proof/inclusion", AUDITOR, "audit.prove", h_audit_inclusion,
     "index size"},
    {EVHTTP_REQ_GET, "/v1/audit/proof/consistency", AUDITOR, "audit.consistency",
     h_audit_consistency, "old new"},
    {EVHTTP_REQ_GET, "/v1/audit/digests", AUDITOR, "audit.digests", h_audit_digests, "after limit"},
    {EVHTTP_REQ_GET, "/v1/audit/filters", AUDITOR, "audit.filters", h_audit_filters, "from limit"},
    {EVHTTP_REQ_GET, "/v1/status", ADMIN, "status.read", h_status, NULL},
    {EVHTTP_REQ_GET, "/v1/roles", ADMIN, "role.list", h_role_list, NULL},
    {EVHTTP_REQ_POST, "/v1/roles/grant", ADMIN, "role.grant", h_role_grant, NULL},
    {EVHTTP_REQ_POST, "/v1/roles/revoke", ADMIN, "role.revoke", h_role_revoke, NULL},
    {EVHTTP_REQ_POST, "/v1/backup", ADMIN, "backup", h_backup, NULL},
    {EVHTTP_REQ_GET, "/v1/keys", ADMIN, "key.status", h_key_status, NULL},
    {EVHTTP_REQ_POST, "/v1/keys/rotate", ADMIN, "key.rotate", h_key_rotate, NULL},
    {EVHTTP_REQ_GET, "/v1/health", ROLE_ANY, "health", NULL, NULL},
    {EVHTTP_REQ_GET, "/v1/metrics", ADMIN, "metrics", NULL, NULL},
    {EVHTTP_REQ_GET, "/v1/progress", ADMIN, "progress", NULL, NULL},
};

/* Matches path against pattern; *id gets the {id} segment (NUL-terminated in idbuf). */
static int path_match(const char *pattern, const char *path, char *idbuf, size_t idlen)
{
	while (*pattern) {
		if (strncmp(pattern, "{id}", 4) == 0) {
			size_t n = strcspn(path, "/");

			if (n == 0)
				return 0;
			/* Cut when too long to be an id (ids are far shorter than idbuf), so
			 * it is still there to be refused: 404, not a handler without one. */
			snprintf(idbuf, idlen, "%.*s", (int)(n < idlen ? n : idlen - 1), path);
			pattern += 4;
			path += n;
			continue;
		}
		if (*pattern++ != *path++)
			return 0;
	}
	return *path == '\0';
}

static void roles_text(int roles, char *buf, size_t len)
{
	buf[0] = '\0';
	for (int i = 0; i < ROLE_COUNT; i++)
		if (roles & (1 << i))
			snprintf(buf + strlen(buf), len - strlen(buf), "%s%s", buf[0] ? " or " : "",
			         role_name(1 << i));
}

static void reply_health(struct server *srv, struct evhttp_request *req, const struct peer *peer)
{
	json_t *roles = json_array(), *body;
	const char *status = writer_failed(srv)      ? "failing"
	                     : writer_disk_full(srv) ? "disk_full"
	                                             : "ok";

	for (int i = 0; i < ROLE_COUNT; i++)
		if (peer->roles & (1 << i))
			json_array_append_new(roles, json_string(role_name(1 << i)));
	body =
	    json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:{s:s, s:I, s:o}}", "status", status,
	              "version", ROSTER_VERSION, "origin", srv->cfg.origin, "uptime",
	              (json_int_t)(time(NULL) - srv->started), "log_size",
	              (json_int_t)writer_log_size(srv), "map_size", (json_int_t)srv->store.map_size,
	              "you", "user", peer->user, "uid", (json_int_t)peer->uid, "roles", roles);
	http_reply_json(req, strcmp(status, "ok") ? 503 : 200, body);
	json_decref(body);
}

/* Finds the route; *allowed tells whether the path exists under another method. */
static const struct route *route_find(struct evhttp_request *req, const char *path, char *id,
                                      size_t idlen, int *path_known)
{
	enum evhttp_cmd_type method = evhttp_request_get_command(req);

	*path_known = 0;
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		id[0] = '\0'; /* only the matching route's {id} counts */
		if (!path_match(routes[i].path, path, id, idlen))
			continue;
		*path_known = 1;
		if (routes[i].method == method)
			return &routes[i];
	}
	return NULL;
}

void routes_dispatch(struct evhttp_request *req, void *arg)
{
	struct server *srv = arg;
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
	const struct route *route;
	struct op *op;
	char id[ROSTER_ID_MAX + 1] = "", need[64];
	int path_known, bad_query = 0;

	srv->in_flight++;
	op = roster_xcalloc(1, sizeof(*op));
	op->req = req;
	op->status = 200;
	op->conn = conn_of(srv, req);
	conn_busy(op->conn, +1);
	conn_received(op->conn);
	if (conn_refused(op->conn)) {
		roster_err_set(&op->err, 503, "too_many_connections",
		               "this connection is over a limit and is being closed");
		op->status = 503;
		server_reply_done(srv, op);
		return;
	}
	if (srv->stopping) {
		roster_err_set(&op->err, 503, "stopping",
		               "rosterd is shutting down: retry shortly");
		op->status = 503;
		server_reply_done(srv, op);
		return;
	}
	if (auth_peer(srv, op->conn, req, &op->peer) < 0) {
		roster_err_set(&op->err, 500, "no_peer", "cannot identify the caller");
		op->status = 500;
		server_reply_done(srv, op);
		return;
	}
	route = route_find(req, path ? path : "", id, sizeof(id), &path_known);
	op->action = route ? route->action : "unknown";
	if (route && id[0] && roster_id_valid_any(id, "per_ doc_ trv_"))
		snprintf(op->target, sizeof(op->target), "%s", id);

	/* The query is checked whole, for a caller who may use the route, before
	 * anything reads it; paths answered on the spot too (and their refusals
	 * audited like any other). */
	if (route && (op->peer.roles & route->roles))
		bad_query = http_query_check(req, route->params, &op->err) < 0;
	if (route && route->handler == NULL && (op->peer.roles & route->roles) && !bad_query) {
		metrics_count(srv, route->action, 200);
		if (strcmp(route->action, "metrics") == 0)
			metrics_reply(srv, req);
		else if (strcmp(route->action, "progress") == 0)
			progress_reply(srv, req);
		else
			reply_health(srv, req, &op->peer);
		conn_busy(op->conn, -1);
		srv->in_flight--;
		free(op);
		return;
	}
	if (route == NULL && path_known) {
		roster_err_set(&op->err, 405, "method_not_allowed",
		               "this path does not take that method: see the API description");
	} else if (route == NULL) {
		roster_err_set(&op->err, 404, "no_such_endpoint",
		               "there is no such endpoint: paths start with /v1/");
	} else if (!(op->peer.roles & route->roles)) {
		roles_text(route->roles, need, sizeof(need));
		roster_err_set(&op->err, 403, "forbidden",
		               "%s (uid %u) does not hold the %s role needed for %s: an "
		               "administrator grants roles in rosterd.conf's [roles]",
		               op->peer.user, (unsigned)op->peer.uid, need, route->action);
	} else if (bad_query) {
		/* refused whole: a handler takes the query's text for granted */
	} else if (id[0] && op->target[0] == '\0') {
		roster_err_set(&op->err, 404, "not_found",
		               "'%s' is not a record id of this registry", id);
	} else if (route->handler(srv, op, op->target) == 0) {
		op->err.status = 0;
	}
	if (op->err.status)
		op->status = op->err.status;
	if (writer_failed(srv)) {
		roster_err_set(&op->err, 503, "storage_failed",
		               "the registry has stopped taking requests after a storage failure: "
		               "see rosterd's log");
		op->status = 503;
		server_reply_done(srv, op);
		return;
	}
	if (op->read && op->status < 400)
		snapshot_read(srv, op);
	writer_submit(srv, op);
}
