/* SPDX-License-Identifier: MIT */
/* audit.h - one JSON audit line per mutating request, to syslog (AUTHPRIV, ident psmd). */
#ifndef PSMD_AUDIT_H
#define PSMD_AUDIT_H

#include "ops.h"
#include "psm_err.h"

/*
 * {"time":"2026-11-23T18:00:00Z","time_unix":1795975200,"uid":0,"user":"root","op":"grant",
 *  "principal":"alice","pattern":"sudo:*","grant_id":"...","ttl_s":7200,"reason":"INC-42",
 *  "result":"ok"}
 * user is the requester's name, principal the user or %group the request is about; an
 * --until time is "until" and "until_unix".  result is "ok", or the error code with "error"
 * holding its message.  Field names and time format are psm's JSON output's (psmctl(8)
 * JSON OUTPUT, $defs audit in etc/psm.schema.json).
 */
struct json_out;
/* Opens an audit line's object with its "time" and "time_unix" (now, UTC seconds). */
void audit_begin(struct json_out *w, int64_t now);
void audit_log(const struct ops_ctx *c, int rc, const struct psm_err *err);
/* The same in two steps, for a change whose line waits for its commit: the line (malloc'd;
 * NULL when it could not be made, which is logged), then writing it. */
char *audit_text(const struct ops_ctx *c, int rc, const struct psm_err *err);
void audit_emit(const char *line);

#endif
