/* SPDX-License-Identifier: MIT */
/* json_cjson.c - cJSON items written with json_out.h (cJSON mode), byte for byte as cJSON prints
 * them. */
#include "json_cjson.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *json_cjson_take(struct json_out *w, size_t *len)
{
	char *p = NULL;

	if (json_out_finish(w, NULL) == PSM_OK) {
		p = w->buf != NULL ? w->buf : calloc(1, 1);
		w->buf = NULL;
	}
	if (p != NULL && len != NULL)
		*len = w->len;
	json_out_free(w);
	json_out_init_flags(w, w->fp, w->max, w->flags);
	return p;
}

void json_cjson_uint_str(struct json_out *w, uint64_t v)
{
	char buf[24], *s = json_out_digits(v, buf + sizeof(buf));

	json_out_string_n(w, s, (size_t)(buf + sizeof(buf) - s));
}

/* A double as cJSON 1.7.15 prints it: integers below 1e15 are exact in "%1.15g". */
static void pj_double(struct json_out *w, double d)
{
	char buf[32];
	double back, max;
	int n;

	if (!isfinite(d)) {
		json_out_null(w);
		return;
	}
	if (fabs(d) < 1e15 && d == (double)(int64_t)d && !(d == 0 && signbit(d))) {
		json_out_int64(w, (int64_t)d);
		return;
	}
	n = snprintf(buf, sizeof(buf), "%1.15g", d);
	back = strtod(buf, NULL);
	max = fabs(back) > fabs(d) ? fabs(back) : fabs(d);
	if (fabs(back - d) > max * DBL_EPSILON) /* cJSON's compare_double */
		n = snprintf(buf, sizeof(buf), "%1.17g", d);
	json_out_raw_value(w, buf, n > 0 ? (size_t)n : 0);
}

void json_cjson_member(struct json_out *w, const cJSON *member)
{
	json_out_key(w, member->string != NULL ? member->string : "");
	json_cjson_item(w, member);
}

void json_cjson_item(struct json_out *w, const cJSON *item)
{
	const cJSON *c;

	if (cJSON_IsObject(item)) {
		json_out_begin_object(w);
		for (c = item->child; c != NULL; c = c->next)
			json_cjson_member(w, c);
		json_out_end_object(w);
	} else if (cJSON_IsArray(item)) {
		json_out_begin_array(w);
		for (c = item->child; c != NULL; c = c->next)
			json_cjson_item(w, c);
		json_out_end_array(w);
	} else if (cJSON_IsString(item)) {
		json_out_string(w, item->valuestring);
	} else if (cJSON_IsNumber(item)) {
		pj_double(w, item->valuedouble);
	} else if (cJSON_IsBool(item)) {
		json_out_bool(w, cJSON_IsTrue(item));
	} else if (cJSON_IsRaw(item) && item->valuestring != NULL) {
		json_out_raw_value(w, item->valuestring, strlen(item->valuestring));
	} else {
		json_out_null(w);
	}
}
