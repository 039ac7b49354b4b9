/* SPDX-License-Identifier: MIT */
/* test_shm.c - unit tests of the shared-memory table: writer, reader, checks on open, crc. */
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "crc32c.h"
#include "test_shm_util.h"

struct fix {
	char name[64];
	struct shm_writer *w;
	struct shm_view v;
};

static int fix_setup_cap(void **state, uint64_t cap)
{
	struct fix *f = calloc(1, sizeof(*f));

	tshm_name(f->name, sizeof(f->name));
	f->w = tshm_writer(f->name, cap);
	f->v.fd = -1;
	*state = f;
	return 0;
}

static int fix_setup(void **state)
{
	return fix_setup_cap(state, 64);
}

static int fix_setup_small(void **state)
{
	return fix_setup_cap(state, 4);
}

static int fix_teardown(void **state)
{
	struct fix *f = *state;

	shm_view_close(&f->v);
	shm_writer_discard(f->w);
	tshm_unlink(f->name);
	free(f);
	return 0;
}

/* pread(2) as the library calls it, counted: the preads a walk makes are exact figures. */
static unsigned pread_calls;
ssize_t tshm_pread(int fd, void *buf, size_t n, off_t off) __asm__("pread");
ssize_t tshm_pread(int fd, void *buf, size_t n, off_t off)
{
	pread_calls++;
	return syscall(SYS_pread64, fd, buf, n, off);
}

static void fix_publish_open(struct fix *f)
{
	struct psm_err err = {0};

	assert_int_equal(shm_writer_publish(f->w, &err), PSM_OK);
	assert_int_equal(shm_view_open(&f->v, f->name, &err), PSM_OK);
}

/* Opening f->name fails with PSM_EUNAVAIL and a message containing what, mapped and with
 * pread alike. */
static void fix_open_fails(struct fix *f, const char *what)
{
	static const unsigned modes[] = {0, SHM_VIEW_PREAD};
	struct shm_view v;
	struct psm_err err = {0};
	size_t i;

	for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		assert_int_equal(shm_view_open_flags(&v, f->name, modes[i], &err), PSM_EUNAVAIL);
		if (strstr(err.msg, what) == NULL)
			fail_msg("message '%s' lacks '%s'", err.msg, what);
		assert_int_equal(v.fd, -1);
		assert_null(v.base);
		assert_false(shm_view_is_open(&v));
	}
}

static void fix_path(const struct fix *f, char *buf, size_t n)
{
	snprintf(buf, n, "/dev/shm%s", f->name);
}

/* Keys that fall in the same bucket of a table with nbuckets buckets. */
static void colliding_keys(uint8_t kind, uint32_t nbuckets, char keys[][16], int n)
{
	uint32_t want = 0;
	int found = 0, i;

	for (i = 0; found < n; i++) {
		char k[16];

		snprintf(k, sizeof(k), "user%d", i);
		if (found == 0)
			want = shm_hash(kind, k, strlen(k)) & (nbuckets - 1);
		if ((shm_hash(kind, k, strlen(k)) & (nbuckets - 1)) == want)
			memcpy(keys[found++], k, sizeof(k));
	}
}

static int count_cb(const struct shm_entry *e, void *ctx)
{
	(void)e;
	(*(int *)ctx)++;
	return 0;
}

static int scan_count(const struct shm_view *v, uint8_t kind)
{
	int n = 0;

	assert_int_equal(shm_scan(v, kind, count_cb, &n), 0);
	return n;
}

static void get_info(const struct shm_view *v, struct shm_info *in)
{
	struct psm_err err = {0};

	assert_int_equal(shm_info_get(v, in, &err), PSM_OK);
}

/* ---- crc ------------------------------------------------------------------------------ */

static void test_crc_vectors(void **state)
{
	unsigned char buf[1100];
	size_t off, len;
	unsigned i;

	(void)state;
	assert_int_equal(shm_crc32c_sw(0, "123456789", 9), 0xE3069283u);
	assert_int_equal(shm_crc32c(0, "123456789", 9), 0xE3069283u);
	assert_int_equal(shm_crc32c_sw(0, "", 0), 0);
	if (shm_crc32c_have_hw())
		assert_int_equal(shm_crc32c_hw(0, "123456789", 9), 0xE3069283u);
	for (i = 0; i < sizeof(buf); i++)
		buf[i] = (unsigned char)(i * 131u + 7u);
	for (off = 0; off < 9; off++) {
		for (len = 0; len + off <= sizeof(buf); len += 37) {
			uint32_t sw = shm_crc32c_sw(0, buf + off, len);

			assert_int_equal(shm_crc32c(0, buf + off, len), sw);
			if (shm_crc32c_have_hw())
				assert_int_equal(shm_crc32c_hw(0, buf + off, len), sw);
		}
	}
}

/* shm_crc32c_copy through a view that chose hw (or not): every length and source/destination
 * misalignment; not a byte written past len. */
static void crc_copy_check(bool hw)
{
	struct shm_view v = {.crc_hw = hw};
	unsigned char src[300], dst[300];
	unsigned i;

	for (i = 0; i < sizeof(src); i++)
		src[i] = (unsigned char)(i ^ 0x5a);
	for (i = 0; i + 8 < sizeof(src); i++) {
		unsigned a = i % 8, b = (i / 8) % 8;

		memset(dst, 0xee, sizeof(dst));
		assert_int_equal(shm_crc32c_copy(&v, dst + b, src + a, i - a),
				 shm_crc32c_sw(0, src + a, i - a));
		assert_memory_equal(dst + b, src + a, i - a);
		assert_int_equal(dst[b + i - a], 0xee);
		if (b > 0)
			assert_int_equal(dst[b - 1], 0xee);
	}
}

static void test_crc_copy_and_chaining(void **state)
{
	unsigned char src[300];
	unsigned i;

	(void)state;
	crc_copy_check(false);
	if (shm_crc32c_have_hw())
		crc_copy_check(true);
	for (i = 0; i < sizeof(src); i++)
		src[i] = (unsigned char)(i ^ 0x5a);
	/* crc(a || b) == crc(crc(a), b) */
	assert_int_equal(shm_crc32c(shm_crc32c(0, src, 100), src + 100, 200),
			 shm_crc32c(0, src, 300));
}

/* ---- create, publish, open -------------------------------------------------------------- */

static void test_create_publish_open(void **state)
{
	struct fix *f = *state;
	struct shm_info in;
	struct stat st;
	char path[128];

	fix_publish_open(f);
	fix_path(f, path, sizeof(path));
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	assert_int_equal(st.st_uid, geteuid());
	assert_int_equal(st.st_size, f->v.size);
	get_info(&f->v, &in);
	assert_int_equal(in.records, 0);
	assert_int_equal(in.capacity, 64);
	assert_int_equal(in.total_size, st.st_size);
	assert_int_equal(in.writer_pid, getpid());
	assert_string_equal(in.host_name, "test-host");
	assert_true(in.created > 0);
	assert_false(shm_view_retired(&f->v));
	assert_int_equal(f->v.nbuckets, 128); /* two per record of capacity */
	assert_int_equal(f->v.unit_size, 64);
}

/* The writers' temporary names for name (NAME.new-*): how many, the first in first. */
static size_t tmp_names(const char *name, char *first, size_t n)
{
	char pat[128];
	glob_t g;
	size_t count;

	snprintf(pat, sizeof(pat), "/dev/shm%s.new-*", name);
	if (glob(pat, 0, NULL, &g) != 0)
		return 0;
	count = g.gl_pathc;
	snprintf(first, n, "%s", g.gl_pathv[0]);
	globfree(&g);
	return count;
}

/* A temporary name is NAME.new- and 16 hex digits. */
static void assert_tmp_name(const char *path, const char *name)
{
	char want[128];
	size_t i, len;

	len = (size_t)snprintf(want, sizeof(want), "/dev/shm%s.new-", name);
	assert_int_equal(strncmp(path, want, len), 0);
	assert_int_equal(strlen(path), len + 16);
	for (i = len; i < len + 16; i++)
		assert_non_null(strchr("0123456789abcdef", path[i]));
}

static void test_unpublished_is_invisible(void **state)
{
	struct fix *f = *state;
	struct shm_writer *w2;
	char tmp[128], tmp2[128];
	struct stat st;

	fix_open_fails(f, "no such table (is psmd running?)");
	/* the private object exists under NAME.new-RANDOM until discarded */
	assert_int_equal(tmp_names(f->name, tmp, sizeof(tmp)), 1);
	assert_tmp_name(tmp, f->name);
	assert_int_equal(stat(tmp, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	assert_int_equal(st.st_uid, geteuid());
	/* a second writer for the same name picks another private name */
	w2 = tshm_writer(f->name, 4);
	assert_int_equal(tmp_names(f->name, tmp2, sizeof(tmp2)), 2);
	shm_writer_discard(w2);
	assert_int_equal(tmp_names(f->name, tmp2, sizeof(tmp2)), 1);
	assert_string_equal(tmp2, tmp);
	shm_writer_discard(f->w);
	f->w = NULL;
	assert_int_equal(tmp_names(f->name, tmp2, sizeof(tmp2)), 0);
	assert_int_equal(stat(tmp, &st), -1);
	assert_int_equal(errno, ENOENT);
}

/* Creates (pre) or removes every name of the old scheme NAME.new-PID-N, N 0..99. */
static void old_tmp_names(const char *name, bool create)
{
	char path[128];
	int n, fd;

	for (n = 0; n < 100; n++) {
		snprintf(path, sizeof(path), "/dev/shm%s.new-%ld-%d", name, (long)getpid(), n);
		if (!create) {
			unlink(path);
			continue;
		}
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		assert_true(fd >= 0);
		close(fd);
	}
}

/* Names a user could predict (the pid and a counter), all taken: creates and publishes
 * still work, and leave the squatted files alone. */
static void test_tmp_names_unpredictable(void **state)
{
	struct shm_writer *w;
	char name[64], tmp[128];
	struct stat st;
	int i;

	(void)state;
	tshm_name(name, sizeof(name));
	old_tmp_names(name, true);
	for (i = 0; i < 3; i++) {
		w = tshm_writer(name, 4);
		assert_int_equal(shm_writer_publish(w, NULL), PSM_OK);
		shm_writer_close(w);
	}
	snprintf(tmp, sizeof(tmp), "/dev/shm%s.new-%ld-99", name, (long)getpid());
	assert_int_equal(stat(tmp, &st), 0);
	assert_int_equal(st.st_size, 0);
	assert_int_equal(tmp_names(name, tmp, sizeof(tmp)), 100);
	old_tmp_names(name, false);
	assert_int_equal(tmp_names(name, tmp, sizeof(tmp)), 0);
	tshm_unlink(name);
}

static void test_table_group(void **state)
{
	struct shm_writer_opts o = {.capacity = 4, .group = 65534};
	struct shm_writer *w;
	char name[64], path[128];
	struct stat st;

	(void)state;
	o.name = tshm_name(name, sizeof(name));
	assert_int_equal(shm_writer_create(&w, &o, NULL), PSM_OK);
	assert_int_equal(shm_writer_publish(w, NULL), PSM_OK);
	snprintf(path, sizeof(path), "/dev/shm%s", name);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_gid, 65534);
	assert_int_equal(st.st_mode & 07777, 0640);
	shm_writer_close(w);
	tshm_unlink(name);
}

static void test_writer_opts_checked(void **state)
{
	struct shm_writer_opts o = {.name = "/psm-test-opts", .capacity = 0};
	struct shm_writer *w = (void *)1;
	struct psm_err err = {0};
	char host[80];

	(void)state;
	assert_int_equal(shm_writer_create(&w, &o, &err), PSM_EINVAL);
	assert_null(w);
	assert_non_null(strstr(err.msg, "capacity"));
	o.capacity = (uint64_t)SHM_CAPACITY_MAX + 1;
	assert_int_equal(shm_writer_create(&w, &o, &err), PSM_EINVAL);
	o.capacity = 4;
	memset(host, 'h', sizeof(host) - 1);
	host[sizeof(host) - 1] = '\0';
	o.host_name = host;
	assert_int_equal(shm_writer_create(&w, &o, &err), PSM_EINVAL);
	o.host_name = NULL;
	o.name = "psm";
	assert_int_equal(shm_writer_create(&w, &o, &err), PSM_EINVAL);
}

/* ---- insert and lookup -------------------------------------------------------------------- */

static void test_insert_lookup_each_kind(void **state)
{
	struct fix *f = *state;
	uint8_t k;

	for (k = SHM_GRANT; k <= SHM_BREAKGLASS; k++)
		tshm_insert(f->w, k, "alice", k == SHM_DENY ? "deny:x" : "perm:x");
	fix_publish_open(f);
	for (k = SHM_GRANT; k <= SHM_BREAKGLASS; k++) {
		assert_int_equal(tshm_count(&f->v, k, "alice", NULL), 1);
		assert_int_equal(tshm_count(&f->v, k, "bob", NULL), 0);
		assert_int_equal(tshm_count(&f->v, k, "alic", NULL), 0);
		assert_int_equal(tshm_count(&f->v, k, "alice2", NULL), 0);
	}
	assert_int_equal(tshm_count(&f->v, SHM_DENY, "alice", "deny:x"), 1);
	assert_int_equal(tshm_count(&f->v, SHM_GRANT, "alice", "deny:x"), 0);
	/* SHM_RULE: the grant and the deny in one walk, and no other kind */
	assert_int_equal(tshm_count(&f->v, SHM_RULE, "alice", NULL), 2);
	assert_int_equal(tshm_count(&f->v, SHM_RULE, "alice", "deny:x"), 1);
	assert_int_equal(tshm_count(&f->v, SHM_RULE, "bob", NULL), 0);
}

static void test_entry_roundtrip(void **state)
{
	struct fix *f = *state;
	struct shm_entry e, out;
	struct shm_recbuf buf;
	struct shm_iter it;
	uint32_t unit;
	int i;
	static const char *vals[SHM_NFIELDS] = {"%10",
						"%wheel",
						"sudo:cmd:/usr/bin/systemctl",
						"\x01\x02\x00\x03",
						"web-01",
						"ticket 42",
						"admin@host",
						"policy.json binding 2 role ops",
						"SESSIONID"};

	tshm_entry(&e, SHM_GRANT, "%10", NULL);
	e.flags = SHM_FL_GROUP | SHM_FL_SRC_ADMIN;
	e.not_before = -5;
	e.not_after = 1893456000;
	e.version = 0x1122334455667788ull;
	for (i = 0; i < 16; i++)
		e.id[i] = (uint8_t)(i * 3 + 1);
	e.rule = 7;
	e.uid = 1000;
	e.pid = 4242;
	e.audit = 99;
	e.created = 1700000000;
	for (i = 0; i < SHM_NFIELDS; i++)
		tshm_set(&e, i, vals[i]);
	e.flen[SHM_F_FROM] = 4; /* binary, contains a NUL */
	assert_int_equal(shm_writer_insert(f->w, &e, &unit, NULL), PSM_OK);
	fix_publish_open(f);
	shm_iter_init(&f->v, &it, SHM_GRANT, "%10", 3);
	assert_int_equal(shm_iter_next(&f->v, &it, &out, &buf), 1);
	assert_int_equal(out.kind, SHM_GRANT);
	assert_int_equal(out.flags, e.flags);
	assert_int_equal(out.not_before, -5);
	assert_int_equal(out.not_after, 1893456000);
	assert_int_equal(out.version, e.version);
	assert_memory_equal(out.id, e.id, 16);
	assert_int_equal(out.rule, 7);
	assert_int_equal(out.uid, 1000);
	assert_int_equal(out.pid, 4242);
	assert_int_equal(out.audit, 99);
	assert_int_equal(out.created, 1700000000);
	assert_int_equal(out.unit, unit);
	for (i = 0; i < SHM_NFIELDS; i++) {
		assert_int_equal(out.flen[i], e.flen[i]);
		assert_memory_equal(out.f[i], e.f[i], e.flen[i]);
	}
	assert_int_equal(shm_iter_next(&f->v, &it, &out, &buf), 0);
}

static void test_several_records_per_key(void **state)
{
	struct fix *f = *state;
	struct shm_iter it;
	struct shm_entry out;
	struct shm_recbuf buf;
	int seen = 0;

	tshm_insert(f->w, SHM_GRANT, "alice", "p:1");
	tshm_insert(f->w, SHM_GRANT, "alice", "p:2");
	tshm_insert(f->w, SHM_GRANT, "alice", "p:3");
	tshm_insert(f->w, SHM_GRANT, "bob", "p:4");
	fix_publish_open(f);
	shm_iter_init(&f->v, &it, SHM_GRANT, "alice", 5);
	while (shm_iter_next(&f->v, &it, &out, &buf) == 1) {
		assert_int_equal(out.flen[SHM_F_PATTERN], 3);
		seen |= 1 << (out.f[SHM_F_PATTERN][2] - '0');
	}
	assert_int_equal(seen, 0xe);
	assert_int_equal(tshm_count(&f->v, SHM_GRANT, "bob", NULL), 1);
}

static void test_collisions_in_one_bucket(void **state)
{
	struct fix *f = *state;
	char keys[4][16];
	int i;

	colliding_keys(SHM_GRANT, shm_writer_view(f->w)->nbuckets, keys, 4);
	for (i = 0; i < 4; i++)
		tshm_insert(f->w, SHM_GRANT, keys[i], "p:x");
	fix_publish_open(f);
	for (i = 0; i < 4; i++)
		assert_int_equal(tshm_count(&f->v, SHM_GRANT, keys[i], NULL), 1);
	assert_int_equal(scan_count(&f->v, 0), 4);
}

/* Chain of 3 colliding keys (head = last inserted); removes position pos, checks the rest. */
static void remove_in_chain(struct fix *f, int pos)
{
	char keys[3][16];
	uint32_t units[3];
	int i;

	colliding_keys(SHM_SESSION, shm_writer_view(f->w)->nbuckets, keys, 3);
	for (i = 0; i < 3; i++)
		units[i] = tshm_insert(f->w, SHM_SESSION, keys[i], NULL);
	/* chain order: keys[2] (head), keys[1] (middle), keys[0] (tail) */
	assert_int_equal(shm_writer_remove(f->w, units[2 - pos], NULL), PSM_OK);
	fix_publish_open(f);
	for (i = 0; i < 3; i++)
		assert_int_equal(tshm_count(&f->v, SHM_SESSION, keys[i], NULL),
				 i == 2 - pos ? 0 : 1);
	assert_int_equal(scan_count(&f->v, SHM_SESSION), 2);
}

static void test_remove_head(void **state)
{
	remove_in_chain(*state, 0);
}

static void test_remove_middle(void **state)
{
	remove_in_chain(*state, 1);
}

static void test_remove_tail(void **state)
{
	remove_in_chain(*state, 2);
}

static void test_remove_bad_handles(void **state)
{
	struct fix *f = *state;
	struct psm_err err = {0};
	uint32_t u = tshm_insert(f->w, SHM_GRANT, "alice", "p:x");

	assert_int_equal(shm_writer_remove(f->w, u + 1, &err), PSM_ENOENT);
	assert_int_equal(shm_writer_remove(f->w, 0xffffffffu, &err), PSM_ENOENT);
	assert_int_equal(shm_writer_remove(f->w, u, &err), PSM_OK);
	assert_int_equal(shm_writer_remove(f->w, u, &err), PSM_ENOENT);
	assert_non_null(strstr(err.msg, "no record"));
}

static void test_lookup_by_handle_then_remove(void **state)
{
	struct fix *f = *state;
	const struct shm_view *wv = shm_writer_view(f->w);
	struct shm_iter it;
	struct shm_entry out;
	struct shm_recbuf buf;

	tshm_insert(f->w, SHM_GRANT, "alice", "keep:1");
	tshm_insert(f->w, SHM_GRANT, "alice", "drop:1");
	tshm_insert(f->w, SHM_GRANT, "alice", "keep:2");
	/* the writer finds records with the reader's lookup and removes by handle */
	shm_iter_init(wv, &it, SHM_GRANT, "alice", 5);
	while (shm_iter_next(wv, &it, &out, &buf) == 1) {
		if (memcmp(out.f[SHM_F_PATTERN], "drop", 4) == 0)
			assert_int_equal(shm_writer_remove(f->w, out.unit, NULL), PSM_OK);
	}
	assert_int_equal(tshm_count(wv, SHM_GRANT, "alice", NULL), 2);
	assert_int_equal(tshm_count(wv, SHM_GRANT, "alice", "drop:1"), 0);
}

static void test_free_space_reused(void **state)
{
	struct fix *f = *state;
	uint32_t u[4], again;
	char key[16];
	int i;

	for (i = 0; i < 4; i++) {
		snprintf(key, sizeof(key), "u%d", i);
		u[i] = tshm_insert(f->w, SHM_GRANT, key, "p:x");
	}
	for (i = 0; i < 50; i++) {
		assert_int_equal(shm_writer_remove(f->w, u[1], NULL), PSM_OK);
		again = tshm_insert(f->w, SHM_GRANT, "again", "p:y");
		assert_int_equal(again, u[1]);
		u[1] = again;
	}
	assert_int_equal(tshm_count(shm_writer_view(f->w), SHM_GRANT, "again", NULL), 1);
}

static void test_fragmented_space_merged(void **state)
{
	struct fix *f = *state;
	struct shm_entry e;
	char big[700];
	uint32_t u[8];
	int i;

	/* capacity 4 = 16 units: four 2-unit records at the front, freed; then a 13-unit one
	 * fits only if the freed blocks are merged with the untouched tail */
	memset(big, 'b', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	for (i = 0; i < 4; i++)
		u[i] = tshm_insert(f->w, SHM_GRANT, "k", "p:x");
	for (i = 0; i < 4; i++)
		assert_int_equal(shm_writer_remove(f->w, u[i], NULL), PSM_OK);
	tshm_entry(&e, SHM_GRANT, "big", "p:x");
	tshm_set(&e, SHM_F_REASON, big);
	assert_int_equal(shm_writer_insert(f->w, &e, &u[0], NULL), PSM_OK);
	assert_int_equal(tshm_count(shm_writer_view(f->w), SHM_GRANT, "big", NULL), 1);
}

static void test_full_by_records(void **state)
{
	struct fix *f = *state;
	struct shm_entry e;
	struct psm_err err = {0};
	char key[16];
	int i;

	for (i = 0; i < 4; i++) {
		snprintf(key, sizeof(key), "u%d", i);
		tshm_insert(f->w, SHM_GRANT, key, "p:x");
	}
	tshm_entry(&e, SHM_GRANT, "u4", "p:x");
	assert_int_equal(shm_writer_insert(f->w, &e, NULL, &err), PSM_EFULL);
	assert_non_null(strstr(err.msg, "full: 4 records"));
	assert_non_null(strstr(err.msg, "raise capacity"));
	fix_publish_open(f);
	for (i = 0; i < 4; i++) {
		snprintf(key, sizeof(key), "u%d", i);
		assert_int_equal(tshm_count(&f->v, SHM_GRANT, key, NULL), 1);
	}
	assert_int_equal(tshm_count(&f->v, SHM_GRANT, "u4", NULL), 0);
	assert_true(shm_writer_fill(f->w) >= 1.0);
}

static void test_full_by_bytes(void **state)
{
	struct fix *f = *state;
	struct shm_entry e;
	struct psm_err err = {0};
	char big[600];
	struct shm_info in;

	/* capacity 4 = 1024 bytes of arena; a 712-byte record fits once */
	memset(big, 'r', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	tshm_entry(&e, SHM_GRANT, "a", "p:x");
	tshm_set(&e, SHM_F_REASON, big);
	assert_int_equal(shm_writer_insert(f->w, &e, NULL, &err), PSM_OK);
	tshm_set(&e, SHM_F_KEY, "b");
	assert_int_equal(shm_writer_insert(f->w, &e, NULL, &err), PSM_EFULL);
	assert_non_null(strstr(err.msg, "full"));
	fix_publish_open(f);
	assert_int_equal(tshm_count(&f->v, SHM_GRANT, "a", NULL), 1);
	get_info(&f->v, &in);
	assert_int_equal(in.records, 1);
	assert_int_equal(in.arena_used, 12 * 64);
	assert_true(shm_writer_fill(f->w) > 0.7 && shm_writer_fill(f->w) < 0.8);
}

static void test_field_limits(void **state)
{
	struct fix *f = *state;
	struct shm_entry e;
	struct psm_err err = {0};
	static char big[SHM_FIELD_MAX + 2];

	memset(big, 'x', sizeof(big) - 1);
	tshm_entry(&e, SHM_GRANT, "alice", "p:x");
	e.f[SHM_F_REASON] = big;
	e.flen[SHM_F_REASON] = SHM_FIELD_MAX;
	assert_int_equal(shm_writer_insert(f->w, &e, NULL, &err), PSM_OK);
	e.flen[SHM_F_REASON] = SHM_FIELD_MAX + 1;
	assert_int_equal(shm_writer_insert(f->w, &e, NULL, &err), PSM_EINVAL);
	assert_non_null(strstr(err.msg, "max 1024"));
	/* whole record: exactly SHM_REC_MAX fits, one byte more does not */
	tshm_entry(&e, SHM_SESSION, "s", NULL);
	e.f[SHM_F_REASON] = e.f[SHM_F_ISSUER] = e.f[SHM_F_SOURCE] = e.f[SHM_F_SESSION] = big;
	e.flen[SHM_F_REASON] = e.flen[SHM_F_ISSUER] = e.flen[SHM_F_SOURCE] = SHM_FIELD_MAX;
	e.flen[SHM_F_SESSION] =
	    (uint16_t)(SHM_REC_MAX - sizeof(struct shm_rec) - 3 * SHM_FIELD_MAX);
	e.flen[SHM_F_SESSION] = (uint16_t)(e.flen[SHM_F_SESSION] - 1); /* key "s" is 1 byte */
	assert_int_equal(shm_writer_insert(f->w, &e, NULL, &err), PSM_OK);
	e.flen[SHM_F_SESSION]++;
	assert_int_equal(shm_writer_insert(f->w, &e, NULL, &err), PSM_EINVAL);
	assert_non_null(strstr(err.msg, "max 4096"));
	assert_int_equal(tshm_count(shm_writer_view(f->w), SHM_SESSION, "s", NULL), 1);
}

static void test_bad_entries(void **state)
{
	struct fix *f = *state;
	struct shm_entry e;
	struct psm_err err = {0};

	tshm_entry(&e, 0, "alice", "p:x");
	assert_int_equal(shm_writer_insert(f->w, &e, NULL, &err), PSM_EINVAL);
	e.kind = 6;
	assert_int_equal(shm_writer_insert(f->w, &e, NULL, &err), PSM_EINVAL);
	tshm_entry(&e, SHM_GRANT, "", "p:x");
	assert_int_equal(shm_writer_insert(f->w, &e, NULL, &err), PSM_EINVAL);
	assert_non_null(strstr(err.msg, "empty key"));
	tshm_entry(&e, SHM_GRANT, "alice", "p:x");
	e.f[SHM_F_HOSTS] = NULL;
	e.flen[SHM_F_HOSTS] = 3;
	assert_int_equal(shm_writer_insert(f->w, &e, NULL, &err), PSM_EINVAL);
	assert_int_equal(scan_count(shm_writer_view(f->w), 0), 0);
}

struct scan_ctx {
	int n;
	int stop_at;
	unsigned kinds;
};

static int scan_cb(const struct shm_entry *e, void *ctx)
{
	struct scan_ctx *c = ctx;

	c->kinds |= 1u << e->kind;
	if (++c->n == c->stop_at)
		return 77;
	return 0;
}

static void test_scan_visits_all(void **state)
{
	struct fix *f = *state;
	struct scan_ctx c = {0};
	char key[16];
	int i;

	for (i = 0; i < 30; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		tshm_insert(f->w, (uint8_t)(SHM_GRANT + i % 5), key, "p:x");
	}
	fix_publish_open(f);
	assert_int_equal(shm_scan(&f->v, 0, scan_cb, &c), 0);
	assert_int_equal(c.n, 30);
	assert_int_equal(c.kinds, 0x3e);
	for (i = SHM_GRANT; i <= SHM_BREAKGLASS; i++)
		assert_int_equal(scan_count(&f->v, (uint8_t)i), 6);
	memset(&c, 0, sizeof(c));
	c.stop_at = 10;
	assert_int_equal(shm_scan(&f->v, 0, scan_cb, &c), 77);
	assert_int_equal(c.n, 10);
}

/* ---- header information ---------------------------------------------------------------- */

static void test_info_generation_per_commit(void **state)
{
	struct fix *f = *state;
	const struct shm_view *wv = shm_writer_view(f->w);
	struct shm_info a, b;
	uint32_t u;

	get_info(wv, &a);
	shm_writer_begin(f->w);
	u = tshm_insert(f->w, SHM_GRANT, "a", "p:x");
	tshm_insert(f->w, SHM_GRANT, "b", "p:x");
	shm_writer_begin(f->w); /* nested: one batch */
	tshm_insert(f->w, SHM_GRANT, "c", "p:x");
	shm_writer_commit(f->w);
	/* still inside the outer batch: readers cannot start a transaction */
	assert_int_equal(shm_info_get(wv, &b, NULL), PSM_EUNAVAIL);
	shm_writer_commit(f->w);
	get_info(wv, &b);
	assert_int_equal(b.generation, a.generation + 1);
	assert_int_equal(b.records, 3);
	assert_int_equal(b.arena_used, 3 * 2 * 64);
	tshm_insert(f->w, SHM_GRANT, "d", "p:x"); /* outside a batch: its own */
	assert_int_equal(shm_writer_remove(f->w, u, NULL), PSM_OK);
	get_info(wv, &b);
	assert_int_equal(b.generation, a.generation + 3);
	assert_int_equal(b.records, 3);
	shm_writer_commit(f->w); /* unbalanced commit is ignored */
	get_info(wv, &a);
	assert_int_equal(a.generation, b.generation);
}

static void test_info_heartbeat_and_counts(void **state)
{
	struct fix *f = *state;
	struct shm_info in;
	uint64_t gen;

	fix_publish_open(f);
	get_info(&f->v, &in);
	assert_true(in.heartbeat >= in.created);
	gen = in.generation;
	shm_writer_heartbeat(f->w, 1234567890);
	shm_writer_set_policy_counts(f->w, 3, 4, 5);
	get_info(&f->v, &in);
	assert_int_equal(in.heartbeat, 1234567890);
	assert_int_equal(in.policy_roles, 3);
	assert_int_equal(in.policy_bindings, 4);
	assert_int_equal(in.policy_denies, 5);
	assert_int_equal(in.generation, gen);
}

static void test_group_mask(void **state)
{
	struct fix *f = *state;
	struct shm_entry e;
	struct shm_info in;
	uint64_t want;

	tshm_insert(f->w, SHM_GRANT, "alice", "ssh:login");  /* user grant: no bit */
	tshm_insert(f->w, SHM_SERVICE, "sshd", "login:ssh"); /* not a grant: no bit */
	get_info(shm_writer_view(f->w), &in);
	assert_int_equal(in.group_mask, 0);
	tshm_entry(&e, SHM_GRANT, "%10", "sudo:cmd:/bin/ls");
	e.flags = SHM_FL_GROUP;
	assert_int_equal(shm_writer_insert(f->w, &e, NULL, NULL), PSM_OK);
	tshm_entry(&e, SHM_DENY, "%11", "login");
	e.flags = SHM_FL_GROUP;
	assert_int_equal(shm_writer_insert(f->w, &e, &e.unit, NULL), PSM_OK);
	want = shm_seg_bit("sudo", 4) | shm_seg_bit("login", 5);
	get_info(shm_writer_view(f->w), &in);
	assert_int_equal(in.group_mask, want);
	assert_int_equal(in.group_mask & SHM_MASK_ANY, 0);
	assert_int_equal(in.group_deny_mask, shm_seg_bit("login", 5)); /* the deny alone */
	/* removal never clears a bit */
	assert_int_equal(shm_writer_remove(f->w, e.unit, NULL), PSM_OK);
	tshm_entry(&e, SHM_GRANT, "%12", "*:x");
	e.flags = SHM_FL_GROUP;
	assert_int_equal(shm_writer_insert(f->w, &e, NULL, NULL), PSM_OK);
	get_info(shm_writer_view(f->w), &in);
	assert_int_equal(in.group_mask, want | SHM_MASK_ANY);
	assert_int_equal(in.group_deny_mask, shm_seg_bit("login", 5));
	tshm_entry(&e, SHM_DENY, "alice", "sudo:run"); /* user deny: no bit */
	assert_int_equal(shm_writer_insert(f->w, &e, NULL, NULL), PSM_OK);
	tshm_entry(&e, SHM_DENY, "%13", "*");
	e.flags = SHM_FL_GROUP;
	assert_int_equal(shm_writer_insert(f->w, &e, NULL, NULL), PSM_OK);
	get_info(shm_writer_view(f->w), &in);
	assert_int_equal(in.group_deny_mask, shm_seg_bit("login", 5) | SHM_MASK_ANY);
}

static void test_seg_bit(void **state)
{
	(void)state;
	assert_int_equal(shm_seg_bit("*", 1), SHM_MASK_ANY);
	assert_int_equal(shm_seg_bit("sudo", 4), shm_seg_bit("sudo:run", 4));
	assert_true(shm_seg_bit("sudo", 4) != 0);
	assert_int_equal(shm_seg_bit("sudo", 4) & SHM_MASK_ANY, 0);
	assert_int_equal(__builtin_popcountll(shm_seg_bit("login", 5)), 1);
	assert_int_equal(shm_hash(1, "alice", 5), shm_hash(1, "alice", 5));
	/* a principal's grants and denies share a hash (SHM_RULE); other kinds do not */
	assert_int_equal(shm_hash(SHM_GRANT, "alice", 5), shm_hash(SHM_DENY, "alice", 5));
	assert_int_equal(shm_hash(SHM_RULE, "alice", 5), shm_hash(SHM_GRANT, "alice", 5));
	assert_true(shm_hash(SHM_GRANT, "alice", 5) != shm_hash(SHM_SESSION, "alice", 5));
	assert_true(shm_hash(SHM_GRANT, "alice", 5) != shm_hash(SHM_SERVICE, "alice", 5));
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

/* Hashes of (kind, key) for every kind and families of similar keys: all distinct (a hash
 * shared by different keys costs readers a record copy each time).  Kinds differing in one
 * bit next to keys differing in the same bit, and short keys of every tail length, included. */
static void test_hash_spread(void **state)
{
	enum { NKEYS = 2000 + 300 + 26 * 21 };
	uint32_t *h = calloc(4 * NKEYS, sizeof(*h));
	char key[24];
	size_t n = 0, i;
	int k, j, d;

	(void)state;
	assert_non_null(h);
	for (k = SHM_GRANT; k <= SHM_BREAKGLASS; k++) {
		if (k == SHM_DENY) /* shares the grant's hash by design (SHM_RULE) */
			continue;
		for (j = 0; j < 2000; j++)
			h[n++] = shm_hash((uint8_t)k, key,
					  (size_t)snprintf(key, sizeof(key), "u%07d", j));
		for (j = 0; j < 300; j++)
			h[n++] = shm_hash((uint8_t)k, key,
					  (size_t)snprintf(key, sizeof(key), "%%%d", j));
		for (j = 0; j < 26; j++) {
			key[0] = (char)('a' + j);
			h[n++] = shm_hash((uint8_t)k, key, 1);
			for (d = 0; d < 10; d++) {
				key[1] = (char)('0' + d);
				key[2] = 'x';
				h[n++] = shm_hash((uint8_t)k, key, 2);
				h[n++] = shm_hash((uint8_t)k, key, 3);
			}
		}
	}
	assert_int_equal(n, 4 * NKEYS);
	qsort(h, n, sizeof(*h), cmp_u32);
	for (i = 1; i < n; i++)
		if (h[i] == h[i - 1])
			fail_msg("hash 0x%08x shared by two keys", h[i]);
	free(h);
}

/* ---- open checks --------------------------------------------------------------------------- */

/* shm_path: "/dev/shm" + name + suffix, or -1 when one byte too few is given. */
static void test_shm_path(void **state)
{
	char buf[64];
	size_t full = strlen("/dev/shm/psm-x.tmp") + 1;

	(void)state;
	assert_int_equal(shm_path(buf, sizeof(buf), "/psm-x", NULL), 0);
	assert_string_equal(buf, "/dev/shm/psm-x");
	assert_int_equal(shm_path(buf, full, "/psm-x", ".tmp"), 0);
	assert_string_equal(buf, "/dev/shm/psm-x.tmp");
	for (size_t n = 0; n < full; n++)
		assert_int_equal(shm_path(buf, n, "/psm-x", ".tmp"), -1);
}

static void test_name_validation(void **state)
{
	static const char *bad[] = {"",	   "psm",  "/",	   "/a/b",     "/.",
				    "/..", "/a b", "/a\n", "/\xc3\xa9"};
	struct shm_view v;
	struct psm_err err = {0};
	char longname[203];
	size_t i;

	(void)state;
	assert_int_equal(shm_view_open(&v, NULL, &err), PSM_EINVAL);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (shm_view_open(&v, bad[i], &err) != PSM_EINVAL)
			fail_msg("name '%s' accepted", bad[i]);
		assert_non_null(strstr(err.msg, "table name"));
	}
	longname[0] = '/';
	memset(longname + 1, 'a', 201);
	longname[202] = '\0';
	assert_int_equal(shm_view_open(&v, longname, &err), PSM_EINVAL);
	longname[201] = '\0'; /* 200 characters: a fine name, just no such table */
	assert_int_equal(shm_view_open(&v, longname, &err), PSM_EUNAVAIL);
	assert_int_equal(shm_view_open(&v, "/psm-test-Az09._-none", &err), PSM_EUNAVAIL);
	assert_non_null(strstr(err.msg, "no such table"));
}

static void test_refuses_world_writable(void **state)
{
	struct fix *f = *state;
	char path[128];

	fix_publish_open(f);
	fix_path(f, path, sizeof(path));
	assert_int_equal(chmod(path, 0666), 0);
	fix_open_fails(f, "group- or world-writable (mode 0666)");
	assert_int_equal(chmod(path, 0660), 0);
	fix_open_fails(f, "(mode 0660)");
	assert_int_equal(chmod(path, 0644), 0);
	shm_view_close(&f->v);
	assert_int_equal(shm_view_open(&f->v, f->name, NULL), PSM_OK);
}

static void test_refuses_foreign_owner(void **state)
{
	struct fix *f = *state;
	char path[128];

	fix_publish_open(f);
	fix_path(f, path, sizeof(path));
	if (geteuid() != 0)
		skip();
	assert_int_equal(chown(path, 65534, 0), 0);
	fix_open_fails(f, "owner uid 65534 is not root");
	assert_int_equal(chown(path, 0, 0), 0);
	shm_view_close(&f->v);
	assert_int_equal(shm_view_open(&f->v, f->name, NULL), PSM_OK);
}

static void test_refuses_truncated(void **state)
{
	struct fix *f = *state;
	char path[128], want[96];

	fix_publish_open(f);
	fix_path(f, path, sizeof(path));
	assert_int_equal(truncate(path, (off_t)f->v.size + 64), 0);
	fix_open_fails(f, "does not match header");
	assert_int_equal(truncate(path, 4096), 0);
	snprintf(want, sizeof(want), "size 4096 does not match header (%zu)", f->v.size);
	fix_open_fails(f, want);
	assert_int_equal(truncate(path, 100), 0);
	fix_open_fails(f, "smaller than a header");
	assert_int_equal(truncate(path, 0), 0);
	fix_open_fails(f, "smaller than a header");
}

static void test_refuses_symlink_and_dir(void **state)
{
	struct fix *f = *state;
	char path[128], link[160], lname[96];
	struct shm_view v;
	struct psm_err err = {0};

	fix_publish_open(f);
	fix_path(f, path, sizeof(path));
	snprintf(lname, sizeof(lname), "%s-link", f->name);
	snprintf(link, sizeof(link), "/dev/shm%s", lname);
	assert_int_equal(symlink(path, link), 0);
	assert_int_equal(shm_view_open(&v, lname, &err), PSM_EUNAVAIL);
	unlink(link);
	assert_non_null(strstr(err.msg, "symbolic link"));
	assert_int_equal(mkdir(link, 0700), 0);
	assert_int_equal(shm_view_open(&v, lname, &err), PSM_EUNAVAIL);
	rmdir(link);
}

_Static_assert(SHM_FORMAT_VERSION == 5, "test_refuses_bad_header names versions 4 and 6");

static void test_refuses_bad_header(void **state)
{
	struct fix *f = *state;
	char path[128];
	unsigned char b;
	int fd;

	fix_publish_open(f);
	fix_path(f, path, sizeof(path));
	fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &b, 1, 0), 1);
	b ^= 1;
	assert_int_equal(pwrite(fd, &b, 1, 0), 1);
	fix_open_fails(f, "not a psm table (bad magic)");
	b ^= 1;
	assert_int_equal(pwrite(fd, &b, 1, 0), 1);
	assert_int_equal(pread(fd, &b, 1, offsetof(struct shm_hdr, created)), 1);
	b ^= 0x10;
	assert_int_equal(pwrite(fd, &b, 1, offsetof(struct shm_hdr, created)), 1);
	fix_open_fails(f, "header checksum mismatch");
	b = SHM_FORMAT_VERSION + 1;
	assert_int_equal(pwrite(fd, &b, 1, offsetof(struct shm_hdr, version)), 1);
	fix_open_fails(f, "format version 6");
	b = SHM_FORMAT_VERSION - 1; /* a table of the previous format is refused, not misread */
	assert_int_equal(pwrite(fd, &b, 1, offsetof(struct shm_hdr, version)), 1);
	fix_open_fails(f, "format version 4");
	close(fd);
}

static void test_republish_retires_old(void **state)
{
	struct fix *f = *state;
	struct shm_writer *w2;
	struct shm_view v2;
	struct psm_err err = {0};

	tshm_insert(f->w, SHM_GRANT, "old", "p:x");
	fix_publish_open(f);
	assert_false(shm_view_retired(&f->v));
	w2 = tshm_writer(f->name, 16);
	tshm_insert(w2, SHM_GRANT, "new", "p:x");
	assert_false(shm_view_retired(&f->v)); /* not before the new one is published */
	assert_int_equal(shm_writer_publish(w2, &err), PSM_OK);
	assert_true(shm_view_retired(&f->v));
	/* the old mapping still reads the old table; a new open sees the new one */
	assert_int_equal(tshm_count(&f->v, SHM_GRANT, "old", NULL), 1);
	assert_int_equal(shm_view_open(&v2, f->name, &err), PSM_OK);
	assert_false(shm_view_retired(&v2));
	assert_int_equal(tshm_count(&v2, SHM_GRANT, "new", NULL), 1);
	assert_int_equal(tshm_count(&v2, SHM_GRANT, "old", NULL), 0);
	assert_int_equal(shm_writer_publish(w2, &err), PSM_EINVAL);
	shm_view_close(&v2);
	shm_writer_close(w2);
}

/* A pread view: the same records and counters as a mapped one, nothing mapped, retired
 * when psmd replaces the table, and it goes on reading the table it opened. */
static void test_pread_view(void **state)
{
	struct fix *f = *state;
	struct shm_writer *w2;
	struct shm_view p;
	struct shm_info a, b;
	struct psm_err err = {0};

	tshm_insert(f->w, SHM_GRANT, "old", "p:x");
	tshm_insert(f->w, SHM_GRANT, "old", "p:y");
	fix_publish_open(f);
	assert_int_equal(shm_view_open_flags(&p, f->name, SHM_VIEW_PREAD, &err), PSM_OK);
	assert_true(shm_view_is_open(&p));
	assert_null(p.base);
	assert_int_equal(p.crc_hw, shm_crc32c_have_hw() != 0);
	assert_int_equal(f->v.crc_hw, shm_crc32c_have_hw() != 0);
	assert_int_equal(tshm_count(&p, SHM_GRANT, "old", NULL), 2);
	assert_int_equal(tshm_count(&p, SHM_GRANT, "none", NULL), 0);
	assert_int_equal(shm_info_get(&p, &a, &err), PSM_OK);
	assert_int_equal(shm_info_get(&f->v, &b, &err), PSM_OK);
	assert_memory_equal(&a, &b, sizeof(a));
	assert_false(shm_view_retired(&p));
	w2 = tshm_writer(f->name, 16);
	assert_int_equal(shm_writer_publish(w2, &err), PSM_OK);
	assert_true(shm_view_retired(&p));
	assert_int_equal(tshm_count(&p, SHM_GRANT, "old", NULL), 2);
	shm_view_close(&p);
	assert_false(shm_view_is_open(&p));
	assert_true(shm_view_retired(&p));
	shm_writer_close(w2);
}

/* A pread view's transactions begin from the seq read at open on their first attempt: a
 * write made after the open fails that attempt's end check, and the next one, from a fresh
 * seq, reads the write (a reader that kept the open's seq would never succeed). */
static void test_pread_txn_after_write(void **state)
{
	struct fix *f = *state;
	struct shm_view p;
	struct shm_info in;
	struct psm_err err = {0};

	fix_publish_open(f);
	shm_writer_heartbeat(f->w, 1000);
	assert_int_equal(shm_view_open_flags(&p, f->name, SHM_VIEW_PREAD, &err), PSM_OK);
	assert_int_equal(shm_info_get(&p, &in, &err), PSM_OK);
	assert_int_equal(in.heartbeat, 1000);
	shm_writer_heartbeat(f->w, 2000);
	tshm_insert(f->w, SHM_GRANT, "late", "p:x");
	assert_int_equal(shm_info_get(&p, &in, &err), PSM_OK);
	assert_int_equal(in.heartbeat, 2000);
	assert_int_equal(in.records, 1);
	shm_view_close(&p);
}

/* The patterns "p:N" of alice's grants seen by one walk through pread view p, as bits; *preads
 * gets the preads the walk made (the bucket's, then the records'). */
static int pread_walk(const struct shm_view *p, struct shm_iter *it, unsigned *preads)
{
	struct shm_entry out;
	struct shm_recbuf buf;
	int seen = 0;

	pread_calls = 0;
	shm_iter_init(p, it, SHM_GRANT, "alice", 5);
	while (shm_iter_next(p, it, &out, &buf) == 1)
		seen |= 1 << (out.f[SHM_F_PATTERN][2] - '0');
	*preads = pread_calls;
	return seen;
}

/* A key's adjacent records come from one pread (the window ending with the chain's head
 * record); a record of the chain outside that window costs one more. */
static void test_pread_chain_one_read(void **state)
{
	struct fix *f = *state;
	struct shm_view p;
	struct shm_iter it;
	struct psm_err err = {0};
	char key[16];
	unsigned preads, i;

	tshm_insert(f->w, SHM_GRANT, "alice", "p:1");
	for (i = 0; i < 40; i++) { /* 40 records of 2 units: 5 KiB between p:1 and p:2 */
		snprintf(key, sizeof(key), "filler%u", i);
		tshm_insert(f->w, SHM_GRANT, key, "p:0");
	}
	tshm_insert(f->w, SHM_GRANT, "alice", "p:2");
	tshm_insert(f->w, SHM_GRANT, "alice", "p:3");
	tshm_insert(f->w, SHM_GRANT, "alice", "p:4");
	fix_publish_open(f);
	assert_int_equal(shm_view_open_flags(&p, f->name, SHM_VIEW_PREAD, &err), PSM_OK);
	assert_int_equal(pread_walk(&p, &it, &preads), 0x1e);
	/* bucket; p:4 with p:3 and p:2 below it; p:1, 5 KiB further down */
	assert_int_equal(preads, 3);
	shm_view_close(&p);
}

/* The window lives for one walk: a walk after a write reads the written record, not bytes
 * of the earlier walk (same iterator, the record rewritten in the same place). */
static void test_pread_window_per_walk(void **state)
{
	struct fix *f = *state;
	struct shm_view p;
	struct shm_iter it;
	struct psm_err err = {0};
	uint32_t unit;
	unsigned preads;

	tshm_insert(f->w, SHM_GRANT, "alice", "p:1");
	unit = tshm_insert(f->w, SHM_GRANT, "alice", "p:2");
	fix_publish_open(f);
	assert_int_equal(shm_view_open_flags(&p, f->name, SHM_VIEW_PREAD, &err), PSM_OK);
	assert_int_equal(pread_walk(&p, &it, &preads), 0x6);
	assert_int_equal(shm_writer_remove(f->w, unit, &err), PSM_OK);
	assert_int_equal(tshm_insert(f->w, SHM_GRANT, "alice", "p:3"), unit);
	assert_int_equal(pread_walk(&p, &it, &preads), 0xa);
	shm_view_close(&p);
}

static void test_closed_view_is_unavailable(void **state)
{
	struct fix *f = *state;
	struct shm_iter it;
	struct shm_entry e;
	struct shm_recbuf buf;
	struct shm_info in;
	uint64_t seq;

	tshm_insert(f->w, SHM_GRANT, "a", "p:x");
	fix_publish_open(f);
	shm_view_close(&f->v);
	shm_view_close(&f->v); /* twice is harmless */
	assert_true(shm_view_retired(&f->v));
	assert_int_equal(shm_read_begin(&f->v, &seq, NULL), PSM_EUNAVAIL);
	assert_false(shm_read_ok(&f->v, 0));
	assert_int_equal(shm_info_get(&f->v, &in, NULL), PSM_EUNAVAIL);
	shm_iter_init(&f->v, &it, SHM_GRANT, "a", 1);
	assert_int_equal(shm_iter_next(&f->v, &it, &e, &buf), -PSM_EUNAVAIL);
	assert_int_equal(shm_scan(&f->v, 0, count_cb, &seq), -PSM_EUNAVAIL);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fix_setup, fix_teardown)
#define TS(fn) cmocka_unit_test_setup_teardown(fn, fix_setup_small, fix_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_crc_vectors),
	    cmocka_unit_test(test_crc_copy_and_chaining),
	    T(test_create_publish_open),
	    T(test_unpublished_is_invisible),
	    cmocka_unit_test(test_tmp_names_unpredictable),
	    cmocka_unit_test(test_table_group),
	    cmocka_unit_test(test_writer_opts_checked),
	    T(test_insert_lookup_each_kind),
	    T(test_entry_roundtrip),
	    T(test_several_records_per_key),
	    TS(test_collisions_in_one_bucket),
	    TS(test_remove_head),
	    TS(test_remove_middle),
	    TS(test_remove_tail),
	    T(test_remove_bad_handles),
	    T(test_lookup_by_handle_then_remove),
	    TS(test_free_space_reused),
	    TS(test_fragmented_space_merged),
	    TS(test_full_by_records),
	    TS(test_full_by_bytes),
	    cmocka_unit_test_setup_teardown(test_field_limits, fix_setup, fix_teardown),
	    T(test_bad_entries),
	    T(test_scan_visits_all),
	    T(test_info_generation_per_commit),
	    T(test_info_heartbeat_and_counts),
	    T(test_group_mask),
	    cmocka_unit_test_setup_teardown(test_pread_view, fix_setup, fix_teardown),
	    cmocka_unit_test_setup_teardown(test_pread_txn_after_write, fix_setup, fix_teardown),
	    cmocka_unit_test_setup_teardown(test_pread_chain_one_read, fix_setup, fix_teardown),
	    cmocka_unit_test_setup_teardown(test_pread_window_per_walk, fix_setup, fix_teardown),
	    cmocka_unit_test(test_seg_bit),
	    cmocka_unit_test(test_hash_spread),
	    cmocka_unit_test(test_name_validation),
	    cmocka_unit_test(test_shm_path),
	    T(test_refuses_world_writable),
	    T(test_refuses_foreign_owner),
	    T(test_refuses_truncated),
	    T(test_refuses_symlink_and_dir),
	    T(test_refuses_bad_header),
	    T(test_republish_retires_old),
	    T(test_closed_view_is_unavailable),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
