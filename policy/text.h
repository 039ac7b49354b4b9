/* SPDX-License-Identifier: MIT */
/* text.h - the one check of strings that come from outside: valid UTF-8, no control characters. */
#ifndef PSM_TEXT_H
#define PSM_TEXT_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "psm_err.h"

/*
 * Every string that enters psm through psmd's socket, the policy and
 * psmd.conf (and, with fleet sync, Redis) must be UTF-8 as RFC 3629 has it
 * (json_out_utf8_len: no overlong forms, no surrogates, nothing above
 * U+10FFFF) and hold no control character: C0 (U+0000-U+001F), DEL (U+007F)
 * or C1 (U+0080-U+009F; terminals act on them too, U+009B is CSI).  Else
 * PSM_EINVAL "FIELD: invalid UTF-8 at byte N" or "FIELD: control character
 * U+001B at byte N", N counted from 1.  Such text is then safe in every
 * listing, log line and JSON document psm writes.
 */
int text_check(const char *field, const char *s, size_t n, struct psm_err *err);

/*
 * text_check on every string value and every object key in v, named as
 * field.key, field[index] (field "" at the top: key); a bad key is
 * "FIELD: key: ...".  *bad (when not NULL) gets the offending node.
 */
int text_check_json(const char *field, const cJSON *v, const cJSON **bad, struct psm_err *err);

#endif
