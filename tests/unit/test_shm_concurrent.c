/* SPDX-License-Identifier: MIT */
/* test_shm_concurrent.c - one writer thread and several readers: no torn record is ever accepted.
 */
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>

#include "test_shm_util.h"

#define NKEYS 32
#define NBATCHES 20000
#define EXTRA_MAX 50000 /* slow batches at most after the first NBATCHES (see writer_goes_on) */
#define READS_MIN 8
#define CAPACITY 128 /* 512 units: NKEYS + 1 records of <= 7 units always fit */
#define NREADERS 3
#define UID_SALT 0x5a5a5a5au

struct shared {
	char name[64];
	struct shm_writer *w;
	uint32_t units[NKEYS]; /* the record of each key "kN" */
	uint32_t churn;	       /* the record of key "churn" */
	atomic_int started;    /* readers that have opened their view */
	atomic_int done;
	atomic_long ok[2]; /* consistent transactions: [0] mapped readers, [1] pread readers */
};

struct reader_stats {
	struct shared *sh;
	unsigned id;
	long consistent;  /* transactions that ended consistent */
	long retried;	  /* transactions that had to be retried */
	long unavailable; /* shm_read_begin gave up (bounded wait) */
	long bad;	  /* a record accepted under a consistent transaction was wrong */
	long corrupt;	  /* -PSM_EUNAVAIL under a consistent transaction */
	long wrong_count; /* a key did not have exactly one record, or a scan was off */
};

/* The self-check: pattern, reason and uid are all derived from version. */
static void make_texts(uint64_t version, char *pat, size_t pn, char *reason, size_t rn)
{
	size_t len = 10 + version % 300, i;

	snprintf(pat, pn, "p:%llu", (unsigned long long)version);
	for (i = 0; i < len && i + 1 < rn; i++)
		reason[i] = (char)('a' + (version + i) % 26);
	reason[i] = '\0';
}

static bool entry_consistent(const struct shm_entry *e)
{
	char pat[32], reason[400];

	make_texts(e->version, pat, sizeof(pat), reason, sizeof(reason));
	return e->kind == SHM_GRANT && e->uid == (uint32_t)(e->version ^ UID_SALT) &&
	       e->flen[SHM_F_PATTERN] == strlen(pat) &&
	       memcmp(e->f[SHM_F_PATTERN], pat, strlen(pat)) == 0 &&
	       e->flen[SHM_F_REASON] == strlen(reason) &&
	       memcmp(e->f[SHM_F_REASON], reason, strlen(reason)) == 0;
}

static uint32_t insert_versioned(struct shm_writer *w, const char *key, uint64_t version)
{
	struct shm_entry e;
	char pat[32], reason[400];
	uint32_t unit = SHM_U32_NONE;

	make_texts(version, pat, sizeof(pat), reason, sizeof(reason));
	tshm_entry(&e, SHM_GRANT, key, pat);
	tshm_set(&e, SHM_F_REASON, reason);
	e.version = version;
	e.uid = (uint32_t)(version ^ UID_SALT);
	if (shm_writer_insert(w, &e, &unit, NULL) != PSM_OK)
		return SHM_U32_NONE;
	return unit;
}

/* Before the readers start: NKEYS + 1 records. */
static void writer_fill(struct shared *sh)
{
	char key[16];
	unsigned i;

	for (i = 0; i < NKEYS; i++) {
		snprintf(key, sizeof(key), "k%u", i);
		sh->units[i] = insert_versioned(sh->w, key, i);
	}
	sh->churn = insert_versioned(sh->w, "churn", 0);
}

/*
 * True while a writer should go on: min_batches batches, then, one batch per millisecond (so a
 * reader under a serializing scheduler such as valgrind's finishes a read between two commits),
 * until the readers have what the test needs (enough) or EXTRA_MAX more batches.
 */
static bool writer_goes_on(uint64_t i, uint64_t min_batches, bool enough)
{
	const struct timespec pause = {0, 1000000};

	if (i < min_batches)
		return true;
	if (enough || i >= min_batches + EXTRA_MAX)
		return false;
	nanosleep(&pause, NULL);
	return true;
}

/* Both kinds of reader (mapped, pread) ended at least READS_MIN transactions consistent. */
static bool readers_had_enough(struct shared *sh)
{
	return atomic_load(&sh->ok[0]) >= READS_MIN && atomic_load(&sh->ok[1]) >= READS_MIN;
}

/* Each batch replaces one key's record and the churn record: NKEYS + 1 records after it. */
static void *writer_main(void *arg)
{
	struct shared *sh = arg;
	uint32_t *units = sh->units, churn = sh->churn;
	char key[16];
	uint64_t i;
	long failures = 0;

	while (atomic_load(&sh->started) < NREADERS)
		sched_yield();
	for (i = NKEYS; writer_goes_on(i, NBATCHES, readers_had_enough(sh)); i++) {
		unsigned k = (unsigned)(i * 7 % NKEYS);

		snprintf(key, sizeof(key), "k%u", k);
		shm_writer_begin(sh->w);
		failures += shm_writer_remove(sh->w, units[k], NULL) != PSM_OK;
		failures += shm_writer_remove(sh->w, churn, NULL) != PSM_OK;
		units[k] = insert_versioned(sh->w, key, i);
		churn = insert_versioned(sh->w, "churn", i);
		failures += units[k] == SHM_U32_NONE || churn == SHM_U32_NONE;
		shm_writer_commit(sh->w);
	}
	atomic_store(&sh->done, 1);
	return (void *)(intptr_t)failures;
}

struct scan_state {
	int n;
	int bad;
};

static int scan_check(const struct shm_entry *e, void *ctx)
{
	struct scan_state *s = ctx;

	s->n++;
	s->bad += !entry_consistent(e);
	return 0;
}

/* One transaction: look up a key (exactly one good record) or scan (NKEYS + 1 good records). */
static void reader_txn(const struct shm_view *v, struct reader_stats *st, unsigned r)
{
	struct shm_iter it;
	struct shm_entry e;
	struct shm_recbuf buf;
	struct scan_state sc = {0, 0};
	char key[16];
	uint64_t seq;
	int n = 0, rc, bad = 0;

	if (shm_read_begin(v, &seq, NULL) != PSM_OK) {
		st->unavailable++;
		return;
	}
	if (r % 16 == 0) {
		rc = shm_scan(v, SHM_GRANT, scan_check, &sc);
		n = sc.n == NKEYS + 1;
		bad = sc.bad;
	} else {
		snprintf(key, sizeof(key), "k%u", r % NKEYS);
		shm_iter_init(v, &it, SHM_GRANT, key, strlen(key));
		while ((rc = shm_iter_next(v, &it, &e, &buf)) == 1) {
			n++;
			bad += !entry_consistent(&e);
		}
		n = n == 1;
	}
	if (!shm_read_ok(v, seq)) {
		st->retried++;
		return;
	}
	st->consistent++;
	atomic_fetch_add(&st->sh->ok[st->id % 2], 1);
	st->corrupt += rc < 0;
	st->bad += bad;
	st->wrong_count += rc == 0 && !n;
}

static void *reader_main(void *arg)
{
	struct reader_stats *st = arg;
	struct shm_view v;
	unsigned r = st->id * 7919u;

	/* odd readers read with pread (SHM_VIEW_PREAD, as pam_psm does), even ones mapped */
	if (shm_view_open_flags(&v, st->sh->name, st->id % 2 ? SHM_VIEW_PREAD : 0, NULL) !=
	    PSM_OK) {
		st->bad++;
		atomic_fetch_add(&st->sh->started, 1);
		return NULL;
	}
	atomic_fetch_add(&st->sh->started, 1);
	while (!atomic_load(&st->sh->done))
		reader_txn(&v, st, r++);
	shm_view_close(&v);
	return NULL;
}

static void test_writer_and_readers(void **state)
{
	struct shared sh;
	struct reader_stats st[NREADERS];
	pthread_t wt, rt[NREADERS];
	void *wres;
	long consistent = 0, retried = 0, unavailable = 0, consistent_pread = 0;
	int i;

	(void)state;
	memset(&sh, 0, sizeof(sh));
	tshm_name(sh.name, sizeof(sh.name));
	sh.w = tshm_writer(sh.name, CAPACITY);
	writer_fill(&sh);
	assert_int_equal(shm_writer_publish(sh.w, NULL), PSM_OK);
	memset(st, 0, sizeof(st));
	for (i = 0; i < NREADERS; i++) {
		st[i].sh = &sh;
		st[i].id = (unsigned)i;
		assert_int_equal(pthread_create(&rt[i], NULL, reader_main, &st[i]), 0);
	}
	assert_int_equal(pthread_create(&wt, NULL, writer_main, &sh), 0);
	assert_int_equal(pthread_join(wt, &wres), 0);
	for (i = 0; i < NREADERS; i++) {
		assert_int_equal(pthread_join(rt[i], NULL), 0);
		assert_int_equal(st[i].bad, 0);
		assert_int_equal(st[i].corrupt, 0);
		assert_int_equal(st[i].wrong_count, 0);
		consistent += st[i].consistent;
		consistent_pread += i % 2 ? st[i].consistent : 0;
		retried += st[i].retried;
		unavailable += st[i].unavailable;
	}
	assert_int_equal((intptr_t)wres, 0);
	printf("# readers: %ld consistent (%ld by pread), %ld retried, %ld gave up waiting\n",
	       consistent, consistent_pread, retried, unavailable);
	assert_true(consistent > 0);
	assert_true(consistent_pread >= READS_MIN);
	/* the final table is exactly what the writer left */
	assert_int_equal(tshm_count(shm_writer_view(sh.w), SHM_GRANT, "churn", NULL), 1);
	shm_writer_close(sh.w);
	tshm_unlink(sh.name);
}

struct gen_ctx {
	struct shared *sh;
	unsigned flags; /* SHM_VIEW_PREAD or 0 */
	atomic_long reads;
	long backwards, wrong;
};

/* Reads the header counters until the writer is done: always 2 records, generation rising. */
static void *gen_reader(void *arg)
{
	struct gen_ctx *c = arg;
	struct shm_view v;
	struct shm_info in;
	uint64_t last = 0;

	if (shm_view_open_flags(&v, c->sh->name, c->flags, NULL) != PSM_OK) {
		c->wrong++;
		atomic_store(&c->sh->started, 1);
		return NULL;
	}
	atomic_store(&c->sh->started, 1);
	while (!atomic_load(&c->sh->done)) {
		if (shm_info_get(&v, &in, NULL) != PSM_OK)
			continue;
		atomic_fetch_add(&c->reads, 1);
		c->backwards += in.generation < last;
		c->wrong += in.records != 2;
		last = in.generation;
	}
	shm_view_close(&v);
	return NULL;
}

/* One batch: the record count goes 2 -> 1 -> 3 -> 2, committed only at 2. */
static void gen_batch(struct shm_writer *w, uint32_t *a, uint32_t *b, int i)
{
	uint32_t t;

	shm_writer_begin(w);
	assert_int_equal(shm_writer_remove(w, *a, NULL), PSM_OK);
	*a = *b;
	*b = tshm_insert(w, SHM_SESSION, i % 2 ? "a" : "b", NULL);
	t = tshm_insert(w, SHM_SESSION, "tmp", NULL);
	assert_int_equal(shm_writer_remove(w, t, NULL), PSM_OK);
	shm_writer_commit(w);
}

/* The header counters read mapped and with pread while the writer commits batches. */
static void test_info_consistent_under_writes(void **state)
{
	struct shared sh;
	struct gen_ctx c[2];
	pthread_t t[2];
	uint32_t a, b;
	int i, k;

	(void)state;
	memset(&sh, 0, sizeof(sh));
	memset(c, 0, sizeof(c));
	tshm_name(sh.name, sizeof(sh.name));
	sh.w = tshm_writer(sh.name, 16);
	a = tshm_insert(sh.w, SHM_SESSION, "a", NULL);
	b = tshm_insert(sh.w, SHM_SESSION, "b", NULL);
	assert_int_equal(shm_writer_publish(sh.w, NULL), PSM_OK);
	for (k = 0; k < 2; k++) {
		c[k].sh = &sh;
		c[k].flags = k ? SHM_VIEW_PREAD : 0;
		assert_int_equal(pthread_create(&t[k], NULL, gen_reader, &c[k]), 0);
	}
	while (!atomic_load(&sh.started))
		sched_yield();
	/* NBATCHES batches, and on until each reader has read READS_MIN times */
	for (i = 0; writer_goes_on((uint64_t)i, NBATCHES,
				   atomic_load(&c[0].reads) >= READS_MIN &&
				       atomic_load(&c[1].reads) >= READS_MIN);
	     i++)
		gen_batch(sh.w, &a, &b, i);
	atomic_store(&sh.done, 1);
	for (k = 0; k < 2; k++) {
		assert_int_equal(pthread_join(t[k], NULL), 0);
		printf("# %s: %ld header reads during %d batches\n", k ? "pread" : "mapped",
		       (long)atomic_load(&c[k].reads), i);
		assert_true(atomic_load(&c[k].reads) >= READS_MIN);
		assert_int_equal(c[k].backwards, 0);
		assert_int_equal(c[k].wrong, 0);
	}
	shm_writer_close(sh.w);
	tshm_unlink(sh.name);
}

/* A child process publishes a table, opens a batch and dies without committing. */
static void test_writer_died_mid_write(void **state)
{
	char name[64];
	struct shm_view v;
	struct shm_info in;
	struct psm_err err = {0};
	uint64_t seq;
	pid_t pid;
	int status;

	(void)state;
	tshm_name(name, sizeof(name));
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct shm_writer *w = tshm_writer(name, 16);

		tshm_insert(w, SHM_GRANT, "alice", "p:x");
		if (shm_writer_publish(w, NULL) != PSM_OK)
			_exit(1);
		shm_writer_begin(w);
		tshm_insert(w, SHM_GRANT, "bob", "p:x");
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_int_equal(shm_view_open(&v, name, &err), PSM_OK);
	assert_int_equal(shm_read_begin(&v, &seq, &err), PSM_EUNAVAIL);
	assert_non_null(strstr(err.msg, "writer never finished (psmd died mid-write?)"));
	assert_int_equal(tshm_count(&v, SHM_GRANT, "alice", NULL), -1);
	assert_int_equal(shm_info_get(&v, &in, &err), PSM_EUNAVAIL);
	/* psmd restarts: a new table replaces it and the reader moves on */
	{
		struct shm_writer *w = tshm_writer(name, 16);

		tshm_insert(w, SHM_GRANT, "alice", "p:x");
		assert_int_equal(shm_writer_publish(w, NULL), PSM_OK);
		assert_true(shm_view_retired(&v));
		shm_view_close(&v);
		assert_int_equal(shm_view_open(&v, name, &err), PSM_OK);
		assert_int_equal(tshm_count(&v, SHM_GRANT, "alice", NULL), 1);
		shm_writer_close(w);
	}
	shm_view_close(&v);
	tshm_unlink(name);
}

/* A batch left open in this process: readers give up (bounded), then see the commit. */
static void test_open_batch_then_commit(void **state)
{
	char name[64];
	struct shm_writer *w;
	struct shm_view v;
	uint64_t seq;

	(void)state;
	w = tshm_writer(tshm_name(name, sizeof(name)), 16);
	assert_int_equal(shm_writer_publish(w, NULL), PSM_OK);
	assert_int_equal(shm_view_open(&v, name, NULL), PSM_OK);
	shm_writer_begin(w);
	tshm_insert(w, SHM_GRANT, "alice", "p:x");
	assert_int_equal(shm_read_begin(&v, &seq, NULL), PSM_EUNAVAIL);
	shm_writer_commit(w);
	assert_int_equal(shm_read_begin(&v, &seq, NULL), PSM_OK);
	assert_int_equal(seq % 2, 0);
	assert_int_equal(tshm_count(&v, SHM_GRANT, "alice", NULL), 1);
	/* a transaction that spans a commit is not ok */
	tshm_insert(w, SHM_GRANT, "bob", "p:x");
	assert_false(shm_read_ok(&v, seq));
	shm_view_close(&v);
	shm_writer_close(w);
	tshm_unlink(name);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_writer_and_readers),
	    cmocka_unit_test(test_info_consistent_under_writes),
	    cmocka_unit_test(test_writer_died_mid_write),
	    cmocka_unit_test(test_open_batch_then_commit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
