/* SPDX-License-Identifier: MIT */
/* psm_query.h - psm-query's commands and options (internal to psm-query). */
#ifndef PSM_QUERY_H
#define PSM_QUERY_H

#include <stdbool.h>

#define PSM_QUERY_MAXPOS 8

/* Exit statuses, SPEC section 5. */
enum { PSM_QUERY_OK = 0, PSM_QUERY_DENY = 1, PSM_QUERY_USAGE = 2, PSM_QUERY_UNAVAIL = 3 };

struct psm_query_opts {
	const char *shm;
	bool json;
	bool explain;
	const char *service;
	const char *rhost;
	const char *session;
	int npos; /* positional arguments, command first */
	const char *pos[PSM_QUERY_MAXPOS];
};

int psm_query_check(const struct psm_query_opts *o);
int psm_query_user(const struct psm_query_opts *o);
int psm_query_sessions(const struct psm_query_opts *o);

/* "psm-query: <message>" on stderr; returns status. */
int psm_query_fail(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
