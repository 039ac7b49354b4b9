/* SPDX-License-Identifier: MIT */
/* loop.c - psmd's event loop: ppoll over a set of fds, signals as flags, a one-second tick. */
#include "loop.h"

#include <errno.h>
#include <stdbool.h>
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
	free(l->ready);
	l->fds = NULL;
	l->watch = NULL;
	l->ready = NULL;
	l->n = l->cap = 0;
}

static int loop_grow(struct loop *l, struct psm_err *err)
{
	size_t cap = l->cap ? l->cap * 2 : 16;
	struct pollfd *fds = realloc(l->fds, cap * sizeof(*fds));
	struct loop_watch *w;
	struct loop_ready *r;

	if (fds == NULL)
		return psm_err_set(err, PSM_ENOMEM, "event loop: out of memory");
	l->fds = fds;
	w = realloc(l->watch, cap * sizeof(*w));
	if (w == NULL)
		return psm_err_set(err, PSM_ENOMEM, "event loop: out of memory");
	l->watch = w;
	r = realloc(l->ready, cap * sizeof(*r));
	if (r == NULL)
		return psm_err_set(err, PSM_ENOMEM, "event loop: out of memory");
	l->ready = r;
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

/* Whether fd is still watched by w (a callback before may have removed it). */
static bool loop_still(const struct loop *l, const struct loop_ready *r)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->fds[i].fd == r->fd)
			return l->watch[i].cb == r->w.cb && l->watch[i].ctx == r->w.ctx;
	return false;
}

/*
 * Calls the callbacks of every fd ppoll found ready, even when one adds or removes
 * watches (a listener flooded with connections must not starve its clients): the
 * ready ones are taken first, and each is called if it is still watched.
 */
static void loop_dispatch(struct loop *l)
{
	size_t k = 0;

	for (size_t i = 0; i < l->n; i++)
		if (l->fds[i].revents != 0)
			l->ready[k++] =
			    (struct loop_ready){l->fds[i].fd, l->fds[i].revents, l->watch[i]};
	for (size_t j = 0; j < k; j++) {
		struct loop_ready r = l->ready[j];

		if (loop_still(l, &r))
			r.w.cb(r.w.ctx, r.fd, r.revents);
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
