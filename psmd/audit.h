/* SPDX-License-Identifier: MIT */
/* audit.h - one JSON audit line per mutating request, to syslog (AUTHPRIV, ident psmd). */
#ifndef PSMD_AUDIT_H
#define PSMD_AUDIT_H

#include "ops.h"
#include "psm_err.h"

/*
 * {"time":"2026-11-23T18:00:00Z","uid":0,"user":"root","op":"grant","principal":"alice",
 *  "pattern":"sudo:*","grant_id":"...","ttl":"2h","reason":"INC-42","result":"ok"}
 * result is "ok", or the error code with "error" holding its message.
 */
void audit_log(const struct ops_ctx *c, int rc, const struct psm_err *err);
/* The same in two steps, for a change whose line waits for its commit: the line (malloc'd;
 * NULL when it could not be made, which is logged), then writing it. */
char *audit_text(const struct ops_ctx *c, int rc, const struct psm_err *err);
void audit_emit(const char *line);

#endif
