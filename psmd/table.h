/* SPDX-License-Identifier: MIT */
/* table.h - psmd's side of the shared-memory table: build from policy + state, publish, beat. */
#ifndef PSMD_TABLE_H
#define PSMD_TABLE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"
#include "policy.h"
#include "psm_err.h"
#include "shm.h"

/* What psmd's checks of its own live table found (table_watch.c). */
struct table_watch {
	bool damaged;	      /* failed its check, not republished yet: health is degraded */
	uint64_t republished; /* times it was republished after damage */
	uint64_t builds;      /* table.builds when the damage was found */
	char why[128];	      /* the damage found */
	char err[256];	      /* why the last republish failed; "" if none did */
};

/* The table psmd serves. */
struct table {
	struct shm_writer *w; /* the published table; NULL before the first build */
	uint64_t capacity;    /* records it was sized for (may exceed the configured one) */
	gid_t gid;	      /* its group (table_group when it was built) */
	uint64_t builds;      /* tables published so far */
	struct table_watch watch;
};

struct table_src;

/* Inserts the runtime records (grants, sessions) after the policy's, inside the batch. */
typedef int (*table_fill_fn)(void *ctx, struct shm_writer *w, const struct table_src *src,
			     struct psm_err *err);

/* What a table is built from.  Runtime state (grants, sessions) joins the policy here. */
struct table_src {
	const struct psmd_config *cfg;
	const struct policy *pol;
	gid_t group;	       /* table_group, resolved */
	uint64_t min_capacity; /* start at least this large (growth); 0 = the configured one */
	table_fill_fn fill;    /* may be NULL */
	void *fill_ctx;
};

/*
 * Builds a complete new table from src under a private name, doubling its
 * capacity while it comes out full (PSM_EFULL past CONFIG_CAPACITY_MAX),
 * then publishes it over cfg->shm_name: readers of the old one see it
 * retired and remap.  On failure the served table is left untouched.
 */
int table_rebuild(struct table *t, const struct table_src *src, struct psm_err *err);

/* Stamps the writer heartbeat with CLOCK_REALTIME seconds. */
void table_heartbeat(struct table *t);

/*
 * 0 when /dev/shm/NAME is still the table t serves, intact (table_guard_verify);
 * else -1 with why[]: then the mapping is no longer read from the file if its size
 * changed (or a SIGBUS was caught), and the table must be republished.
 */
int table_verify(struct table *t, char *why, size_t n);

/* Header figures of the served table (generation, records, ...). */
int table_info(const struct table *t, struct shm_info *out, struct psm_err *err);

/* Unmaps; the table stays in /dev/shm for readers (its heartbeat stops). */
void table_close(struct table *t);

#endif
