/* SPDX-License-Identifier: MIT */
/* loop.h - psmd's event loop: ppoll over a set of fds, signals as flags, a one-second tick. */
#ifndef PSMD_LOOP_H
#define PSMD_LOOP_H

#include <poll.h>
#include <signal.h>
#include <stddef.h>

#include "psm_err.h"

/* Called when fd is ready; revents as poll(2) reports them. */
typedef void (*loop_fd_cb)(void *ctx, int fd, short revents);

struct loop_watch {
	loop_fd_cb cb;
	void *ctx;
};

/* A ready fd as ppoll returned it, with the watch it had then. */
struct loop_ready {
	int fd;
	short revents;
	struct loop_watch w;
};

struct loop {
	struct pollfd *fds; /* parallel arrays, n in use */
	struct loop_watch *watch;
	struct loop_ready *ready; /* the iteration's ready fds (cap of them) */
	size_t n, cap;
	sigset_t waitmask; /* the mask ppoll() runs with: our signals unblocked */
};

/*
 * Blocks SIGHUP, SIGTERM and SIGINT (their handlers only set flags; ppoll
 * unblocks them atomically, so none is lost) and ignores SIGPIPE.  Call it
 * first: a signal that arrives during startup waits for the loop.
 */
int loop_init(struct loop *l, struct psm_err *err);
void loop_free(struct loop *l);

/* Watches fd for events (POLLIN, POLLOUT); a second call for the same fd updates it. */
int loop_add(struct loop *l, int fd, short events, loop_fd_cb cb, void *ctx, struct psm_err *err);
void loop_del(struct loop *l, int fd);

/*
 * What the loop calls back: the daemon above it (psmd.c) gives them to loop_run.  The
 * loop knows nothing else of the daemon; watched fds have their own callbacks.
 */
struct loop_hooks {
	void (*tick)(void *ctx);      /* once a second */
	void (*before_io)(void *ctx); /* when fds are ready, before their callbacks */
	void (*after_io)(void *ctx);  /* after every iteration (ready fds or not) */
	void (*reload)(void *ctx);    /* after a SIGHUP */
	void *ctx;
};

/* Runs until SIGTERM or SIGINT, calling h's hooks. */
int loop_run(struct loop *l, const struct loop_hooks *h, struct psm_err *err);

#endif
