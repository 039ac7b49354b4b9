/* SPDX-License-Identifier: MIT */
/* fleet_int.h - what the fleet's files share: the struct, its queues and the two threads. */
#ifndef PSMD_FLEET_INT_H
#define PSMD_FLEET_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "backoff.h"
#include "fleet.h"
#include "rconn.h"

#define FLEET_IN_MAX 8192      /* records read and not yet taken: the reader waits */
#define FLEET_OUT_MAX 100000   /* own records waiting for Redis: past it, republish */
#define FLEET_LOG_MAX 64       /* log lines waiting for the daemon's thread */
#define FLEET_LOG_LEN 320      /* one line */
#define FLEET_RECORD_MAX 65536 /* a record's bytes in an entry: larger is oversized */
#define FLEET_READ_COUNT 512   /* entries per XREAD */
#define FLEET_BLOCK_MS 1000    /* XREAD BLOCK; also how often stop and resync are seen */
#define FLEET_SCAN_COUNT "500" /* HSCAN COUNT hint of the prune pass (a resync sizes its own) */
#define FLEET_DROP_LOGS 5      /* dropped entries logged per reason and minute */
#define FLEET_SCRIPT_SHA_LEN 40
#define FLEET_OWN_MAX 65536	  /* own feed ids remembered for the reader to skip */
#define FLEET_PRUNE_GRACE_S 86400 /* the state hash keeps a record a day past its expiry */
#define FLEET_PRUNE_EVERY_S 3600  /* a pass over the state hash this often */
#define FLEET_EPOCH_EVERY_S 5	  /* the epoch key set again (when absent) this often */

/* One own record waiting for Redis: its text and what the script needs. */
struct fleet_out {
	char *r; /* record_print() text */
	size_t rlen;
	char field[2 + ID_TEXT_SIZE]; /* "g:<id>" or "s:<id>" */
	char version[24];	      /* decimal */
	bool tomb;		      /* revoke or session_end */
	int type;
	int64_t expiry; /* record_expiry(): REC_NOT_AFTER_NONE when never */
	uint64_t version_n;
};

struct fleet_log {
	int prio;
	char line[FLEET_LOG_LEN];
};

/* A stream id "ms-seq". */
struct fleet_id {
	uint64_t ms, seq;
};

/* A FIFO of fixed-size items that grows (in[], out[] and own[] use it). */
struct fleet_fifo {
	void *v;
	size_t size, head, n, cap; /* item size; the first item; items; slots */
};

struct fleet {
	struct config_redis cfg; /* a deep copy (fleet_conf.c) */
	char *host_name;
	int dirfd; /* state_dir */
	int evfd;
	struct keys_trusted trusted; /* n == 0: integrity off */
	struct keys_secret *sk;	     /* NULL: records go unsigned */

	pthread_mutex_t mu; /* guards everything below */
	pthread_cond_t wake_push, wake_read;
	bool stopping;
	struct fleet_fifo in;  /* struct fleet_in, read from Redis */
	struct fleet_fifo out; /* struct fleet_out, for Redis */
	struct fleet_fifo own; /* struct fleet_id: own feed entries, oldest first (fleet_own.c) */
	bool out_lost;	       /* out overflowed: republish once connected */
	bool want_resync, want_republish;
	pthread_mutex_t log_mu; /* guards logs only: fleet_logf may be called holding mu or not */
	struct fleet_log logs[FLEET_LOG_MAX];
	size_t nlogs, logs_lost;
	struct fleet_stats st;
	bool push_up, read_up;
	uint64_t queued_max; /* highest own version queued */
	uint64_t pushed;     /* FLEET_PUSHED_FILE's version */
	uint64_t pushed_at_start;
	int64_t taken_ms; /* feed time of the oldest record taken and not yet applied; 0 none */
	char replid[RCONN_REPLID_LEN + 1]; /* of the last applied position */
	uint64_t drops_logged[SIGN_NRESULTS];
	int64_t drops_minute;

	pthread_t push_th, read_th;
	bool push_started, read_started;
	fleet_log_fn log;
};

/* fleet_base.c (and fleet_key) */
void fleet_logf(struct fleet *f, int prio, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void fleet_wake_daemon(struct fleet *f);
/* Sleeps ms on cond (mu held), or less when stopping; returns stopping. */
bool fleet_wait(struct fleet *f, pthread_cond_t *cond, unsigned ms);
void fleet_set_up(struct fleet *f, bool *up, bool value, const char *addr, const char *role);
int64_t fleet_now_ms(void);

/* fleet_fifo.c */
void fleet_fifo_init(struct fleet_fifo *q, size_t size);
void fleet_fifo_free(struct fleet_fifo *q);
int fleet_fifo_push(struct fleet_fifo *q, const void *item);
void *fleet_fifo_at(const struct fleet_fifo *q, size_t i);
void fleet_fifo_pop(struct fleet_fifo *q, size_t n);

/* fleet_own.c: the ids of own feed entries, which the reader skips */
void fleet_own_add(struct fleet *f, const char *id);
bool fleet_own_take(struct fleet *f, uint64_t ms, uint64_t seq);

/* fleet_conf.c */
int fleet_conf_copy(struct config_redis *dst, const struct config_redis *src);
void fleet_conf_free(struct config_redis *c);

/* fleet_file.c: the position and pushed files in state_dir */
int fleet_pos_load(int dirfd, char replid[RCONN_REPLID_LEN + 1], char id[FLEET_ID_MAX]);
void fleet_pos_save(struct fleet *f, const char *replid, const char *id);
uint64_t fleet_pushed_load(int dirfd);
void fleet_pushed_save(struct fleet *f, uint64_t version);

/* fleet_push.c: the pusher thread */
void *fleet_push_main(void *arg);
void fleet_out_free(struct fleet_out *o);

/* "<prefix>{fleet}:<name>" */
void fleet_key(const struct fleet *f, char *buf, size_t n, const char *name);
/* Logs the connection's state change, if any (one line per change, not per retry). */
void fleet_conn_log(struct fleet *f, struct rconn *c, const char *who);

/* fleet_prune.c: one HSCAN step over the state hash (cursor "0" starts and ends a pass),
 * deleting records a day past their expiry. */
int fleet_prune_step(struct fleet *f, struct rconn *c, char cursor[32], struct psm_err *err);
/* SET NX of the epoch key to a random value: the readers see the keys replaced (FLUSHALL,
 * an empty restart) when it changes.  At connect, then every FLEET_EPOCH_EVERY_S idle. */
int fleet_epoch_set(struct fleet *f, struct rconn *c, struct psm_err *err);

/* fleet_verify.c: one entry to check, and the pool that checks a batch of them. */
struct fleet_job {
	struct sign_entry e;	       /* its fields, pointing into a reply */
	unsigned char sig[SIGN_BYTES]; /* a state value's signature, decoded */
	bool prepared;		       /* false: malformed already (res and err set) */
	bool own;		       /* this host's own entry: neither checked nor queued */
	struct fleet_in in;
	enum sign_result res;
	struct psm_err err;
	char where[96]; /* "feed entry ID", "state field F" for the log */
};
struct fleet_pool;
/* Helper threads: one per online CPU but one, at most 3 (none on one CPU); NULL: no memory. */
struct fleet_pool *fleet_pool_start(struct fleet *f);
void fleet_pool_stop(struct fleet_pool *p);
/* fleet_entry_check() on every prepared job, the caller's thread working too. */
void fleet_pool_run(struct fleet_pool *p, struct fleet_job *jobs, size_t n);

/* fleet_feed.c: the reader thread */
void *fleet_read_main(void *arg);

/* fleet_entry.c: one feed entry or state value, checked, into a fleet_in */
struct sign_entry;
enum sign_result fleet_entry_check(struct fleet *f, const struct sign_entry *e, struct fleet_in *in,
				   struct psm_err *err);
/* A state hash value "<version> <tomb> <expiry> <key> <sig hex>\n<r>" into e's fields
 * (sig into sigbuf).  False when it is not of that form. */
bool fleet_value_parse(const char *v, size_t len, struct sign_entry *e,
		       unsigned char sigbuf[SIGN_BYTES]);

#endif
