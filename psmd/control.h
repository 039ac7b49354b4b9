/* SPDX-License-Identifier: MIT */
/* control.h - psmd's admin socket server: connections, peer credentials, framing, group commit. */
#ifndef PSMD_CONTROL_H
#define PSMD_CONTROL_H

#include <stdint.h>

#include "psm_err.h"

struct psmd;
struct loop;
struct control;

#define CONTROL_PER_UID 16	    /* connections per non-root uid */
#define CONTROL_PER_ROOT 256	    /* connections of uid 0 (PAM sessions of many logins) */
#define CONTROL_CLIENTS_MAX 4096    /* connections in all */
#define CONTROL_USERS_MAX 1024	    /* connections of non-admins in all (the rest: PAM, admins) */
#define CONTROL_OUT_SOFT (1u << 20) /* stop reading a client while more output waits */
#define CONTROL_OUT_SOFT_USER (64u << 10) /* the same for a non-admin client */
#define CONTROL_SNDBUF_USER (32 << 10)	  /* SO_SNDBUF of a non-admin's socket (kernel: x2) */
#define CONTROL_STALL 30		  /* seconds a client may leave queued output unread */
#define CONTROL_FD_SPARE 16		  /* fds kept free of clients for psmd's own files */
#define CONTROL_FRAME 10		  /* seconds a request line may take from its first byte */

/*
 * Listens on cfg->socket (parent directory made 0755, a stale socket
 * replaced, mode 0666) in psmd's loop.  Every request line is validated,
 * authorized with the peer's SO_PEERCRED credentials and handled; the
 * replies of changes wait for the group commit in control_flush().
 */
int control_open(struct control **c, struct psmd *d, struct loop *l, struct psm_err *err);
/* Commits and sends what it can, then closes every connection and removes the socket. */
void control_close(struct control *c);

/* After the loop handled an iteration's input: one journal commit, then the held replies. */
void control_flush(struct control *c);
/* Once a second: drops clients that leave their replies unread or a request unfinished. */
void control_tick(struct control *c, int64_t now);

#endif
