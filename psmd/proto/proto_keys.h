/* SPDX-License-Identifier: MIT */
/* proto_keys.h - the request keys of the admin protocol: their ids, limits and validated values. */
#ifndef PSMD_PROTO_KEYS_H
#define PSMD_PROTO_KEYS_H

#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "psm_err.h"

/* Limits of key values (proto.h has those of lines and tags). */
#define PROTO_NAME_MAX 255 /* user or %group */
#define PROTO_REASON_MAX 255
#define PROTO_PERMS_MAX 64	/* "perms" of check */
#define PROTO_METADATA_MAX 1024 /* "metadata" serialized */

/* Keys a request may carry besides "op" and "tag"; one bit each in proto_req.have. */
enum proto_key_id {
	PK_PRINCIPAL = 0, /* "user": "alice" or "%group" */
	PK_USER,	  /* "user": a user name only */
	PK_PERM,	  /* "perm": a pattern */
	PK_TTL,
	PK_UNTIL,
	PK_FROM,
	PK_HOSTS,
	PK_SESSION,
	PK_REASON,
	PK_GRANT_ID,
	PK_PERMS,
	PK_MODE,
	PK_SERVICE,
	PK_RHOST,
	PK_EXPLAIN,
	PK_SESSION_ID,
	PK_TTY,
	PK_PID,
	PK_AUDIT,
	PK_METADATA,
	PK_GRANTS,
	PK_SESSIONS,
	PK_DRY_RUN,
	PK_STRICT,
	PK_DECISION,
	PK_FLEET,
	PK_AT,	  /* "at": a time, ISO 8601 UTC or "2h" (that long ago) */
	PK_SINCE, /* "since": the same */
	PK_TILL,  /* "until" of history: the same (grant's "until" is PK_UNTIL) */
	PK_COUNT
};

#define PROTO_BIT(k) (UINT64_C(1) << (k))

/* Values of a validated request; a key that was absent leaves its member zero/NULL. */
struct proto_args {
	const char *user; /* PK_PRINCIPAL or PK_USER */
	const char *perm;
	const char *ttl_text;
	int64_t ttl; /* seconds, from ttl_text */
	const char *until_text;
	int64_t until;	    /* UTC seconds, from until_text */
	const cJSON *from;  /* array of strings, each valid for cond_compile */
	const cJSON *hosts; /* array of strings */
	const char *session;
	const char *reason;
	const char *grant_id;
	const cJSON *perms; /* array of 1..64 valid permissions */
	const char *mode;   /* "all" or "any" */
	bool any;	    /* mode == "any" */
	const char *service;
	const char *rhost;
	bool explain;
	const char *session_id;
	const char *tty;
	int64_t pid;
	int64_t audit;
	const cJSON *metadata; /* object */
	const cJSON *grants;   /* array of objects (validated by the record code) */
	const cJSON *sessions; /* array of objects */
	bool dry_run;
	bool strict;	      /* reload: policy warnings are errors */
	const char *decision; /* recover: "accept" or "drop" */
	bool fleet;	      /* sessions: every host's, not only this one's */
	const char *at_text, *since_text, *till_text;
	int64_t at, since, till; /* UTC seconds, from the texts */
};

/* The wire name of a key ("user", "ttl", ...). */
const char *proto_key_name(enum proto_key_id k);

/* The key named name among the allowed ones; -1 when none. */
int proto_key_find(const char *name, uint64_t allowed);
/* Type, limits and value checks of key k; stores the value in a. */
int proto_key_apply(enum proto_key_id k, const cJSON *v, struct proto_args *a, struct psm_err *err);

#endif
