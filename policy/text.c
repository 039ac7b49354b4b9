/* SPDX-License-Identifier: MIT */
/* text.c - strings from outside: valid UTF-8 without control characters, and JSON trees of them. */
#include "text.h"

#include <stdio.h>
#include <string.h>

#include "json_out.h"

#define TEXT_FIELD_MAX 128

int text_check(const char *field, const char *s, size_t n, struct psm_err *err)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, k;

	while (i < n) {
		k = json_out_utf8_len(u + i, n - i);
		if (k == 0)
			return psm_err_set(err, PSM_EINVAL, "%s: invalid UTF-8 at byte %zu", field,
					   i + 1);
		if (u[i] < 0x20 || u[i] == 0x7f || (u[i] == 0xc2 && u[i + 1] < 0xa0))
			return psm_err_set(err, PSM_EINVAL,
					   "%s: control character U+%04X at byte %zu", field,
					   u[i] == 0xc2 ? u[i + 1] : u[i], i + 1);
		i += k;
	}
	return PSM_OK;
}

static int text_fail_at(const cJSON *n, const cJSON **bad)
{
	if (bad != NULL)
		*bad = n;
	return PSM_EINVAL;
}

/* The key of member m of an object named field; then its name for what it holds. */
static int text_check_member(const char *field, const cJSON *m, char *name, size_t cap,
			     struct psm_err *err)
{
	const char *sep = field[0] != '\0' ? ": " : "";

	snprintf(name, cap, "%s%skey", field, sep);
	if (text_check(name, m->string, strlen(m->string), err) != PSM_OK)
		return PSM_EINVAL;
	snprintf(name, cap, "%s%s%s", field, field[0] != '\0' ? "." : "", m->string);
	return PSM_OK;
}

int text_check_json(const char *field, const cJSON *v, const cJSON **bad, struct psm_err *err)
{
	char name[TEXT_FIELD_MAX];
	const cJSON *ch;
	size_t i = 0;

	if (cJSON_IsString(v) && v->valuestring != NULL &&
	    text_check(field, v->valuestring, strlen(v->valuestring), err) != PSM_OK)
		return text_fail_at(v, bad);
	if (!cJSON_IsObject(v) && !cJSON_IsArray(v))
		return PSM_OK;
	for (ch = v->child; ch != NULL; ch = ch->next, i++) {
		if (cJSON_IsObject(v) && text_check_member(field, ch, name, sizeof(name), err))
			return text_fail_at(ch, bad);
		if (cJSON_IsArray(v))
			snprintf(name, sizeof(name), "%s[%zu]", field, i);
		if (text_check_json(name, ch, bad, err) != PSM_OK)
			return PSM_EINVAL;
	}
	return PSM_OK;
}
