/* SPDX-License-Identifier: MIT */
/* test_journal.c - journal and snapshots: group commit, reload, torn tails, corruption, modes. */
#include <setjmp.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "journal.h"
#include "plural.h"
#include "record_fixture.h"
#include "frame.h"

struct fx {
	char dir[64];
	char path[128];
};

static int fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	snprintf(f->dir, sizeof(f->dir), "/tmp/psm-test-%d-XXXXXX", (int)getpid());
	if (mkdtemp(f->dir) == NULL)
		return -1;
	/* the journal makes state_dir itself: use a child that does not exist yet */
	strcat(f->dir, "/state");
	*state = f;
	return 0;
}

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static int fx_teardown(void **state)
{
	struct fx *f = *state;
	char *slash = strrchr(f->dir, '/');

	*slash = '\0';
	nftw(f->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

static const char *fx_path(struct fx *f, const char *name)
{
	snprintf(f->path, sizeof(f->path), "%s/%s", f->dir, name);
	return f->path;
}

static struct journal *open_ok(struct fx *f, int64_t now, struct state **st,
			       struct journal_report *rep)
{
	struct journal *j = NULL;
	struct psm_err e = {0};

	if (journal_open(&j, f->dir, now, st, rep, &e) != PSM_OK)
		fail_msg("journal_open: %s", e.msg);
	return j;
}

/* Appends n fresh grants (not committed); their ids go to ids when not NULL. */
static void append_grants(struct journal *j, struct state *st, int n, uint8_t (*ids)[ID_BYTES])
{
	struct record r;
	int i;

	for (i = 0; i < n; i++) {
		fx_grant(&r, "alice", "sudo:run", (uint64_t)i + 1, FX_NOW + 3600);
		if (ids != NULL)
			memcpy(ids[i], r.u.grant.id, ID_BYTES);
		assert_int_equal(journal_append(j, &r, NULL), PSM_OK);
		if (st != NULL)
			assert_int_equal(state_apply(st, &r, FX_NOW, NULL, NULL), PSM_OK);
		record_free(&r);
	}
}

static size_t grants_of(const struct state *st)
{
	struct state_counts c;

	state_counts(st, &c);
	return c.grants;
}

static off_t file_size(struct fx *f, const char *name)
{
	struct stat sb;

	assert_int_equal(stat(fx_path(f, name), &sb), 0);
	return sb.st_size;
}

static unsigned char *read_all(struct fx *f, const char *name, size_t *n)
{
	FILE *fp = fopen(fx_path(f, name), "rb");
	unsigned char *p = malloc(1 << 22);

	assert_non_null(fp);
	*n = fread(p, 1, 1 << 22, fp);
	fclose(fp);
	return p;
}

static void write_all_file(struct fx *f, const char *name, const unsigned char *p, size_t n)
{
	FILE *fp = fopen(fx_path(f, name), "wb");

	assert_non_null(fp);
	assert_int_equal(fwrite(p, 1, n, fp), n);
	fclose(fp);
}

static void flip_byte(struct fx *f, const char *name, long off)
{
	size_t n;
	unsigned char *p = read_all(f, name, &n);

	assert_true((size_t)off < n);
	p[off] ^= 0x10;
	write_all_file(f, name, p, n);
	free(p);
}

static void test_journal_fresh_dir_and_modes(void **state)
{
	struct fx *f = *state;
	struct journal_report rep;
	struct state *st = NULL;
	struct journal *j = open_ok(f, FX_NOW, &st, &rep);
	struct stat sb;
	static const char *files[] = {"journal.000001", "journal.000002", "snapshot.000002",
				      "lock"};
	size_t i;

	(void)state;
	assert_int_equal(grants_of(st), 0);
	assert_string_equal(rep.snapshot, "");
	append_grants(j, st, 3, NULL);
	assert_int_equal(journal_commit(j, NULL, NULL), PSM_OK);
	assert_int_equal(journal_snapshot(j, st, NULL), PSM_OK);
	assert_int_equal(stat(f->dir, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0700);
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		assert_int_equal(stat(fx_path(f, files[i]), &sb), 0);
		if ((sb.st_mode & 07777) != 0600)
			fail_msg("%s: mode %o", files[i], sb.st_mode & 07777);
	}
	journal_close(j);
	state_free(st);
}

static void test_journal_append_commit_reload(void **state)
{
	struct fx *f = *state;
	struct journal_report rep;
	struct state *st = NULL;
	struct journal *j = open_ok(f, FX_NOW, &st, &rep);
	uint8_t ids[3][ID_BYTES];
	struct record t;
	char line[512];

	append_grants(j, st, 3, ids);
	fx_tomb(&t, REC_REVOKE, ids[1], 100, FX_NOW + 3600);
	assert_int_equal(journal_append(j, &t, NULL), PSM_OK);
	record_free(&t);
	assert_int_equal(journal_pending(j), 4);
	assert_int_equal(journal_commit(j, NULL, NULL), PSM_OK);
	assert_int_equal(journal_pending(j), 0);
	append_grants(j, NULL, 2, NULL); /* never committed: gone after close */
	journal_close(j);
	state_free(st);

	j = open_ok(f, FX_NOW, &st, &rep);
	assert_int_equal(rep.journal_records, 4);
	assert_int_equal(rep.segments, 1);
	assert_int_equal(grants_of(st), 2);
	assert_non_null(state_grant(st, ids[0]));
	assert_null(state_grant(st, ids[1]));
	assert_non_null(state_tomb(st, REC_REVOKE, ids[1]));
	assert_string_equal(rep.torn, "");
	journal_report_format(&rep, line, sizeof(line));
	assert_non_null(strstr(line, "no snapshot (0 records) + 1 journal segment (4 records)"));
	journal_close(j);
	state_free(st);
}

static void test_journal_group_commit_1000(void **state)
{
	struct fx *f = *state;
	struct journal_report rep;
	struct state *st = NULL;
	struct journal *j = open_ok(f, FX_NOW, &st, &rep);
	struct journal_info info;
	off_t before = file_size(f, "journal.000001");

	append_grants(j, NULL, 1000, NULL);
	assert_int_equal(file_size(f, "journal.000001"), before); /* nothing written yet */
	assert_int_equal(journal_commit(j, NULL, NULL), PSM_OK);
	journal_info(j, &info);
	assert_int_equal(info.commits, 1);
	assert_int_equal(info.records, 1000);
	assert_int_equal(info.segment_bytes, (uint64_t)file_size(f, "journal.000001"));
	assert_int_equal(journal_commit(j, NULL, NULL), PSM_OK); /* empty: no-op */
	journal_info(j, &info);
	assert_int_equal(info.commits, 1);
	journal_close(j);
	state_free(st);
	j = open_ok(f, FX_NOW, &st, &rep);
	assert_int_equal(grants_of(st), 1000);
	journal_close(j);
	state_free(st);
}

/* Writes 3 records and returns the journal bytes and where the last record starts. */
static unsigned char *three_records(struct fx *f, size_t *n, size_t *last_off)
{
	struct journal_report rep;
	struct state *st = NULL;
	struct journal *j = open_ok(f, FX_NOW, &st, &rep);
	struct journal_info info;

	append_grants(j, NULL, 2, NULL);
	assert_int_equal(journal_commit(j, NULL, NULL), PSM_OK);
	journal_info(j, &info);
	*last_off = info.segment_bytes;
	append_grants(j, NULL, 1, NULL);
	assert_int_equal(journal_commit(j, NULL, NULL), PSM_OK);
	journal_close(j);
	state_free(st);
	return read_all(f, "journal.000001", n);
}

static void test_journal_torn_tail_every_length(void **state)
{
	struct fx *f = *state;
	size_t n, last, cut;
	unsigned char *full = three_records(f, &n, &last);
	char want[160];

	for (cut = last; cut < n; cut++) {
		struct journal_report rep;
		struct state *st = NULL;
		struct journal *j;

		write_all_file(f, "journal.000001", full, cut);
		j = open_ok(f, FX_NOW, &st, &rep);
		assert_int_equal(grants_of(st), 2);
		assert_int_equal(file_size(f, "journal.000001"), (off_t)last);
		if (cut == last) {
			assert_string_equal(rep.torn, ""); /* a clean end, nothing torn */
		} else {
			snprintf(want, sizeof(want), "journal.000001: torn tail at byte %zu", last);
			assert_non_null(strstr(rep.torn, want));
			snprintf(
			    want, sizeof(want), ", %zu %s dropped", cut - last,
			    plural(cut - last, "byte", "bytes")); /* "1 byte" at the first cut */
			assert_non_null(strstr(rep.torn, want));
			assert_int_equal(rep.torn_bytes, cut - last);
		}
		/* appending after the repair works and survives another reload */
		append_grants(j, NULL, 1, NULL);
		assert_int_equal(journal_commit(j, NULL, NULL), PSM_OK);
		journal_close(j);
		state_free(st);
		j = open_ok(f, FX_NOW, &st, &rep);
		assert_int_equal(grants_of(st), 3);
		assert_string_equal(rep.torn, "");
		journal_close(j);
		state_free(st);
	}
	free(full);
}

/* Damage to a whole record at the end is corruption, not a torn tail: nothing after it proves
 * the earlier grants were not revoked there, so they go to quarantine (also after a restart)
 * until a decision, a snapshot and journal_recovery_done(). */
static void test_journal_bit_flip_in_last_segment(void **state)
{
	struct fx *f = *state;
	size_t n, last;
	unsigned char *full = three_records(f, &n, &last);
	struct journal_report rep;
	struct state *st = NULL;
	struct journal *j;
	char want[96];
	int round;

	free(full);
	flip_byte(f, "journal.000001", (long)last + 40); /* inside the third record's JSON */
	for (round = 0; round < 2; round++) {		 /* the same after a restart */
		j = open_ok(f, FX_NOW, &st, &rep);
		assert_int_equal(grants_of(st), 0);
		assert_int_equal(journal_recovery(j)->ngrants, 2);
		assert_int_equal(journal_recovery(j)->ndamage, 1);
		snprintf(want, sizeof(want),
			 "journal.000001: bytes %zu-%zu unreadable (bad checksum)", last, n - 1);
		assert_non_null(strstr(journal_recovery(j)->damage[0], want));
		assert_string_equal(rep.torn, "");
		assert_int_equal(rep.corrupt, 1);
		assert_int_equal(rep.quarantined, 2);
		assert_int_equal(file_size(f, "journal.000001"), (off_t)n); /* not cut */
		assert_int_equal(file_size(f, "journal.000001.corrupt"), (off_t)n);
		if (round == 1)
			break;
		journal_close(j);
		state_free(st);
	}
	/* the decision: here, nothing put back; a snapshot, then the quarantine ends */
	assert_int_equal(journal_snapshot(j, st, NULL), PSM_OK);
	assert_int_equal(journal_recovery_done(j, NULL), PSM_OK);
	assert_int_equal(journal_recovery(j)->ngrants, 0);
	journal_close(j);
	state_free(st);
	j = open_ok(f, FX_NOW, &st, &rep);
	assert_int_equal(journal_recovery(j)->ngrants + journal_recovery(j)->ndamage, 0);
	assert_int_equal(grants_of(st), 0);
	journal_close(j);
	state_free(st);
}

static void test_journal_bit_flip_in_older_segment(void **state)
{
	struct fx *f = *state;
	struct journal_report rep;
	struct state *st = NULL;
	struct journal *j = NULL;

	j = open_ok(f, FX_NOW, &st, &rep);
	append_grants(j, st, 3, NULL);
	assert_int_equal(journal_commit(j, NULL, NULL), PSM_OK);
	/* a snapshot starts segment 2; segment 1 stays (no previous snapshot yet) */
	assert_int_equal(journal_snapshot(j, st, NULL), PSM_OK);
	append_grants(j, st, 1, NULL);
	assert_int_equal(journal_commit(j, NULL, NULL), PSM_OK);
	journal_close(j);
	state_free(st);
	/* damage segment 1: the snapshot covers it, so the load does not care */
	flip_byte(f, "journal.000001", JOURNAL_HDR_SIZE + 30);
	j = open_ok(f, FX_NOW, &st, &rep);
	assert_int_equal(grants_of(st), 4);
	assert_int_equal(rep.corrupt, 0);
	journal_close(j);
	state_free(st);
	/* without the snapshot, segment 1's first record is lost and named; the load resyncs
	 * on the second, and every grant left has a record after the damage: no quarantine */
	assert_int_equal(unlink(fx_path(f, "snapshot.000002")), 0);
	j = open_ok(f, FX_NOW, &st, &rep);
	assert_int_equal(grants_of(st), 3);
	assert_int_equal(rep.corrupt, 1);
	assert_int_equal(journal_recovery(j)->ngrants, 0);
	assert_non_null(strstr(journal_recovery(j)->damage[0], "journal.000001: bytes 16-"));
	assert_non_null(strstr(journal_recovery(j)->damage[0], "(bad checksum)"));
	journal_close(j);
	state_free(st);
}

static void test_journal_corrupt_newest_snapshot(void **state)
{
	struct fx *f = *state;
	struct journal_report rep;
	struct state *st = NULL;
	struct journal *j = open_ok(f, FX_NOW, &st, &rep);
	uint8_t a[2][ID_BYTES], b[2][ID_BYTES], c[2][ID_BYTES];
	struct stat sb;

	append_grants(j, st, 2, a);
	assert_int_equal(journal_snapshot(j, st, NULL), PSM_OK); /* snapshot.000002 */
	append_grants(j, st, 2, b);
	assert_int_equal(journal_snapshot(j, st, NULL), PSM_OK); /* snapshot.000003 */
	append_grants(j, st, 2, c);
	assert_int_equal(journal_commit(j, NULL, NULL), PSM_OK);
	journal_close(j);
	state_free(st);

	flip_byte(f, "snapshot.000003", SNAPSHOT_HDR_SIZE + 50);
	j = open_ok(f, FX_NOW, &st, &rep);
	assert_string_equal(rep.snapshot, "snapshot.000002");
	assert_non_null(strstr(rep.fallback, "snapshot.000003: bad checksum at byte 24"));
	assert_int_equal(rep.segments, 2); /* journal.000002 and journal.000003 */
	assert_int_equal(grants_of(st), 6);
	assert_non_null(state_grant(st, a[0]));
	assert_non_null(state_grant(st, b[1]));
	assert_non_null(state_grant(st, c[1]));
	assert_int_equal(stat(fx_path(f, "snapshot.000003.corrupt"), &sb), 0);
	journal_close(j);
	state_free(st);
}

static void test_journal_snapshot_then_appends(void **state)
{
	struct fx *f = *state;
	struct journal_report rep;
	struct state *st = NULL;
	struct journal *j = open_ok(f, FX_NOW, &st, &rep);
	uint8_t ids[5][ID_BYTES];
	struct record t, sess;
	char *before, *after;
	cJSON *doc;

	append_grants(j, st, 5, ids);
	fx_session(&sess, "alice", 50, FX_NOW + 60);
	assert_int_equal(journal_append(j, &sess, NULL), PSM_OK);
	assert_int_equal(state_apply(st, &sess, FX_NOW, NULL, NULL), PSM_OK);
	fx_tomb(&t, REC_REVOKE, ids[0], 60, REC_NOT_AFTER_NONE);
	assert_int_equal(journal_append(j, &t, NULL), PSM_OK);
	assert_int_equal(state_apply(st, &t, FX_NOW, NULL, NULL), PSM_OK);
	assert_int_equal(journal_snapshot(j, st, NULL), PSM_OK);
	append_grants(j, st, 2, NULL);
	fx_tomb(&t, REC_REVOKE, ids[1], 61, FX_NOW + 3600);
	assert_int_equal(journal_append(j, &t, NULL), PSM_OK);
	assert_int_equal(state_apply(st, &t, FX_NOW, NULL, NULL), PSM_OK);
	assert_int_equal(journal_commit(j, NULL, NULL), PSM_OK);
	assert_int_equal(state_export(st, &doc, NULL), PSM_OK);
	before = cJSON_PrintUnformatted(doc);
	cJSON_Delete(doc);
	journal_close(j);
	state_free(st);

	j = open_ok(f, FX_NOW, &st, &rep);
	assert_string_equal(rep.snapshot, "snapshot.000002");
	assert_int_equal(rep.snapshot_records, 6); /* 4 grants, 1 session, 1 tombstone */
	assert_int_equal(rep.journal_records, 3);
	assert_int_equal(state_export(st, &doc, NULL), PSM_OK);
	after = cJSON_PrintUnformatted(doc);
	cJSON_Delete(doc);
	assert_string_equal(before, after);
	assert_non_null(state_tomb(st, REC_REVOKE, ids[0])); /* tombstones are in snapshots */
	free(before);
	free(after);
	journal_close(j);
	state_free(st);
}

static void test_journal_prunes_old_files(void **state)
{
	struct fx *f = *state;
	struct journal_report rep;
	struct state *st = NULL;
	struct journal *j = open_ok(f, FX_NOW, &st, &rep);
	struct stat sb;
	int i;

	for (i = 0; i < 4; i++) {
		append_grants(j, st, 1, NULL);
		assert_int_equal(journal_snapshot(j, st, NULL), PSM_OK); /* 2, 3, 4, 5 */
	}
	/* kept: the newest snapshot (5), the previous one (4) and segments from 4 on */
	assert_int_equal(stat(fx_path(f, "snapshot.000005"), &sb), 0);
	assert_int_equal(stat(fx_path(f, "snapshot.000004"), &sb), 0);
	assert_int_equal(stat(fx_path(f, "journal.000004"), &sb), 0);
	assert_int_equal(stat(fx_path(f, "journal.000005"), &sb), 0);
	assert_int_not_equal(stat(fx_path(f, "snapshot.000003"), &sb), 0);
	assert_int_not_equal(stat(fx_path(f, "journal.000003"), &sb), 0);
	assert_int_not_equal(stat(fx_path(f, "journal.000001"), &sb), 0);
	journal_close(j);
	state_free(st);
	j = open_ok(f, FX_NOW, &st, &rep);
	assert_int_equal(grants_of(st), 4);
	journal_close(j);
	state_free(st);
}

static void test_journal_expired_dropped_on_load(void **state)
{
	struct fx *f = *state;
	struct journal_report rep;
	struct state *st = NULL;
	struct journal *j = open_ok(f, FX_NOW, &st, &rep);
	struct record r;

	fx_grant(&r, "alice", "sudo:run", 1, FX_NOW + 10);
	assert_int_equal(journal_append(j, &r, NULL), PSM_OK);
	record_free(&r);
	fx_grant(&r, "alice", "sudo:run", 2, FX_NOW + 1000);
	assert_int_equal(journal_append(j, &r, NULL), PSM_OK);
	record_free(&r);
	assert_int_equal(journal_commit(j, NULL, NULL), PSM_OK);
	journal_close(j);
	state_free(st);
	j = open_ok(f, FX_NOW + 20, &st, &rep);
	assert_int_equal(grants_of(st), 1);
	assert_int_equal(rep.dropped, 1);
	journal_close(j);
	state_free(st);
}

static void test_journal_locked_dir(void **state)
{
	struct fx *f = *state;
	struct journal_report rep;
	struct state *st = NULL, *st2 = NULL;
	struct journal *j = open_ok(f, FX_NOW, &st, &rep), *j2 = NULL;
	struct psm_err e = {0};

	assert_int_equal(journal_open(&j2, f->dir, FX_NOW, &st2, &rep, &e), PSM_EEXIST);
	assert_non_null(strstr(e.msg, "in use by another psmd"));
	journal_close(j);
	state_free(st);
	j = open_ok(f, FX_NOW, &st, &rep); /* the lock went with the close */
	journal_close(j);
	state_free(st);
}

static void test_journal_missing_segment_and_bad_files(void **state)
{
	struct fx *f = *state;
	struct journal_report rep;
	struct state *st = NULL;
	struct journal *j = open_ok(f, FX_NOW, &st, &rep);
	struct psm_err e = {0};
	static const unsigned char junk[] = "NOTAJOURNAL-----garbage";

	append_grants(j, st, 1, NULL);
	assert_int_equal(journal_snapshot(j, st, NULL), PSM_OK); /* seg 2 */
	assert_int_equal(journal_snapshot(j, st, NULL), PSM_OK); /* seg 3 */
	append_grants(j, st, 1, NULL);
	assert_int_equal(journal_commit(j, NULL, NULL), PSM_OK);
	journal_close(j);
	state_free(st);
	/* newest snapshot gone, and the segment after the previous one too: a gap */
	assert_int_equal(unlink(fx_path(f, "snapshot.000003")), 0);
	assert_int_equal(unlink(fx_path(f, "journal.000002")), 0);
	assert_int_equal(journal_open(&j, f->dir, FX_NOW, &st, &rep, &e), PSM_EUNAVAIL);
	assert_string_equal(e.msg, "journal.000002: missing (segments follow it)");
	/* a segment with a bad magic */
	write_all_file(f, "journal.000002", junk, sizeof(junk));
	assert_int_equal(journal_open(&j, f->dir, FX_NOW, &st, &rep, &e), PSM_EUNAVAIL);
	assert_string_equal(e.msg, "journal.000002: not a psm journal (bad magic)");
}

static void test_journal_torn_header_and_stale_tmp(void **state)
{
	struct fx *f = *state;
	struct journal_report rep;
	struct state *st = NULL;
	struct journal *j = open_ok(f, FX_NOW, &st, &rep);
	struct stat sb;

	append_grants(j, st, 2, NULL);
	assert_int_equal(journal_snapshot(j, st, NULL), PSM_OK); /* seg 2 starts */
	journal_close(j);
	state_free(st);
	/* journal.000002 cut inside its header, and a half-written snapshot.new */
	assert_int_equal(truncate(fx_path(f, "journal.000002"), 5), 0);
	write_all_file(f, "snapshot.new", (const unsigned char *)"PSMSNAP1", 8);
	j = open_ok(f, FX_NOW, &st, &rep);
	assert_int_equal(grants_of(st), 2);
	assert_non_null(strstr(rep.torn, "journal.000002: torn tail at byte 0"));
	assert_int_not_equal(stat(fx_path(f, "snapshot.new"), &sb), 0);
	append_grants(j, st, 1, NULL);
	assert_int_equal(journal_commit(j, NULL, NULL), PSM_OK);
	journal_close(j);
	state_free(st);
	j = open_ok(f, FX_NOW, &st, &rep);
	assert_int_equal(grants_of(st), 3);
	journal_close(j);
	state_free(st);
}

static void test_journal_frame_checks(void **state)
{
	struct frame_buf b = {0};
	const char *json, *why = NULL;
	size_t off = 0, len;

	(void)state;
	assert_int_equal(frame_put(&b, "{}", 2, NULL), PSM_OK);
	assert_int_equal(frame_put(&b, "", 0, NULL), PSM_EINVAL);
	assert_int_equal(b.len, FRAME_HDR_SIZE + 2);
	assert_int_equal(frame_next(b.p, b.len, &off, &json, &len, &why), 1);
	assert_int_equal(len, 2);
	assert_memory_equal(json, "{}", 2);
	assert_int_equal(frame_next(b.p, b.len, &off, &json, &len, &why), 0);
	/* a length past FRAME_REC_MAX is corruption, not a huge allocation */
	frame_put_u32(b.p, FRAME_REC_MAX + 1);
	off = 0;
	assert_int_equal(frame_next(b.p, b.len, &off, &json, &len, &why), -1);
	assert_string_equal(why, "bad record length");
	/* a corrupted length with the old checksum */
	frame_put_u32(b.p, 1);
	assert_int_equal(frame_next(b.p, b.len, &off, &json, &len, &why), -1);
	assert_string_equal(why, "bad checksum");
	frame_buf_free(&b);
}

static void test_journal_failed_commit(void **state)
{
	struct fx *f = *state;
	struct journal_report rep;
	struct state *st = NULL;
	struct journal *j = open_ok(f, FX_NOW, &st, &rep);
	struct journal_info info;
	struct psm_err e = {0};
	struct rlimit old, lim;
	struct record r;
	off_t committed;

	append_grants(j, NULL, 2, NULL);
	assert_int_equal(journal_commit(j, NULL, NULL), PSM_OK);
	committed = file_size(f, "journal.000001");
	/* the next write cannot go past the end of the file: EFBIG, not SIGXFSZ */
	signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = old;
	lim.rlim_cur = (rlim_t)committed + 100;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	append_grants(j, NULL, 5, NULL);
	assert_int_equal(journal_commit(j, NULL, &e), PSM_ESYS);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, SIG_DFL);
	assert_non_null(strstr(e.msg, "journal.000001: write"));
	assert_int_equal(file_size(f, "journal.000001"), committed); /* cut back */
	journal_info(j, &info);
	assert_false(info.broken); /* cut back: the journal goes on */
	assert_int_equal(journal_pending(j), 0);
	fx_grant(&r, "alice", "sudo:run", 1, FX_NOW + 60);
	assert_int_equal(journal_append(j, &r, NULL), PSM_OK); /* the disk took it again */
	record_free(&r);
	assert_int_equal(journal_commit(j, NULL, &e), PSM_OK);
	assert_true(file_size(f, "journal.000001") > committed);
	journal_close(j);
	state_free(st);
	j = open_ok(f, FX_NOW, &st, &rep);
	assert_int_equal(grants_of(st), 3); /* the 2, then the one after: none of the 5 */
	assert_string_equal(rep.torn, "");
	journal_close(j);
	state_free(st);
}

static void test_journal_invalid_record_is_an_error(void **state)
{
	struct fx *f = *state;
	struct journal_report rep;
	struct state *st = NULL;
	struct journal *j = open_ok(f, FX_NOW, &st, &rep);
	struct psm_err e = {0};
	const char *bad = "{\"type\":\"revoke\",\"grant_id\":\"x\"}";

	/* a well-framed record (good checksum) that is not a valid record */
	assert_int_equal(journal_append_json(j, bad, strlen(bad), NULL), PSM_OK);
	assert_int_equal(journal_commit(j, NULL, NULL), PSM_OK);
	journal_close(j);
	state_free(st);
	assert_int_equal(journal_open(&j, f->dir, FX_NOW, &st, &rep, &e), PSM_EUNAVAIL);
	assert_non_null(strstr(e.msg, "journal.000001: record at byte 16: grant_id: id \"x\""));
}

static uint64_t since_snapshot(const struct journal *j)
{
	struct journal_info ji;

	journal_info(j, &ji);
	return ji.records_since_snapshot;
}

/* No child of this process is left (running or unreaped). */
static void assert_no_children(void)
{
	errno = 0;
	assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
}

/* The child writes the state as it was at the start; what follows is in the new segment. */
static void test_journal_background_snapshot(void **state)
{
	struct fx *f = *state;
	struct journal_report rep;
	struct state *st = NULL;
	struct journal *j = open_ok(f, FX_NOW, &st, &rep);
	struct journal_info ji;
	struct psm_err e = {0};

	append_grants(j, st, 5, NULL);
	assert_int_equal(journal_snapshot_start(j, st, &e), PSM_OK);
	journal_info(j, &ji);
	assert_true(ji.snapshotting);
	assert_int_equal(ji.segment, 2);
	assert_int_equal(journal_snapshot_start(j, st, &e), PSM_EEXIST);
	append_grants(j, st, 2, NULL); /* after the fork: not in snapshot.000002 */
	assert_int_equal(journal_commit(j, NULL, NULL), PSM_OK);
	assert_int_equal(journal_snapshot_poll(j, true, &e), 1);
	assert_int_equal(journal_snapshot_poll(j, true, &e), 0);
	journal_info(j, &ji);
	assert_false(ji.snapshotting);
	assert_int_equal(ji.records_since_snapshot, 2);
	assert_no_children();
	journal_close(j);
	state_free(st);
	j = open_ok(f, FX_NOW, &st, &rep);
	assert_string_equal(rep.snapshot, "snapshot.000002");
	assert_int_equal(rep.snapshot_records, 5);
	assert_int_equal(rep.journal_records, 2);
	assert_int_equal(grants_of(st), 7);
	journal_close(j);
	state_free(st);
}

/* A child that fails says why; the snapshot is due again and nothing is lost. */
static void test_journal_background_snapshot_fails(void **state)
{
	struct fx *f = *state;
	struct journal_report rep;
	struct state *st = NULL;
	struct journal *j = open_ok(f, FX_NOW, &st, &rep);
	struct psm_err e = {0};

	append_grants(j, st, 3, NULL);
	assert_int_equal(mkdir(fx_path(f, "snapshot.new"), 0700), 0); /* in the way */
	assert_int_equal(journal_snapshot_start(j, st, &e), PSM_OK);
	assert_int_equal(since_snapshot(j), 0);
	assert_int_equal(journal_snapshot_poll(j, true, &e), -1);
	assert_non_null(strstr(e.msg, "snapshot.000002: snapshot.new: create:"));
	assert_int_equal(since_snapshot(j), 3);
	assert_int_equal(rmdir(fx_path(f, "snapshot.new")), 0);
	assert_int_equal(journal_snapshot_start(j, st, &e), PSM_OK);
	assert_int_equal(journal_snapshot_poll(j, true, &e), 1);
	assert_int_equal(since_snapshot(j), 0);
	journal_close(j);
	state_free(st);
	j = open_ok(f, FX_NOW, &st, &rep);
	assert_string_equal(rep.snapshot, "snapshot.000003");
	assert_int_equal(grants_of(st), 3);
	journal_close(j);
	state_free(st);
}

/* A snapshot in the foreground, or the close, ends a background one: no child is left. */
static void test_journal_background_snapshot_ended(void **state)
{
	struct fx *f = *state;
	struct journal_report rep;
	struct state *st = NULL;
	struct journal *j = open_ok(f, FX_NOW, &st, &rep);
	struct psm_err e = {0};

	append_grants(j, st, 300, NULL);
	assert_int_equal(journal_snapshot_start(j, st, &e), PSM_OK);
	append_grants(j, st, 1, NULL);
	assert_int_equal(journal_snapshot(j, st, &e), PSM_OK); /* snapshot.000003: all 301 */
	assert_no_children();
	assert_int_equal(journal_snapshot_poll(j, false, &e), 0);
	assert_int_equal(journal_snapshot_start(j, st, &e), PSM_OK);
	journal_close(j);
	assert_no_children();
	state_free(st);
	j = open_ok(f, FX_NOW, &st, &rep);
	assert_int_equal(grants_of(st), 301);
	journal_close(j);
	state_free(st);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_journal_fresh_dir_and_modes),
	    T(test_journal_append_commit_reload),
	    T(test_journal_group_commit_1000),
	    T(test_journal_torn_tail_every_length),
	    T(test_journal_bit_flip_in_last_segment),
	    T(test_journal_bit_flip_in_older_segment),
	    T(test_journal_corrupt_newest_snapshot),
	    T(test_journal_snapshot_then_appends),
	    T(test_journal_prunes_old_files),
	    T(test_journal_expired_dropped_on_load),
	    T(test_journal_locked_dir),
	    T(test_journal_missing_segment_and_bad_files),
	    T(test_journal_torn_header_and_stale_tmp),
	    T(test_journal_failed_commit),
	    T(test_journal_invalid_record_is_an_error),
	    T(test_journal_background_snapshot),
	    T(test_journal_background_snapshot_fails),
	    T(test_journal_background_snapshot_ended),
	    cmocka_unit_test(test_journal_frame_checks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
