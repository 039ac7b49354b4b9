/* SPDX-License-Identifier: MIT */
/* test_log.c - psmd's log: without a syslog socket every line goes to stderr, whole. */
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

/* Runs fn with stderr sent to a temporary file; returns what it got (malloc'd). */
static char *log_capture(void (*fn)(void))
{
	char path[] = "/tmp/psm-test-log-XXXXXX", *text;
	int fd = mkstemp(path), saved = dup(STDERR_FILENO);
	struct stat st;

	assert_true(fd >= 0 && saved >= 0);
	fflush(stderr);
	assert_int_equal(dup2(fd, STDERR_FILENO), STDERR_FILENO);
	fn();
	fflush(stderr);
	assert_int_equal(dup2(saved, STDERR_FILENO), STDERR_FILENO);
	close(saved);
	assert_int_equal(fstat(fd, &st), 0);
	text = calloc(1, (size_t)st.st_size + 1);
	assert_non_null(text);
	assert_int_equal(pread(fd, text, (size_t)st.st_size, 0), st.st_size);
	close(fd);
	unlink(path);
	return text;
}

static void log_lines(void)
{
	char big[5000];

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	log_open(LOG_MODE_SYSLOG);
	log_msg(LOG_AUTHPRIV | LOG_NOTICE, "{\"op\":\"grant\",\"n\":%d}", 1);
	log_msg(LOG_INFO, "%s", big);
	log_close();
}

static void test_log_no_syslog_goes_to_stderr(void **state)
{
	struct stat st;
	char *text, want[5100];

	(void)state;
	if (stat(_PATH_LOG, &st) == 0) {
		skip(); /* a syslog socket here: the lines went there */
		return;
	}
	text = log_capture(log_lines);
	memset(want, 'x', 4999);
	want[4999] = '\0';
	assert_non_null(strstr(text, "psmd: {\"op\":\"grant\",\"n\":1}\n"));
	assert_non_null(strstr(text, want)); /* a long line is not cut */
	free(text);
}

static void stderr_mode(void)
{
	log_open(LOG_MODE_STDERR);
	log_msg(LOG_ERR, "configuration OK? %s", "no");
	log_close();
}

static void test_log_stderr_mode(void **state)
{
	char *text;

	(void)state;
	text = log_capture(stderr_mode);
	assert_string_equal(text, "psmd: configuration OK? no\n");
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_log_no_syslog_goes_to_stderr),
	    cmocka_unit_test(test_log_stderr_mode),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
