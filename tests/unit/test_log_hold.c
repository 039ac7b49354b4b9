/* SPDX-License-Identifier: MIT */
/* test_log_hold.c - psmd's held log lines: nothing written before log_flush, then all, in order. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "log.h"

struct capture {
	char path[64];
	int fd, saved;
};

/* stderr into a temporary file until capture_end. */
static void capture_begin(struct capture *c)
{
	snprintf(c->path, sizeof(c->path), "/tmp/psm-test-hold-XXXXXX");
	c->fd = mkstemp(c->path);
	c->saved = dup(STDERR_FILENO);
	assert_true(c->fd >= 0 && c->saved >= 0);
	fflush(stderr);
	assert_int_equal(dup2(c->fd, STDERR_FILENO), STDERR_FILENO);
}

/* What was written so far (malloc'd). */
static char *capture_text(const struct capture *c)
{
	struct stat st;
	char *text;

	assert_int_equal(fstat(c->fd, &st), 0);
	text = calloc(1, (size_t)st.st_size + 1);
	assert_non_null(text);
	assert_int_equal(pread(c->fd, text, (size_t)st.st_size, 0), st.st_size);
	return text;
}

static void capture_end(struct capture *c)
{
	fflush(stderr);
	assert_int_equal(dup2(c->saved, STDERR_FILENO), STDERR_FILENO);
	close(c->saved);
	close(c->fd);
	unlink(c->path);
}

static void assert_written(const struct capture *c, const char *want)
{
	char *text = capture_text(c);

	assert_string_equal(text, want);
	free(text);
}

static void test_hold_until_flush(void **state)
{
	struct capture c;

	(void)state;
	capture_begin(&c);
	log_open(LOG_MODE_STDERR);
	log_msg(LOG_INFO, "before");
	log_hold();
	log_msg(LOG_NOTICE, "audit %d", 1);
	log_msg(LOG_NOTICE, "audit %d", 2);
	assert_written(&c, "psmd: before\n");
	log_flush();
	assert_written(&c, "psmd: before\npsmd: audit 1\npsmd: audit 2\n");
	log_msg(LOG_INFO, "after"); /* no longer held */
	assert_written(&c, "psmd: before\npsmd: audit 1\npsmd: audit 2\npsmd: after\n");
	log_close();
	capture_end(&c);
}

/* A line too long to hold goes out at once, after the ones held before it. */
static void test_hold_long_line_in_order(void **state)
{
	static char big[70000];
	struct capture c;
	char *text;

	(void)state;
	memset(big, 'x', sizeof(big) - 1);
	capture_begin(&c);
	log_open(LOG_MODE_STDERR);
	log_hold();
	log_msg(LOG_NOTICE, "first");
	log_msg(LOG_NOTICE, "%s", big);
	text = capture_text(&c);
	assert_int_equal(strlen(text), 6 + 6 + 6 + strlen(big) + 1);
	assert_int_equal(strncmp(text, "psmd: first\npsmd: xxx", 21), 0);
	free(text);
	log_msg(LOG_NOTICE, "third"); /* held again */
	text = capture_text(&c);
	assert_null(strstr(text, "third"));
	free(text);
	log_close(); /* flushes */
	text = capture_text(&c);
	assert_non_null(strstr(text, "x\npsmd: third\n"));
	free(text);
	capture_end(&c);
}

/* More than the buffer holds: the oldest lines are written first, none is lost. */
static void test_hold_overflow_keeps_order(void **state)
{
	struct capture c;
	char *text, *p, want[32];
	int i;

	(void)state;
	capture_begin(&c);
	log_open(LOG_MODE_STDERR);
	log_hold();
	for (i = 0; i < 5000; i++) /* about 100 KiB */
		log_msg(LOG_NOTICE, "line %05d ....................", i);
	text = capture_text(&c);
	assert_true(strlen(text) > 0);		 /* the first lines are out */
	assert_null(strstr(text, "line 04999")); /* the last ones still held */
	free(text);
	log_flush();
	text = capture_text(&c);
	for (i = 0, p = text; i < 5000; i++) {
		snprintf(want, sizeof(want), "psmd: line %05d ", i);
		assert_int_equal(strncmp(p, want, strlen(want)), 0);
		p = strchr(p, '\n') + 1;
	}
	assert_int_equal(*p, '\0');
	free(text);
	log_close();
	capture_end(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_hold_until_flush),
	    cmocka_unit_test(test_hold_long_line_in_order),
	    cmocka_unit_test(test_hold_overflow_keeps_order),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
