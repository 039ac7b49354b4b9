/* SPDX-License-Identifier: MIT */
/* snapshot.c - whole-state snapshots: atomic write (new, fsync, rename, fsync dir) and load. */
#include "snapshot.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "journal.h"
#include "json_cjson.h"

#define SNAPSHOT_TMP "snapshot.new"
#define SNAPSHOT_FLUSH (1u << 20)

void snapshot_name(uint32_t seq, char *buf, size_t n)
{
	snprintf(buf, n, "snapshot.%06" PRIu32, seq);
}

void journal_segment_name(uint32_t seq, char *buf, size_t n)
{
	snprintf(buf, n, "journal.%06" PRIu32, seq);
}

void snapshot_put_u32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

void snapshot_put_u64(unsigned char *p, uint64_t v)
{
	snapshot_put_u32(p, (uint32_t)v);
	snapshot_put_u32(p + 4, (uint32_t)(v >> 32));
}

uint32_t snapshot_get_u32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

uint64_t snapshot_get_u64(const unsigned char *p)
{
	return (uint64_t)snapshot_get_u32(p) | (uint64_t)snapshot_get_u32(p + 4) << 32;
}

int snapshot_write_all(int fd, const void *p, size_t n, const char *what, struct psm_err *err)
{
	const unsigned char *c = p;

	while (n > 0) {
		ssize_t w = write(fd, c, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return psm_err_set(err, PSM_ESYS, "%s: write: %s", what,
					   w < 0 ? strerror(errno) : "no progress");
		c += w;
		n -= (size_t)w;
	}
	return PSM_OK;
}

int snapshot_read_file(int dirfd, const char *name, unsigned char **data, size_t *size,
		       struct psm_err *err)
{
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	struct stat st;
	size_t got = 0;
	unsigned char *p;

	if (fd < 0)
		return psm_err_set(err, errno == ENOENT ? PSM_ENOENT : PSM_ESYS, "%s: open: %s",
				   name, strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > UINT32_MAX) {
		close(fd);
		return psm_err_set(err, PSM_EUNAVAIL, "%s: not a regular file of at most 4 GiB",
				   name);
	}
	p = malloc((size_t)st.st_size + 1);
	while (p != NULL && got < (size_t)st.st_size) {
		ssize_t r = read(fd, p + got, (size_t)st.st_size - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	if (p == NULL || got != (size_t)st.st_size) {
		free(p);
		return psm_err_set(err, p == NULL ? PSM_ENOMEM : PSM_ESYS, "%s: read failed", name);
	}
	*data = p;
	*size = got;
	return PSM_OK;
}

int snapshot_parse_json(const char *json, size_t len, struct record *r, struct psm_err *err)
{
	int rc = record_parse(json, len, r, err);

	if (rc == PSM_ENOMEM || rc == PSM_OK)
		return rc;
	if (err != NULL)
		err->code = PSM_EUNAVAIL;
	return PSM_EUNAVAIL;
}

int snapshot_apply_json(struct state *st, const char *json, size_t len, int64_t now, int *outcome,
			struct psm_err *err)
{
	struct record r;
	int rc = snapshot_parse_json(json, len, &r, err);

	return rc == PSM_OK ? state_apply(st, &r, now, outcome, err) : rc;
}

/* ---- writing ----------------------------------------------------------------------- */

struct snap_writer {
	int fd;
	struct journal_buf buf;
	struct json_out text;
	struct psm_err *err;
};

static int snap_flush(struct snap_writer *w)
{
	int rc = snapshot_write_all(w->fd, w->buf.p, w->buf.len, SNAPSHOT_TMP, w->err);

	w->buf.len = 0;
	return rc;
}

static int snap_put_record(void *ctx, struct record *rec)
{
	struct snap_writer *w = ctx;
	int rc = journal_frame_record(&w->buf, &w->text, rec, w->err);

	if (rc == PSM_OK && w->buf.len >= SNAPSHOT_FLUSH)
		rc = snap_flush(w);
	return rc;
}

static int snap_put_header(struct snap_writer *w, uint32_t seq, const struct state *st)
{
	unsigned char h[SNAPSHOT_HDR_SIZE];
	struct state_counts c;

	state_counts(st, &c);
	memcpy(h, SNAPSHOT_MAGIC, 8);
	snapshot_put_u32(h + 8, JOURNAL_FORMAT);
	snapshot_put_u32(h + 12, seq);
	snapshot_put_u64(h + 16, c.grants + c.sessions + c.revokes + c.session_ends);
	return snapshot_write_all(w->fd, h, sizeof(h), SNAPSHOT_TMP, w->err);
}

static int snap_put_all(struct snap_writer *w, uint32_t seq, const struct state *st)
{
	static const int types[] = {REC_SESSION, REC_GRANT, REC_REVOKE, REC_SESSION_END};
	size_t i;
	int rc = snap_put_header(w, seq, st);

	for (i = 0; rc == PSM_OK && i < sizeof(types) / sizeof(types[0]); i++)
		rc = state_foreach(st, types[i], snap_put_record, w);
	if (rc == PSM_OK)
		rc = snap_flush(w);
	if (rc == PSM_OK && fsync(w->fd) != 0)
		rc = psm_err_set(w->err, PSM_ESYS, "%s: fsync: %s", SNAPSHOT_TMP, strerror(errno));
	return rc;
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
	journal_buf_free(&w.buf);
	json_out_free(&w.text);
	if (close(w.fd) != 0 && rc == PSM_OK)
		rc = psm_err_set(err, PSM_ESYS, "%s: close: %s", SNAPSHOT_TMP, strerror(errno));
	snapshot_name(seq, name, sizeof(name));
	if (rc == PSM_OK && renameat(dirfd, SNAPSHOT_TMP, dirfd, name) != 0)
		rc = psm_err_set(err, PSM_ESYS, "%s: rename: %s", name, strerror(errno));
	if (rc != PSM_OK) {
		unlinkat(dirfd, SNAPSHOT_TMP, 0);
		return rc;
	}
	if (fsync(dirfd) != 0)
		return psm_err_set(err, PSM_ESYS, "state directory: fsync: %s", strerror(errno));
	return PSM_OK;
}

/* ---- loading ----------------------------------------------------------------------- */

int snapshot_check_header(const unsigned char *d, size_t size, const struct snapshot_kind *k,
			  uint32_t seq, const char *name, struct psm_err *err)
{
	if (size < k->hdr_size || memcmp(d, k->magic, 8) != 0)
		return psm_err_set(err, PSM_EUNAVAIL, "%s: not a psm %s (bad magic)", name, k->what);
	if (snapshot_get_u32(d + 8) != JOURNAL_FORMAT)
		return psm_err_set(err, PSM_EUNAVAIL, "%s: unknown format version %" PRIu32, name,
				   snapshot_get_u32(d + 8));
	if (snapshot_get_u32(d + 12) != seq)
		return psm_err_set(err, PSM_EUNAVAIL, "%s: header says number %" PRIu32, name,
				   snapshot_get_u32(d + 12));
	return PSM_OK;
}

int snapshot_apply_frames(struct state *st, const unsigned char *d, size_t size, size_t off,
			  const char *name, int64_t now, struct snapshot_frames *f,
			  struct psm_err *err)
{
	const char *json;
	size_t at, len;
	int r, outcome, rc;

	for (f->why = NULL;;) {
		at = off;
		r = journal_frame_next(d, size, &off, &json, &len, &f->why);
		if (r == 0)
			return PSM_OK;
		if (r < 0) {
			f->bad_at = at;
			return psm_err_set(err, PSM_EUNAVAIL, "%s: %s at byte %zu", name, f->why, at);
		}
		rc = snapshot_apply_json(st, json, len, now, &outcome, err);
		if (rc != PSM_OK) {
			f->why = NULL;
			psm_err_prefix(err, "%s: record at byte %zu", name, at);
			return rc;
		}
		f->records++;
		if (outcome == STATE_EXPIRED)
			f->dropped++;
		else if (outcome != STATE_APPLIED)
			f->ignored++;
	}
}

int snapshot_load(int dirfd, uint32_t seq, struct state *st, int64_t now, uint64_t *records,
		  uint64_t *dropped, struct psm_err *err)
{
	static const struct snapshot_kind kind = { SNAPSHOT_MAGIC, SNAPSHOT_HDR_SIZE, "snapshot" };
	struct snapshot_frames f = {0};
	unsigned char *d = NULL;
	uint64_t count = 0;
	size_t size = 0;
	char name[32];
	int rc;

	snapshot_name(seq, name, sizeof(name));
	rc = snapshot_read_file(dirfd, name, &d, &size, err);
	if (rc == PSM_OK)
		rc = snapshot_check_header(d, size, &kind, seq, name, err);
	if (rc == PSM_OK) {
		count = snapshot_get_u64(d + 16);
		rc = snapshot_apply_frames(st, d, size, SNAPSHOT_HDR_SIZE, name, now, &f, err);
	}
	if (rc == PSM_OK && f.records != count)
		rc = psm_err_set(err, PSM_EUNAVAIL, "%s: %" PRIu64 " records, header says %" PRIu64,
				 name, f.records, count);
	free(d);
	*records = f.records;
	*dropped = f.dropped;
	return rc;
}
