/* SPDX-License-Identifier: MIT */
/* proto_present.c - psmd's replies turned into psm's JSON output (psmctl(8) JSON OUTPUT), and back.
 */
#include "proto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ttl.h"

/* Members that hold a time: UTC seconds (or null) on the wire, RFC 3339 + "_unix" out. */
static const char *const present_times[] = {"created", "expires",    "not_before", "not_after",
					    "since",   "keep_until", "until",	   NULL};

/* Durations renamed with their unit. */
static const struct {
	const char *from, *to;
} present_renames[] = {{"uptime", "uptime_s"}};

static bool present_is_time(const char *key)
{
	for (int i = 0; present_times[i] != NULL; i++)
		if (strcmp(key, present_times[i]) == 0)
			return true;
	return false;
}

/* An integral number within the times psm keeps (|v| < 2^53). */
static bool present_int(const cJSON *v, int64_t *out)
{
	if (!cJSON_IsNumber(v) || !(v->valuedouble >= -9e15 && v->valuedouble <= 9e15))
		return false;
	*out = (int64_t)v->valuedouble;
	return (double)*out == v->valuedouble;
}

/* Adds key (string or null) and key_unix (integer or null) to dst for the wire value v. */
static bool present_time(cJSON *dst, const char *key, const cJSON *v)
{
	char text[32], unix_key[64];
	int64_t t;

	snprintf(unix_key, sizeof(unix_key), "%s_unix", key);
	if (!present_int(v, &t))
		return cJSON_AddNullToObject(dst, key) != NULL &&
		       cJSON_AddNullToObject(dst, unix_key) != NULL;
	time_format_utc(t, text, sizeof(text));
	return cJSON_AddStringToObject(dst, key, text) != NULL &&
	       cJSON_AddNumberToObject(dst, unix_key, (double)t) != NULL;
}

static bool present_item(cJSON *item);

/* Whether the time member key of src is in the wire's form (no "key_unix" beside it). */
static bool present_wire_time(const cJSON *src, const char *key)
{
	char unix_key[64];

	snprintf(unix_key, sizeof(unix_key), "%s_unix", key);
	return present_is_time(key) && !cJSON_HasObjectItem(src, unix_key);
}

/* One member m (detached from src) moved into dst in its output form; false when out of
 * memory. */
static bool present_member(const cJSON *src, cJSON *dst, cJSON *m)
{
	char num[32];
	const char *key = m->string;
	size_t i;
	bool ok;

	if ((cJSON_IsNumber(m) || cJSON_IsNull(m)) && present_wire_time(src, key)) {
		ok = present_time(dst, key, m);
		cJSON_Delete(m);
		return ok;
	}
	if (strcmp(key, "version") == 0 && cJSON_IsNumber(m)) { /* versions are strings */
		snprintf(num, sizeof(num), "%.0f", m->valuedouble);
		cJSON_Delete(m);
		return cJSON_AddStringToObject(dst, "version", num) != NULL;
	}
	for (i = 0; i < sizeof(present_renames) / sizeof(present_renames[0]); i++)
		if (strcmp(key, present_renames[i].from) == 0)
			key = present_renames[i].to;
	if (strcmp(key, "metadata") != 0 && !present_item(m)) { /* metadata: the user's own */
		cJSON_Delete(m);
		return false;
	}
	cJSON_AddItemToObject(dst, key, m);
	return true;
}

/* A check result: the structured explanation replaces the text one. */
static void present_explain(cJSON *o)
{
	cJSON *f = cJSON_DetachItemFromObjectCaseSensitive(o, "explain_fields");

	if (f == NULL)
		return;
	cJSON_DeleteItemFromObjectCaseSensitive(o, "explain");
	cJSON_AddItemToObject(o, "explain", f);
}

/* Rebuilds an object's members in their output form, in order; recurses into values. */
static bool present_object(cJSON *o)
{
	cJSON *dst = cJSON_CreateObject(), *m;
	bool ok = dst != NULL;

	while (ok && (m = o->child) != NULL) {
		cJSON_DetachItemViaPointer(o, m);
		ok = present_member(o, dst, m);
	}
	if (!ok) {
		cJSON_Delete(dst);
		return false;
	}
	while ((m = dst->child) != NULL) {
		cJSON_DetachItemViaPointer(dst, m);
		cJSON_AddItemToObject(o, m->string, m);
	}
	cJSON_Delete(dst);
	present_explain(o);
	return true;
}

static bool present_item(cJSON *item)
{
	cJSON *it;

	if (cJSON_IsObject(item))
		return present_object(item);
	cJSON_ArrayForEach(it, item)
	{
		if (!present_item(it))
			return false;
	}
	return true;
}

int proto_present(cJSON *reply, struct psm_err *err)
{
	cJSON_DeleteItemFromObjectCaseSensitive(reply, "tag");
	if (!present_item(reply))
		return psm_err_set(err, PSM_ENOMEM, "out of memory");
	return PSM_OK;
}

/* item's key (a time) from its output form back to the wire's: key_unix's value, after
 * checking that key says the same time. */
static int present_back(cJSON *item, const char *key, struct psm_err *err)
{
	char unix_key[64], text[32];
	cJSON *u, *k = cJSON_GetObjectItemCaseSensitive(item, key);
	int64_t t;

	snprintf(unix_key, sizeof(unix_key), "%s_unix", key);
	u = cJSON_DetachItemFromObjectCaseSensitive(item, unix_key);
	if (u == NULL)
		return PSM_OK; /* the wire's form already (a version 1 export) */
	if (cJSON_IsNull(u) && (k == NULL || cJSON_IsNull(k))) {
		cJSON_Delete(u);
		return k != NULL || cJSON_AddNullToObject(item, key) != NULL
			   ? PSM_OK
			   : psm_err_set(err, PSM_ENOMEM, "out of memory");
	}
	if (!present_int(u, &t) || !cJSON_IsString(k)) {
		cJSON_Delete(u);
		return psm_err_set(err, PSM_EINVAL, "%s: expected a time string, and %s an integer",
				   key, unix_key);
	}
	time_format_utc(t, text, sizeof(text));
	if (strcmp(text, k->valuestring) != 0) {
		cJSON_Delete(u);
		return psm_err_set(err, PSM_EINVAL, "%s: \"%.40s\" and %s %lld disagree", key,
				   k->valuestring, unix_key, (long long)t);
	}
	cJSON_ReplaceItemInObjectCaseSensitive(item, key, u);
	return PSM_OK;
}

int proto_unpresent(cJSON *item, struct psm_err *err)
{
	int rc = PSM_OK;

	if (!cJSON_IsObject(item))
		return PSM_OK;
	for (int i = 0; rc == PSM_OK && present_times[i] != NULL; i++)
		rc = present_back(item, present_times[i], err);
	return rc;
}
