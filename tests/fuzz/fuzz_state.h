/* SPDX-License-Identifier: MIT */
/* fuzz_state.h - shared by fuzz_journal.c and fuzz_snapshot.c: a state_dir loaded as psmd loads
 * it, the invariants of what it loads, and a mutator that keeps the frames provable. */
#ifndef FUZZ_STATE_H
#define FUZZ_STATE_H

#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "frame.h"
#include "journal.h"
#include "shm.h"
#include "fuzz.h"

/* A check of this harness: the message names the function (fuzz.h prints the condition). */
#define FZ_CHECK(cond) FUZZ_CHECK(cond, "in %s", __func__)

/* Every load happens at this time: the seeds' records (made at 1796605917) are live then. */
#define FZ_NOW INT64_C(1796606000)

/* libFuzzer's own mutator; absent (NULL) when the harness is linked with the replay driver,
 * which never calls the custom mutator. */
size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max) __attribute__((weak));

/* ---- the state_dir ---------------------------------------------------------------------- */

static char fz_dir[64];

/* Removes every file of the state_dir (a load leaves lock, copies, a quarantine). */
static void fz_dir_clean(void)
{
	DIR *d = opendir(fz_dir);
	struct dirent *e;

	FZ_CHECK(d != NULL);
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			unlinkat(dirfd(d), e->d_name, 0);
	closedir(d);
}

/* A private state_dir on tmpfs (fsync is cheap there), made for one input. */
static void fz_dir_make(const char *tag)
{
	snprintf(fz_dir, sizeof(fz_dir), "/dev/shm/fuzz_%s.XXXXXX", tag);
	FZ_CHECK(mkdtemp(fz_dir) != NULL);
}

/* ... and removed after it: nothing is left behind between inputs. */
static void fz_dir_remove(void)
{
	fz_dir_clean();
	FZ_CHECK(rmdir(fz_dir) == 0);
}

static void fz_write(const char *name, const uint8_t *data, size_t size)
{
	char path[128];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", fz_dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	FZ_CHECK(fd >= 0);
	FZ_CHECK(write(fd, data, size) == (ssize_t)size);
	close(fd);
}

/* ---- what a load gives ------------------------------------------------------------------ */

/* The loaded state, order-independent: records per type and a sum over (type, id, version). */
struct fz_digest {
	const struct state *st;
	size_t n[5];
	uint64_t sum;
};

/* Every record loaded is valid; a grant bound to a session is not bound to an ended one. */
static int fz_visit(void *ctx, struct record *rec)
{
	struct fz_digest *d = ctx;
	struct psm_err err = {0};
	unsigned char key[1 + ID_BYTES + 8];

	FZ_CHECK(record_validate(rec, &err) == PSM_OK);
	FZ_CHECK(rec->type >= REC_GRANT && rec->type <= REC_SESSION_END);
	if (rec->type == REC_GRANT && rec->u.grant.has_session)
		FZ_CHECK(state_tomb(d->st, REC_SESSION_END, rec->u.grant.session) == NULL);
	key[0] = (unsigned char)rec->type;
	memcpy(key + 1, record_id(rec), ID_BYTES);
	frame_put_u64(key + 1 + ID_BYTES, record_version(rec));
	d->n[rec->type]++;
	d->sum += shm_crc32c(0, key, sizeof(key));
	return 0;
}

static void fz_check_recovery(const struct journal *j)
{
	const struct journal_recovery *rcv = journal_recovery(j);
	struct psm_err err = {0};
	size_t i;

	for (i = 0; i < rcv->ndamage; i++)
		FZ_CHECK(strchr(rcv->damage[i], '\n') == NULL);
	for (i = 0; i < rcv->ngrants; i++) {
		FZ_CHECK(rcv->grants[i].type == REC_GRANT);
		FZ_CHECK(record_validate(&rcv->grants[i], &err) == PSM_OK);
	}
}

/* journal_open on the state_dir at FZ_NOW; on success *d describes what it loaded. */
static int fz_load(struct fz_digest *d, struct state **keep)
{
	static const int types[] = {REC_GRANT, REC_REVOKE, REC_SESSION, REC_SESSION_END};
	struct journal_report rep;
	struct journal *j = NULL;
	struct state *st = NULL;
	struct psm_err err = {0};
	char line[4 * PSM_ERR_MSG_MAX];
	int rc = journal_open(&j, fz_dir, FZ_NOW, &st, &rep, &err);

	memset(d, 0, sizeof(*d));
	if (rc != PSM_OK) {
		if (getenv("FUZZ_VERBOSE") != NULL)
			fprintf(stderr, "%s\n", err.msg);
		FZ_CHECK(rc == PSM_EUNAVAIL && strchr(err.msg, '\n') == NULL);
		return rc;
	}
	d->st = st;
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		state_foreach(st, types[i], fz_visit, d);
	fz_check_recovery(j);
	journal_report_format(&rep, line, sizeof(line));
	FZ_CHECK(strchr(line, '\n') == NULL);
	if (getenv("FUZZ_VERBOSE") != NULL) /* what each input does, for a person */
		fprintf(stderr, "%s\n", line);
	journal_close(j);
	*keep = st;
	return PSM_OK;
}

/* Loads twice: a load that worked works again, with the same state (a torn tail it cut, a
 * quarantine it wrote, a copy it kept change nothing).  The first state goes to *st. */
static int fz_load_twice(struct state **st)
{
	struct fz_digest a, b;
	struct state *again = NULL;
	int rc = fz_load(&a, st);

	if (rc != PSM_OK)
		return rc;
	FZ_CHECK(fz_load(&b, &again) == PSM_OK);
	FZ_CHECK(memcmp(a.n, b.n, sizeof(a.n)) == 0 && a.sum == b.sum);
	state_free(again);
	return PSM_OK;
}

/* ---- the records a load read --------------------------------------------------------------- */

/* A tombstone read from the bytes (not expired at FZ_NOW) beats any grant or session of an
 * equal or older version: the loaded state holds none. */
static void fz_check_tomb(const struct state *st, const char *json, size_t len)
{
	struct record r;
	struct psm_err err = {0};
	const struct record *live;

	if (record_parse(json, len, &r, &err) != PSM_OK)
		return;
	if ((r.type == REC_REVOKE || r.type == REC_SESSION_END) && record_expiry(&r) > FZ_NOW) {
		live = r.type == REC_REVOKE ? state_grant(st, r.u.tomb.id)
					    : state_session(st, r.u.tomb.id);
		FZ_CHECK(live == NULL || record_version(live) > r.u.tomb.version);
	}
	record_free(&r);
}

/* The provable frame at or after from (a length in range, '{' first, the checksum right). */
static size_t fz_resync(const uint8_t *d, size_t size, size_t from)
{
	const char *json, *why;
	size_t p, off, len;

	for (p = from; p + FRAME_HDR_SIZE < size; p++) {
		off = p;
		if (d[p + FRAME_HDR_SIZE] == '{' &&
		    frame_next(d, size, &off, &json, &len, &why) == 1)
			return p;
	}
	return size;
}

/* Walks the frames of d[hdr..size) as a loader does (past damage to the next provable frame)
 * and checks every tombstone read against st. */
static void fz_check_tombs(const struct state *st, const uint8_t *d, size_t size, size_t hdr)
{
	const char *json, *why;
	size_t off = hdr, at, len;
	int r;

	while (size > hdr) {
		at = off;
		r = frame_next(d, size, &off, &json, &len, &why);
		if (r == 0)
			return;
		if (r > 0)
			fz_check_tomb(st, json, len);
		else
			off = fz_resync(d, size, at + 1);
	}
}

/* One input: written as state_dir/file (a header of hdr bytes, then frames) and loaded twice;
 * the tombstones it holds checked against what loaded. */
static void fz_state_input(const char *tag, const char *file, size_t hdr, const uint8_t *data,
			   size_t size)
{
	struct state *st = NULL;

	fz_dir_make(tag);
	fz_write(file, data, size);
	if (fz_load_twice(&st) == PSM_OK) {
		fz_check_tombs(st, data, size, hdr);
		state_free(st);
	}
	fz_dir_remove();
}

/* ---- the mutator ------------------------------------------------------------------------------
 */

#define FZ_FRAMES_MAX 256

struct fz_frames {
	size_t off[FZ_FRAMES_MAX], len[FZ_FRAMES_MAX]; /* a frame's start, its JSON length */
	size_t n, end;				       /* frames; where the last one ends */
};

/* The frames of d[hdr..size) by their length words alone (checksums not asked). */
static void fz_frames_scan(const uint8_t *d, size_t size, size_t hdr, struct fz_frames *f)
{
	size_t p = hdr;
	uint32_t n;

	f->n = 0;
	while (f->n < FZ_FRAMES_MAX && size - p > FRAME_HDR_SIZE) {
		n = frame_get_u32(d + p);
		if (n == 0 || n > size - p - FRAME_HDR_SIZE)
			break;
		f->off[f->n] = p;
		f->len[f->n++] = n;
		p += FRAME_HDR_SIZE + n;
	}
	f->end = p;
}

/* Appends frame i of d to out[*o..max) sealed again, its JSON first mutated when mutate. */
static bool fz_frame_put(uint8_t *out, size_t *o, size_t max, const uint8_t *d,
			 const struct fz_frames *f, size_t i, bool mutate)
{
	size_t len = f->len[i], room;

	if (max - *o < FRAME_HDR_SIZE + len)
		return false;
	memcpy(out + *o + FRAME_HDR_SIZE, d + f->off[i] + FRAME_HDR_SIZE, len);
	room = max - *o - FRAME_HDR_SIZE;
	if (mutate)
		len = LLVMFuzzerMutate(out + *o + FRAME_HDR_SIZE, len, room < 4096 ? room : 4096);
	if (len == 0)
		return true; /* dropped */
	frame_seal(out + *o, (const char *)out + *o + FRAME_HDR_SIZE, len);
	*o += FRAME_HDR_SIZE + len;
	return true;
}

/* The file rebuilt into out: frames in order (k's JSON mutated, or k dropped, repeated or swapped
 * with k + 1), then what followed the frames.  Its new size, or 0 when it does not fit. */
static size_t fz_frames_rebuild(uint8_t *out, size_t max, const uint8_t *d, size_t size, size_t hdr,
				const struct fz_frames *f, size_t k, unsigned op)
{
	size_t o = hdr, i, j;

	memcpy(out, d, hdr);
	for (i = 0; i < f->n; i++) {
		j = op == 3 && (i == k || i == k + 1) && k + 1 < f->n ? (i == k ? k + 1 : k) : i;
		if (op == 1 && i == k)
			continue;
		if (!fz_frame_put(out, &o, max, d, f, j, op == 0 && i == k))
			return 0;
		if (op == 2 && i == k && !fz_frame_put(out, &o, max, d, f, j, false))
			return 0;
	}
	if (max - o < size - f->end)
		return 0;
	memcpy(out + o, d + f->end, size - f->end);
	return o + size - f->end;
}

/*
 * The structure-aware mutation of a state file with a hdr-byte header: most of the time one
 * frame's JSON is mutated (or a frame dropped, repeated, swapped with the next) and every frame
 * sealed again, so that the bytes reach the record parser and the merge rules; otherwise (and
 * when there is no frame) libFuzzer's own mutation of the raw bytes: damage for the resync,
 * torn-tail and corruption rules.
 */
static size_t fz_frames_mutate(uint8_t *d, size_t size, size_t max, unsigned seed, size_t hdr)
{
	struct fz_frames f;
	uint8_t *out;
	size_t n = 0;

	if (size > hdr)
		fz_frames_scan(d, size, hdr, &f);
	if (size <= hdr || f.n == 0 || seed % 8 == 0 || (out = malloc(max)) == NULL)
		return LLVMFuzzerMutate(d, size, max);
	n = fz_frames_rebuild(out, max, d, size, hdr, &f, (seed / 8) % f.n,
			      (seed / 2048) % 8 < 5 ? 0 : (seed / 2048) % 8 - 4);
	if (n > 0)
		memcpy(d, out, n);
	free(out);
	return n > 0 ? n : LLVMFuzzerMutate(d, size, max);
}

#endif
