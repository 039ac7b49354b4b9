/* SPDX-License-Identifier: MIT */
/* config.h - psmd.conf: every key of SPEC section 2, its default and its validation. */
#ifndef PSMD_CONFIG_H
#define PSMD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "psm_err.h"

#define CONFIG_DEFAULT_PATH "/etc/psm/psmd.conf"
#define CONFIG_CAPACITY_MAX 16777216ULL /* SHM_CAPACITY_MAX */
#define CONFIG_MAX_RECORDS 1000000ULL   /* default ceiling on grants + sessions (max_records) */
#define CONFIG_HOST_NAME_MAX 63 /* the table header keeps 64 bytes with the NUL */
#define CONFIG_LABELS_MAX 64
#define CONFIG_REDIS_PORT 6379
#define CONFIG_SENTINEL_PORT 26379
#define CONFIG_SENTINELS_MAX 16
#define CONFIG_MAX_REPLY (1024 * 1024) /* default redis.max_reply */
#define CONFIG_MAX_REPLY_MIN 4096ULL   /* its bounds */
#define CONFIG_MAX_REPLY_MAX (64ULL << 20)

enum config_expiry {
	CONFIG_EXPIRY_FORGET = 0, /* an expired session is dropped from the table */
	CONFIG_EXPIRY_KILL = 1,	  /* ... and its session leader is signalled */
};

/* One Redis server: a url ("redis://[user@]host[:port][/db]", "unix:///path") or a
 * sentinel's "host:port". */
struct config_redis_addr {
	char *host;	 /* from a redis:// url or host:port, else NULL */
	unsigned port;	 /* default 6379 (26379 for a sentinel) */
	unsigned db;	 /* default 0 */
	char *unix_path; /* from a unix:// url, else NULL */
	char *user;	 /* the ACL user of redis://user@host, else NULL */
};

/* The "redis" object: parsed and validated now, used for fleet sync. */
struct config_redis {
	bool enabled;	     /* false when the key is absent or null */
	char *url;	     /* the primary; NULL when sentinels find it */
	struct config_redis_addr addr;	     /* url's parts */
	struct config_redis_addr *sentinels; /* nsentinels "host:port", or NULL */
	size_t nsentinels;
	char *master_name;	       /* with sentinels: the primary's name in Sentinel */
	char *read_url;		       /* optional replica to read the feed from, else NULL */
	struct config_redis_addr read; /* read_url's parts */
	uint64_t max_reply;	       /* largest reply accepted, bytes (default 1 MiB) */
	char *password_file; /* absolute path or NULL */
	char *key_prefix;    /* default "psm:" */
	char *signing_key;   /* absolute path or NULL */
	char *trusted_keys;  /* absolute path or NULL */
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
	char *metrics_file; /* NULL = off */
	int session_expiry; /* enum config_expiry */
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
