/* SPDX-License-Identifier: MIT */
/* test_journal_damage.c - every single-bit flip and every 4-byte overwrite of a journal of grants
 * and revokes: no revoked grant comes back, no acknowledged record is lost silently. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include "journal.h"
#include "record_fixture.h"
#include "under_valgrind.h"
#include "frame.h"

/* The journal: G0 G1 G2 revoke(G1) G3 G4 revoke(G3); live G0 G2 G4, revoked G1 G3. */
#define NG 5
static const bool revoked[NG] = {false, true, false, true, false};

/* state_dir on tmpfs: 40000 loads, each with fsyncs, in seconds */
struct dfx {
	char root[64], dir[80];
	uint8_t ids[NG][ID_BYTES];
	unsigned char *seg; /* the pristine segment */
	size_t size;
	unsigned long opens, refused, corrupt, quarantined, lost_named;
};

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static void rm_dir(const char *dir)
{
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void put(struct journal *j, struct record *r)
{
	assert_int_equal(journal_append(j, r, NULL), PSM_OK);
	record_free(r);
}

static void build_journal(struct dfx *f)
{
	static const int order[] = {0, 1, 2, -1, 3, 4, -3}; /* -k: revoke Gk */
	struct journal_report rep;
	struct state *st = NULL;
	struct journal *j = NULL;
	struct record r;
	char path[128];
	FILE *fp;
	size_t i;

	assert_int_equal(journal_open(&j, f->dir, FX_NOW, &st, &rep, NULL), PSM_OK);
	for (i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		if (order[i] >= 0) {
			fx_grant(&r, "alice", "sudo:run", i + 1, FX_NOW + 3600);
			memcpy(f->ids[order[i]], r.u.grant.id, ID_BYTES);
		} else {
			fx_tomb(&r, REC_REVOKE, f->ids[-order[i]], i + 1, FX_NOW + 3600);
		}
		put(j, &r);
		assert_int_equal(journal_commit(j, NULL, NULL), PSM_OK); /* each acknowledged */
	}
	journal_close(j);
	state_free(st);
	snprintf(path, sizeof(path), "%s/journal.000001", f->dir);
	fp = fopen(path, "rb");
	assert_non_null(fp);
	f->seg = malloc(1 << 16);
	f->size = fread(f->seg, 1, 1 << 16, fp);
	fclose(fp);
}

static int dfx_setup(void **state)
{
	struct dfx *f = calloc(1, sizeof(*f));

	snprintf(f->root, sizeof(f->root), "/dev/shm/psm-test-dmg-%d-XXXXXX", (int)getpid());
	if (mkdtemp(f->root) == NULL)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "%s/state", f->root);
	*state = f;
	build_journal(f);
	return 0;
}

static int dfx_teardown(void **state)
{
	struct dfx *f = *state;

	rm_dir(f->root);
	free(f->seg);
	free(f);
	return 0;
}

static bool in_quarantine(struct journal *j, const uint8_t id[ID_BYTES])
{
	const struct journal_recovery *r = journal_recovery(j);
	size_t i;

	for (i = 0; i < r->ngrants; i++)
		if (memcmp(r->grants[i].u.grant.id, id, ID_BYTES) == 0)
			return true;
	return false;
}

static size_t damage_named(struct journal *j)
{
	return journal_recovery(j)->ndamage;
}

/* One load of the damaged journal: the rules hold; returns the quarantine size. */
static size_t check_load(struct dfx *f, const char *what, size_t at)
{
	struct journal_report rep;
	struct state *st = NULL;
	struct journal *j = NULL;
	struct psm_err e = {0};
	size_t g, q;
	struct stat sb;
	char path[128];

	f->opens++;
	if (journal_open(&j, f->dir, FX_NOW, &st, &rep, &e) != PSM_OK) {
		if (strstr(e.msg, "journal.000001") == NULL)
			fail_msg("%s at %zu: refused without naming the segment: %s", what, at,
				 e.msg);
		if (at >= JOURNAL_HDR_SIZE) /* damaged records are quarantined, not fatal */
			fail_msg("%s at byte %zu, past the header: refused: %s", what, at, e.msg);
		f->refused++;
		return SIZE_MAX;
	}
	for (g = 0; g < NG; g++) {
		bool live = state_grant(st, f->ids[g]) != NULL;

		if (revoked[g] && live)
			fail_msg("%s at byte %zu: revoked grant G%zu is allowed again", what, at,
				 g);
		if (live && in_quarantine(j, f->ids[g]))
			fail_msg("%s at byte %zu: G%zu both live and quarantined", what, at, g);
		if (!revoked[g] && !live && !in_quarantine(j, f->ids[g]) && damage_named(j) == 0)
			fail_msg("%s at byte %zu: G%zu lost silently", what, at, g);
	}
	if (rep.torn[0] != '\0')
		fail_msg("%s at byte %zu: acknowledged damage called a torn tail: %s", what, at,
			 rep.torn);
	snprintf(path, sizeof(path), "%s/journal.000001", f->dir);
	assert_int_equal(stat(path, &sb), 0);
	if ((size_t)sb.st_size != f->size)
		fail_msg("%s at byte %zu: the segment was cut to %lld bytes", what, at,
			 (long long)sb.st_size);
	f->corrupt += damage_named(j) > 0;
	q = journal_recovery(j)->ngrants;
	f->quarantined += q > 0;
	journal_close(j);
	state_free(st);
	return q;
}

/* Every damaged load that psmd did not refuse named the damage; some kept grants aside. */
static void assert_damage_named(const struct dfx *f)
{
	assert_int_equal(f->refused + f->corrupt, f->opens);
	assert_true(f->corrupt > 0);
	assert_true(f->quarantined > 0);
}

/* Writes the damaged segment into a fresh state_dir, loads it twice (a restart keeps
 * the quarantine, the rules hold both times). */
static void try_damaged(struct dfx *f, const unsigned char *seg, const char *what, size_t at)
{
	char path[128];
	FILE *fp;
	size_t q1, q2;

	rm_dir(f->dir);
	assert_int_equal(mkdir(f->dir, 0700), 0);
	snprintf(path, sizeof(path), "%s/journal.000001", f->dir);
	fp = fopen(path, "wb");
	assert_non_null(fp);
	assert_int_equal(fwrite(seg, 1, f->size, fp), f->size);
	fclose(fp);
	q1 = check_load(f, what, at);
	q2 = check_load(f, what, at);
	if (q1 != q2)
		fail_msg("%s at byte %zu: quarantine %zu, then %zu after a restart", what, at, q1,
			 q2);
}

static void test_damage_every_bit_flip(void **state)
{
	struct dfx *f = *state;
	unsigned char *seg = malloc(f->size);
	size_t at;
	int bit;

	for (at = 0; at < f->size; at += vg_stride())
		for (bit = 0; bit < 8; bit++) {
			memcpy(seg, f->seg, f->size);
			seg[at] ^= (unsigned char)(1u << bit);
			try_damaged(f, seg, "bit flip", at);
		}
	print_message("%zu bytes, %zu bit flips: %lu loads, %lu refused (header), %lu with damage "
		      "named, %lu with grants in quarantine\n",
		      f->size, f->size * 8, f->opens, f->refused, f->corrupt, f->quarantined);
	assert_damage_named(f);
	free(seg);
}

static void test_damage_every_4_byte_overwrite(void **state)
{
	static const uint32_t values[] = {0x00000000u, 0xffffffffu, 0x5a5a5a5au, 0x7b227479u};
	struct dfx *f = *state;
	unsigned char *seg = malloc(f->size);
	size_t at, v;

	for (v = 0; v < sizeof(values) / sizeof(values[0]); v++)
		for (at = 0; at + 4 <= f->size; at += vg_stride()) {
			memcpy(seg, f->seg, f->size);
			memcpy(seg + at, &values[v], 4);
			if (memcmp(seg, f->seg, f->size) == 0)
				continue; /* the same bytes: no damage */
			try_damaged(f, seg, "4-byte overwrite", at);
		}
	print_message("%zu bytes, 4 values: %lu loads, %lu refused (header), %lu with damage "
		      "named, %lu with grants in quarantine\n",
		      f->size, f->opens, f->refused, f->corrupt, f->quarantined);
	assert_damage_named(f);
	free(seg);
}

static void write_file(const char *dir, const char *name, const void *p, size_t n)
{
	char path[128];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fp = fopen(path, "wb");
	assert_non_null(fp);
	assert_int_equal(fwrite(p, 1, n, fp), n);
	fclose(fp);
}

/* The quarantine file as psmd writes it: one journal frame (length, CRC32C, JSON). */
static void write_framed(const char *dir, const char *json)
{
	size_t n = strlen(json);
	unsigned char *d = malloc(FRAME_HDR_SIZE + n);

	assert_non_null(d);
	frame_put_u32(d, (uint32_t)n);
	frame_put_u32(d + 4, frame_crc(d, json, n));
	memcpy(d + FRAME_HDR_SIZE, json, n);
	write_file(dir, "quarantine", d, FRAME_HDR_SIZE + n);
	free(d);
}

static unsigned char *read_file(const char *dir, const char *name, size_t *n)
{
	char path[128];
	unsigned char *d = malloc(1 << 16);
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fp = fopen(path, "rb");
	assert_non_null(fp);
	*n = fread(d, 1, 1 << 16, fp);
	fclose(fp);
	return d;
}

/* Every single-bit flip of the quarantine file (a digit of an expiry among them) stops the
 * load with a message naming the file: nothing in it changes unnoticed. */
static void test_damage_quarantine_checksum(void **state)
{
	struct dfx *f = *state;
	struct journal_report rep;
	struct state *st = NULL;
	struct journal *j = NULL;
	struct psm_err e = {0};
	unsigned char *seg = malloc(f->size), *q;
	size_t n, i;

	memcpy(seg, f->seg, f->size);
	seg[f->size - 3] ^= 1;
	try_damaged(f, seg, "bit flip", f->size - 3);
	q = read_file(f->dir, "quarantine", &n);
	for (i = 0; i < n * 8; i++) {
		q[i / 8] ^= (unsigned char)(1u << (i % 8));
		write_file(f->dir, "quarantine", q, n);
		q[i / 8] ^= (unsigned char)(1u << (i % 8));
		if (journal_open(&j, f->dir, FX_NOW, &st, &rep, &e) == PSM_OK)
			fail_msg("quarantine: bit %zu flipped, and the load went on", i);
		assert_int_equal(e.code, PSM_EUNAVAIL);
		assert_non_null(strstr(e.msg, "quarantine: "));
	}
	write_file(f->dir, "quarantine", q, n);
	assert_int_equal(journal_open(&j, f->dir, FX_NOW, &st, &rep, &e), PSM_OK);
	assert_int_equal(journal_recovery(j)->ngrants, 4);
	journal_close(j);
	state_free(st);
	free(q);
	free(seg);
}

/* The quarantine file rules the load: its grants stay out even when the journal holds them
 * intact; a damaged file stops the load rather than forget what it holds. */
static void test_damage_quarantine_file(void **state)
{
	struct dfx *f = *state;
	struct journal_report rep;
	struct state *st = NULL;
	struct journal *j = NULL;
	struct psm_err e = {0};
	unsigned char *seg = malloc(f->size);
	size_t at = f->size - 3; /* inside the last record, revoke(G3) */

	memcpy(seg, f->seg, f->size);
	seg[at] ^= 1;
	try_damaged(f, seg, "bit flip", at); /* G0 G2 G3 G4 in quarantine, the file written */
	write_file(f->dir, "journal.000001", f->seg, f->size); /* the journal intact again */
	assert_int_equal(journal_open(&j, f->dir, FX_NOW, &st, &rep, &e), PSM_OK);
	/* G0 G2 G4 stay out; G3, whose revoke the intact journal holds, leaves the quarantine */
	assert_int_equal(journal_recovery(j)->ngrants, 3);
	assert_int_equal(journal_recovery(j)->ndamage, 1);
	assert_null(state_grant(st, f->ids[0]));
	assert_true(in_quarantine(j, f->ids[4]));
	assert_false(in_quarantine(j, f->ids[3]));
	assert_null(state_grant(st, f->ids[3]));
	journal_close(j);
	state_free(st);
	write_framed(f->dir, "{\"damage\":[],\"grants\":[{}]}");
	assert_int_equal(journal_open(&j, f->dir, FX_NOW, &st, &rep, &e), PSM_EUNAVAIL);
	assert_non_null(strstr(e.msg, "quarantine: grants: "));
	write_framed(f->dir, "{");
	assert_int_equal(journal_open(&j, f->dir, FX_NOW, &st, &rep, &e), PSM_EUNAVAIL);
	assert_non_null(strstr(e.msg, "quarantine: not JSON"));
	write_file(f->dir, "quarantine", "{\"damage\":[],\"grants\":[]}", 26); /* no frame */
	assert_int_equal(journal_open(&j, f->dir, FX_NOW, &st, &rep, &e), PSM_EUNAVAIL);
	assert_non_null(strstr(e.msg, "quarantine: "));
	free(seg);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, dfx_setup, dfx_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_damage_every_bit_flip),
	    T(test_damage_every_4_byte_overwrite),
	    T(test_damage_quarantine_file),
	    T(test_damage_quarantine_checksum),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
