/* SPDX-License-Identifier: MIT */
/* fleet_conf.h - the "redis" object of psmd.conf as the fleet part reads it (config.c fills it). */
#ifndef PSMD_FLEET_CONF_H
#define PSMD_FLEET_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONFIG_REDIS_PORT 6379
#define CONFIG_SENTINEL_PORT 26379
#define CONFIG_SENTINELS_MAX 16
#define CONFIG_MAX_REPLY (1024 * 1024) /* default redis.max_reply */
#define CONFIG_MAX_REPLY_MIN 4096ULL   /* its bounds */
#define CONFIG_MAX_REPLY_MAX (64ULL << 20)

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
	bool enabled;			     /* false when the key is absent or null */
	char *url;			     /* the primary; NULL when sentinels find it */
	struct config_redis_addr addr;	     /* url's parts */
	struct config_redis_addr *sentinels; /* nsentinels "host:port", or NULL */
	size_t nsentinels;
	char *master_name;	       /* with sentinels: the primary's name in Sentinel */
	char *read_url;		       /* optional replica to read the feed from, else NULL */
	struct config_redis_addr read; /* read_url's parts */
	uint64_t max_reply;	       /* largest reply accepted, bytes (default 1 MiB) */
	char *password_file;	       /* absolute path or NULL */
	char *key_prefix;	       /* default "psm:" */
	char *signing_key;	       /* absolute path or NULL */
	char *trusted_keys;	       /* absolute path or NULL */
};

#endif
