/* SPDX-License-Identifier: MIT */
/* test_shm_util.h - helpers shared by the shmcache unit tests: temporary tables and lookups. */
#ifndef PSM_TEST_SHM_UTIL_H
#define PSM_TEST_SHM_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "shm.h"
#include "shm_format.h"

/* A fresh table name per call: "/psm-test-<pid>-<n>". */
static inline const char *tshm_name(char *buf, size_t n)
{
	static int counter;

	snprintf(buf, n, "/psm-test-%ld-%d", (long)getpid(), counter++);
	return buf;
}

static inline void tshm_unlink(const char *name)
{
	char path[256];

	snprintf(path, sizeof(path), "/dev/shm%s", name);
	unlink(path);
}

static inline void tshm_set(struct shm_entry *e, int field, const char *s)
{
	e->f[field] = s;
	e->flen[field] = (uint16_t)(s ? strlen(s) : 0);
}

/* A grant-like entry: kind, key, pattern, and defaults for the rest. */
static inline void tshm_entry(struct shm_entry *e, uint8_t kind, const char *key,
			      const char *pattern)
{
	memset(e, 0, sizeof(*e));
	e->kind = kind;
	e->not_before = SHM_TIME_NONE_BEFORE;
	e->not_after = SHM_TIME_NONE_AFTER;
	e->rule = SHM_U32_NONE;
	e->uid = SHM_U32_NONE;
	e->audit = SHM_U32_NONE;
	tshm_set(e, SHM_F_KEY, key);
	tshm_set(e, SHM_F_PATTERN, pattern);
}

static inline struct shm_writer *tshm_writer(const char *name, uint64_t capacity)
{
	struct shm_writer_opts o = {
	    .name = name, .capacity = capacity, .group = 0, .host_name = "test-host"};
	struct shm_writer *w = NULL;
	struct psm_err err = {0};
	int rc = shm_writer_create(&w, &o, &err);

	if (rc != PSM_OK)
		fail_msg("shm_writer_create %s: %s", name, err.msg);
	return w;
}

static inline uint32_t tshm_insert(struct shm_writer *w, uint8_t kind, const char *key,
				   const char *pattern)
{
	struct shm_entry e;
	struct psm_err err = {0};
	uint32_t unit = SHM_U32_NONE;

	tshm_entry(&e, kind, key, pattern);
	if (shm_writer_insert(w, &e, &unit, &err) != PSM_OK)
		fail_msg("insert %s: %s", key, err.msg);
	return unit;
}

/* Records of (kind, key) in one consistent transaction; -1 on corruption/unavailable.
 * When pat is non-NULL, only records whose pattern equals it are counted. */
static inline int tshm_count(const struct shm_view *v, uint8_t kind, const char *key,
			     const char *pat)
{
	struct shm_iter it;
	struct shm_entry e;
	struct shm_recbuf buf;
	uint64_t seq;
	int n, rc, tries;

	for (tries = 0; tries < SHM_READ_TRIES; tries++) {
		if (shm_read_begin(v, &seq, NULL) != PSM_OK)
			return -1;
		shm_iter_init(v, &it, kind, key, strlen(key));
		n = 0;
		while ((rc = shm_iter_next(v, &it, &e, &buf)) == 1) {
			if (pat == NULL || (e.flen[SHM_F_PATTERN] == strlen(pat) &&
					    memcmp(e.f[SHM_F_PATTERN], pat, strlen(pat)) == 0))
				n++;
		}
		if (shm_read_ok(v, seq))
			return rc < 0 ? -1 : n;
	}
	return -1;
}

#endif
