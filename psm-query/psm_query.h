/* SPDX-License-Identifier: MIT */
/* psm_query.h - psm-query's commands and options (internal to psm-query). */
#ifndef PSM_QUERY_H
#define PSM_QUERY_H

#include <stdbool.h>

#define PSM_QUERY_MAXPOS 8

/* Exit statuses, SPEC section 5. */
enum {
	PSM_QUERY_OK = 0,
	PSM_QUERY_DENY = 1,
	PSM_QUERY_USAGE = 2,
	PSM_QUERY_UNAVAIL = 3,
	PSM_QUERY_DENIED = 4, /* not permitted: another user's question through psmd */
};

#define PSM_QUERY_SOCKET_DEFAULT "/run/psm/psmd.sock"

struct psm_query_opts {
	const char *shm;
	bool json;
	bool explain;
	const char *service;
	const char *rhost;
	const char *session;
	const char *socket; /* psmd's, for the caller's own questions and --at */
	const char *at;	    /* check --at T: the decision at T, from psmd's journal */
	int npos;	    /* positional arguments, command first */
	const char *pos[PSM_QUERY_MAXPOS];
};

int psm_query_check(const struct psm_query_opts *o);
int psm_query_user(const struct psm_query_opts *o);
int psm_query_sessions(const struct psm_query_opts *o);

/* psm_query_sock.c: through psmd's socket, when the table is not readable by the caller
 * (EACCES: not in the table's group) and for check --at.  Only the caller's own user is
 * asked about (exit 4 otherwise) but with --at, which psmd authorizes. */
bool psm_query_table_denied(const char *shm);
int psm_query_sock_check(const struct psm_query_opts *o);
int psm_query_sock_user(const struct psm_query_opts *o);
int psm_query_sock_sessions(const struct psm_query_opts *o);

/* "psm-query: <message>" on stderr; returns status. */
int psm_query_fail(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
