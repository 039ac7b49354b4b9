/* SPDX-License-Identifier: MIT */
/* proto_client.h - the one client of psmd's admin socket (psmctl, pam_psm): libc only, bounded. */
#ifndef PSMD_PROTO_CLIENT_H
#define PSMD_PROTO_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "psm_err.h"

/*
 * A connection to psmd's Unix socket (SPEC §9: one request line, one reply line, in
 * order).  Every step waits at most until the deadline (CLOCK_MONOTONIC), which
 * proto_client_open sets and proto_client_deadline restarts; the socket is
 * SOCK_CLOEXEC and written with MSG_NOSIGNAL (no SIGPIPE in the caller).  This file
 * links nothing but libc: pam_psm.so takes it from libproto.a.
 *
 * Every failure is PSM_EUNAVAIL "psmd socket PATH: what: why" (PSM_EINVAL for a path
 * too long for a socket address); the connection is then unusable: close it.
 */
struct proto_client {
	const char *path;
	int fd;		     /* -1 when closed */
	int64_t deadline_ms; /* CLOCK_MONOTONIC milliseconds */
};

/* Connects to path within timeout_ms (a full backlog is retried until then). */
int proto_client_open(struct proto_client *c, const char *path, int timeout_ms,
		      struct psm_err *err);
/* The next steps must end within timeout_ms from now. */
void proto_client_deadline(struct proto_client *c, int timeout_ms);
/* Sends all len bytes. */
int proto_client_send(struct proto_client *c, const char *buf, size_t len, struct psm_err *err);
/*
 * Reads what is there (at least one byte) into buf[cap]: *n.  have is how much of the
 * reply the caller holds already (it names the failure when psmd closes the connection).
 */
int proto_client_read(struct proto_client *c, char *buf, size_t cap, size_t *n, size_t have,
		      struct psm_err *err);
/*
 * Reads one reply line into buf[cap], NUL-terminated (*len counts the newline, not the
 * NUL), with no allocation: the line must fit in cap - 1 bytes and be all that psmd sent.
 */
int proto_client_line(struct proto_client *c, char *buf, size_t cap, size_t *len,
		      struct psm_err *err);
void proto_client_close(struct proto_client *c);

/*
 * One request and its reply line on a connection of its own, within timeout_ms in all
 * (proto_client_open, _send, _line, _close).  On failure reply is "" and *len 0.
 */
int proto_client_exchange(const char *path, const char *req, size_t req_len, char *reply,
			  size_t cap, size_t *len, int timeout_ms, struct psm_err *err);

#endif
