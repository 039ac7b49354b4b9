/* SPDX-License-Identifier: MIT */
/* pam_session.c - pam_psm's session stack: registers logins with psmd, exports PSM_SESSION_ID. */
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <security/pam_ext.h>

#include "pam_session.h"
#include "proto_client.h"
#include "psm_str.h"

static const char *pam_session_item(pam_handle_t *pamh, int type)
{
	const void *v = NULL;

	return pam_get_item(pamh, type, &v) == PAM_SUCCESS ? v : NULL;
}

/* One request and its scanned reply (r->ok may be false). */
static int pam_session_call(const struct pam_session_args *a, const char *req, size_t len,
			    struct pam_session_reply *r, struct psm_err *e)
{
	char line[PAM_SESSION_REPLY_MAX];
	size_t n;
	int rc = proto_client_exchange(a->socket != NULL ? a->socket : PAM_SESSION_SOCKET_DEFAULT,
				       req, len, line, sizeof(line), &n, PAM_SESSION_TIMEOUT_MS, e);

	return rc == PSM_OK ? pam_session_reply_parse(line, n, r, e) : rc;
}

/* Logs why step (open/close) failed for user; PAM_SESSION_ERR. */
static int pam_session_fail(pam_handle_t *pamh, const char *step, const char *user,
			    const struct psm_err *e, const struct pam_session_reply *r)
{
	if (r != NULL)
		pam_syslog(pamh, LOG_ERR, "session %s for user %s refused by psmd: %s (%s)", step,
			   user, r->message, r->code[0] != '\0' ? r->code : "no code");
	else
		pam_syslog(pamh, LOG_ERR, "session %s for user %s failed: %s", step, user, e->msg);
	return PAM_SESSION_ERR;
}

/* session_close for id; PSM_OK with r filled. */
static int pam_session_send_close(const struct pam_session_args *a, const char *id,
				  struct pam_session_reply *r, struct psm_err *e)
{
	char req[PAM_SESSION_REQ_MAX];
	size_t len;
	int rc = pam_session_req_close(id, req, sizeof(req), &len, e);

	return rc == PSM_OK ? pam_session_call(a, req, len, r, e) : rc;
}

static void pam_session_free_id(pam_handle_t *pamh, void *data, int status)
{
	(void)pamh, (void)status;
	free(data);
}

/* Keeps id for close_session (pam_set_data) and exports it (pam_putenv). */
static int pam_session_keep(pam_handle_t *pamh, const char *id)
{
	char env[sizeof(PAM_SESSION_ENV) + PAM_SESSION_ID_MAX + 1];
	size_t n = strlen(id) + 1, pos = 0;
	char *copy = malloc(n); /* not strdup: one libc symbol fewer to bind at every load */
	int rc;

	if (copy == NULL)
		return PAM_BUF_ERR;
	memcpy(copy, id, n);
	rc = pam_set_data(pamh, PAM_SESSION_DATA, copy, pam_session_free_id);
	if (rc != PAM_SUCCESS) {
		free(copy);
		return rc;
	}
	psm_append(env, sizeof(env), &pos, PAM_SESSION_ENV "=");
	psm_append(env, sizeof(env), &pos, id); /* fits: the reply checked the id's length */
	return pam_putenv(pamh, env);
}

/* Forgets the id kept by pam_session_keep (the data and the environment variable). */
static void pam_session_forget(pam_handle_t *pamh)
{
	pam_set_data(pamh, PAM_SESSION_DATA, NULL, NULL);
	pam_putenv(pamh, PAM_SESSION_ENV);
}

/* The registered session could not be kept in the handle: end it in psmd again. */
static int pam_session_undo(pam_handle_t *pamh, const struct pam_session_args *a, const char *user,
			    const char *id, int pam_rc)
{
	struct pam_session_reply r = {0};
	struct psm_err e = {0};
	int rc;

	pam_session_forget(pamh);
	pam_syslog(pamh, LOG_ERR, "session open for user %s: cannot keep session id %s: %s", user,
		   id, pam_strerror(pamh, pam_rc));
	rc = pam_session_send_close(a, id, &r, &e);
	if (rc != PSM_OK || !r.ok)
		pam_syslog(pamh, LOG_ERR, "session %s left in psmd: %s", id,
			   rc != PSM_OK ? e.msg : r.message);
	return PAM_SESSION_ERR;
}

static int pam_session_request(pam_handle_t *pamh, const struct pam_session_args *a,
			       struct pam_session_open *o, char *req, size_t cap, size_t *len,
			       struct psm_err *e)
{
	int rc = pam_get_user(pamh, &o->user, NULL);

	if (rc != PAM_SUCCESS || o->user == NULL || o->user[0] == '\0')
		return psm_err_set(e, PSM_EINVAL, "no user name");
	o->service = pam_session_item(pamh, PAM_SERVICE);
	o->tty = pam_session_item(pamh, PAM_TTY);
	o->rhost = pam_session_item(pamh, PAM_RHOST);
	o->pid = getpid();
	o->audit = a->audit;
	o->ttl = a->ttl;
	return pam_session_req_open(o, req, cap, len, e);
}

int pam_session_open(pam_handle_t *pamh, const struct pam_session_args *a)
{
	struct pam_session_open o = {0};
	struct pam_session_reply r;
	struct psm_err e = {0};
	char req[PAM_SESSION_REQ_MAX];
	size_t len;
	int rc = pam_session_request(pamh, a, &o, req, sizeof(req), &len, &e);

	if (rc == PSM_OK)
		rc = pam_session_call(a, req, len, &r, &e);
	if (rc == PSM_OK && r.ok && !r.has_id)
		rc = psm_err_set(&e, PSM_EUNAVAIL, "malformed reply from psmd: no \"session_id\"");
	if (rc != PSM_OK || !r.ok)
		return pam_session_fail(pamh, "open", o.user != NULL ? o.user : "-", &e,
					rc == PSM_OK ? &r : NULL);
	rc = pam_session_keep(pamh, r.session_id);
	if (rc != PAM_SUCCESS)
		return pam_session_undo(pamh, a, o.user, r.session_id, rc);
	if (a->debug)
		pam_syslog(pamh, LOG_DEBUG, "session %s opened: user %s, service %s, expires %lld",
			   r.session_id, o.user, o.service, (long long)r.expires);
	return PAM_SUCCESS;
}

int pam_session_close(pam_handle_t *pamh, const struct pam_session_args *a)
{
	const void *data = NULL;
	struct pam_session_reply r;
	struct psm_err e = {0};
	char id[PAM_SESSION_ID_MAX + 1];
	const char *user = pam_session_item(pamh, PAM_USER);
	int rc;

	if (pam_get_data(pamh, PAM_SESSION_DATA, &data) != PAM_SUCCESS || data == NULL) {
		if (a->debug)
			pam_syslog(pamh, LOG_DEBUG, "session close: no psm session was opened");
		return PAM_IGNORE;
	}
	psm_copy(id, sizeof(id), data);
	if (user == NULL)
		user = "-";
	rc = pam_session_send_close(a, id, &r, &e);
	if (rc != PSM_OK || !r.ok)
		return pam_session_fail(pamh, "close", user, &e, rc == PSM_OK ? &r : NULL);
	pam_session_forget(pamh);
	if (a->debug)
		pam_syslog(pamh, LOG_DEBUG, "session %s of user %s %s", id, user,
			   r.has_closed && !r.closed ? "had already ended" : "closed");
	return PAM_SUCCESS;
}
