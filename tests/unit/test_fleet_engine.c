/* SPDX-License-Identifier: MIT */
/* test_fleet_engine.c - the fleet engine's pieces: queues, state values, positions, entry checks.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "fleet_int.h"
#include "redis_fixture.h"

/* The ring keeps FIFO order across growth and wrap-around. */
static void test_fifo_order(void **state)
{
	struct fleet_fifo q;
	int next_out = 0, next_in = 0;

	(void)state;
	fleet_fifo_init(&q, sizeof(int));
	for (int round = 0; round < 50; round++) {
		for (int i = 0; i < round * 7 % 23 + 1; i++) {
			assert_int_equal(fleet_fifo_push(&q, &next_in), PSM_OK);
			next_in++;
		}
		for (int i = 0; i < round * 5 % 19 && q.n > 0; i++) {
			assert_int_equal(*(int *)fleet_fifo_at(&q, 0), next_out);
			fleet_fifo_pop(&q, 1);
			next_out++;
		}
	}
	assert_int_equal((int)q.n, next_in - next_out);
	for (size_t i = 0; i < q.n; i++)
		assert_int_equal(*(int *)fleet_fifo_at(&q, i), next_out + (int)i);
	fleet_fifo_pop(&q, q.n + 5); /* more than held: empty, not negative */
	assert_int_equal((int)q.n, 0);
	fleet_fifo_free(&q);
}

static const char good_value[] = "117742299409743872 0 1796608565 host-a "
				 "0011223344556677889900112233445566778899001122334455667788990011"
				 "0011223344556677889900112233445566778899001122334455667788990011"
				 "\n{\"type\":\"grant\"}";

/* A state value: header words, then r; the signature's hex decoded. */
static void test_value_parse(void **state)
{
	unsigned char sig[SIGN_BYTES];
	struct sign_entry e;

	(void)state;
	assert_true(fleet_value_parse(good_value, strlen(good_value), &e, sig));
	assert_int_equal(e.rlen, strlen("{\"type\":\"grant\"}"));
	assert_memory_equal(e.r, "{\"type\":\"grant\"}", e.rlen);
	assert_int_equal(e.keylen, 6);
	assert_memory_equal(e.key, "host-a", 6);
	assert_int_equal(e.siglen, SIGN_BYTES);
	assert_int_equal(sig[1], 0x11);
	assert_true(fleet_value_parse("5 1 - - -\n{}", 12, &e, sig));
	assert_null(e.key);
	assert_null(e.sig);
}

/* Every truncation of a value, bad hex and missing words are refused, never read past. */
static void test_value_hostile(void **state)
{
	size_t head = strchr(good_value, '\n') - good_value;
	unsigned char sig[SIGN_BYTES];
	struct sign_entry e;
	char *v;

	(void)state;
	for (size_t n = 0; n <= head; n++) {
		v = malloc(n ? n : 1); /* exactly n bytes: ASan sees any read past them */
		memcpy(v, good_value, n);
		assert_false(fleet_value_parse(v, n, &e, sig));
		free(v);
	}
	assert_false(fleet_value_parse("5 1 - - zz\n{}", 13, &e, sig));
	assert_false(fleet_value_parse("5 1 - - 00\n{}", 13, &e, sig)); /* 1 byte, not 64 */
	assert_false(fleet_value_parse("5 1 - -\n{}", 10, &e, sig));
	assert_false(fleet_value_parse("5  1 - - -\n{}", 13, &e, sig));
}

static char tmpdir[64];

static int dir_setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/psm-fleet-unit.XXXXXX");
	return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int dir_teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd);
}

static void write_file(const char *name, const char *text)
{
	char path[128];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
}

/* fleet.pos: a saved position reads back; garbage is no position (a resync), never a crash. */
static void test_pos_file(void **state)
{
	static const char *const bad[] = {
	    "",
	    "\n",
	    "abc 1-0\n",
	    "32ed03e9f6d998280e91324cf6c1a90d0eb38a86 1-\n",
	    "32ed03e9f6d998280e91324cf6c1a90d0eb38a86 x-1\n",
	    "32ed03e9f6d998280e91324cf6c1a90d0eb38a86 1-0", /* no newline: torn */
	    "32ed03e9f6d998280e91324cf6c1a90d0eb38a8 1-0\n",
	};
	char replid[RCONN_REPLID_LEN + 1], id[FLEET_ID_MAX];
	int dirfd;

	(void)state;
	dirfd = open(tmpdir, O_RDONLY | O_DIRECTORY);
	assert_true(dirfd >= 0);
	assert_int_equal(fleet_pos_load(dirfd, replid, id), PSM_ENOENT);
	write_file(FLEET_POS_FILE, "32ed03e9f6d998280e91324cf6c1a90d0eb38a86 1796604911399-7\n");
	assert_int_equal(fleet_pos_load(dirfd, replid, id), PSM_OK);
	assert_string_equal(replid, "32ed03e9f6d998280e91324cf6c1a90d0eb38a86");
	assert_string_equal(id, "1796604911399-7");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		write_file(FLEET_POS_FILE, bad[i]);
		assert_int_not_equal(fleet_pos_load(dirfd, replid, id), PSM_OK);
		assert_string_equal(id, "");
	}
	write_file(FLEET_PUSHED_FILE, "117742299409743872\n");
	assert_int_equal(fleet_pushed_load(dirfd), 117742299409743872ULL);
	write_file(FLEET_PUSHED_FILE, "1177422994x\n");
	assert_int_equal(fleet_pushed_load(dirfd), 0);
	close(dirfd);
}

/* A fleet with integrity off, for fleet_entry_check. */
static struct fleet *entry_fleet(void)
{
	struct fleet *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	pthread_mutex_init(&f->mu, NULL);
	pthread_mutex_init(&f->log_mu, NULL);
	f->evfd = -1;
	return f;
}

/* Own feed ids: met in order they are skipped once; an id passed over is forgotten; an id
 * never written (or not an id) is not own; past FLEET_OWN_MAX the oldest go. */
static void test_own_ids(void **state)
{
	struct fleet *f = entry_fleet();

	(void)state;
	fleet_fifo_init(&f->own, sizeof(struct fleet_id));
	fleet_own_add(f, "100-0");
	fleet_own_add(f, "100-1");
	fleet_own_add(f, "205-0");
	fleet_own_add(f, "not-an-id");
	assert_int_equal(f->own.n, 3);
	assert_false(fleet_own_take(f, 99, 5)); /* another host's, before ours */
	assert_true(fleet_own_take(f, 100, 0));
	assert_false(fleet_own_take(f, 100, 0)); /* once only */
	assert_false(fleet_own_take(f, 150, 0)); /* passes 100-1: forgotten */
	assert_int_equal(f->own.n, 1);
	assert_true(fleet_own_take(f, 205, 0));
	assert_int_equal(f->own.n, 0);
	for (unsigned i = 0; i < FLEET_OWN_MAX + 10; i++) {
		char id[32];

		snprintf(id, sizeof(id), "%u-0", 1000 + i);
		fleet_own_add(f, id);
	}
	assert_int_equal(f->own.n, FLEET_OWN_MAX);
	assert_false(fleet_own_take(f, 1009, 0)); /* among the oldest: gone */
	assert_true(fleet_own_take(f, 1010, 0));
	fleet_fifo_free(&f->own);
	pthread_mutex_destroy(&f->mu);
	pthread_mutex_destroy(&f->log_mu);
	free(f);
}

/* Unsigned entries pass with integrity off; bad JSON, bad records and oversized ones drop. */
static void test_entry_check(void **state)
{
	const char *good = "{\"type\":\"revoke\",\"grant_id\":\"75l36ccpvtm5li2uy2wruuwlte\","
			   "\"origin\":\"host-a\",\"version\":\"117742299409743872\","
			   "\"keep_until\":null}";
	struct fleet *f = entry_fleet();
	struct psm_err err = {0};
	struct fleet_in in;
	struct sign_entry e = {0};
	char *big;

	(void)state;
	e.r = (const unsigned char *)good;
	e.rlen = strlen(good);
	assert_int_equal(fleet_entry_check(f, &e, &in, &err), SIGN_APPLIED);
	assert_int_equal(in.rec.type, REC_REVOKE);
	record_free(&in.rec);
	e.rlen--; /* the closing brace gone */
	assert_int_equal(fleet_entry_check(f, &e, &in, &err), SIGN_MALFORMED);
	e.r = (const unsigned char *)"{\"type\":\"revoke\"}";
	e.rlen = strlen((const char *)e.r);
	assert_int_equal(fleet_entry_check(f, &e, &in, &err), SIGN_MALFORMED);
	e.r = NULL;
	assert_int_equal(fleet_entry_check(f, &e, &in, &err), SIGN_MALFORMED);
	big = calloc(1, FLEET_RECORD_MAX + 2);
	memset(big, ' ', FLEET_RECORD_MAX + 1);
	e.r = (const unsigned char *)big;
	e.rlen = FLEET_RECORD_MAX + 1;
	assert_int_equal(fleet_entry_check(f, &e, &in, &err), SIGN_OVERSIZED);
	free(big);
	pthread_mutex_destroy(&f->mu);
	free(f);
}

static struct rfx srv;

static int redis_setup(void **state)
{
	(void)state;
	return rfx_start(&srv, NULL, false, 0);
}

static int redis_teardown(void **state)
{
	(void)state;
	rfx_stop(&srv);
	return 0;
}

static void hset(struct rconn *c, const char *field, const char *value)
{
	const char *argv[] = {"HSET", "psm:{fleet}:state", field, value};
	struct rconn_reply *r;
	struct psm_err e;

	assert_int_equal(rconn_call(c, RCONN_T(RCONN_INTEGER), &r, &e, 4, argv, NULL), PSM_OK);
	rconn_reply_free(r);
}

static bool hexists(struct rconn *c, const char *field)
{
	const char *argv[] = {"HEXISTS", "psm:{fleet}:state", field};
	struct rconn_reply *r;
	struct psm_err e;
	bool yes;

	assert_int_equal(rconn_call(c, RCONN_T(RCONN_INTEGER), &r, &e, 3, argv, NULL), PSM_OK);
	yes = r->integer == 1;
	rconn_reply_free(r);
	return yes;
}

/* A prune pass deletes what expired over a day ago, and nothing else: not a permanent
 * record, not one that expired an hour ago, not a field whose version changed meanwhile. */
static void test_prune(void **state)
{
	struct config_redis_addr a = {.host = "127.0.0.1", .port = srv.port};
	struct rconn_opts o = {.max_reply = 1 << 20};
	struct fleet *f = entry_fleet();
	struct rconn *c = rconn_new(&o);
	char old[64], recent[64], cursor[32] = "0", field[32];
	long long now = (long long)time(NULL);
	struct psm_err e;

	(void)state;
	f->cfg.key_prefix = "psm:";
	assert_int_equal(rconn_connect(c, &a, &e), PSM_OK);
	snprintf(old, sizeof(old), "7 1 %lld - -\n{}", now - 2 * 86400);
	snprintf(recent, sizeof(recent), "8 0 %lld - -\n{}", now - 3600);
	for (int i = 0; i < 1200; i++) { /* more than one HSCAN step */
		snprintf(field, sizeof(field), "g:old%d", i);
		hset(c, field, old);
	}
	hset(c, "g:permanent", "9 1 - - -\n{}");
	hset(c, "g:recent", recent);
	hset(c, "g:garbage", "not a value");
	do
		assert_int_equal(fleet_prune_step(f, c, cursor, &e), PSM_OK);
	while (strcmp(cursor, "0") != 0);
	assert_false(hexists(c, "g:old0"));
	assert_false(hexists(c, "g:old1199"));
	assert_true(hexists(c, "g:permanent"));
	assert_true(hexists(c, "g:recent"));
	assert_true(hexists(c, "g:garbage"));
	rconn_free(c);
	pthread_mutex_destroy(&f->mu);
	free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fifo_order),
	    cmocka_unit_test(test_value_parse),
	    cmocka_unit_test(test_value_hostile),
	    cmocka_unit_test_setup_teardown(test_pos_file, dir_setup, dir_teardown),
	    cmocka_unit_test(test_entry_check),
	    cmocka_unit_test(test_own_ids),
	    cmocka_unit_test_setup_teardown(test_prune, redis_setup, redis_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
