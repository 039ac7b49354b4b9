/* SPDX-License-Identifier: MIT */
/* test_fleet_keys.c - trusted_keys parsing (FILE:LINE:COL errors), scopes, and the secret key file.
 */
#include <fcntl.h>
#include <ftw.h>
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
#include <sodium.h>

#include "keys.h"

/* "ed25519:<base64 of a fresh public key>" (52 characters: the name begins at column 54). */
static void pub_field(char *out, size_t cap)
{
	unsigned char pk[KEYS_PUBLIC_BYTES], sk[KEYS_SECRET_BYTES];
	char line[KEYS_LINE_MAX];
	size_t n;

	crypto_sign_keypair(pk, sk);

	keys_public_line(pk, "x", line, sizeof(line));
	n = strcspn(line, " ");
	assert_true(n == 52 && n < cap);
	memcpy(out, line, n);
	out[n] = '\0';
}

/* fmt with every "%s" replaced by k. */
static void subst(const char *fmt, const char *k, char *out, size_t cap)
{
	const char *p;
	size_t n = 0;

	for (p = fmt; *p != '\0' && n + 64 < cap; p++) {
		if (p[0] == '%' && p[1] == 's') {
			n += (size_t)snprintf(out + n, cap - n, "%s", k);
			p++;
		} else {
			out[n++] = *p;
		}
	}
	out[n] = '\0';
}

static int parse(const char *text, struct keys_trusted *t, struct psm_err *e)
{
	return keys_trusted_parse("tk", text, strlen(text), t, e);
}

static void test_keys_good_file(void **state)
{
	char a[64], b[64], c[64], text[1024];
	struct keys_trusted t;
	struct psm_err e = {0};
	const struct keys_public *k;

	(void)state;
	pub_field(a, sizeof(a));
	pub_field(b, sizeof(b));
	pub_field(c, sizeof(c));
	snprintf(text, sizeof(text),
		 "# fleet keys\n\n   \t\n%s web-01 hosts=web,db-01 # the web tier\n"
		 "\t%s  ops\r\n%s star hosts=web,*\n# end",
		 a, b, c);
	assert_int_equal(parse(text, &t, &e), PSM_OK);
	assert_int_equal(t.n, 3);
	k = keys_find(&t, "web-01", 6);
	assert_non_null(k);
	assert_string_equal(k->name, "web-01");
	assert_false(k->all);
	assert_int_equal(k->nscopes, 2);
	assert_string_equal(k->scopes[0], "web");
	assert_string_equal(k->scopes[1], "db-01");
	assert_int_equal(k->line, 4);
	assert_true(keys_find(&t, "ops", 3)->all);
	assert_true(keys_find(&t, "star", 4)->all);
	/* the name is bytes from Redis: no NUL needed, no prefix or extension matches */
	assert_ptr_equal(keys_find(&t, "opsXYZ", 3), keys_find(&t, "ops", 3));
	assert_null(keys_find(&t, "op", 2));
	assert_null(keys_find(&t, "opss", 4));
	assert_null(keys_find(&t, "web-01\0", 7));
	assert_null(keys_find(&t, "", 0));
	keys_trusted_free(&t);
	assert_int_equal(t.n, 0);
}

/* The public key bytes are the ones of the line (a key is not just a name). */
static void test_keys_public_bytes(void **state)
{
	unsigned char pk[KEYS_PUBLIC_BYTES], sk[KEYS_SECRET_BYTES];
	char line[KEYS_LINE_MAX];
	struct keys_trusted t;
	struct psm_err e = {0};

	(void)state;
	assert_int_equal(keys_init(&e), PSM_OK);
	crypto_sign_keypair(pk, sk);
	keys_public_line(pk, "h1", line, sizeof(line));
	assert_int_equal(parse(line, &t, &e), PSM_OK);
	assert_int_equal(t.n, 1);
	assert_memory_equal(keys_find(&t, "h1", 2)->pk, pk, sizeof(pk));
	keys_trusted_free(&t);
}

static void test_keys_cover(void **state)
{
	char a[64], b[64], text[512];
	struct keys_trusted t;
	struct psm_err e = {0};
	const struct keys_public *web, *all;
	const char *both[] = {"web", "db-01"}, *one[] = {"web"}, *star[] = {"*"};
	const char *other[] = {"web", "db-02"}, *label[] = {"db-01"};

	(void)state;
	pub_field(a, sizeof(a));
	pub_field(b, sizeof(b));
	snprintf(text, sizeof(text), "%s web hosts=web,db-01\n%s all\n", a, b);
	assert_int_equal(parse(text, &t, &e), PSM_OK);
	web = keys_find(&t, "web", 3);
	all = keys_find(&t, "all", 3);
	assert_true(keys_cover(web, one, 1));
	assert_true(keys_cover(web, label, 1));
	assert_true(keys_cover(web, both, 2));
	assert_false(keys_cover(web, other, 2)); /* every item must be covered */
	assert_false(keys_cover(web, star, 1));	 /* "*" only by a key of every scope */
	assert_false(keys_cover(web, one, 0));	 /* unknown scope */
	assert_true(keys_cover(all, other, 2));
	assert_true(keys_cover(all, star, 1));
	assert_true(keys_cover(all, one, 0));
	assert_false(keys_cover(NULL, one, 1));
	keys_trusted_free(&t);
}

struct bad_line {
	const char *fmt; /* %s: a good "ed25519:..." field (52 characters) */
	const char *want;
};

static void test_keys_bad_lines(void **state)
{
	static const struct bad_line cases[] = {
	    {"ssh-ed25519 AAAA h1", "tk:1:1: expected ed25519:<base64 public key>"},
	    {"  ed25519 %s h1", "tk:1:3: expected ed25519:<base64 public key>"},
	    {"ed25519:AAAA!AAA h1", "tk:1:9: public key: not the base64 of 32 bytes"},
	    {"ed25519:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA== h1",
	     "tk:1:9: public key: not the base64 of 32 bytes"},
	    {"%s", "tk:1:53: missing key name after the key"},
	    {"%s # no name", "tk:1:54: missing key name after the key"},
	    {"%s bad/name", "tk:1:54: key name: bad character 0x2f at 4"},
	    {"%s 0123456789012345678901234567890123456789012345678901234567890123",
	     "tk:1:54: key name: longer than 63 bytes"},
	    {"%s h1 scopes=web", "tk:1:57: expected hosts=NAME|LABEL|*,... after the key name"},
	    {"%s h1 hosts=", "tk:1:63: hosts: empty list"},
	    {"%s h1 hosts=web,,db", "tk:1:67: hosts: empty item"},
	    {"%s h1 hosts=web,", "tk:1:67: hosts: empty item"},
	    {"%s h1 hosts=web,b@d", "tk:1:67: hosts item: bad character 0x40 at 2"},
	    {"%s h1 hosts=web extra",
	     "tk:1:67: unexpected text after hosts= (a comment begins with #)"},
	    {"# one\n\n%s h1\nkey h2", "tk:4:1: expected ed25519:<base64 public key>"},
	    {"%s h1\n%s h2\n# x\n%s h1 hosts=web",
	     "tk:4:54: duplicate key name \"h1\" (first on line 1)"},
	};
	char k[64], text[1024];
	struct keys_trusted t;
	size_t i;

	(void)state;
	pub_field(k, sizeof(k));
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct psm_err e = {0};

		/* the same key in every %s: duplicate keys are not what is tested */
		subst(cases[i].fmt, k, text, sizeof(text));
		assert_int_equal(parse(text, &t, &e), PSM_EINVAL);
		assert_string_equal(e.msg, cases[i].want);
		assert_null(t.keys);
		assert_int_equal(t.n, 0);
	}
}

static void test_keys_nul_byte(void **state)
{
	char k[64], text[128];
	struct keys_trusted t;
	struct psm_err e = {0};
	size_t n;

	(void)state;
	pub_field(k, sizeof(k));
	n = (size_t)snprintf(text, sizeof(text), "%s h1\n%s h2", k, k);
	text[n - 1] = '\0'; /* "h\0": a name cut short by a NUL must not pass as "h" */
	assert_int_equal(keys_trusted_parse("tk", text, n, &t, &e), PSM_EINVAL);
	assert_string_equal(e.msg, "tk:2:55: NUL byte");
}

/* text of n lines "KEY kNNNN" (distinct names), then extra. */
static char *many_keys(const char *k, size_t n, const char *extra)
{
	size_t cap = n * 64 + strlen(extra) + 1, len = 0, i;
	char *text = malloc(cap);

	assert_non_null(text);
	for (i = 0; i < n; i++)
		len += (size_t)snprintf(text + len, cap - len, "%s k%zu\n", k, i);
	snprintf(text + len, cap - len, "%s", extra);
	return text;
}

static void test_keys_limits(void **state)
{
	char k[64], line[4096];
	struct keys_trusted t;
	struct psm_err e = {0};
	char *text;
	size_t i, n;

	(void)state;
	pub_field(k, sizeof(k));
	text = many_keys(k, KEYS_MAX, "");
	assert_int_equal(parse(text, &t, &e), PSM_OK);
	assert_int_equal(t.n, KEYS_MAX);
	assert_non_null(keys_find(&t, "k4095", 5));
	keys_trusted_free(&t);
	free(text);
	text = many_keys(k, KEYS_MAX, "# comment\n  ed25519:x one-too-many");
	assert_int_equal(parse(text, &t, &e), PSM_EINVAL);
	assert_string_equal(e.msg, "tk:4098:3: more than 4096 keys");
	free(text);
	/* 64 hosts= items pass, the 65th is refused at its column */
	n = (size_t)snprintf(line, sizeof(line), "%s h1 hosts=h0", k);
	for (i = 1; i < KEYS_SCOPES_MAX; i++)
		n += (size_t)snprintf(line + n, sizeof(line) - n, ",h%zu", i);
	assert_int_equal(parse(line, &t, &e), PSM_OK);
	assert_int_equal(t.keys[0].nscopes, KEYS_SCOPES_MAX);
	keys_trusted_free(&t);
	snprintf(line + n, sizeof(line) - n, ",h64");
	assert_int_equal(parse(line, &t, &e), PSM_EINVAL);
	snprintf(k, sizeof(k), "tk:1:%zu: hosts: more than 64 items", n + 2);
	assert_string_equal(e.msg, k);
}

/* ---- files ------------------------------------------------------------------------------ */

struct dir_fx {
	char dir[64];
	char path[128];
};

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	return remove(p);
}

static int dir_setup(void **state)
{
	struct dir_fx *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/psm-keys-XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	*state = f;
	return 0;
}

static int dir_teardown(void **state)
{
	struct dir_fx *f = *state;

	nftw(f->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

static const char *fx_path(struct dir_fx *f, const char *name)
{
	snprintf(f->path, sizeof(f->path), "%s/%s", f->dir, name);
	return f->path;
}

static void write_file(const char *path, const char *text, mode_t mode)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	fputs(text, fp);
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(chmod(path, mode), 0);
}

static char *read_text(const char *path)
{
	static char buf[512];
	FILE *fp = fopen(path, "r");
	size_t n;

	assert_non_null(fp);
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	fclose(fp);
	buf[n] = '\0';
	return buf;
}

/* keygen's secret loads; its printed line loads as trusted_keys with the same key. */
static void test_keys_keygen_roundtrip(void **state)
{
	struct dir_fx *f = *state;
	char line[KEYS_LINE_MAX], sk_path[128];
	struct keys_secret *sk = NULL;
	struct keys_trusted t;
	struct psm_err e = {0};
	struct stat st;

	snprintf(sk_path, sizeof(sk_path), "%s", fx_path(f, "host.sk"));
	assert_int_equal(keys_generate(sk_path, "h1", line, sizeof(line), &e), PSM_OK);
	assert_int_equal(stat(sk_path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(strncmp(read_text(sk_path), KEYS_SECRET_PREFIX, 15), 0);
	assert_int_equal(keys_secret_load(sk_path, &sk, &e), PSM_OK);
	assert_string_equal(sk->name, "h1");
	write_file(fx_path(f, "trusted"), line, 0644);
	assert_int_equal(keys_trusted_load(f->path, &t, &e), PSM_OK);
	assert_int_equal(t.n, 1);
	assert_string_equal(t.keys[0].name, "h1");
	/* the public key of the line is the secret key's own (libsodium: seed, then public) */
	assert_memory_equal(t.keys[0].pk, sk->sk + 32, KEYS_PUBLIC_BYTES);
	keys_trusted_free(&t);
	keys_secret_free(sk);
}

static void test_keys_keygen_never_overwrites(void **state)
{
	struct dir_fx *f = *state;
	char line[KEYS_LINE_MAX], before[512], target[128];
	struct psm_err e = {0};

	write_file(fx_path(f, "old.sk"), "precious\n", 0600);
	snprintf(before, sizeof(before), "%s", read_text(f->path));
	assert_int_equal(keys_generate(f->path, "h1", line, sizeof(line), &e), PSM_EEXIST);
	assert_non_null(strstr(e.msg, "already exists"));
	assert_string_equal(read_text(f->path), before);
	/* nor through a symbolic link, even one to a file that does not exist yet */
	snprintf(target, sizeof(target), "%s", fx_path(f, "target"));
	assert_int_equal(symlink(target, fx_path(f, "link.sk")), 0);
	assert_int_equal(keys_generate(f->path, "h1", line, sizeof(line), &e), PSM_EEXIST);
	assert_int_equal(access(target, F_OK), -1);
	assert_int_equal(keys_generate(fx_path(f, "n.sk"), "bad name", line, sizeof(line), &e),
			 PSM_EINVAL);
	assert_string_equal(e.msg, "key name: bad character 0x20 at 4");
	assert_int_equal(access(f->path, F_OK), -1);
}

static void expect_secret_refused(const char *path, const char *want)
{
	struct keys_secret *sk = (struct keys_secret *)1;
	struct psm_err e = {0};

	assert_int_not_equal(keys_secret_load(path, &sk, &e), PSM_OK);
	assert_null(sk);
	if (strstr(e.msg, want) == NULL)
		fail_msg("\"%s\" does not say \"%s\"", e.msg, want);
	assert_int_equal(strncmp(e.msg, path, strlen(path)), 0);
}

static void test_keys_secret_refused(void **state)
{
	struct dir_fx *f = *state;
	char line[KEYS_LINE_MAX], sk_path[128], text[512];
	struct keys_secret *sk = NULL;

	snprintf(sk_path, sizeof(sk_path), "%s", fx_path(f, "host.sk"));
	assert_int_equal(keys_generate(sk_path, "h1", line, sizeof(line), &(struct psm_err){0}),
			 PSM_OK);
	snprintf(text, sizeof(text), "%s", read_text(sk_path));
	assert_int_equal(chmod(sk_path, 0644), 0);
	expect_secret_refused(sk_path, ": mode 0644: a secret key must be 0600 or stricter");
	assert_int_equal(chmod(sk_path, 0640), 0);
	expect_secret_refused(sk_path, ": mode 0640: ");
	assert_int_equal(chmod(sk_path, 0400), 0); /* stricter is fine */
	assert_int_equal(keys_secret_load(sk_path, &sk, &(struct psm_err){0}), PSM_OK);
	keys_secret_free(sk);
	assert_int_equal(symlink(sk_path, fx_path(f, "link.sk")), 0);
	expect_secret_refused(f->path, ": is a symbolic link");
	assert_int_equal(mkdir(fx_path(f, "dir.sk"), 0700), 0);
	expect_secret_refused(f->path, ": not a regular file");
	expect_secret_refused(fx_path(f, "missing.sk"), ": No such file or directory");
	write_file(fx_path(f, "other.sk"), text, 0600);
	if (geteuid() == 0) {
		assert_int_equal(chown(f->path, 65534, 65534), 0);
		expect_secret_refused(f->path, ": owned by uid 65534, not by root or uid 0");
	}
	/* the public half (base64 characters 44..85) no longer matches the seed */
	text[strlen(KEYS_SECRET_PREFIX) + 60] =
	    text[strlen(KEYS_SECRET_PREFIX) + 60] == 'A' ? 'B' : 'A';
	write_file(fx_path(f, "damaged.sk"), text, 0600);
	expect_secret_refused(f->path, ": secret key does not match its public half");
	write_file(fx_path(f, "short.sk"), "ed25519-secret:AAAA h1\n", 0600);
	expect_secret_refused(f->path, ":1:16: secret key: not the base64 of 64 bytes");
	write_file(fx_path(f, "pub.sk"), line, 0600);
	expect_secret_refused(f->path, ":1:1: expected ed25519-secret:<base64> NAME");
}

static void test_keys_trusted_file_refused(void **state)
{
	struct dir_fx *f = *state;
	char k[64], text[256];
	struct keys_trusted t;
	struct psm_err e = {0};

	pub_field(k, sizeof(k));
	snprintf(text, sizeof(text), "%s h1\n", k);
	write_file(fx_path(f, "trusted"), text, 0666);
	assert_int_equal(keys_trusted_load(f->path, &t, &e), PSM_EINVAL);
	assert_non_null(strstr(e.msg, ": mode 0666: writable by group or others"));
	assert_int_equal(chmod(f->path, 0644), 0);
	assert_int_equal(keys_trusted_load(f->path, &t, &e), PSM_OK);
	keys_trusted_free(&t);
	write_file(f->path, "# a comment\nnot-a-key h1\n", 0644);
	assert_int_equal(keys_trusted_load(f->path, &t, &e), PSM_EINVAL);
	snprintf(text, sizeof(text), "%s:2:1: expected ed25519:<base64 public key>", f->path);
	assert_string_equal(e.msg, text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_keys_good_file),
	    cmocka_unit_test(test_keys_public_bytes),
	    cmocka_unit_test(test_keys_cover),
	    cmocka_unit_test(test_keys_bad_lines),
	    cmocka_unit_test(test_keys_nul_byte),
	    cmocka_unit_test(test_keys_limits),
	    cmocka_unit_test_setup_teardown(test_keys_keygen_roundtrip, dir_setup, dir_teardown),
	    cmocka_unit_test_setup_teardown(test_keys_keygen_never_overwrites, dir_setup,
					    dir_teardown),
	    cmocka_unit_test_setup_teardown(test_keys_secret_refused, dir_setup, dir_teardown),
	    cmocka_unit_test_setup_teardown(test_keys_trusted_file_refused, dir_setup,
					    dir_teardown),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
