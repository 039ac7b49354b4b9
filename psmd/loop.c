/* SPDX-License-Identifier: MIT */
/* loop.c - psmd's event loop: ppoll over a set of fds, signals as flags, a one-second tick. */
#include "loop.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"

static volatile sig_atomic_t loop_hup;
static volatile sig_atomic_t loop_quit;

static void loop_on_signal(int sig)
{
	if (sig == SIGHUP)
		loop_hup = 1;
	else
		loop_quit = sig;
}

int loop_init(struct loop *l, struct psm_err *err)
{
	static const int sigs[] = {SIGHUP, SIGTERM, SIGINT};
	struct sigaction sa = {.sa_handler = loop_on_signal};
	sigset_t block;

	memset(l, 0, sizeof(*l));
	loop_hup = 0;
	loop_quit = 0;
	sigemptyset(&block);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaddset(&block, sigs[i]);
	if (sigprocmask(SIG_BLOCK, &block, &l->waitmask) != 0)
		return psm_err_set(err, PSM_ESYS, "sigprocmask: %s", strerror(errno));
	sa.sa_mask = block;
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		sigdelset(&l->waitmask, sigs[i]);
		if (sigaction(sigs[i], &sa, NULL) != 0)
			return psm_err_set(err, PSM_ESYS, "sigaction: %s", strerror(errno));
	}
	sa.sa_handler = SIG_IGN;
	if (sigaction(SIGPIPE, &sa, NULL) != 0)
		return psm_err_set(err, PSM_ESYS, "sigaction: %s", strerror(errno));
	return PSM_OK;
}

void loop_free(struct loop *l)
{
	free(l->fds);
	free(l->watch);
	l->fds = NULL;
	l->watch = NULL;
	l->n = l->cap = 0;
}

static int loop_grow(struct loop *l, struct psm_err *err)
{
	size_t cap = l->cap ? l->cap * 2 : 16;
	struct pollfd *fds = realloc(l->fds, cap * sizeof(*fds));
	struct loop_watch *w;

	if (fds == NULL)
		return psm_err_set(err, PSM_ENOMEM, "event loop: out of memory");
	l->fds = fds;
	w = realloc(l->watch, cap * sizeof(*w));
	if (w == NULL)
		return psm_err_set(err, PSM_ENOMEM, "event loop: out of memory");
	l->watch = w;
	l->cap = cap;
	return PSM_OK;
}

int loop_add(struct loop *l, int fd, short events, loop_fd_cb cb, void *ctx, struct psm_err *err)
{
	size_t i;

	for (i = 0; i < l->n && l->fds[i].fd != fd; i++)
		;
	if (i == l->n) {
		if (l->n == l->cap && loop_grow(l, err) != PSM_OK)
			return PSM_ENOMEM;
		l->n++;
	}
	l->fds[i] = (struct pollfd){.fd = fd, .events = events};
	l->watch[i] = (struct loop_watch){.cb = cb, .ctx = ctx};
	return PSM_OK;
}

void loop_del(struct loop *l, int fd)
{
	for (size_t i = 0; i < l->n; i++) {
		if (l->fds[i].fd != fd)
			continue;
		l->n--;
		l->fds[i] = l->fds[l->n];
		l->watch[i] = l->watch[l->n];
		return;
	}
}

static void loop_now(struct timespec *ts)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
}

/* Time left until *next (zero if passed). */
static struct timespec loop_until(const struct timespec *next)
{
	struct timespec now, d = {0, 0};

	loop_now(&now);
	if (now.tv_sec > next->tv_sec ||
	    (now.tv_sec == next->tv_sec && now.tv_nsec >= next->tv_nsec))
		return d;
	d.tv_sec = next->tv_sec - now.tv_sec;
	d.tv_nsec = next->tv_nsec - now.tv_nsec;
	if (d.tv_nsec < 0) {
		d.tv_sec--;
		d.tv_nsec += 1000000000L;
	}
	return d;
}

/* Ticks when the second is up and schedules the next one. */
static void loop_tick(const struct loop_hooks *h, struct timespec *next)
{
	struct timespec left = loop_until(next);

	if (left.tv_sec != 0 || left.tv_nsec != 0)
		return;
	h->tick(h->ctx);
	loop_now(next);
	next->tv_sec += 1;
}

/* Calls the callbacks of ready fds; one may add or remove watches, so stop after a change. */
static void loop_dispatch(struct loop *l)
{
	for (size_t i = 0; i < l->n; i++) {
		struct pollfd p = l->fds[i];
		size_t n = l->n;

		if (p.revents == 0)
			continue;
		l->watch[i].cb(l->watch[i].ctx, p.fd, p.revents);
		if (l->n != n || i >= l->n || l->fds[i].fd != p.fd)
			return;
	}
}

/*
 * When fds are ready, ppoll() returns them and restores the blocked mask
 * without delivering a pending signal: a busy loop would never see SIGTERM.
 * Let pending ones in now (their handlers only set the flags).
 */
static void loop_take_signals(const struct loop *l)
{
	sigset_t pending, old;

	if (sigpending(&pending) != 0)
		return;
	if (!sigismember(&pending, SIGHUP) && !sigismember(&pending, SIGTERM) &&
	    !sigismember(&pending, SIGINT))
		return;
	sigprocmask(SIG_SETMASK, &l->waitmask, &old);
	sigprocmask(SIG_SETMASK, &old, NULL);
}

int loop_run(struct loop *l, const struct loop_hooks *h, struct psm_err *err)
{
	struct timespec next;

	loop_now(&next);
	next.tv_sec += 1;
	while (!loop_quit) {
		struct timespec left = loop_until(&next);
		int n = ppoll(l->fds, l->n, &left, &l->waitmask);

		if (n < 0 && errno != EINTR)
			return psm_err_set(err, PSM_ESYS, "ppoll: %s", strerror(errno));
		if (n > 0)
			loop_take_signals(l);
		if (loop_quit)
			break;
		if (n > 0) {
			log_hold(); /* the iteration's audit lines go in one write */
			h->before_io(h->ctx);
			loop_dispatch(l);
		}
		h->after_io(h->ctx);
		if (loop_hup) {
			loop_hup = 0;
			log_msg(LOG_INFO, "SIGHUP");
			h->reload(h->ctx);
		}
		loop_tick(h, &next);
	}
	log_msg(LOG_INFO, "SIG%s: stopping", sigabbrev_np(loop_quit));
	return PSM_OK;
}
