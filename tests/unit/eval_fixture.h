/* SPDX-License-Identifier: MIT */
/* eval_fixture.h - builds small test tables record by record (shared by the eval/pam tests). */
#ifndef PSM_EVAL_FIXTURE_H
#define PSM_EVAL_FIXTURE_H

#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "cond.h"
#include "eval.h"
#include "shm.h"

/* A record to add; zero fields mean: none/permanent/unset. */
struct fx_rec {
	uint8_t kind;
	uint8_t flags;
	const char *key;
	const char *principal;
	const char *pattern;
	const char *from; /* "10.0.0.0/8,LOCAL" */
	int64_t nb, na;	  /* 0 = none */
	uint32_t uid;
	uint32_t audit; /* 0 = SHM_U32_NONE */
	uint32_t rule;	/* 0 = SHM_U32_NONE */
	const char *source, *issuer, *reason, *session;
};

struct fx {
	char name[64];
	struct shm_writer *w;
	struct shm_view v;
	bool open;
};

static inline void fx_begin(struct fx *f)
{
	static int n;
	struct shm_writer_opts o = {.capacity = 64, .group = 0, .host_name = "testhost"};
	struct psm_err e;

	snprintf(f->name, sizeof(f->name), "/psm-test-%d-%d", (int)getpid(), n++);
	o.name = f->name;
	f->open = false;
	if (shm_writer_create(&f->w, &o, &e) != PSM_OK) {
		fprintf(stderr, "shm_writer_create: %s\n", e.msg);
		abort();
	}
	shm_writer_begin(f->w);
}

static inline void fx_set(struct shm_entry *e, int i, const char *s)
{
	e->f[i] = s;
	e->flen[i] = s ? (uint16_t)strlen(s) : 0;
}

static inline void fx_add(struct fx *f, const struct fx_rec *r)
{
	static unsigned char from[COND_ENC_MAX];
	struct shm_entry e;
	struct psm_err err;
	size_t flen = 0;
	char items[512], *save = NULL, *it;

	memset(&e, 0, sizeof(e));
	e.kind = r->kind;
	e.flags = r->flags;
	e.not_before = r->nb ? r->nb : SHM_TIME_NONE_BEFORE;
	e.not_after = r->na ? r->na : SHM_TIME_NONE_AFTER;
	e.uid = r->uid;
	e.audit = r->audit ? r->audit : SHM_U32_NONE;
	e.rule = r->rule ? r->rule : SHM_U32_NONE;
	e.pid = 0;
	fx_set(&e, SHM_F_KEY, r->key);
	fx_set(&e, SHM_F_PRINCIPAL, r->principal ? r->principal : r->key);
	fx_set(&e, SHM_F_PATTERN, r->pattern);
	fx_set(&e, SHM_F_SOURCE, r->source);
	fx_set(&e, SHM_F_ISSUER, r->issuer);
	fx_set(&e, SHM_F_REASON, r->reason);
	fx_set(&e, SHM_F_SESSION, r->session);
	if (r->from) {
		snprintf(items, sizeof(items), "%s", r->from);
		for (it = strtok_r(items, ",", &save); it; it = strtok_r(NULL, ",", &save))
			if (cond_compile(it, from, sizeof(from), &flen, &err) != PSM_OK) {
				fprintf(stderr, "cond_compile: %s\n", err.msg);
				abort();
			}
		e.f[SHM_F_FROM] = (const char *)from;
		e.flen[SHM_F_FROM] = (uint16_t)flen;
	}
	if (shm_writer_insert(f->w, &e, NULL, &err) != PSM_OK) {
		fprintf(stderr, "shm_writer_insert: %s\n", err.msg);
		abort();
	}
}

/* Commits, publishes and opens a view; heartbeat_age seconds in the past. */
static inline void fx_publish_aged(struct fx *f, int64_t heartbeat_age)
{
	struct psm_err e;

	shm_writer_commit(f->w);
	if (shm_writer_publish(f->w, &e) != PSM_OK) {
		fprintf(stderr, "publish: %s\n", e.msg);
		abort();
	}
	shm_writer_heartbeat(f->w, (int64_t)time(NULL) - heartbeat_age);
	if (shm_view_open(&f->v, f->name, &e) != PSM_OK) {
		fprintf(stderr, "shm_view_open: %s\n", e.msg);
		abort();
	}
	f->open = true;
}

static inline void fx_publish(struct fx *f)
{
	fx_publish_aged(f, 0);
}

/* A published table of the n records r (fx_begin, fx_add each, fx_publish). */
static inline void fx_table_n(struct fx *f, const struct fx_rec *r, size_t n)
{
	size_t i;

	fx_begin(f);
	for (i = 0; i < n; i++)
		fx_add(f, &r[i]);
	fx_publish(f);
}

/* fx_table(f, REC...): fx_table_n of the fx_rec initializers REC... */
#define fx_table(f, ...)                                                                           \
	fx_table_n((f), (const struct fx_rec[]){__VA_ARGS__},                                      \
		   sizeof((const struct fx_rec[]){__VA_ARGS__}) / sizeof(struct fx_rec))

static inline void fx_end(struct fx *f)
{
	if (f->open)
		shm_view_close(&f->v);
	shm_writer_close(f->w);
	shm_unlink(f->name);
}

#endif
