/* SPDX-License-Identifier: MIT */
/* shm_reader.c - lock-free reader of the table: open and validate, seqlock transactions, lookups.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crc32c.h"
#include "psm_str.h"
#include "shm_pread.h"

static int shm_open_errno(const char *name, int e, struct psm_err *err)
{
	if (e == ENOENT)
		return psm_err_set(err, PSM_EUNAVAIL, "table %s: no such table (is psmd running?)",
				   name);
	if (e == EACCES || e == EPERM)
		return psm_err_set(err, PSM_EUNAVAIL,
				   "table %s: permission denied (not in the table's group?)", name);
	if (e == ELOOP)
		return psm_err_set(err, PSM_EUNAVAIL, "table %s: is a symbolic link", name);
	if (e == ENXIO)
		return psm_err_set(err, PSM_EUNAVAIL, "table %s: not a regular file (a socket?)",
				   name);
	return psm_err_set(err, PSM_EUNAVAIL, "table %s: open: %s", name, strerror(e));
}

/* The object itself: a regular file, ours or root's, not writable by others, big enough. */
static int shm_view_stat_check(int fd, const char *name, size_t *size, struct psm_err *err)
{
	struct stat st;

	if (fstat(fd, &st) != 0)
		return psm_err_set(err, PSM_EUNAVAIL, "table %s: fstat: %s", name, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return psm_err_set(err, PSM_EUNAVAIL, "table %s: not a regular file", name);
	if (st.st_uid != 0 && st.st_uid != geteuid())
		return psm_err_set(err, PSM_EUNAVAIL, "table %s: owner uid %u is not root", name,
				   (unsigned)st.st_uid);
	if (st.st_mode & 022)
		return psm_err_set(err, PSM_EUNAVAIL,
				   "table %s: group- or world-writable (mode %04o)", name,
				   (unsigned)(st.st_mode & 07777));
	if (st.st_size < (off_t)SHM_HDR_SIZE)
		return psm_err_set(err, PSM_EUNAVAIL,
				   "table %s: size %lld is smaller than a header", name,
				   (long long)st.st_size);
	*size = (size_t)st.st_size;
	return PSM_OK;
}

static int shm_geom_check(const struct shm_hdr *h, const char *name, struct psm_err *err)
{
	struct shm_geom g;

	if (h->unit_size != SHM_UNIT || h->capacity == 0 || h->capacity > SHM_CAPACITY_MAX)
		return psm_err_set(err, PSM_EUNAVAIL,
				   "table %s: bad geometry (unit %u, capacity %llu)", name,
				   h->unit_size, (unsigned long long)h->capacity);
	shm_geom_for(h->capacity, &g);
	if (h->nbuckets != g.nbuckets || h->buckets_off != g.buckets_off ||
	    h->arena_off != g.arena_off || h->arena_units != g.arena_units ||
	    h->total_size != g.total_size)
		return psm_err_set(err, PSM_EUNAVAIL,
				   "table %s: bad geometry (buckets %u, arena %llu units)", name,
				   h->nbuckets, (unsigned long long)h->arena_units);
	if (psm_mem_chr(h->host_name, '\0', sizeof(h->host_name)) == NULL)
		return psm_err_set(err, PSM_EUNAVAIL, "table %s: host name not terminated", name);
	return PSM_OK;
}

static int shm_hdr_check(const struct shm_hdr *h, size_t size, const char *name,
			 struct psm_err *err)
{
	if (h->magic != SHM_MAGIC)
		return psm_err_set(err, PSM_EUNAVAIL, "table %s: not a psm table (bad magic)",
				   name);
	if (h->version != SHM_FORMAT_VERSION || h->hdr_size != SHM_HDR_SIZE)
		return psm_err_set(err, PSM_EUNAVAIL,
				   "table %s: format version %u (header %u B), expected %u (%u B)",
				   name, h->version, h->hdr_size, SHM_FORMAT_VERSION, SHM_HDR_SIZE);
	if (shm_hdr_crc(h) != h->st_crc)
		return psm_err_set(err, PSM_EUNAVAIL, "table %s: header checksum mismatch", name);
	if (h->total_size != size)
		return psm_err_set(err, PSM_EUNAVAIL,
				   "table %s: size %zu does not match header (%llu)", name, size,
				   (unsigned long long)h->total_size);
	return shm_geom_check(h, name, err);
}

/* The header h of v (mapped or copied) checked; v takes its static part. */
static int shm_view_accept(struct shm_view *v, const struct shm_hdr *h, struct psm_err *err)
{
	int rc = shm_hdr_check(h, v->size, v->name, err);

	if (rc == PSM_OK)
		shm_view_set_static(v, h);
	return rc;
}

static void shm_counters_from(const struct shm_mut *m, struct shm_counters *out)
{
	*out = (struct shm_counters){.generation = m->generation,
				     .heartbeat = m->heartbeat,
				     .group_mask = m->group_mask,
				     .group_deny_mask = m->group_deny_mask,
				     .writer_pid = m->writer_pid};
}

/* A pread view keeps the counter block read with the header when it is the one published
 * with open_seq (shm_format.h): the first transaction then needs no pread for it. */
static void shm_view_keep_counters(struct shm_view *v, const struct shm_mut *m)
{
	v->open_ctr_ok = (v->open_seq & 1) == 0 && m->seq == v->open_seq &&
			 shm_crc32c_view(v, m, offsetof(struct shm_mut, crc)) == m->crc;
	if (v->open_ctr_ok)
		shm_counters_from(m, &v->open_ctr);
}

/* SHM_VIEW_PREAD: the header read by pread into a copy, with the seq and counters read with
 * it. */
static int shm_view_load_pread(struct shm_view *v, struct psm_err *err)
{
	struct shm_hdr copy;
	int rc;

	if (shm_pread(v, 0, &copy, sizeof(copy)) != 0)
		return psm_err_set(err, PSM_EUNAVAIL, "table %s: read: %s", v->name,
				   strerror(errno));
	atomic_thread_fence(memory_order_acquire);
	v->open_seq = atomic_load_explicit(&copy.seq, memory_order_relaxed);
	rc = shm_view_accept(v, &copy, err);
	if (rc == PSM_OK)
		shm_view_keep_counters(v, &copy.mut);
	return rc;
}

/* A mapped view: the whole object mapped read-only, the header checked in place. */
static int shm_view_load_map(struct shm_view *v, struct psm_err *err)
{
	void *p = mmap(NULL, v->size, PROT_READ, MAP_SHARED, v->fd, 0);

	if (p == MAP_FAILED)
		return psm_err_set(err, PSM_EUNAVAIL, "table %s: mmap: %s", v->name,
				   strerror(errno));
	v->base = p;
	return shm_view_accept(v, shm_hdr_of(v), err);
}

/* The part of an open that both modes share: v reset, the name checked, the object opened and
 * its fstat checked (v->fd, v->size); nothing read yet. */
static int shm_view_open_fd(struct shm_view *v, const char *name, unsigned flags,
			    struct psm_err *err)
{
	char path[SHM_VIEW_NAME_MAX + 16];
	int rc;

	memset(v, 0, sizeof(*v));
	v->fd = -1;
	v->open_seq = 1;
	v->flags = flags & SHM_VIEW_PREAD;
	rc = shm_name_check(name, err);
	if (rc != PSM_OK)
		return rc;
	memcpy(v->name, name, psm_strnlen(name, sizeof(v->name) - 1)); /* zeroed: NUL-ended */
	if (shm_path(path, sizeof(path), name, NULL) != 0)
		return psm_err_set(err, PSM_EINVAL, "table name %s: too long", name);
	/* O_NONBLOCK: a FIFO squatted at the name must not block us in open(2) (in sudo, for
	 * good); O_NOCTTY: nor a tty become ours.  Both are refused by the fstat check next;
	 * on the regular file they may be, O_NONBLOCK changes nothing (tmpfs never blocks). */
	v->fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
	if (v->fd < 0)
		return shm_open_errno(name, errno, err);
	return shm_view_stat_check(v->fd, v->name, &v->size, err);
}

/* The pread mode on its own (no mapping code linked): pam_psm's one decision. */
int shm_view_open_pread(struct shm_view *v, const char *name, struct psm_err *err)
{
	int rc = shm_view_open_fd(v, name, SHM_VIEW_PREAD, err);

	if (rc == PSM_OK)
		rc = shm_view_load_pread(v, err);
	if (rc != PSM_OK)
		shm_view_close_pread(v);
	return rc;
}

int shm_view_open_flags(struct shm_view *v, const char *name, unsigned flags, struct psm_err *err)
{
	int rc;

	if (flags & SHM_VIEW_PREAD)
		return shm_view_open_pread(v, name, err);
	rc = shm_view_open_fd(v, name, flags, err);
	if (rc == PSM_OK)
		rc = shm_view_load_map(v, err);
	if (rc != PSM_OK)
		shm_view_close(v);
	return rc;
}

int shm_view_open(struct shm_view *v, const char *name, struct psm_err *err)
{
	return shm_view_open_flags(v, name, 0, err);
}

void shm_view_close(struct shm_view *v)
{
	if (v->base != NULL)
		munmap((void *)(uintptr_t)v->base, v->size);
	v->base = NULL;
	shm_view_close_pread(v);
}

void shm_view_close_pread(struct shm_view *v)
{
	if (v->fd >= 0)
		close(v->fd);
	v->base = NULL;
	v->size = 0;
	v->fd = -1;
	v->open_ctr_ok = false;
	v->nbuckets = 0;
	v->arena_units = 0;
}

bool shm_view_retired(const struct shm_view *v)
{
	uint32_t r;

	if (!shm_view_is_open(v))
		return true;
	if (v->base != NULL)
		return atomic_load_explicit(&shm_hdr_of(v)->retired, memory_order_acquire) != 0;
	return shm_pread(v, offsetof(struct shm_hdr, retired), &r, sizeof(r)) != 0 || r != 0;
}

/* The last tries of SHM_READ_TRIES sleep a millisecond each: a writer preempted mid-batch gets
 * ~50 ms to finish, a dead one costs a reader that long once. */
#define SHM_READ_SLEEPS 50

/* Spin (the CPU's pause hint: no system call), then sleep with poll(2), which pam_psm.so
 * imports already (each import is a symbol lookup at every dlopen of the module).  Out of
 * line: the fast path keeps no frame for it. */
__attribute__((noinline, cold)) static void shm_read_pause(int i)
{
	if (i < SHM_READ_TRIES - SHM_READ_SLEEPS) {
#if defined(__x86_64__) || defined(__i386__)
		__builtin_ia32_pause();
#endif
		return;
	}
	(void)poll(NULL, 0, 1);
}

/* seq with acquire semantics: the reads after it see at least the state it names. */
static inline uint64_t shm_seq_load(const struct shm_view *v)
{
	if (v->base == NULL)
		return shm_pread_seq(v);
	return atomic_load_explicit(&shm_hdr_of(v)->seq, memory_order_acquire);
}

int shm_read_begin(const struct shm_view *v, uint64_t *seq, struct psm_err *err)
{
	uint64_t s;
	int i;

	if (!shm_view_is_open(v))
		return psm_err_set(err, PSM_EUNAVAIL, "table: not open");
	for (i = 0; i < SHM_READ_TRIES; i++) {
		s = shm_seq_load(v);
		if ((s & 1) == 0) {
			*seq = s;
			return PSM_OK;
		}
		shm_read_pause(i);
	}
	return psm_err_set(err, PSM_EUNAVAIL,
			   "table %s: writer never finished (psmd died mid-write?)", v->name);
}

/* The end of a read: seq unchanged since (an acquire fence orders the reads before it). */
bool shm_read_ok(const struct shm_view *v, uint64_t seq)
{
	if (!shm_view_is_open(v))
		return false;
	if (v->base == NULL)
		return shm_pread_seq(v) == seq;
	atomic_thread_fence(memory_order_acquire);
	return atomic_load_explicit(&shm_hdr_of(v)->seq, memory_order_relaxed) == seq;
}

/*
 * The counter block with a good crc: in place in a mapped view (a writer that changes it
 * meanwhile also changes seq, and the transaction is read again), else read into *copy.
 * NULL with the reason in err.
 */
__attribute__((always_inline)) static inline const struct shm_mut *
shm_mut_get(const struct shm_view *v, struct shm_mut *copy, struct psm_err *err)
{
	const struct shm_mut *m = copy;

	if (!shm_view_is_open(v)) {
		psm_err_set(err, PSM_EUNAVAIL, "table: not open");
		return NULL;
	}
	if (v->base != NULL)
		m = &shm_hdr_of(v)->mut;
	else if (shm_pread(v, offsetof(struct shm_hdr, mut), copy, sizeof(*copy)) != 0)
		m = NULL;
	if (m == NULL || shm_crc32c_view(v, m, offsetof(struct shm_mut, crc)) != m->crc) {
		psm_err_set(err, PSM_EUNAVAIL, "table %s: header counters corrupt", v->name);
		return NULL;
	}
	return m;
}

int shm_info_read(const struct shm_view *v, struct shm_info *out, struct psm_err *err)
{
	struct shm_mut copy;
	const struct shm_mut *m = shm_mut_get(v, &copy, err);

	if (m == NULL)
		return PSM_EUNAVAIL;
	out->generation = m->generation;
	out->heartbeat = m->heartbeat;
	out->created = v->created;
	out->writer_pid = m->writer_pid;
	out->records = m->records;
	out->capacity = v->capacity;
	out->arena_used = m->arena_used;
	out->total_size = v->size;
	out->group_mask = m->group_mask;
	out->group_deny_mask = m->group_deny_mask;
	out->policy_roles = m->policy_roles;
	out->policy_bindings = m->policy_bindings;
	out->policy_denies = m->policy_denies;
	memcpy(out->host_name, v->host_name, sizeof(out->host_name));
	return PSM_OK;
}

int shm_counters_read(const struct shm_view *v, struct shm_counters *out, struct psm_err *err)
{
	struct shm_mut copy;
	const struct shm_mut *m;

	if (v->open_ctr_ok && v->base == NULL) {
		*out = v->open_ctr;
		return PSM_OK;
	}
	m = shm_mut_get(v, &copy, err);
	if (m == NULL)
		return PSM_EUNAVAIL;
	shm_counters_from(m, out);
	return PSM_OK;
}

/* A pread view's first attempt at a transaction begins from the seq read with the header at
 * open (one pread fewer per decision).  An older begin is still a sound one: the end check
 * fails if the writer moved since, and the next attempt begins from a fresh seq. */
static bool shm_open_seq(const struct shm_view *v, uint64_t *seq)
{
	if (v->base != NULL || !shm_view_is_open(v) || (v->open_seq & 1) != 0)
		return false;
	*seq = v->open_seq;
	return true;
}

/*
 * The first attempt of a pread view may begin at open_seq, with the counters read at open;
 * every other attempt runs on a copy of the view without them, at a fresh seq.
 */
int shm_read_txn(const struct shm_view *v, shm_read_fn fn, void *ctx, struct psm_err *err)
{
	struct shm_view fresh;
	unsigned i;

	for (i = 0; i < SHM_READ_TRIES; i++) {
		uint64_t seq;
		int rc = i == 0 && shm_open_seq(v, &seq) ? PSM_OK : shm_read_begin(v, &seq, err);

		if (rc != PSM_OK)
			return rc;
		rc = fn(v, ctx, err);
		if (shm_read_ok(v, seq))
			return rc;
		if (v->open_ctr_ok) {
			fresh = *v;
			fresh.open_ctr_ok = false;
			v = &fresh;
		}
	}
	return psm_err_set(err, PSM_EUNAVAIL, "table %s: no consistent read in %d tries", v->name,
			   SHM_READ_TRIES);
}

static int shm_info_fn(const struct shm_view *v, void *ctx, struct psm_err *err)
{
	return shm_info_read(v, ctx, err);
}

int shm_info_get(const struct shm_view *v, struct shm_info *out, struct psm_err *err)
{
	memset(out, 0, sizeof(*out));
	return shm_read_txn(v, shm_info_fn, out, err);
}

void shm_iter_key(const struct shm_view *v, struct shm_iter *it, uint8_t kind, const char *key,
		  size_t keylen)
{
	it->kind = kind;
	it->key = key;
	it->keylen = keylen;
	it->hash = shm_hash(kind, key, keylen);
	it->hops = 0;
	it->cur = v->nbuckets ? shm_bucket_head(v, it->hash & (v->nbuckets - 1)) : SHM_BAD_UNIT;
}

void shm_iter_init(const struct shm_view *v, struct shm_iter *it, uint8_t kind, const char *key,
		   size_t keylen)
{
	it->win.len = 0;
	shm_iter_key(v, it, kind, key, keylen);
}

static bool shm_iter_match(const struct shm_iter *it, const struct shm_entry *e)
{
	bool kind_ok = e->kind == it->kind ||
		       (it->kind == SHM_RULE && (e->kind == SHM_GRANT || e->kind == SHM_DENY));

	return kind_ok && e->flen[SHM_F_KEY] == it->keylen &&
	       psm_mem_eq(e->f[SHM_F_KEY], it->key, it->keylen);
}

/* Follows the chain by its checked routing words; copies and verifies only the records whose
 * hash is the key's (any other record has another key). */
int shm_iter_walk(const struct shm_view *v, struct shm_iter *it, struct shm_entry *out,
		  struct shm_recbuf *buf)
{
	uint32_t unit, next, hash, b = it->hash & (v->nbuckets - 1);

	while (it->cur != SHM_NONE) {
		if (++it->hops > v->arena_units)
			return -PSM_EUNAVAIL;
		unit = it->cur;
		if (shm_rec_route(v, unit, b, &hash, &next, buf, &it->win) != 0)
			return -PSM_EUNAVAIL;
		it->cur = next;
		if (hash != it->hash)
			continue;
		if (shm_rec_load(v, unit, hash, next, out, buf) != 0)
			return -PSM_EUNAVAIL;
		if (shm_iter_match(it, out))
			return 1;
	}
	return 0;
}

/* Visits one bucket's chain; *hops bounds the whole scan. */
static int shm_scan_chain(const struct shm_view *v, uint32_t b, uint8_t kind, shm_scan_cb cb,
			  void *ctx, uint64_t *hops, struct shm_recbuf *buf)
{
	struct shm_entry e;
	uint32_t unit, next, hash, cur = shm_bucket_head(v, b);
	int rc;

	while (cur != SHM_NONE) {
		if (++*hops > v->arena_units)
			return -PSM_EUNAVAIL;
		unit = cur;
		if (shm_rec_route(v, unit, b, &hash, &next, buf, NULL) != 0 ||
		    shm_rec_load(v, unit, hash, next, &e, buf) != 0)
			return -PSM_EUNAVAIL;
		cur = next;
		if (kind == 0 || e.kind == kind) {
			rc = cb(&e, ctx);
			if (rc != 0)
				return rc;
		}
	}
	return 0;
}

int shm_scan(const struct shm_view *v, uint8_t kind, shm_scan_cb cb, void *ctx)
{
	struct shm_recbuf buf;
	uint64_t hops = 0;
	uint32_t b;
	int rc;

	if (!shm_view_is_open(v))
		return -PSM_EUNAVAIL;
	for (b = 0; b < v->nbuckets; b++) {
		rc = shm_scan_chain(v, b, kind, cb, ctx, &hops, &buf);
		if (rc != 0)
			return rc;
	}
	return 0;
}
