/* SPDX-License-Identifier: MIT */
/* snapshot.c - whole-state snapshots: atomic write (new, fsync, rename, fsync dir) and load. */
#include "snapshot.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "frame.h"
#include "json_cjson.h"
#include "plural.h"

#define SNAPSHOT_TMP "snapshot.new"
#define SNAPSHOT_FLUSH (1u << 20)

/* ---- writing ----------------------------------------------------------------------- */

struct snap_writer {
	int fd;
	struct frame_buf buf;
	struct json_out text;
	struct psm_err *err;
};

static int snap_flush(struct snap_writer *w)
{
	int rc = frame_write_all(w->fd, w->buf.p, w->buf.len, SNAPSHOT_TMP, w->err);

	w->buf.len = 0;
	return rc;
}

static int snap_put_record(void *ctx, struct record *rec)
{
	struct snap_writer *w = ctx;
	int rc = frame_record(&w->buf, &w->text, rec, w->err);

	if (rc == PSM_OK && w->buf.len >= SNAPSHOT_FLUSH)
		rc = snap_flush(w);
	return rc;
}

static int snap_put_header(struct snap_writer *w, uint32_t seq, const struct state *st)
{
	unsigned char h[SNAPSHOT_HDR_SIZE];
	struct state_counts c;

	state_counts(st, &c);
	frame_put_header(h, &frame_snapshot, seq);
	frame_put_u64(h + 16, c.grants + c.sessions + c.revokes + c.session_ends);
	return frame_write_all(w->fd, h, sizeof(h), SNAPSHOT_TMP, w->err);
}

static int snap_put_all(struct snap_writer *w, uint32_t seq, const struct state *st)
{
	static const int types[] = {REC_SESSION, REC_GRANT, REC_REVOKE, REC_SESSION_END};
	size_t i;
	int rc = snap_put_header(w, seq, st);

	for (i = 0; rc == PSM_OK && i < sizeof(types) / sizeof(types[0]); i++)
		rc = state_foreach(st, types[i], snap_put_record, w);
	return rc == PSM_OK ? snap_flush(w) : rc;
}

int snapshot_write(int dirfd, uint32_t seq, const struct state *st, struct psm_err *err)
{
	struct snap_writer w = {.err = err};
	char name[32];
	int rc;

	unlinkat(dirfd, SNAPSHOT_TMP, 0);
	w.fd =
	    openat(dirfd, SNAPSHOT_TMP, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (w.fd < 0)
		return psm_err_set(err, PSM_ESYS, "%s: create: %s", SNAPSHOT_TMP, strerror(errno));
	rc = snap_put_all(&w, seq, st);
	frame_buf_free(&w.buf);
	json_out_free(&w.text);
	frame_file_name(&frame_snapshot, seq, name, sizeof(name));
	return frame_replace(dirfd, w.fd, SNAPSHOT_TMP, name, rc, err);
}

/* ---- loading ----------------------------------------------------------------------- */

/* What snap_apply_frames read. */
struct snap_frames {
	uint64_t records; /* records read */
	uint64_t dropped; /* of them, expired at now (not stored) */
};

/* Applies one framed record's JSON to st at now; one that does not parse or validate is
 * PSM_EUNAVAIL (the caller names the place). */
static int snap_apply_json(struct state *st, const char *json, size_t len, int64_t now,
			   int *outcome, struct psm_err *err)
{
	struct record r;
	int rc = frame_parse_record(json, len, &r, err);

	return rc == PSM_OK ? state_apply(st, &r, now, outcome, err) : rc;
}

/* Applies every framed record of d[off..size) (file name) to st at now, counting into *f.
 * A damaged frame: PSM_EUNAVAIL "NAME: WHY at byte N"; a record that does not apply: its
 * error, prefixed "NAME: record at byte N". */
static int snap_apply_frames(struct state *st, const unsigned char *d, size_t size, size_t off,
			     const char *name, int64_t now, struct snap_frames *f,
			     struct psm_err *err)
{
	const char *json, *why = NULL;
	size_t at, len;
	int r, outcome, rc;

	for (;;) {
		at = off;
		r = frame_next(d, size, &off, &json, &len, &why);
		if (r == 0)
			return PSM_OK;
		if (r < 0)
			return psm_err_set(err, PSM_EUNAVAIL, "%s: %s at byte %zu", name, why, at);
		rc = snap_apply_json(st, json, len, now, &outcome, err);
		if (rc != PSM_OK) {
			psm_err_prefix(err, "%s: record at byte %zu", name, at);
			return rc;
		}
		f->records++;
		f->dropped += outcome == STATE_EXPIRED;
	}
}

int snapshot_load(int dirfd, uint32_t seq, struct state *st, int64_t now, uint64_t *records,
		  uint64_t *dropped, struct psm_err *err)
{
	struct snap_frames f = {0};
	unsigned char *d = NULL;
	uint64_t count = 0;
	size_t size = 0;
	char name[32];
	int rc;

	frame_file_name(&frame_snapshot, seq, name, sizeof(name));
	rc = frame_read_file(dirfd, name, &d, &size, err);
	if (rc == PSM_OK)
		rc = frame_check_header(d, size, &frame_snapshot, seq, name, err);
	if (rc == PSM_OK) {
		count = frame_get_u64(d + 16);
		rc = snap_apply_frames(st, d, size, SNAPSHOT_HDR_SIZE, name, now, &f, err);
	}
	if (rc == PSM_OK && f.records != count)
		rc = psm_err_set(err, PSM_EUNAVAIL, "%s: %" PRIu64 " %s, header says %" PRIu64,
				 name, f.records, plural(f.records, "record", "records"), count);
	free(d);
	*records = f.records;
	*dropped = f.dropped;
	return rc;
}
