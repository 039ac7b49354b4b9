/* SPDX-License-Identifier: MIT */
/* proto_reply.c - reply lines of the admin protocol: error codes, exit codes, build and parse. */
#include "proto.h"

#include <stdlib.h>
#include <string.h>

#include "json_cjson.h"

/* The one place error codes get their wire names, psmctl exit codes and psm_err codes. */
static const struct {
	const char *name;
	int exit_code;
	int psm_code;
} proto_codes[PROTO_E_COUNT] = {
    [PROTO_E_INVALID_ARGUMENT] = {"invalid_argument", 2, PSM_EINVAL},
    [PROTO_E_UNKNOWN_OP] = {"unknown_op", 2, PSM_EINVAL},
    [PROTO_E_TOO_LARGE] = {"too_large", 2, PSM_EINVAL},
    [PROTO_E_NOT_PERMITTED] = {"not_permitted", 4, PSM_EPERM},
    [PROTO_E_NOT_FOUND] = {"not_found", 2, PSM_ENOENT},
    [PROTO_E_UNAVAILABLE] = {"unavailable", 3, PSM_EUNAVAIL},
    [PROTO_E_TABLE_FULL] = {"table_full", 3, PSM_EFULL},
    [PROTO_E_INTERNAL] = {"internal", 3, PSM_ESYS},
};

const char proto_reply_oom[] =
    "{\"ok\":false,\"error\":{\"code\":\"internal\",\"message\":\"out of memory\"}}\n";

cJSON *proto_policy_json(const struct policy *p)
{
	struct policy_counts pc;
	cJSON *o = cJSON_CreateObject(), *w;
	unsigned i;
	bool ok;

	policy_get_counts(p, &pc);
	ok = o != NULL && cJSON_AddNumberToObject(o, "roles", pc.roles) &&
	     cJSON_AddNumberToObject(o, "bindings", pc.bindings) &&
	     cJSON_AddNumberToObject(o, "denies", pc.denies) &&
	     (w = cJSON_AddArrayToObject(o, "warnings")) != NULL;
	for (i = 0; ok && i < pc.warnings; i++)
		ok = cJSON_AddItemToArray(w, cJSON_CreateString(policy_warning(p, i)));
	if (!ok) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

const char *proto_code_name(int ecode)
{
	if (ecode < 0 || ecode >= PROTO_E_COUNT)
		ecode = PROTO_E_INTERNAL;
	return proto_codes[ecode].name;
}

int proto_code_parse(const char *name)
{
	int i;

	for (i = 0; i < PROTO_E_COUNT; i++)
		if (strcmp(proto_codes[i].name, name) == 0)
			return i;
	return -1;
}

int proto_code_exit(int ecode)
{
	if (ecode < 0 || ecode >= PROTO_E_COUNT)
		ecode = PROTO_E_INTERNAL;
	return proto_codes[ecode].exit_code;
}

int proto_code_from_psm(int psm_code)
{
	switch (psm_code) {
	case PSM_EINVAL:
	case PSM_EEXIST:
		return PROTO_E_INVALID_ARGUMENT;
	case PSM_EPERM:
		return PROTO_E_NOT_PERMITTED;
	case PSM_ENOENT:
		return PROTO_E_NOT_FOUND;
	case PSM_EUNAVAIL:
		return PROTO_E_UNAVAILABLE;
	case PSM_EFULL:
		return PROTO_E_TABLE_FULL;
	default:
		return PROTO_E_INTERNAL;
	}
}

int proto_code_to_psm(int ecode)
{
	if (ecode < 0 || ecode >= PROTO_E_COUNT)
		ecode = PROTO_E_INTERNAL;
	return proto_codes[ecode].psm_code;
}

char *proto_print_line(const cJSON *obj, size_t *len)
{
	struct json_out w;

	json_out_init_flags(&w, NULL, 0, JSON_OUT_CJSON);
	json_cjson_item(&w, obj);
	json_out_raw(&w, "\n", 1);
	return json_cjson_take(&w, len);
}

/* {"ok":ok,"tag":tag then the caller's members; reply_finish closes the line. */
static void reply_head(struct json_out *w, bool ok, const char *tag)
{
	json_out_init_flags(w, NULL, 0, JSON_OUT_CJSON);
	json_out_begin_object(w);
	json_out_key(w, "ok");
	json_out_bool(w, ok);
	if (tag != NULL)
		json_out_kv_string(w, "tag", tag);
}

static char *reply_finish(struct json_out *w, size_t *len)
{
	json_out_end_object(w);
	json_out_raw(w, "\n", 1);
	return json_cjson_take(w, len);
}

char *proto_reply_ok(cJSON *fields, const char *tag, size_t *len)
{
	struct json_out w;
	const cJSON *m;

	reply_head(&w, true, tag);
	for (m = fields != NULL ? fields->child : NULL; m != NULL; m = m->next)
		json_cjson_member(&w, m);
	cJSON_Delete(fields);
	return reply_finish(&w, len);
}

char *proto_reply_error(int ecode, const char *message, const char *tag, size_t *len)
{
	struct json_out w;

	reply_head(&w, false, tag);
	json_out_key(&w, "error");
	json_out_begin_object(&w);
	json_out_kv_string(&w, "code", proto_code_name(ecode));
	json_out_kv_string(&w, "message", message != NULL ? message : "");
	json_out_end_object(&w);
	return reply_finish(&w, len);
}

char *proto_reply_err(const struct psm_err *e, const char *tag, size_t *len)
{
	return proto_reply_error(proto_code_from_psm(e->code), e->msg, tag, len);
}

static int reply_bad(struct proto_reply *r, struct psm_err *err, const char *why)
{
	cJSON_Delete(r->root);
	memset(r, 0, sizeof(*r));
	return psm_err_set(err, PSM_EUNAVAIL, "malformed reply from psmd: %s", why);
}

static int reply_error_member(struct proto_reply *r, struct psm_err *err)
{
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(r->root, "error");
	const cJSON *c = cJSON_GetObjectItemCaseSensitive(e, "code");
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(e, "message");

	if (!cJSON_IsString(c) || !cJSON_IsString(m))
		return reply_bad(r, err, "no error code and message");
	r->ecode = proto_code_parse(c->valuestring);
	if (r->ecode < 0)
		r->ecode = PROTO_E_INTERNAL;
	r->message = m->valuestring;
	return PSM_OK;
}

int proto_reply_parse(const char *line, size_t len, struct proto_reply *r, struct psm_err *err)
{
	const cJSON *ok, *tag;

	memset(r, 0, sizeof(*r));
	r->root = cJSON_ParseWithLength(line, len);
	if (r->root == NULL)
		return reply_bad(r, err, "invalid JSON");
	if (!cJSON_IsObject(r->root))
		return reply_bad(r, err, "not an object");
	ok = cJSON_GetObjectItemCaseSensitive(r->root, "ok");
	if (!cJSON_IsBool(ok))
		return reply_bad(r, err, "no \"ok\"");
	tag = cJSON_GetObjectItemCaseSensitive(r->root, "tag");
	r->tag = cJSON_IsString(tag) ? tag->valuestring : NULL;
	r->ok = cJSON_IsTrue(ok);
	return r->ok ? PSM_OK : reply_error_member(r, err);
}

void proto_reply_free(struct proto_reply *r)
{
	cJSON_Delete(r->root);
	memset(r, 0, sizeof(*r));
}
