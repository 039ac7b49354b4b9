/* SPDX-License-Identifier: MIT */
/* notify.h - the systemd notification protocol (sd_notify), without libsystemd. */
#ifndef PSMD_NOTIFY_H
#define PSMD_NOTIFY_H

#include <sys/socket.h>
#include <sys/un.h>

/*
 * Sends one datagram "READY=1\nSTATUS=..." to $NOTIFY_SOCKET: a path, or an
 * abstract name written with a leading '@'.  Without NOTIFY_SOCKET it does
 * nothing.  Returns 0, or -1 with errno set (callers log and go on).
 */
int notify_send(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Fills *sa from a NOTIFY_SOCKET value; -1 (EINVAL) when it is neither form or too long. */
int notify_addr(const char *s, struct sockaddr_un *sa, socklen_t *len);

#endif
