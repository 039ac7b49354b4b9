/* SPDX-License-Identifier: MIT */
/* rconn_int.h - what rconn.c (hiredis) gives rconn_open.c (handshake, Sentinel); not public. */
#ifndef PSM_RCONN_INT_H
#define PSM_RCONN_INT_H

#include "rconn.h"

#define RCONN_ADDR_MAX 320

const struct rconn_opts *rconn_opts(const struct rconn *c);

/* Closes what is open, then opens a socket to a (no command sent yet). */
int rconn_open_socket(struct rconn *c, const struct config_redis_addr *a, struct psm_err *err);

/* Sends a command holding a secret without a copy in hiredis's buffer, and wipes it. */
int rconn_send_secret(struct rconn *c, int argc, const char **argv, const size_t *lens,
		      struct psm_err *err);

/* Closes c; err = "redis ADDR: <fmt>" (PSM_EUNAVAIL); an up connection goes down. */
int rconn_fail(struct rconn *c, struct psm_err *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

void rconn_set_up(struct rconn *c, const char *role);
void rconn_set_down(struct rconn *c, const char *why);

/* Printable ASCII of s[0..len) into dst (n bytes, NUL-terminated). */
void rconn_clean(char *dst, size_t n, const char *s, size_t len);

/* Opens a and checks that it is Redis; with login, AUTH (when configured) and SELECT db. */
int rconn_hello(struct rconn *c, const struct config_redis_addr *a, bool login,
		struct psm_err *err);

/* rconn_hello with login, then the role into role[n] ("?" when ROLE is refused). */
int rconn_login(struct rconn *c, const struct config_redis_addr *a, char *role, size_t n,
		struct psm_err *err);

/* Marks the state up (rc PSM_OK) or down (with err's message); returns rc. */
int rconn_done(struct rconn *c, const char *role, int rc, struct psm_err *err);

#endif
