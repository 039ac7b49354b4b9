/* SPDX-License-Identifier: MIT */
/* pam_psm.c - the PAM module: account decision from the psm table (SPEC section 7). */
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <security/pam_ext.h>
#include <security/pam_modules.h>

#include "decide.h"
#include "pam_session.h"
#include "perm.h"
#include "psm_str.h"
#include "ttl.h"

/* Module arguments, parsed afresh on every call. */
struct pam_psm_opts {
	const char *perm;
	const char *shm;
	const char *break_glass;
	const char *socket;
	int64_t max_stale;
	int64_t ttl;
	bool onerr_succeed;
	bool ignore_unknown;
	bool debug;
	bool quiet;
};

static const char *pam_psm_value(const char *arg, const char *key)
{
	size_t n = strlen(key);

	return psm_strneq(arg, key, n) && arg[n] == '=' ? arg + n + 1 : NULL;
}

static int pam_psm_bad(pam_handle_t *pamh, const char *what, const char *val, const char *why)
{
	pam_syslog(pamh, LOG_ERR, "bad %s \"%s\": %s", what, val, why);
	return PAM_SERVICE_ERR;
}

static int pam_psm_ttl(pam_handle_t *pamh, const char *what, const char *val, int64_t *out)
{
	struct psm_err e;

	if (ttl_parse(val, out, &e) != PSM_OK)
		return pam_psm_bad(pamh, what, val, e.msg);
	return PAM_SUCCESS;
}

static int pam_psm_list(pam_handle_t *pamh, const char *val)
{
	size_t n = strlen(val);

	if (n == 0 || val[0] == ',' || val[n - 1] == ',' || psm_has_pair(val, ','))
		return pam_psm_bad(pamh, "break_glass", val, "empty user name");
	return PAM_SUCCESS;
}

/* One key=value argument. */
static int pam_psm_keyval(pam_handle_t *pamh, const char *arg, struct pam_psm_opts *o)
{
	struct psm_err e;
	const char *v;

	if ((v = pam_psm_value(arg, "perm")) != NULL) {
		o->perm = v;
		if (perm_validate(v, strlen(v), &e) != PSM_OK)
			return pam_psm_bad(pamh, "perm", v, e.msg);
	} else if ((v = pam_psm_value(arg, "onerr")) != NULL) {
		if (!psm_streq(v, "fail") && !psm_streq(v, "succeed"))
			return pam_psm_bad(pamh, "onerr", v, "use fail or succeed");
		o->onerr_succeed = psm_streq(v, "succeed");
	} else if ((v = pam_psm_value(arg, "shm")) != NULL) {
		if (v[0] != '/')
			return pam_psm_bad(pamh, "shm", v, "must start with '/'");
		o->shm = v;
	} else if ((v = pam_psm_value(arg, "max_stale")) != NULL) {
		return pam_psm_ttl(pamh, "max_stale", v, &o->max_stale);
	} else if ((v = pam_psm_value(arg, "ttl")) != NULL) {
		return pam_psm_ttl(pamh, "ttl", v, &o->ttl);
	} else if ((v = pam_psm_value(arg, "break_glass")) != NULL) {
		o->break_glass = v;
		return pam_psm_list(pamh, v);
	} else if ((v = pam_psm_value(arg, "socket")) != NULL) {
		if (v[0] != '/')
			return pam_psm_bad(pamh, "socket", v, "must be an absolute path");
		o->socket = v;
	} else {
		pam_syslog(pamh, LOG_ERR, "unknown option \"%s\"", arg);
		return PAM_SERVICE_ERR;
	}
	return PAM_SUCCESS;
}

static int pam_psm_parse(pam_handle_t *pamh, int argc, const char **argv, struct pam_psm_opts *o)
{
	int i, rc;

	memset(o, 0, sizeof(*o));
	for (i = 0; i < argc; i++) {
		const char *a = argv[i];

		if (psm_streq(a, "debug"))
			o->debug = true;
		else if (psm_streq(a, "quiet"))
			o->quiet = true;
		else if (psm_streq(a, "ignore_unknown_user"))
			o->ignore_unknown = true;
		else if ((rc = pam_psm_keyval(pamh, a, o)) != PAM_SUCCESS)
			return rc;
	}
	return PAM_SUCCESS;
}

/* The decimal number that begins buf[0..n) (digits only: no sign, no space; strtoul would be
 * one more libc symbol bound at every load), SHM_U32_NONE when none or not below it. */
static uint32_t pam_psm_u32(const char *buf, size_t n)
{
	uint64_t v = 0;
	size_t i;

	for (i = 0; i < n && psm_is_digit(buf[i]); i++) {
		v = v * 10 + (uint64_t)(buf[i] - '0');
		if (v >= SHM_U32_NONE)
			return SHM_U32_NONE;
	}
	return i == 0 ? SHM_U32_NONE : (uint32_t)v;
}

/* The caller's kernel audit session id, SHM_U32_NONE when unset or unreadable. */
static uint32_t pam_psm_audit_id(void)
{
	char buf[16];
	ssize_t n;
	int fd = open("/proc/self/sessionid", O_RDONLY | O_CLOEXEC | O_NOCTTY);

	if (fd < 0)
		return SHM_U32_NONE;
	n = pread(fd, buf, sizeof(buf), 0); /* pread: imported already (shm_pread), read is not */
	close(fd);
	return n > 0 ? pam_psm_u32(buf, (size_t)n) : SHM_U32_NONE;
}

static const char *pam_psm_str(const char *s)
{
	return s != NULL && s[0] != '\0' ? s : "-";
}

static void pam_psm_log(pam_handle_t *pamh, int prio, const char *verb, const struct decide_req *r,
			const struct decide_out *out)
{
	pam_syslog(pamh, prio, "%s user=%s service=%s rhost=%s perm=%s reason=%s%s", verb, r->user,
		   pam_psm_str(r->service), pam_psm_str(r->rhost), pam_psm_str(out->perm),
		   out->status == DECIDE_UNAVAIL || out->break_glass ? "table unavailable: " : "",
		   out->why);
}

static void pam_psm_warn_age(pam_handle_t *pamh, const struct pam_psm_opts *o,
			     const struct decide_out *out)
{
	char age[64];

	if (o->max_stale > 0 || !out->have_eval || out->age <= DECIDE_WARN_AGE)
		return;
	ttl_format(out->age, age, sizeof(age));
	pam_syslog(pamh, LOG_WARNING, "table %s heartbeat is %s ago (is psmd running?)",
		   out->req.table, age);
}

/* Turns a decision into a PAM return code, and logs it. */
static int pam_psm_result(pam_handle_t *pamh, const struct pam_psm_opts *o,
			  const struct decide_req *r, const struct decide_out *out)
{
	pam_psm_warn_age(pamh, o, out);
	switch (out->status) {
	case DECIDE_ALLOW:
		if (out->break_glass)
			pam_psm_log(pamh, LOG_ERR, "allow (break-glass)", r, out);
		else if (o->debug && !o->quiet)
			pam_psm_log(pamh, LOG_DEBUG, "allow", r, out);
		return PAM_SUCCESS;
	case DECIDE_UNKNOWN_USER:
		if (o->ignore_unknown) {
			if (!o->quiet)
				pam_psm_log(pamh, LOG_INFO, "ignore", r, out);
			return PAM_IGNORE;
		}
		pam_psm_log(pamh, LOG_NOTICE, "deny", r, out);
		return PAM_USER_UNKNOWN;
	case DECIDE_UNAVAIL:
		if (o->onerr_succeed) {
			pam_psm_log(pamh, LOG_ERR, "allow (onerr=succeed)", r, out);
			return PAM_SUCCESS;
		}
		pam_psm_log(pamh, LOG_ERR, "deny", r, out);
		return PAM_AUTHINFO_UNAVAIL;
	default:
		pam_psm_log(pamh, LOG_NOTICE, "deny", r, out);
		return PAM_PERM_DENIED;
	}
}

static int pam_psm_syserr(pam_handle_t *pamh, int rc, const struct psm_err *e)
{
	pam_syslog(pamh, LOG_ERR, "%s", e->msg);
	if (rc == PSM_EINVAL)
		return PAM_SERVICE_ERR;
	return rc == PSM_ENOMEM ? PAM_BUF_ERR : PAM_SYSTEM_ERR;
}

static int pam_psm_items(pam_handle_t *pamh, struct decide_req *r)
{
	const void *item = NULL;
	int rc = pam_get_user(pamh, &r->user, NULL);

	if (rc != PAM_SUCCESS) {
		pam_syslog(pamh, LOG_ERR, "cannot get the user name: %s", pam_strerror(pamh, rc));
		return rc;
	}
	if (r->user == NULL || r->user[0] == '\0') {
		pam_syslog(pamh, LOG_NOTICE, "deny: empty user name");
		return PAM_USER_UNKNOWN;
	}
	if (pam_get_item(pamh, PAM_SERVICE, &item) == PAM_SUCCESS)
		r->service = item;
	item = NULL;
	if (pam_get_item(pamh, PAM_RHOST, &item) == PAM_SUCCESS)
		r->rhost = item;
	return PAM_SUCCESS;
}

int pam_sm_acct_mgmt(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	struct pam_psm_opts o;
	struct decide_req r;
	struct decide_out out;
	struct psm_err e = {0};
	int rc;

	(void)flags;
	rc = pam_psm_parse(pamh, argc, argv, &o);
	if (rc != PAM_SUCCESS)
		return rc;
	memset(&r, 0, sizeof(r));
	rc = pam_psm_items(pamh, &r);
	if (rc != PAM_SUCCESS)
		return rc;
	r.table = o.shm;
	r.perm = o.perm;
	r.max_stale = o.max_stale;
	r.break_glass = o.break_glass;
	r.audit = SHM_U32_NONE;
	r.audit_fn = pam_psm_audit_id;
	r.now = time_now_utc();
	rc = decide_run(&r, &out, &e);
	if (rc != PSM_OK)
		return pam_psm_syserr(pamh, rc, &e);
	return pam_psm_result(pamh, &o, &r, &out);
}

/* The session stack (SPEC section 7): registration with psmd through its socket. */
static int pam_psm_session(pam_handle_t *pamh, int argc, const char **argv, bool opening)
{
	struct pam_psm_opts o;
	struct pam_session_args a;
	int rc = pam_psm_parse(pamh, argc, argv, &o);

	if (rc != PAM_SUCCESS)
		return rc;
	a.socket = o.socket;
	a.ttl = o.ttl;
	a.debug = o.debug && !o.quiet;
	a.audit = opening ? pam_psm_audit_id() : PAM_SESSION_AUDIT_NONE;
	return opening ? pam_session_open(pamh, &a) : pam_session_close(pamh, &a);
}

int pam_sm_open_session(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	(void)flags;
	return pam_psm_session(pamh, argc, argv, true);
}

int pam_sm_close_session(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	(void)flags;
	return pam_psm_session(pamh, argc, argv, false);
}

int pam_sm_authenticate(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	(void)pamh, (void)flags, (void)argc, (void)argv;
	return PAM_IGNORE;
}

int pam_sm_setcred(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	(void)pamh, (void)flags, (void)argc, (void)argv;
	return PAM_IGNORE;
}

int pam_sm_chauthtok(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	(void)pamh, (void)flags, (void)argc, (void)argv;
	return PAM_IGNORE;
}
