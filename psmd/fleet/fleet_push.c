/* SPDX-License-Identifier: MIT */
/* fleet_push.c - the pusher thread: this host's records, signed, into the state hash and feed. */
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "fleet_int.h"

#define FLEET_PUSH_BATCH 256

/* Where the pusher's pass over the state hash is. */
struct fleet_pruning {
	bool running;
	char cursor[32];
	int64_t next;	    /* unix seconds of the next pass */
	int64_t next_epoch; /* of the next SET NX of the epoch key */
};

/*
 * The one way records reach Redis.  KEYS: state, feed, the session's mirror.  ARGV: field,
 * version, tomb (1/0), the state value, MAXLEN, r, sig, key, mirror ("set", "del", ""),
 * the mirror's expiry (unix ms, "" none).  The state keeps the higher version of a field,
 * a tombstone winning a tie; only a record that changed it goes on the feed.  Versions are
 * compared as decimal strings (Lua's numbers are doubles: not exact past 2^53).  It returns
 * the new entry's feed id (the reader skips it: fleet_own.c), or 0 when nothing changed.
 */
static const char fleet_script[] =
    "local old = redis.call('HGET', KEYS[1], ARGV[1])\n"
    "if old then\n"
    "  local ov, ot = string.match(old, '^(%d+) ([01]) ')\n"
    "  if ov then\n"
    "    local nv = ARGV[2]\n"
    "    if #nv < #ov or (#nv == #ov and nv < ov) then return 0 end\n"
    "    if nv == ov and not (ARGV[3] == '1' and ot == '0') then return 0 end\n"
    "  end\n"
    "end\n"
    "redis.call('HSET', KEYS[1], ARGV[1], ARGV[4])\n"
    "local id\n"
    "if ARGV[7] ~= '' then\n"
    "  id = redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[5], '*', 'r', ARGV[6], 'sig', ARGV[7],"
    " 'key', ARGV[8])\n"
    "else\n"
    "  id = redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[5], '*', 'r', ARGV[6])\n"
    "end\n"
    "if ARGV[9] == 'set' and ARGV[10] ~= '' then\n"
    "  redis.call('SET', KEYS[3], ARGV[4], 'PXAT', ARGV[10])\n"
    "elseif ARGV[9] == 'set' then\n"
    "  redis.call('SET', KEYS[3], ARGV[4])\n"
    "elseif ARGV[9] == 'del' then\n"
    "  redis.call('DEL', KEYS[3])\n"
    "end\n"
    "return id\n";

/* The arguments of one EVALSHA, with the buffers they point into. */
struct fleet_call {
	const char *argv[17];
	size_t lens[17];
	char keys[3][160];
	char maxlen[24], pxat[24];
	unsigned char sig[SIGN_BYTES];
	char *value; /* the state value (malloc'd) */
};

/* "<version> <tomb> <expiry|-> <key|-> <sig hex|->\n<r>" */
static char *fleet_value(const struct fleet *f, const struct fleet_out *o, const unsigned char *sig)
{
	char head[24 + 4 + 24 + KEYS_NAME_MAX + 2 * SIGN_BYTES + 8], hex[2 * SIGN_BYTES + 1] = "-";
	char expiry[24] = "-";
	size_t hlen;
	char *v;

	if (sig != NULL)
		sodium_bin2hex(hex, sizeof(hex), sig, SIGN_BYTES);
	if (o->expiry != REC_NOT_AFTER_NONE)
		snprintf(expiry, sizeof(expiry), "%" PRId64, o->expiry);
	hlen = (size_t)snprintf(head, sizeof(head), "%s %d %s %s %s\n", o->version, o->tomb, expiry,
				f->sk != NULL ? f->sk->name : "-", hex);
	v = malloc(hlen + o->rlen + 1);
	if (v != NULL) {
		memcpy(v, head, hlen);
		memcpy(v + hlen, o->r, o->rlen + 1);
	}
	return v;
}

static void fleet_call_arg(struct fleet_call *k, int i, const char *s, size_t len)
{
	k->argv[i] = s;
	k->lens[i] = len;
}

static int fleet_call_make(struct fleet *f, const struct fleet_out *o, const char *sha,
			   struct fleet_call *k)
{
	bool session = o->type == REC_SESSION || o->type == REC_SESSION_END;
	const char *mirror = o->type == REC_SESSION	  ? "set"
			     : o->type == REC_SESSION_END ? "del"
							  : "";

	if (f->sk != NULL)
		sign_record(f->sk, o->r, o->rlen, k->sig);
	k->value = fleet_value(f, o, f->sk != NULL ? k->sig : NULL);
	if (k->value == NULL)
		return PSM_ENOMEM;
	fleet_key(f, k->keys[0], sizeof(k->keys[0]), "state");
	fleet_key(f, k->keys[1], sizeof(k->keys[1]), "feed");
	snprintf(k->keys[2], sizeof(k->keys[2]), "%s{fleet}:session:%s", f->cfg.key_prefix,
		 session ? o->field + 2 : "-");
	snprintf(k->maxlen, sizeof(k->maxlen), "%d", FLEET_FEED_MAXLEN);
	k->pxat[0] = '\0';
	if (o->type == REC_SESSION && o->expiry != REC_NOT_AFTER_NONE)
		snprintf(k->pxat, sizeof(k->pxat), "%" PRId64, o->expiry * 1000);
	fleet_call_arg(k, 0, "EVALSHA", 7);
	fleet_call_arg(k, 1, sha, strlen(sha));
	fleet_call_arg(k, 2, "3", 1);
	for (int i = 0; i < 3; i++)
		fleet_call_arg(k, 3 + i, k->keys[i], strlen(k->keys[i]));
	fleet_call_arg(k, 6, o->field, strlen(o->field));
	fleet_call_arg(k, 7, o->version, strlen(o->version));
	fleet_call_arg(k, 8, o->tomb ? "1" : "0", 1);
	fleet_call_arg(k, 9, k->value, strlen(k->value));
	fleet_call_arg(k, 10, k->maxlen, strlen(k->maxlen));
	fleet_call_arg(k, 11, o->r, o->rlen);
	fleet_call_arg(k, 12, (const char *)k->sig, f->sk != NULL ? SIGN_BYTES : 0);
	fleet_call_arg(k, 13, f->sk != NULL ? f->sk->name : "",
		       f->sk != NULL ? strlen(f->sk->name) : 0);
	fleet_call_arg(k, 14, mirror, strlen(mirror));
	fleet_call_arg(k, 15, k->pxat, strlen(k->pxat));
	return PSM_OK;
}

/* Sends every record of v as one pipeline, then reads every reply. */
static int fleet_push_batch(struct fleet *f, struct rconn *c, const char *sha,
			    const struct fleet_out *v, size_t n, struct psm_err *err)
{
	struct fleet_call k;
	struct rconn_reply *r;
	int rc = PSM_OK, rrc;
	size_t i;

	for (i = 0; i < n && rc == PSM_OK; i++) {
		if (fleet_call_make(f, &v[i], sha, &k) != PSM_OK)
			return psm_err_set(err, PSM_ENOMEM, "fleet: out of memory");
		rc = rconn_send(c, 16, k.argv, k.lens, err);
		free(k.value);
	}
	for (size_t j = 0; j < i; j++) {
		rrc = rconn_read(c, RCONN_T(RCONN_INTEGER) | RCONN_T(RCONN_STRING), &r, err);
		if (rrc == PSM_OK && r->type == RCONN_STRING)
			fleet_own_add(f, r->str);
		if (rrc == PSM_OK)
			rconn_reply_free(r);
		else if (rc == PSM_OK)
			rc = rrc;
		if (!rconn_connected(c))
			break;
	}
	return rc;
}

/* SCRIPT LOAD: the script's sha into sha. */
static int fleet_script_load(struct rconn *c, char sha[FLEET_SCRIPT_SHA_LEN + 1],
			     struct psm_err *err)
{
	const char *argv[] = {"SCRIPT", "LOAD", fleet_script};
	struct rconn_reply *r;
	int rc = rconn_call(c, RCONN_T(RCONN_STRING), &r, err, 3, argv, NULL);

	if (rc != PSM_OK)
		return rc;
	if (r->len != FLEET_SCRIPT_SHA_LEN)
		rc = psm_err_set(err, PSM_EUNAVAIL, "redis: SCRIPT LOAD: not a sha1");
	else
		memcpy(sha, r->str, FLEET_SCRIPT_SHA_LEN + 1);
	rconn_reply_free(r);
	return rc;
}

/* Logs the connection's state change, if any (one line per change, not per retry). */
void fleet_conn_log(struct fleet *f, struct rconn *c, const char *who)
{
	char line[FLEET_LOG_LEN - 32];

	if (rconn_state_change(c, line, sizeof(line)))
		fleet_logf(f, rconn_connected(c) ? LOG_NOTICE : LOG_WARNING, "fleet %s: %s", who,
			   line);
}

static int fleet_push_connect(struct fleet *f, struct rconn *c, char *sha, struct psm_err *err)
{
	int rc = rconn_connect_config(c, &f->cfg, err);

	if (rc == PSM_OK)
		rc = fleet_script_load(c, sha, err);
	if (rc == PSM_OK)
		rc = fleet_epoch_set(f, c, err);
	if (rc != PSM_OK) {
		rconn_close(c, err->msg);
		fleet_conn_log(f, c, "writer");
	}
	return rc; /* "connected" is logged once a push or an idle second went well */
}

/* mu held: after a pushed batch, the pushed version moves on when nothing is left. */
static void fleet_push_done(struct fleet *f, const struct fleet_out *v, size_t n)
{
	uint64_t pushed = 0;

	for (size_t i = 0; i < n; i++)
		free(v[i].r);
	fleet_fifo_pop(&f->out, n);
	f->st.queued = f->out.n;
	if (f->out.n == 0 && !f->out_lost && f->queued_max > f->pushed)
		pushed = f->pushed = f->queued_max;
	if (pushed == 0)
		return;
	pthread_mutex_unlock(&f->mu);
	fleet_pushed_save(f, pushed);
	pthread_mutex_lock(&f->mu);
}

/* mu held: connects (unlocked while it talks); false when it failed (backed off). */
static bool fleet_push_up(struct fleet *f, struct rconn *c, char *sha, struct backoff *b)
{
	struct psm_err err = {0};
	int rc;

	pthread_mutex_unlock(&f->mu);
	rc = fleet_push_connect(f, c, sha, &err);
	pthread_mutex_lock(&f->mu);
	fleet_set_up(f, &f->push_up, rc == PSM_OK, rconn_addr(c), "master");
	if (rc != PSM_OK) {
		fleet_wait(f, &f->wake_push, backoff_next(b));
		return false;
	}
	if (f->out_lost) {
		f->out_lost = false;
		f->want_republish = true;
		fleet_wake_daemon(f);
	}
	return true;
}

/* mu held: one batch from the head of out (the items stay queued until Redis took them). */
static void fleet_push_some(struct fleet *f, struct rconn *c, const char *sha, struct fleet_out *v,
			    struct backoff *b)
{
	struct psm_err err = {0};
	size_t n = f->out.n < FLEET_PUSH_BATCH ? f->out.n : FLEET_PUSH_BATCH;
	int rc;

	for (size_t i = 0; i < n; i++)
		v[i] = *(struct fleet_out *)fleet_fifo_at(&f->out, i);
	pthread_mutex_unlock(&f->mu);
	rc = fleet_push_batch(f, c, sha, v, n, &err);
	if (rc != PSM_OK)
		rconn_close(c, err.msg);
	fleet_conn_log(f, c, "writer"); /* it takes mu: called before taking it again */
	pthread_mutex_lock(&f->mu);
	if (rc == PSM_OK) {
		backoff_reset(b);
		fleet_push_done(f, v, n);
		return;
	}
	fleet_set_up(f, &f->push_up, false, NULL, NULL);
	fleet_wait(f, &f->wake_push, backoff_next(b)); /* e.g. READONLY: no tight loop */
}

/* mu held, the queue empty: the next step of the state hash's prune pass, when one is due. */
static void fleet_push_prune(struct fleet *f, struct rconn *c, struct fleet_pruning *p)
{
	struct psm_err err = {0};
	int64_t now = fleet_now_ms() / 1000;
	int rc;

	if (now >= p->next_epoch) {
		p->next_epoch = now + FLEET_EPOCH_EVERY_S;
		pthread_mutex_unlock(&f->mu);
		rc = fleet_epoch_set(f, c, &err);
		if (rc == PSM_OK)
			fleet_conn_log(f, c, "writer"); /* up, and idle */
		else
			rconn_close(c, err.msg);
		pthread_mutex_lock(&f->mu);
		if (rc != PSM_OK)
			return;
	}
	if (!p->running && now < p->next)
		return;
	p->running = true;
	pthread_mutex_unlock(&f->mu);
	rc = fleet_prune_step(f, c, p->cursor, &err);
	if (rc != PSM_OK && rconn_connected(c))
		fleet_logf(f, LOG_WARNING, "fleet: pruning the state hash: %s", err.msg);
	pthread_mutex_lock(&f->mu);
	if (rc != PSM_OK || strcmp(p->cursor, "0") == 0) {
		p->running = false;
		snprintf(p->cursor, sizeof(p->cursor), "0");
		p->next = now + FLEET_PRUNE_EVERY_S;
	}
}

void *fleet_push_main(void *arg)
{
	struct fleet *f = arg;
	struct fleet_pruning prune = {.cursor = "0", .next = fleet_now_ms() / 1000 + 60};
	static __thread struct fleet_out v[FLEET_PUSH_BATCH];
	char sha[FLEET_SCRIPT_SHA_LEN + 1] = "";
	struct rconn_opts o;
	struct backoff b;
	struct rconn *c;

	rconn_opts_from_config(&o, &f->cfg, &f->cfg.addr);
	c = rconn_new(&o);
	backoff_init(&b, 0);
	pthread_mutex_lock(&f->mu);
	while (c != NULL && !f->stopping) {
		if (!rconn_connected(c) && !fleet_push_up(f, c, sha, &b))
			continue;
		if (f->out.n == 0)
			fleet_push_prune(f, c, &prune);
		if (f->out.n == 0 && !prune.running)
			fleet_wait(f, &f->wake_push, FLEET_BLOCK_MS);
		else if (f->out.n > 0)
			fleet_push_some(f, c, sha, v, &b);
	}
	pthread_mutex_unlock(&f->mu);
	rconn_free(c);
	return NULL;
}
