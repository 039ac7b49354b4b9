/* SPDX-License-Identifier: MIT */
/* test_fleet_rconn.c - rconn against a real redis-server: TCP, unix socket, AUTH, SELECT, errors.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "rconn.h"
#include "redis_fixture.h"
#include "rpass.h"

#define PASS "s3cret-pass"

static struct rfx srv;

static int setup(void **state)
{
	(void)state;
	return rfx_start(&srv, PASS, true, 0);
}

static int teardown(void **state)
{
	(void)state;
	rfx_stop(&srv);
	return 0;
}

static struct config_redis_addr tcp_addr(unsigned port, unsigned db)
{
	return (struct config_redis_addr){.host = "127.0.0.1", .port = port, .db = db};
}

/* A connection with the password file holding text (mode 0600), or none (text NULL). */
static struct rconn *conn(const char *text, unsigned db, size_t max_reply, char *pf, size_t n)
{
	struct rconn_opts o = {.connect_timeout_ms = 2000,
			       .command_timeout_ms = 2000,
			       .db = db,
			       .max_reply = max_reply};

	if (text != NULL) {
		rfx_file(srv.dir, "pass", text, 0600, pf, n);
		o.password_file = pf;
	}
	return rconn_new(&o);
}

static void expect_msg(const struct psm_err *e, const char *part)
{
	if (strstr(e->msg, part) == NULL)
		fail_msg("message \"%s\" lacks \"%s\"", e->msg, part);
}

/* SET key value then GET key: the value comes back byte for byte. */
static void round_trip(struct rconn *c, const char *key, const char *val, size_t len)
{
	const char *set[] = {"SET", key, val}, *get[] = {"GET", key};
	size_t lens[] = {3, strlen(key), len};
	struct rconn_reply *r;
	struct psm_err e;

	assert_int_equal(rconn_call(c, RCONN_T(RCONN_STATUS), &r, &e, 3, set, lens), PSM_OK);
	rconn_reply_free(r);
	assert_int_equal(rconn_call(c, RCONN_T(RCONN_STRING), &r, &e, 2, get, NULL), PSM_OK);
	assert_int_equal(r->len, len);
	assert_memory_equal(r->str, val, len);
	rconn_reply_free(r);
}

static void test_tcp_auth_round_trip(void **state)
{
	char pf[160], line[PSM_ERR_MSG_MAX], role[16], want[64];
	struct config_redis_addr a = tcp_addr(srv.port, 0);
	struct rconn *c = conn(PASS "\n", 0, 0, pf, sizeof(pf));
	struct psm_err e;

	(void)state;
	if (rconn_connect(c, &a, &e) != PSM_OK)
		fail_msg("%s", e.msg);
	assert_true(rconn_connected(c));
	snprintf(want, sizeof(want), "127.0.0.1:%u", srv.port);
	assert_string_equal(rconn_addr(c), want);
	round_trip(c, "k1", "a\0b\r\nc", 6);
	assert_int_equal(rconn_role(c, role, sizeof(role), &e), PSM_OK);
	assert_string_equal(role, "master");
	assert_true(rconn_state_change(c, line, sizeof(line)));
	snprintf(want, sizeof(want), "redis 127.0.0.1:%u: connected (master)", srv.port);
	assert_string_equal(line, want);
	assert_false(rconn_state_change(c, line, sizeof(line)));
	rconn_free(c);
	/* "user password": the ACL user "default" */
	c = conn("default " PASS, 0, 0, pf, sizeof(pf));
	if (rconn_connect(c, &a, &e) != PSM_OK)
		fail_msg("%s", e.msg);
	rconn_free(c);
}

static void test_unix_socket(void **state)
{
	struct config_redis_addr a = {.unix_path = srv.sock};
	char pf[160];
	struct rconn *c = conn(PASS, 0, 0, pf, sizeof(pf));
	struct psm_err e;

	(void)state;
	if (rconn_connect(c, &a, &e) != PSM_OK)
		fail_msg("%s", e.msg);
	assert_string_equal(rconn_addr(c), srv.sock);
	round_trip(c, "k2", "over the socket", 15);
	rconn_free(c);
}

static void test_wrong_or_missing_password(void **state)
{
	struct config_redis_addr a = tcp_addr(srv.port, 0);
	char pf[160], line[PSM_ERR_MSG_MAX];
	struct rconn *c = conn("wrong", 0, 0, pf, sizeof(pf));
	struct psm_err e;

	(void)state;
	assert_int_equal(rconn_connect(c, &a, &e), PSM_EUNAVAIL);
	expect_msg(&e, "WRONGPASS");
	assert_null(strstr(e.msg, "wrong"));
	assert_false(rconn_connected(c));
	assert_true(rconn_state_change(c, line, sizeof(line)));
	expect_msg(&e, "WRONGPASS");
	rconn_free(c);
	c = conn(NULL, 0, 0, pf, sizeof(pf));
	assert_int_equal(rconn_connect(c, &a, &e), PSM_EUNAVAIL);
	expect_msg(&e, "the server wants a password");
	rconn_free(c);
}

static void test_password_file_checks(void **state)
{
	char pf[160], link[200];
	struct rpass p;
	struct psm_err e;

	(void)state;
	rfx_file(srv.dir, "pw", "x\n", 0644, pf, sizeof(pf));
	assert_int_equal(rpass_check(pf, &e), PSM_EINVAL);
	expect_msg(&e, "mode 0644 lets group or others in");
	expect_msg(&e, pf);
	chmod(pf, 0600);
	assert_int_equal(rpass_load(pf, &p, &e), PSM_OK);
	assert_string_equal(p.pass, "x");
	assert_string_equal(p.user, "");
	rpass_wipe(&p);
	snprintf(link, sizeof(link), "%s/pwlink", srv.dir);
	assert_int_equal(symlink(pf, link), 0);
	assert_int_equal(rpass_check(link, &e), PSM_EINVAL);
	expect_msg(&e, "is a symbolic link");
	rfx_file(srv.dir, "pw", "a\nb\n", 0600, pf, sizeof(pf));
	assert_int_equal(rpass_check(pf, &e), PSM_EINVAL);
	expect_msg(&e, "must be one line");
	rfx_file(srv.dir, "pw", "\n", 0600, pf, sizeof(pf));
	assert_int_equal(rpass_check(pf, &e), PSM_EINVAL);
	expect_msg(&e, "empty user or password");
	assert_int_equal(rpass_check(srv.dir, &e), PSM_EINVAL);
	expect_msg(&e, "not a regular file");
	snprintf(link, sizeof(link), "%s/none", srv.dir);
	assert_int_equal(rpass_check(link, &e), PSM_EINVAL);
	expect_msg(&e, "No such file");
	if (geteuid() == 0) {
		rfx_file(srv.dir, "pw", "x\n", 0600, pf, sizeof(pf));
		assert_int_equal(chown(pf, 65534, 65534), 0);
		assert_int_equal(rpass_check(pf, &e), PSM_EINVAL);
		expect_msg(&e, "owned by uid 65534");
	}
}

static void test_select_db(void **state)
{
	struct config_redis_addr a3 = tcp_addr(srv.port, 3), a0 = tcp_addr(srv.port, 0);
	const char *get[] = {"GET", "only-in-3"};
	char pf[160];
	struct rconn *c3 = conn(PASS, 3, 0, pf, sizeof(pf)), *c0 = conn(PASS, 0, 0, pf, sizeof(pf));
	struct rconn_reply *r;
	struct psm_err e;

	(void)state;
	assert_int_equal(rconn_connect(c3, &a3, &e), PSM_OK);
	assert_int_equal(rconn_connect(c0, &a0, &e), PSM_OK);
	round_trip(c3, "only-in-3", "v", 1);
	assert_int_equal(rconn_call(c0, RCONN_T(RCONN_NIL), &r, &e, 2, get, NULL), PSM_OK);
	rconn_reply_free(r);
	rconn_free(c3);
	rconn_free(c0);
}

static void test_replid(void **state)
{
	struct config_redis_addr a = tcp_addr(srv.port, 0);
	char pf[160], id1[RCONN_REPLID_LEN + 1], id2[RCONN_REPLID_LEN + 1];
	struct rconn *c = conn(PASS, 0, 0, pf, sizeof(pf));
	struct psm_err e;

	(void)state;
	if (rconn_connect(c, &a, &e) != PSM_OK)
		fail_msg("%s", e.msg);
	assert_int_equal(rconn_replid(c, id1, &e), PSM_OK);
	assert_int_equal(strlen(id1), RCONN_REPLID_LEN);
	assert_int_equal(strspn(id1, "0123456789abcdef"), RCONN_REPLID_LEN);
	assert_int_equal(rconn_replid(c, id2, &e), PSM_OK);
	assert_string_equal(id1, id2);
	rconn_free(c);
}

/* Errors: an error reply keeps the connection; a too-large reply and a timeout drop it. */
static void test_error_kinds(void **state)
{
	struct config_redis_addr a = tcp_addr(srv.port, 0);
	const char *bogus[] = {"NO-SUCH-COMMAND"}, *get[] = {"GET", "big"};
	const char *blpop[] = {"BLPOP", "no-such-list", "2"};
	static char big[8192];
	char pf[160];
	struct rconn *c = conn(PASS, 0, 4096, pf, sizeof(pf));
	struct rconn_reply *r;
	struct psm_err e;

	(void)state;
	memset(big, 'b', sizeof(big));
	if (rconn_connect(c, &a, &e) != PSM_OK)
		fail_msg("%s", e.msg);
	assert_int_equal(rconn_call(c, RCONN_T_ANY & ~RCONN_T(RCONN_ERROR), &r, &e, 1, bogus, NULL),
			 PSM_EUNAVAIL);
	expect_msg(&e, "unknown command");
	assert_true(rconn_connected(c));
	round_trip(c, "small", "s", 1);
	round_trip(c, "big", "", 0);
	{
		const char *set[] = {"SET", "big", big};
		size_t lens[] = {3, 3, sizeof(big)};

		assert_int_equal(rconn_call(c, RCONN_T(RCONN_STATUS), &r, &e, 3, set, lens),
				 PSM_OK);
		rconn_reply_free(r);
	}
	assert_int_equal(rconn_call(c, RCONN_T(RCONN_STRING), &r, &e, 2, get, NULL), PSM_EUNAVAIL);
	expect_msg(&e, "reply larger than max_reply (4096 bytes)");
	assert_false(rconn_connected(c));
	if (rconn_connect(c, &a, &e) != PSM_OK)
		fail_msg("%s", e.msg);
	assert_int_equal(rconn_set_timeout(c, 200, &e), PSM_OK);
	assert_int_equal(rconn_call(c, RCONN_T_ANY, &r, &e, 3, blpop, NULL), PSM_EUNAVAIL);
	expect_msg(&e, "timed out after 200 ms");
	assert_false(rconn_connected(c));
	rconn_free(c);
}

static void test_pipeline(void **state)
{
	struct config_redis_addr a = tcp_addr(srv.port, 0);
	const char *incr[] = {"INCR", "counter"};
	char pf[160];
	struct rconn *c = conn(PASS, 0, 0, pf, sizeof(pf));
	struct rconn_reply *r;
	struct psm_err e;

	(void)state;
	if (rconn_connect(c, &a, &e) != PSM_OK)
		fail_msg("%s", e.msg);
	for (int i = 0; i < 100; i++)
		assert_int_equal(rconn_send(c, 2, incr, NULL, &e), PSM_OK);
	for (long long i = 1; i <= 100; i++) {
		assert_int_equal(rconn_read(c, RCONN_T(RCONN_INTEGER), &r, &e), PSM_OK);
		assert_int_equal(r->integer, i);
		rconn_reply_free(r);
	}
	rconn_free(c);
}

/* One log line per change: up, down (first failure), no line per retry, up again. */
static void test_state_changes(void **state)
{
	struct config_redis_addr good = tcp_addr(srv.port, 0), bad = tcp_addr(rfx_free_port(), 0);
	char pf[160], line[PSM_ERR_MSG_MAX];
	struct rconn *c = conn(PASS, 0, 0, pf, sizeof(pf));
	struct psm_err e;

	(void)state;
	assert_int_equal(rconn_connect(c, &bad, &e), PSM_EUNAVAIL);
	expect_msg(&e, "Connection refused");
	assert_true(rconn_state_change(c, line, sizeof(line)));
	if (strstr(line, ": down: Connection refused") == NULL)
		fail_msg("state line \"%s\"", line);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(rconn_connect(c, &bad, &e), PSM_EUNAVAIL);
		assert_false(rconn_state_change(c, line, sizeof(line)));
	}
	assert_int_equal(rconn_connect(c, &good, &e), PSM_OK);
	assert_true(rconn_state_change(c, line, sizeof(line)));
	if (strstr(line, ": connected (master)") == NULL)
		fail_msg("state line \"%s\"", line);
	assert_int_equal(rconn_connect(c, &good, &e), PSM_OK);
	assert_false(rconn_state_change(c, line, sizeof(line)));
	rconn_close(c, "stopping");
	assert_true(rconn_state_change(c, line, sizeof(line)));
	if (strstr(line, ": down: stopping") == NULL)
		fail_msg("state line \"%s\"", line);
	rconn_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_tcp_auth_round_trip),
	    cmocka_unit_test(test_unix_socket),
	    cmocka_unit_test(test_wrong_or_missing_password),
	    cmocka_unit_test(test_password_file_checks),
	    cmocka_unit_test(test_select_db),
	    cmocka_unit_test(test_replid),
	    cmocka_unit_test(test_error_kinds),
	    cmocka_unit_test(test_pipeline),
	    cmocka_unit_test(test_state_changes),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
