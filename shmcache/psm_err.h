/* SPDX-License-Identifier: MIT */
/* psm_err.h - the one error convention of psm: a code plus a one-line message. */
#ifndef PSM_ERR_H
#define PSM_ERR_H

#include <stdarg.h>
#include <stddef.h>

/*
 * Every fallible psm function returns int: PSM_OK (0) on success, or one of
 * the codes below, and fills the caller's struct psm_err (which may be NULL)
 * with the same code and a one-line message "what: why".  Library code never
 * logs, asserts on outside input or exits; programs turn the code into an
 * exit status with psm_exit_code() and print the message.
 *
 * The deliberate exceptions:
 *  - lookups that may find nothing return 1 found, 0 not found, or a negative
 *    -PSM_* code with *err filled (policy/nss.h): "unknown" is an answer;
 *  - small pure predicates and matchers that cannot fail return bool
 *    (decide_in_list, pattern_match, policy_in_scope), or 1 / 0 / -1 for
 *    match / no match / malformed (cond.c's items);
 *  - finders and constructors return a pointer, NULL for "none" or out of
 *    memory, the one reason the caller reports (state_grant, record_to_json);
 *  - parsers of one character or one argument return a value or an index, -1
 *    for "not this one" (ttl_unit_index, psm-query's option parser);
 *  - entry points return what their host expects: the PAM entry points PAM_*
 *    codes (pam_psm.c), main() and the command handlers of psmctl and psm-query
 *    an exit status, after printing the one line (ctl_fail, psm_query_fail).
 */
enum psm_code {
	PSM_OK = 0,
	PSM_EINVAL = 2,	  /* bad input: usage, config, policy, frame  (exit 2) */
	PSM_EUNAVAIL = 3, /* table or daemon unavailable, corrupt     (exit 3) */
	PSM_EPERM = 4,	  /* not permitted                            (exit 4) */
	PSM_ENOENT = 5,	  /* no such object                           (exit 2) */
	PSM_EFULL = 6,	  /* table full                               (exit 3) */
	PSM_ESYS = 7,	  /* system call failed                       (exit 3) */
	PSM_ENOMEM = 8,	  /* out of memory                            (exit 3) */
	PSM_EEXIST = 9,	  /* already exists                           (exit 2) */
};

#define PSM_ERR_MSG_MAX 256

struct psm_err {
	int code;
	char msg[PSM_ERR_MSG_MAX];
};

/* Sets *e (when e is non-NULL) and returns code. */
int psm_err_set(struct psm_err *e, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prefixes the existing message with "what: " (e.g. a file name). Returns e->code. */
int psm_err_prefix(struct psm_err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

void psm_err_clear(struct psm_err *e);
/* snprintf(buf, n, fmt, ...) and vsnprintf on psm_err_set's own vsnprintf: the texts formatted
 * by the code pam_psm.so links (reasons, times, durations) use them, so that the module binds
 * no snprintf nor __snprintf_chk of its own.  Plain copies and numbers: psm_str.h. */
int psm_fmt(char *buf, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int psm_vfmt(char *buf, size_t n, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

/* Exit status for a code, per SPEC §5: 0 ok, 2 bad input, 3 unavailable, 4 not permitted. */
int psm_exit_code(int code);

#endif
