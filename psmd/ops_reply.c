/* SPDX-License-Identifier: MIT */
/* ops_reply.c - building reply objects: shared by the op handlers and metrics.c. */
#include "ops_reply.h"

int ops_add(cJSON *o, const char *key, cJSON *item, struct psm_err *err)
{
	if (item == NULL || !cJSON_AddItemToObject(o, key, item)) {
		cJSON_Delete(item);
		return psm_err_set(err, PSM_ENOMEM, "reply: out of memory");
	}
	return PSM_OK;
}
