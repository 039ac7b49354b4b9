/* SPDX-License-Identifier: MIT */
/* record.h - psmd's durable records (grant, revoke, session, session_end) and their JSON. */
#ifndef PSMD_RECORD_H
#define PSMD_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "ids.h"
#include "psm_err.h"

/*
 * Every change psmd keeps is one of these records.  Each carries its id, the
 * host it was made on (origin) and an HLC version (hlc.h) that orders
 * changes across hosts.  The same JSON is written to the journal and the
 * snapshots, exported, and (later) pushed to Redis:
 *
 *  {"type":"grant","grant_id":"<26>","principal":"alice"|"%wheel","pattern":"sudo:*",
 *   "not_before":INT|null,"not_after":INT|null,"from":[..],"hosts":[..],
 *   "session":"<26>"|null,"reason":"..","issuer":"root","source":"admin",
 *   "origin":"web-01","version":"<decimal>","created":INT}
 *  {"type":"revoke","grant_id":..,"origin":..,"version":..,"keep_until":INT|null}
 *  {"type":"session","session_id":..,"user":..,"uid":INT,"service":..,"tty":..,
 *   "rhost":..,"pid":INT,"audit":INT|null,"leader_start":INT|null,"boot_id":".."|null,
 *   "created":INT,"expires":INT|null,"metadata":{..},"origin":..,"version":..}
 *  {"type":"session_end","session_id":..,"origin":..,"version":..,"keep_until":INT|null}
 *
 * A session extension is a session record with a newer version.  "version"
 * is a string of decimal digits because cJSON keeps numbers as doubles (exact
 * only to 2^53); an integer number is accepted too when it is exact.  Times
 * are UTC seconds.  Without "type" the grant and session objects are the
 * protocol's grant and session objects.  Their strings passed text_check_json()
 * (text.h) on the way in through the socket; a record read from Redis must
 * pass it too before record_from_json().
 */

enum record_type {
	REC_GRANT = 1,
	REC_REVOKE = 2,
	REC_SESSION = 3,
	REC_SESSION_END = 4,
};

enum record_source { REC_SRC_POLICY = 1, REC_SRC_ADMIN = 2, REC_SRC_FLEET = 3 };

/* "none" values, the same as the table's. */
#define REC_NOT_BEFORE_NONE INT64_MIN
#define REC_NOT_AFTER_NONE INT64_MAX	   /* also: expires / keep_until none */
#define REC_U32_NONE UINT32_MAX		   /* audit none; table_unit unset */
#define REC_TIME_MAX INT64_C(253402300799) /* 9999-12-31T23:59:59Z */

#define REC_NAME_MAX 255 /* user, group, issuer, service, tty, rhost */
#define REC_REASON_MAX 255
#define REC_ORIGIN_MAX 63
#define REC_HOST_MAX 63			 /* one "hosts" item */
#define REC_LIST_MAX 64			 /* items in "from" / "hosts" */
#define REC_METADATA_MAX 1024		 /* serialized bytes */
#define REC_BOOT_ID_SIZE 37		 /* a boot id: 36 characters of UUID text, NUL */
#define REC_START_MAX (INT64_C(1) << 53) /* leader_start: exact in JSON numbers */

struct rec_grant {
	uint8_t id[ID_BYTES];
	char *principal; /* "alice" or "%wheel" */
	char *pattern;
	int64_t not_before; /* REC_NOT_BEFORE_NONE */
	int64_t not_after;  /* REC_NOT_AFTER_NONE = permanent */
	char **from;	    /* nfrom strings; NULL when 0 */
	size_t nfrom;
	char **hosts; /* nhosts strings; none = this host */
	size_t nhosts;
	bool has_session;
	uint8_t session[ID_BYTES];
	char *reason; /* never NULL once valid ("" allowed) */
	char *issuer;
	int source; /* enum record_source */
	char *origin;
	uint64_t version;
	int64_t created;
	uint32_t table_unit; /* the caller's slot; REC_U32_NONE */
};

struct rec_session {
	uint8_t id[ID_BYTES];
	char *user;
	uint32_t uid;
	char *service;
	char *tty;   /* "" when none */
	char *rhost; /* "" when none */
	uint32_t pid;
	uint32_t audit; /* REC_U32_NONE when unset */
	/* the leader's identity (psmd/leader.h), read by psmd at open: 0 / "" unknown */
	int64_t leader_start;		/* its start time, clock ticks after boot */
	char boot_id[REC_BOOT_ID_SIZE]; /* the boot it started in */
	int64_t created;
	int64_t expires; /* REC_NOT_AFTER_NONE = no expiry */
	char *metadata;	 /* compact JSON object text, "{}" when none */
	char *origin;
	uint64_t version;
	uint32_t table_unit;
};

/* revoke (of a grant) and session_end (of a session): tombstones. */
struct rec_tomb {
	uint8_t id[ID_BYTES];
	char *origin;
	uint64_t version;
	int64_t keep_until; /* kept until then; REC_NOT_AFTER_NONE = for ever */
};

struct record {
	int type; /* enum record_type */
	union {
		struct rec_grant grant;
		struct rec_session session;
		struct rec_tomb tomb;
	} u;
};

/* Zeroes r and sets the "none" values for type (so record_free is always safe). */
void record_init(struct record *r, int type);
/* Frees what r owns and re-initialises it. */
void record_free(struct record *r);
/* Moves src into dst (dst must hold nothing); src is left initialised and empty. */
void record_move(struct record *dst, struct record *src);
int record_copy(struct record *dst, const struct record *src, struct psm_err *err);

/* Id, version, origin of any record type. */
const uint8_t *record_id(const struct record *r);
uint64_t record_version(const struct record *r);
/* The time after which the record no longer matters (not_after, expires,
 * keep_until); REC_NOT_AFTER_NONE when never. */
int64_t record_expiry(const struct record *r);
const char *record_type_name(int type);

/*
 * Makes the tombstone of live (a grant: revoke; a session: session_end) with
 * the given version and origin, kept until the grant's not_after or the
 * session's expires (for ever when it has none).  *out must hold nothing.
 */
int record_tomb_for(struct record *out, const struct record *live, uint64_t version,
		    const char *origin, struct psm_err *err);

/*
 * Semantic checks shared by every way a record is made (JSON, the socket
 * handlers): principal and user names, patterns (policy/perm.h), 'from' items
 * (policy/cond.h), hosts, lengths, times (0..REC_TIME_MAX, not_before <
 * not_after, created <= expires), version != 0, metadata a JSON object of at
 * most 1 KiB.  Message: "FIELD: why".
 */
int record_validate(const struct record *r, struct psm_err *err);

/* Builds the JSON object (with "type").  NULL only when out of memory. */
cJSON *record_to_json(const struct record *r);
/* The protocol's grant / session object (no "type"). */
cJSON *record_grant_to_json(const struct rec_grant *g);
cJSON *record_session_to_json(const struct rec_session *s);

/*
 * Parses and fully validates a record object with "type"; unknown keys, wrong
 * types and bad values are PSM_EINVAL naming the field.  On error r is empty.
 */
int record_from_json(const cJSON *obj, struct record *r, struct psm_err *err);
/* The same for a protocol grant / session object (no "type" key allowed). */
int record_grant_from_json(const cJSON *obj, struct record *r, struct psm_err *err);
int record_session_from_json(const cJSON *obj, struct record *r, struct psm_err *err);

/* Parses text (len bytes, need not be NUL-terminated) and then record_from_json. */
int record_parse(const char *text, size_t len, struct record *r, struct psm_err *err);
/* Compact JSON text of r (malloc'd, NUL-terminated), NULL when out of memory. */
char *record_print(const struct record *r);
/* The same text appended to w (a journal buffer reused for every record):
 * PSM_ENOMEM, or PSM_EINVAL when a session's metadata is not JSON. */
struct json_out;
int record_write(struct json_out *w, const struct record *r, struct psm_err *err);

/* Compiles g->from into the table's encoding (policy/cond.h); *len = 0 for anywhere. */
int record_grant_from_enc(const struct rec_grant *g, unsigned char *out, size_t cap, size_t *len,
			  struct psm_err *err);

/* Checks a user name ("alice") or, when group_ok, a group principal ("%wheel"). */
int record_check_principal(const char *s, bool group_ok, struct psm_err *err);
/* Checks a host name or label (one "hosts" item other than "*"): 1..REC_HOST_MAX of
 * A-Z a-z 0-9 . _ -; the message names field. */
int record_check_host(const char *field, const char *s, struct psm_err *err);

#endif
