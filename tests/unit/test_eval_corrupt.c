/* SPDX-License-Identifier: MIT */
/* test_eval_corrupt.c - corrupted or truncated tables: unavailable or the same decision, never
 * an allow the intact table would not give. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "eval_fixture.h"
#include "under_valgrind.h"
#include "perm.h"
#include "policy.h"

static const char corrupt_policy[] =
    "{ \"roles\": { \"ops\": [\"login:*\", \"sudo:run\"] },\n"
    "  \"bindings\": [ { \"group\": \"root\", \"roles\": [\"ops\"] },\n"
    "                { \"user\": \"nobody\", \"perms\": [\"login:*\"],\n"
    "                  \"from\": [\"10.0.0.0/8\"] },\n"
    "                { \"user\": \"root\", \"perms\": [\"db:*\"], \"from\": [\"LOCAL\"] } ],\n"
    "  \"deny\": [ { \"user\": \"root\", \"perms\": [\"sudo:cmd:*\"] },\n"
    "            { \"group\": \"root\", \"perms\": [\"sudo:cmd:/bin/sh\", \"web:*\"] } ],\n"
    "  \"services\": { \"sshd\": \"login:ssh\" },\n"
    "  \"break_glass\": { \"users\": [\"root\"] } }\n";

struct creq {
	const char *user;
	uid_t uid;
	const char *perm;
	const char *rhost;
};

static const struct creq creqs[] = {
    {"root", 0, "sudo:run", NULL},
    {"root", 0, "sudo:cmd:/bin/sh", NULL},
    {"root", 0, "login:ssh", "10.0.0.1"},
    {"root", 0, "db:read", NULL},
    {"root", 0, "db:read", "192.0.2.1"},
    {"root", 0, "web:x", NULL},
    {"nobody", 65534, "login:ssh", "10.1.2.3"},
    {"nobody", 65534, "login:ssh", "192.0.2.1"},
    {"nobody", 65534, "sudo:run", NULL},
};
#define NREQ (sizeof(creqs) / sizeof(creqs[0]))

struct answers {
	int decision[NREQ];
	char service[PERM_MAX + 1];
	int service_decision;
	bool bg_root, bg_nobody;
};

static int64_t now;
static unsigned long n_cases, n_open_failed, n_unavail, n_same;

/* sshd's permission and root's decision on it, in one read (as pam_psm decides). */
static int answer_service(const struct shm_view *v, struct answers *a)
{
	struct eval_req r = {.user = "root", .uid = 0, .gid = 0, .audit = SHM_U32_NONE, .now = now};
	struct eval_out out;
	int rc = eval_check_service(v, &r, "sshd", a->service, sizeof(a->service), &out, NULL);

	a->service_decision = out.decision;
	return rc;
}

/* Answers of the table behind v; PSM_EUNAVAIL when any read said so. */
static int answer(const struct shm_view *v, struct answers *a)
{
	struct eval_out out;
	size_t i;
	int rc;

	for (i = 0; i < NREQ; i++) {
		struct eval_req r = {.user = creqs[i].user,
				     .uid = creqs[i].uid,
				     .gid = creqs[i].uid,
				     .perm = creqs[i].perm,
				     .rhost = creqs[i].rhost,
				     .audit = SHM_U32_NONE,
				     .now = now};

		rc = eval_check(v, &r, &out, NULL);
		if (rc != PSM_OK)
			return rc;
		a->decision[i] = out.decision;
	}
	rc = answer_service(v, a);
	if (rc == PSM_OK)
		rc = eval_break_glass(v, "root", &a->bg_root, NULL);
	if (rc == PSM_OK)
		rc = eval_break_glass(v, "nobody", &a->bg_nobody, NULL);
	return rc;
}

#define OPEN_FAILED (-1)

/* The answers through a view opened with flags: PSM_OK, PSM_EUNAVAIL or OPEN_FAILED. */
static int answer_mode(const char *name, unsigned flags, struct answers *a)
{
	struct shm_view v;
	int rc = shm_view_open_flags(&v, name, flags, NULL);

	memset(a, 0, sizeof(*a));
	if (rc != PSM_OK) {
		assert_int_equal(rc, PSM_EUNAVAIL);
		return OPEN_FAILED;
	}
	rc = answer(&v, a);
	shm_view_close(&v);
	return rc;
}

/* One damaged object: a mapped view and a pread view (SHM_VIEW_PREAD, as pam_psm reads)
 * give the same result, and that is unavailable or the intact answers. */
static void check_case(const unsigned char *buf, size_t len, const struct answers *good)
{
	char name[64], path[96];
	struct answers a, a_pread;
	size_t i;
	int fd, rc, rc_pread;

	snprintf(name, sizeof(name), "/psm-test-%d-corrupt", (int)getpid());
	snprintf(path, sizeof(path), "/dev/shm%s", name);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, buf, len), (ssize_t)len);
	close(fd);
	n_cases++;
	rc = answer_mode(name, 0, &a);
	rc_pread = answer_mode(name, SHM_VIEW_PREAD, &a_pread);
	shm_unlink(name);
	assert_int_equal(rc, rc_pread);
	assert_memory_equal(&a, &a_pread, sizeof(a));
	if (rc == OPEN_FAILED) {
		n_open_failed++;
		return;
	}
	if (rc != PSM_OK) {
		assert_int_equal(rc, PSM_EUNAVAIL);
		n_unavail++;
		return;
	}
	for (i = 0; i < NREQ; i++)
		if (a.decision[i] != good->decision[i])
			fail_msg("request %zu: decision %d, intact %d", i, a.decision[i],
				 good->decision[i]);
	assert_string_equal(a.service, good->service);
	assert_int_equal(a.service_decision, good->service_decision);
	assert_int_equal(a.bg_root, good->bg_root);
	assert_int_equal(a.bg_nobody, good->bg_nobody);
	n_same++;
}

/* The intact table, its bytes and its answers. */
static unsigned char *intact(size_t *len, struct answers *good)
{
	struct fx f;
	struct policy *p = NULL;
	struct policy_compile_opts co = {.host_name = "testhost", .now = now};
	struct psm_err e = {0};
	struct shm_writer_opts o = {.capacity = 16, .host_name = "testhost"};
	char path[96];
	unsigned char *buf;
	struct stat st;
	int fd;

	snprintf(f.name, sizeof(f.name), "/psm-test-%d-intact", (int)getpid());
	o.name = f.name;
	assert_int_equal(
	    policy_load_text("policy.json", corrupt_policy, strlen(corrupt_policy), &p, &e),
	    PSM_OK);
	assert_int_equal(shm_writer_create(&f.w, &o, &e), PSM_OK);
	shm_writer_begin(f.w);
	assert_int_equal(policy_compile(p, f.w, &co, &e), PSM_OK);
	policy_free(p);
	fx_publish(&f);
	assert_int_equal(answer(&f.v, good), PSM_OK);
	snprintf(path, sizeof(path), "/dev/shm%s", f.name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	*len = (size_t)st.st_size;
	buf = malloc(*len);
	assert_non_null(buf);
	assert_int_equal(read(fd, buf, *len), (ssize_t)*len);
	close(fd);
	fx_end(&f);
	return buf;
}

static void test_intact_answers(void **state)
{
	struct answers g;
	size_t len;
	unsigned char *buf;

	(void)state;
	buf = intact(&len, &g);
	assert_int_equal(g.decision[0], EVAL_ALLOW);
	assert_int_equal(g.decision[1], EVAL_DENY);
	assert_int_equal(g.decision[2], EVAL_ALLOW);
	assert_int_equal(g.decision[3], EVAL_ALLOW);
	assert_int_equal(g.decision[4], EVAL_DENY);
	assert_int_equal(g.decision[5], EVAL_DENY);
	assert_int_equal(g.decision[6], EVAL_ALLOW);
	assert_int_equal(g.decision[7], EVAL_DENY);
	assert_int_equal(g.decision[8], EVAL_DENY);
	assert_string_equal(g.service, "login:ssh");
	assert_true(g.bg_root);
	assert_false(g.bg_nobody);
	/* the fixture itself must give the same answers */
	check_case(buf, len, &g);
	assert_int_equal(n_same, 1);
	free(buf);
}

static void test_every_byte_corrupted(void **state)
{
	static const int kinds = 10; /* 8 bit flips, 0x00, 0xff */
	struct answers g;
	size_t len, off;
	unsigned char *buf;
	int k;

	(void)state;
	buf = intact(&len, &g);
	n_cases = n_open_failed = n_unavail = n_same = 0;
	for (off = 0; off < len; off += vg_stride()) {
		unsigned char orig = buf[off];

		for (k = 0; k < kinds; k++) {
			unsigned char c = 0xff;

			if (k < 8)
				c = (unsigned char)(orig ^ (1u << k));
			else if (k == 8)
				c = 0x00;

			if (c == orig)
				continue;
			buf[off] = c;
			check_case(buf, len, &g);
			buf[off] = orig;
		}
	}
	print_message("%zu bytes: %lu cases, %lu refused at open, %lu unavailable, %lu same\n", len,
		      n_cases, n_open_failed, n_unavail, n_same);
	assert_true(n_open_failed + n_unavail > 0);
	free(buf);
}

static void test_every_truncation(void **state)
{
	struct answers g;
	size_t len, cut;
	unsigned char *buf;

	(void)state;
	buf = intact(&len, &g);
	n_cases = n_open_failed = 0;
	for (cut = 0; cut < len; cut += vg_stride())
		check_case(buf, cut, &g);
	assert_int_equal(n_open_failed, n_cases);
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_intact_answers),
	    cmocka_unit_test(test_every_byte_corrupted),
	    cmocka_unit_test(test_every_truncation),
	};

	now = (int64_t)time(NULL);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
