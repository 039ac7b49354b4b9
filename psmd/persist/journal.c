/* SPDX-License-Identifier: MIT */
/* journal.c - the append-only journal: group commit, segments, snapshots, load and repair. */
#include "journal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "frame.h"
#include "journal_scan.h"
#include "json_cjson.h"
#include "snapshot.h"
#include "snapshot_child.h"
#include "plural.h"

struct journal {
	int dirfd;
	int lockfd;
	int fd;		    /* the segment being appended, O_APPEND */
	uint32_t seq;	    /* its number */
	uint64_t size;	    /* its committed size */
	struct frame_buf q; /* framed records not yet committed */
	size_t nq;
	struct json_out text; /* one record's JSON, the buffer reused */
	uint32_t snap_last;   /* newest good snapshot, 0 = none */
	uint64_t since_snapshot, commits, records;
	struct snapshot_child bg; /* a snapshot being written in the background */
	uint64_t bg_since;	  /* since_snapshot when it began */
	bool broken;
	bool failing;		     /* the last commit failed (health: degraded until one works) */
	uint64_t failures;	     /* commits that failed, since open */
	char why[PSM_ERR_MSG_MAX];   /* the last failure */
	struct journal_recovery rcv; /* damage found on load, grants in quarantine */
};

/* ---- the directory ------------------------------------------------------------------- */

struct jr_list {
	uint32_t *v;
	size_t n, cap;
};

struct jr_dir {
	struct jr_list segs, snaps;
};

static void jr_dir_free(struct jr_dir *d)
{
	free(d->segs.v);
	free(d->snaps.v);
}

/* "PREFIX.NNNNNN" (6+ digits, 1..UINT32_MAX-1) -> number, else 0. */
static uint32_t jr_name_seq(const char *name, const char *prefix)
{
	size_t pl = strlen(prefix), i;
	uint64_t v = 0;

	if (strncmp(name, prefix, pl) != 0 || strlen(name + pl) < 6 || strlen(name + pl) > 10)
		return 0;
	for (i = pl; name[i] != '\0'; i++) {
		if (name[i] < '0' || name[i] > '9')
			return 0;
		v = v * 10 + (uint64_t)(name[i] - '0');
	}
	return v < UINT32_MAX ? (uint32_t)v : 0;
}

static int jr_list_add(struct jr_list *l, uint32_t v)
{
	if (l->n == l->cap) {
		size_t cap = l->cap == 0 ? 16 : l->cap * 2;
		uint32_t *nv = realloc(l->v, cap * sizeof(*nv));

		if (nv == NULL)
			return PSM_ENOMEM;
		l->v = nv;
		l->cap = cap;
	}
	l->v[l->n++] = v;
	return PSM_OK;
}

static int jr_cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* Lists the segments and snapshots of dirfd, sorted ascending. */
static int jr_scan(int dirfd, struct jr_dir *d, struct psm_err *err)
{
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *dir = fd < 0 ? NULL : fdopendir(fd);
	struct dirent *e;
	int rc = PSM_OK;

	memset(d, 0, sizeof(*d));
	if (dir == NULL) {
		if (fd >= 0)
			close(fd);
		return psm_err_set(err, PSM_ESYS, "state directory: %s", strerror(errno));
	}
	while (rc == PSM_OK && (e = readdir(dir)) != NULL) {
		uint32_t seg = jr_name_seq(e->d_name, "journal.");
		uint32_t snap = jr_name_seq(e->d_name, "snapshot.");

		if (seg != 0)
			rc = jr_list_add(&d->segs, seg);
		else if (snap != 0)
			rc = jr_list_add(&d->snaps, snap);
	}
	closedir(dir);
	if (rc != PSM_OK)
		return psm_err_set(err, rc, "state directory: out of memory");
	if (d->segs.n > 1)
		qsort(d->segs.v, d->segs.n, sizeof(uint32_t), jr_cmp_u32);
	if (d->snaps.n > 1)
		qsort(d->snaps.v, d->snaps.n, sizeof(uint32_t), jr_cmp_u32);
	return PSM_OK;
}

/* Creates segment seq with its header, durably, and makes it the one appended. */
static int jr_segment_create(struct journal *j, uint32_t seq, struct psm_err *err)
{
	unsigned char h[JOURNAL_HDR_SIZE];
	char name[32];
	int fd, rc;

	frame_file_name(&frame_journal, seq, name, sizeof(name));
	fd = openat(j->dirfd, name,
		    O_WRONLY | O_APPEND | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return psm_err_set(err, PSM_ESYS, "%s: create: %s", name, strerror(errno));
	frame_put_header(h, &frame_journal, seq);
	rc = frame_write_all(fd, h, sizeof(h), name, err);
	if (rc == PSM_OK && fdatasync(fd) != 0)
		rc = psm_err_set(err, PSM_ESYS, "%s: fdatasync: %s", name, strerror(errno));
	if (rc == PSM_OK)
		rc = frame_fsync_dir(j->dirfd, err);
	if (rc != PSM_OK) {
		close(fd);
		return rc;
	}
	if (j->fd >= 0)
		close(j->fd);
	j->fd = fd;
	j->seq = seq;
	j->size = JOURNAL_HDR_SIZE;
	return PSM_OK;
}

/* Opens existing segment seq (already checked and repaired) for appending. */
static int jr_segment_reopen(struct journal *j, uint32_t seq, struct psm_err *err)
{
	char name[32];
	struct stat st;
	int fd;

	frame_file_name(&frame_journal, seq, name, sizeof(name));
	fd = openat(j->dirfd, name, O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 || fstat(fd, &st) != 0 || fchmod(fd, 0600) != 0) {
		psm_err_set(err, PSM_ESYS, "%s: open: %s", name, strerror(errno));
		if (fd >= 0)
			close(fd);
		return PSM_ESYS;
	}
	if (st.st_size < JOURNAL_HDR_SIZE) { /* header torn when it was made */
		close(fd);
		return jr_segment_create(j, seq, err);
	}
	j->fd = fd;
	j->seq = seq;
	j->size = (uint64_t)st.st_size;
	return PSM_OK;
}

/* ---- load ----------------------------------------------------------------------------- */

struct jr_load {
	struct journal *j;
	struct state *st;
	int64_t now;
	struct journal_report *rep;
	struct jscan js; /* the segments' records, damaged regions, ids since */
};

/* Cuts the last segment at byte at (the valid prefix) and reports it. */
static int jr_cut_tail(struct jr_load *l, const char *name, size_t at, size_t size, const char *why,
		       struct psm_err *err)
{
	int fd = openat(l->j->dirfd, name, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0 || ftruncate(fd, (off_t)at) != 0 || fsync(fd) != 0) {
		psm_err_set(err, PSM_ESYS, "%s: truncate: %s", name, strerror(errno));
		if (fd >= 0)
			close(fd);
		return PSM_ESYS;
	}
	close(fd);
	l->rep->torn_bytes = size - at;
	snprintf(l->rep->torn, sizeof(l->rep->torn),
		 "%s: torn tail at byte %zu (%s), %zu %s dropped", name, at, why, size - at,
		 plural(size - at, "byte", "bytes"));
	return PSM_OK;
}

/* Keeps a copy of a damaged segment, journal.NNNNNN.corrupt (the first one made stays). */
static void jr_keep_copy(struct jr_load *l, const char *name, const unsigned char *d, size_t size)
{
	char bad[48];
	int fd;

	snprintf(bad, sizeof(bad), "%s.corrupt", name);
	fd = openat(l->j->dirfd, bad, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return;
	if (frame_write_all(fd, d, size, bad, NULL) != PSM_OK || fsync(fd) != 0)
		unlinkat(l->j->dirfd, bad, 0);
	close(fd);
}

/* Replays a segment's records; damage: only a torn tail is cut, corruption gets a copy. */
static int jr_replay_frames(struct jr_load *l, const unsigned char *d, size_t size,
			    const char *name, bool last, struct psm_err *err)
{
	size_t before = l->js.nregions;
	int rc = jscan_segment(&l->js, d, size, name, last, err);

	if (rc != PSM_OK)
		return rc;
	if (l->js.nregions > before)
		jr_keep_copy(l, name, d, size);
	if (l->js.torn)
		return jr_cut_tail(l, name, l->js.torn_at, size, l->js.torn_why, err);
	return PSM_OK;
}

static int jr_replay_segment(struct jr_load *l, uint32_t seq, bool last, struct psm_err *err)
{
	unsigned char *d = NULL;
	size_t size = 0;
	char name[32];
	int rc;

	frame_file_name(&frame_journal, seq, name, sizeof(name));
	rc = frame_read_file(l->j->dirfd, name, &d, &size, err);
	if (rc == PSM_OK && size < JOURNAL_HDR_SIZE) {
		/* only the last segment may be cut short while it was being created */
		if (last)
			rc = jr_cut_tail(l, name, 0, size, "header cut short", err);
		else
			rc = psm_err_set(err, PSM_EUNAVAIL, "%s: header cut short", name);
		free(d);
		return rc;
	}
	if (rc == PSM_OK)
		rc = frame_check_header(d, size, &frame_journal, seq, name, err);
	if (rc == PSM_OK)
		rc = jr_replay_frames(l, d, size, name, last, err);
	free(d);
	l->rep->segments += rc == PSM_OK;
	return rc;
}

/* Loads the newest snapshot that is intact into a new *st; 0 in *seq when none is. */
static int jr_load_snapshot(struct jr_load *l, const struct jr_dir *d, uint32_t *seq,
			    struct psm_err *err)
{
	size_t i;
	int rc;

	*seq = 0;
	for (i = d->snaps.n; i-- > 0;) {
		struct psm_err e = {0};
		char name[32], bad[48];

		rc = state_new(&l->st, err);
		if (rc != PSM_OK)
			return rc;
		rc = snapshot_load(l->j->dirfd, d->snaps.v[i], l->st, l->now,
				   &l->rep->snapshot_records, &l->rep->dropped, &e);
		if (rc == PSM_OK) {
			*seq = d->snaps.v[i];
			frame_file_name(&frame_snapshot, *seq, l->rep->snapshot,
					sizeof(l->rep->snapshot));
			return PSM_OK;
		}
		state_free(l->st);
		l->st = NULL;
		if (rc == PSM_ENOMEM || rc == PSM_ESYS)
			return psm_err_set(err, rc, "%s", e.msg);
		/* keep the damaged file for a post-mortem, out of the way */
		frame_file_name(&frame_snapshot, d->snaps.v[i], name, sizeof(name));
		snprintf(bad, sizeof(bad), "%s.corrupt", name);
		renameat(l->j->dirfd, name, l->j->dirfd, bad);
		if (l->rep->fallback[0] == '\0')
			snprintf(l->rep->fallback, sizeof(l->rep->fallback),
				 "%.190s (renamed %.40s)", e.msg, bad);
	}
	l->rep->snapshot_records = l->rep->dropped = 0;
	return state_new(&l->st, err);
}

/* Replays the segments from start on; they must be start, start+1, ... */
static int jr_replay_from(struct jr_load *l, const struct jr_dir *d, uint32_t start, uint32_t *last,
			  struct psm_err *err)
{
	uint32_t want = start;
	size_t i;
	int rc;

	*last = 0;
	for (i = 0; i < d->segs.n; i++) {
		uint32_t seq = d->segs.v[i];
		char name[32];

		if (seq < start)
			continue;
		if (seq != want) {
			frame_file_name(&frame_journal, want, name, sizeof(name));
			return psm_err_set(err, PSM_EUNAVAIL, "%s: missing (segments follow it)",
					   name);
		}
		rc = jr_replay_segment(l, seq, i + 1 == d->segs.n, err);
		if (rc != PSM_OK)
			return rc;
		*last = seq;
		want = seq + 1;
	}
	return PSM_OK;
}

/* After the replay: the quarantine (kept and new) out of the state, the counts reported. */
static int jr_quarantine(struct jr_load *l, struct psm_err *err)
{
	struct journal_recovery *rcv = &l->j->rcv;
	int rc = jq_load(l->j->dirfd, rcv, err);

	if (rc == PSM_OK)
		rc = jq_apply(l->j->dirfd, l->st, &l->js, rcv, err);
	l->rep->journal_records = l->js.records;
	l->rep->ignored = l->js.ignored;
	l->rep->dropped += l->js.dropped;
	l->rep->corrupt = (uint32_t)l->js.nregions;
	l->rep->quarantined = rcv->ngrants;
	return rc;
}

static int jr_load(struct jr_load *l, struct psm_err *err)
{
	struct jr_dir d;
	uint32_t snap, last;
	int rc = jr_scan(l->j->dirfd, &d, err);

	if (rc == PSM_OK)
		rc = jr_load_snapshot(l, &d, &snap, err);
	if (rc == PSM_OK && snap == 0 && d.segs.n > 0 && d.segs.v[0] != 1)
		rc = psm_err_set(err, PSM_EUNAVAIL,
				 "journal.000001: missing and no intact snapshot covers it");
	l->js.st = l->st;
	l->js.now = l->now;
	if (rc == PSM_OK)
		rc = jr_replay_from(l, &d, snap == 0 ? 1 : snap, &last, err);
	if (rc == PSM_OK)
		rc = jr_quarantine(l, err);
	if (rc == PSM_OK) {
		l->rep->dropped += state_expire(l->st, l->now);
		l->j->snap_last = snap;
		rc = last != 0 ? jr_segment_reopen(l->j, last, err)
			       : jr_segment_create(l->j, snap == 0 ? 1 : snap, err);
	}
	jr_dir_free(&d);
	jscan_free(&l->js);
	return rc;
}

/* ---- open and close ------------------------------------------------------------------- */

static int jr_open_dir(struct journal *j, const char *dir, struct psm_err *err)
{
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return psm_err_set(err, PSM_ESYS, "%s: mkdir: %s", dir, strerror(errno));
	j->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (j->dirfd < 0)
		return psm_err_set(err, PSM_ESYS, "%s: open: %s", dir, strerror(errno));
	j->lockfd = openat(j->dirfd, "lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (j->lockfd < 0)
		return psm_err_set(err, PSM_ESYS, "%s/lock: %s", dir, strerror(errno));
	if (flock(j->lockfd, LOCK_EX | LOCK_NB) != 0)
		return psm_err_set(err, errno == EWOULDBLOCK ? PSM_EEXIST : PSM_ESYS,
				   "%s: in use by another psmd (lock: %s)", dir, strerror(errno));
	unlinkat(j->dirfd, "snapshot.new", 0); /* an unfinished snapshot */
	return PSM_OK;
}

int journal_open(struct journal **out, const char *state_dir, int64_t now, struct state **st,
		 struct journal_report *rep, struct psm_err *err)
{
	struct journal *j = calloc(1, sizeof(*j));
	struct jr_load l = {.j = j, .now = now, .rep = rep};
	int rc;

	memset(rep, 0, sizeof(*rep));
	if (j == NULL)
		return psm_err_set(err, PSM_ENOMEM, "journal: out of memory");
	j->dirfd = j->lockfd = j->fd = -1;
	rc = jr_open_dir(j, state_dir, err);
	if (rc == PSM_OK)
		rc = jr_load(&l, err);
	if (rc != PSM_OK) {
		state_free(l.st);
		journal_close(j);
		return rc;
	}
	*st = l.st;
	*out = j;
	return PSM_OK;
}

void journal_close(struct journal *j)
{
	if (j == NULL)
		return;
	snapshot_kill(&j->bg);
	if (j->fd >= 0)
		close(j->fd);
	if (j->lockfd >= 0)
		close(j->lockfd); /* releases the flock */
	if (j->dirfd >= 0)
		close(j->dirfd);
	frame_buf_free(&j->q);
	json_out_free(&j->text);
	jq_free(&j->rcv);
	free(j);
}

/* ---- append and commit ----------------------------------------------------------------- */

/*
 * Cuts the segment back to its committed size, durably: a commit whose fdatasync failed
 * may have reached the disk all the same, and an unsynced cut would let a power cut bring
 * the refused records back.
 */
static bool jr_cut_back(struct journal *j)
{
	return ftruncate(j->fd, (off_t)j->size) == 0 && fdatasync(j->fd) == 0;
}

/* After a failed commit whose cut-back failed too: the cut is tried again first. */
static int jr_usable(struct journal *j, struct psm_err *err)
{
	if (j->broken && jr_cut_back(j))
		j->broken = false;
	if (j->broken)
		return psm_err_set(err, PSM_EUNAVAIL, "journal: cutting back a failed write: %s",
				   strerror(errno));
	return PSM_OK;
}

int journal_append_json(struct journal *j, const char *json, size_t len, struct psm_err *err)
{
	int rc = jr_usable(j, err);

	if (rc == PSM_OK)
		rc = frame_put(&j->q, json, len, err);
	j->nq += rc == PSM_OK;
	return rc;
}

int journal_append(struct journal *j, const struct record *rec, struct psm_err *err)
{
	int rc = jr_usable(j, err);

	if (rc == PSM_OK)
		rc = frame_record(&j->q, &j->text, rec, err);
	j->nq += rc == PSM_OK;
	return rc;
}

size_t journal_pending(const struct journal *j)
{
	return j->nq;
}

static uint64_t jr_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/*
 * A failed commit: cut back what may have reached the file (it must not stay in front of
 * the next records), drop the queue.  The journal takes work again at once, or once the
 * cut succeeds.
 */
static int jr_fail(struct journal *j, int rc, const struct psm_err *err)
{
	j->failing = true;
	j->failures++;
	snprintf(j->why, sizeof(j->why), "%s", err != NULL ? err->msg : "");
	j->q.len = 0;
	j->nq = 0;
	j->broken = !jr_cut_back(j);
	return rc;
}

int journal_commit(struct journal *j, uint64_t *fsync_ns, struct psm_err *err)
{
	char name[32];
	uint64_t t0;
	int rc;

	if (fsync_ns != NULL)
		*fsync_ns = 0;
	if (j->nq == 0)
		return PSM_OK;
	if (jr_usable(j, err) != PSM_OK)
		return jr_fail(j, PSM_EUNAVAIL, err);
	frame_file_name(&frame_journal, j->seq, name, sizeof(name));
	rc = frame_write_all(j->fd, j->q.p, j->q.len, name, err);
	if (rc != PSM_OK)
		return jr_fail(j, rc, err);
	t0 = jr_mono_ns();
	if (fdatasync(j->fd) != 0)
		return jr_fail(
		    j, psm_err_set(err, PSM_ESYS, "%s: fdatasync: %s", name, strerror(errno)), err);
	if (fsync_ns != NULL)
		*fsync_ns = jr_mono_ns() - t0;
	j->size += j->q.len;
	j->records += j->nq;
	j->since_snapshot += j->nq;
	j->commits++;
	j->failing = false;
	j->q.len = 0;
	j->nq = 0;
	return PSM_OK;
}

/* ---- snapshots ------------------------------------------------------------------------- */

/* Removes snapshots and segments older than snapshot keep (which stays). */
static void jr_prune(struct journal *j, uint32_t keep)
{
	struct jr_dir d;
	char name[32];
	size_t i;

	if (keep == 0 || jr_scan(j->dirfd, &d, NULL) != PSM_OK)
		return;
	for (i = 0; i < d.snaps.n && d.snaps.v[i] < keep; i++) {
		frame_file_name(&frame_snapshot, d.snaps.v[i], name, sizeof(name));
		unlinkat(j->dirfd, name, 0);
	}
	for (i = 0; i < d.segs.n && d.segs.v[i] < keep; i++) {
		frame_file_name(&frame_journal, d.segs.v[i], name, sizeof(name));
		unlinkat(j->dirfd, name, 0);
	}
	jr_dir_free(&d);
}

/* snapshot.<seq> is on disk: the snapshots before the previous one go, with their segments. */
static void jr_snapshot_done(struct journal *j, uint32_t seq)
{
	jr_prune(j, j->snap_last); /* keep the previous snapshot and what follows it */
	j->snap_last = seq;
}

/* Commits what is queued and starts segment *seq, the one the snapshot will precede. */
static int jr_roll(struct journal *j, uint32_t *seq, uint64_t *since, struct psm_err *err)
{
	int rc = journal_commit(j, NULL, err);

	*seq = j->seq + 1;
	*since = j->since_snapshot;
	if (rc == PSM_OK)
		rc = jr_segment_create(j, *seq, err);
	if (rc == PSM_OK)
		j->since_snapshot = 0;
	return rc;
}

/* Writes snapshot.<seq> in this process; on failure it is due again. */
static int jr_write_here(struct journal *j, uint32_t seq, uint64_t since, const struct state *st,
			 struct psm_err *err)
{
	int rc = snapshot_write(j->dirfd, seq, st, err);

	if (rc == PSM_OK)
		jr_snapshot_done(j, seq);
	else
		j->since_snapshot += since;
	return rc;
}

int journal_snapshot(struct journal *j, const struct state *st, struct psm_err *err)
{
	uint64_t since;
	uint32_t seq;
	int rc;

	if (j->bg.pid > 0) { /* this one covers more: the background one is dropped */
		snapshot_kill(&j->bg);
		j->since_snapshot += j->bg_since;
	}
	rc = jr_roll(j, &seq, &since, err);
	return rc == PSM_OK ? jr_write_here(j, seq, since, st, err) : rc;
}

int journal_snapshot_start(struct journal *j, const struct state *st, struct psm_err *err)
{
	uint64_t since;
	uint32_t seq;
	int rc;

	if (j->bg.pid > 0)
		return psm_err_set(err, PSM_EEXIST, "snapshot: one is being written already");
	rc = jr_roll(j, &seq, &since, err);
	if (rc != PSM_OK)
		return rc;
	if (snapshot_spawn(j->dirfd, seq, st, &j->bg, err) != PSM_OK)
		return jr_write_here(j, seq, since, st, err); /* no child: here, then */
	j->bg_since = since;
	return PSM_OK;
}

int journal_snapshot_poll(struct journal *j, bool block, struct psm_err *err)
{
	uint32_t seq = j->bg.seq;
	int r = snapshot_reap(&j->bg, block, err);

	if (r > 0)
		jr_snapshot_done(j, seq);
	else if (r < 0)
		j->since_snapshot += j->bg_since; /* due again */
	return r;
}

void journal_info(const struct journal *j, struct journal_info *info)
{
	info->segment = j->seq;
	info->segment_bytes = j->size;
	info->records_since_snapshot = j->since_snapshot;
	info->commits = j->commits;
	info->records = j->records;
	info->broken = j->broken;
	info->failing = j->failing;
	info->failures = j->failures;
	snprintf(info->why, sizeof(info->why), "%s", j->why);
	info->snapshotting = j->bg.pid > 0;
}

void journal_report_format(const struct journal_report *r, char *buf, size_t n)
{
	int w = snprintf(buf, n,
			 "loaded %s (%" PRIu64 " %s) + %" PRIu32 " journal %s (%" PRIu64
			 " %s); %" PRIu64 " superseded, %" PRIu64 " expired dropped",
			 r->snapshot[0] != '\0' ? r->snapshot : "no snapshot", r->snapshot_records,
			 plural(r->snapshot_records, "record", "records"), r->segments,
			 plural(r->segments, "segment", "segments"), r->journal_records,
			 plural(r->journal_records, "record", "records"), r->ignored, r->dropped);
	size_t o = w < 0 ? 0 : (size_t)w;

	if (r->fallback[0] != '\0' && o < n)
		o +=
		    (size_t)snprintf(buf + o, n - o, "; newest snapshot unusable: %s", r->fallback);
	if (r->torn[0] != '\0' && o < n)
		o += (size_t)snprintf(buf + o, n - o, "; %s", r->torn);
	if ((r->corrupt > 0 || r->quarantined > 0) && o < n)
		snprintf(buf + o, n - o,
			 "; %" PRIu32 " damaged journal %s, %" PRIu64
			 " %s in quarantine (psmctl recover)",
			 r->corrupt, plural(r->corrupt, "region", "regions"), r->quarantined,
			 plural(r->quarantined, "grant", "grants"));
}

const struct journal_recovery *journal_recovery(const struct journal *j)
{
	return &j->rcv;
}

const struct record *journal_quarantined(const struct journal *j, const uint8_t id[ID_BYTES])
{
	return j != NULL ? jq_find(&j->rcv, id) : NULL;
}

int journal_recovery_prune(struct journal *j, const struct state *st, struct psm_err *err)
{
	return j != NULL ? jq_prune(j->dirfd, &j->rcv, st, err) : PSM_OK;
}

int journal_recovery_done(struct journal *j, struct psm_err *err)
{
	return jq_clear(j->dirfd, &j->rcv, err);
}

/* ---- history --------------------------------------------------------------------------- */

/* Every provable record of file name (kind k, number seq) to fn, up to its first damage. */
static int jr_each_file(const struct journal *j, const struct frame_kind *k, uint32_t seq,
			journal_each_fn fn, void *ctx, struct psm_err *err)
{
	unsigned char *d = NULL;
	size_t size = 0, off = k->hdr_size, len;
	const char *json, *why;
	struct record rec;
	char name[32];
	int rc;

	frame_file_name(k, seq, name, sizeof(name));
	rc = frame_read_file(j->dirfd, name, &d, &size, err);
	if (rc == PSM_ENOENT)
		return PSM_OK; /* pruned meanwhile */
	if (rc == PSM_OK && frame_check_header(d, size, k, seq, name, NULL) != PSM_OK)
		size = 0;
	while (rc == PSM_OK && size > 0 && frame_next(d, size, &off, &json, &len, &why) == 1) {
		if (frame_parse_record(json, len, &rec, NULL) != PSM_OK)
			continue;
		rc = fn(ctx, &rec, k == &frame_snapshot, err);
		record_free(&rec);
	}
	free(d);
	return rc;
}

int journal_each(const struct journal *j, journal_each_fn fn, void *ctx, struct psm_err *err)
{
	struct jr_dir d;
	uint32_t from = 0;
	size_t i;
	int rc = jr_scan(j->dirfd, &d, err);

	if (rc != PSM_OK)
		return rc;
	if (d.snaps.n > 0) {
		from = d.snaps.v[0];
		rc = jr_each_file(j, &frame_snapshot, from, fn, ctx, err);
	}
	for (i = 0; rc == PSM_OK && i < d.segs.n; i++)
		if (d.segs.v[i] >= from)
			rc = jr_each_file(j, &frame_journal, d.segs.v[i], fn, ctx, err);
	jr_dir_free(&d);
	return rc;
}
