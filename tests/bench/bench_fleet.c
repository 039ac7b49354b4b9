/* SPDX-License-Identifier: MIT */
/* bench_fleet.c - SPEC §12 fleet figures: a change on one host in other hosts' tables, the feed. */

/*
 * Method.  Three modes; tests/bench/fleet.sh starts the redis-server and the
 * psmd hosts (tests/lib/fleet.sh) and stops them by pid.
 *
 *   -m lat -a SOCKET -t SHM [-t SHM ...] [-n N] [-r REPEATS] [-k KEY] [-u USER]
 *     Propagation.  On host A's socket, one request at a time: N times a
 *     grant (USER, default daemon: psmd wants a user NSS knows; pattern
 *     bench:fleet:rR:gI, ttl 1h, hosts ["*"]) and then its revoke, so the
 *     user's chain in the tables stays short.  Each is timed from the moment
 *     A's {"ok":true} reply is read (A acknowledged it: durable in A's
 *     journal) to the moment the grant is
 *     in (or gone from) each other host's table, read in-process with the
 *     reader API (shm_iter on the grant's user, matching the grant id), as
 *     pam_psm would see it.  The tables are polled round-robin with a 20 us
 *     nanosleep between rounds (timer slack 1 us), so the poller does not
 *     take a CPU from psmd or Redis; that step bounds the resolution.  One
 *     untimed grant and revoke first waits (60 s) for the hosts to connect.
 *     Prints KEY.grant.p50/.p99 and KEY.revoke.p50/.p99 over all N x hosts
 *     samples, and KEY.ack.p50 (request written -> A's reply read).
 *   -m floor -p PORT [-n N] [-r REPEATS] [-k KEY]
 *     The floor under it: XADD on one hiredis connection -> the entry read by
 *     XREAD BLOCK (from the previous entry's id, so it cannot be missed) on
 *     another, timed from before the XADD to the XREAD reply.  KEY.p50/.p99.
 *   -m watch -t SHM -N COUNT [-k KEY] [-- COMMAND...]
 *     Watches one table's live record count (shm_info, polled every 1 ms,
 *     reopened when psmd republishes it) until COUNT records more than at the
 *     start are in it.  Without COMMAND it prints "ready" on stderr, then
 *     KEY.per_s = (COUNT - 1) / (last change - first change): changes/s
 *     through the feed while another program makes them.  With COMMAND (a
 *     psmd that missed the changes) it runs it and prints KEY = the time
 *     from starting it to the table holding them all (catch-up), and
 *     KEY.served = the time until it served its table (writer_pid is its
 *     pid: its journal loaded), then stops it with SIGTERM and waits for it.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "bench_util.h"
#include "psm_id.h"
#include "shm.h"

#define FB_TABLES_MAX 64
#define FB_LINE_MAX 512
#define FB_WAIT_NS (10ull * 1000000000u)   /* one change must arrive within 10 s */
#define FB_WATCH_NS (300ull * 1000000000u) /* a watch gives up after 5 min */

struct fb_table {
	const char *name;
	struct shm_view v;
	bool open;
};

struct fb_opts {
	const char *mode, *sock, *key, *user;
	struct fb_table t[FB_TABLES_MAX];
	size_t nt;
	unsigned long n, repeats, port, count;
	char **cmd;
};

/* A connection to A's socket: reply lines read through a buffer. */
struct fb_conn {
	int fd;
	char in[FB_LINE_MAX * 4];
	size_t len;
};

static void __attribute__((noreturn, format(printf, 1, 2))) fb_die(const char *fmt, ...)
{
	va_list ap;

	fputs("bench_fleet: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static void fb_nap(long ns)
{
	struct timespec ts = {0, ns};

	nanosleep(&ts, NULL);
}

/* ---- the tables ------------------------------------------------------------------------- */

/* Opens t (again, when psmd republished it); false while it cannot be opened. */
static bool fb_table_ready(struct fb_table *t)
{
	if (t->open && !shm_view_retired(&t->v))
		return true;
	if (t->open)
		shm_view_close(&t->v);
	t->open = shm_view_open(&t->v, t->name, NULL) == PSM_OK;
	return t->open;
}

struct fb_find {
	const char *user;
	const uint8_t *id;
	int found;
};

static int fb_find_fn(const struct shm_view *v, void *ctx, struct psm_err *err)
{
	struct fb_find *f = ctx;
	struct shm_recbuf buf;
	struct shm_entry e;
	struct shm_iter it;
	int rc;

	(void)err;
	f->found = 0;
	shm_iter_init(v, &it, SHM_GRANT, f->user, strlen(f->user));
	while ((rc = shm_iter_next(v, &it, &e, &buf)) == 1) {
		if (memcmp(e.id, f->id, PSM_ID_BYTES) == 0)
			f->found = 1;
	}
	return rc < 0 ? PSM_EUNAVAIL : PSM_OK;
}

/* 1: t holds the grant id of user; 0: not (or the table is not there yet). */
static int fb_has(struct fb_table *t, const char *user, const uint8_t *id)
{
	struct fb_find f = {user, id, 0};

	if (!fb_table_ready(t) || shm_read_txn(&t->v, fb_find_fn, &f, NULL) != PSM_OK)
		return 0;
	return f.found;
}

/* Polls every table until each holds (want 1) or lacks (0) the grant; each table's delay
 * after t0 goes to s[*ns], one sample a table. */
static void fb_wait(struct fb_opts *o, const uint8_t *id, int want, uint64_t t0, uint64_t limit,
		    uint64_t *s, size_t *ns)
{
	bool done[FB_TABLES_MAX] = {false};
	size_t left = o->nt, i;

	while (left > 0) {
		for (i = 0; i < o->nt; i++) {
			if (done[i] || fb_has(&o->t[i], o->user, id) != want)
				continue;
			done[i] = true;
			left--;
			if (s != NULL)
				s[(*ns)++] = bench_now_ns() - t0;
		}
		if (left > 0 && bench_now_ns() - t0 > limit)
			fb_die("%s: a grant of %s still %s after %llu s", o->t[0].name, o->user,
			       want ? "missing" : "there",
			       (unsigned long long)(limit / 1000000000u));
		if (left > 0)
			fb_nap(20000);
	}
}

/* ---- host A's socket ---------------------------------------------------------------------- */

/* Writes line and reads one reply line into out; dies unless it says ok. */
static void fb_call(struct fb_conn *c, const char *line, char *out, size_t cap)
{
	size_t len = strlen(line), off = 0;
	char *nl;
	ssize_t k;

	while (off < len) {
		k = write(c->fd, line + off, len - off);
		if (k < 0 && errno != EINTR)
			fb_die("write to psmd: %s", strerror(errno));
		off += k > 0 ? (size_t)k : 0;
	}
	while ((nl = memchr(c->in, '\n', c->len)) == NULL) {
		if (c->len == sizeof(c->in))
			fb_die("reply line too long");
		k = read(c->fd, c->in + c->len, sizeof(c->in) - c->len);
		if (k <= 0 && !(k < 0 && errno == EINTR))
			fb_die("read from psmd: %s", k == 0 ? "closed" : strerror(errno));
		c->len += k > 0 ? (size_t)k : 0;
	}
	*nl = '\0';
	if (strncmp(c->in, "{\"ok\":true", 10) != 0)
		fb_die("psmd refused %.*s: %s", (int)strcspn(line, "\n"), line, c->in);
	len = (size_t)(nl - c->in) < cap - 1 ? (size_t)(nl - c->in) : cap - 1;
	memcpy(out, c->in, len);
	out[len] = '\0';
	c->len -= (size_t)(nl + 1 - c->in);
	memmove(c->in, nl + 1, c->len);
}

/* The grant id of a grant reply, as text (id, PSM_ID_TEXT_SIZE bytes) and bytes. */
static void fb_reply_id(const char *reply, char *id, uint8_t *bytes)
{
	const char *p = strstr(reply, "\"grant_id\":\"");

	if (p == NULL || strlen(p + 12) < PSM_ID_TEXT_LEN)
		fb_die("no grant_id in %s", reply);
	memcpy(id, p + 12, PSM_ID_TEXT_LEN);
	id[PSM_ID_TEXT_LEN] = '\0';
	if (psm_id_parse(id, bytes, NULL) != PSM_OK)
		fb_die("bad grant_id in %s", reply);
}

/* ---- -m lat ------------------------------------------------------------------------------ */

struct fb_lat {
	struct fb_conn c;
	char (*ids)[PSM_ID_TEXT_SIZE];
	uint8_t (*bytes)[PSM_ID_BYTES];
	uint64_t *s, *r, *ack; /* grant and revoke delays (n x tables), A's replies */
	size_t ns, nr;
};

/* Grant i of repeat rep on A; its delay to every table goes to l->s (s NULL: untimed). */
static void fb_grant(struct fb_opts *o, struct fb_lat *l, unsigned long rep, unsigned long i,
		     uint64_t limit, uint64_t *s)
{
	char line[FB_LINE_MAX], reply[FB_LINE_MAX];
	uint64_t t0, t1;

	snprintf(line, sizeof(line),
		 "{\"op\":\"grant\",\"user\":\"%s\",\"perm\":\"bench:fleet:r%lu:g%lu\","
		 "\"ttl\":\"1h\",\"reason\":\"bench\",\"hosts\":[\"*\"]}\n",
		 o->user, rep, i);
	t0 = bench_now_ns();
	fb_call(&l->c, line, reply, sizeof(reply));
	t1 = bench_now_ns();
	if (s != NULL)
		l->ack[i] = t1 - t0;
	fb_reply_id(reply, l->ids[i], l->bytes[i]);
	fb_wait(o, l->bytes[i], 1, t1, limit, s, &l->ns);
}

static void fb_revoke(struct fb_opts *o, struct fb_lat *l, unsigned long i, uint64_t limit,
		      uint64_t *s)
{
	char line[FB_LINE_MAX], reply[FB_LINE_MAX];

	snprintf(line, sizeof(line), "{\"op\":\"revoke\",\"grant_id\":\"%s\"}\n", l->ids[i]);
	fb_call(&l->c, line, reply, sizeof(reply));
	fb_wait(o, l->bytes[i], 0, bench_now_ns(), limit, s, &l->nr);
}

/* Grant i, then its revoke, each waited for on every table: the user's chain stays short. */
static void fb_lat_repeat(struct fb_opts *o, struct fb_lat *l, unsigned long rep)
{
	char key[128];
	unsigned long i;

	l->ns = l->nr = 0;
	for (i = 0; i < o->n; i++) {
		fb_grant(o, l, rep, i, FB_WAIT_NS, l->s);
		fb_revoke(o, l, i, FB_WAIT_NS, l->r);
	}
	snprintf(key, sizeof(key), "%s.grant", o->key);
	bench_emit_p50_p99(key, l->s, l->ns);
	snprintf(key, sizeof(key), "%s.revoke", o->key);
	bench_emit_p50_p99(key, l->r, l->nr);
	snprintf(key, sizeof(key), "%s.ack", o->key);
	bench_emit(key, ".p50", (double)bench_percentile(l->ack, o->n, 50));
}

static void fb_lat(struct fb_opts *o)
{
	struct fb_lat l = {0};
	unsigned long rep;

	l.c.fd = bench_unix_connect(o->sock);
	l.ids = calloc(o->n, sizeof(*l.ids));
	l.bytes = calloc(o->n, sizeof(*l.bytes));
	l.s = calloc(o->n * o->nt, sizeof(*l.s));
	l.r = calloc(o->n * o->nt, sizeof(*l.r));
	l.ack = calloc(o->n, sizeof(*l.ack));
	if (l.c.fd < 0 || !l.ids || !l.bytes || !l.s || !l.r || !l.ack)
		fb_die("%s: %s", o->sock, strerror(errno));
	/* warm-up, untimed: the hosts may still be connecting to Redis */
	fb_grant(o, &l, 0, 0, 60ull * 1000000000u, NULL);
	fb_revoke(o, &l, 0, 60ull * 1000000000u, NULL);
	for (rep = 1; rep <= o->repeats; rep++)
		fb_lat_repeat(o, &l, rep);
	close(l.c.fd);
	free(l.ids);
	free(l.bytes);
	free(l.s);
	free(l.r);
	free(l.ack);
}

/* ---- -m floor ---------------------------------------------------------------------------- */

static redisReply *fb_redis(redisContext *c, redisReply *r, int type)
{
	if (r == NULL)
		fb_die("redis: %s", c->err ? c->errstr : "no reply");
	if (r->type != type)
		fb_die("redis: unexpected reply type %d: %s", r->type,
		       r->type == REDIS_REPLY_ERROR ? r->str : "");
	return r;
}

/* One XADD on w read by XREAD BLOCK on rd, from after *last; *last becomes its id. */
static uint64_t fb_floor_one(redisContext *w, redisContext *rd, const char *key, char *last)
{
	redisReply *r;
	void *v;
	uint64_t t0, t;
	int done = 0;

	redisAppendCommand(rd, "XREAD BLOCK 5000 STREAMS %s %s", key, last);
	while (!done)
		if (redisBufferWrite(rd, &done) != REDIS_OK)
			fb_die("redis: %s", rd->errstr);
	t0 = bench_now_ns();
	r = fb_redis(w, redisCommand(w, "XADD %s * r %s", key, "x"), REDIS_REPLY_STRING);
	snprintf(last, 48, "%s", r->str);
	freeReplyObject(r);
	if (redisGetReply(rd, &v) != REDIS_OK)
		fb_die("redis: %s", rd->errstr);
	t = bench_now_ns() - t0;
	freeReplyObject(fb_redis(rd, v, REDIS_REPLY_ARRAY));
	return t;
}

static void fb_floor(struct fb_opts *o)
{
	struct timeval tv = {10, 0};
	redisContext *w = redisConnectWithTimeout("127.0.0.1", (int)o->port, tv);
	redisContext *rd = redisConnectWithTimeout("127.0.0.1", (int)o->port, tv);
	uint64_t *s = calloc(o->n, sizeof(*s));
	char key[64], last[48] = "0-0";
	unsigned long rep, i;

	if (!w || w->err || !rd || rd->err || !s)
		fb_die("redis 127.0.0.1:%lu: cannot connect", o->port);
	snprintf(key, sizeof(key), "psm:bench:floor:%d", (int)getpid());
	for (rep = 0; rep < o->repeats; rep++) {
		for (i = 0; i < o->n; i++)
			s[i] = fb_floor_one(w, rd, key, last);
		bench_emit_p50_p99(o->key, s, o->n);
	}
	freeReplyObject(redisCommand(w, "DEL %s", key));
	redisFree(w);
	redisFree(rd);
	free(s);
}

/* ---- -m watch ---------------------------------------------------------------------------- */

/* The table's live records, or -1 while it cannot be read; *writer: its psmd's pid. */
static long long fb_records(struct fb_table *t, pid_t *writer)
{
	struct shm_info info;

	if (!fb_table_ready(t) || shm_info_get(&t->v, &info, NULL) != PSM_OK)
		return -1;
	*writer = (pid_t)info.writer_pid;
	return (long long)info.records;
}

static pid_t fb_spawn(char **cmd)
{
	pid_t pid = fork();

	if (pid < 0)
		fb_die("fork: %s", strerror(errno));
	if (pid == 0) {
		execvp(cmd[0], cmd);
		fprintf(stderr, "bench_fleet: %s: %s\n", cmd[0], strerror(errno));
		_exit(127);
	}
	return pid;
}

/* The watch's end: the rate, or the catch-up time (and when the command served its table). */
static void fb_watch_emit(struct fb_opts *o, uint64_t t0, uint64_t first, uint64_t served,
			  uint64_t last, pid_t pid)
{
	char key[128];
	int st;

	if (pid < 0) {
		bench_emit(o->key, ".per_s", (double)(o->count - 1) * 1e9 / (double)(last - first));
		return;
	}
	bench_emit(o->key, "", (double)(last - t0));
	snprintf(key, sizeof(key), "%s.served", o->key);
	bench_emit(key, "", (double)(served - t0));
	kill(pid, SIGTERM);
	waitpid(pid, &st, 0);
}

static void fb_watch(struct fb_opts *o)
{
	pid_t pid = -1, writer = 0;
	long long base = fb_records(&o->t[0], &writer), now;
	uint64_t t0, first = 0, served = 0, last;

	fprintf(stderr, "ready: %s holds %lld records\n", o->t[0].name, base);
	t0 = bench_now_ns();
	if (o->cmd != NULL)
		pid = fb_spawn(o->cmd);
	for (;;) {
		now = fb_records(&o->t[0], &writer);
		last = bench_now_ns();
		if (first == 0 && now > base)
			first = last;
		if (served == 0 && writer == pid)
			served = last;
		if (now >= base + (long long)o->count && (pid < 0 || served != 0))
			break;
		if (last - t0 > FB_WATCH_NS && pid > 0)
			kill(pid, SIGTERM);
		if (last - t0 > FB_WATCH_NS)
			fb_die("%s: %lld of %lu more records after 5 min", o->t[0].name, now - base,
			       o->count);
		fb_nap(1000000);
	}
	fb_watch_emit(o, t0, first, served, last, pid);
}

/* ---- main ------------------------------------------------------------------------------- */

static void __attribute__((noreturn)) fb_usage(void)
{
	fprintf(stderr, "usage: bench_fleet -m lat -a SOCKET -t SHM [-t SHM...] [-n N] [-r R] [-k "
			"KEY] [-u USER]\n"
			"       bench_fleet -m floor -p PORT [-n N] [-r R] [-k KEY]\n"
			"       bench_fleet -m watch -t SHM -N COUNT [-k KEY] [-- COMMAND...]\n");
	exit(2);
}

static void fb_args(int argc, char **argv, struct fb_opts *o)
{
	int opt;

	while ((opt = getopt(argc, argv, "+m:a:t:n:r:k:p:N:u:")) != -1) {
		if (opt == 'm')
			o->mode = optarg;
		else if (opt == 'a')
			o->sock = optarg;
		else if (opt == 't' && o->nt < FB_TABLES_MAX)
			o->t[o->nt++].name = optarg;
		else if (opt == 'n')
			o->n = bench_count(optarg, "count");
		else if (opt == 'r')
			o->repeats = bench_count(optarg, "repeats");
		else if (opt == 'k')
			o->key = optarg;
		else if (opt == 'p')
			o->port = bench_count(optarg, "port");
		else if (opt == 'N')
			o->count = bench_count(optarg, "records");
		else if (opt == 'u')
			o->user = optarg;
		else
			fb_usage();
	}
	o->cmd = optind < argc ? argv + optind : NULL;
}

int main(int argc, char **argv)
{
	struct fb_opts o = {.mode = "", .key = "fleet", .user = "daemon", .n = 1000, .repeats = 5};

	fb_args(argc, argv, &o);
	prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
	signal(SIGPIPE, SIG_IGN);
	if (strcmp(o.mode, "lat") == 0 && o.sock != NULL && o.nt > 0 && o.cmd == NULL)
		fb_lat(&o);
	else if (strcmp(o.mode, "floor") == 0 && o.port > 0 && o.port < 65536 && o.cmd == NULL)
		fb_floor(&o);
	else if (strcmp(o.mode, "watch") == 0 && o.nt == 1 && o.count > 1)
		fb_watch(&o);
	else
		fb_usage();
	return 0;
}
