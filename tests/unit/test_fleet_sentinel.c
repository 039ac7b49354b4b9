/* SPDX-License-Identifier: MIT */
/* test_fleet_sentinel.c - rconn finds the primary through a real redis-sentinel and follows a
 * failover. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "rconn.h"
#include "redis_fixture.h"

#define MASTER "psmtest"

static struct rfx primary, replica, sentinel;

static struct rconn *conn(void)
{
	struct rconn_opts o = {.connect_timeout_ms = 1000, .command_timeout_ms = 2000};

	return rconn_new(&o);
}

/* Polls cmd on port until its reply text (integer or first string) contains want. */
static bool poll_for(unsigned port, int argc, const char **argv, const char *field, long long ms)
{
	struct config_redis_addr a = {.host = "127.0.0.1", .port = port};
	long long deadline = rfx_now_ms() + ms;
	struct rconn *c = conn();
	struct rconn_reply *r;
	struct psm_err e;
	bool found = false;

	while (!found && rfx_now_ms() < deadline) {
		if (rconn_connected(c) || rconn_connect(c, &a, &e) == PSM_OK) {
			if (rconn_call(c, RCONN_T_ANY, &r, &e, argc, argv, NULL) == PSM_OK) {
				found = r->type == RCONN_STRING && strstr(r->str, field) != NULL;
				found |= r->type == RCONN_ARRAY && r->elements > 0;
				rconn_reply_free(r);
			}
		}
		if (!found)
			usleep(50000);
	}
	rconn_free(c);
	return found;
}

/* Primary, its replica (in sync), then one sentinel watching them (quorum 1). */
static int setup(void **state)
{
	const char *info[] = {"INFO", "replication"},
		   *replicas[] = {"SENTINEL", "replicas", MASTER};
	char conf[512], path[160], port[16];
	const char *argv[] = {"redis-server", path, "--sentinel", NULL};

	(void)state;
	if (rfx_start(&primary, NULL, false, 0) != 0 ||
	    rfx_start(&replica, NULL, false, primary.port) != 0 ||
	    !poll_for(primary.port, 2, info, "connected_slaves:1", 10000))
		return -1;
	memset(&sentinel, 0, sizeof(sentinel));
	snprintf(sentinel.dir, sizeof(sentinel.dir), "/tmp/psm-sentinel-XXXXXX");
	sentinel.port = rfx_free_port();
	if (mkdtemp(sentinel.dir) == NULL)
		return -1;
	snprintf(port, sizeof(port), "%u", sentinel.port);
	snprintf(conf, sizeof(conf),
		 "port %u\nbind 127.0.0.1\ndir %s\nsentinel monitor " MASTER " 127.0.0.1 %u 1\n"
		 "sentinel down-after-milliseconds " MASTER " 1000\n"
		 "sentinel failover-timeout " MASTER " 10000\n",
		 sentinel.port, sentinel.dir, primary.port);
	rfx_file(sentinel.dir, "sentinel.conf", conf, 0600, path, sizeof(path));
	if (rfx_exec(&sentinel, argv) != 0)
		return -1;
	return poll_for(sentinel.port, 3, replicas, "", 10000) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	rfx_stop(&sentinel);
	rfx_stop(&replica);
	rfx_stop(&primary);
	return 0;
}

static struct config_redis_addr addr(unsigned port)
{
	return (struct config_redis_addr){.host = "127.0.0.1", .port = port};
}

static void expect_primary(struct rconn *c, unsigned port)
{
	char want[32], role[16];
	struct psm_err e;

	snprintf(want, sizeof(want), "127.0.0.1:%u", port);
	assert_string_equal(rconn_addr(c), want);
	assert_int_equal(rconn_role(c, role, sizeof(role), &e), PSM_OK);
	assert_string_equal(role, "master");
}

/* A dead sentinel first in the list: the next one answers. */
static void test_lookup(void **state)
{
	struct config_redis_addr s[] = {addr(rfx_free_port()), addr(sentinel.port)};
	struct rconn *c = conn();
	char line[PSM_ERR_MSG_MAX];
	struct psm_err e;

	(void)state;
	if (rconn_connect_sentinel(c, s, 2, MASTER, &e) != PSM_OK)
		fail_msg("%s", e.msg);
	expect_primary(c, primary.port);
	assert_true(rconn_state_change(c, line, sizeof(line)));
	assert_non_null(strstr(line, "connected (master)"));
	rconn_free(c);
}

static void test_unknown_name(void **state)
{
	struct config_redis_addr s[] = {addr(sentinel.port)};
	struct rconn *c = conn();
	struct psm_err e;

	(void)state;
	assert_int_equal(rconn_connect_sentinel(c, s, 1, "nosuch", &e), PSM_EUNAVAIL);
	assert_non_null(strstr(e.msg, "sentinel knows no primary named \"nosuch\""));
	assert_false(rconn_connected(c));
	rconn_free(c);
}

/* read_url: the same connect code reaches a replica; it reports the primary's replid. */
static void test_replica(void **state)
{
	struct config_redis_addr p = addr(primary.port), r = addr(replica.port);
	char id_p[RCONN_REPLID_LEN + 1], id_r[RCONN_REPLID_LEN + 1], line[PSM_ERR_MSG_MAX];
	struct rconn *cp = conn(), *cr = conn();
	struct psm_err e;

	(void)state;
	assert_int_equal(rconn_connect(cp, &p, &e), PSM_OK);
	assert_int_equal(rconn_connect(cr, &r, &e), PSM_OK);
	assert_true(rconn_state_change(cr, line, sizeof(line)));
	assert_non_null(strstr(line, "connected (slave)"));
	assert_int_equal(rconn_replid(cp, id_p, &e), PSM_OK);
	assert_int_equal(rconn_replid(cr, id_r, &e), PSM_OK);
	assert_string_equal(id_p, id_r);
	rconn_free(cp);
	rconn_free(cr);
}

/* After SENTINEL failover, a new lookup (a reconnect) finds the replica as the primary. */
static void test_failover(void **state)
{
	const char *failover[] = {"SENTINEL", "failover", MASTER};
	struct config_redis_addr s[] = {addr(sentinel.port)};
	long long deadline = rfx_now_ms() + 20000;
	struct rconn *c = conn(), *sc = conn();
	struct rconn_reply *r;
	struct psm_err e;
	bool moved = false;

	(void)state;
	assert_int_equal(rconn_connect(sc, &s[0], &e), PSM_OK);
	/* until Sentinel has heard from the replica itself: NOGOODSLAVE */
	while (rconn_call(sc, RCONN_T(RCONN_STATUS), &r, &e, 3, failover, NULL) != PSM_OK) {
		if (strstr(e.msg, "NOGOODSLAVE") == NULL || rfx_now_ms() > deadline)
			fail_msg("%s", e.msg);
		usleep(100000);
	}
	rconn_reply_free(r);
	while (!moved && rfx_now_ms() < deadline) {
		moved = rconn_connect_sentinel(c, s, 1, MASTER, &e) == PSM_OK &&
			strstr(rconn_addr(c), "127.0.0.1:") != NULL &&
			(unsigned)atoi(strchr(rconn_addr(c), ':') + 1) == replica.port;
		if (!moved)
			usleep(100000);
	}
	if (!moved)
		fail_msg("still %s after 20 s: %s", rconn_addr(c), e.msg);
	expect_primary(c, replica.port);
	rconn_free(sc);
	rconn_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_lookup),
	    cmocka_unit_test(test_unknown_name),
	    cmocka_unit_test(test_replica),
	    cmocka_unit_test(test_failover),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
