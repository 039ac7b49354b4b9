/* SPDX-License-Identifier: MIT */
/* rconn.h - one synchronous, bounded connection to Redis (or a Sentinel) for fleet sync. */
#ifndef PSM_RCONN_H
#define PSM_RCONN_H

#include <stdbool.h>
#include <stddef.h>

#include "fleet_conf.h"
#include "psm_err.h"

/*
 * Design (issue 13).  Redis never blocks psmd's loop: the fleet part runs in
 * its own threads, each with its own BLOCKING connection (struct rconn), and
 * hands records to the loop through a queue and an eventfd the loop watches.
 * Why not hiredis's async API on psmd's loop: hiredis 0.14.1's async API has
 * no connect or command timeouts; XREAD BLOCK, the Sentinel lookup and a
 * resync are linear multi-step protocols, simplest written as straight code;
 * and the loop then learns about Redis through one fd only.
 *
 * This is the only code that includes <hiredis/hiredis.h> (rconn.c).  One
 * struct rconn belongs to one thread at a time; there are no globals.  Calls
 * block for at most the connect or command timeout (a host name is resolved
 * by getaddrinfo, without one: give addresses where that matters).  hiredis
 * writes without MSG_NOSIGNAL: the process must ignore SIGPIPE (psmd does).
 *
 * Bounds: every reply is bounded by max_reply bytes.  The bytes not yet
 * parsed (a bulk string still arriving) and the parsed size of a reply
 * (payloads plus RCONN_ELEM_COST per element, array headers included, so
 * "*2147483647" is refused before anything is allocated) both count; over
 * the bound the connection is dropped.  hiredis itself refuses arrays nested
 * deeper than 7.  A reply of a type the caller did not expect is an error,
 * and so is every I/O, timeout or protocol error: the connection is then
 * closed, with a one-line reason in the psm_err (PSM_EUNAVAIL), and the
 * caller backs off (backoff.h) and connects again.  An error REPLY of Redis
 * ("-ERR ...") to a command is PSM_EUNAVAIL too, but leaves the connection up.
 */

#define RCONN_ELEM_COST 16 /* bytes charged to max_reply per reply element */
#define RCONN_CONNECT_TIMEOUT_MS 2000
#define RCONN_COMMAND_TIMEOUT_MS 5000

/* Reply types: the same numbers as hiredis's REDIS_REPLY_* (checked in rconn.c). */
enum rconn_type {
	RCONN_STRING = 1,
	RCONN_ARRAY = 2,
	RCONN_INTEGER = 3,
	RCONN_NIL = 4,
	RCONN_STATUS = 5,
	RCONN_ERROR = 6,
};

/* Bit masks of accepted types for rconn_call/rconn_read. */
#define RCONN_T(type) (1u << (type))
#define RCONN_T_ANY 0xffu

/* A parsed reply; the caller frees it with rconn_reply_free. */
struct rconn_reply {
	int type;	   /* enum rconn_type */
	long long integer; /* RCONN_INTEGER */
	size_t len;	   /* RCONN_STRING, _STATUS, _ERROR: bytes in str */
	char *str;	   /* NUL-terminated copy (may hold NULs for binary strings) */
	size_t elements;   /* RCONN_ARRAY */
	struct rconn_reply **element;
};

struct rconn_opts {
	const char *password_file;   /* NULL: no AUTH (see rpass.h for the file's form) */
	const char *user;	     /* ACL user of a redis://user@ url, else NULL */
	unsigned db;		     /* SELECT db when not 0 */
	unsigned connect_timeout_ms; /* 0 = RCONN_CONNECT_TIMEOUT_MS */
	unsigned command_timeout_ms; /* 0 = RCONN_COMMAND_TIMEOUT_MS */
	size_t max_reply;	     /* bytes; 0 = CONFIG_MAX_REPLY */
};

struct rconn;

/* A closed connection with these options (copied). NULL when out of memory. */
struct rconn *rconn_new(const struct rconn_opts *opts);
void rconn_free(struct rconn *c);

/* Fills opts from the redis config (timeouts default, user/db from a url's parts a). */
void rconn_opts_from_config(struct rconn_opts *opts, const struct config_redis *r,
			    const struct config_redis_addr *a);

/*
 * Connects to a (host:port or unix path), checks that the peer is Redis
 * (PING answers PONG, or NOAUTH), sends AUTH from password_file, SELECT db.
 * Closes what was open first.  Errors: "redis HOST:PORT: why" (PSM_EUNAVAIL),
 * a bad password file PSM_EINVAL/PSM_EPERM (rpass.h).
 */
int rconn_connect(struct rconn *c, const struct config_redis_addr *a, struct psm_err *err);

/*
 * Asks each sentinel in turn for master_name's address (SENTINEL
 * get-master-addr-by-name), connects to it as rconn_connect does and checks
 * that ROLE says "master".  Sentinels get no AUTH.  Every call asks again, so
 * a reconnect follows a failover.
 */
int rconn_connect_sentinel(struct rconn *c, const struct config_redis_addr *sentinels, size_t n,
			   const char *master_name, struct psm_err *err);

/* Connects as the config says: sentinels, else url. */
int rconn_connect_config(struct rconn *c, const struct config_redis *r, struct psm_err *err);

/* Closes the connection (no-op when closed); why, if not NULL, goes into the state line. */
void rconn_close(struct rconn *c, const char *why);
bool rconn_connected(const struct rconn *c);

/* "host:port" or the socket path of the server in use (or last tried); "" before any. */
const char *rconn_addr(const struct rconn *c);

/* Sets the command timeout (e.g. longer than an XREAD BLOCK); 0 = the default, never "none". */
int rconn_set_timeout(struct rconn *c, unsigned ms, struct psm_err *err);

/*
 * Sends one command (argv with lengths; lens NULL: strlen) and reads its reply,
 * which must be of a type in expect (RCONN_T(RCONN_STRING) | ...).  On success
 * *out is the reply (free it).  Pipelining: rconn_send (buffers), then
 * rconn_read once per command sent (rconn_read flushes first).
 */
int rconn_call(struct rconn *c, unsigned expect, struct rconn_reply **out, struct psm_err *err,
	       int argc, const char **argv, const size_t *lens);
int rconn_send(struct rconn *c, int argc, const char **argv, const size_t *lens,
	       struct psm_err *err);
int rconn_read(struct rconn *c, unsigned expect, struct rconn_reply **out, struct psm_err *err);

void rconn_reply_free(struct rconn_reply *r);

/* Whether the last rconn_read failed because the reply outgrew max_reply (the connection
 * is closed): the caller may ask for less, or skip what is too large. */
bool rconn_oversized(const struct rconn *c);

/* The server's role ("master", "slave", "sentinel") from ROLE. */
int rconn_role(struct rconn *c, char *buf, size_t n, struct psm_err *err);

/* The primary's replication id (INFO replication: master_replid, 40 hex digits). */
#define RCONN_REPLID_LEN 40
int rconn_replid(struct rconn *c, char out[RCONN_REPLID_LEN + 1], struct psm_err *err);

/*
 * State changes for the log: true once per change between connected and not
 * (the first failure counts as one), with a one-line text in buf, e.g.
 * "redis 127.0.0.1:6379: connected (master)" or "redis 127.0.0.1:6379: down:
 * timed out after 5000 ms".  Repeated failures while down give no line.
 */
bool rconn_state_change(struct rconn *c, char *buf, size_t n);

#endif
