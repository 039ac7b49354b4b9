/* SPDX-License-Identifier: MIT */
/* proto.c - the admin protocol's op table and the validation of one request line. */
#include "proto.h"

#include <string.h>

#include "text.h"

#define B(k) PROTO_BIT(PK_##k)

static int rule_grant(const struct proto_req *r, struct psm_err *err);
static int rule_revoke(const struct proto_req *r, struct psm_err *err);

/* protocol.md's table, one row per op. */
static const struct proto_op proto_ops[PROTO_OP_COUNT] = {
    {"grant", PROTO_OP_GRANT, PROTO_WHO_ADMIN, PROTO_F_MUTATES,
     B(PRINCIPAL) | B(PERM) | B(TTL) | B(UNTIL) | B(FROM) | B(HOSTS) | B(SESSION) | B(REASON),
     B(PRINCIPAL) | B(PERM), rule_grant},
    {"revoke", PROTO_OP_REVOKE, PROTO_WHO_ADMIN, PROTO_F_MUTATES,
     B(GRANT_ID) | B(PRINCIPAL) | B(PERM), 0, rule_revoke},
    {"grants", PROTO_OP_GRANTS, PROTO_WHO_SELF, 0, B(PRINCIPAL), 0, NULL},
    {"check", PROTO_OP_CHECK, PROTO_WHO_SELF, 0,
     B(USER) | B(PERMS) | B(MODE) | B(SERVICE) | B(RHOST) | B(EXPLAIN) | B(AT), B(USER) | B(PERMS),
     NULL},
    {"sessions", PROTO_OP_SESSIONS, PROTO_WHO_SELF, 0, B(USER) | B(FLEET), 0, NULL},
    {"session_show", PROTO_OP_SESSION_SHOW, PROTO_WHO_SELF, PROTO_F_OWNER, B(SESSION_ID),
     B(SESSION_ID), NULL},
    {"session_extend", PROTO_OP_SESSION_EXTEND, PROTO_WHO_ADMIN, PROTO_F_MUTATES,
     B(SESSION_ID) | B(TTL), B(SESSION_ID) | B(TTL), NULL},
    {"session_kill", PROTO_OP_SESSION_KILL, PROTO_WHO_ADMIN, PROTO_F_MUTATES, B(SESSION_ID),
     B(SESSION_ID), NULL},
    {"session_open", PROTO_OP_SESSION_OPEN, PROTO_WHO_ADMIN, PROTO_F_MUTATES,
     B(USER) | B(SERVICE) | B(TTY) | B(RHOST) | B(PID) | B(AUDIT) | B(TTL) | B(METADATA),
     B(USER) | B(SERVICE) | B(PID), NULL},
    {"session_close", PROTO_OP_SESSION_CLOSE, PROTO_WHO_SESSION,
     PROTO_F_MUTATES | PROTO_F_OWNER | PROTO_F_PROVEN, B(SESSION_ID), B(SESSION_ID), NULL},
    {"cleanup", PROTO_OP_CLEANUP, PROTO_WHO_ADMIN, PROTO_F_MUTATES, 0, 0, NULL},
    {"stats", PROTO_OP_STATS, PROTO_WHO_ANY, 0, 0, 0, NULL},
    {"health", PROTO_OP_HEALTH, PROTO_WHO_ANY, 0, 0, 0, NULL},
    {"metrics", PROTO_OP_METRICS, PROTO_WHO_ANY, 0, 0, 0, NULL},
    {"export", PROTO_OP_EXPORT, PROTO_WHO_ADMIN, 0, 0, 0, NULL},
    {"import", PROTO_OP_IMPORT, PROTO_WHO_ADMIN, PROTO_F_MUTATES,
     B(GRANTS) | B(SESSIONS) | B(DRY_RUN), 0, NULL},
    {"reload", PROTO_OP_RELOAD, PROTO_WHO_ADMIN, PROTO_F_MUTATES, B(STRICT), 0, NULL},
    {"recover", PROTO_OP_RECOVER, PROTO_WHO_ADMIN, PROTO_F_MUTATES, B(DECISION), 0, NULL},
    {"fleet", PROTO_OP_FLEET, PROTO_WHO_ANY, 0, 0, 0, NULL},
    {"history", PROTO_OP_HISTORY, PROTO_WHO_ADMIN, 0, B(PRINCIPAL) | B(SINCE) | B(TILL), 0, NULL},
};

const struct proto_op *proto_op_find(const char *name)
{
	size_t i;

	for (i = 0; i < PROTO_OP_COUNT; i++)
		if (strcmp(proto_ops[i].name, name) == 0)
			return &proto_ops[i];
	return NULL;
}

const struct proto_op *proto_op_get(enum proto_op_id id)
{
	return (unsigned)id < PROTO_OP_COUNT ? &proto_ops[id] : NULL;
}

bool proto_op_admin_only(const struct proto_op *op)
{
	return op->who == PROTO_WHO_ADMIN;
}

bool proto_op_mutates(const struct proto_op *op)
{
	return (op->flags & PROTO_F_MUTATES) != 0;
}

bool proto_op_needs_owner(const struct proto_op *op)
{
	return (op->flags & PROTO_F_OWNER) != 0;
}

bool proto_op_needs_proof(const struct proto_op *op)
{
	return (op->flags & PROTO_F_PROVEN) != 0;
}

static int rule_grant(const struct proto_req *r, struct psm_err *err)
{
	if (proto_has(r, PK_TTL) && proto_has(r, PK_UNTIL))
		return psm_err_set(err, PSM_EINVAL, "ttl, until: give one or the other");
	return PSM_OK;
}

static int rule_revoke(const struct proto_req *r, struct psm_err *err)
{
	bool by_id = proto_has(r, PK_GRANT_ID);
	bool user = proto_has(r, PK_PRINCIPAL), perm = proto_has(r, PK_PERM);

	if (by_id && (user || perm))
		return psm_err_set(err, PSM_EINVAL, "grant_id: give grant_id, or user and perm");
	if (!by_id && !user)
		return psm_err_set(err, PSM_EINVAL,
				   "user: required for op revoke "
				   "(or grant_id)");
	if (!by_id && !perm)
		return psm_err_set(err, PSM_EINVAL, "perm: required for op revoke with user");
	return PSM_OK;
}

static int req_fail(struct proto_req *r, int ecode, struct psm_err *err)
{
	r->ecode = ecode;
	if (err != NULL)
		err->code = PSM_EINVAL;
	return PSM_EINVAL;
}

/* "tag" first, so that every later error is echoed with it. */
static int req_tag(struct proto_req *r, struct psm_err *err)
{
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(r->root, "tag");

	if (t == NULL)
		return PSM_OK;
	if (!cJSON_IsString(t) || t->valuestring == NULL)
		return psm_err_set(err, PSM_EINVAL, "tag: expected a string");
	if (strlen(t->valuestring) > PROTO_TAG_MAX)
		return psm_err_set(err, PSM_EINVAL, "tag: longer than %d bytes", PROTO_TAG_MAX);
	r->tag = t->valuestring;
	return PSM_OK;
}

static int req_op(struct proto_req *r, struct psm_err *err)
{
	const cJSON *o = cJSON_GetObjectItemCaseSensitive(r->root, "op");

	if (o == NULL)
		return psm_err_set(err, PSM_EINVAL, "op: required");
	if (!cJSON_IsString(o) || o->valuestring == NULL)
		return psm_err_set(err, PSM_EINVAL, "op: expected a string");
	r->op = proto_op_find(o->valuestring);
	if (r->op == NULL) {
		psm_err_set(err, PSM_EINVAL, "op: unknown op \"%.64s\"", o->valuestring);
		return req_fail(r, PROTO_E_UNKNOWN_OP, err);
	}
	return PSM_OK;
}

/* One member of the request object. */
static int req_member(struct proto_req *r, const cJSON *m, uint64_t *seen, struct psm_err *err)
{
	int k;

	if (strcmp(m->string, "op") == 0 || strcmp(m->string, "tag") == 0) {
		k = PK_COUNT + (m->string[0] == 't');
	} else {
		k = proto_key_find(m->string, r->op->keys);
		if (k < 0)
			return psm_err_set(err, PSM_EINVAL, "%.64s: unknown key for op %s",
					   m->string, r->op->name);
	}
	if (*seen & PROTO_BIT(k))
		return psm_err_set(err, PSM_EINVAL, "%.64s: duplicate key", m->string);
	*seen |= PROTO_BIT(k);
	if (k >= PK_COUNT)
		return PSM_OK;
	r->have |= PROTO_BIT(k);
	return proto_key_apply((enum proto_key_id)k, m, &r->a, err);
}

static int req_keys(struct proto_req *r, struct psm_err *err)
{
	const cJSON *m;
	uint64_t seen = 0, missing;
	int k;

	cJSON_ArrayForEach(m,
			   r->root) if (req_member(r, m, &seen, err) != PSM_OK) return PSM_EINVAL;
	missing = r->op->required & ~r->have;
	for (k = 0; k < PK_COUNT; k++)
		if (missing & PROTO_BIT(k))
			return psm_err_set(err, PSM_EINVAL, "%s: required for op %s",
					   proto_key_name((enum proto_key_id)k), r->op->name);
	return r->op->rule != NULL ? r->op->rule(r, err) : PSM_OK;
}

/*
 * cJSON turns "\u0000" into a NUL that silently cuts a string short
 * ("alice\u0000x" would read as "alice"): such a request is refused.
 */
static bool req_has_nul_escape(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i + 1 < len; i++) {
		if (s[i] != '\\')
			continue;
		if (s[i + 1] == 'u' && i + 5 < len && strncmp(s + i + 2, "0000", 4) == 0)
			return true;
		i++;
	}
	return false;
}

static int req_json(struct proto_req *r, const char *line, size_t len, struct psm_err *err)
{
	const char *end = NULL;

	if (len > 0 && line[len - 1] == '\n')
		len--;
	if (len + 1 > PROTO_LINE_MAX) {
		psm_err_set(err, PSM_EINVAL, "request: larger than %d bytes", PROTO_LINE_MAX);
		return req_fail(r, PROTO_E_TOO_LARGE, err);
	}
	if (memchr(line, '\0', len) != NULL || req_has_nul_escape(line, len))
		return psm_err_set(err, PSM_EINVAL, "request: NUL character");
	r->root = cJSON_ParseWithLengthOpts(line, len, &end, 0);
	if (r->root == NULL)
		return psm_err_set(err, PSM_EINVAL, "request: invalid JSON at byte %zu",
				   end != NULL && end >= line ? (size_t)(end - line) + 1 : 1);
	while (end != NULL && end < line + len && (*end == ' ' || *end == '\t' || *end == '\r'))
		end++;
	if (end != NULL && end < line + len)
		return psm_err_set(err, PSM_EINVAL, "request: text after the JSON object");
	if (!cJSON_IsObject(r->root))
		return psm_err_set(err, PSM_EINVAL, "request: expected a JSON object");
	/* every string and key, before any of them is looked at or echoed */
	return text_check_json("", r->root, NULL, err);
}

int proto_parse_request(const char *line, size_t len, struct proto_req *r, struct psm_err *err)
{
	memset(r, 0, sizeof(*r));
	r->ecode = PROTO_E_INVALID_ARGUMENT;
	if (req_json(r, line, len, err) != PSM_OK || req_tag(r, err) != PSM_OK ||
	    req_op(r, err) != PSM_OK || req_keys(r, err) != PSM_OK) {
		if (err != NULL && err->code == PSM_ENOMEM) {
			r->ecode = PROTO_E_INTERNAL;
			return PSM_ENOMEM;
		}
		return req_fail(r, r->ecode, err);
	}
	return PSM_OK;
}

void proto_req_free(struct proto_req *r)
{
	cJSON_Delete(r->root);
	memset(r, 0, sizeof(*r));
}

int proto_authorize(const struct proto_req *r, bool admin, const char *peer_user,
		    struct psm_err *err)
{
	if (admin || r->op->who == PROTO_WHO_ANY)
		return PSM_OK;
	if (r->op->who == PROTO_WHO_ADMIN)
		return psm_err_set(err, PSM_EPERM, "not permitted (admins only)");
	if (r->a.user == NULL || (peer_user != NULL && strcmp(r->a.user, peer_user) == 0))
		return PSM_OK;
	return psm_err_set(err, PSM_EPERM, "not permitted (only about your own user, %.64s)",
			   peer_user != NULL ? peer_user : "?");
}
