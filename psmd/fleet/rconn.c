/* SPDX-License-Identifier: MIT */
/* rconn.c - the one user of hiredis: socket, bounded replies, commands, errors, state. */
#include "rconn.h"
#include "rconn_int.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

_Static_assert(RCONN_STRING == REDIS_REPLY_STRING && RCONN_ARRAY == REDIS_REPLY_ARRAY &&
		   RCONN_INTEGER == REDIS_REPLY_INTEGER && RCONN_NIL == REDIS_REPLY_NIL &&
		   RCONN_STATUS == REDIS_REPLY_STATUS && RCONN_ERROR == REDIS_REPLY_ERROR,
	       "rconn types are hiredis's");

enum rconn_state { RCONN_UNKNOWN, RCONN_UP, RCONN_DOWN };

struct rconn {
	struct rconn_opts o;
	char *password_file, *user; /* o's strings, owned */
	redisContext *ctx;
	redisReplyObjectFunctions fns; /* per connection: no shared state */
	size_t charged;		       /* bytes charged to the reply being read */
	bool over;		       /* a reply outgrew max_reply */
	bool was_over;		       /* the last rconn_read failed for that */
	char addr[RCONN_ADDR_MAX];
	char role[16];
	int state, reported; /* enum rconn_state */
	char why[PSM_ERR_MSG_MAX];
};

/* ---- reply objects: ours, built by hiredis's reader, charged to max_reply ---- */

/* Charges cost (plus `more` not yet built) to the reply; false when over max_reply. */
static bool rconn_charge(struct rconn *c, size_t cost, size_t more)
{
	if (cost + more > c->o.max_reply - c->charged || c->charged > c->o.max_reply) {
		c->over = true;
		return false;
	}
	c->charged += cost;
	return true;
}

/* A new object of type for task, charged cost plus `more` still to come. */
static struct rconn_reply *rconn_obj(const redisReadTask *task, int type, size_t cost, size_t more)
{
	struct rconn_reply *r;

	if (!rconn_charge(task->privdata, RCONN_ELEM_COST + cost, more))
		return NULL;
	r = calloc(1, sizeof(*r));
	if (r != NULL)
		r->type = type;
	return r;
}

/* Links a complete object into its parent array (the reader fills arrays in order). */
static void *rconn_link(const redisReadTask *task, struct rconn_reply *r)
{
	struct rconn_reply *parent = task->parent != NULL ? task->parent->obj : NULL;

	if (r != NULL && parent != NULL && task->idx >= 0 && (size_t)task->idx < parent->elements)
		parent->element[task->idx] = r;
	return r;
}

static void *rconn_new_string(const redisReadTask *task, char *str, size_t len)
{
	struct rconn_reply *r = rconn_obj(task, task->type, len, 0);

	if (r != NULL)
		r->str = malloc(len + 1);
	if (r == NULL || r->str == NULL) {
		free(r);
		return NULL;
	}
	memcpy(r->str, str, len);
	r->str[len] = '\0';
	r->len = len;
	return rconn_link(task, r);
}

static void *rconn_new_array(const redisReadTask *task, int n)
{
	size_t count = n > 0 ? (size_t)n : 0;
	struct rconn_reply *r = rconn_obj(task, RCONN_ARRAY, 0, count * RCONN_ELEM_COST);

	if (r != NULL && count > 0) {
		r->element = calloc(count, sizeof(*r->element));
		if (r->element == NULL) {
			free(r);
			return NULL;
		}
		r->elements = count;
	}
	return rconn_link(task, r);
}

static void *rconn_new_integer(const redisReadTask *task, long long v)
{
	struct rconn_reply *r = rconn_obj(task, RCONN_INTEGER, 0, 0);

	if (r != NULL)
		r->integer = v;
	return rconn_link(task, r);
}

static void *rconn_new_nil(const redisReadTask *task)
{
	return rconn_link(task, rconn_obj(task, RCONN_NIL, 0, 0));
}

void rconn_reply_free(struct rconn_reply *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < r->elements; i++)
		rconn_reply_free(r->element[i]);
	free(r->element);
	free(r->str);
	free(r);
}

static void rconn_free_obj(void *r)
{
	rconn_reply_free(r);
}

/* ---- the connection object ---- */

struct rconn *rconn_new(const struct rconn_opts *opts)
{
	struct rconn *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->o = *opts;
	c->o.max_reply = opts->max_reply != 0 ? opts->max_reply : CONFIG_MAX_REPLY;
	if (c->o.connect_timeout_ms == 0)
		c->o.connect_timeout_ms = RCONN_CONNECT_TIMEOUT_MS;
	if (c->o.command_timeout_ms == 0)
		c->o.command_timeout_ms = RCONN_COMMAND_TIMEOUT_MS;
	c->password_file = opts->password_file ? strdup(opts->password_file) : NULL;
	c->user = opts->user ? strdup(opts->user) : NULL;
	if ((opts->password_file && !c->password_file) || (opts->user && !c->user)) {
		rconn_free(c);
		return NULL;
	}
	c->o.password_file = c->password_file;
	c->o.user = c->user;
	c->fns = (redisReplyObjectFunctions){rconn_new_string, rconn_new_array, rconn_new_integer,
					     rconn_new_nil, rconn_free_obj};
	return c;
}

void rconn_free(struct rconn *c)
{
	if (c == NULL)
		return;
	rconn_close(c, NULL);
	free(c->password_file);
	free(c->user);
	free(c);
}

const struct rconn_opts *rconn_opts(const struct rconn *c)
{
	return &c->o;
}

bool rconn_connected(const struct rconn *c)
{
	return c->ctx != NULL;
}

const char *rconn_addr(const struct rconn *c)
{
	return c->addr;
}

/* ---- state changes ---- */

void rconn_set_up(struct rconn *c, const char *role)
{
	snprintf(c->role, sizeof(c->role), "%s", role);
	c->state = RCONN_UP;
}

void rconn_set_down(struct rconn *c, const char *why)
{
	size_t alen = strlen(c->addr);

	/* "redis ADDR: why" -> "why": the state line names the address itself */
	if (strncmp(why, "redis ", 6) == 0 && strncmp(why + 6, c->addr, alen) == 0 &&
	    strncmp(why + 6 + alen, ": ", 2) == 0)
		why += 8 + alen;
	snprintf(c->why, sizeof(c->why), "%s", why);
	c->state = RCONN_DOWN;
}

bool rconn_state_change(struct rconn *c, char *buf, size_t n)
{
	if (c->state == c->reported)
		return false;
	c->reported = c->state;
	if (c->state == RCONN_UP)
		snprintf(buf, n, "redis %s: connected (%s)", c->addr, c->role);
	else
		snprintf(buf, n, "redis %s: down: %s", c->addr, c->why);
	return true;
}

void rconn_close(struct rconn *c, const char *why)
{
	if (c->ctx != NULL)
		redisFree(c->ctx);
	c->ctx = NULL;
	c->charged = 0;
	c->over = false;
	if (why != NULL)
		rconn_set_down(c, why);
}

/* Closes c and sets err to "redis ADDR: why" (PSM_EUNAVAIL); a connection that was up is
 * now down. */
int rconn_fail(struct rconn *c, struct psm_err *err, const char *fmt, ...)
{
	char why[PSM_ERR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	rconn_close(c, c->state == RCONN_UP ? why : NULL);
	return psm_err_set(err, PSM_EUNAVAIL, "redis %s: %s", c->addr, why);
}

/* The context's error, in words, as a failure. */
static int rconn_fail_ctx(struct rconn *c, int saved_errno, struct psm_err *err)
{
	char text[sizeof(c->ctx->errstr)];

	if (c->over) {
		c->was_over = true;
		return rconn_fail(c, err, "reply larger than max_reply (%zu bytes)",
				  c->o.max_reply);
	}
	if (c->ctx->err == REDIS_ERR_IO && (saved_errno == EAGAIN || saved_errno == EWOULDBLOCK))
		return rconn_fail(c, err, "timed out after %u ms", c->o.command_timeout_ms);
	if (c->ctx->err == REDIS_ERR_EOF)
		return rconn_fail(c, err, "the server closed the connection");
	rconn_clean(text, sizeof(text), c->ctx->errstr, strlen(c->ctx->errstr));
	if (c->ctx->err == REDIS_ERR_PROTOCOL)
		return rconn_fail(c, err, "not a Redis server: %s", text);
	return rconn_fail(c, err, "%s", text);
}

/* Printable ASCII of s[0..len) into dst (truncated, NUL-terminated). */
void rconn_clean(char *dst, size_t n, const char *s, size_t len)
{
	size_t j = 0;

	for (size_t i = 0; i < len && j + 1 < n; i++)
		dst[j++] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	if (n > 0)
		dst[j] = '\0';
}

/* ---- connecting ---- */

static struct timeval rconn_tv(unsigned ms)
{
	return (struct timeval){.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
}

static void rconn_set_addr(struct rconn *c, const struct config_redis_addr *a)
{
	if (a->unix_path != NULL)
		snprintf(c->addr, sizeof(c->addr), "%s", a->unix_path);
	else
		snprintf(c->addr, sizeof(c->addr), "%s:%u", a->host, a->port);
}

int rconn_open_socket(struct rconn *c, const struct config_redis_addr *a, struct psm_err *err)
{
	struct timeval tv = rconn_tv(c->o.connect_timeout_ms);
	char text[sizeof(c->ctx->errstr)];

	rconn_close(c, NULL);
	rconn_set_addr(c, a);
	c->ctx = a->unix_path != NULL ? redisConnectUnixWithTimeout(a->unix_path, tv)
				      : redisConnectWithTimeout(a->host, (int)a->port, tv);
	if (c->ctx == NULL)
		return psm_err_set(err, PSM_ENOMEM, "redis %s: out of memory", c->addr);
	if (c->ctx->err != 0) {
		rconn_clean(text, sizeof(text), c->ctx->errstr, strlen(c->ctx->errstr));
		return rconn_fail(c, err, "%s", text);
	}
	if (redisSetTimeout(c->ctx, rconn_tv(c->o.command_timeout_ms)) != REDIS_OK)
		return rconn_fail(c, err, "cannot set the command timeout");
	c->ctx->reader->fn = &c->fns;
	c->ctx->reader->privdata = c;
	return PSM_OK;
}

int rconn_set_timeout(struct rconn *c, unsigned ms, struct psm_err *err)
{
	c->o.command_timeout_ms = ms != 0 ? ms : RCONN_COMMAND_TIMEOUT_MS;
	ms = c->o.command_timeout_ms;
	if (c->ctx != NULL && redisSetTimeout(c->ctx, rconn_tv(ms)) != REDIS_OK)
		return rconn_fail(c, err, "cannot set the command timeout");
	return PSM_OK;
}

/* ---- commands ---- */

int rconn_send(struct rconn *c, int argc, const char **argv, const size_t *lens,
	       struct psm_err *err)
{
	if (c->ctx == NULL)
		return psm_err_set(err, PSM_EUNAVAIL, "redis %s: not connected", c->addr);
	if (redisAppendCommandArgv(c->ctx, argc, argv, lens) != REDIS_OK)
		return rconn_fail_ctx(c, errno, err);
	return PSM_OK;
}

static int rconn_flush(struct rconn *c, struct psm_err *err)
{
	int done = 0;

	while (!done)
		if (redisBufferWrite(c->ctx, &done) != REDIS_OK)
			return rconn_fail_ctx(c, errno, err);
	return PSM_OK;
}

/* Writes all of buf to the socket (blocking, with the command timeout). */
static int rconn_write_all(struct rconn *c, const char *buf, size_t len, struct psm_err *err)
{
	size_t off = 0;

	while (off < len) {
		ssize_t n = write(c->ctx->fd, buf + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return rconn_fail(c, err, "timed out after %u ms", c->o.command_timeout_ms);
		if (n <= 0)
			return rconn_fail(c, err, "write: %s", strerror(errno));
		off += (size_t)n;
	}
	return PSM_OK;
}

/* Writes a command straight to the socket (hiredis's buffer never holds it), then wipes it. */
int rconn_send_secret(struct rconn *c, int argc, const char **argv, const size_t *lens,
		      struct psm_err *err)
{
	char *cmd = NULL;
	int len, rc;

	if (c->ctx == NULL)
		return psm_err_set(err, PSM_EUNAVAIL, "redis %s: not connected", c->addr);
	rc = rconn_flush(c, err);
	if (rc != PSM_OK)
		return rc;
	len = redisFormatCommandArgv(&cmd, argc, argv, lens);
	if (len < 0)
		return psm_err_set(err, PSM_ENOMEM, "redis %s: out of memory", c->addr);
	rc = rconn_write_all(c, cmd, (size_t)len, err);
	explicit_bzero(cmd, (size_t)len);
	redisFreeCommand(cmd);
	return rc;
}

static const char *rconn_type_name(int type)
{
	static const char *const names[] = {"?",   "a string", "an array", "an integer",
					    "nil", "a status", "an error"};

	return type >= 1 && type <= 6 ? names[type] : names[0];
}

/* A reply of a type not in expect: an error reply leaves the connection up, others close it. */
static int rconn_check_type(struct rconn *c, struct rconn_reply *r, unsigned expect,
			    struct rconn_reply **out, struct psm_err *err)
{
	char text[160];
	int type = r->type;

	if ((expect & RCONN_T(type)) != 0) {
		*out = r;
		return PSM_OK;
	}
	rconn_clean(text, sizeof(text), r->str, r->str != NULL ? r->len : 0);
	rconn_reply_free(r);
	if (type == RCONN_ERROR)
		return psm_err_set(err, PSM_EUNAVAIL, "redis %s: %s", c->addr, text);
	return rconn_fail(c, err, "unexpected reply: %s", rconn_type_name(type));
}

static int64_t rconn_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

bool rconn_oversized(const struct rconn *c)
{
	return c->was_over;
}

/* A reply trickling in a byte at a time restarts the socket's timeout with each read:
 * the whole reply has one deadline, the command timeout, so a thread always comes back. */
int rconn_read(struct rconn *c, unsigned expect, struct rconn_reply **out, struct psm_err *err)
{
	int64_t deadline = rconn_now_ms() + c->o.command_timeout_ms;
	void *r = NULL;

	*out = NULL;
	c->was_over = false;
	if (c->ctx == NULL)
		return psm_err_set(err, PSM_EUNAVAIL, "redis %s: not connected", c->addr);
	if (rconn_flush(c, err) != PSM_OK)
		return err->code;
	for (;;) {
		if (redisGetReplyFromReader(c->ctx, &r) != REDIS_OK)
			return rconn_fail_ctx(c, 0, err);
		if (r != NULL)
			break;
		if (c->ctx->reader->len - c->ctx->reader->pos > c->o.max_reply) {
			c->over = true;
			return rconn_fail_ctx(c, 0, err);
		}
		if (redisBufferRead(c->ctx) != REDIS_OK)
			return rconn_fail_ctx(c, errno, err);
		if (rconn_now_ms() > deadline)
			return rconn_fail(c, err, "timed out after %u ms (a reply still arriving)",
					  c->o.command_timeout_ms);
	}
	c->charged = 0;
	return rconn_check_type(c, r, expect, out, err);
}

int rconn_call(struct rconn *c, unsigned expect, struct rconn_reply **out, struct psm_err *err,
	       int argc, const char **argv, const size_t *lens)
{
	int rc = rconn_send(c, argc, argv, lens, err);

	if (rc != PSM_OK) {
		*out = NULL;
		return rc;
	}
	return rconn_read(c, expect, out, err);
}
