/* SPDX-License-Identifier: MIT */
/* test_eval_pread.c - a decision on a pread view (as pam_psm makes it): which preads it makes,
 * and that the ones it saves never cost a right answer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <fcntl.h>
#include <sys/syscall.h>

#include <cmocka.h>

#include "eval_fixture.h"
#include "shm_format.h"

/*
 * Every pread of the code under test is this one (the libraries are linked statically into
 * this program, so the executable's definition is the one they call): counted, then made
 * as a system call.
 */
static unsigned npread;

ssize_t pread(int fd, void *buf, size_t n, off_t off)
{
	npread++;
	return (ssize_t)syscall(SYS_pread64, fd, buf, n, off);
}

static int64_t now;

/* Opens f's table as pam_psm does (SHM_VIEW_PREAD) into v. */
static void open_pread(struct fx *f, struct shm_view *v)
{
	struct psm_err e = {0};

	if (shm_view_open_flags(v, f->name, SHM_VIEW_PREAD, &e) != PSM_OK)
		fail_msg("open %s: %s", f->name, e.msg);
}

/* Decides perm for root (uid/gid 0) on v; *reads is the number of preads it made. */
static int decide(struct shm_view *v, const char *perm, unsigned *reads, struct eval_out *out)
{
	struct eval_req r = {
	    .user = "root", .uid = 0, .gid = 0, .perm = perm, .audit = SHM_U32_NONE, .now = now};
	struct psm_err e = {0};

	npread = 0;
	if (eval_check(v, &r, out, &e) != PSM_OK)
		fail_msg("eval_check %s: %s", perm, e.msg);
	*reads = npread;
	return out->decision;
}

/* root's grant, and a group deny that does not match sudo:run but makes the groups matter. */
static void table_user_and_group(struct fx *f)
{
	fx_table(f, {.kind = SHM_GRANT, .key = "root", .pattern = "sudo:run"},
		 {.kind = SHM_DENY,
		  .flags = SHM_FL_GROUP,
		  .key = "%0",
		  .principal = "%root",
		  .pattern = "sudo:cmd:*",
		  .rule = 1});
}

/*
 * A decision that reads the user's and a group's records, on a freshly opened view: the
 * user's bucket, one window of records (which also holds the group's), the group's bucket
 * and seq at the end.  The counters come with the header read at open, the group's record
 * from the window: four preads (six before either).
 */
static void test_group_decision_reads(void **state)
{
	struct fx f;
	struct shm_view v;
	struct eval_out out;
	unsigned reads;

	(void)state;
	table_user_and_group(&f);
	open_pread(&f, &v);
	assert_int_equal(decide(&v, "sudo:run", &reads, &out), EVAL_ALLOW);
	assert_true(out.groups_resolved);
	assert_int_equal(reads, 4);
	assert_int_equal(decide(&v, "sudo:cmd:/bin/sh", &reads, &out), EVAL_DENY);
	assert_int_equal(out.reason, EVAL_R_DENY_RULE);
	shm_view_close(&v);
	fx_end(&f);
}

/*
 * A key's chain runs from its newest record down to older ones: a window centred on the
 * first record also holds one written ~1 KB before it (ten other keys' records between), and
 * a group record written after it.  Neither costs a read of its own: bucket, window, the
 * group's bucket, seq.
 */
static void test_window_holds_both_sides(void **state)
{
	char keys[10][16];
	struct fx f;
	struct shm_view v;
	struct eval_out out;
	unsigned reads;
	int i;

	(void)state;
	fx_begin(&f);
	fx_add(&f, &(struct fx_rec){.kind = SHM_GRANT, .key = "root", .pattern = "web:a"});
	for (i = 0; i < 10; i++) {
		snprintf(keys[i], sizeof(keys[i]), "u%d", i);
		fx_add(&f, &(struct fx_rec){.kind = SHM_GRANT, .key = keys[i], .pattern = "web:*"});
	}
	fx_add(&f, &(struct fx_rec){.kind = SHM_GRANT, .key = "root", .pattern = "web:b"});
	fx_add(&f, &(struct fx_rec){.kind = SHM_DENY,
				    .flags = SHM_FL_GROUP,
				    .key = "%0",
				    .principal = "%root",
				    .pattern = "web:c",
				    .rule = 1});
	fx_publish(&f);
	open_pread(&f, &v);
	assert_int_equal(decide(&v, "web:a", &reads, &out), EVAL_ALLOW);
	assert_true(out.groups_resolved);
	assert_int_equal(reads, 4);
	shm_view_close(&v);
	fx_end(&f);
}

/*
 * A commit after the view was opened: the first attempt, on the counters read at open (no
 * group record then), is refused by the seq check, and the retry must read the counters
 * again: with the open ones it would skip the group deny committed meanwhile.
 */
static void test_commit_since_open_rereads_counters(void **state)
{
	struct fx f;
	struct shm_view v;
	struct eval_out out;
	unsigned reads;

	(void)state;
	fx_table(&f, {.kind = SHM_GRANT, .key = "root", .pattern = "sudo:run"});
	open_pread(&f, &v);
	shm_writer_begin(f.w);
	fx_add(&f, &(struct fx_rec){.kind = SHM_DENY,
				    .flags = SHM_FL_GROUP,
				    .key = "%0",
				    .principal = "%root",
				    .pattern = "sudo:*",
				    .rule = 2});
	shm_writer_commit(f.w);
	assert_int_equal(decide(&v, "sudo:run", &reads, &out), EVAL_DENY);
	assert_int_equal(out.reason, EVAL_R_DENY_RULE);
	assert_int_equal(out.entry.rule, 2);
	shm_view_close(&v);
	fx_end(&f);
}

/* Rewrites the published counter block of f's table with seq field s (and a good crc). */
static void set_counters_seq(struct fx *f, uint64_t s)
{
	struct shm_mut m;
	char path[128];
	int fd;

	snprintf(path, sizeof(path), "/dev/shm%s", f->name);
	fd = open(path, O_RDWR | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &m, sizeof(m), offsetof(struct shm_hdr, mut)), sizeof(m));
	m.seq = s;
	m.crc = shm_mut_crc(&m);
	assert_int_equal(pwrite(fd, &m, sizeof(m), offsetof(struct shm_hdr, mut)), sizeof(m));
	close(fd);
}

/*
 * Counters read at open whose seq field is not the seq read with them (a copy from before
 * or after another commit) are not used: the decision reads them again, one pread more, and
 * decides the same.
 */
static void test_counters_of_another_seq_are_read_again(void **state)
{
	struct fx f;
	struct shm_view v;
	struct eval_out out;
	unsigned good, reads;
	uint64_t seq;

	(void)state;
	table_user_and_group(&f);
	open_pread(&f, &v);
	seq = v.open_seq;
	assert_int_equal(decide(&v, "sudo:run", &good, &out), EVAL_ALLOW);
	shm_view_close(&v);
	set_counters_seq(&f, seq - 2);
	open_pread(&f, &v);
	assert_false(v.open_ctr_ok);
	assert_int_equal(decide(&v, "sudo:run", &reads, &out), EVAL_ALLOW);
	assert_true(out.groups_resolved);
	assert_int_equal(reads, good + 1);
	shm_view_close(&v);
	fx_end(&f);
}

/* The writer stamps each counter block with the seq it publishes it with. */
static void test_counters_carry_their_seq(void **state)
{
	struct fx f;
	struct shm_view v;
	struct shm_mut m;
	char path[128];
	int fd;

	(void)state;
	table_user_and_group(&f);
	shm_writer_heartbeat(f.w, now);
	open_pread(&f, &v);
	assert_true(v.open_ctr_ok);
	assert_int_equal(v.open_ctr.heartbeat, now);
	snprintf(path, sizeof(path), "/dev/shm%s", f.name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &m, sizeof(m), offsetof(struct shm_hdr, mut)), sizeof(m));
	close(fd);
	assert_int_equal(m.seq, v.open_seq);
	assert_int_equal(m.seq & 1, 0);
	shm_view_close(&v);
	fx_end(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_group_decision_reads),
	    cmocka_unit_test(test_window_holds_both_sides),
	    cmocka_unit_test(test_commit_since_open_rereads_counters),
	    cmocka_unit_test(test_counters_of_another_seq_are_read_again),
	    cmocka_unit_test(test_counters_carry_their_seq),
	};

	now = (int64_t)time(NULL);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
