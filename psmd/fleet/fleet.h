/* SPDX-License-Identifier: MIT */
/* fleet.h - fleet sync's one door into the daemon: records in (from the feed), records out. */
#ifndef PSMD_FLEET_H
#define PSMD_FLEET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fleet_conf.h"
#include "keys.h"
#include "psm_err.h"
#include "record.h"
#include "sign.h"

/*
 * The fleet part runs two threads, each with its own blocking Redis
 * connection (rconn.h says why not the async API):
 *   - the pusher takes this host's committed records (fleet_publish), signs
 *     them and writes each with one script to the state hash and, when it was
 *     newer than what the hash held, the feed (fleet_push.c);
 *   - the reader follows the feed with XREAD BLOCK from the last applied id,
 *     resyncs from the state hash when it must, verifies every entry before
 *     parsing it, and queues the records for the daemon (fleet_feed.c).
 * The daemon's loop watches fleet_fd(); when it is readable it takes the
 * records (fleet_take), applies them through the store's one way in, and,
 * once they are committed, tells the fleet (fleet_applied) so the position
 * in state_dir/fleet.pos never runs ahead of the journal.  Nothing here
 * touches the state, the journal or the table; the daemon never sees Redis.
 * All fleet_* calls are made from the daemon's thread.
 */

/* Files in state_dir. */
#define FLEET_POS_FILE "fleet.pos"	 /* "<replid> <feed id>\n": the last applied entry */
#define FLEET_PUSHED_FILE "fleet.pushed" /* "<version>\n": own records in Redis up to it */

#define FLEET_ID_MAX 48		 /* a stream id "ms-seq" and its NUL */
#define FLEET_FEED_MAXLEN 100000 /* the feed is trimmed to about this many entries */

/* One record from the feed or a resync, verified and parsed, for the daemon. */
struct fleet_in {
	struct record rec;		  /* the daemon takes it (record_move) */
	const struct keys_public *signer; /* the trusted key that signed it; NULL: integrity off */
	char feed_id[FLEET_ID_MAX];	  /* the entry's id; "" from a resync */
	int64_t feed_ms;		  /* when Redis took the entry (its id's time), 0 resync */
	bool resync;			  /* from the state hash: not counted as replayed */
	char replid[41];		  /* the replication id of the server it came from */
};
/* rec.type 0: no record, only a position to save once what came before is applied. */

/* The figures of `psmctl fleet` (SPEC §11). */
struct fleet_stats {
	bool connected;		    /* both the pusher and the reader are connected */
	int64_t since;		    /* UTC seconds of the last change of `connected`; 0 never */
	char addr[128];		    /* "host:port" or socket path of the primary (or last tried) */
	char read_addr[128];	    /* the server the feed is read from */
	char role[16];		    /* "master", "slave", or "" while down */
	char last_id[FLEET_ID_MAX]; /* last applied feed id, "" none */
	int64_t lag_ms;	      /* from Redis taking the last applied entry to it being applied */
	uint64_t lag_entries; /* entries read and not yet applied */
	int64_t oldest_unapplied_ms;	 /* age of the oldest entry read and not applied; 0 none */
	uint64_t records[SIGN_NRESULTS]; /* entries by result (sign_result_name) */
	uint64_t queued;		 /* own records committed and not yet in Redis */
	uint64_t resyncs;
	size_t trusted_keys; /* keys in trusted_keys; 0: integrity off */
	bool signing;	     /* a signing_key is set */
};

struct fleet;

/* How the fleet logs: called from the daemon's thread only (in fleet_take). */
typedef void (*fleet_log_fn)(int prio, const char *line);

/*
 * Loads the keys the config names and starts both threads (they connect in
 * the background: the caller serves at once).  host_name names this host's
 * records; state_dir holds FLEET_POS_FILE and FLEET_PUSHED_FILE.  Errors: a key
 * file (PSM_EINVAL/PSM_EPERM with file:line:col), PSM_ENOMEM, PSM_ESYS.
 */
int fleet_start(struct fleet **out, const struct config_redis *r, const char *host_name,
		const char *state_dir, fleet_log_fn log, struct psm_err *err);
/* Stops the threads (waits at most a command timeout) and frees everything. */
void fleet_stop(struct fleet *f);

/* The eventfd the daemon's loop watches: readable when records or log lines wait. */
int fleet_fd(const struct fleet *f);

/*
 * Takes up to max records read from Redis, in feed order, into v (the caller
 * record_free()s each rec) and logs the threads' state-change lines.  Resets
 * the eventfd when the queue is empty.  Returns how many.
 */
size_t fleet_take(struct fleet *f, struct fleet_in *v, size_t max);

/* The records up to last (the last one taken) were applied and are durable: the position
 * moves to its feed_id and replid (written to state_dir, no fsync: the journal was). */
void fleet_applied(struct fleet *f, const struct fleet_in *last);

/* Counts one entry's result (the daemon finds replayed, expired, out_of_scope, applied). */
void fleet_count(struct fleet *f, enum sign_result result);
/* Counts a dropped entry and logs it: "fleet: WHERE dropped (RESULT): WHY", at most
 * FLEET_DROP_LOGS lines per result and minute (a hostile feed does not flood the log). */
void fleet_drop(struct fleet *f, enum sign_result r, const char *where, const char *why);

/* Queues a committed record of this host (copied) for Redis; never blocks. */
int fleet_publish(struct fleet *f, const struct record *rec, struct psm_err *err);

/* Asks the reader for a full resync (after applying its records failed). */
void fleet_resync(struct fleet *f);

/*
 * After a resync found records of this host that Redis lacks or holds older,
 * the reader asks for them: true (once per resync) when the daemon should
 * fleet_publish every record of its own origin again (the script keeps the
 * newer one, so this is safe).
 */
bool fleet_want_republish(struct fleet *f);

/* The highest own version known to be in Redis (FLEET_PUSHED_FILE): at start the daemon
 * publishes its own records above it again (made while Redis was out of reach). */
uint64_t fleet_pushed(const struct fleet *f);

void fleet_stats(struct fleet *f, struct fleet_stats *st);

/* Whether f runs with this config and host name (a reload that changed either restarts it;
 * key files are read again only then). */
bool fleet_same(const struct fleet *f, const struct config_redis *r, const char *host_name);

#endif
