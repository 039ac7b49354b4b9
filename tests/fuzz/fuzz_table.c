/* SPDX-License-Identifier: MIT */
/* fuzz_table.c - libFuzzer harness: the shared table as a reader sees it, through the pread and
 * the mmap views, and the decision at the end: a damaged table is refused or denies. */
#include <fcntl.h>
#include <grp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cond.h"
#include "decide.h"
#include "eval.h"
#include "perm.h"
#include "shm.h"
#include "shm_format.h"
#include "fuzz.h"

/* A check of this harness: the message names the function (fuzz.h prints the condition). */
#define FZ_CHECK(cond) FUZZ_CHECK(cond, "in %s", __func__)

size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max) __attribute__((weak));

/*
 * The request: may root use service "sudo" (permission "sudo:run") at FZ_NOW, from no remote
 * host, outside any session?  The intact table (fz_table_build) says no: every grant for it
 * misses by one thing (another user, another permission, expired, not yet valid, from a
 * network, another uid, another session), and the one group grant that matches is beaten by a
 * deny.  The inputs are that table's bytes, changed (corpus/table/intact is the table itself).
 */
#define FZ_NOW INT64_C(1796606000)
#define FZ_HOST "fz-host"
#define FZ_SESSION "fzsessionfzsessionfzsessio"

static char fz_name[64];

static void fz_cleanup(void)
{
	char path[128];

	if (shm_path(path, sizeof(path), fz_name, NULL) == 0)
		unlink(path);
}

/* ---- the intact table --------------------------------------------------------------------- */

static void fz_put(struct shm_writer *w, uint8_t kind, uint8_t flags, const char *key,
		   const char *pattern, int64_t nb, int64_t na, uint32_t uid)
{
	struct shm_entry e = {.kind = kind,
			      .flags = flags,
			      .not_before = nb,
			      .not_after = na,
			      .version = 1,
			      .rule = SHM_U32_NONE,
			      .uid = uid,
			      .audit = SHM_U32_NONE,
			      .created = FZ_NOW - 100};
	unsigned char from[64];
	size_t flen = 0;
	struct psm_err err = {0};

	e.id[0] = (uint8_t)(kind + flags);
	shm_entry_set_str(&e, SHM_F_KEY, key);
	shm_entry_set_str(&e, SHM_F_PRINCIPAL, key);
	shm_entry_set_str(&e, SHM_F_PATTERN, pattern);
	shm_entry_set_str(&e, SHM_F_SOURCE, "fuzz_table");
	if (uid == 2) { /* the grant from a network */
		FZ_CHECK(cond_compile("10.0.0.0/8", from, sizeof(from), &flen, &err) == PSM_OK);
		shm_entry_set(&e, SHM_F_FROM, from, flen);
	}
	if (flags & SHM_FL_SESSION_BOUND)
		shm_entry_set_str(&e, SHM_F_SESSION, FZ_SESSION);
	if (kind == SHM_SESSION) {
		e.audit = 7;
		e.pid = 4242;
	}
	FZ_CHECK(shm_writer_insert(w, &e, NULL, &err) == PSM_OK);
}

static void fz_table_fill(struct shm_writer *w)
{
	const int64_t nb = SHM_TIME_NONE_BEFORE, na = SHM_TIME_NONE_AFTER;
	const uint8_t ad = SHM_FL_SRC_ADMIN, uc = SHM_FL_UID_CHECKED;

	fz_put(w, SHM_SERVICE, SHM_FL_SRC_POLICY, "sudo", "sudo:run", nb, na, 0);
	fz_put(w, SHM_GRANT, ad | uc, "daemon", "sudo:*", nb, na, 1);
	fz_put(w, SHM_GRANT, ad, "root", "login:*", nb, na, 0);
	fz_put(w, SHM_GRANT, ad, "root", "sudo:*", nb, FZ_NOW - 10, 0);
	fz_put(w, SHM_GRANT, ad, "root", "sudo:run", FZ_NOW + 100, na, 0);
	fz_put(w, SHM_GRANT, ad, "root", "sudo:*", nb, na, 2);
	fz_put(w, SHM_GRANT, ad | uc, "root", "sudo:run", nb, na, 4242);
	fz_put(w, SHM_GRANT, ad | SHM_FL_SESSION_BOUND, "root", "sudo:*", nb, na, 0);
	fz_put(w, SHM_SESSION, 0, FZ_SESSION, "", nb, FZ_NOW + 3600, 0);
	fz_put(w, SHM_GRANT, SHM_FL_SRC_POLICY | SHM_FL_GROUP, "%0", "sudo:*", nb, na, 0);
	fz_put(w, SHM_DENY, SHM_FL_SRC_POLICY, "root", "sudo:*", nb, na, 0);
}

/* FUZZ_TABLE_SEED=FILE: the intact table's bytes are also written to FILE (the seed). */
static void fz_table_save(void)
{
	const char *seed = getenv("FUZZ_TABLE_SEED");
	unsigned char buf[1 << 16];
	char path[128];
	ssize_t n;
	int in, out;

	if (seed == NULL)
		return;
	FZ_CHECK(shm_path(path, sizeof(path), fz_name, NULL) == 0);
	in = open(path, O_RDONLY | O_CLOEXEC);
	out = open(seed, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	FZ_CHECK(in >= 0 && out >= 0);
	n = read(in, buf, sizeof(buf));
	FZ_CHECK(n > 0 && n < (ssize_t)sizeof(buf) && write(out, buf, (size_t)n) == n);
	close(in);
	close(out);
}

/* Publishes the intact table as fz_name. */
static void fz_table_build(void)
{
	struct shm_writer_opts o = {.capacity = 16, .host_name = FZ_HOST, .generation = 1};
	struct shm_writer *w = NULL;
	struct psm_err err = {0};

	o.name = fz_name;
	FZ_CHECK(shm_writer_create(&w, &o, &err) == PSM_OK);
	shm_writer_begin(w);
	fz_table_fill(w);
	shm_writer_commit(w);
	shm_writer_heartbeat(w, FZ_NOW);
	FZ_CHECK(shm_writer_publish(w, &err) == PSM_OK);
	shm_writer_close(w);
	fz_table_save();
}

/* ---- deciding ------------------------------------------------------------------------------ */

struct fz_decision {
	int pread_status; /* decide_run: enum decide_status */
	int mmap_rc;	  /* eval_check_service through a mapped view */
	int mmap_decision;
	char perm[PERM_MAX + 1]; /* the permission decided on */
	struct eval_out ev;	 /* the mapped view's */
};

static const struct eval_req fz_req = {
    .user = "root", .uid = 0, .gid = 0, .audit = SHM_U32_NONE, .now = FZ_NOW};

/* The decision as pam_psm makes it: decide_run, which reads by pread. */
static int fz_decide_pread(void)
{
	struct decide_req r = {.table = fz_name,
			       .user = "root",
			       .service = "sudo",
			       .audit = SHM_U32_NONE,
			       .now = FZ_NOW};
	struct decide_out o;
	struct psm_err err = {0};
	int rc = decide_run(&r, &o, &err);

	FZ_CHECK(rc == PSM_OK || rc == PSM_EINVAL);
	FZ_CHECK(!o.break_glass && !o.stale);
	return rc == PSM_OK ? o.status : DECIDE_DENY;
}

/* The same decision through a mapped view (psm-query's and psmd's way of reading). */
static void fz_decide_mmap(struct fz_decision *d, struct shm_view *v)
{
	struct eval_req req = fz_req;
	struct psm_err err = {0};

	req.table = fz_name;
	d->mmap_rc = shm_view_open(v, fz_name, &err);
	if (d->mmap_rc != PSM_OK)
		return;
	d->mmap_rc = eval_check_service(v, &req, "sudo", d->perm, sizeof(d->perm), &d->ev, &err);
	d->mmap_decision = d->mmap_rc == PSM_OK ? d->ev.decision : EVAL_DENY;
}

/* ---- the oracle: an allow must be one the bytes say -------------------------------------- */

static gid_t fz_groups[64];
static int fz_ngroups;

/* e's key is root's name or one of root's groups ("%GID"; the key says which, not the flag). */
static bool fz_is_roots(const struct shm_entry *e)
{
	char key[32];

	if (e->flen[SHM_F_KEY] == 4 && memcmp(e->f[SHM_F_KEY], "root", 4) == 0)
		return true;
	for (int i = 0; i < fz_ngroups; i++) {
		snprintf(key, sizeof(key), "%%%u", (unsigned)fz_groups[i]);
		if (e->flen[SHM_F_KEY] == strlen(key) &&
		    memcmp(e->f[SHM_F_KEY], key, strlen(key)) == 0)
			return true;
	}
	return false;
}

/* e is root's, matches perm, is valid at FZ_NOW from no host, for uid 0, outside a session. */
static bool fz_applies(const struct shm_entry *e, const char *perm, const char *host)
{
	struct cond_req cr;

	cond_req_init(&cr, NULL, host);
	return fz_is_roots(e) &&
	       pattern_match(e->f[SHM_F_PATTERN], e->flen[SHM_F_PATTERN], perm, strlen(perm)) &&
	       e->not_before <= FZ_NOW && FZ_NOW < e->not_after &&
	       (!(e->flags & SHM_FL_UID_CHECKED) || e->uid == 0) &&
	       !(e->flags & SHM_FL_SESSION_BOUND) &&
	       cond_match((const unsigned char *)e->f[SHM_F_FROM], e->flen[SHM_F_FROM], &cr);
}

struct fz_deny_scan {
	const struct shm_view *v;
	const char *perm, *host;
	uint64_t mask; /* the table's group_deny_mask */
	bool found;
};

/*
 * A deny counts when it applies and the decision had to see it: a lookup of its key can find it
 * (its routing hash is its key's: a record whose hash was changed along with its checksum is
 * skipped by every lookup unread), and, for a group's, the table's group_deny_mask says there
 * may be one for the permission (else the decision looks up no group).
 */
static int fz_deny_cb(const struct shm_entry *e, void *ctx)
{
	struct fz_deny_scan *s = ctx;
	size_t first = perm_first_segment(s->perm, strlen(s->perm));
	uint32_t hash;

	memcpy(&hash,
	       s->v->base + s->v->arena_off + (uint64_t)e->unit * SHM_UNIT +
		   offsetof(struct shm_rec, hash),
	       sizeof(hash));
	if (hash != shm_hash(e->kind, e->f[SHM_F_KEY], e->flen[SHM_F_KEY]))
		return 0;
	if (e->flen[SHM_F_KEY] > 0 && e->f[SHM_F_KEY][0] == '%' &&
	    !(s->mask & (shm_seg_bit(s->perm, first) | SHM_MASK_ANY)))
		return 0;
	s->found |= fz_applies(e, s->perm, s->host);
	return 0;
}

/* Every deny of the table, chain by chain. */
static int fz_deny_scan_txn(const struct shm_view *v, void *ctx, struct psm_err *err)
{
	int rc = shm_scan(v, SHM_DENY, fz_deny_cb, ctx);

	return rc == 0 ? PSM_OK : psm_err_set(err, PSM_EUNAVAIL, "scan: damage in a chain");
}

/* The denies of root's own keys only: the chains the decision reads. */
static int fz_deny_keys_txn(const struct shm_view *v, void *ctx, struct psm_err *err)
{
	struct shm_entry e;
	struct shm_recbuf buf;
	struct shm_iter it;
	char key[32];
	int r = 0;

	for (int i = -1; r >= 0 && i < fz_ngroups; i++) {
		if (i < 0)
			snprintf(key, sizeof(key), "root");
		else
			snprintf(key, sizeof(key), "%%%u", (unsigned)fz_groups[i]);
		shm_iter_init(v, &it, SHM_DENY, key, strlen(key));
		while ((r = shm_iter_next(v, &it, &e, &buf)) > 0)
			fz_deny_cb(&e, ctx);
	}
	return r == 0 ? PSM_OK : psm_err_set(err, PSM_EUNAVAIL, "lookup: damage in a chain");
}

/*
 * An allow: the deciding record is a grant of root's that applies, and no deny that counts
 * applies: found by a scan of every chain (another way through the table than the decision's
 * lookup), or, when the scan meets damage elsewhere, by lookups of root's keys (damage there
 * that the decision did not read, a group's chain it skipped, proves nothing either way).
 */
static void fz_check_allow(const struct fz_decision *d, const struct shm_view *v)
{
	struct fz_deny_scan s = {.v = v, .perm = d->perm, .host = v->host_name};
	const struct shm_entry *e = &d->ev.entry;
	struct psm_err err = {0};

	if (getenv("FUZZ_VERBOSE") != NULL) /* what allowed, for a person */
		fprintf(stderr, "allowed %s by kind %u flags %#x key %.*s pattern %.*s uid %u\n",
			d->perm, e->kind, e->flags, e->flen[SHM_F_KEY], e->f[SHM_F_KEY],
			e->flen[SHM_F_PATTERN], e->f[SHM_F_PATTERN], e->uid);
	FZ_CHECK(d->ev.have_entry && d->ev.reason == EVAL_R_GRANT);
	FZ_CHECK(e->kind == SHM_GRANT);
	FZ_CHECK(fz_applies(e, d->perm, v->host_name));
	s.mask = d->ev.info.group_deny_mask;
	if (shm_read_txn(v, fz_deny_scan_txn, &s, &err) == PSM_OK) {
		FZ_CHECK(!s.found);
		return;
	}
	s.found = false; /* what the scan saw before the damage */
	if (shm_read_txn(v, fz_deny_keys_txn, &s, &err) == PSM_OK)
		FZ_CHECK(!s.found);
}

/* ---- the harness ---------------------------------------------------------------------------- */

static void fz_init(void)
{
	gid_t g[64];

	if (fz_name[0] != '\0')
		return;
	fz_ngroups = 64;
	FZ_CHECK(getgrouplist("root", 0, g, &fz_ngroups) >= 0);
	memcpy(fz_groups, g, sizeof(g));
	snprintf(fz_name, sizeof(fz_name), "/fuzz-table-%d", (int)getpid());
	atexit(fz_cleanup);
	fz_table_build();
	FZ_CHECK(fz_decide_pread() == DECIDE_DENY); /* the premise: the intact table denies */
}

/* Puts the input where the table was, as psmd's files are: a regular file, 0600, root's. */
static void fz_publish(const uint8_t *data, size_t size)
{
	char path[128];
	int fd;

	FZ_CHECK(shm_path(path, sizeof(path), fz_name, NULL) == 0);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	FZ_CHECK(fd >= 0);
	FZ_CHECK(write(fd, data, size) == (ssize_t)size);
	close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_decision d = {0};
	struct shm_view v = {.fd = -1};

	fz_init();
	fz_publish(data, size);
	d.pread_status = fz_decide_pread();
	fz_decide_mmap(&d, &v);
	/* both views read the same bytes: the same answer */
	FZ_CHECK((d.pread_status == DECIDE_ALLOW) == (d.mmap_decision == EVAL_ALLOW));
	FZ_CHECK((d.pread_status == DECIDE_UNAVAIL) == (d.mmap_rc == PSM_EUNAVAIL));
	if (d.mmap_decision == EVAL_ALLOW)
		fz_check_allow(&d, &v);
	if (shm_view_is_open(&v))
		shm_view_close(&v);
	fz_cleanup(); /* nothing is left behind between inputs */
	return 0;
}

/* ---- the mutator ---------------------------------------------------------------------------- */

/* The 4-byte word at d[off] (off + 4 <= size), or 0. */
static uint32_t fz_word(const uint8_t *d, size_t size, uint64_t off)
{
	uint32_t w = 0;

	if (off <= size && size - off >= 4)
		memcpy(&w, d + off, 4);
	return w;
}

static void fz_set_word(uint8_t *d, size_t size, uint64_t off, uint32_t w)
{
	if (off <= size && size - off >= 4)
		memcpy(d + off, &w, 4);
}

/* Every record whose size pair holds gets its other pairs and its checksum made right. */
static void fz_fix_records(uint8_t *d, size_t size, const struct shm_hdr *h)
{
	uint64_t u, at, rs;

	for (u = 0; u < h->arena_units && u < size / SHM_UNIT;
	     u += (rs + SHM_UNIT - 1) / SHM_UNIT) {
		at = h->arena_off + u * SHM_UNIT;
		rs = fz_word(d, size, at + offsetof(struct shm_rec, size));
		if (at > size || size - at < sizeof(struct shm_rec) ||
		    rs < sizeof(struct shm_rec) || rs > SHM_REC_MAX || rs > size - at ||
		    fz_word(d, size, at + offsetof(struct shm_rec, size_inv)) != (uint32_t)~rs) {
			rs = SHM_UNIT;
			continue;
		}
		fz_set_word(d, size, at + offsetof(struct shm_rec, hash_inv),
			    ~fz_word(d, size, at + offsetof(struct shm_rec, hash)));
		shm_rec_set_next(d + at, fz_word(d, size, at + offsetof(struct shm_rec, next)));
	}
}

/* Makes the checksums and the word pairs right again, so that a change reaches the code behind
 * them: header, counters, buckets, records; and the sequence even (no writer mid-batch). */
static void fz_fix(uint8_t *d, size_t size)
{
	struct shm_hdr h;
	uint64_t b;

	if (size < SHM_HDR_SIZE)
		return;
	memcpy(&h, d, sizeof(h));
	h.st_crc = shm_hdr_crc(&h);
	h.mut.crc = shm_mut_crc(&h.mut);
	h.seq = h.seq & ~(uint64_t)1;
	memcpy(d, &h, sizeof(h));
	for (b = 0; b < h.nbuckets && b < size / 8; b++)
		fz_set_word(d, size, h.buckets_off + 8 * b + 4,
			    ~fz_word(d, size, h.buckets_off + 8 * b));
	fz_fix_records(d, size, &h);
}

/* A few bytes changed in place (the size stays: another size is refused at open). */
static void fz_poke(uint8_t *d, size_t size, unsigned seed)
{
	static const uint8_t vals[] = {0x00, 0x01, 0x7f, 0x80, 0xff, 0xfe, '*', '%', ':', '0'};
	unsigned n = 1 + seed % 4, r = seed;

	for (unsigned i = 0; i < n && size > 0; i++) {
		r = r * 1103515245u + 12345u;
		size_t off = (r >> 8) % size;

		if (r & 0x10)
			d[off] ^= (uint8_t)(1u << (r >> 5) % 8);
		else
			d[off] = vals[(r >> 12) % sizeof(vals)];
	}
}

size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max, unsigned int seed);
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max, unsigned int seed)
{
	if (seed % 4 == 0)
		size = LLVMFuzzerMutate(data, size, max);
	else
		fz_poke(data, size, seed / 4);
	if ((seed / 16) % 4 != 0)
		fz_fix(data, size);
	return size;
}
