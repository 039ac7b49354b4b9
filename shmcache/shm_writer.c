/* SPDX-License-Identifier: MIT */
/* shm_writer.c - psmd's side of the table: create, publish, batched insert/remove, counters. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "shm_alloc.h"
#include "shm_format.h"

#define SHM_PATH_MAX (SHM_VIEW_NAME_MAX + 48)
/* Random temporary names tried before giving up: a clash is chance (2^-64 each), not a user. */
#define SHM_TMP_TRIES 16

struct shm_writer {
	struct shm_view view; /* the writer's own mapping, read with the reader functions */
	unsigned char *base;  /* the same mapping, writable */
	char path[SHM_PATH_MAX];
	char tmp[SHM_PATH_MAX];
	bool published;
	int depth;	    /* nesting of begin/commit */
	struct shm_mut mut; /* authoritative counters, copied out at commit */
	uint64_t capacity;
	struct shm_alloc alloc; /* free space of the arena */
	uint8_t *live;		/* per unit: units of the live record starting there, else 0 */
};

static struct shm_hdr *shm_w_hdr(struct shm_writer *w)
{
	return (struct shm_hdr *)(void *)w->base;
}

static struct shm_bucket *shm_w_bucket(struct shm_writer *w, uint32_t b)
{
	return (struct shm_bucket *)(void *)(w->base + w->view.buckets_off) + b;
}

static unsigned char *shm_w_unit(struct shm_writer *w, uint32_t u)
{
	return w->base + w->view.arena_off + (uint64_t)u * SHM_UNIT;
}

static int64_t shm_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec;
}

/* ---- seqlock and counters --------------------------------------------------- */

static void shm_seq_enter(struct shm_writer *w)
{
	struct shm_hdr *h = shm_w_hdr(w);
	uint64_t s = atomic_load_explicit(&h->seq, memory_order_relaxed);

	atomic_store_explicit(&h->seq, s | 1, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
}

static void shm_seq_leave(struct shm_writer *w)
{
	struct shm_hdr *h = shm_w_hdr(w);
	uint64_t s = atomic_load_explicit(&h->seq, memory_order_relaxed);

	atomic_store_explicit(&h->seq, (s | 1) + 1, memory_order_release);
}

/* Writes the counter block with the seq it is published with: inside a batch (seq odd) the
 * one shm_seq_leave stores next; before the table is first published, the current one. */
static void shm_mut_flush(struct shm_writer *w)
{
	struct shm_mut *m = &shm_w_hdr(w)->mut;
	uint64_t s = atomic_load_explicit(&shm_w_hdr(w)->seq, memory_order_relaxed);

	w->mut.seq = (s + 1) & ~(uint64_t)1;
	w->mut.crc = shm_mut_crc(&w->mut);
	memcpy(m, &w->mut, sizeof(*m));
}

void shm_writer_begin(struct shm_writer *w)
{
	if (w->depth++ == 0)
		shm_seq_enter(w);
}

void shm_writer_commit(struct shm_writer *w)
{
	if (w->depth == 0 || --w->depth > 0)
		return;
	w->mut.generation++;
	shm_mut_flush(w);
	shm_seq_leave(w);
}

/* Counters changed outside the records: written now, or at the commit of the open batch. */
static void shm_mut_touch(struct shm_writer *w)
{
	if (w->depth > 0)
		return;
	shm_seq_enter(w);
	shm_mut_flush(w);
	shm_seq_leave(w);
}

void shm_writer_heartbeat(struct shm_writer *w, int64_t now)
{
	w->mut.heartbeat = now;
	shm_mut_touch(w);
}

void shm_writer_set_policy_counts(struct shm_writer *w, uint32_t roles, uint32_t bindings,
				  uint32_t denies)
{
	w->mut.policy_roles = roles;
	w->mut.policy_bindings = bindings;
	w->mut.policy_denies = denies;
	shm_mut_touch(w);
}

double shm_writer_fill(const struct shm_writer *w)
{
	double r = (double)w->mut.records / (double)w->capacity;
	double a = (double)w->mut.arena_used / (double)(w->view.arena_units * SHM_UNIT);

	return r > a ? r : a;
}

uint64_t shm_writer_generation(const struct shm_writer *w)
{
	return w->mut.generation;
}

const struct shm_view *shm_writer_view(const struct shm_writer *w)
{
	return &w->view;
}

/* ---- create, publish, close ----------------------------------------------------- */

static int shm_opts_check(const struct shm_writer_opts *o, struct psm_err *err)
{
	int rc = shm_name_check(o->name, err);

	if (rc != PSM_OK)
		return rc;
	if (o->capacity == 0 || o->capacity > SHM_CAPACITY_MAX)
		return psm_err_set(err, PSM_EINVAL, "table %s: capacity %llu out of range 1..%u",
				   o->name, (unsigned long long)o->capacity, SHM_CAPACITY_MAX);
	if (o->host_name != NULL && strlen(o->host_name) >= SHM_HOST_MAX)
		return psm_err_set(err, PSM_EINVAL, "table %s: host name longer than %d bytes",
				   o->name, SHM_HOST_MAX - 1);
	return PSM_OK;
}

/*
 * The suffix of a temporary name: ".new-" and 16 hex digits from getrandom(2).  /dev/shm is
 * writable by all and psmd's pid is public: a name made of the pid and a counter could be
 * taken first by any user, blocking every create, growth and republish.
 */
static int shm_tmp_suffix(char *sfx, size_t n, const char *name, struct psm_err *err)
{
	uint64_t r;
	ssize_t got;

	do
		got = getrandom(&r, sizeof(r), 0);
	while (got < 0 && errno == EINTR);
	if (got != (ssize_t)sizeof(r))
		return psm_err_set(err, PSM_ESYS, "table %s: random temporary name: %s", name,
				   got < 0 ? strerror(errno) : "short read");
	snprintf(sfx, n, ".new-%016llx", (unsigned long long)r);
	return PSM_OK;
}

/* Opens a fresh random temporary name O_EXCL, mode 0640; another random name on EEXIST. */
static int shm_tmp_open(struct shm_writer *w, const char *name, struct psm_err *err)
{
	char sfx[32];
	int n, rc;

	for (n = 0; n < SHM_TMP_TRIES; n++) {
		rc = shm_tmp_suffix(sfx, sizeof(sfx), name, err);
		if (rc != PSM_OK)
			return rc;
		if (shm_path(w->tmp, sizeof(w->tmp), name, sfx) != 0)
			return psm_err_set(err, PSM_EINVAL, "table %s: name too long", name);
		w->view.fd = open(w->tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0640);
		if (w->view.fd >= 0)
			return PSM_OK;
		if (errno != EEXIST)
			return psm_err_set(err, PSM_ESYS, "table %s: create %s: %s", name, w->tmp,
					   strerror(errno));
	}
	return psm_err_set(err, PSM_ESYS, "table %s: no free temporary name in %d random tries",
			   name, SHM_TMP_TRIES);
}

/* Creates the private object under NAME.new-RANDOM: mode 0640, our uid, the group. */
static int shm_tmp_create(struct shm_writer *w, const struct shm_writer_opts *o,
			  struct psm_err *err)
{
	int rc = shm_tmp_open(w, o->name, err);

	if (rc != PSM_OK)
		return rc;
	if (fchown(w->view.fd, geteuid(), o->group) != 0 || fchmod(w->view.fd, 0640) != 0) {
		psm_err_set(err, PSM_ESYS, "table %s: set owner/group %ld/mode 0640: %s", o->name,
			    (long)o->group, strerror(errno));
		unlink(w->tmp);
		return PSM_ESYS;
	}
	return PSM_OK;
}

static void shm_hdr_init(struct shm_writer *w, const struct shm_writer_opts *o,
			 const struct shm_geom *g)
{
	struct shm_hdr *h = shm_w_hdr(w);
	uint32_t b;

	h->magic = SHM_MAGIC;
	h->version = SHM_FORMAT_VERSION;
	h->hdr_size = SHM_HDR_SIZE;
	h->total_size = g->total_size;
	h->buckets_off = g->buckets_off;
	h->arena_off = g->arena_off;
	h->arena_units = g->arena_units;
	h->capacity = o->capacity;
	h->created = shm_now();
	h->nbuckets = g->nbuckets;
	h->unit_size = SHM_UNIT;
	if (o->host_name != NULL)
		memcpy(h->host_name, o->host_name, strlen(o->host_name));
	h->st_crc = shm_hdr_crc(h);
	shm_view_set_static(&w->view, h);
	for (b = 0; b < g->nbuckets; b++) {
		shm_w_bucket(w, b)->head = SHM_NONE;
		shm_w_bucket(w, b)->inv = 0;
	}
	w->mut.writer_pid = (uint32_t)getpid();
	w->mut.generation = o->generation;
	w->mut.heartbeat = h->created;
	shm_mut_flush(w);
}

static int shm_writer_map(struct shm_writer *w, const struct shm_writer_opts *o,
			  struct psm_err *err)
{
	struct shm_geom g;
	void *p;
	int rc;

	shm_geom_for(o->capacity, &g);
	w->live = calloc(g.arena_units, sizeof(*w->live));
	if (w->live == NULL || shm_alloc_init(&w->alloc, (uint32_t)g.arena_units) != PSM_OK)
		return psm_err_set(err, PSM_ENOMEM, "table %s: out of memory", o->name);
	/* reserve the pages now: a full /dev/shm is an error here, not a SIGBUS later */
	rc = posix_fallocate(w->view.fd, 0, (off_t)g.total_size);
	if (rc != 0)
		return psm_err_set(err, PSM_ESYS, "table %s: reserve %llu bytes in /dev/shm: %s",
				   o->name, (unsigned long long)g.total_size, strerror(rc));
	p = mmap(NULL, g.total_size, PROT_READ | PROT_WRITE, MAP_SHARED, w->view.fd, 0);
	if (p == MAP_FAILED)
		return psm_err_set(err, PSM_ESYS, "table %s: mmap: %s", o->name, strerror(errno));
	w->base = p;
	w->view.base = p;
	w->view.size = g.total_size;
	shm_hdr_init(w, o, &g);
	return PSM_OK;
}

int shm_writer_create(struct shm_writer **wp, const struct shm_writer_opts *o, struct psm_err *err)
{
	struct shm_writer *w;
	int rc;

	*wp = NULL;
	rc = shm_opts_check(o, err);
	if (rc != PSM_OK)
		return rc;
	w = calloc(1, sizeof(*w));
	if (w == NULL)
		return psm_err_set(err, PSM_ENOMEM, "table %s: out of memory", o->name);
	w->view.fd = -1;
	w->capacity = o->capacity;
	snprintf(w->view.name, sizeof(w->view.name), "%s", o->name);
	shm_path(w->path, sizeof(w->path), o->name, NULL);
	rc = shm_tmp_create(w, o, err);
	if (rc == PSM_OK) {
		rc = shm_writer_map(w, o, err);
		if (rc != PSM_OK)
			unlink(w->tmp);
	}
	if (rc != PSM_OK) {
		shm_writer_close(w);
		return rc;
	}
	*wp = w;
	return PSM_OK;
}

/* Sets the retired flag of the table at path, if it is one of ours. */
static void shm_retire_old(int fd)
{
	struct shm_hdr *h;
	struct stat st;
	void *p;

	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size < (off_t)SHM_HDR_SIZE ||
	    (st.st_uid != 0 && st.st_uid != geteuid()))
		return;
	p = mmap(NULL, SHM_HDR_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return;
	h = p;
	if (h->magic == SHM_MAGIC)
		atomic_store_explicit(&h->retired, 1, memory_order_release);
	munmap(p, SHM_HDR_SIZE);
}

/*
 * What is at the table's name now, to retire after the rename: an fd only for a regular
 * file (-1 for none, or for a FIFO, socket, device or symlink a user put there while psmd
 * was down: the rename replaces those, never opened).  A directory cannot be renamed over:
 * PSM_EUNAVAIL, saying so.
 */
static int shm_old_open(const struct shm_writer *w, int *old, struct psm_err *err)
{
	struct stat st;

	*old = -1;
	if (lstat(w->path, &st) != 0)
		return PSM_OK;
	if (S_ISDIR(st.st_mode))
		return psm_err_set(err, PSM_EUNAVAIL,
				   "table %s: %s is a directory, not a psm table (remove it)",
				   w->view.name, w->path);
	if (S_ISREG(st.st_mode))
		*old = open(w->path, O_RDWR | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
	return PSM_OK;
}

int shm_writer_publish(struct shm_writer *w, struct psm_err *err)
{
	int old, rc;

	if (w->published)
		return psm_err_set(err, PSM_EINVAL, "table %s: already published", w->view.name);
	shm_writer_heartbeat(w, shm_now());
	rc = shm_old_open(w, &old, err);
	if (rc != PSM_OK)
		return rc;
	if (rename(w->tmp, w->path) != 0) {
		psm_err_set(err, PSM_ESYS, "table %s: rename %s: %s", w->view.name, w->tmp,
			    strerror(errno));
		if (old >= 0)
			close(old);
		return PSM_ESYS;
	}
	w->published = true;
	if (old >= 0) {
		shm_retire_old(old);
		close(old);
	}
	return PSM_OK;
}

void shm_writer_close(struct shm_writer *w)
{
	if (w == NULL)
		return;
	if (w->base != NULL)
		munmap(w->base, w->view.size);
	if (w->view.fd >= 0)
		close(w->view.fd);
	free(w->live);
	shm_alloc_fini(&w->alloc);
	free(w);
}

void shm_writer_discard(struct shm_writer *w)
{
	if (w == NULL)
		return;
	if (!w->published)
		unlink(w->tmp);
	shm_writer_close(w);
}

/* ---- insert and remove ------------------------------------------------------------- */

static int shm_entry_check(const struct shm_writer *w, const struct shm_entry *e, size_t *size,
			   struct psm_err *err)
{
	size_t total = sizeof(struct shm_rec);
	int i;

	if (e->kind < SHM_GRANT || e->kind > SHM_BREAKGLASS)
		return psm_err_set(err, PSM_EINVAL, "table %s: bad record kind %u", w->view.name,
				   e->kind);
	if (e->flen[SHM_F_KEY] == 0)
		return psm_err_set(err, PSM_EINVAL, "table %s: empty key", w->view.name);
	for (i = 0; i < SHM_NFIELDS; i++) {
		if (e->flen[i] > SHM_FIELD_MAX)
			return psm_err_set(err, PSM_EINVAL,
					   "table %s: field %d is %u bytes (max %d)", w->view.name,
					   i, e->flen[i], SHM_FIELD_MAX);
		if (e->flen[i] > 0 && e->f[i] == NULL)
			return psm_err_set(err, PSM_EINVAL,
					   "table %s: field %d has a length but no data",
					   w->view.name, i);
		total += e->flen[i];
	}
	if (total > SHM_REC_MAX)
		return psm_err_set(err, PSM_EINVAL, "table %s: record is %zu bytes (max %d)",
				   w->view.name, total, SHM_REC_MAX);
	*size = total;
	return PSM_OK;
}

int shm_writer_check(const struct shm_writer *w, const struct shm_entry *e, struct psm_err *err)
{
	size_t size;

	return shm_entry_check(w, e, &size, err);
}

static uint64_t shm_group_bits(const struct shm_entry *e)
{
	const char *p = e->f[SHM_F_PATTERN], *colon;
	size_t n = e->flen[SHM_F_PATTERN];

	if ((e->kind != SHM_GRANT && e->kind != SHM_DENY) || !(e->flags & SHM_FL_GROUP))
		return 0;
	if (n == 0)
		return SHM_MASK_ANY;
	colon = memchr(p, ':', n);
	return shm_seg_bit(p, colon ? (size_t)(colon - p) : n);
}

static int shm_full(const struct shm_writer *w, struct psm_err *err)
{
	return psm_err_set(err, PSM_EFULL,
			   "table %s full: %llu records, %llu bytes (raise capacity)", w->view.name,
			   (unsigned long long)w->mut.records,
			   (unsigned long long)w->mut.arena_used);
}

static void shm_bucket_set(struct shm_writer *w, uint32_t b, uint32_t head)
{
	struct shm_bucket *bk = shm_w_bucket(w, b);

	__atomic_store_n(&bk->inv, ~head, __ATOMIC_RELEASE);
	__atomic_store_n(&bk->head, head, __ATOMIC_RELEASE);
}

int shm_writer_insert(struct shm_writer *w, const struct shm_entry *e, uint32_t *unit,
		      struct psm_err *err)
{
	uint32_t u, units, hash, b;
	size_t size = 0;
	int rc;

	rc = shm_entry_check(w, e, &size, err);
	if (rc != PSM_OK)
		return rc;
	units = (uint32_t)((size + SHM_UNIT - 1) / SHM_UNIT);
	if (w->mut.records >= w->capacity)
		return shm_full(w, err);
	u = shm_alloc_get(&w->alloc, units);
	if (u == SHM_NONE)
		return shm_full(w, err);
	hash = shm_hash(e->kind, e->f[SHM_F_KEY], e->flen[SHM_F_KEY]);
	b = hash & (w->view.nbuckets - 1);
	shm_writer_begin(w);
	memset(shm_w_unit(w, u), 0, (size_t)units * SHM_UNIT);
	shm_rec_encode(shm_w_unit(w, u), e, size, hash, shm_w_bucket(w, b)->head);
	shm_bucket_set(w, b, u);
	w->live[u] = (uint8_t)units;
	w->mut.records++;
	w->mut.arena_used += (uint64_t)units * SHM_UNIT;
	w->mut.group_mask |= shm_group_bits(e);
	if (e->kind == SHM_DENY)
		w->mut.group_deny_mask |= shm_group_bits(e);
	shm_writer_commit(w);
	if (unit != NULL)
		*unit = u;
	return PSM_OK;
}

static uint32_t shm_w_field(struct shm_writer *w, uint32_t u, size_t off)
{
	uint32_t v;

	memcpy(&v, shm_w_unit(w, u) + off, sizeof(v));
	return v;
}

/* The record before unit in its chain (SHM_NONE: unit is the head); SHM_BAD_UNIT if absent. */
static uint32_t shm_chain_prev(struct shm_writer *w, uint32_t b, uint32_t unit)
{
	uint32_t prev = SHM_NONE, cur = shm_w_bucket(w, b)->head;
	uint64_t hops = 0;

	while (cur != unit) {
		if (cur >= w->view.arena_units || w->live[cur] == 0 || ++hops > w->view.arena_units)
			return SHM_BAD_UNIT;
		prev = cur;
		cur = shm_w_field(w, cur, offsetof(struct shm_rec, next));
	}
	return prev;
}

int shm_writer_remove(struct shm_writer *w, uint32_t unit, struct psm_err *err)
{
	uint32_t b, prev, next, units;

	if (unit >= w->view.arena_units || w->live[unit] == 0)
		return psm_err_set(err, PSM_ENOENT, "table %s: no record at unit %u", w->view.name,
				   unit);
	b = shm_w_field(w, unit, offsetof(struct shm_rec, hash)) & (w->view.nbuckets - 1);
	prev = shm_chain_prev(w, b, unit);
	if (prev == SHM_BAD_UNIT)
		return psm_err_set(err, PSM_EUNAVAIL, "table %s: record %u is not in its chain",
				   w->view.name, unit);
	next = shm_w_field(w, unit, offsetof(struct shm_rec, next));
	units = w->live[unit];
	shm_writer_begin(w);
	if (prev == SHM_NONE)
		shm_bucket_set(w, b, next);
	else
		shm_rec_set_next(shm_w_unit(w, prev), next);
	memset(shm_w_unit(w, unit), 0, (size_t)units * SHM_UNIT);
	w->live[unit] = 0;
	shm_alloc_put(&w->alloc, unit, units);
	w->mut.records--;
	w->mut.arena_used -= (uint64_t)units * SHM_UNIT;
	shm_writer_commit(w);
	return PSM_OK;
}
