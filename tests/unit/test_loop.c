/* SPDX-License-Identifier: MIT */
/* test_loop.c - psmd/loop.c: fd watches, signals as flags; and sd_notify (notify.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "daemon.h"
#include "psmd.h"
#include "log.h"
#include "loop.h"
#include "notify.h"

/* A datagram socket standing in for systemd's NOTIFY_SOCKET. */
struct listener {
	char dir[64];
	char path[96];
	int fd;
};

static void listener_open(struct listener *ls)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};

	snprintf(ls->dir, sizeof(ls->dir), "/tmp/psm-test-notify-XXXXXX");
	assert_non_null(mkdtemp(ls->dir));
	snprintf(ls->path, sizeof(ls->path), "%s/notify.sock", ls->dir);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", ls->path);
	ls->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(ls->fd >= 0);
	assert_int_equal(bind(ls->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(setenv("NOTIFY_SOCKET", ls->path, 1), 0);
}

/* The next datagram, or "" when none is waiting. */
static void listener_next(struct listener *ls, char *buf, size_t n)
{
	ssize_t got = recv(ls->fd, buf, n - 1, MSG_DONTWAIT);

	buf[got > 0 ? got : 0] = '\0';
}

static void listener_close(struct listener *ls)
{
	unsetenv("NOTIFY_SOCKET");
	close(ls->fd);
	unlink(ls->path);
	rmdir(ls->dir);
}

static void test_notify_addr_forms(void **state)
{
	struct sockaddr_un sa;
	socklen_t len;
	char longpath[200];

	(void)state;
	assert_int_equal(notify_addr("/run/systemd/notify", &sa, &len), 0);
	assert_string_equal(sa.sun_path, "/run/systemd/notify");
	assert_int_equal(len, offsetof(struct sockaddr_un, sun_path) +
				  strlen("/run/systemd/notify") + 1);
	assert_int_equal(notify_addr("@psm/notify", &sa, &len), 0);
	assert_int_equal(sa.sun_path[0], '\0');
	assert_memory_equal(sa.sun_path + 1, "psm/notify", 10);
	assert_int_equal(len, offsetof(struct sockaddr_un, sun_path) + 11);
	assert_int_equal(notify_addr("relative/sock", &sa, &len), -1);
	assert_int_equal(notify_addr("@", &sa, &len), -1);
	assert_int_equal(notify_addr("", &sa, &len), -1);
	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = '\0';
	assert_int_equal(notify_addr(longpath, &sa, &len), -1);
}

static void test_notify_send(void **state)
{
	struct listener ls;
	char buf[512];

	(void)state;
	unsetenv("NOTIFY_SOCKET");
	assert_int_equal(notify_send("READY=1"), 0); /* no systemd: nothing to do */
	listener_open(&ls);
	assert_int_equal(notify_send("READY=1\nSTATUS=serving %d records", 7), 0);
	listener_next(&ls, buf, sizeof(buf));
	assert_string_equal(buf, "READY=1\nSTATUS=serving 7 records");
	setenv("NOTIFY_SOCKET", "not-absolute", 1);
	assert_int_equal(notify_send("READY=1"), -1);
	listener_close(&ls);
}

static void nop_cb(void *ctx, int fd, short revents)
{
	(void)ctx, (void)fd, (void)revents;
}

static void other_cb(void *ctx, int fd, short revents)
{
	(void)ctx, (void)fd, (void)revents;
}

/* fd is watched exactly once, for events, calling cb with ctx. */
static void assert_watch(const struct loop *l, int fd, short events, loop_fd_cb cb, void *ctx)
{
	size_t i, at = l->n, seen = 0;

	for (i = 0; i < l->n; i++)
		if (l->fds[i].fd == fd) {
			at = i;
			seen++;
		}
	if (seen != 1)
		fail_msg("fd %d watched %zu times, want once", fd, seen);
	assert_int_equal(l->fds[at].events, events);
	assert_ptr_equal(l->watch[at].cb, cb);
	assert_ptr_equal(l->watch[at].ctx, ctx);
}

/* Adding watches (past the first growth), updating one in place, deleting one. */
static void test_loop_watch_set(void **state)
{
	struct loop l;
	struct psm_err e;
	int tag[40];

	(void)state;
	assert_int_equal(loop_init(&l, &e), PSM_OK);
	for (int fd = 100; fd < 140; fd++)
		assert_int_equal(loop_add(&l, fd, POLLIN, nop_cb, &tag[fd - 100], &e), PSM_OK);
	assert_int_equal(l.n, 40);
	assert_int_equal(loop_add(&l, 105, POLLOUT, other_cb, &tag[0], &e), PSM_OK);
	assert_int_equal(l.n, 40);
	assert_watch(&l, 105, POLLOUT, other_cb, &tag[0]);
	loop_del(&l, 110);
	loop_del(&l, 999);
	assert_int_equal(l.n, 39);
	for (int fd = 100; fd < 140; fd++) {
		if (fd == 110) {
			for (size_t i = 0; i < l.n; i++)
				assert_int_not_equal(l.fds[i].fd, 110);
		} else if (fd != 105) {
			assert_watch(&l, fd, POLLIN, nop_cb, &tag[fd - 100]);
		}
	}
	assert_watch(&l, 105, POLLOUT, other_cb, &tag[0]);
	loop_free(&l);
}

/* Pipe callback: 1st call raises SIGHUP and refills the pipe, 2nd raises SIGTERM. */
struct pipe_ctx {
	int rd, wr;
	int calls;
	short revents;
	int sig_first;
};

static void pipe_cb(void *ctx, int fd, short revents)
{
	struct pipe_ctx *p = ctx;
	char c;

	assert_int_equal(fd, p->rd);
	assert_int_equal(read(fd, &c, 1), 1);
	p->revents = revents;
	if (++p->calls == 1 && p->sig_first != 0) {
		raise(p->sig_first); /* blocked: delivered inside the next ppoll() */
		assert_int_equal(write(p->wr, "y", 1), 1);
		return;
	}
	raise(SIGTERM);
}

static void run_pipe_loop(struct pipe_ctx *p, int sig_first)
{
	struct loop l;
	struct psmd d;
	struct psm_err e = {0};
	int fds[2];

	assert_int_equal(loop_init(&l, &e), PSM_OK);
	assert_int_equal(pipe(fds), 0);
	*p = (struct pipe_ctx){.rd = fds[0], .wr = fds[1], .sig_first = sig_first};
	assert_int_equal(loop_add(&l, fds[0], POLLIN, pipe_cb, p, &e), PSM_OK);
	assert_int_equal(write(fds[1], "x", 1), 1);
	daemon_init(&d, "/nonexistent/psm-test/psmd.conf", true);
	assert_int_equal(psmd_run(&d, &l, &e), PSM_OK);
	loop_free(&l);
	close(fds[0]);
	close(fds[1]);
}

static void test_loop_fd_then_sigterm(void **state)
{
	struct listener ls;
	struct pipe_ctx p;
	char buf[512];

	(void)state;
	listener_open(&ls);
	run_pipe_loop(&p, 0);
	assert_int_equal(p.calls, 1);
	assert_true(p.revents & POLLIN);
	listener_next(&ls, buf, sizeof(buf));
	assert_string_equal(buf, ""); /* no SIGHUP: no reload */
	listener_close(&ls);
}

static void test_loop_sighup_reloads_and_keeps_going(void **state)
{
	struct listener ls;
	struct pipe_ctx p;
	char buf[512];

	(void)state;
	listener_open(&ls);
	run_pipe_loop(&p, SIGHUP);
	assert_int_equal(p.calls, 2); /* the loop went on after the reload */
	listener_next(&ls, buf, sizeof(buf));
	assert_int_equal(strncmp(buf, "RELOADING=1\nMONOTONIC_USEC=", 27), 0);
	listener_next(&ls, buf, sizeof(buf));
	assert_string_equal(buf, "READY=1\nSTATUS=reload failed: /nonexistent/psm-test/psmd.conf: "
				 "No such file or directory");
	listener_close(&ls);
}

/* ppoll() with a ready fd leaves a pending signal pending: the loop must still see it. */
static void test_loop_sigint_beats_ready_fds(void **state)
{
	struct pipe_ctx p;

	(void)state;
	run_pipe_loop(&p, SIGINT);
	assert_int_equal(p.calls, 1); /* SIGINT ended the loop, the second byte stays unread */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_notify_addr_forms),
	    cmocka_unit_test(test_notify_send),
	    cmocka_unit_test(test_loop_watch_set),
	    cmocka_unit_test(test_loop_fd_then_sigterm),
	    cmocka_unit_test(test_loop_sighup_reloads_and_keeps_going),
	    cmocka_unit_test(test_loop_sigint_beats_ready_fds),
	};

	log_open(LOG_MODE_STDERR); /* the reload's error goes to stderr, not the host's syslog */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
