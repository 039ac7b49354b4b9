/* SPDX-License-Identifier: MIT */
/* ops_reply.h - building reply objects: shared by the op handlers and metrics.c. */
#ifndef PSMD_OPS_REPLY_H
#define PSMD_OPS_REPLY_H

#include <cjson/cJSON.h>

#include "psm_err.h"

/* Adds item to o under key; PSM_ENOMEM when item is NULL (item is freed on failure). */
int ops_add(cJSON *o, const char *key, cJSON *item, struct psm_err *err);

#endif
