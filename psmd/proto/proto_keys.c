/* SPDX-License-Identifier: MIT */
/* proto_keys.c - the request keys of the admin protocol as data: type, limits, value checks. */
#include "proto_keys.h"

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cond.h"
#include "json_out.h"
#include "psm_str.h"
#include "perm.h"
#include "ttl.h"

enum proto_type { PT_STR, PT_INT, PT_BOOL, PT_STRS, PT_OBJ, PT_OBJS };

struct proto_key {
	const char *name;
	enum proto_type type;
	int64_t min, max; /* STR: bytes; INT: value; STRS, OBJS: items; OBJ: serialized bytes */
	int64_t item_max; /* STRS: bytes of one item */
	size_t off;	  /* where the value goes in struct proto_args */
	int (*check)(const cJSON *v, struct proto_args *a, struct psm_err *err);
};

static int key_principal(const cJSON *v, struct proto_args *a, struct psm_err *err);
static int key_user(const cJSON *v, struct proto_args *a, struct psm_err *err);
static int key_pattern(const cJSON *v, struct proto_args *a, struct psm_err *err);
static int key_ttl(const cJSON *v, struct proto_args *a, struct psm_err *err);
static int key_until(const cJSON *v, struct proto_args *a, struct psm_err *err);
static int key_from(const cJSON *v, struct proto_args *a, struct psm_err *err);
static int key_hosts(const cJSON *v, struct proto_args *a, struct psm_err *err);
static int key_id(const cJSON *v, struct proto_args *a, struct psm_err *err);
static int key_perms(const cJSON *v, struct proto_args *a, struct psm_err *err);
static int key_mode(const cJSON *v, struct proto_args *a, struct psm_err *err);
static int key_decision(const cJSON *v, struct proto_args *a, struct psm_err *err);
static int key_at(const cJSON *v, struct proto_args *a, struct psm_err *err);
static int key_since(const cJSON *v, struct proto_args *a, struct psm_err *err);
static int key_till(const cJSON *v, struct proto_args *a, struct psm_err *err);

#define OFF(m) offsetof(struct proto_args, m)

static const struct proto_key proto_keys[PK_COUNT] = {
    [PK_PRINCIPAL] = {"user", PT_STR, 1, PROTO_NAME_MAX, 0, OFF(user), key_principal},
    [PK_USER] = {"user", PT_STR, 1, PROTO_NAME_MAX, 0, OFF(user), key_user},
    [PK_PERM] = {"perm", PT_STR, 1, 1024, 0, OFF(perm), key_pattern},
    [PK_TTL] = {"ttl", PT_STR, 1, 64, 0, OFF(ttl_text), key_ttl},
    [PK_UNTIL] = {"until", PT_STR, 1, 64, 0, OFF(until_text), key_until},
    [PK_FROM] = {"from", PT_STRS, 1, 64, 255, OFF(from), key_from},
    [PK_HOSTS] = {"hosts", PT_STRS, 1, 64, 63, OFF(hosts), key_hosts},
    [PK_SESSION] = {"session", PT_STR, 1, 64, 0, OFF(session), key_id},
    [PK_REASON] = {"reason", PT_STR, 0, PROTO_REASON_MAX, 0, OFF(reason), NULL},
    [PK_GRANT_ID] = {"grant_id", PT_STR, 1, 64, 0, OFF(grant_id), key_id},
    [PK_PERMS] = {"perms", PT_STRS, 1, PROTO_PERMS_MAX, 1024, OFF(perms), key_perms},
    [PK_MODE] = {"mode", PT_STR, 1, 8, 0, OFF(mode), key_mode},
    [PK_DECISION] = {"decision", PT_STR, 1, 8, 0, OFF(decision), key_decision},
    [PK_SERVICE] = {"service", PT_STR, 1, 255, 0, OFF(service), NULL},
    [PK_RHOST] = {"rhost", PT_STR, 0, 1024, 0, OFF(rhost), NULL},
    [PK_EXPLAIN] = {"explain", PT_BOOL, 0, 0, 0, OFF(explain), NULL},
    [PK_SESSION_ID] = {"session_id", PT_STR, 1, 64, 0, OFF(session_id), key_id},
    [PK_TTY] = {"tty", PT_STR, 0, 255, 0, OFF(tty), NULL},
    [PK_PID] = {"pid", PT_INT, 1, INT32_MAX, 0, OFF(pid), NULL},
    [PK_AUDIT] = {"audit", PT_INT, 0, UINT32_MAX, 0, OFF(audit), NULL},
    [PK_METADATA] = {"metadata", PT_OBJ, 0, PROTO_METADATA_MAX, 0, OFF(metadata), NULL},
    [PK_GRANTS] = {"grants", PT_OBJS, 0, 100000, 0, OFF(grants), NULL},
    [PK_SESSIONS] = {"sessions", PT_OBJS, 0, 100000, 0, OFF(sessions), NULL},
    [PK_DRY_RUN] = {"dry_run", PT_BOOL, 0, 0, 0, OFF(dry_run), NULL},
    [PK_STRICT] = {"strict", PT_BOOL, 0, 0, 0, OFF(strict), NULL},
    [PK_FLEET] = {"fleet", PT_BOOL, 0, 0, 0, OFF(fleet), NULL},
    [PK_AT] = {"at", PT_STR, 1, 64, 0, OFF(at_text), key_at},
    [PK_SINCE] = {"since", PT_STR, 1, 64, 0, OFF(since_text), key_since},
    [PK_TILL] = {"until", PT_STR, 1, 64, 0, OFF(till_text), key_till},
};

const char *proto_key_name(enum proto_key_id k)
{
	return (unsigned)k < PK_COUNT ? proto_keys[k].name : "?";
}

int proto_key_find(const char *name, uint64_t allowed)
{
	int k;

	for (k = 0; k < PK_COUNT; k++)
		if ((allowed & PROTO_BIT(k)) && strcmp(proto_keys[k].name, name) == 0)
			return k;
	return -1;
}

/* Prefixes err with "key: " unless the message already starts with the key's name. */
static int key_fail(const char *key, struct psm_err *err)
{
	size_t n = strlen(key);

	if (err == NULL)
		return PSM_EINVAL;
	err->code = PSM_EINVAL;
	if (strncmp(err->msg, key, n) == 0 && (err->msg[n] == ' ' || err->msg[n] == ':'))
		return PSM_EINVAL;
	return psm_err_prefix(err, "%s", key);
}

static int key_string(const struct proto_key *k, const cJSON *v, struct psm_err *err)
{
	size_t n;

	if (!cJSON_IsString(v) || v->valuestring == NULL)
		return psm_err_set(err, PSM_EINVAL, "%s: expected a string", k->name);
	n = strlen(v->valuestring);
	if ((int64_t)n < k->min)
		return psm_err_set(err, PSM_EINVAL, "%s: empty", k->name);
	if ((int64_t)n > k->max)
		return psm_err_set(err, PSM_EINVAL, "%s: longer than %lld bytes", k->name,
				   (long long)k->max);
	return PSM_OK; /* the characters: text_check_json() on the whole request */
}

static int key_int(const struct proto_key *k, const cJSON *v, int64_t *out, struct psm_err *err)
{
	double d;

	if (!cJSON_IsNumber(v) || floor(v->valuedouble) != v->valuedouble)
		return psm_err_set(err, PSM_EINVAL, "%s: expected an integer", k->name);
	d = v->valuedouble;
	if (d < (double)k->min || d > (double)k->max)
		return psm_err_set(err, PSM_EINVAL, "%s: out of range %lld..%lld", k->name,
				   (long long)k->min, (long long)k->max);
	*out = (int64_t)d;
	return PSM_OK;
}

static int key_items(const struct proto_key *k, const cJSON *v, struct psm_err *err)
{
	const cJSON *it;
	int n = cJSON_GetArraySize(v);
	bool strs = k->type == PT_STRS;

	if (n < k->min || n > k->max)
		return psm_err_set(err, PSM_EINVAL, "%s: %lld to %lld items", k->name,
				   (long long)k->min, (long long)k->max);
	cJSON_ArrayForEach(it, v)
	{
		if (strs ? !cJSON_IsString(it) : !cJSON_IsObject(it))
			return psm_err_set(err, PSM_EINVAL, "%s: expected an array of %s", k->name,
					   strs ? "strings" : "objects");
		if (strs && (strlen(it->valuestring) == 0 ||
			     (int64_t)strlen(it->valuestring) > k->item_max))
			return psm_err_set(err, PSM_EINVAL, "%s: items are 1 to %lld bytes",
					   k->name, (long long)k->item_max);
	}
	return PSM_OK;
}

static int key_object(const struct proto_key *k, const cJSON *v, struct psm_err *err)
{
	char *s;
	size_t n;

	if (!cJSON_IsObject(v))
		return psm_err_set(err, PSM_EINVAL, "%s: expected an object", k->name);
	s = cJSON_PrintUnformatted(v);
	if (s == NULL)
		return psm_err_set(err, PSM_ENOMEM, "%s: out of memory", k->name);
	n = strlen(s);
	free(s);
	if ((int64_t)n > k->max)
		return psm_err_set(err, PSM_EINVAL, "%s: larger than %lld bytes serialized",
				   k->name, (long long)k->max);
	return PSM_OK;
}

/* Type and limits; stores the raw value. */
static int key_type(const struct proto_key *k, const cJSON *v, struct proto_args *a,
		    struct psm_err *err)
{
	char *slot = (char *)a + k->off;

	switch (k->type) {
	case PT_STR:
		if (key_string(k, v, err) != PSM_OK)
			return PSM_EINVAL;
		*(const char **)(void *)slot = v->valuestring;
		return PSM_OK;
	case PT_INT:
		return key_int(k, v, (int64_t *)(void *)slot, err);
	case PT_BOOL:
		if (!cJSON_IsBool(v))
			return psm_err_set(err, PSM_EINVAL, "%s: expected true or false", k->name);
		*(bool *)(void *)slot = cJSON_IsTrue(v);
		return PSM_OK;
	case PT_OBJ:
		if (key_object(k, v, err) != PSM_OK)
			return err ? err->code : PSM_EINVAL;
		break;
	case PT_STRS:
	case PT_OBJS:
		if (!cJSON_IsArray(v))
			return psm_err_set(err, PSM_EINVAL, "%s: expected an array of %s", k->name,
					   k->type == PT_STRS ? "strings" : "objects");
		if (key_items(k, v, err) != PSM_OK)
			return PSM_EINVAL;
		break;
	}
	*(const cJSON **)(void *)slot = v;
	return PSM_OK;
}

int proto_key_apply(enum proto_key_id id, const cJSON *v, struct proto_args *a, struct psm_err *err)
{
	const struct proto_key *k;
	int rc;

	if ((unsigned)id >= PK_COUNT)
		return psm_err_set(err, PSM_EINVAL, "unknown key");
	k = &proto_keys[id];
	rc = key_type(k, v, a, err);
	if (rc != PSM_OK || k->check == NULL)
		return rc;
	return k->check(v, a, err) == PSM_OK ? PSM_OK : key_fail(k->name, err);
}

/* A login name: what useradd and NSS accept, minus what would confuse listings. */
static int key_name(const char *s, struct psm_err *err)
{
	size_t i;

	if (s[0] == '\0')
		return psm_err_set(err, PSM_EINVAL, "empty name");
	if (s[0] == '-')
		return psm_err_set(err, PSM_EINVAL, "\"%.64s\": must not start with '-'", s);
	for (i = 0; s[i] != '\0'; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c <= 0x20 || c == 0x7f || c == ':' || c == ',' || c == '/' || c == '%')
			return psm_err_set(err, PSM_EINVAL, "\"%.64s\": bad character at %zu", s,
					   i + 1);
	}
	return PSM_OK;
}

static int key_user(const cJSON *v, struct proto_args *a, struct psm_err *err)
{
	(void)a;
	return key_name(v->valuestring, err);
}

static int key_principal(const cJSON *v, struct proto_args *a, struct psm_err *err)
{
	(void)a;
	return key_name(v->valuestring + (v->valuestring[0] == '%'), err);
}

static int key_pattern(const cJSON *v, struct proto_args *a, struct psm_err *err)
{
	(void)a;
	return pattern_validate(v->valuestring, strlen(v->valuestring), err);
}

static int key_ttl(const cJSON *v, struct proto_args *a, struct psm_err *err)
{
	return ttl_parse(v->valuestring, &a->ttl, err);
}

static int key_until(const cJSON *v, struct proto_args *a, struct psm_err *err)
{
	return time_parse_utc(v->valuestring, &a->until, err);
}

/* A moment of the past: ISO 8601 UTC, or a duration ("2h", ttl.h) meaning that long ago. */
static int key_when(const char *s, int64_t *t, struct psm_err *err)
{
	int64_t ago;

	if (s[0] >= '0' && s[0] <= '9' && strchr(s, '-') == NULL &&
	    ttl_parse(s, &ago, NULL) == PSM_OK) {
		*t = time_now_utc() - ago;
		return PSM_OK;
	}
	if (time_parse_utc(s, t, NULL) == PSM_OK)
		return PSM_OK;
	return psm_err_set(err, PSM_EINVAL,
			   "\"%.64s\": not a time (ISO 8601 UTC, e.g. 2026-12-07T05:00:00Z, or a "
			   "duration ago, e.g. 2h)",
			   s);
}

static int key_at(const cJSON *v, struct proto_args *a, struct psm_err *err)
{
	return key_when(v->valuestring, &a->at, err);
}

static int key_since(const cJSON *v, struct proto_args *a, struct psm_err *err)
{
	return key_when(v->valuestring, &a->since, err);
}

static int key_till(const cJSON *v, struct proto_args *a, struct psm_err *err)
{
	return key_when(v->valuestring, &a->till, err);
}

static int key_from(const cJSON *v, struct proto_args *a, struct psm_err *err)
{
	unsigned char enc[COND_ENC_MAX];
	size_t len = 0;
	const cJSON *it;

	(void)a;
	cJSON_ArrayForEach(it, v) if (cond_compile(it->valuestring, enc, sizeof(enc), &len, err) !=
				      PSM_OK) return PSM_EINVAL;
	return PSM_OK;
}

/* A host name or label ([A-Za-z0-9._-]), or "*" for every host. */
static int key_hosts(const cJSON *v, struct proto_args *a, struct psm_err *err)
{
	const cJSON *it;
	const char *s;

	(void)a;
	cJSON_ArrayForEach(it, v)
	{
		s = it->valuestring;
		if (strcmp(s, "*") == 0)
			continue;
		if (s[strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
				"0123456789._-")] != '\0')
			return psm_err_set(err, PSM_EINVAL, "\"%.64s\": not a host name or label",
					   s);
	}
	return PSM_OK;
}

/* The code point of the valid UTF-8 sequence of len bytes at s. */
static unsigned key_code_point(const unsigned char *s, size_t len)
{
	unsigned cp = len == 1 ? s[0] : s[0] & (0x7fu >> len);

	for (size_t i = 1; i < len; i++)
		cp = cp << 6 | (s[i] & 0x3fu);
	return cp;
}

/* How many bytes of s (valid UTF-8) make its first whole characters of at most max bytes. */
static size_t key_shown(const unsigned char *s, size_t max)
{
	size_t i = 0, n;

	while (s[i] != '\0' && (n = json_out_utf8_len(s + i, 4)) > 0 && i + n <= max)
		i += n;
	return i;
}

/* Grant and session ids: base32 or hex text; the server looks them up.  Anything else names
 * its first character that is not a letter or digit, and where it is (in characters, from 1;
 * the text passed text_check: valid UTF-8, no control characters). */
static int key_id(const cJSON *v, struct proto_args *a, struct psm_err *err)
{
	const unsigned char *s = (const unsigned char *)v->valuestring;
	size_t i = 0, pos = 1, k, show;

	(void)a;
	while (s[i] != '\0' && psm_is_alnum(s[i])) {
		i++;
		pos++;
	}
	if (s[i] == '\0')
		return PSM_OK;
	k = json_out_utf8_len(s + i, strlen((const char *)s + i));
	k = k > 0 ? k : 1;
	show = key_shown(s, 64);
	if (k == 1)
		return psm_err_set(err, PSM_EINVAL,
				   "\"%.*s\": character %zu, '%c', is not a letter or digit (an "
				   "id is 26 base32 or 32 hex characters)",
				   (int)show, (const char *)s, pos, s[i]);
	return psm_err_set(err, PSM_EINVAL,
			   "\"%.*s\": character %zu, '%.*s' (U+%04X), is not a letter or digit "
			   "(an id is 26 base32 or 32 hex characters)",
			   (int)show, (const char *)s, pos, (int)k, (const char *)s + i,
			   key_code_point(s + i, k));
}

static int key_perms(const cJSON *v, struct proto_args *a, struct psm_err *err)
{
	const cJSON *it;

	(void)a;
	cJSON_ArrayForEach(it, v) if (perm_validate(it->valuestring, strlen(it->valuestring),
						    err) != PSM_OK) return PSM_EINVAL;
	return PSM_OK;
}

static int key_mode(const cJSON *v, struct proto_args *a, struct psm_err *err)
{
	if (strcmp(v->valuestring, "all") != 0 && strcmp(v->valuestring, "any") != 0)
		return psm_err_set(err, PSM_EINVAL, "\"%.8s\": use \"all\" or \"any\"",
				   v->valuestring);
	a->any = strcmp(v->valuestring, "any") == 0;
	return PSM_OK;
}

static int key_decision(const cJSON *v, struct proto_args *a, struct psm_err *err)
{
	(void)a;
	if (strcmp(v->valuestring, "accept") != 0 && strcmp(v->valuestring, "drop") != 0)
		return psm_err_set(err, PSM_EINVAL, "\"%.8s\": use \"accept\" or \"drop\"",
				   v->valuestring);
	return PSM_OK;
}
