/* SPDX-License-Identifier: MIT */
/* test_config.c - psmd.conf: defaults, every key, comments, and each kind of error. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"

/* Parses text as "t.conf"; on success the caller frees *c. */
static int parse(const char *text, struct psmd_config *c, struct psm_err *e)
{
	psm_err_clear(e);
	return config_parse("t.conf", text, strlen(text), c, e);
}

/* text must fail with PSM_EINVAL and a message equal to want, or with prefix, starting
 * with it. */
static void expect_error_as(const char *text, const char *want, bool prefix)
{
	struct psmd_config c;
	struct psm_err e;
	int rc = parse(text, &c, &e);

	if (rc == PSM_OK)
		config_free(&c);
	assert_int_equal(rc, PSM_EINVAL);
	if (prefix ? strncmp(e.msg, want, strlen(want)) != 0 : strcmp(e.msg, want) != 0)
		fail_msg("message \"%s\", want %s\"%s\"", e.msg, prefix ? "a prefix " : "", want);
}

static void expect_error(const char *text, const char *want)
{
	expect_error_as(text, want, false);
}

static void expect_error_prefix(const char *text, const char *prefix)
{
	expect_error_as(text, prefix, true);
}

static void assert_defaults(const struct psmd_config *c)
{
	char host[256] = "";

	gethostname(host, sizeof(host));
	host[CONFIG_HOST_NAME_MAX] = '\0';
	assert_string_equal(c->shm_name, "/psm");
	assert_string_equal(c->socket, "/run/psm/psmd.sock");
	assert_string_equal(c->state_dir, "/var/lib/psm");
	assert_string_equal(c->policy, "/etc/psm/policy.json");
	assert_string_equal(c->admin_group, "psm-admin");
	assert_string_equal(c->table_group, "root");
	assert_int_equal(c->capacity, 100000);
	assert_int_equal(c->max_records, 1000000);
	assert_null(c->metrics_file);
	assert_int_equal(c->session_expiry, CONFIG_EXPIRY_FORGET);
	assert_string_equal(c->host_name, host);
	assert_non_null(c->labels);
	assert_null(c->labels[0]);
	assert_int_equal(c->nlabels, 0);
	assert_false(c->redis.enabled);
}

static void test_defaults(void **state)
{
	struct psmd_config c;
	struct psm_err e;

	(void)state;
	assert_int_equal(config_defaults(&c, &e), PSM_OK);
	assert_null(c.file);
	assert_defaults(&c);
	config_free(&c);
}

static void test_empty_object_is_defaults(void **state)
{
	struct psmd_config c;
	struct psm_err e;

	(void)state;
	assert_int_equal(parse("{}", &c, &e), PSM_OK);
	assert_string_equal(c.file, "t.conf");
	assert_defaults(&c);
	config_free(&c);
}

static const char every_key[] = "{\n"
				"  \"shm_name\": \"/psm-t1\",\n"
				"  \"socket\": \"/tmp/t/psmd.sock\",\n"
				"  \"state_dir\": \"/tmp/t/state\",\n"
				"  \"policy\": \"/tmp/t/policy.json\",\n"
				"  \"admin_group\": \"wheel\",\n"
				"  \"table_group\": \"psm-read\",\n"
				"  \"capacity\": 5000,\n"
				"  \"metrics_file\": \"/tmp/t/psm.prom\",\n"
				"  \"session_expiry\": \"kill\",\n"
				"  \"host_name\": \"web-01.example\",\n"
				"  \"labels\": [\"web\", \"prod\"],\n"
				"  \"redis\": {\n"
				"    \"url\": \"redis://psm@10.0.0.5:6380/3\",\n"
				"    \"read_url\": \"redis://10.0.0.6:6381/3\",\n"
				"    \"max_reply\": 65536,\n"
				"    \"password_file\": \"/etc/psm/redis.pass\",\n"
				"    \"key_prefix\": \"fleet:\",\n"
				"    \"signing_key\": \"/etc/psm/keys/fleet.sk\",\n"
				"    \"trusted_keys\": \"/etc/psm/keys/trusted.pub\"\n"
				"  }\n"
				"}\n";

static void test_every_key(void **state)
{
	struct psmd_config c;
	struct psm_err e;

	(void)state;
	assert_int_equal(parse(every_key, &c, &e), PSM_OK);
	assert_string_equal(c.shm_name, "/psm-t1");
	assert_string_equal(c.socket, "/tmp/t/psmd.sock");
	assert_string_equal(c.state_dir, "/tmp/t/state");
	assert_string_equal(c.policy, "/tmp/t/policy.json");
	assert_string_equal(c.admin_group, "wheel");
	assert_string_equal(c.table_group, "psm-read");
	assert_int_equal(c.capacity, 5000);
	assert_string_equal(c.metrics_file, "/tmp/t/psm.prom");
	assert_int_equal(c.session_expiry, CONFIG_EXPIRY_KILL);
	assert_string_equal(c.host_name, "web-01.example");
	assert_int_equal(c.nlabels, 2);
	assert_string_equal(c.labels[0], "web");
	assert_string_equal(c.labels[1], "prod");
	assert_null(c.labels[2]);
	assert_true(c.redis.enabled);
	assert_string_equal(c.redis.url, "redis://psm@10.0.0.5:6380/3");
	assert_string_equal(c.redis.addr.user, "psm");
	assert_string_equal(c.redis.addr.host, "10.0.0.5");
	assert_int_equal(c.redis.addr.port, 6380);
	assert_int_equal(c.redis.addr.db, 3);
	assert_null(c.redis.addr.unix_path);
	assert_string_equal(c.redis.read.host, "10.0.0.6");
	assert_int_equal(c.redis.read.port, 6381);
	assert_int_equal(c.redis.read.db, 3);
	assert_null(c.redis.read.user);
	assert_int_equal(c.redis.max_reply, 65536);
	assert_int_equal(c.redis.nsentinels, 0);
	assert_string_equal(c.redis.password_file, "/etc/psm/redis.pass");
	assert_string_equal(c.redis.key_prefix, "fleet:");
	assert_string_equal(c.redis.signing_key, "/etc/psm/keys/fleet.sk");
	assert_string_equal(c.redis.trusted_keys, "/etc/psm/keys/trusted.pub");
	config_free(&c);
}

static void test_comments(void **state)
{
	struct psmd_config c;
	struct psm_err e;

	(void)state;
	assert_int_equal(parse("// psmd.conf\n{\n  /* the table */ \"shm_name\": \"/psm-c\", "
			       "// trailing\n  \"capacity\": 7 /* small */\n}\n// end\n",
			       &c, &e),
			 PSM_OK);
	assert_string_equal(c.shm_name, "/psm-c");
	assert_int_equal(c.capacity, 7);
	config_free(&c);
}

static void test_unknown_key_position(void **state)
{
	(void)state;
	expect_error("{\n  \"shm_name\": \"/psm\",\n    \"colour\": 1\n}",
		     "t.conf:3:5: unknown key \"colour\" in configuration");
	expect_error("{\"redis\": {\"url\": \"redis://h\", \"pasword_file\": \"/x\"}}",
		     "t.conf:1:32: unknown key \"pasword_file\" in redis");
}

static void test_wrong_types(void **state)
{
	(void)state;
	expect_error("{\n \"capacity\": \"big\"}",
		     "t.conf:2:2: capacity: expected a whole number from 0 to 16777216");
	expect_error("{\"shm_name\": 5}", "t.conf:1:2: shm_name: expected a string");
	expect_error("{\"labels\": \"web\"}", "t.conf:1:2: labels: expected an array of strings");
	expect_error("{\"labels\": [\"web\", 3]}",
		     "t.conf:1:20: labels: expected an array of strings");
	expect_error("{\"redis\": \"redis://h\"}", "t.conf:1:2: redis: expected an object");
	expect_error("{\"session_expiry\": true}", "t.conf:1:2: session_expiry: expected a string");
	expect_error_prefix("[1, 2]", "t.conf:1:1: ");
}

static void test_null_only_where_off(void **state)
{
	struct psmd_config c;
	struct psm_err e;

	(void)state;
	assert_int_equal(parse("{\"metrics_file\": null, \"redis\": null}", &c, &e), PSM_OK);
	assert_null(c.metrics_file);
	assert_false(c.redis.enabled);
	config_free(&c);
	expect_error("{\"shm_name\": null}", "t.conf:1:2: shm_name: expected a value, not null");
	expect_error("{\"capacity\": null}", "t.conf:1:2: capacity: expected a value, not null");
	expect_error("{\"redis\": {\"url\": null}}",
		     "t.conf:1:12: url: expected a value, not null");
}

static void test_bad_shm_name(void **state)
{
	char longname[260];

	(void)state;
	expect_error("{\"shm_name\": \"psm\"}",
		     "t.conf:1:2: shm_name: \"psm\" must be \"/\" followed by 1 to 200 of "
		     "A-Z a-z 0-9 . _ -");
	expect_error_prefix("{\"shm_name\": \"/a/b\"}", "t.conf:1:2: shm_name: \"/a/b\" must");
	expect_error_prefix("{\"shm_name\": \"/\"}", "t.conf:1:2: shm_name: \"/\" must");
	snprintf(longname, sizeof(longname), "{\"shm_name\": \"/%0201d\"}", 0);
	expect_error_prefix(longname, "t.conf:1:2: shm_name:");
	assert_true(config_shm_name_ok("/psm-test-1.a_b"));
	assert_false(config_shm_name_ok("/psm test"));
}

static void test_relative_paths(void **state)
{
	(void)state;
	expect_error("{\"state_dir\": \"var/lib/psm\"}",
		     "t.conf:1:2: state_dir: \"var/lib/psm\" must be an absolute path");
	expect_error_prefix("{\"policy\": \"policy.json\"}", "t.conf:1:2: policy: \"policy.json\"");
	expect_error_prefix("{\"socket\": \"psmd.sock\"}", "t.conf:1:2: socket:");
	expect_error_prefix("{\"metrics_file\": \"psm.prom\"}", "t.conf:1:2: metrics_file:");
	expect_error_prefix("{\"redis\": {\"url\": \"redis://h\", \"signing_key\": \"k\"}}",
			    "t.conf:1:32: signing_key: \"k\" must be an absolute path");
	expect_error_prefix(
	    "{\"socket\": \"/tmp/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.sock\"}",
	    "t.conf:1:2: socket:");
}

static void test_capacity_range(void **state)
{
	struct psmd_config c;
	struct psm_err e;

	(void)state;
	expect_error("{\"capacity\": 0}",
		     "t.conf:1:2: capacity: expected a whole number from 1 to 16777216");
	expect_error_prefix("{\"capacity\": 50000001}", "t.conf:1:2: capacity: expected");
	expect_error_prefix("{\"capacity\": -5}", "t.conf:1:2: capacity: expected");
	expect_error_prefix("{\"capacity\": 1.5}", "t.conf:1:2: capacity: expected");
	assert_int_equal(parse("{\"capacity\": 16777216}", &c, &e), PSM_OK);
	assert_int_equal(c.capacity, 16777216);
	config_free(&c);
	assert_int_equal(parse("{\"capacity\": 1}", &c, &e), PSM_OK);
	assert_int_equal(c.capacity, 1);
	config_free(&c);
	expect_error("{\"max_records\": 0}",
		     "t.conf:1:2: max_records: expected a whole number from 1 to 16777216");
	expect_error_prefix("{\"max_records\": 16777217}", "t.conf:1:2: max_records: expected");
	assert_int_equal(parse("{\"max_records\": 3}", &c, &e), PSM_OK);
	assert_int_equal(c.max_records, 3);
	config_free(&c);
}

static void test_session_expiry(void **state)
{
	struct psmd_config c;
	struct psm_err e;

	(void)state;
	expect_error("{\"session_expiry\": \"sometimes\"}",
		     "t.conf:1:2: session_expiry: \"sometimes\" must be \"forget\" or \"kill\"");
	assert_int_equal(parse("{\"session_expiry\": \"forget\"}", &c, &e), PSM_OK);
	assert_int_equal(c.session_expiry, CONFIG_EXPIRY_FORGET);
	config_free(&c);
}

static void test_bad_redis_url(void **state)
{
	(void)state;
	expect_error(
	    "{\"redis\": {\"url\": \"http://h:1/0\"}}",
	    "t.conf:1:12: redis.url: \"http://h:1/0\" must be redis://[user@]host:port/db or "
	    "unix:///path");
	expect_error_prefix("{\"redis\": {\"url\": \"redis://\"}}",
			    "t.conf:1:12: redis.url: \"redis://\" has no host");
	expect_error_prefix("{\"redis\": {\"url\": \"redis://h:0/0\"}}",
			    "t.conf:1:12: redis.url: \"redis://h:0/0\" has a bad port");
	expect_error_prefix("{\"redis\": {\"url\": \"redis://h:70000\"}}",
			    "t.conf:1:12: redis.url:");
	expect_error_prefix("{\"redis\": {\"url\": \"redis://h: 5\"}}",
			    "t.conf:1:12: redis.url: \"redis://h: 5\" has a bad port");
	expect_error_prefix("{\"redis\": {\"url\": \"redis://h:5/-1\"}}",
			    "t.conf:1:12: redis.url: \"redis://h:5/-1\" has a bad database");
	expect_error_prefix("{\"redis\": {\"url\": \"redis://h:6379/x\"}}",
			    "t.conf:1:12: redis.url: \"redis://h:6379/x\" has a bad database");
	expect_error_prefix("{\"redis\": {\"url\": \"redis://h:6379/0 x\"}}",
			    "t.conf:1:12: redis.url:");
	expect_error("{\"redis\": {\"url\": \"redis://h!x:1\"}}",
		     "t.conf:1:12: redis.url: \"redis://h!x:1\" has a bad host name");
	expect_error("{\"redis\": {\"url\": \"redis://@x:1\"}}",
		     "t.conf:1:12: redis.url: \"redis://@x:1\" has a bad user name");
	expect_error("{\"redis\": {\"url\": \"redis://a b@x:1\"}}",
		     "t.conf:1:12: redis.url: \"redis://a b@x:1\" has a bad user name");
	expect_error("{\"redis\": {\"url\": \"redis://u@\"}}",
		     "t.conf:1:12: redis.url: \"redis://u@\" has no host");
	expect_error_prefix("{\"redis\": {\"url\": \"unix://run/r.sock\"}}",
			    "t.conf:1:12: redis.url: \"unix://run/r.sock\" must name");
	expect_error("{\"redis\": {\"key_prefix\": \"p:\"}}",
		     "t.conf:1:2: redis: needs \"url\" or \"sentinels\"");
	expect_error_prefix("{\"redis\": {\"url\": \"redis://h\", \"key_prefix\": \"a b\"}}",
			    "t.conf:1:32: key_prefix: \"a b\" must be");
}

static void test_redis_url_forms(void **state)
{
	struct psmd_config c;
	struct psm_err e;

	(void)state;
	assert_int_equal(parse("{\"redis\": {\"url\": \"unix:///run/redis/redis.sock\"}}", &c, &e),
			 PSM_OK);
	assert_true(c.redis.enabled);
	assert_string_equal(c.redis.addr.unix_path, "/run/redis/redis.sock");
	assert_null(c.redis.addr.host);
	assert_string_equal(c.redis.key_prefix, "psm:");
	assert_null(c.redis.password_file);
	config_free(&c);
	assert_int_equal(parse("{\"redis\": {\"url\": \"redis://cache.example\"}}", &c, &e),
			 PSM_OK);
	assert_string_equal(c.redis.addr.host, "cache.example");
	assert_int_equal(c.redis.addr.port, 6379);
	assert_int_equal(c.redis.addr.db, 0);
	assert_null(c.redis.addr.user);
	assert_null(c.redis.read_url);
	assert_int_equal(c.redis.max_reply, 1048576);
	config_free(&c);
}

static void test_redis_sentinels(void **state)
{
	struct psmd_config c;
	struct psm_err e;

	(void)state;
	assert_int_equal(parse("{\"redis\": {\"sentinels\": [\"10.0.0.1:26380\", \"s2\"],"
			       " \"master_name\": \"psm-main\"}}",
			       &c, &e),
			 PSM_OK);
	assert_true(c.redis.enabled);
	assert_null(c.redis.url);
	assert_int_equal(c.redis.nsentinels, 2);
	assert_string_equal(c.redis.sentinels[0].host, "10.0.0.1");
	assert_int_equal(c.redis.sentinels[0].port, 26380);
	assert_string_equal(c.redis.sentinels[1].host, "s2");
	assert_int_equal(c.redis.sentinels[1].port, 26379);
	assert_string_equal(c.redis.master_name, "psm-main");
	config_free(&c);
}

static void test_bad_redis_sentinels(void **state)
{
	(void)state;
	expect_error("{\"redis\": {\"url\": \"redis://h\", \"sentinels\": [\"s:1\"],"
		     " \"master_name\": \"m\"}}",
		     "t.conf:1:32: redis.sentinels: goes without \"url\" (use one of them)");
	expect_error("{\"redis\": {\"sentinels\": [\"s:1\"]}}",
		     "t.conf:1:12: redis.sentinels: needs \"master_name\"");
	expect_error("{\"redis\": {\"url\": \"redis://h\", \"master_name\": \"m\"}}",
		     "t.conf:1:32: redis.master_name: goes with \"sentinels\"");
	expect_error("{\"redis\": {\"sentinels\": [], \"master_name\": \"m\"}}",
		     "t.conf:1:12: redis.sentinels: expected 1 to 16 \"host:port\" strings");
	expect_error("{\"redis\": {\"sentinels\": \"s:1\", \"master_name\": \"m\"}}",
		     "t.conf:1:12: sentinels: expected an array of strings");
	expect_error("{\"redis\": {\"sentinels\": [\"s:1\", \"s:0\"], \"master_name\": \"m\"}}",
		     "t.conf:1:33: redis.sentinels: \"s:0\" has a bad port");
	expect_error("{\"redis\": {\"sentinels\": [\"s:1/0\"], \"master_name\": \"m\"}}",
		     "t.conf:1:26: redis.sentinels: \"s:1/0\" must be host:port");
	expect_error("{\"redis\": {\"sentinels\": [\"u@s:1\"], \"master_name\": \"m\"}}",
		     "t.conf:1:26: redis.sentinels: \"u@s:1\" has a bad host name");
	expect_error("{\"redis\": {\"sentinels\": [\"s\"], \"master_name\": \"m n\"}}",
		     "t.conf:1:32: master_name: \"m n\" must be 1 or more of A-Z a-z 0-9 . _ -");
}

static void test_bad_redis_read_url_max_reply(void **state)
{
	struct psmd_config c;
	struct psm_err e;

	(void)state;
	expect_error("{\"redis\": {\"url\": \"redis://h\", \"read_url\": \"tcp://r\"}}",
		     "t.conf:1:32: redis.read_url: \"tcp://r\" must be redis://[user@]host:port/db "
		     "or unix:///path");
	expect_error("{\"redis\": {\"url\": \"redis://h\", \"read_url\": 5}}",
		     "t.conf:1:32: read_url: expected a string");
	expect_error("{\"redis\": {\"url\": \"redis://h\", \"max_reply\": 4095}}",
		     "t.conf:1:32: max_reply: expected a whole number from 4096 to 67108864");
	expect_error("{\"redis\": {\"url\": \"redis://h\", \"max_reply\": 67108865}}",
		     "t.conf:1:32: max_reply: expected a whole number from 0 to 67108864");
	expect_error("{\"redis\": {\"url\": \"redis://h\", \"max_reply\": \"1M\"}}",
		     "t.conf:1:32: max_reply: expected a whole number from 0 to 67108864");
	assert_int_equal(parse("{\"redis\": {\"url\": \"redis://h\", \"read_url\": "
			       "\"unix:///run/r.sock\", \"max_reply\": 4096}}",
			       &c, &e),
			 PSM_OK);
	assert_string_equal(c.redis.read.unix_path, "/run/r.sock");
	assert_int_equal(c.redis.max_reply, 4096);
	config_free(&c);
}

static void test_duplicate_key(void **state)
{
	(void)state;
	expect_error_prefix("{\"capacity\": 5,\n \"capacity\": 6}", "t.conf:2:2: ");
	expect_error_prefix("{\"redis\": {\"url\": \"redis://a\", \"url\": \"redis://b\"}}",
			    "t.conf:1:32: ");
}

static void test_syntax_error(void **state)
{
	expect_error_prefix("{\n  \"capacity\": 5,,\n}", "t.conf:2:");
	(void)state;
}

static void test_names(void **state)
{
	(void)state;
	expect_error_prefix("{\"host_name\": \"a-very-long-host-name-that-goes-on-and-on-and-on-"
			    "beyond-the-limit\"}",
			    "t.conf:1:2: host_name: \"a-very-long-host-name");
	expect_error_prefix("{\"host_name\": \"web 01\"}",
			    "t.conf:1:2: host_name: \"web 01\" must");
	expect_error_prefix("{\"table_group\": \"\"}", "t.conf:1:2: table_group: \"\" must");
	expect_error_prefix("{\"admin_group\": \"a:b\"}", "t.conf:1:2: admin_group: \"a:b\" must");
	expect_error("{\"labels\": [\"web\", \"pr od\"]}",
		     "t.conf:1:20: labels: \"pr od\" must be 1 or more of A-Z a-z 0-9 . _ -");
}

static void test_load_file(void **state)
{
	char dir[] = "/tmp/psm-test-config-XXXXXX", path[64];
	struct psmd_config c;
	struct psm_err e;
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/psmd.conf", dir);
	assert_int_equal(config_load(path, &c, &e), PSM_ENOENT);
	assert_non_null(strstr(e.msg, path));
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("{ \"capacity\": 42, // comment\n \"nope\": 1 }", f);
	fclose(f);
	assert_int_equal(config_load(path, &c, &e), PSM_EINVAL);
	assert_non_null(strstr(e.msg, ":2:2: unknown key \"nope\" in configuration"));
	assert_int_equal(strncmp(e.msg, path, strlen(path)), 0);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("{ \"capacity\": 42 }\n", f);
	fclose(f);
	assert_int_equal(config_load(path, &c, &e), PSM_OK);
	assert_string_equal(c.file, path);
	assert_int_equal(c.capacity, 42);
	config_free(&c);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_empty_object_is_defaults),
	    cmocka_unit_test(test_every_key),
	    cmocka_unit_test(test_comments),
	    cmocka_unit_test(test_unknown_key_position),
	    cmocka_unit_test(test_wrong_types),
	    cmocka_unit_test(test_null_only_where_off),
	    cmocka_unit_test(test_bad_shm_name),
	    cmocka_unit_test(test_relative_paths),
	    cmocka_unit_test(test_capacity_range),
	    cmocka_unit_test(test_session_expiry),
	    cmocka_unit_test(test_bad_redis_url),
	    cmocka_unit_test(test_redis_url_forms),
	    cmocka_unit_test(test_redis_sentinels),
	    cmocka_unit_test(test_bad_redis_sentinels),
	    cmocka_unit_test(test_bad_redis_read_url_max_reply),
	    cmocka_unit_test(test_duplicate_key),
	    cmocka_unit_test(test_syntax_error),
	    cmocka_unit_test(test_names),
	    cmocka_unit_test(test_load_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
