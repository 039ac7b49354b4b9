/* SPDX-License-Identifier: MIT */
/* record.c - psmd's durable records: lifetime, validation, and JSON in both directions. */
#include "record.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cond.h"
#include "perm.h"
#include "json_cjson.h"

/* ---- lifetime ---------------------------------------------------------------- */

void record_init(struct record *r, int type)
{
	memset(r, 0, sizeof(*r));
	r->type = type;
	switch (type) {
	case REC_GRANT:
		r->u.grant.not_before = REC_NOT_BEFORE_NONE;
		r->u.grant.not_after = REC_NOT_AFTER_NONE;
		r->u.grant.source = REC_SRC_ADMIN;
		r->u.grant.table_unit = REC_U32_NONE;
		break;
	case REC_SESSION:
		r->u.session.audit = REC_U32_NONE;
		r->u.session.expires = REC_NOT_AFTER_NONE;
		r->u.session.table_unit = REC_U32_NONE;
		break;
	default:
		r->u.tomb.keep_until = REC_NOT_AFTER_NONE;
		break;
	}
}

static void rec_free_list(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void record_free(struct record *r)
{
	struct rec_grant *g = &r->u.grant;
	struct rec_session *s = &r->u.session;

	switch (r->type) {
	case REC_GRANT:
		free(g->principal);
		free(g->pattern);
		rec_free_list(g->from, g->nfrom);
		rec_free_list(g->hosts, g->nhosts);
		free(g->reason);
		free(g->issuer);
		free(g->origin);
		break;
	case REC_SESSION:
		free(s->user);
		free(s->service);
		free(s->tty);
		free(s->rhost);
		free(s->metadata);
		free(s->origin);
		break;
	case REC_REVOKE:
	case REC_SESSION_END:
		free(r->u.tomb.origin);
		break;
	default:
		break;
	}
	record_init(r, r->type);
}

void record_move(struct record *dst, struct record *src)
{
	*dst = *src;
	record_init(src, src->type);
}

/* strdup that keeps NULL; *ok turns false when out of memory. */
static char *rec_dup(const char *s, bool *ok)
{
	char *d;

	if (s == NULL)
		return NULL;
	d = strdup(s);
	if (d == NULL)
		*ok = false;
	return d;
}

static char **rec_dup_list(char *const *v, size_t n, bool *ok)
{
	char **d;
	size_t i;

	if (n == 0)
		return NULL;
	d = calloc(n, sizeof(*d));
	if (d == NULL) {
		*ok = false;
		return NULL;
	}
	for (i = 0; i < n; i++)
		d[i] = rec_dup(v[i], ok);
	return d;
}

int record_copy(struct record *dst, const struct record *src, struct psm_err *err)
{
	bool ok = true;

	*dst = *src;
	if (src->type == REC_GRANT) {
		const struct rec_grant *g = &src->u.grant;
		struct rec_grant *d = &dst->u.grant;

		d->principal = rec_dup(g->principal, &ok);
		d->pattern = rec_dup(g->pattern, &ok);
		d->from = rec_dup_list(g->from, g->nfrom, &ok);
		d->hosts = rec_dup_list(g->hosts, g->nhosts, &ok);
		d->reason = rec_dup(g->reason, &ok);
		d->issuer = rec_dup(g->issuer, &ok);
		d->origin = rec_dup(g->origin, &ok);
	} else if (src->type == REC_SESSION) {
		const struct rec_session *s = &src->u.session;
		struct rec_session *d = &dst->u.session;

		d->user = rec_dup(s->user, &ok);
		d->service = rec_dup(s->service, &ok);
		d->tty = rec_dup(s->tty, &ok);
		d->rhost = rec_dup(s->rhost, &ok);
		d->metadata = rec_dup(s->metadata, &ok);
		d->origin = rec_dup(s->origin, &ok);
	} else {
		dst->u.tomb.origin = rec_dup(src->u.tomb.origin, &ok);
	}
	if (ok)
		return PSM_OK;
	record_free(dst);
	return psm_err_set(err, PSM_ENOMEM, "record: out of memory");
}

/* ---- accessors ------------------------------------------------------------------- */

const uint8_t *record_id(const struct record *r)
{
	if (r->type == REC_GRANT)
		return r->u.grant.id;
	if (r->type == REC_SESSION)
		return r->u.session.id;
	return r->u.tomb.id;
}

uint64_t record_version(const struct record *r)
{
	if (r->type == REC_GRANT)
		return r->u.grant.version;
	if (r->type == REC_SESSION)
		return r->u.session.version;
	return r->u.tomb.version;
}

int64_t record_expiry(const struct record *r)
{
	if (r->type == REC_GRANT)
		return r->u.grant.not_after;
	if (r->type == REC_SESSION)
		return r->u.session.expires;
	return r->u.tomb.keep_until;
}

int record_tomb_for(struct record *out, const struct record *live, uint64_t version,
		    const char *origin, struct psm_err *err)
{
	if (live->type != REC_GRANT && live->type != REC_SESSION)
		return psm_err_set(err, PSM_EINVAL, "record: only a grant or a session ends");
	record_init(out, live->type == REC_GRANT ? REC_REVOKE : REC_SESSION_END);
	memcpy(out->u.tomb.id, record_id(live), ID_BYTES);
	out->u.tomb.version = version;
	out->u.tomb.keep_until = record_expiry(live);
	out->u.tomb.origin = strdup(origin == NULL ? "" : origin);
	if (out->u.tomb.origin == NULL)
		return psm_err_set(err, PSM_ENOMEM, "record: out of memory");
	return PSM_OK;
}

static const char *const rec_type_names[] = {
    [REC_GRANT] = "grant",
    [REC_REVOKE] = "revoke",
    [REC_SESSION] = "session",
    [REC_SESSION_END] = "session_end",
};

static const char *const rec_source_names[] = {
    [REC_SRC_POLICY] = "policy",
    [REC_SRC_ADMIN] = "admin",
    [REC_SRC_FLEET] = "fleet",
};

const char *record_type_name(int type)
{
	if (type < REC_GRANT || type > REC_SESSION_END)
		return "unknown";
	return rec_type_names[type];
}

static int rec_name_index(const char *const *names, int lo, int hi, const char *s)
{
	int i;

	for (i = lo; i <= hi; i++)
		if (strcmp(names[i], s) == 0)
			return i;
	return 0;
}

/* ---- validation -------------------------------------------------------------------- */

enum rec_text_rule {
	REC_TEXT_ANY = 0,  /* printable text: no control characters */
	REC_TEXT_WORD = 1, /* also no spaces */
	REC_TEXT_NAME = 2, /* user/group name: also no ':' ',' '/', no leading '-' */
	REC_TEXT_HOST = 3, /* A-Z a-z 0-9 . _ - */
};

static bool rec_char_ok(unsigned char c, int rule)
{
	if (c < 0x20 || c == 0x7f)
		return false;
	if (rule >= REC_TEXT_WORD && c == ' ')
		return false;
	if (rule == REC_TEXT_NAME && (c == ':' || c == ',' || c == '/'))
		return false;
	if (rule == REC_TEXT_HOST)
		return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		       c == '.' || c == '_' || c == '-';
	return true;
}

/* Checks s against rule and length min..max; the message names field. */
static int rec_check_text(const char *field, const char *s, size_t min, size_t max, int rule,
			  struct psm_err *err)
{
	size_t len, i;

	if (s == NULL)
		return psm_err_set(err, PSM_EINVAL, "%s: missing", field);
	len = strnlen(s, max + 1);
	if (len < min)
		return psm_err_set(err, PSM_EINVAL, "%s: empty", field);
	if (len > max)
		return psm_err_set(err, PSM_EINVAL, "%s: longer than %zu bytes", field, max);
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!rec_char_ok(c, rule))
			return psm_err_set(err, PSM_EINVAL, "%s: bad character 0x%02x at %zu",
					   field, c, i + 1);
	}
	if (rule == REC_TEXT_NAME && s[0] == '-')
		return psm_err_set(err, PSM_EINVAL, "%s: may not begin with '-'", field);
	return PSM_OK;
}

int record_check_principal(const char *s, bool group_ok, struct psm_err *err)
{
	const char *field = group_ok ? "principal" : "user";

	if (s != NULL && s[0] == '%') {
		if (!group_ok)
			return psm_err_set(err, PSM_EINVAL, "user: a group is not allowed here");
		return rec_check_text(field, s + 1, 1, REC_NAME_MAX, REC_TEXT_NAME, err);
	}
	return rec_check_text(field, s, 1, REC_NAME_MAX, REC_TEXT_NAME, err);
}

int record_check_host(const char *field, const char *s, struct psm_err *err)
{
	return rec_check_text(field, s, 1, REC_HOST_MAX, REC_TEXT_HOST, err);
}

static int rec_check_time(const char *field, int64_t t, bool none_ok, int64_t none,
			  struct psm_err *err)
{
	if (none_ok && t == none)
		return PSM_OK;
	if (t < 0 || t > REC_TIME_MAX)
		return psm_err_set(err, PSM_EINVAL,
				   "%s: %" PRId64 " is not a time between 0 and %" PRId64, field, t,
				   REC_TIME_MAX);
	return PSM_OK;
}

int record_grant_from_enc(const struct rec_grant *g, unsigned char *out, size_t cap, size_t *len,
			  struct psm_err *err)
{
	size_t i;

	*len = 0;
	for (i = 0; i < g->nfrom; i++)
		if (cond_compile(g->from[i], out, cap, len, err) != PSM_OK)
			return psm_err_prefix(err, "from[%zu]", i);
	return PSM_OK;
}

static int rec_check_hosts(const struct rec_grant *g, struct psm_err *err)
{
	size_t i;

	if (g->nhosts > REC_LIST_MAX)
		return psm_err_set(err, PSM_EINVAL, "hosts: more than %d items", REC_LIST_MAX);
	for (i = 0; i < g->nhosts; i++) {
		char field[32];

		if (g->hosts[i] != NULL && strcmp(g->hosts[i], "*") == 0)
			continue;
		snprintf(field, sizeof(field), "hosts[%zu]", i);
		if (record_check_host(field, g->hosts[i], err))
			return PSM_EINVAL;
	}
	return PSM_OK;
}

static int rec_check_grant_times(const struct rec_grant *g, struct psm_err *err)
{
	if (rec_check_time("not_before", g->not_before, true, REC_NOT_BEFORE_NONE, err) ||
	    rec_check_time("not_after", g->not_after, true, REC_NOT_AFTER_NONE, err) ||
	    rec_check_time("created", g->created, false, 0, err))
		return PSM_EINVAL;
	if (g->not_after != REC_NOT_AFTER_NONE && g->not_after <= g->created)
		return psm_err_set(err, PSM_EINVAL, "not_after: not after created");
	if (g->not_before != REC_NOT_BEFORE_NONE && g->not_after != REC_NOT_AFTER_NONE &&
	    g->not_before >= g->not_after)
		return psm_err_set(err, PSM_EINVAL, "not_after: not after not_before");
	return PSM_OK;
}

static int rec_validate_grant(const struct rec_grant *g, struct psm_err *err)
{
	unsigned char enc[COND_ENC_MAX];
	size_t len;

	if (record_check_principal(g->principal, true, err))
		return PSM_EINVAL;
	if (g->pattern == NULL)
		return psm_err_set(err, PSM_EINVAL, "pattern: missing");
	if (pattern_validate(g->pattern, strlen(g->pattern), err))
		return psm_err_prefix(err, "pattern");
	if (g->nfrom > REC_LIST_MAX)
		return psm_err_set(err, PSM_EINVAL, "from: more than %d items", REC_LIST_MAX);
	if (record_grant_from_enc(g, enc, sizeof(enc), &len, err))
		return PSM_EINVAL;
	if (rec_check_hosts(g, err) || rec_check_grant_times(g, err))
		return PSM_EINVAL;
	if (rec_check_text("reason", g->reason, 0, REC_REASON_MAX, REC_TEXT_ANY, err) ||
	    rec_check_text("issuer", g->issuer, 1, REC_NAME_MAX, REC_TEXT_ANY, err))
		return PSM_EINVAL;
	if (g->source < REC_SRC_POLICY || g->source > REC_SRC_FLEET)
		return psm_err_set(err, PSM_EINVAL, "source: must be policy, admin or fleet");
	return PSM_OK;
}

static int rec_check_metadata(const char *m, struct psm_err *err)
{
	cJSON *j;
	bool obj;

	if (m == NULL)
		return psm_err_set(err, PSM_EINVAL, "metadata: missing");
	if (strnlen(m, REC_METADATA_MAX + 1) > REC_METADATA_MAX)
		return psm_err_set(err, PSM_EINVAL, "metadata: longer than %d bytes serialized",
				   REC_METADATA_MAX);
	j = cJSON_Parse(m);
	obj = cJSON_IsObject(j);
	cJSON_Delete(j);
	if (!obj)
		return psm_err_set(err, PSM_EINVAL, "metadata: not a JSON object");
	return PSM_OK;
}

static int rec_validate_session(const struct rec_session *s, struct psm_err *err)
{
	if (record_check_principal(s->user, false, err) ||
	    rec_check_text("service", s->service, 1, REC_NAME_MAX, REC_TEXT_WORD, err) ||
	    rec_check_text("tty", s->tty, 0, REC_NAME_MAX, REC_TEXT_WORD, err) ||
	    rec_check_text("rhost", s->rhost, 0, REC_NAME_MAX, REC_TEXT_WORD, err))
		return PSM_EINVAL;
	if (s->uid == UINT32_MAX)
		return psm_err_set(err, PSM_EINVAL, "uid: 4294967295 is not a uid");
	if (s->pid == 0 || s->pid > INT32_MAX)
		return psm_err_set(err, PSM_EINVAL, "pid: %" PRIu32 " is not a process id", s->pid);
	if (rec_check_time("created", s->created, false, 0, err) ||
	    rec_check_time("expires", s->expires, true, REC_NOT_AFTER_NONE, err))
		return PSM_EINVAL;
	if (s->expires != REC_NOT_AFTER_NONE && s->expires <= s->created)
		return psm_err_set(err, PSM_EINVAL, "expires: not after created");
	return rec_check_metadata(s->metadata, err);
}

static int rec_validate_common(const struct record *r, const char *origin, struct psm_err *err)
{
	if (r->type < REC_GRANT || r->type > REC_SESSION_END)
		return psm_err_set(err, PSM_EINVAL, "type: unknown record type %d", r->type);
	if (id_is_zero(record_id(r)))
		return psm_err_set(err, PSM_EINVAL, "%s: missing",
				   r->type <= REC_REVOKE ? "grant_id" : "session_id");
	if (record_version(r) == 0)
		return psm_err_set(err, PSM_EINVAL, "version: missing or 0");
	return rec_check_text("origin", origin, 1, REC_ORIGIN_MAX, REC_TEXT_HOST, err);
}

int record_validate(const struct record *r, struct psm_err *err)
{
	switch (r->type) {
	case REC_GRANT:
		if (rec_validate_common(r, r->u.grant.origin, err))
			return PSM_EINVAL;
		return rec_validate_grant(&r->u.grant, err);
	case REC_SESSION:
		if (rec_validate_common(r, r->u.session.origin, err))
			return PSM_EINVAL;
		return rec_validate_session(&r->u.session, err);
	case REC_REVOKE:
	case REC_SESSION_END:
		if (rec_validate_common(r, r->u.tomb.origin, err))
			return PSM_EINVAL;
		return rec_check_time("keep_until", r->u.tomb.keep_until, true, REC_NOT_AFTER_NONE,
				      err);
	default:
		return rec_validate_common(r, NULL, err);
	}
}

/* ---- to JSON ----------------------------------------------------------------------- */

/*
 * Records are written as text straight away (json_out.h): the journal
 * writes one per change.  The cJSON forms below are that text parsed, so
 * there is one definition of a record's JSON.
 */

static void rj_put_id(struct json_out *w, const char *key, const uint8_t id[ID_BYTES])
{
	char text[ID_TEXT_SIZE];

	id_format(id, text);
	json_out_kv_string(w, key, text);
}

/* "version" is a decimal string: cJSON keeps numbers as doubles (exact only to 2^53). */
static void rj_put_version(struct json_out *w, uint64_t v)
{
	json_out_key(w, "version");
	json_cjson_uint_str(w, v);
}

static void rj_put_list(struct json_out *w, const char *key, char *const *v, size_t n)
{
	json_out_key(w, key);
	json_out_begin_array(w);
	for (size_t i = 0; i < n; i++)
		json_out_string(w, v[i]);
	json_out_end_array(w);
}

static void rj_put_grant(struct json_out *w, const struct rec_grant *g)
{
	const char *src = g->source >= REC_SRC_POLICY && g->source <= REC_SRC_FLEET
			      ? rec_source_names[g->source]
			      : "admin";

	rj_put_id(w, "grant_id", g->id);
	json_out_kv_string(w, "principal", g->principal);
	json_out_kv_string(w, "pattern", g->pattern);
	json_cjson_kint_or_null(w, "not_before", g->not_before, REC_NOT_BEFORE_NONE);
	json_cjson_kint_or_null(w, "not_after", g->not_after, REC_NOT_AFTER_NONE);
	rj_put_list(w, "from", g->from, g->nfrom);
	rj_put_list(w, "hosts", g->hosts, g->nhosts);
	if (g->has_session) {
		rj_put_id(w, "session", g->session);
	} else {
		json_out_key(w, "session");
		json_out_null(w);
	}
	json_out_kv_string(w, "reason", g->reason);
	json_out_kv_string(w, "issuer", g->issuer);
	json_out_kv_string(w, "source", src);
	json_out_kv_string(w, "origin", g->origin);
	rj_put_version(w, g->version);
	json_out_kv_int64(w, "created", g->created);
}

/* metadata is kept as compact JSON text; printed again through cJSON so the record
 * stays well-formed whatever the text held.  false when it is not JSON. */
static bool rj_put_metadata(struct json_out *w, const char *m)
{
	cJSON *meta = cJSON_Parse(m == NULL ? "{}" : m);

	if (meta == NULL)
		return false;
	json_out_key(w, "metadata");
	json_cjson_item(w, meta);
	cJSON_Delete(meta);
	return true;
}

static bool rj_put_session(struct json_out *w, const struct rec_session *s)
{
	rj_put_id(w, "session_id", s->id);
	json_out_kv_string(w, "user", s->user);
	json_out_kv_int64(w, "uid", s->uid);
	json_out_kv_string(w, "service", s->service);
	json_out_kv_string(w, "tty", s->tty);
	json_out_kv_string(w, "rhost", s->rhost);
	json_out_kv_int64(w, "pid", s->pid);
	json_cjson_kint_or_null(w, "audit", s->audit, REC_U32_NONE);
	json_cjson_kint_or_null(w, "leader_start", s->leader_start, 0);
	json_out_key(w, "boot_id");
	if (s->boot_id[0] != '\0')
		json_out_string(w, s->boot_id);
	else
		json_out_null(w);
	json_out_kv_int64(w, "created", s->created);
	json_cjson_kint_or_null(w, "expires", s->expires, REC_NOT_AFTER_NONE);
	if (!rj_put_metadata(w, s->metadata))
		return false;
	json_out_kv_string(w, "origin", s->origin);
	rj_put_version(w, s->version);
	return true;
}

static void rj_put_tomb(struct json_out *w, const struct record *r)
{
	const struct rec_tomb *t = &r->u.tomb;

	rj_put_id(w, r->type == REC_REVOKE ? "grant_id" : "session_id", t->id);
	json_out_kv_string(w, "origin", t->origin);
	rj_put_version(w, t->version);
	json_cjson_kint_or_null(w, "keep_until", t->keep_until, REC_NOT_AFTER_NONE);
}

/* The object, with "type" when typed; false when out of memory or metadata is not JSON. */
static bool rj_put(struct json_out *w, const struct record *r, bool typed)
{
	bool ok = true;

	json_out_begin_object(w);
	if (typed)
		json_out_kv_string(w, "type", record_type_name(r->type));
	if (r->type == REC_GRANT)
		rj_put_grant(w, &r->u.grant);
	else if (r->type == REC_SESSION)
		ok = rj_put_session(w, &r->u.session);
	else
		rj_put_tomb(w, r);
	json_out_end_object(w);
	return ok && w->code == PSM_OK;
}

int record_write(struct json_out *w, const struct record *r, struct psm_err *err)
{
	if (rj_put(w, r, true))
		return PSM_OK;
	if (w->code != PSM_OK)
		return psm_err_set(err, w->code, "record: %s", w->err.msg);
	return psm_err_set(err, PSM_EINVAL, "metadata: not a JSON object");
}

/* The record's text parsed back into a cJSON object. */
static cJSON *rj_tree(const struct record *r, bool typed)
{
	struct json_out w;
	cJSON *o = NULL;

	json_out_init_flags(&w, NULL, 0, JSON_OUT_CJSON);
	if (rj_put(&w, r, typed))
		o = cJSON_ParseWithLength(w.buf, w.len);
	json_out_free(&w);
	return o;
}

cJSON *record_grant_to_json(const struct rec_grant *g)
{
	struct record r = {.type = REC_GRANT, .u.grant = *g}; /* borrows g's strings */

	return rj_tree(&r, false);
}

cJSON *record_session_to_json(const struct rec_session *s)
{
	struct record r = {.type = REC_SESSION, .u.session = *s};

	return rj_tree(&r, false);
}

cJSON *record_to_json(const struct record *r)
{
	return rj_tree(r, true);
}

char *record_print(const struct record *r)
{
	struct json_out w;

	json_out_init_flags(&w, NULL, 0, JSON_OUT_CJSON);
	if (!rj_put(&w, r, true)) {
		json_out_free(&w);
		return NULL;
	}
	return json_cjson_take(&w, NULL);
}

/* ---- from JSON --------------------------------------------------------------------- */

/* Copies at most 64 bytes of s for a message, '?' for control characters. */
static const char *rj_quote(const char *s, char *buf, size_t n)
{
	size_t i;

	for (i = 0; s[i] != '\0' && i < 64 && i + 1 < n; i++)
		buf[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
	buf[i] = '\0';
	return buf;
}

/* Every member of obj is one of keys[] (or extra), with no key twice. */
static int rj_check_keys(const cJSON *obj, const char *const *keys, const char *extra,
			 struct psm_err *err)
{
	const cJSON *m, *p;
	char q[72];
	size_t i;

	if (!cJSON_IsObject(obj))
		return psm_err_set(err, PSM_EINVAL, "record: not a JSON object");
	for (m = obj->child; m != NULL; m = m->next) {
		bool known = extra != NULL && strcmp(m->string, extra) == 0;

		for (i = 0; !known && keys[i] != NULL; i++)
			known = strcmp(m->string, keys[i]) == 0;
		if (!known)
			return psm_err_set(err, PSM_EINVAL, "unknown key \"%s\"",
					   rj_quote(m->string, q, sizeof(q)));
		for (p = obj->child; p != m; p = p->next)
			if (strcmp(p->string, m->string) == 0)
				return psm_err_set(err, PSM_EINVAL, "%s: duplicate key",
						   rj_quote(m->string, q, sizeof(q)));
	}
	return PSM_OK;
}

/* The member key, or NULL (absent); a required absent member is an error. */
static int rj_get(const cJSON *obj, const char *key, bool required, const cJSON **out,
		  struct psm_err *err)
{
	*out = cJSON_GetObjectItemCaseSensitive(obj, key);
	if (*out == NULL && required)
		return psm_err_set(err, PSM_EINVAL, "%s: missing", key);
	return PSM_OK;
}

/* String member, copied; absent or null (when nullable) leaves *out NULL. */
static int rj_str(const cJSON *obj, const char *key, bool required, bool nullable, char **out,
		  struct psm_err *err)
{
	const cJSON *m;

	if (rj_get(obj, key, required, &m, err))
		return PSM_EINVAL;
	if (m == NULL || (nullable && cJSON_IsNull(m)))
		return PSM_OK;
	if (!cJSON_IsString(m))
		return psm_err_set(err, PSM_EINVAL, "%s: expected a string", key);
	*out = strdup(m->valuestring);
	if (*out == NULL)
		return psm_err_set(err, PSM_ENOMEM, "%s: out of memory", key);
	return PSM_OK;
}

/* Integer member in min..max; null (when nullable) gives none. */
static int rj_int(const cJSON *obj, const char *key, bool required, bool nullable, int64_t none,
		  int64_t max, int64_t *out, struct psm_err *err)
{
	const cJSON *m;
	double d;

	if (rj_get(obj, key, required, &m, err))
		return PSM_EINVAL;
	if (m == NULL)
		return PSM_OK;
	if (nullable && cJSON_IsNull(m)) {
		*out = none;
		return PSM_OK;
	}
	if (!cJSON_IsNumber(m))
		return psm_err_set(err, PSM_EINVAL, "%s: expected an integer%s", key,
				   nullable ? " or null" : "");
	d = m->valuedouble;
	if (!(d >= 0 && d <= (double)max) || d != (double)(int64_t)d)
		return psm_err_set(err, PSM_EINVAL, "%s: expected an integer from 0 to %" PRId64,
				   key, max);
	*out = (int64_t)d;
	return PSM_OK;
}

static int rj_u32(const cJSON *obj, const char *key, bool required, bool nullable, uint32_t *out,
		  struct psm_err *err)
{
	int64_t v = *out;

	if (rj_int(obj, key, required, nullable, REC_U32_NONE, UINT32_MAX - 1, &v, err))
		return PSM_EINVAL;
	*out = (uint32_t)v;
	return PSM_OK;
}

static int rj_id(const cJSON *obj, const char *key, bool nullable, uint8_t id[ID_BYTES],
		 bool *present, struct psm_err *err)
{
	const cJSON *m;

	if (rj_get(obj, key, !nullable, &m, err))
		return PSM_EINVAL;
	*present = m != NULL && !(nullable && cJSON_IsNull(m));
	if (!*present)
		return PSM_OK;
	if (!cJSON_IsString(m))
		return psm_err_set(err, PSM_EINVAL, "%s: expected a string", key);
	if (id_parse(m->valuestring, id, err))
		return psm_err_prefix(err, "%s", key);
	return PSM_OK;
}

static int rj_version(const cJSON *obj, uint64_t *out, struct psm_err *err)
{
	const cJSON *m;
	const char *s;
	char *end;

	if (rj_get(obj, "version", true, &m, err))
		return PSM_EINVAL;
	if (cJSON_IsNumber(m) && m->valuedouble >= 1 && m->valuedouble <= 9007199254740992.0 &&
	    m->valuedouble == (double)(uint64_t)m->valuedouble) {
		*out = (uint64_t)m->valuedouble;
		return PSM_OK;
	}
	s = cJSON_IsString(m) ? m->valuestring : "";
	if (s[0] >= '1' && s[0] <= '9' && strlen(s) <= 20) {
		errno = 0;
		*out = strtoull(s, &end, 10);
		if (*end == '\0' && errno == 0)
			return PSM_OK;
	}
	return psm_err_set(err, PSM_EINVAL, "version: expected a decimal string from 1 to %" PRIu64,
			   UINT64_MAX);
}

static int rj_list(const cJSON *obj, const char *key, char ***out, size_t *n, struct psm_err *err)
{
	const cJSON *m, *it;
	int count;

	if (rj_get(obj, key, false, &m, err) || m == NULL)
		return PSM_OK;
	if (!cJSON_IsArray(m))
		return psm_err_set(err, PSM_EINVAL, "%s: expected an array of strings", key);
	count = cJSON_GetArraySize(m);
	if (count > REC_LIST_MAX)
		return psm_err_set(err, PSM_EINVAL, "%s: more than %d items", key, REC_LIST_MAX);
	if (count == 0)
		return PSM_OK;
	*out = calloc((size_t)count, sizeof(**out));
	if (*out == NULL)
		return psm_err_set(err, PSM_ENOMEM, "%s: out of memory", key);
	cJSON_ArrayForEach(it, m)
	{
		if (!cJSON_IsString(it))
			return psm_err_set(err, PSM_EINVAL, "%s: item %zu is not a string", key,
					   *n + 1);
		(*out)[*n] = strdup(it->valuestring);
		if ((*out)[(*n)++] == NULL)
			return psm_err_set(err, PSM_ENOMEM, "%s: out of memory", key);
	}
	return PSM_OK;
}

static const char *const rj_grant_keys[] = {
    "grant_id", "principal", "pattern", "not_before", "not_after", "from",    "hosts", "session",
    "reason",	"issuer",    "source",	"origin",     "version",   "created", NULL,
};

static int rj_source(const cJSON *obj, int *out, struct psm_err *err)
{
	char *s = NULL;
	int rc = rj_str(obj, "source", true, false, &s, err);

	if (rc == PSM_OK) {
		*out = rec_name_index(rec_source_names, REC_SRC_POLICY, REC_SRC_FLEET, s);
		if (*out == 0)
			rc = psm_err_set(err, PSM_EINVAL, "source: must be policy, admin or fleet");
	}
	free(s);
	return rc;
}

static int rj_parse_grant(const cJSON *o, struct rec_grant *g, struct psm_err *err)
{
	bool present;

	if (rj_id(o, "grant_id", false, g->id, &present, err) ||
	    rj_str(o, "principal", true, false, &g->principal, err) ||
	    rj_str(o, "pattern", true, false, &g->pattern, err) ||
	    rj_int(o, "not_before", false, true, REC_NOT_BEFORE_NONE, REC_TIME_MAX, &g->not_before,
		   err) ||
	    rj_int(o, "not_after", false, true, REC_NOT_AFTER_NONE, REC_TIME_MAX, &g->not_after,
		   err) ||
	    rj_list(o, "from", &g->from, &g->nfrom, err) ||
	    rj_list(o, "hosts", &g->hosts, &g->nhosts, err) ||
	    rj_id(o, "session", true, g->session, &g->has_session, err) ||
	    rj_str(o, "reason", false, false, &g->reason, err) ||
	    rj_str(o, "issuer", true, false, &g->issuer, err) || rj_source(o, &g->source, err) ||
	    rj_str(o, "origin", true, false, &g->origin, err) || rj_version(o, &g->version, err) ||
	    rj_int(o, "created", true, false, 0, REC_TIME_MAX, &g->created, err))
		return PSM_EINVAL;
	if (g->reason == NULL && (g->reason = strdup("")) == NULL)
		return psm_err_set(err, PSM_ENOMEM, "reason: out of memory");
	return PSM_OK;
}

static const char *const rj_session_keys[] = {
    "session_id",   "user",    "uid",	  "service", "tty",	 "rhost",  "pid",     "audit",
    "leader_start", "boot_id", "created", "expires", "metadata", "origin", "version", NULL,
};

static int rj_metadata(const cJSON *o, char **out, struct psm_err *err)
{
	const cJSON *m;

	if (rj_get(o, "metadata", false, &m, err))
		return PSM_EINVAL;
	if (m != NULL && !cJSON_IsNull(m) && !cJSON_IsObject(m))
		return psm_err_set(err, PSM_EINVAL, "metadata: expected an object");
	*out = m == NULL || cJSON_IsNull(m) ? strdup("{}") : cJSON_PrintUnformatted(m);
	if (*out == NULL)
		return psm_err_set(err, PSM_ENOMEM, "metadata: out of memory");
	return PSM_OK;
}

static int rj_opt_text(const cJSON *o, const char *key, char **out, struct psm_err *err)
{
	if (rj_str(o, key, false, true, out, err))
		return PSM_EINVAL;
	if (*out == NULL && (*out = strdup("")) == NULL)
		return psm_err_set(err, PSM_ENOMEM, "%s: out of memory", key);
	return PSM_OK;
}

/* "boot_id": 36 characters of UUID text, or null / absent (unknown). */
static int rj_boot_id(const cJSON *o, char out[REC_BOOT_ID_SIZE], struct psm_err *err)
{
	char *s = NULL;
	int rc = rj_str(o, "boot_id", false, true, &s, err);

	if (rc == PSM_OK && s != NULL && strlen(s) != REC_BOOT_ID_SIZE - 1)
		rc = psm_err_set(err, PSM_EINVAL, "boot_id: expected %d characters",
				 REC_BOOT_ID_SIZE - 1);
	if (rc == PSM_OK && s != NULL && strspn(s, "0123456789abcdef-") != strlen(s))
		rc = psm_err_set(err, PSM_EINVAL, "boot_id: expected a UUID in lower case");
	if (rc == PSM_OK && s != NULL)
		memcpy(out, s, REC_BOOT_ID_SIZE);
	free(s);
	return rc;
}

static int rj_parse_session(const cJSON *o, struct rec_session *s, struct psm_err *err)
{
	bool present;

	return rj_id(o, "session_id", false, s->id, &present, err) ||
	       rj_str(o, "user", true, false, &s->user, err) ||
	       rj_u32(o, "uid", true, false, &s->uid, err) ||
	       rj_str(o, "service", true, false, &s->service, err) ||
	       rj_opt_text(o, "tty", &s->tty, err) || rj_opt_text(o, "rhost", &s->rhost, err) ||
	       rj_u32(o, "pid", true, false, &s->pid, err) ||
	       rj_u32(o, "audit", false, true, &s->audit, err) ||
	       rj_int(o, "leader_start", false, true, 0, REC_START_MAX, &s->leader_start, err) ||
	       rj_boot_id(o, s->boot_id, err) ||
	       rj_int(o, "created", true, false, 0, REC_TIME_MAX, &s->created, err) ||
	       rj_int(o, "expires", false, true, REC_NOT_AFTER_NONE, REC_TIME_MAX, &s->expires,
		      err) ||
	       rj_metadata(o, &s->metadata, err) ||
	       rj_str(o, "origin", true, false, &s->origin, err) || rj_version(o, &s->version, err);
}

static int rj_parse_tomb(const cJSON *o, int type, struct rec_tomb *t, struct psm_err *err)
{
	static const char *const grant_keys[] = {"grant_id", "origin", "version", "keep_until",
						 NULL};
	static const char *const session_keys[] = {"session_id", "origin", "version", "keep_until",
						   NULL};
	const char *idkey = type == REC_REVOKE ? "grant_id" : "session_id";
	bool present;

	return rj_check_keys(o, type == REC_REVOKE ? grant_keys : session_keys, "type", err) ||
	       rj_id(o, idkey, false, t->id, &present, err) ||
	       rj_str(o, "origin", true, false, &t->origin, err) ||
	       rj_version(o, &t->version, err) ||
	       rj_int(o, "keep_until", false, true, REC_NOT_AFTER_NONE, REC_TIME_MAX,
		      &t->keep_until, err);
}

/* Parses the body of a record of type into r, then validates it. */
static int rj_parse_body(const cJSON *obj, int type, const char *extra, struct record *r,
			 struct psm_err *err)
{
	int rc;

	record_init(r, type);
	if (type == REC_GRANT)
		rc = rj_check_keys(obj, rj_grant_keys, extra, err) ||
		     rj_parse_grant(obj, &r->u.grant, err);
	else if (type == REC_SESSION)
		rc = rj_check_keys(obj, rj_session_keys, extra, err) ||
		     rj_parse_session(obj, &r->u.session, err);
	else
		rc = rj_parse_tomb(obj, type, &r->u.tomb, err);
	if (rc == PSM_OK)
		rc = record_validate(r, err);
	if (rc != PSM_OK) {
		rc = err != NULL && err->code != PSM_OK ? err->code : PSM_EINVAL;
		record_free(r);
	}
	return rc;
}

int record_from_json(const cJSON *obj, struct record *r, struct psm_err *err)
{
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(obj, "type");
	char q[72];
	int type;

	record_init(r, 0);
	if (!cJSON_IsObject(obj))
		return psm_err_set(err, PSM_EINVAL, "record: not a JSON object");
	if (t == NULL)
		return psm_err_set(err, PSM_EINVAL, "type: missing");
	if (!cJSON_IsString(t))
		return psm_err_set(err, PSM_EINVAL, "type: expected a string");
	type = rec_name_index(rec_type_names, REC_GRANT, REC_SESSION_END, t->valuestring);
	if (type == 0)
		return psm_err_set(err, PSM_EINVAL, "type: unknown record type \"%s\"",
				   rj_quote(t->valuestring, q, 33));
	return rj_parse_body(obj, type, "type", r, err);
}

int record_grant_from_json(const cJSON *obj, struct record *r, struct psm_err *err)
{
	return rj_parse_body(obj, REC_GRANT, NULL, r, err);
}

int record_session_from_json(const cJSON *obj, struct record *r, struct psm_err *err)
{
	return rj_parse_body(obj, REC_SESSION, NULL, r, err);
}

int record_parse(const char *text, size_t len, struct record *r, struct psm_err *err)
{
	cJSON *o = cJSON_ParseWithLength(text, len);
	int rc;

	if (o == NULL) {
		record_init(r, 0);
		return psm_err_set(err, PSM_EINVAL, "record: not valid JSON");
	}
	rc = record_from_json(o, r, err);
	cJSON_Delete(o);
	return rc;
}
