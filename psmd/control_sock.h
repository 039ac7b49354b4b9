/* SPDX-License-Identifier: MIT */
/* control_sock.h - the admin socket's listening end: its directory, a stale socket, bind. */
#ifndef PSMD_CONTROL_SOCK_H
#define PSMD_CONTROL_SOCK_H

#include "psm_err.h"

/*
 * Listens on path (control.c calls it; it calls nothing of psmd): the parent directory
 * made 0755, a stale socket replaced (another daemon answering there: PSM_EUNAVAIL),
 * the new one non-blocking, mode 0666.  *fd is the socket once it is made, even when a
 * later step fails: the caller closes it.
 */
int control_sock_listen(const char *path, int *fd, struct psm_err *err);

#endif
