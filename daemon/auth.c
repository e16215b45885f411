/*
 * auth.c - who is calling: SO_PEERCRED on the connection's socket, the account
 * name for the audit entry, and the roles the role table grants. Deny by
 * default: a peer matching no line of [roles] holds no role.
 */
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <unistr.h>

#include <event2/bufferevent.h>

#include "rosterd.h"

static int members_has(const struct role_members *m, uid_t uid, gid_t gid)
{
	for (size_t i = 0; i < m->n_uids; i++)
		if (m->uids[i] == uid)
			return 1;
	for (size_t i = 0; i < m->n_gids; i++)
		if (m->gids[i] == gid)
			return 1;
	return 0;
}

/* A Unix socket's peer credentials are those of its connect(), so the ones the
 * connection table read at admission serve every request on it. */
int auth_peer(struct server *srv, const struct conn *c, struct evhttp_request *req,
              struct peer *peer)
{
	struct evhttp_connection *conn = evhttp_request_get_connection(req);
	struct bufferevent *bev = conn ? evhttp_connection_get_bufferevent(conn) : NULL;
	struct ucred cred;
	socklen_t len = sizeof(cred);
	struct passwd pw, *res = NULL;
	char buf[1024];

	memset(peer, 0, sizeof(*peer));
	if (conn_peer(c, &peer->uid, &peer->gid, &peer->pid) < 0) {
		if (bev == NULL ||
		    getsockopt(bufferevent_getfd(bev), SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
			return -1;
		peer->uid = cred.uid;
		peer->gid = cred.gid;
		peer->pid = cred.pid;
	}
	for (size_t i = 0; i < srv->nnames; i++)
		if (srv->names[i].uid == peer->uid) {
			memcpy(peer->user, srv->names[i].name, sizeof(peer->user));
			goto named;
		}
	/* The name goes into audit entries, which are UTF-8 JSON: a name that is not
	 * UTF-8 (or does not fit) is recorded by its uid instead. */
	if (getpwuid_r(peer->uid, &pw, buf, sizeof(buf), &res) == 0 && res != NULL &&
	    strlen(pw.pw_name) < sizeof(peer->user) &&
	    u8_check((const uint8_t *)pw.pw_name, strlen(pw.pw_name)) == NULL)
		snprintf(peer->user, sizeof(peer->user), "%s", pw.pw_name);
	else
		snprintf(peer->user, sizeof(peer->user), "uid:%u", (unsigned)peer->uid);
	if (srv->nnames < sizeof(srv->names) / sizeof(srv->names[0])) {
		srv->names[srv->nnames].uid = peer->uid;
		memcpy(srv->names[srv->nnames++].name, peer->user, sizeof(peer->user));
	}
named:
	peer->roles = auth_roles(srv, peer->uid, peer->gid);
	return 0;
}

int auth_roles(const struct server *srv, uid_t uid, gid_t gid)
{
	int roles = grants_of(srv, uid);

	for (int i = 0; i < ROLE_COUNT; i++)
		if (members_has(&srv->cfg.roles.members[i], uid, gid))
			roles |= 1 << i;
	return roles;
}
