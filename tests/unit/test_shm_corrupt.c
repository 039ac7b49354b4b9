/* SPDX-License-Identifier: MIT */
/* test_shm_corrupt.c - every single-byte corruption and truncation of a small table is caught or
 * harmless. */
#include <fcntl.h>
#include <stdlib.h>

#include "test_shm_util.h"
#include "under_valgrind.h"

#define CAPACITY 16
#define ERR_DIGEST 0xffffffffu /* "this lookup failed" */

struct query {
	uint8_t kind;
	const char *key;
};

/* Every key of the table (with its kind) and a few absent ones. */
static const struct query queries[] = {
    {SHM_GRANT, "alice"},  {SHM_GRANT, "bob"},	  {SHM_GRANT, "%10"},	    {SHM_DENY, "%11"},
    {SHM_DENY, "carol"},   {SHM_SESSION, "S0"},	  {SHM_SESSION, "S1"},	    {SHM_SESSION, "S2"},
    {SHM_SERVICE, "sshd"}, {SHM_SERVICE, "sudo"}, {SHM_BREAKGLASS, "root"}, {SHM_GRANT, "dave"},
    {SHM_GRANT, "erin"},   {SHM_GRANT, "nobody"}, {SHM_DENY, "alice"},	    {SHM_SESSION, "S9"},
    {SHM_GRANT, "frank"},
};
#define NQ (sizeof(queries) / sizeof(queries[0]))
#define NRES (NQ + 2) /* each query, a scan, the header info */

struct table {
	char name[64];
	char path[96];
	unsigned char *img; /* the intact object */
	size_t size;
	uint32_t want[NRES]; /* intact results */
};

static void fill_table(struct shm_writer *w)
{
	struct shm_entry e;
	int i;

	tshm_insert(w, SHM_GRANT, "alice", "sudo:run");
	tshm_insert(w, SHM_GRANT, "alice", "login:*");
	tshm_insert(w, SHM_GRANT, "bob", "login:ssh");
	tshm_entry(&e, SHM_GRANT, "%10", "sudo:cmd:/bin/ls");
	e.flags = SHM_FL_GROUP | SHM_FL_SRC_POLICY;
	tshm_set(&e, SHM_F_SOURCE, "policy.json binding 1 role ops");
	assert_int_equal(shm_writer_insert(w, &e, NULL, NULL), PSM_OK);
	tshm_entry(&e, SHM_DENY, "%11", "*");
	e.flags = SHM_FL_GROUP;
	e.rule = 3;
	assert_int_equal(shm_writer_insert(w, &e, NULL, NULL), PSM_OK);
	tshm_insert(w, SHM_DENY, "carol", "sudo:*");
	for (i = 0; i < 3; i++) {
		char id[16];

		snprintf(id, sizeof(id), "S%d", i);
		tshm_entry(&e, SHM_SESSION, id, NULL);
		e.uid = 1000u + (uint32_t)i;
		e.pid = 100u + (uint32_t)i;
		tshm_set(&e, SHM_F_HOSTS, "sshd");
		tshm_set(&e, SHM_F_SESSION, "{\"ticket\":\"42\"}");
		assert_int_equal(shm_writer_insert(w, &e, NULL, NULL), PSM_OK);
	}
	tshm_insert(w, SHM_SERVICE, "sshd", "login:ssh");
	tshm_insert(w, SHM_SERVICE, "sudo", "sudo:run");
	tshm_insert(w, SHM_BREAKGLASS, "root", NULL);
	tshm_insert(w, SHM_GRANT, "dave", "a:b");
	tshm_insert(w, SHM_GRANT, "erin", "c:d");
	tshm_insert(w, SHM_GRANT, "erin", "e:f");
	tshm_insert(w, SHM_GRANT, "frank", "g:h");
	shm_writer_set_policy_counts(w, 1, 2, 3);
	shm_writer_heartbeat(w, 1700000000);
}

static uint32_t entry_digest(uint32_t crc, const struct shm_entry *e)
{
	uint64_t num[8] = {e->kind,
			   e->flags,
			   (uint64_t)e->not_before,
			   (uint64_t)e->not_after,
			   e->version,
			   ((uint64_t)e->rule << 32) | e->uid,
			   ((uint64_t)e->pid << 32) | e->audit,
			   (uint64_t)e->created};
	int i;

	crc = shm_crc32c(crc, num, sizeof(num));
	crc = shm_crc32c(crc, e->id, sizeof(e->id));
	for (i = 0; i < SHM_NFIELDS; i++) {
		crc = shm_crc32c(crc, &e->flen[i], sizeof(e->flen[i]));
		crc = shm_crc32c(crc, e->f[i], e->flen[i]);
	}
	return crc;
}

static uint32_t lookup_digest(const struct shm_view *v, const struct query *q)
{
	struct shm_iter it;
	struct shm_entry e;
	struct shm_recbuf buf;
	uint32_t crc = 1;
	uint64_t seq;
	int rc;

	if (shm_read_begin(v, &seq, NULL) != PSM_OK)
		return ERR_DIGEST;
	shm_iter_init(v, &it, q->kind, q->key, strlen(q->key));
	while ((rc = shm_iter_next(v, &it, &e, &buf)) == 1)
		crc = entry_digest(crc, &e);
	if (!shm_read_ok(v, seq) || rc < 0)
		return ERR_DIGEST;
	return crc;
}

static int scan_digest_cb(const struct shm_entry *e, void *ctx)
{
	uint32_t *crc = ctx;

	*crc = entry_digest(*crc, e);
	return 0;
}

static uint32_t scan_digest(const struct shm_view *v)
{
	uint32_t crc = 2;

	if (shm_scan(v, 0, scan_digest_cb, &crc) != 0)
		return ERR_DIGEST;
	return crc;
}

static uint32_t info_digest(const struct shm_view *v)
{
	struct shm_info in;

	if (shm_info_get(v, &in, NULL) != PSM_OK)
		return ERR_DIGEST;
	return shm_crc32c(3, &in, sizeof(in));
}

/* All results for the object as it is now, through a view opened with flags; false when
 * it cannot be opened at all. */
static bool results_mode(const char *name, unsigned flags, uint32_t *res)
{
	struct shm_view v;
	uint64_t seq;
	size_t i;

	if (shm_view_open_flags(&v, name, flags, NULL) != PSM_OK)
		return false;
	if (shm_read_begin(&v, &seq, NULL) != PSM_OK) { /* seq left odd: every read fails */
		for (i = 0; i < NRES; i++)
			res[i] = ERR_DIGEST;
	} else {
		for (i = 0; i < NQ; i++)
			res[i] = lookup_digest(&v, &queries[i]);
		res[NQ] = scan_digest(&v);
		res[NQ + 1] = info_digest(&v);
	}
	shm_view_close(&v);
	return true;
}

/* The results of a mapped view; a view that reads with pread (SHM_VIEW_PREAD, as pam_psm
 * does) must open exactly when it opens and give exactly the same answers. */
static bool results(const char *name, uint32_t *res)
{
	uint32_t res_pread[NRES];
	bool opened = results_mode(name, 0, res);
	bool opened_pread = results_mode(name, SHM_VIEW_PREAD, res_pread);

	assert_int_equal(opened, opened_pread);
	if (opened)
		assert_memory_equal(res, res_pread, sizeof(res_pread));
	return opened;
}

static void write_object(const struct table *t, const unsigned char *img, size_t len)
{
	int fd = open(t->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, img, len), (ssize_t)len);
	close(fd);
}

static int table_setup(void **state)
{
	struct table *t = calloc(1, sizeof(*t));
	struct shm_writer *w;
	int fd;
	size_t i;

	tshm_name(t->name, sizeof(t->name));
	snprintf(t->path, sizeof(t->path), "/dev/shm%s", t->name);
	w = tshm_writer(t->name, CAPACITY);
	fill_table(w);
	assert_int_equal(shm_writer_publish(w, NULL), PSM_OK);
	shm_writer_close(w);
	fd = open(t->path, O_RDONLY);
	assert_true(fd >= 0);
	t->size = (size_t)lseek(fd, 0, SEEK_END);
	t->img = malloc(t->size);
	assert_int_equal(pread(fd, t->img, t->size, 0), (ssize_t)t->size);
	close(fd);
	assert_true(results(t->name, t->want));
	for (i = 0; i < NRES; i++)
		assert_int_not_equal(t->want[i], ERR_DIGEST);
	*state = t;
	return 0;
}

static int table_teardown(void **state)
{
	struct table *t = *state;

	unlink(t->path);
	free(t->img);
	free(t);
	return 0;
}

static void test_intact_table(void **state)
{
	struct table *t = *state;
	struct shm_view v;
	struct shm_info in;

	assert_int_equal(shm_view_open(&v, t->name, NULL), PSM_OK);
	assert_int_equal(tshm_count(&v, SHM_GRANT, "alice", NULL), 2);
	assert_int_equal(tshm_count(&v, SHM_GRANT, "erin", NULL), 2);
	assert_int_equal(tshm_count(&v, SHM_SESSION, "S2", NULL), 1);
	assert_int_equal(tshm_count(&v, SHM_GRANT, "nobody", NULL), 0);
	assert_int_equal(shm_info_get(&v, &in, NULL), PSM_OK);
	assert_int_equal(in.records, 16);
	assert_int_equal(in.capacity, CAPACITY);
	printf("# table of %zu bytes, %u buckets\n", t->size, (unsigned)v.nbuckets);
	shm_view_close(&v);
}

/* Classifies the results of one corrupted object: 0 detected, 1 harmless, -1 wrong answer. */
static int classify(const struct table *t)
{
	uint32_t res[NRES];
	bool err = false;
	size_t i;

	if (!results(t->name, res))
		return 0;
	for (i = 0; i < NRES; i++) {
		if (res[i] == ERR_DIGEST)
			err = true;
		else if (res[i] != t->want[i])
			return -1;
	}
	return err ? 0 : 1;
}

static void test_every_byte_corrupted(void **state)
{
	struct table *t = *state;
	unsigned char *buf = malloc(t->size);
	long detected = 0, benign = 0, wrong = 0;
	size_t off;
	int k, c;

	assert_non_null(buf);
	memcpy(buf, t->img, t->size);
	for (off = 0; off < t->size; off += vg_stride()) {
		for (k = 0; k < 10; k++) {
			buf[off] = (unsigned char)(k < 8    ? t->img[off] ^ (1u << k)
						   : k == 8 ? 0x00u
							    : 0xffu);
			if (buf[off] == t->img[off])
				continue;
			write_object(t, buf, t->size);
			c = classify(t);
			if (c < 0 && wrong++ < 10)
				print_error("wrong answer: byte %zu set to 0x%02x (was 0x%02x)\n",
					    off, buf[off], t->img[off]);
			detected += c == 0;
			benign += c == 1;
		}
		buf[off] = t->img[off];
	}
	printf("# %zu bytes x 10 corruptions: %ld detected, %ld harmless, %ld wrong\n", t->size,
	       detected, benign, wrong);
	free(buf);
	assert_int_equal(wrong, 0);
	assert_true(detected > (long)(t->size / vg_stride())); /* more than one per byte visited */
}

static void test_every_truncation(void **state)
{
	struct table *t = *state;
	uint32_t res[NRES];
	size_t len;
	long opened = 0;

	for (len = 0; len < t->size; len += vg_stride()) {
		write_object(t, t->img, len);
		opened += results(t->name, res);
	}
	assert_int_equal(opened, 0);
	/* and one byte too many */
	write_object(t, t->img, t->size);
	assert_true(results(t->name, res));
	{
		int fd = open(t->path, O_WRONLY | O_APPEND);

		assert_int_equal(write(fd, "", 1), 1);
		close(fd);
	}
	assert_false(results(t->name, res));
}

/* ---- crafted damage that keeps every checksum valid ---------------------------------------- */

static const struct shm_hdr *img_hdr(const unsigned char *img)
{
	return (const struct shm_hdr *)(const void *)img;
}

static struct shm_bucket *img_bucket(unsigned char *img, uint32_t b)
{
	return (struct shm_bucket *)(void *)(img + img_hdr(img)->buckets_off) + b;
}

static unsigned char *img_rec(unsigned char *img, uint32_t u)
{
	return img + img_hdr(img)->arena_off + (uint64_t)u * SHM_UNIT;
}

static uint32_t rec_u32(const unsigned char *rec, size_t off)
{
	uint32_t v;

	memcpy(&v, rec + off, sizeof(v));
	return v;
}

static void rec_fix_crc(unsigned char *rec)
{
	shm_rec_set_next(rec, rec_u32(rec, offsetof(struct shm_rec, next)));
}

/* Bucket of query q and a key absent from the table that falls in it. */
static uint32_t query_bucket(const unsigned char *img, const struct query *q, char *absent)
{
	uint32_t mask = img_hdr(img)->nbuckets - 1, b;
	int i;

	b = shm_hash(q->kind, q->key, strlen(q->key)) & mask;
	for (i = 0;; i++) {
		snprintf(absent, 16, "zz%d", i);
		if ((shm_hash(q->kind, absent, strlen(absent)) & mask) == b)
			return b;
	}
}

#define ABSENT_DIGEST 1u /* lookup_digest() of a key with no records */

/* The object with img written: query i fails, and so does a scan.  An absent key of the same
 * bucket fails too when absent_fails (damage to the chain itself); otherwise it must get the
 * intact answer (damage inside a record that lookup skips by its checked hash). */
static void expect_detected_as(struct table *t, unsigned char *img, size_t qi, const char *absent,
			       bool absent_fails)
{
	struct shm_view v;
	struct query q = {queries[qi].kind, absent};

	write_object(t, img, t->size);
	assert_int_equal(shm_view_open(&v, t->name, NULL), PSM_OK);
	assert_int_equal(lookup_digest(&v, &queries[qi]), ERR_DIGEST);
	assert_int_equal(lookup_digest(&v, &q), absent_fails ? ERR_DIGEST : ABSENT_DIGEST);
	assert_int_equal(scan_digest(&v), ERR_DIGEST);
	shm_view_close(&v);
}

static void expect_detected(struct table *t, unsigned char *img, size_t qi, const char *absent)
{
	expect_detected_as(t, img, qi, absent, true);
}

/* The last record of alice's chain points back to the head: bounded hops, not a hang. */
static void test_chain_cycle(void **state)
{
	struct table *t = *state;
	unsigned char *img = malloc(t->size);
	char absent[16];
	uint32_t b, head, u, next;

	memcpy(img, t->img, t->size);
	b = query_bucket(img, &queries[0], absent);
	head = img_bucket(img, b)->head;
	for (u = head;
	     (next = rec_u32(img_rec(img, u), offsetof(struct shm_rec, next))) != SHM_NONE;)
		u = next;
	shm_rec_set_next(img_rec(img, u), head);
	expect_detected(t, img, 0, absent);
	/* a record pointing at itself */
	memcpy(img, t->img, t->size);
	shm_rec_set_next(img_rec(img, head), head);
	expect_detected(t, img, 0, absent);
	free(img);
}

static void test_next_out_of_arena(void **state)
{
	struct table *t = *state;
	unsigned char *img = malloc(t->size);
	char absent[16];
	uint32_t b, head;

	memcpy(img, t->img, t->size);
	b = query_bucket(img, &queries[0], absent);
	head = img_bucket(img, b)->head;
	shm_rec_set_next(img_rec(img, head), (uint32_t)img_hdr(img)->arena_units);
	expect_detected(t, img, 0, absent);
	memcpy(img, t->img, t->size);
	shm_rec_set_next(img_rec(img, head), SHM_BAD_UNIT);
	expect_detected(t, img, 0, absent);
	free(img);
}

/* Bucket heads (with a matching ~head) pointing at a record of another bucket, or past the end. */
static void test_bucket_points_elsewhere(void **state)
{
	struct table *t = *state;
	unsigned char *img = malloc(t->size);
	char absent[16], other[16];
	uint32_t b, b2;
	size_t qi;

	memcpy(img, t->img, t->size);
	b = query_bucket(img, &queries[0], absent);
	for (qi = 1; qi < NQ; qi++) {
		b2 = query_bucket(img, &queries[qi], other);
		if (b2 != b && img_bucket(img, b2)->head != SHM_NONE)
			break;
	}
	assert_true(qi < NQ);
	img_bucket(img, b)->head = img_bucket(img, b2)->head;
	img_bucket(img, b)->inv = ~img_bucket(img, b2)->head;
	expect_detected(t, img, 0, absent);
	img_bucket(img, b)->head = (uint32_t)img_hdr(img)->arena_units + 1;
	img_bucket(img, b)->inv = ~img_bucket(img, b)->head;
	expect_detected(t, img, 0, absent);
	free(img);
}

/* The first record of query q's own key in its chain (other keys may share the bucket). */
static unsigned char *query_rec(unsigned char *img, const struct query *q, uint32_t b)
{
	uint32_t h = shm_hash(q->kind, q->key, strlen(q->key)), u = img_bucket(img, b)->head;

	while (rec_u32(img_rec(img, u), offsetof(struct shm_rec, hash)) != h) {
		u = rec_u32(img_rec(img, u), offsetof(struct shm_rec, next));
		assert_int_not_equal(u, SHM_NONE);
	}
	return img_rec(img, u);
}

static void rec_set_size(unsigned char *rec, uint32_t size)
{
	uint32_t inv = ~size;

	memcpy(rec + offsetof(struct shm_rec, size), &size, 4);
	memcpy(rec + offsetof(struct shm_rec, size_inv), &inv, 4);
}

/* Field lengths that do not add up to the size, and a size past the arena, crc recomputed
 * where it can be.  Lookups of other keys skip the record unread: they stay right. */
static void test_record_lengths(void **state)
{
	struct table *t = *state;
	unsigned char *img = malloc(t->size), *rec;
	char absent[16];
	uint32_t b, size;
	uint16_t flen;

	memcpy(img, t->img, t->size);
	b = query_bucket(img, &queries[0], absent);
	rec = query_rec(img, &queries[0], b);
	memcpy(&flen, rec + offsetof(struct shm_rec, flen) + 2 * SHM_F_PATTERN, 2);
	flen++;
	memcpy(rec + offsetof(struct shm_rec, flen) + 2 * SHM_F_PATTERN, &flen, 2);
	rec_fix_crc(rec);
	expect_detected_as(t, img, 0, absent, false);
	/* a field longer than SHM_FIELD_MAX, with the size (and its pair, and the crc) to match */
	memcpy(img, t->img, t->size);
	flen = SHM_FIELD_MAX + 1;
	memcpy(rec + offsetof(struct shm_rec, flen) + 2 * SHM_F_REASON, &flen, 2);
	size = rec_u32(rec, offsetof(struct shm_rec, size)) + flen;
	rec_set_size(rec, size);
	if (rec + size <= img + t->size)
		rec_fix_crc(rec);
	expect_detected_as(t, img, 0, absent, false);
	/* a size running past the end of the arena, its pair intact */
	memcpy(img, t->img, t->size);
	rec_set_size(rec, SHM_REC_MAX);
	expect_detected_as(t, img, 0, absent, false);
	/* a size whose pair is broken */
	memcpy(img, t->img, t->size);
	size = rec_u32(rec, offsetof(struct shm_rec, size));
	memcpy(rec + offsetof(struct shm_rec, size), &(uint32_t){size - 8}, 4);
	expect_detected_as(t, img, 0, absent, false);
	free(img);
}

/* A record whose hash (with its pair and crc) names another bucket: every lookup walking the
 * chain fails, also for keys whose records it would skip. */
static void test_hash_other_bucket(void **state)
{
	struct table *t = *state;
	unsigned char *img = malloc(t->size), *rec;
	char absent[16];
	uint32_t b, h;

	memcpy(img, t->img, t->size);
	b = query_bucket(img, &queries[0], absent);
	rec = img_rec(img, img_bucket(img, b)->head);
	h = rec_u32(rec, offsetof(struct shm_rec, hash)) ^ 1u;
	memcpy(rec + offsetof(struct shm_rec, hash), &h, 4);
	h = ~h;
	memcpy(rec + offsetof(struct shm_rec, hash_inv), &h, 4);
	rec_fix_crc(rec);
	expect_detected(t, img, 0, absent);
	free(img);
}

/* Every corruption of byte off of the record at unit u: the lookup of q fails. */
static size_t routing_byte_caught(struct table *t, unsigned char *img, uint32_t u, size_t off,
				  const struct query *q)
{
	unsigned char *p = img_rec(img, u) + off, orig = *p;
	struct shm_view v;
	size_t n = 0;
	int k;

	for (k = 0; k < 10; k++) {
		*p = (unsigned char)(k < 8 ? orig ^ (1u << k) : k == 8 ? 0x00u : 0xffu);
		if (*p == orig)
			continue;
		write_object(t, img, t->size);
		assert_int_equal(shm_view_open(&v, t->name, NULL), PSM_OK);
		if (lookup_digest(&v, q) != ERR_DIGEST)
			fail_msg("unit %u byte %zu = 0x%02x: not caught in place", u, off, *p);
		shm_view_close(&v);
		n++;
	}
	*p = orig;
	return n;
}

/* Every corruption of every byte of every routing word (next, hash and their complements) of
 * every record is caught in place: a lookup of an absent key walking that chain fails, even
 * though it copies no record. */
static void test_routing_words_in_place(void **state)
{
	struct table *t = *state;
	unsigned char *img = malloc(t->size);
	size_t qi, off, checked = 0;
	char absent[16];
	uint32_t u;

	memcpy(img, t->img, t->size);
	for (qi = 0; qi < NQ; qi++) {
		struct query q = {queries[qi].kind, absent};

		u = img_bucket(img, query_bucket(t->img, &queries[qi], absent))->head;
		for (; u != SHM_NONE;
		     u = rec_u32(img_rec(img, u), offsetof(struct shm_rec, next))) {
			assert_true(u < img_hdr(t->img)->arena_units);
			for (off = offsetof(struct shm_rec, next);
			     off < offsetof(struct shm_rec, hash_inv) + 4; off++)
				checked += routing_byte_caught(t, img, u, off, &q);
		}
	}
	printf("# %zu routing-word corruptions, all caught by a lookup that copies nothing\n",
	       checked);
	assert_true(checked >= 16 * 16 * 9);
	free(img);
}

static void patch_hdr(struct table *t, unsigned char *img, size_t off, uint64_t v, size_t n,
		      const char *want)
{
	struct shm_hdr *h = (struct shm_hdr *)(void *)img;
	struct shm_view v2;
	struct psm_err err = {0};

	memcpy(img, t->img, t->size);
	memcpy(img + off, &v, n);
	h->st_crc = shm_hdr_crc(h);
	write_object(t, img, t->size);
	assert_int_equal(shm_view_open(&v2, t->name, &err), PSM_EUNAVAIL);
	if (strstr(err.msg, want) == NULL)
		fail_msg("header patch at %zu: '%s' lacks '%s'", off, err.msg, want);
}

/* Header geometry that does not hold together, with a valid header crc. */
static void test_bad_geometry(void **state)
{
	struct table *t = *state;
	unsigned char *img = malloc(t->size);
	const struct shm_hdr *h = img_hdr(t->img);

	patch_hdr(t, img, offsetof(struct shm_hdr, nbuckets), h->nbuckets - 1, 4, "bad geometry");
	patch_hdr(t, img, offsetof(struct shm_hdr, nbuckets), h->nbuckets * 2, 4, "bad geometry");
	patch_hdr(t, img, offsetof(struct shm_hdr, arena_units), h->arena_units + 1, 8,
		  "bad geometry");
	patch_hdr(t, img, offsetof(struct shm_hdr, arena_off), h->arena_off - 64, 8,
		  "bad geometry");
	patch_hdr(t, img, offsetof(struct shm_hdr, buckets_off), 0, 8, "bad geometry");
	patch_hdr(t, img, offsetof(struct shm_hdr, unit_size), 32, 4, "bad geometry");
	patch_hdr(t, img, offsetof(struct shm_hdr, capacity), 0, 8, "bad geometry");
	patch_hdr(t, img, offsetof(struct shm_hdr, capacity), ~0ull, 8, "bad geometry");
	patch_hdr(t, img, offsetof(struct shm_hdr, total_size), h->total_size * 2, 8,
		  "does not match header");
	/* host name without a NUL */
	memcpy(img, t->img, t->size);
	memset(img + offsetof(struct shm_hdr, host_name), 'h', SHM_HOST_MAX);
	((struct shm_hdr *)(void *)img)->st_crc = shm_hdr_crc((struct shm_hdr *)(void *)img);
	write_object(t, img, t->size);
	assert_false(results(t->name, (uint32_t[NRES]){0}));
	free(img);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, table_setup, table_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_intact_table),   T(test_every_byte_corrupted), T(test_every_truncation),
	    T(test_chain_cycle),    T(test_next_out_of_arena),	  T(test_bucket_points_elsewhere),
	    T(test_record_lengths), T(test_hash_other_bucket),	  T(test_routing_words_in_place),
	    T(test_bad_geometry),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
