/* SPDX-License-Identifier: MIT */
/* frame.c - the on-disk format of state_dir's files: headers, framed records, file I/O. */
#include "frame.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "json_cjson.h"
#include "shm.h"

const struct frame_kind frame_journal = {JOURNAL_MAGIC, JOURNAL_HDR_SIZE, "journal"};
const struct frame_kind frame_snapshot = {SNAPSHOT_MAGIC, SNAPSHOT_HDR_SIZE, "snapshot"};

/* ---- integers and headers ------------------------------------------------------------ */

void frame_put_u32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

void frame_put_u64(unsigned char *p, uint64_t v)
{
	frame_put_u32(p, (uint32_t)v);
	frame_put_u32(p + 4, (uint32_t)(v >> 32));
}

uint32_t frame_get_u32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

uint64_t frame_get_u64(const unsigned char *p)
{
	return (uint64_t)frame_get_u32(p) | (uint64_t)frame_get_u32(p + 4) << 32;
}

void frame_file_name(const struct frame_kind *k, uint32_t seq, char *buf, size_t n)
{
	snprintf(buf, n, "%s.%06" PRIu32, k->what, seq);
}

void frame_put_header(unsigned char *h, const struct frame_kind *k, uint32_t seq)
{
	memcpy(h, k->magic, 8);
	frame_put_u32(h + 8, FRAME_FORMAT);
	frame_put_u32(h + 12, seq);
}

int frame_check_header(const unsigned char *d, size_t size, const struct frame_kind *k,
		       uint32_t seq, const char *name, struct psm_err *err)
{
	if (size < k->hdr_size || memcmp(d, k->magic, 8) != 0)
		return psm_err_set(err, PSM_EUNAVAIL, "%s: not a psm %s (bad magic)", name,
				   k->what);
	if (frame_get_u32(d + 8) != FRAME_FORMAT)
		return psm_err_set(err, PSM_EUNAVAIL, "%s: unknown format version %" PRIu32, name,
				   frame_get_u32(d + 8));
	if (frame_get_u32(d + 12) != seq)
		return psm_err_set(err, PSM_EUNAVAIL, "%s: header says number %" PRIu32, name,
				   frame_get_u32(d + 12));
	return PSM_OK;
}

/* ---- frames ---------------------------------------------------------------------------- */

uint32_t frame_crc(const unsigned char lenbytes[4], const char *json, size_t len)
{
	return shm_crc32c(shm_crc32c(0, lenbytes, 4), json, len);
}

void frame_seal(unsigned char *h, const char *json, size_t len)
{
	frame_put_u32(h, (uint32_t)len);
	frame_put_u32(h + 4, frame_crc(h, json, len));
}

int frame_put(struct frame_buf *b, const char *json, size_t len, struct psm_err *err)
{
	size_t need = b->len + FRAME_HDR_SIZE + len;
	unsigned char *h;

	if (len == 0 || len > FRAME_REC_MAX)
		return psm_err_set(err, PSM_EINVAL, "journal: record of %zu bytes", len);
	if (need > b->cap) {
		size_t cap = b->cap == 0 ? 65536 : b->cap;
		unsigned char *p;

		while (cap < need)
			cap *= 2;
		p = realloc(b->p, cap);
		if (p == NULL)
			return psm_err_set(err, PSM_ENOMEM, "journal: out of memory");
		b->p = p;
		b->cap = cap;
	}
	h = b->p + b->len;
	frame_seal(h, json, len);
	memcpy(h + FRAME_HDR_SIZE, json, len);
	b->len = need;
	return PSM_OK;
}

int frame_record(struct frame_buf *b, struct json_out *text, const struct record *rec,
		 struct psm_err *err)
{
	int rc;

	json_out_reset(text);
	rc = record_write(text, rec, err);
	return rc == PSM_OK ? frame_put(b, text->buf, text->len, err) : rc;
}

void frame_buf_free(struct frame_buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

int frame_next(const unsigned char *data, size_t size, size_t *off, const char **json, size_t *len,
	       const char **why)
{
	const unsigned char *h = data + *off;
	uint32_t n;

	if (*off == size)
		return 0;
	if (size - *off < FRAME_HDR_SIZE) {
		*why = "frame header cut short";
		return -1;
	}
	n = frame_get_u32(h);
	if (n == 0 || n > FRAME_REC_MAX) {
		*why = "bad record length";
		return -1;
	}
	if (size - *off - FRAME_HDR_SIZE < n) {
		*why = "record cut short";
		return -1;
	}
	if (frame_crc(h, (const char *)h + FRAME_HDR_SIZE, n) != frame_get_u32(h + 4)) {
		*why = "bad checksum";
		return -1;
	}
	*json = (const char *)h + FRAME_HDR_SIZE;
	*len = n;
	*off += FRAME_HDR_SIZE + n;
	return 1;
}

int frame_parse_record(const char *json, size_t len, struct record *r, struct psm_err *err)
{
	int rc = record_parse(json, len, r, err);

	if (rc == PSM_ENOMEM || rc == PSM_OK)
		return rc;
	if (err != NULL)
		err->code = PSM_EUNAVAIL;
	return PSM_EUNAVAIL;
}

/* ---- files ----------------------------------------------------------------------------- */

int frame_read_file(int dirfd, const char *name, unsigned char **data, size_t *size,
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

int frame_write_all(int fd, const void *p, size_t n, const char *what, struct psm_err *err)
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

int frame_fsync_dir(int dirfd, struct psm_err *err)
{
	if (fsync(dirfd) != 0)
		return psm_err_set(err, PSM_ESYS, "state directory: fsync: %s", strerror(errno));
	return PSM_OK;
}

int frame_replace(int dirfd, int fd, const char *tmp, const char *name, int rc, struct psm_err *err)
{
	if (rc == PSM_OK && fsync(fd) != 0)
		rc = psm_err_set(err, PSM_ESYS, "%s: fsync: %s", tmp, strerror(errno));
	if (close(fd) != 0 && rc == PSM_OK)
		rc = psm_err_set(err, PSM_ESYS, "%s: close: %s", tmp, strerror(errno));
	if (rc == PSM_OK && renameat(dirfd, tmp, dirfd, name) != 0)
		rc = psm_err_set(err, PSM_ESYS, "%s: rename: %s", name, strerror(errno));
	if (rc != PSM_OK) {
		unlinkat(dirfd, tmp, 0);
		return rc;
	}
	return frame_fsync_dir(dirfd, err);
}
