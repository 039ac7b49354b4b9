/* SPDX-License-Identifier: MIT */
/* proto.h - the admin socket protocol (SPEC §9): op table, request validation, replies, framing. */
#ifndef PSMD_PROTO_H
#define PSMD_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "policy.h"
#include "proto_keys.h"
#include "psm_err.h"

/*
 * Newline-delimited JSON over a Unix stream socket: one request object per
 * line, one reply line per request, in order.  Shared by psmd (server) and
 * psmctl (client): the client runs the same validation on the request it
 * built, so bad input fails with exit 2 before any connection is made.
 */
#define PROTO_LINE_MAX 65536	     /* a request, including its newline */
#define PROTO_REPLY_MAX (256u << 20) /* what a client accepts for one reply line */
#define PROTO_TAG_MAX 64

/* Error codes of a reply; each has a name on the wire and a psmctl exit code. */
enum proto_code {
	PROTO_E_INVALID_ARGUMENT = 0,
	PROTO_E_UNKNOWN_OP,
	PROTO_E_TOO_LARGE,
	PROTO_E_NOT_PERMITTED,
	PROTO_E_NOT_FOUND,
	PROTO_E_UNAVAILABLE,
	PROTO_E_TABLE_FULL,
	PROTO_E_INTERNAL,
	PROTO_E_COUNT
};

/* "invalid_argument" ...; "internal" for an out-of-range code. */
const char *proto_code_name(int ecode);
/* PROTO_E_* for a wire name; -1 when unknown. */
int proto_code_parse(const char *name);
/* psmctl exit status: 2 bad input / not found, 3 unavailable, 4 not permitted. */
int proto_code_exit(int ecode);
/* The reply code for a psm_err code (PSM_EINVAL -> invalid_argument, ...). */
int proto_code_from_psm(int psm_code);
/* The psm_err code for a reply code (for psm_err_set on the client side). */
int proto_code_to_psm(int ecode);

enum proto_op_id {
	PROTO_OP_GRANT = 0,
	PROTO_OP_REVOKE,
	PROTO_OP_GRANTS,
	PROTO_OP_CHECK,
	PROTO_OP_SESSIONS,
	PROTO_OP_SESSION_SHOW,
	PROTO_OP_SESSION_EXTEND,
	PROTO_OP_SESSION_KILL,
	PROTO_OP_SESSION_OPEN,
	PROTO_OP_SESSION_CLOSE,
	PROTO_OP_CLEANUP,
	PROTO_OP_STATS,
	PROTO_OP_HEALTH,
	PROTO_OP_METRICS,
	PROTO_OP_EXPORT,
	PROTO_OP_IMPORT,
	PROTO_OP_RELOAD,
	PROTO_OP_RECOVER,
	PROTO_OP_FLEET,
	PROTO_OP_HISTORY,
	PROTO_OP_COUNT
};

/* Who may call an op (SO_PEERCRED: uid 0 or admin_group member = admin). */
enum proto_who {
	PROTO_WHO_ADMIN = 0, /* admins only */
	PROTO_WHO_SELF,	     /* anyone, about their own user ("user" omitted = themselves) */
	PROTO_WHO_SESSION, /* admin, or a user for a session provably their own (PROTO_F_PROVEN) */
	PROTO_WHO_ANY,	   /* anyone */
};

/* Flags of an op. */
#define PROTO_F_MUTATES 0x1u /* changes state: audit-logged, journaled */
#define PROTO_F_OWNER 0x2u   /* non-admins: the server must check the session is theirs */
#define PROTO_F_PROVEN 0x4u  /* non-admins: ... and that its leader is a live process of theirs */

struct proto_req;

struct proto_op {
	const char *name;
	enum proto_op_id id;
	enum proto_who who;
	unsigned flags;
	uint64_t keys;	   /* PROTO_BIT(PK_*) allowed */
	uint64_t required; /* PROTO_BIT(PK_*) required */
	/* Rules across keys (ttl xor until, grant_id xor user+perm); may be NULL. */
	int (*rule)(const struct proto_req *r, struct psm_err *err);
};

struct proto_req {
	cJSON *root;		   /* owned; proto_req_free() releases it */
	const struct proto_op *op; /* NULL until "op" is known */
	const char *tag;	   /* echoed in the reply; NULL when absent or invalid */
	int ecode;		   /* on failure: the PROTO_E_* to reply with */
	uint64_t have;		   /* PROTO_BIT(PK_*) of the keys present */
	struct proto_args a;
};

/*
 * Validates one request line (without or with its trailing newline): size,
 * JSON object, every string and key valid UTF-8 without control characters
 * (text.h: "tty: invalid UTF-8 at byte 1"), known op, every key in the op's
 * schema with the right type and limits, required keys, and the values that
 * need no daemon state
 * (patterns, permissions, TTLs, times, 'from' items, user names).  Returns
 * PSM_OK, or PSM_EINVAL with r->ecode set (invalid_argument, unknown_op or
 * too_large) and err naming the key: "ttl \"5x\": unknown unit 'x' (use s, m,
 * h, d, w)", "user: expected a string".  Call proto_req_free() in both cases.
 */
int proto_parse_request(const char *line, size_t len, struct proto_req *r, struct psm_err *err);
void proto_req_free(struct proto_req *r);

static inline bool proto_has(const struct proto_req *r, enum proto_key_id k)
{
	return (r->have & PROTO_BIT(k)) != 0;
}

/* The op table: by name (NULL when unknown) and by id. */
const struct proto_op *proto_op_find(const char *name);
const struct proto_op *proto_op_get(enum proto_op_id id);

bool proto_op_admin_only(const struct proto_op *op);
bool proto_op_mutates(const struct proto_op *op);
bool proto_op_needs_owner(const struct proto_op *op);
bool proto_op_needs_proof(const struct proto_op *op);

/*
 * The authorization that needs no daemon state: admins may do everything;
 * others only ops for anyone, and "self" ops whose user is absent or
 * peer_user.  A non-admin's session ops with a session_id still need the
 * server's ownership check (proto_op_needs_owner).  PSM_EPERM with a message.
 */
int proto_authorize(const struct proto_req *r, bool admin, const char *peer_user,
		    struct psm_err *err);

/*
 * Reply lines: malloc'd, NUL-terminated, ending in '\n' (*len, when non-NULL,
 * counts the newline).  proto_reply_ok takes fields (an object or NULL) and
 * frees it.  NULL when out of memory: send proto_reply_oom then.
 */
char *proto_reply_ok(cJSON *fields, const char *tag, size_t *len);
char *proto_reply_error(int ecode, const char *message, const char *tag, size_t *len);
/* An error reply for a psm_err (its code mapped by proto_code_from_psm). */
char *proto_reply_err(const struct psm_err *e, const char *tag, size_t *len);
extern const char proto_reply_oom[];

/* The "policy" object of the reload reply and of psmctl policy check --json:
 * {"roles":N,"bindings":N,"denies":N,"warnings":["FILE:L:C: warning: ...",...]}.
 * NULL when out of memory. */
cJSON *proto_policy_json(const struct policy *p);

/*
 * A reply as psm's JSON output (psmctl(8) JSON OUTPUT; proto_present.c): "tag" dropped;
 * each time member (created, expires, not_before, not_after, since, keep_until, until) as
 * an RFC 3339 UTC string or null, followed by "<name>_unix" (integer seconds or null);
 * numeric versions as strings; durations named with their unit ("uptime" -> "uptime_s");
 * a check result's "explain_fields" becomes its "explain".  A session's metadata is left
 * as it is.  Changes reply in place; PSM_ENOMEM.
 */
int proto_present(cJSON *reply, struct psm_err *err);
/* The reverse for one grant or session object read from an export file (version 2): each
 * "<time>_unix" member becomes the wire's time member again, after checking that the
 * string says the same time (PSM_EINVAL naming both otherwise).  A version 1 object
 * (integer times, no "_unix") is left as it is. */
int proto_unpresent(cJSON *item, struct psm_err *err);

/* obj as one line of JSON plus '\n', malloc'd (requests from the client, replies). */
char *proto_print_line(const cJSON *obj, size_t *len);

/* A reply as the client sees it. */
struct proto_reply {
	cJSON *root; /* owned */
	bool ok;
	int ecode;	     /* when !ok */
	const char *message; /* when !ok */
	const char *tag;     /* NULL when absent */
};
/* PSM_EUNAVAIL "malformed reply from psmd: ..." when the line is not a reply. */
int proto_reply_parse(const char *line, size_t len, struct proto_reply *r, struct psm_err *err);
void proto_reply_free(struct proto_reply *r);

/*
 * Splits a byte stream into lines.  Feed what read() returned, then take
 * lines until PROTO_LINES_NONE (so that at most max + one read is buffered).  A line longer than
 * max (counting its newline) gives PROTO_LINES_TOO_LARGE, and so does every call after it: the
 * server replies too_large and closes that connection.
 */
enum proto_lines_status { PROTO_LINES_NONE = 0, PROTO_LINES_LINE, PROTO_LINES_TOO_LARGE };

struct proto_lines {
	char *buf;
	size_t cap, start, end, scan; /* unconsumed bytes are buf[start..end) */
	size_t max;
	bool too_large;
};

void proto_lines_init(struct proto_lines *l, size_t max);
void proto_lines_free(struct proto_lines *l);
/* Copies n bytes in. PSM_ENOMEM when out of memory. */
int proto_lines_feed(struct proto_lines *l, const char *data, size_t n, struct psm_err *err);
/* *line (not NUL-terminated, valid until the next feed) and *len exclude the newline. */
int proto_lines_next(struct proto_lines *l, const char **line, size_t *len);
/* Bytes buffered that are not yet a whole line. */
size_t proto_lines_pending(const struct proto_lines *l);

#endif
