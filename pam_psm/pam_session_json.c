/* SPDX-License-Identifier: MIT */
/* pam_session_json.c - pam_psm's session requests: two JSON lines written into fixed buffers. */
#include <inttypes.h>
#include <string.h>

#include "json_out.h"
#include "pam_session.h"

/* ---- writing requests -------------------------------------------------------------------- */

/* Appends n bytes; false (nothing appended) when they and the NUL do not fit. */
static bool pam_session_put(char *buf, size_t cap, size_t *len, const char *s, size_t n)
{
	if (*len >= cap || n >= cap - *len)
		return false;
	memcpy(buf + *len, s, n);
	*len += n;
	buf[*len] = '\0';
	return true;
}

int pam_session_json_string(char *buf, size_t cap, size_t *len, const char *s, struct psm_err *err)
{
	size_t start = *len;
	int rc;

	if (!pam_session_put(buf, cap, len, "\"", 1))
		return psm_err_set(err, PSM_EINVAL, "too long for a request");
	rc = json_out_escape(buf, cap, len, s, strlen(s), err);
	if (rc == PSM_OK && !pam_session_put(buf, cap, len, "\"", 1))
		rc = PSM_EFULL;
	if (rc == PSM_EFULL)
		rc = psm_err_set(err, PSM_EINVAL, "too long for a request");
	if (rc != PSM_OK) {
		*len = start;
		buf[start] = '\0';
	}
	return rc;
}

/* ,"key":"value" (or {"key":... when first); value NULL or "" is left out unless required. */
static int pam_session_put_str(char *buf, size_t cap, size_t *len, const char *key, const char *val,
			       bool required, struct psm_err *err)
{
	char head[40];
	int rc;

	if (val == NULL || val[0] == '\0') {
		if (required)
			return psm_err_set(err, PSM_EINVAL, "%s: missing", key);
		return PSM_OK;
	}
	psm_fmt(head, sizeof(head), ",\"%s\":", key);
	if (!pam_session_put(buf, cap, len, head, strlen(head)))
		return psm_err_set(err, PSM_EINVAL, "%s: too long for a request", key);
	rc = pam_session_json_string(buf, cap, len, val, err);
	return rc == PSM_OK ? PSM_OK : psm_err_prefix(err, "%s", key);
}

static int pam_session_put_int(char *buf, size_t cap, size_t *len, const char *key, int64_t v,
			       struct psm_err *err)
{
	char field[64];

	psm_fmt(field, sizeof(field), ",\"%s\":%" PRId64, key, v);
	if (!pam_session_put(buf, cap, len, field, strlen(field)))
		return psm_err_set(err, PSM_EINVAL, "%s: too long for a request", key);
	return PSM_OK;
}

static int pam_session_begin(char *buf, size_t cap, size_t *len, const char *op,
			     struct psm_err *err)
{
	*len = 0;
	if (cap > 0)
		buf[0] = '\0';
	if (!pam_session_put(buf, cap, len, "{\"op\":\"", 7) ||
	    !pam_session_put(buf, cap, len, op, strlen(op)) ||
	    !pam_session_put(buf, cap, len, "\"", 1))
		return psm_err_set(err, PSM_EINVAL, "request: buffer too small");
	return PSM_OK;
}

static int pam_session_end(char *buf, size_t cap, size_t *len, struct psm_err *err)
{
	if (!pam_session_put(buf, cap, len, "}\n", 2))
		return psm_err_set(err, PSM_EINVAL, "request: too long");
	return PSM_OK;
}

int pam_session_req_open(const struct pam_session_open *o, char *buf, size_t cap, size_t *len,
			 struct psm_err *err)
{
	char ttl[32];
	int rc = pam_session_begin(buf, cap, len, "session_open", err);

	if (rc == PSM_OK)
		rc = pam_session_put_str(buf, cap, len, "user", o->user, true, err);
	if (rc == PSM_OK)
		rc = pam_session_put_str(buf, cap, len, "service", o->service, true, err);
	if (rc == PSM_OK)
		rc = pam_session_put_str(buf, cap, len, "tty", o->tty, false, err);
	if (rc == PSM_OK)
		rc = pam_session_put_str(buf, cap, len, "rhost", o->rhost, false, err);
	if (rc == PSM_OK)
		rc = pam_session_put_int(buf, cap, len, "pid", o->pid, err);
	if (rc == PSM_OK && o->audit != PAM_SESSION_AUDIT_NONE)
		rc = pam_session_put_int(buf, cap, len, "audit", o->audit, err);
	if (rc == PSM_OK && o->ttl > 0) {
		psm_fmt(ttl, sizeof(ttl), "%" PRId64 "s", o->ttl);
		rc = pam_session_put_str(buf, cap, len, "ttl", ttl, true, err);
	}
	return rc == PSM_OK ? pam_session_end(buf, cap, len, err) : rc;
}

int pam_session_req_close(const char *session_id, char *buf, size_t cap, size_t *len,
			  struct psm_err *err)
{
	int rc = pam_session_begin(buf, cap, len, "session_close", err);

	if (rc == PSM_OK)
		rc = pam_session_put_str(buf, cap, len, "session_id", session_id, true, err);
	return rc == PSM_OK ? pam_session_end(buf, cap, len, err) : rc;
}
