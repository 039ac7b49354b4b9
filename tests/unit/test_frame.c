/* SPDX-License-Identifier: MIT */
/* test_frame.c - the bytes of state files (headers, frame seals) and the atomic replace. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "frame.h"

struct fx {
	char dir[64];
	int dirfd;
};

static int fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/psm-frame-%d-XXXXXX", (int)getpid());
	if (mkdtemp(f->dir) == NULL)
		return -1;
	f->dirfd = open(f->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	*state = f;
	return f->dirfd < 0 ? -1 : 0;
}

static int fx_teardown(void **state)
{
	struct fx *f = *state;

	unlinkat(f->dirfd, "f", 0);
	unlinkat(f->dirfd, "f.new", 0);
	unlinkat(f->dirfd, "f/x", 0);
	unlinkat(f->dirfd, "f", AT_REMOVEDIR);
	close(f->dirfd);
	rmdir(f->dir);
	free(f);
	return 0;
}

static bool exists(const struct fx *f, const char *name)
{
	struct stat st;

	return fstatat(f->dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

/* f.new created and written as a caller of frame_replace does. */
static int write_tmp(const struct fx *f, const char *text)
{
	int fd = openat(f->dirfd, "f.new", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(frame_write_all(fd, text, strlen(text), "f.new", NULL), PSM_OK);
	return fd;
}

/* The journal header, byte by byte: magic, format 1, the number; little-endian. */
static void test_frame_header_bytes(void **state)
{
	static const unsigned char want[JOURNAL_HDR_SIZE] = {'P', 'S', 'M', 'J', 'R', 'N', 'L', '1',
							     1,	  0,   0,   0,	 4,   3,   2,	1};
	unsigned char h[JOURNAL_HDR_SIZE];
	struct psm_err e = {0};

	(void)state;
	frame_put_header(h, &frame_journal, 0x01020304);
	assert_memory_equal(h, want, sizeof(want));
	assert_int_equal(frame_check_header(h, sizeof(h), &frame_journal, 0x01020304, "j", &e),
			 PSM_OK);
	assert_int_equal(frame_check_header(h, sizeof(h), &frame_journal, 7, "j", &e),
			 PSM_EUNAVAIL);
	assert_string_equal(e.msg, "j: header says number 16909060");
	assert_int_equal(frame_check_header(h, sizeof(h), &frame_snapshot, 0x01020304, "s", &e),
			 PSM_EUNAVAIL);
	assert_string_equal(e.msg, "s: not a psm snapshot (bad magic)");
	h[8] = 2;
	assert_int_equal(frame_check_header(h, sizeof(h), &frame_journal, 0x01020304, "j", &e),
			 PSM_EUNAVAIL);
	assert_string_equal(e.msg, "j: unknown format version 2");
}

/* A frame's seal: u32 length, then CRC32C of the 4 length bytes and the JSON. */
static void test_frame_seal_bytes(void **state)
{
	static const unsigned char want[FRAME_HDR_SIZE] = {2, 0, 0, 0, 0x31, 0x7b, 0xbc, 0x54};
	unsigned char h[FRAME_HDR_SIZE];
	char name[32];

	(void)state;
	frame_seal(h, "{}", 2);
	assert_memory_equal(h, want, sizeof(want));
	frame_file_name(&frame_snapshot, 4, name, sizeof(name));
	assert_string_equal(name, "snapshot.000004");
	frame_file_name(&frame_journal, 1234567, name, sizeof(name));
	assert_string_equal(name, "journal.1234567");
}

static void test_frame_replace_puts_file_in_place(void **state)
{
	struct fx *f = *state;
	unsigned char *d = NULL;
	size_t n = 0;

	assert_int_equal(frame_replace(f->dirfd, write_tmp(f, "new"), "f.new", "f", PSM_OK, NULL),
			 PSM_OK);
	assert_false(exists(f, "f.new"));
	assert_int_equal(frame_read_file(f->dirfd, "f", &d, &n, NULL), PSM_OK);
	assert_int_equal(n, 3);
	assert_memory_equal(d, "new", 3);
	free(d);
}

/* A rename that fails names the file, and leaves neither tmp nor a changed name behind. */
static void test_frame_replace_failed_rename(void **state)
{
	struct fx *f = *state;
	struct psm_err e = {0};
	int fd;

	assert_int_equal(mkdirat(f->dirfd, "f", 0700), 0); /* in the way, not empty */
	fd = openat(f->dirfd, "f/x", O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(frame_replace(f->dirfd, write_tmp(f, "new"), "f.new", "f", PSM_OK, &e),
			 PSM_ESYS);
	assert_non_null(strstr(e.msg, "f: rename: "));
	assert_false(exists(f, "f.new"));
	assert_true(exists(f, "f/x"));
}

/* An error from writing is returned as it was, and the half-written tmp goes. */
static void test_frame_replace_keeps_write_error(void **state)
{
	struct fx *f = *state;
	struct psm_err e = {.code = PSM_ENOMEM, .msg = "f.new: out of memory"};

	assert_int_equal(
	    frame_replace(f->dirfd, write_tmp(f, "half"), "f.new", "f", PSM_ENOMEM, &e),
	    PSM_ENOMEM);
	assert_string_equal(e.msg, "f.new: out of memory");
	assert_false(exists(f, "f.new"));
	assert_false(exists(f, "f"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_frame_header_bytes),
	    cmocka_unit_test(test_frame_seal_bytes),
	    cmocka_unit_test_setup_teardown(test_frame_replace_puts_file_in_place, fx_setup,
					    fx_teardown),
	    cmocka_unit_test_setup_teardown(test_frame_replace_failed_rename, fx_setup,
					    fx_teardown),
	    cmocka_unit_test_setup_teardown(test_frame_replace_keeps_write_error, fx_setup,
					    fx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
