/* SPDX-License-Identifier: MIT */
/* test_fleet_hostile.c - rconn against a fake Redis that answers huge, deep, wrong or nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>

#include <cmocka.h>

#include "rconn.h"
#include "redis_fixture.h"

#define FAKE_STREAM_MAX (64u << 20) /* a "2 GiB" answer stops after this much */

/* What the fake answers to the command after the PING (or to the PING itself). */
enum fake_kind {
	FAKE_GOOD,    /* +PONG, then $2 ok */
	FAKE_HUGE,    /* $2147483648 and bytes until FAKE_STREAM_MAX */
	FAKE_COUNT,   /* *2147483647 */
	FAKE_DEEP,    /* 100 nested arrays */
	FAKE_2MIB,    /* a whole 2 MiB bulk string */
	FAKE_HTTP,    /* an HTTP answer to PING */
	FAKE_INTEGER, /* :42 where a bulk string is expected */
	FAKE_SILENT,  /* accepts, never answers */
};

static void fake_write(int fd, const char *s, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, s, len);

		if (n <= 0)
			_exit(0);
		s += n;
		len -= (size_t)n;
	}
}

static void fake_stream(int fd, const char *head, size_t total)
{
	static char chunk[65536];

	memset(chunk, 'x', sizeof(chunk));
	fake_write(fd, head, strlen(head));
	for (size_t sent = 0; sent < total; sent += sizeof(chunk))
		fake_write(fd, chunk, sizeof(chunk));
}

static void fake_answer(int fd, enum fake_kind kind)
{
	char deep[512] = "";

	switch (kind) {
	case FAKE_HUGE:
		fake_stream(fd, "$2147483648\r\n", FAKE_STREAM_MAX);
		break;
	case FAKE_COUNT:
		fake_write(fd, "*2147483647\r\n", 13);
		break;
	case FAKE_DEEP:
		for (int i = 0; i < 100; i++)
			strcat(deep, "*1\r\n");
		strcat(deep, ":1\r\n");
		fake_write(fd, deep, strlen(deep));
		break;
	case FAKE_2MIB:
		fake_stream(fd, "$2097152\r\n", 2u << 20);
		fake_write(fd, "\r\n", 2);
		break;
	case FAKE_INTEGER:
		fake_write(fd, ":42\r\n", 5);
		break;
	default:
		fake_write(fd, "$2\r\nok\r\n", 8);
	}
}

/* The child: one connection; answers PING and ROLE as Redis would (HTTP: not even PING), then
 * the hostile answer to the next command; waits for the close. */
static void fake_serve(int lfd, enum fake_kind kind)
{
	static const char role[] = "*3\r\n$6\r\nmaster\r\n:0\r\n*0\r\n";
	char buf[4096];
	ssize_t n;
	int fd = accept(lfd, NULL, NULL);

	if (fd < 0)
		_exit(1);
	while (kind != FAKE_SILENT && (n = read(fd, buf, sizeof(buf) - 1)) > 0) {
		buf[n] = '\0';
		if (kind == FAKE_HTTP)
			fake_write(fd, "HTTP/1.1 400 Bad Request\r\n\r\n", 28);
		else if (strstr(buf, "PING") != NULL)
			fake_write(fd, "+PONG\r\n", 7);
		else if (strstr(buf, "ROLE") != NULL)
			fake_write(fd, role, sizeof(role) - 1);
		else
			fake_answer(fd, kind);
	}
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	_exit(0);
}

/* A fake server for one connection on a free port; *pid its process. */
static unsigned fake_start(enum fake_kind kind, pid_t *pid)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	int lfd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(lfd >= 0);
	assert_int_equal(bind(lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(lfd, 4), 0);
	assert_int_equal(getsockname(lfd, (struct sockaddr *)&a, &len), 0);
	*pid = fork();
	assert_true(*pid >= 0);
	if (*pid == 0)
		fake_serve(lfd, kind);
	close(lfd);
	return ntohs(a.sin_port);
}

static void fake_stop(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

static long maxrss_kib(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

/* Connects c to a fake of kind, sends GET, returns the error of whichever step failed. */
static int fake_run(struct rconn *c, enum fake_kind kind, struct psm_err *e)
{
	const char *get[] = {"GET", "k"};
	struct rconn_reply *r = NULL;
	pid_t pid;
	struct config_redis_addr a = {.host = "127.0.0.1", .port = fake_start(kind, &pid)};
	int rc = rconn_connect(c, &a, e);

	if (rc == PSM_OK)
		rc = rconn_call(c, RCONN_T(RCONN_STRING), &r, e, 2, get, NULL);
	if (rc == PSM_OK)
		assert_string_equal(r->str, "ok");
	rconn_reply_free(r);
	fake_stop(pid);
	return rc;
}

static struct rconn *conn(void)
{
	struct rconn_opts o = {
	    .connect_timeout_ms = 1000, .command_timeout_ms = 300, .max_reply = 1u << 20};
	struct rconn *c = rconn_new(&o);

	assert_non_null(c);
	return c;
}

/* Each hostile answer is an error with its reason, the connection is closed, and the next
 * connection of the same object works. */
static void expect_hostile(struct rconn *c, enum fake_kind kind, const char *why)
{
	struct psm_err e = {0};

	assert_int_equal(fake_run(c, kind, &e), PSM_EUNAVAIL);
	if (strstr(e.msg, why) == NULL)
		fail_msg("kind %d: message \"%s\" lacks \"%s\"", kind, e.msg, why);
	assert_false(rconn_connected(c));
	assert_int_equal(fake_run(c, FAKE_GOOD, &e), PSM_OK);
}

static void test_huge_bulk_length(void **state)
{
	struct rconn *c = conn();
	long before = maxrss_kib();

	(void)state;
	expect_hostile(c, FAKE_HUGE, "reply larger than max_reply (1048576 bytes)");
	expect_hostile(c, FAKE_2MIB, "reply larger than max_reply (1048576 bytes)");
	if (maxrss_kib() - before > 8 * 1024)
		fail_msg("max RSS grew by %ld KiB", maxrss_kib() - before);
	rconn_free(c);
}

static void test_huge_array_count(void **state)
{
	struct rconn *c = conn();
	long before = maxrss_kib();

	(void)state;
	expect_hostile(c, FAKE_COUNT, "reply larger than max_reply (1048576 bytes)");
	if (maxrss_kib() - before > 8 * 1024)
		fail_msg("max RSS grew by %ld KiB", maxrss_kib() - before);
	rconn_free(c);
}

static void test_deep_nesting(void **state)
{
	struct rconn *c = conn();

	(void)state;
	expect_hostile(c, FAKE_DEEP, "not a Redis server: No support for nested multi bulk");
	rconn_free(c);
}

static void test_not_redis(void **state)
{
	struct rconn *c = conn();

	(void)state;
	expect_hostile(c, FAKE_HTTP, "not a Redis server: Protocol error");
	rconn_free(c);
}

static void test_wrong_type(void **state)
{
	struct rconn *c = conn();

	(void)state;
	expect_hostile(c, FAKE_INTEGER, "unexpected reply: an integer");
	rconn_free(c);
}

static void test_silent_server(void **state)
{
	struct rconn *c = conn();

	(void)state;
	expect_hostile(c, FAKE_SILENT, "timed out after 300 ms");
	rconn_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_huge_bulk_length), cmocka_unit_test(test_huge_array_count),
	    cmocka_unit_test(test_deep_nesting),     cmocka_unit_test(test_not_redis),
	    cmocka_unit_test(test_wrong_type),	     cmocka_unit_test(test_silent_server),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
