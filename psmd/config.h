/* SPDX-License-Identifier: MIT */
/* config.h - psmd.conf: every key of SPEC section 2, its default and its validation. */
#ifndef PSMD_CONFIG_H
#define PSMD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fleet_conf.h"
#include "psm_err.h"

#define CONFIG_DEFAULT_PATH "/etc/psm/psmd.conf"
#define CONFIG_CAPACITY_MAX 16777216ULL /* SHM_CAPACITY_MAX */
#define CONFIG_MAX_RECORDS 1000000ULL	/* default ceiling on grants + sessions (max_records) */
#define CONFIG_HOST_NAME_MAX 63		/* the table header keeps 64 bytes with the NUL */
#define CONFIG_LABELS_MAX 64

enum config_expiry {
	CONFIG_EXPIRY_FORGET = 0, /* an expired session is dropped from the table */
	CONFIG_EXPIRY_KILL = 1,	  /* ... and its session leader is signalled */
};

struct psmd_config {
	char *file; /* the file it came from; NULL = built-in defaults */
	char *shm_name;
	char *socket;
	char *state_dir;
	char *policy;
	char *admin_group;
	char *table_group;
	uint64_t capacity;
	uint64_t max_records; /* ceiling on the grants and sessions held */
	char *metrics_file;   /* NULL = off */
	int session_expiry;   /* enum config_expiry */
	char *host_name;
	char **labels; /* NULL-terminated, never NULL after a successful load */
	size_t nlabels;
	struct config_redis redis;
	bool strict_policy; /* policy warnings are errors: psmd -n fails, a reload is refused */
};

/* Fills cfg with the defaults of SPEC section 2 (host_name from gethostname()). */
int config_defaults(struct psmd_config *cfg, struct psm_err *err);

/*
 * Reads and validates path over the defaults.  A missing file is PSM_ENOENT
 * (the caller decides whether that means "defaults"); any other problem is
 * PSM_EINVAL "FILE:LINE:COL: what".  On error cfg holds nothing to free.
 */
int config_load(const char *path, struct psmd_config *cfg, struct psm_err *err);

/* The same, from text in memory (file is the name used in messages). */
int config_parse(const char *file, const char *text, size_t len, struct psmd_config *cfg,
		 struct psm_err *err);

void config_free(struct psmd_config *cfg);

/* Checks an shm object name as the table does: "/" then [A-Za-z0-9._-]{1,200}. */
bool config_shm_name_ok(const char *name);

#endif
