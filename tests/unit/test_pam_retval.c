/* SPDX-License-Identifier: MIT */
/* test_pam_retval.c - pam_psm.so inside real libpam (pam_start_confdir): every return code. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <fcntl.h>
#include <limits.h>
#include <security/pam_appl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "eval_fixture.h"
#include "pam_fixture.h"

static struct fx good, stale;

/* pam_acct_mgmt for user on service whose stack is "pam_psm.so ARGS" (the table argument
 * shm= comes first so that args may override it); -1 when the harness failed. */
static int try_on(const char *table, const char *service, const char *user, const char *args,
		  const char *rhost)
{
	struct pam_conv conv = {conv_none, NULL};
	char line[PATH_MAX + 512];
	pam_handle_t *pamh = NULL;
	int rc;

	snprintf(line, sizeof(line), "account required %s shm=%s %s\n", module, table, args);
	if (!write_file(service, line) ||
	    pam_start_confdir(service, user, &conv, confdir, &pamh) != PAM_SUCCESS)
		return -1;
	if (rhost && pam_set_item(pamh, PAM_RHOST, rhost) != PAM_SUCCESS)
		rc = -1;
	else
		rc = pam_acct_mgmt(pamh, 0);
	pam_end(pamh, rc);
	return rc;
}

static int run_on(const char *table, const char *service, const char *user, const char *args,
		  const char *rhost)
{
	int rc = try_on(table, service, user, args, rhost);

	assert_true(rc >= 0);
	return rc;
}

static int run(const char *service, const char *user, const char *args)
{
	return run_on(good.name, service, user, args, NULL);
}

static void build_table(struct fx *f, int64_t age)
{
	fx_begin(f);
	fx_add(f, &(struct fx_rec){.kind = SHM_GRANT,
				   .flags = SHM_FL_GROUP,
				   .key = "%0",
				   .principal = "%root",
				   .pattern = "sudo:run"});
	fx_add(f, &(struct fx_rec){
		      .kind = SHM_DENY, .key = "root", .pattern = "sudo:cmd:*", .rule = 1});
	fx_add(f, &(struct fx_rec){.kind = SHM_GRANT,
				   .flags = SHM_FL_UID_CHECKED,
				   .key = "nobody",
				   .uid = 65534,
				   .pattern = "login:*"});
	fx_add(f, &(struct fx_rec){.kind = SHM_GRANT, .key = "nobody", .pattern = "pam:cron"});
	fx_add(f,
	       &(struct fx_rec){
		   .kind = SHM_GRANT, .key = "nobody", .pattern = "net:*", .from = "10.0.0.0/8"});
	fx_add(f, &(struct fx_rec){.kind = SHM_SERVICE, .key = "sshd", .pattern = "login:ssh"});
	fx_add(f, &(struct fx_rec){.kind = SHM_SERVICE, .key = "sudo", .pattern = "sudo:run"});
	fx_add(f, &(struct fx_rec){.kind = SHM_BREAKGLASS, .key = "nobody"});
	fx_publish_aged(f, age);
}

static int setup(void **state)
{
	(void)state;
	if (pam_fixture_setup("pam") != 0)
		return -1;
	build_table(&good, 0);
	build_table(&stale, 600);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	fx_end(&good);
	fx_end(&stale);
	return pam_fixture_teardown();
}

static void test_allow_group_grant(void **state)
{
	(void)state;
	assert_int_equal(run("sudo", "root", ""), PAM_SUCCESS);
	assert_int_equal(run("sudo", "root", "debug"), PAM_SUCCESS);
}

static void test_deny_no_grant(void **state)
{
	(void)state;
	assert_int_equal(run("sudo", "nobody", ""), PAM_PERM_DENIED);
	assert_int_equal(run("sudo", "nobody", "quiet"), PAM_PERM_DENIED);
}

static void test_deny_rule(void **state)
{
	(void)state;
	assert_int_equal(run("sudo", "root", "perm=sudo:cmd:/bin/sh"), PAM_PERM_DENIED);
}

static void test_unknown_user(void **state)
{
	(void)state;
	assert_int_equal(run("sudo", "psm-no-such-user", ""), PAM_USER_UNKNOWN);
}

static void test_ignore_unknown_user(void **state)
{
	char args[PATH_MAX + 64];

	(void)state;
	/* A lone PAM_IGNORE leaves libpam without a verdict: it then fails the stack; with
	 * pam_permit after it the ignore shows as success, while a deny would not. */
	snprintf(args, sizeof(args), "ignore_unknown_user\naccount required pam_permit.so");
	assert_int_equal(run("sudo", "psm-no-such-user", args), PAM_SUCCESS);
	assert_int_equal(run("sudo", "nobody", args), PAM_PERM_DENIED);
	assert_int_not_equal(run("sudo", "psm-no-such-user", "ignore_unknown_user"), PAM_SUCCESS);
}

static void test_services_map(void **state)
{
	(void)state;
	assert_int_equal(run("sshd", "nobody", ""), PAM_SUCCESS);
	assert_int_equal(run("cron", "nobody", ""), PAM_SUCCESS);
	assert_int_equal(run("login", "nobody", ""), PAM_PERM_DENIED);
	assert_int_equal(run("sshd", "root", ""), PAM_PERM_DENIED);
}

static void test_perm_override(void **state)
{
	(void)state;
	assert_int_equal(run("sudo", "nobody", "perm=login:ssh"), PAM_SUCCESS);
	assert_int_equal(run("sshd", "nobody", "perm=sudo:run"), PAM_PERM_DENIED);
}

static void test_rhost_from(void **state)
{
	(void)state;
	assert_int_equal(run_on(good.name, "sshd", "nobody", "perm=net:x", "10.1.2.3"),
			 PAM_SUCCESS);
	assert_int_equal(run_on(good.name, "sshd", "nobody", "perm=net:x", "192.0.2.1"),
			 PAM_PERM_DENIED);
	assert_int_equal(run_on(good.name, "sshd", "nobody", "perm=net:x", NULL), PAM_PERM_DENIED);
}

static void test_table_missing(void **state)
{
	(void)state;
	assert_int_equal(run_on("/psm-test-none", "sudo", "root", "", NULL), PAM_AUTHINFO_UNAVAIL);
	assert_int_equal(run_on("/psm-test-none", "sudo", "root", "onerr=fail", NULL),
			 PAM_AUTHINFO_UNAVAIL);
	assert_int_equal(run_on("/psm-test-none", "sudo", "root", "onerr=succeed", NULL),
			 PAM_SUCCESS);
}

/* Copies the good table into a new object, changed by fn; returns its name in name. */
static void make_bad(char *name, size_t n, void (*fn)(int fd, size_t size))
{
	char src[160], dst[160];
	struct stat st;
	static int k;
	int in, out;
	char *buf;

	snprintf(name, n, "/psm-test-%d-bad%d", (int)getpid(), k++);
	snprintf(src, sizeof(src), "/dev/shm%s", good.name);
	snprintf(dst, sizeof(dst), "/dev/shm%s", name);
	in = open(src, O_RDONLY | O_CLOEXEC);
	assert_true(in >= 0);
	assert_int_equal(fstat(in, &st), 0);
	buf = malloc((size_t)st.st_size);
	assert_non_null(buf);
	assert_int_equal(read(in, buf, (size_t)st.st_size), st.st_size);
	close(in);
	out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
	assert_true(out >= 0);
	assert_int_equal(write(out, buf, (size_t)st.st_size), st.st_size);
	free(buf);
	fn(out, (size_t)st.st_size);
	close(out);
}

static void bad_magic(int fd, size_t size)
{
	(void)size;
	assert_int_equal(pwrite(fd, "XXXX", 4, 0), 4);
}

static void bad_world_writable(int fd, size_t size)
{
	(void)size;
	assert_int_equal(fchmod(fd, 0666), 0);
}

static void bad_owner(int fd, size_t size)
{
	(void)size;
	assert_int_equal(fchown(fd, 65534, 0), 0);
}

static void bad_truncated(int fd, size_t size)
{
	assert_int_equal(ftruncate(fd, (off_t)(size / 2)), 0);
}

static void unavailable_case(void (*fn)(int fd, size_t size))
{
	char name[128];

	make_bad(name, sizeof(name), fn);
	assert_int_equal(run_on(name, "sudo", "root", "", NULL), PAM_AUTHINFO_UNAVAIL);
	assert_int_equal(run_on(name, "sudo", "nobody", "", NULL), PAM_AUTHINFO_UNAVAIL);
	assert_int_equal(run_on(name, "sudo", "root", "onerr=succeed", NULL), PAM_SUCCESS);
	assert_int_equal(run_on(name, "sudo", "nobody", "break_glass=nobody", NULL), PAM_SUCCESS);
	assert_int_equal(run_on(name, "sudo", "root", "break_glass=nobody", NULL),
			 PAM_AUTHINFO_UNAVAIL);
	shm_unlink(name);
}

static void test_corrupt_table(void **state)
{
	(void)state;
	unavailable_case(bad_magic);
	unavailable_case(bad_truncated);
}

static void test_world_writable_table(void **state)
{
	(void)state;
	unavailable_case(bad_world_writable);
}

static void test_wrongly_owned_table(void **state)
{
	(void)state;
	unavailable_case(bad_owner);
}

static void test_stale_with_max_stale(void **state)
{
	(void)state;
	assert_int_equal(run_on(stale.name, "sudo", "root", "", NULL), PAM_SUCCESS);
	assert_int_equal(run_on(stale.name, "sudo", "root", "max_stale=5m", NULL),
			 PAM_AUTHINFO_UNAVAIL);
	assert_int_equal(run_on(stale.name, "sudo", "root", "max_stale=1h", NULL), PAM_SUCCESS);
	assert_int_equal(run_on(stale.name, "sudo", "root", "max_stale=5m onerr=succeed", NULL),
			 PAM_SUCCESS);
	assert_int_equal(run_on(good.name, "sudo", "root", "max_stale=5m", NULL), PAM_SUCCESS);
}

static void test_break_glass_arg_when_missing(void **state)
{
	(void)state;
	assert_int_equal(
	    run_on("/psm-test-none", "sudo", "nobody", "break_glass=root,nobody", NULL),
	    PAM_SUCCESS);
	/* the policy's break-glass users (in the table) cannot apply: there is no table */
	assert_int_equal(run_on("/psm-test-none", "sudo", "nobody", "break_glass=root", NULL),
			 PAM_AUTHINFO_UNAVAIL);
	/* a readable, fresh table decides as usual, break-glass or not */
	assert_int_equal(run("sudo", "nobody", "break_glass=nobody"), PAM_PERM_DENIED);
}

static void test_policy_break_glass_when_stale(void **state)
{
	(void)state;
	assert_int_equal(run_on(stale.name, "sudo", "nobody", "max_stale=5m", NULL), PAM_SUCCESS);
	assert_int_equal(run_on(stale.name, "sudo", "root", "max_stale=5m", NULL),
			 PAM_AUTHINFO_UNAVAIL);
	assert_int_equal(run_on(stale.name, "sudo", "root", "max_stale=5m break_glass=root", NULL),
			 PAM_SUCCESS);
	/* fresh table: the policy's break-glass user gets no extra rights */
	assert_int_equal(run("sudo", "nobody", "max_stale=5m"), PAM_PERM_DENIED);
}

static void test_unknown_option(void **state)
{
	(void)state;
	assert_int_equal(run("sudo", "root", "foo"), PAM_SERVICE_ERR);
	assert_int_equal(run("sudo", "root", "perms=sudo:run"), PAM_SERVICE_ERR);
}

static void test_malformed_arguments(void **state)
{
	static const char *const bad[] = {
	    "perm=su do",   "perm=sudo:",	    "perm=",
	    "max_stale=5x", "max_stale=0",	    "onerr=maybe",
	    "onerr=",	    "break_glass=",	    "break_glass=root,,x",
	    "ttl=-5m",	    "socket=relative.sock", "shm=nolead",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		print_message("argument %s\n", bad[i]);
		assert_int_equal(run("sudo", "root", bad[i]), PAM_SERVICE_ERR);
	}
	assert_int_equal(run_on("/bad name!", "sudo", "root", "", NULL), PAM_SERVICE_ERR);
}

static void test_log_deny_line(void **state)
{
	(void)state;
	log_clear();
	assert_int_equal(run("sudo", "nobody", "quiet"), PAM_PERM_DENIED);
	assert_true(log_has("<5>pam_psm(sudo:account): deny user=nobody service=sudo rhost=- "
			    "perm=sudo:run reason=no grant\n"));
	log_clear();
	assert_int_equal(run_on(good.name, "sshd", "root", "perm=sudo:cmd:/x", "192.0.2.7"),
			 PAM_PERM_DENIED);
	assert_true(log_has("<5>pam_psm(sshd:account): deny user=root service=sshd "
			    "rhost=192.0.2.7 perm=sudo:cmd:/x reason=deny rule 1\n"));
	log_clear();
	assert_int_equal(run("sudo", "psm-no-such-user", ""), PAM_USER_UNKNOWN);
	assert_true(log_has("<5>pam_psm(sudo:account): deny user=psm-no-such-user service=sudo "
			    "rhost=- perm=- reason=unknown user\n"));
}

static void test_log_allow_only_with_debug(void **state)
{
	(void)state;
	log_clear();
	assert_int_equal(run("sudo", "root", ""), PAM_SUCCESS);
	assert_string_equal(logbuf, "");
	assert_int_equal(run("sudo", "root", "debug quiet"), PAM_SUCCESS);
	assert_string_equal(logbuf, "");
	assert_int_equal(run("sudo", "root", "debug"), PAM_SUCCESS);
	assert_true(log_has("<7>pam_psm(sudo:account): allow user=root service=sudo rhost=- "
			    "perm=sudo:run reason=granted by "));
}

static void test_log_bad_arguments(void **state)
{
	(void)state;
	log_clear();
	assert_int_equal(run("sudo", "root", "foo"), PAM_SERVICE_ERR);
	assert_true(log_has("<3>pam_psm(sudo:account): unknown option \"foo\"\n"));
	assert_int_equal(run("sudo", "root", "max_stale=5x"), PAM_SERVICE_ERR);
	assert_true(log_has("<3>pam_psm(sudo:account): bad max_stale \"5x\": "));
	assert_int_equal(run("sudo", "root", "perm=su!do"), PAM_SERVICE_ERR);
	assert_true(log_has("<3>pam_psm(sudo:account): bad perm \"su!do\": "));
}

static void test_log_unavailable(void **state)
{
	(void)state;
	log_clear();
	assert_int_equal(run_on("/psm-test-none", "sudo", "root", "", NULL), PAM_AUTHINFO_UNAVAIL);
	assert_true(log_has("<3>pam_psm(sudo:account): deny user=root service=sudo rhost=- "
			    "perm=- reason=table unavailable: "
			    "table /psm-test-none: no such table"));
	log_clear();
	assert_int_equal(run_on("/psm-test-none", "sudo", "root", "onerr=succeed quiet", NULL),
			 PAM_SUCCESS);
	assert_true(log_has("<3>pam_psm(sudo:account): allow (onerr=succeed) user=root "));
	log_clear();
	assert_int_equal(run_on(stale.name, "sudo", "root", "", NULL), PAM_SUCCESS);
	assert_true(log_has("<4>pam_psm(sudo:account): table "));
	/* 10m, or 10m1s on a slow run: the fixture's heartbeat is 600 s old at setup */
	assert_true(log_has(" heartbeat is 10m"));
	assert_true(log_has(" ago (is psmd running?)\n"));
	log_clear();
	assert_int_equal(run_on(stale.name, "sudo", "root", "max_stale=1m", NULL),
			 PAM_AUTHINFO_UNAVAIL);
	assert_true(log_has("reason=table unavailable: table "));
	assert_true(log_has(": stale: heartbeat 10m"));
	assert_true(log_has(" ago (max_stale 1m)\n"));
}

/* In a child with a fresh kernel audit session: grants bound to it allow, others do not.
 * Exit status: 0 as expected, 77 no audit support, else the step that failed. */
static int session_child(void)
{
	char buf[16] = "";
	unsigned long id;
	struct fx f;
	int fd = open("/proc/self/loginuid", O_WRONLY | O_CLOEXEC), rc = 77;

	if (fd >= 0 && write(fd, "0", 1) == 1)
		rc = 0;
	if (fd >= 0)
		close(fd);
	fd = open("/proc/self/sessionid", O_RDONLY | O_CLOEXEC);
	if (rc != 0 || fd < 0 || read(fd, buf, sizeof(buf) - 1) <= 0)
		return 77;
	close(fd);
	id = strtoul(buf, NULL, 10);
	if (id == 0 || id >= SHM_U32_NONE)
		return 77;
	fx_begin(&f);
	fx_add(&f, &(struct fx_rec){.kind = SHM_GRANT,
				    .flags = SHM_FL_SESSION_BOUND,
				    .key = "root",
				    .pattern = "x:mine",
				    .audit = (uint32_t)id});
	fx_add(&f, &(struct fx_rec){.kind = SHM_GRANT,
				    .flags = SHM_FL_SESSION_BOUND,
				    .key = "root",
				    .pattern = "x:other",
				    .audit = (uint32_t)id + 1});
	fx_publish(&f);
	rc = try_on(f.name, "sudo", "root", "perm=x:mine", NULL) != PAM_SUCCESS	       ? 1
	     : try_on(f.name, "sudo", "root", "perm=x:other", NULL) != PAM_PERM_DENIED ? 2
	     : try_on(f.name, "sudo", "root", "perm=x:none", NULL) != PAM_PERM_DENIED  ? 3
										       : 0;
	fx_end(&f);
	return rc;
}

static void test_session_bound_grant(void **state)
{
	int status = 0;
	pid_t pid;

	(void)state;
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(session_child());
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) == 77)
		skip();
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_session_arguments(void **state)
{
	(void)state;
	assert_int_equal(run("sudo", "root", "ttl=12h socket=/run/psm/psmd.sock"), PAM_SUCCESS);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_allow_group_grant),
	    cmocka_unit_test(test_deny_no_grant),
	    cmocka_unit_test(test_deny_rule),
	    cmocka_unit_test(test_unknown_user),
	    cmocka_unit_test(test_ignore_unknown_user),
	    cmocka_unit_test(test_services_map),
	    cmocka_unit_test(test_perm_override),
	    cmocka_unit_test(test_rhost_from),
	    cmocka_unit_test(test_table_missing),
	    cmocka_unit_test(test_corrupt_table),
	    cmocka_unit_test(test_world_writable_table),
	    cmocka_unit_test(test_wrongly_owned_table),
	    cmocka_unit_test(test_stale_with_max_stale),
	    cmocka_unit_test(test_break_glass_arg_when_missing),
	    cmocka_unit_test(test_policy_break_glass_when_stale),
	    cmocka_unit_test(test_unknown_option),
	    cmocka_unit_test(test_malformed_arguments),
	    cmocka_unit_test(test_session_arguments),
	    cmocka_unit_test(test_session_bound_grant),
	    cmocka_unit_test(test_log_deny_line),
	    cmocka_unit_test(test_log_allow_only_with_debug),
	    cmocka_unit_test(test_log_bad_arguments),
	    cmocka_unit_test(test_log_unavailable),
	};

	(void)argc;
	if (pam_fixture_find_module(argv[0]) != 0)
		return 1;
	return cmocka_run_group_tests(tests, setup, teardown);
}
