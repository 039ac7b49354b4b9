/* SPDX-License-Identifier: MIT */
/* proto_reply.c - reply lines of the admin protocol: error codes, exit codes, build and parse. */
#include "proto.h"

#include <stdlib.h>
#include <string.h>

/* The one place error codes get their wire names, psmctl exit codes and psm_err codes. */
static const struct {
	const char *name;
	int exit_code;
	int psm_code;
} proto_codes[PROTO_E_COUNT] = {
	[PROTO_E_INVALID_ARGUMENT] = { "invalid_argument", 2, PSM_EINVAL },
	[PROTO_E_UNKNOWN_OP] = { "unknown_op", 2, PSM_EINVAL },
	[PROTO_E_TOO_LARGE] = { "too_large", 2, PSM_EINVAL },
	[PROTO_E_NOT_PERMITTED] = { "not_permitted", 4, PSM_EPERM },
	[PROTO_E_NOT_FOUND] = { "not_found", 2, PSM_ENOENT },
	[PROTO_E_UNAVAILABLE] = { "unavailable", 3, PSM_EUNAVAIL },
	[PROTO_E_TABLE_FULL] = { "table_full", 3, PSM_EFULL },
	[PROTO_E_INTERNAL] = { "internal", 3, PSM_ESYS },
};

const char proto_reply_oom[] =
	"{\"ok\":false,\"error\":{\"code\":\"internal\",\"message\":\"out of memory\"}}\n";

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
	char *s = cJSON_PrintUnformatted(obj), *line;
	size_t n;

	if (s == NULL)
		return NULL;
	n = strlen(s);
	line = realloc(s, n + 2);
	if (line == NULL) {
		free(s);
		return NULL;
	}
	line[n] = '\n';
	line[n + 1] = '\0';
	if (len != NULL)
		*len = n + 1;
	return line;
}

/* {"ok":ok,"tag":tag} to which the caller adds its members. */
static cJSON *reply_head(bool ok, const char *tag)
{
	cJSON *o = cJSON_CreateObject();

	if (o == NULL || cJSON_AddBoolToObject(o, "ok", ok) == NULL ||
	    (tag != NULL && cJSON_AddStringToObject(o, "tag", tag) == NULL)) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

static char *reply_finish(cJSON *o, size_t *len)
{
	char *line = o != NULL ? proto_print_line(o, len) : NULL;

	cJSON_Delete(o);
	return line;
}

char *proto_reply_ok(cJSON *fields, const char *tag, size_t *len)
{
	cJSON *o = reply_head(true, tag), *m;

	while (o != NULL && fields != NULL && (m = fields->child) != NULL) {
		cJSON_DetachItemViaPointer(fields, m);
		cJSON_AddItemToObject(o, m->string, m);
	}
	cJSON_Delete(fields);
	return reply_finish(o, len);
}

char *proto_reply_error(int ecode, const char *message, const char *tag, size_t *len)
{
	cJSON *o = reply_head(false, tag), *e = cJSON_CreateObject();

	if (o == NULL || e == NULL || !cJSON_AddItemToObject(o, "error", e)) {
		cJSON_Delete(e);
		cJSON_Delete(o);
		return NULL;
	}
	if (cJSON_AddStringToObject(e, "code", proto_code_name(ecode)) == NULL ||
	    cJSON_AddStringToObject(e, "message", message != NULL ? message : "") == NULL) {
		cJSON_Delete(o);
		return NULL;
	}
	return reply_finish(o, len);
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

int proto_reply_parse(const char *line, size_t len, struct proto_reply *r,
		      struct psm_err *err)
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
