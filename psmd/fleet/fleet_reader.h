/* SPDX-License-Identifier: MIT */
/* fleet_reader.h - the reader thread's state, shared by the feed (fleet_feed.c) and resync. */
#ifndef PSMD_FLEET_READER_H
#define PSMD_FLEET_READER_H

#include "fleet_int.h"

/* The reader's own view; only its thread touches it. */
struct fleet_reader {
	struct fleet *f;
	struct rconn *c;
	struct backoff b;
	char pos[FLEET_ID_MAX];		       /* the last entry read ("" none) */
	char replid[RCONN_REPLID_LEN + 1];     /* of the server read now */
	char pos_replid[RCONN_REPLID_LEN + 1]; /* of the server pos is an id of */
	char epoch[40];			       /* the epoch key's value seen last ("" none) */
	bool resync;			       /* a full resync is due */
	struct fleet_pool *pool;
	struct fleet_job *jobs; /* for one reply's entries */
	size_t cap;
	char feed[160], state[160], epoch_key[160];
	/* replies stay under max_reply: entries per XREAD and fields per HSCAN shrink when
	 * one outgrew it (and grow back); one entry or value too large alone is skipped */
	unsigned count, scan_count, streak;
	bool skip_entry, skip_scan;
	bool scanning;			/* a resync pass is under way (resumed after a drop) */
	char scan_cursor[FLEET_ID_MAX]; /* where it is */
	char scan_last[FLEET_ID_MAX];	/* the feed's last id when it began */
};

/* fleet_jobs.c */
bool fleet_in_push(struct fleet *f, struct fleet_in *in);
bool fleet_str(const struct rconn_reply *r, char *buf, size_t n);
bool fleet_id_parse(const char *s, uint64_t *ms, uint64_t *seq);
int fleet_id_cmp(const char *a, const char *b);
bool fleet_jobs(struct fleet_reader *rd, size_t n);
int fleet_jobs_emit(struct fleet_reader *rd, size_t n);
bool fleet_mark(struct fleet_reader *rd, const char *id);
int fleet_bad(struct fleet_reader *rd, const char *what, struct psm_err *err);

/* fleet_resync.c */
int fleet_trim_check(struct fleet_reader *rd, char last[FLEET_ID_MAX], struct psm_err *err);
int fleet_epoch(struct fleet_reader *rd, struct psm_err *err);
int fleet_resync_run(struct fleet_reader *rd, struct psm_err *err);
/* After a reply outgrew max_reply: ask for less, or skip the one entry or value too large. */
void fleet_shrink(struct fleet_reader *rd);
int fleet_skip(struct fleet_reader *rd, struct psm_err *err);

#endif
