/* SPDX-License-Identifier: MIT */
/* pam_session.h - pam_psm's session stack: registration with psmd through its socket. */
#ifndef PSM_PAM_SESSION_H
#define PSM_PAM_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <security/pam_modules.h>

#include "psm_err.h"

/*
 * pam_sm_open_session sends {"op":"session_open",...} on psmd's admin socket
 * and exports the session id it gets back; pam_sm_close_session sends
 * {"op":"session_close",...} for the id kept with pam_set_data.  The module
 * links no JSON library (every DT_NEEDED library is loaded on every pam_start
 * of every sudo and sshd): the request is written here, the one-line reply is
 * tokenized by jsmn (a header, compiled into pam_session_reply.c) into a fixed
 * token array, and only the members used are read and checked; the socket is
 * libproto's client (proto_client.h).
 */
#define PAM_SESSION_SOCKET_DEFAULT "/run/psm/psmd.sock"
#define PAM_SESSION_TIMEOUT_MS 2000	      /* connect + request + reply */
#define PAM_SESSION_REQ_MAX 8192	      /* a request line, newline included */
#define PAM_SESSION_REPLY_MAX 4096	      /* a reply line, newline included */
#define PAM_SESSION_ID_MAX 64		      /* psmd's ids are 26 or 32 characters */
#define PAM_SESSION_MSG_MAX 256		      /* error.message kept (longer ones are cut) */
#define PAM_SESSION_TOKENS_MAX 128	      /* values and keys in a reply (jsmn's tokens) */
#define PAM_SESSION_DATA "pam_psm_session_id" /* pam_set_data name */
#define PAM_SESSION_ENV "PSM_SESSION_ID"
#define PAM_SESSION_AUDIT_NONE UINT32_MAX /* no kernel audit session id */

/* What session_open carries (SPEC §9); NULL or "" strings are left out, except user and
 * service, which are required. */
struct pam_session_open {
	const char *user;
	const char *service;
	const char *tty;
	const char *rhost;
	int64_t pid;
	uint32_t audit; /* PAM_SESSION_AUDIT_NONE: left out */
	int64_t ttl;	/* seconds; 0: left out (psmd uses the policy's session_ttl) */
};

/* A reply line, as far as pam_psm needs it. */
struct pam_session_reply {
	bool ok;
	bool has_id;	  /* "session_id" was present */
	bool has_expires; /* "expires" was present (a number or null) */
	bool has_closed;  /* "closed" was present */
	bool closed;
	int64_t expires; /* 0 when null */
	char session_id[PAM_SESSION_ID_MAX + 1];
	char code[32];			   /* error.code, "" when ok */
	char message[PAM_SESSION_MSG_MAX]; /* error.message, "" when ok */
};

/* ---- pam_session_json.c: requests ---------------------------------------- */

/*
 * The request lines, '\n'-terminated and NUL-terminated in buf[cap]; *len counts the
 * newline.  PSM_EINVAL naming the field for a missing user or service, a string that is
 * not valid UTF-8, or a request longer than cap - 1.
 */
int pam_session_req_open(const struct pam_session_open *o, char *buf, size_t cap, size_t *len,
			 struct psm_err *err);
int pam_session_req_close(const char *session_id, char *buf, size_t cap, size_t *len,
			  struct psm_err *err);

/*
 * Appends s as a JSON string (quotes included) to buf[*len..cap), escaping '"', '\\'
 * and control characters; bytes >= 0x80 must form valid UTF-8 (no overlong forms,
 * surrogates or code points above U+10FFFF).  Keeps buf NUL-terminated.  PSM_EINVAL
 * when s is not valid UTF-8 or does not fit.
 */
int pam_session_json_string(char *buf, size_t cap, size_t *len, const char *s, struct psm_err *err);

/* ---- pam_session_reply.c: replies --------------------------------------------------------- */

/*
 * Reads one reply line (len bytes, a trailing '\n' allowed): one JSON object filling the
 * whole line (no NUL byte, at most PAM_SESSION_TOKENS_MAX values and keys, nothing jsmn
 * refuses) whose "ok" is true or false; "session_id" a string of 1 to PAM_SESSION_ID_MAX
 * [A-Za-z0-9_-]; "expires" an integer or null; "closed" true or false; "error" an object
 * with "code" (a string of [A-Za-z0-9_-]) and "message" (a string, kept for syslog: cut,
 * anything but printable ASCII shown as '?'); none of these keys twice.  Other members are
 * skipped unread.  ok:false needs error.message.  PSM_EUNAVAIL "malformed reply from psmd:
 * WHAT at byte N" otherwise.
 */
int pam_session_reply_parse(const char *line, size_t len, struct pam_session_reply *r,
			    struct psm_err *err);

/* ---- pam_session.c: the PAM side ---------------------------------------------------------- */

struct pam_session_args {
	const char *socket; /* NULL: PAM_SESSION_SOCKET_DEFAULT */
	int64_t ttl;	    /* seconds, 0: the policy's session_ttl */
	uint32_t audit;	    /* the caller's audit session id, PAM_SESSION_AUDIT_NONE if unset */
	bool debug;
};

/* pam_sm_open_session / pam_sm_close_session after the arguments were parsed:
 * PAM_SUCCESS, or PAM_SESSION_ERR (logged with pam_syslog). */
int pam_session_open(pam_handle_t *pamh, const struct pam_session_args *a);
int pam_session_close(pam_handle_t *pamh, const struct pam_session_args *a);

#endif
