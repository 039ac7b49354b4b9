/* SPDX-License-Identifier: MIT */
/* control.c - psmd's admin socket server: connections, peer credentials, framing, group commit. */
#include "control.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "control_sock.h"
#include "daemon.h"
#include "log.h"
#include "loop.h"
#include "nss.h"
#include "ops.h"
#include "plural.h"

#define CONTROL_READ 65536
#define CONTROL_READS 4	   /* reads of one client per loop iteration, at most */
#define CONTROL_ACCEPTS 64 /* per readable event of the listener */

struct client {
	struct control *ctl;
	int fd;
	struct ops_peer peer;
	struct proto_lines lines;
	char *out;
	size_t len, cap, sent, ready; /* out[sent..ready) may go now; [ready..len) waits */
	bool hold;		      /* a change of ours waits for the commit */
	bool eof;		      /* the peer sent everything: close once answered */
	bool closing;		      /* too_large: close once the error is sent */
	int64_t stalled;	      /* since when queued output made no progress; 0 */
	int64_t admin_at;	      /* when peer.admin was last asked of NSS */
	int64_t active_at;	      /* when it last sent something (or connected) */
	int64_t frame_at;	      /* since when an unfinished request line waits; 0 */
};

/* A change of the batch: its reply waits in cl->out[off..off+len), its audit line with it. */
struct control_change {
	struct client *cl; /* NULL once the client is gone */
	size_t off, len;
	char *tag;   /* the request's tag (NULL: none) */
	char *audit; /* the audit line (NULL: it could not be made; that is logged) */
};

struct control {
	struct psmd *d;
	struct loop *l;
	int fd;
	int reserve; /* an fd kept open to accept (and answer) one connection when out of fds */
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct client **cl;
	size_t n, cap;
	bool held;		    /* some client holds replies for the commit */
	bool accept_paused;	    /* out of fds: the listener rests until a client leaves */
	bool fds_logged;	    /* that was logged (at most once a second) */
	struct control_change *chg; /* the batch's changes, in the order they were made */
	size_t nchg, capchg;
};

static int64_t control_now(void)
{
	return (int64_t)time(NULL);
}

/* ---- clients ---------------------------------------------------------------------------- */

static void control_accept_cb(void *ctx, int lfd, short revents);

/* Watches the listener again after running out of fds. */
static void control_accept_resume(struct control *c)
{
	if (c->accept_paused && loop_add(c->l, c->fd, POLLIN, control_accept_cb, c, NULL) == PSM_OK)
		c->accept_paused = false;
}

static void client_free(struct control *c, struct client *cl)
{
	size_t i;

	for (i = 0; i < c->nchg; i++)
		if (c->chg[i].cl == cl)
			c->chg[i].cl = NULL;
	for (i = 0; i < c->n; i++)
		if (c->cl[i] == cl) {
			c->cl[i] = c->cl[--c->n];
			break;
		}
	loop_del(c->l, cl->fd);
	close(cl->fd);
	proto_lines_free(&cl->lines);
	free(cl->out);
	free(cl);
	control_accept_resume(c);
}

/* Replies queued past this stop the reading of more requests from the client. */
static size_t client_out_soft(const struct client *cl)
{
	return cl->peer.admin ? CONTROL_OUT_SOFT : CONTROL_OUT_SOFT_USER;
}

/* Appends a reply; it may go at once unless a change before it waits for the commit. */
static void client_queue(struct client *cl, const char *line, size_t len, bool changed)
{
	if (cl->len + len > cl->cap) {
		size_t cap = cl->cap ? cl->cap : 4096;
		char *p;

		while (cap < cl->len + len)
			cap *= 2;
		p = realloc(cl->out, cap);
		if (p == NULL) {
			log_msg(LOG_ERR, "admin socket: out of memory for a reply: dropping uid %u",
				(unsigned)cl->peer.uid);
			cl->closing = true;
			return;
		}
		cl->out = p;
		cl->cap = cap;
	}
	memcpy(cl->out + cl->len, line, len);
	cl->len += len;
	if (changed) {
		cl->hold = true;
		cl->ctl->held = true;
	}
	if (!cl->hold)
		cl->ready = cl->len;
}

static void client_reply_error(struct client *cl, int ecode, const char *msg, const char *tag)
{
	size_t len;
	char *line = proto_reply_error(ecode, msg, tag, &len);

	if (line == NULL)
		client_queue(cl, proto_reply_oom, strlen(proto_reply_oom), false);
	else
		client_queue(cl, line, len, false);
	free(line);
}

/* Room for one more change in the batch (made before the request runs). */
static int control_change_room(struct control *c)
{
	struct control_change *v;
	size_t cap;

	if (c->nchg < c->capchg)
		return PSM_OK;
	cap = c->capchg ? c->capchg * 2 : 16;
	v = realloc(c->chg, cap * sizeof(*v));
	if (v == NULL)
		return PSM_ENOMEM;
	c->chg = v;
	c->capchg = cap;
	return PSM_OK;
}

/* The request changed the state: its reply (cl->out from off on) and audit line wait for
 * the commit (room was made). */
static void control_change_add(struct client *cl, size_t off, const struct ops_ctx *oc, int rc,
			       const struct psm_err *err)
{
	struct control *c = cl->ctl;

	c->chg[c->nchg++] = (struct control_change){
	    .cl = cl,
	    .off = off,
	    .len = cl->len - off,
	    .tag = oc->req->tag != NULL ? strdup(oc->req->tag) : NULL,
	    .audit = audit_text(oc, rc, err),
	};
}

/* Handles one validated request: authorization and the op's handler, audit, reply (a change's
 * audit line and reply wait for its commit). */
/* Whether name (primary group gid) is root or in admin_group; unknown group: root only. */
static bool control_is_admin(const struct control *c, const struct ops_peer *p)
{
	struct nss_groups g;
	bool in = false;
	gid_t admin;

	if (p->uid == 0)
		return true;
	if (p->name[0] == '\0' ||
	    store_group_id(c->d->conf.cfg.admin_group, &admin, NULL) != PSM_OK)
		return false;
	if (p->gid == admin)
		return true;
	if (nss_groups(&g, p->name, p->gid, NULL) != 1)
		return false;
	for (int i = 0; i < g.n && !in; i++)
		in = g.list[i] == admin;
	nss_groups_free(&g);
	return in;
}

/* Admin rights as of now: a member taken out of admin_group loses them on connections
 * already open too (NSS asked at most once a second per connection; root never). */
static void client_admin_fresh(struct client *cl, int64_t now)
{
	if (cl->peer.uid == 0 || cl->admin_at == now)
		return;
	cl->peer.admin = control_is_admin(cl->ctl, &cl->peer);
	cl->admin_at = now;
}

static void client_request(struct client *cl, struct proto_req *req)
{
	struct ops_ctx oc = {.d = cl->ctl->d, .peer = &cl->peer, .req = req};
	struct psm_err err = {0};
	cJSON *fields = cJSON_CreateObject();
	char *line = NULL;
	size_t len = 0, off = cl->len;
	int rc;

	oc.now = control_now();
	client_admin_fresh(cl, oc.now);
	if (fields == NULL || (proto_op_mutates(req->op) && control_change_room(cl->ctl) != PSM_OK))
		rc = psm_err_set(&err, PSM_ENOMEM, "out of memory");
	else
		rc = ops_run(&oc, fields, &err);
	if (proto_op_mutates(req->op) && !oc.changed)
		audit_log(&oc, rc, &err);
	metrics_request(&cl->ctl->d->metrics, (int)req->op->id, rc == PSM_OK);
	if (rc == PSM_OK) {
		line = proto_reply_ok(fields, req->tag, &len);
	} else {
		cJSON_Delete(fields);
		line = proto_reply_err(&err, req->tag, &len);
	}
	if (line == NULL)
		client_queue(cl, proto_reply_oom, strlen(proto_reply_oom), oc.changed);
	else
		client_queue(cl, line, len, oc.changed);
	free(line);
	if (oc.changed)
		control_change_add(cl, off, &oc, rc, &err);
}

static void client_line(struct client *cl, const char *line, size_t len)
{
	struct proto_req req;
	struct psm_err err = {0};

	if (proto_parse_request(line, len, &req, &err) == PSM_OK) {
		client_request(cl, &req);
	} else {
		metrics_request(&cl->ctl->d->metrics, req.op != NULL ? (int)req.op->id : -1, false);
		client_reply_error(cl, req.ecode, err.msg, req.tag);
	}
	proto_req_free(&req);
}

/*
 * Handles the whole lines buffered, pausing while client_out_soft() bytes of
 * replies wait (the rest is handled as the client reads; no new input is
 * read meanwhile), so a client's queue stays bounded.
 */
static void client_process(struct client *cl)
{
	int st = PROTO_LINES_NONE;
	const char *line;
	size_t len;

	while (!cl->closing && cl->len - cl->sent < client_out_soft(cl) &&
	       (st = proto_lines_next(&cl->lines, &line, &len)) == PROTO_LINES_LINE)
		client_line(cl, line, len);
	if (st == PROTO_LINES_TOO_LARGE && !cl->closing) {
		metrics_request(&cl->ctl->d->metrics, -1, false);
		client_reply_error(cl, PROTO_E_TOO_LARGE,
				   "request: larger than 65536 bytes; "
				   "closing the connection",
				   NULL);
		cl->closing = true;
	}
}

/* One read, then the lines it completed; true when the read filled the buffer (more
 * is likely waiting) and the client may send more. */
static bool client_read_once(struct client *cl)
{
	char buf[CONTROL_READ];
	struct psm_err err = {0};
	ssize_t n = read(cl->fd, buf, sizeof(buf));

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return false;
	if (n <= 0) {
		cl->eof = true;
		return false;
	}
	cl->active_at = control_now();
	if (proto_lines_feed(&cl->lines, buf, (size_t)n, &err) != PSM_OK) {
		client_reply_error(cl, PROTO_E_INTERNAL, err.msg, NULL);
		cl->closing = true;
		return false;
	}
	client_process(cl);
	return (size_t)n == sizeof(buf) && !cl->closing && cl->len - cl->sent < client_out_soft(cl);
}

/*
 * Up to CONTROL_READS reads while they come back full: a client that pipelines
 * its requests gets larger groups per commit (one fdatasync for more of them).
 */
static void client_read(struct client *cl)
{
	for (int i = 0; i < CONTROL_READS && client_read_once(cl); i++)
		;
}

static void client_write(struct client *cl)
{
	ssize_t n;

	if (cl->ready <= cl->sent)
		return;
	n = write(cl->fd, cl->out + cl->sent, cl->ready - cl->sent);
	if (n < 0 && errno != EAGAIN && errno != EINTR) {
		cl->eof = cl->closing = true;
		cl->sent = cl->ready = cl->len; /* the peer is gone: nothing to deliver */
		return;
	}
	if (n > 0) {
		cl->sent += (size_t)n;
		cl->stalled = 0;
	}
	if (cl->sent == cl->len) {
		cl->sent = cl->ready = cl->len = 0;
		if (cl->cap > 4 * CONTROL_OUT_SOFT) {
			free(cl->out);
			cl->out = NULL;
			cl->cap = 0;
		}
	}
}

static void client_cb(void *ctx, int fd, short revents);

/* Watches what the client needs next, or closes it when it is done. Returns false if closed. */
static bool client_update(struct client *cl)
{
	struct control *c = cl->ctl;
	short ev = 0;

	if (!cl->eof && !cl->closing && cl->len - cl->sent < client_out_soft(cl))
		ev |= POLLIN;
	if (cl->ready > cl->sent)
		ev |= POLLOUT;
	if ((cl->eof || cl->closing) && !cl->hold && cl->sent == cl->len) {
		client_free(c, cl);
		return false;
	}
	if (ev & POLLOUT && cl->stalled == 0)
		cl->stalled = control_now();
	if (!(ev & POLLIN) || proto_lines_pending(&cl->lines) == 0)
		cl->frame_at = 0; /* no unfinished line, or one we do not read on yet */
	else if (cl->frame_at == 0)
		cl->frame_at = control_now();
	if (loop_add(c->l, cl->fd, ev, client_cb, cl, NULL) != PSM_OK) {
		client_free(c, cl);
		return false;
	}
	return true;
}

static void client_cb(void *ctx, int fd, short revents)
{
	struct client *cl = ctx;

	(void)fd;
	if (revents & POLLNVAL) {
		client_free(cl->ctl, cl);
		return;
	}
	if (revents & (POLLIN | POLLHUP | POLLERR))
		client_read(cl);
	if (revents & (POLLOUT | POLLERR))
		client_write(cl);
	if (!cl->hold)
		client_write(cl); /* most replies go out at once, without another poll */
	client_process(cl);	  /* lines paused while replies waited */
	client_update(cl);
}

/* ---- accepting ------------------------------------------------------------------------- */

static void control_peer(const struct control *c, struct ops_peer *p, const struct ucred *uc)
{
	struct nss_id u;

	memset(p, 0, sizeof(*p));
	p->uid = uc->uid;
	p->gid = uc->gid;
	p->pid = uc->pid;
	if (nss_user_uid(uc->uid, &u, NULL) == 1) {
		snprintf(p->name, sizeof(p->name), "%s", u.name);
		p->gid = u.gid;
	}
	p->admin = control_is_admin(c, p);
}

static size_t control_count_uid(const struct control *c, uid_t uid)
{
	size_t i, n = 0;

	for (i = 0; i < c->n; i++)
		n += c->cl[i]->peer.uid == uid;
	return n;
}

static size_t control_count_users(const struct control *c)
{
	size_t i, n = 0;

	for (i = 0; i < c->n; i++)
		n += !c->cl[i]->peer.admin;
	return n;
}

/* Refuses a connection with one error line (best effort: the socket is new and empty). */
static void control_refuse(int fd, const char *why)
{
	size_t len;
	char *line = proto_reply_error(PROTO_E_UNAVAILABLE, why, NULL, &len);

	if (line != NULL && write(fd, line, len) < 0)
		log_msg(LOG_DEBUG, "admin socket: refusing: %s", strerror(errno));
	free(line);
	close(fd);
}

static int control_add_client(struct control *c, int fd, const struct ops_peer *peer)
{
	struct client *cl;

	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 16;
		struct client **v = realloc(c->cl, cap * sizeof(*v));

		if (v == NULL)
			return PSM_ENOMEM;
		c->cl = v;
		c->cap = cap;
	}
	cl = calloc(1, sizeof(*cl));
	if (cl == NULL)
		return PSM_ENOMEM;
	cl->ctl = c;
	cl->fd = fd;
	cl->peer = *peer;
	cl->admin_at = cl->active_at = control_now(); /* peer.admin was asked of NSS just now */
	proto_lines_init(&cl->lines, PROTO_LINE_MAX);
	c->cl[c->n++] = cl;
	if (loop_add(c->l, fd, POLLIN, client_cb, cl, NULL) != PSM_OK) {
		c->n--;
		free(cl);
		return PSM_ENOMEM;
	}
	return PSM_OK;
}

/* Why a new connection of peer is refused (the caps of control.h), or NULL. */
static const char *control_over_cap(const struct control *c, const struct ops_peer *peer)
{
	size_t cap = peer->uid == 0 ? CONTROL_PER_ROOT : CONTROL_PER_UID;

	if (c->n >= CONTROL_CLIENTS_MAX)
		return "too many connections to psmd";
	if (control_count_uid(c, peer->uid) >= cap) {
		log_msg(LOG_WARNING, "admin socket: uid %u has %zu connections already: refused",
			(unsigned)peer->uid, cap);
		return "too many connections from your uid";
	}
	if (!peer->admin && control_count_users(c) >= CONTROL_USERS_MAX) {
		log_msg(LOG_WARNING,
			"admin socket: %d connections of non-admins already: uid %u "
			"refused",
			CONTROL_USERS_MAX, (unsigned)peer->uid);
		return "too many connections of non-admin users";
	}
	return NULL;
}

/* The peer of a new connection (SO_PEERCRED, NSS); false (fd closed) when unknown. */
static bool control_accept_peer(const struct control *c, int fd, struct ops_peer *peer)
{
	struct ucred uc;
	socklen_t ul = sizeof(uc);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &ul) != 0) {
		log_msg(LOG_WARNING, "admin socket: SO_PEERCRED: %s", strerror(errno));
		close(fd);
		return false;
	}
	control_peer(c, peer, &uc);
	return true;
}

/* Takes a new connection of peer as a client, or refuses it (the caps of control.h). */
static void control_admit(struct control *c, int fd, const struct ops_peer *peer)
{
	const char *why = control_over_cap(c, peer);

	if (why == NULL && !peer->admin &&
	    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &(int){CONTROL_SNDBUF_USER}, sizeof(int)) != 0)
		log_msg(LOG_WARNING, "admin socket: SO_SNDBUF: %s", strerror(errno));
	if (why != NULL)
		control_refuse(fd, why);
	else if (control_add_client(c, fd, peer) != PSM_OK)
		control_refuse(fd, "out of memory");
}

/* The connection an admin's may replace when out of fds: the non-admin one quiet longest,
 * else an admin's quiet for a second with nothing in flight; NULL when none may go. */
static struct client *control_victim(const struct control *c)
{
	struct client *v = NULL;

	for (size_t i = 0; i < c->n; i++) {
		struct client *cl = c->cl[i];
		bool idle = cl->len == 0 && !cl->hold && proto_lines_pending(&cl->lines) == 0 &&
			    cl->active_at < control_now(); /* not one that just came */

		if (cl->peer.admin && !idle)
			continue;
		if (v == NULL || (v->peer.admin && !cl->peer.admin) ||
		    (v->peer.admin == cl->peer.admin && cl->active_at < v->active_at))
			v = cl;
	}
	return v;
}

/* Whether fd, the lowest free one, leaves fewer than CONTROL_FD_SPARE fds free: psmd keeps
 * those for its own files (NSS, the journal, snapshots, Redis). */
static bool control_fds_short(int fd)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
		return false;
	return (rlim_t)fd + CONTROL_FD_SPARE >= rl.rlim_cur;
}

/* Out of fds for clients: an admin's connection takes the place of control_victim(); any
 * other is answered "unavailable" and closed, not left in the backlog. */
static void control_make_room(struct control *c, int fd, const struct ops_peer *peer)
{
	struct client *v = peer->admin ? control_victim(c) : NULL;

	if (v == NULL) {
		control_refuse(fd, "too many connections to psmd: out of file descriptors");
		return;
	}
	log_msg(LOG_WARNING,
		"admin socket: out of fds: uid %u's connection (quiet %lld s) closed for uid %u's",
		(unsigned)v->peer.uid, (long long)(control_now() - v->active_at),
		(unsigned)peer->uid);
	client_free(c, v);
	control_admit(c, fd, peer);
}

/* Keeps an fd in reserve for control_accept_spare (-1 when even that is not possible). */
static void control_reserve(struct control *c)
{
	if (c->reserve < 0)
		c->reserve = open("/dev/null", O_RDONLY | O_CLOEXEC);
}

/* Once a second at most: psmd is out of fds. */
static void control_log_fds(struct control *c, int e)
{
	if (!c->fds_logged)
		log_msg(LOG_WARNING,
			"admin socket: accept: %s: admins take the place of the quietest "
			"connection, others are refused",
			strerror(e));
	c->fds_logged = true;
}

/*
 * Out of fds: the reserve fd makes room to accept one connection.  An admin's takes the
 * place of control_victim(); any other is answered "unavailable" and closed, not left in
 * the backlog.  False when there is no reserve (the listener must rest).
 */
static bool control_accept_spare(struct control *c, int lfd, int e)
{
	struct ops_peer peer;
	int fd;

	if (c->reserve < 0)
		return false;
	control_log_fds(c, e);
	close(c->reserve);
	c->reserve = -1;
	fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd >= 0 && control_accept_peer(c, fd, &peer))
		control_make_room(c, fd, &peer);
	control_reserve(c);
	return true;
}

static void control_accept_cb(void *ctx, int lfd, short revents)
{
	struct control *c = ctx;

	(void)revents;
	for (int i = 0; i < CONTROL_ACCEPTS; i++) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		size_t n = c->n;
		struct ops_peer peer;

		if (fd < 0 && (errno == EMFILE || errno == ENFILE)) {
			if (!control_accept_spare(c, lfd, errno)) {
				control_log_fds(c, errno);
				c->accept_paused =
				    loop_add(c->l, lfd, 0, control_accept_cb, c, NULL) == PSM_OK;
			}
			return; /* the loop's watch set may have changed: let it poll again */
		}
		if (fd < 0) {
			if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
				log_msg(LOG_WARNING, "admin socket: accept: %s", strerror(errno));
			return;
		}
		if (!control_accept_peer(c, fd, &peer))
			continue;
		if (control_fds_short(fd)) {
			control_log_fds(c, EMFILE);
			control_make_room(c, fd, &peer);
			return; /* the loop's watch set may have changed: let it poll again */
		}
		control_admit(c, fd, &peer);
		if (c->n != n)
			return; /* the loop's watch set changed: let it poll again */
	}
}

/* ---- the listening socket --------------------------------------------------------------- */

static int control_listen(struct control *c, const char *path, struct psm_err *err)
{
	int rc;

	snprintf(c->path, sizeof(c->path), "%s", path);
	rc = control_sock_listen(path, &c->fd, err);
	if (rc != PSM_OK)
		return rc;
	return loop_add(c->l, c->fd, POLLIN, control_accept_cb, c, err);
}

int control_open(struct control **out, struct psmd *d, struct loop *l, struct psm_err *err)
{
	struct control *c = calloc(1, sizeof(*c));
	int rc;

	*out = NULL;
	if (c == NULL)
		return psm_err_set(err, PSM_ENOMEM, "admin socket: out of memory");
	c->d = d;
	c->l = l;
	c->fd = -1;
	c->reserve = -1;
	rc = control_listen(c, d->conf.cfg.socket, err);
	if (rc != PSM_OK) {
		if (c->fd >= 0) {
			loop_del(l, c->fd);
			close(c->fd);
		}
		free(c);
		return rc;
	}
	control_reserve(c);
	log_msg(LOG_INFO, "admin socket %s", c->path);
	*out = c;
	return PSM_OK;
}

/* ---- group commit ------------------------------------------------------------------------ */

/* Replaces out[off..off+len) by line[0..n); false when out of memory. */
static bool client_splice(struct client *cl, size_t off, size_t len, const char *line, size_t n)
{
	size_t need = cl->len - len + n;

	if (need > cl->cap) {
		char *p = realloc(cl->out, need);

		if (p == NULL)
			return false;
		cl->out = p;
		cl->cap = need;
	}
	memmove(cl->out + off + n, cl->out + off + len, cl->len - off - len);
	memcpy(cl->out + off, line, n);
	cl->len = need;
	return true;
}

/* A change that was not committed: its reply becomes "unavailable" with why. */
static void control_refuse_change(struct control_change *ch, const char *why)
{
	struct client *cl = ch->cl;
	size_t n;
	char *line;

	if (ch->off + ch->len > cl->len)
		return; /* cut already: see below */
	line = proto_reply_error(PROTO_E_UNAVAILABLE, why, ch->tag, &n);
	if (line == NULL || !client_splice(cl, ch->off, ch->len, line, n)) {
		log_msg(LOG_ERR, "admin socket: out of memory for a reply: dropping uid %u",
			(unsigned)cl->peer.uid);
		cl->closing = true;
		cl->len = cl->ready = ch->off; /* nothing of the batch may look acknowledged */
	}
	free(line);
}

/* After the commit: each change's audit line (committed), or its reply refused (not). Later
 * replies of a client move, so the changes are settled from the last. */
static void control_settle(struct control *c, bool ok, const struct psm_err *err)
{
	char why[PSM_ERR_MSG_MAX + 16];

	snprintf(why, sizeof(why), "journal: %s", err->msg);
	for (size_t i = 0; ok && i < c->nchg; i++) {
		if (c->chg[i].audit != NULL)
			audit_emit(c->chg[i].audit);
	}
	for (size_t i = c->nchg; i-- > 0;) {
		if (!ok && c->chg[i].cl != NULL)
			control_refuse_change(&c->chg[i], why);
		free(c->chg[i].tag);
		free(c->chg[i].audit);
	}
	c->nchg = 0;
}

/*
 * One group commit: the batch is journaled (one fdatasync), its grants and sessions enter
 * the table, its audit lines are written, then the held replies go and the lines they
 * paused are handled.  A failed commit takes the batch back and refuses each of its
 * changes; psmd goes on taking changes.
 */
static void control_commit(struct control *c)
{
	struct store *s = &c->d->store;
	struct psm_err err = {0};
	uint64_t ns = 0;
	bool ok = true;
	size_t i;

	c->held = false;
	if (s->j != NULL && (journal_pending(s->j) > 0 || s->batch.n > 0)) {
		ok = store_commit(s, &ns, &err) == PSM_OK;
		if (ok)
			metrics_fsync(&c->d->metrics, ns);
		else
			log_msg(LOG_ERR, "journal commit failed: %zu %s taken back and refused: %s",
				c->nchg, plural(c->nchg, "change", "changes"), err.msg);
	}
	control_settle(c, ok, &err);
	for (i = c->n; i-- > 0;) {
		struct client *cl = c->cl[i];

		if (!cl->hold)
			continue;
		cl->hold = false;
		cl->ready = cl->len;
		client_write(cl);
		client_process(cl);
		client_update(cl);
	}
}

void control_flush(struct control *c)
{
	/* lines handled after a commit may make more changes: commit those too */
	for (int round = 0; c != NULL && c->held && round < 8; round++)
		control_commit(c);
}

/* Whether cl is past a deadline: replies unread (CONTROL_STALL) or a request line left
 * unfinished (CONTROL_FRAME); logs why. */
static bool client_expired(const struct client *cl, int64_t now)
{
	if (cl->ready > cl->sent && cl->stalled != 0 && now - cl->stalled > CONTROL_STALL) {
		log_msg(LOG_WARNING,
			"admin socket: uid %u leaves %zu bytes of replies unread for %d s: dropped",
			(unsigned)cl->peer.uid, cl->ready - cl->sent, CONTROL_STALL);
		return true;
	}
	return cl->frame_at != 0 && now - cl->frame_at >= CONTROL_FRAME;
}

void control_tick(struct control *c, int64_t now)
{
	size_t unfinished = 0;
	uid_t uid = 0;

	if (c == NULL)
		return;
	control_reserve(c);
	control_accept_resume(c);
	c->fds_logged = false;
	for (size_t i = c->n; i-- > 0;) {
		struct client *cl = c->cl[i];

		if (!client_expired(cl, now))
			continue;
		unfinished += cl->frame_at != 0 && now - cl->frame_at >= CONTROL_FRAME;
		uid = cl->peer.uid;
		client_free(c, cl);
	}
	if (unfinished > 0)
		log_msg(LOG_WARNING,
			"admin socket: %zu connection%s (uid %u%s) left a request unfinished for "
			"%d s: closed",
			unfinished, unfinished == 1 ? "" : "s", (unsigned)uid,
			unfinished == 1 ? "" : " and others", CONTROL_FRAME);
}

void control_close(struct control *c)
{
	if (c == NULL)
		return;
	control_flush(c);
	while (c->n > 0) {
		struct client *cl = c->cl[c->n - 1];

		client_write(cl);
		client_free(c, cl);
	}
	if (c->fd >= 0) {
		loop_del(c->l, c->fd);
		close(c->fd);
		unlink(c->path);
	}
	if (c->reserve >= 0)
		close(c->reserve);
	free(c->cl);
	free(c->chg);
	free(c);
}
