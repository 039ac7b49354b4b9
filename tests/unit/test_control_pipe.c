/* SPDX-License-Identifier: MIT */
/* test_control_pipe.c - clients on psmd's real socket and loop: pipelined, every reply in
 * order, distinct ids, every grant audited and durable; each audit line out before its reply. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "daemon.h"
#include "psmd.h"
#include "journal.h"
#include "log.h"
#include "loop.h"

#define PIPE_N 3000 /* requests: several 64 KiB reads, many refills of the id pool */
#define ORDER_N 3   /* requests, one at a time, of the audit-before-reply check */

struct pipe_fx {
	char dir[64], conf[128], shm[64], sock[96], log[128];
	int log_fd; /* the read end of psmd's stderr, for the audit-before-reply check */
};

static void pipe_write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void pipe_fx_init(struct pipe_fx *f, const char *tag)
{
	char path[160], text[1024];

	snprintf(f->dir, sizeof(f->dir), "/tmp/psm-test-%s-%ld", tag, (long)getpid());
	snprintf(f->shm, sizeof(f->shm), "/psm-test-%ld-%s", (long)getpid(), tag);
	f->log_fd = -1;
	snprintf(f->sock, sizeof(f->sock), "%s/sock", f->dir);
	snprintf(f->log, sizeof(f->log), "%s/stderr", f->dir);
	assert_int_equal(mkdir(f->dir, 0700), 0);
	snprintf(path, sizeof(path), "%s/policy.json", f->dir);
	pipe_write_file(path, "{ \"roles\": { \"r\": [\"pol:*\"] },"
			      "  \"bindings\": [ { \"user\": \"daemon\", \"roles\": [\"r\"] } ] }");
	snprintf(f->conf, sizeof(f->conf), "%s/psmd.conf", f->dir);
	snprintf(text, sizeof(text),
		 "{ \"shm_name\": \"%s\", \"socket\": \"%s\", \"state_dir\": \"%s/state\","
		 "  \"policy\": \"%s\", \"capacity\": 8192 }",
		 f->shm, f->sock, f->dir, path);
	pipe_write_file(f->conf, text);
}

/* ---- the client (a child process; exit 0 when every check passed) ---------------------- */

/* Lines of the file that contain what. */
static int pipe_count(const char *path, const char *what)
{
	FILE *fp = fopen(path, "r");
	char line[4096];
	int n = 0;

	while (fp != NULL && fgets(line, sizeof(line), fp) != NULL)
		n += strstr(line, what) != NULL;
	if (fp != NULL)
		fclose(fp);
	return n;
}

/* The grant request line i (perm pipe:gI, tag tI) at p; its length. */
static int pipe_request(char *p, int i)
{
	return sprintf(p,
		       "{\"op\":\"grant\",\"user\":\"daemon\",\"perm\":\"pipe:g%d\","
		       "\"ttl\":\"1h\",\"reason\":\"pipe\",\"tag\":\"t%d\"}\n",
		       i, i);
}

static char *pipe_requests(size_t *len)
{
	char *buf = malloc((size_t)PIPE_N * 160), *p = buf;

	for (int i = 0; buf != NULL && i < PIPE_N; i++)
		p += pipe_request(p, i);
	*len = buf != NULL ? (size_t)(p - buf) : 0;
	return buf;
}

/* Reply i: ok, its own tag, a grant id not seen before; 0 when it is right. */
static int pipe_check_reply(const char *line, int i, char (*ids)[32])
{
	char want[64];
	const char *id = strstr(line, "\"grant_id\":\"");

	snprintf(want, sizeof(want), "{\"ok\":true,\"tag\":\"t%d\",", i);
	if (strncmp(line, want, strlen(want)) != 0 || id == NULL)
		return -1;
	memcpy(ids[i], id + 12, 26);
	ids[i][26] = '\0';
	for (int k = 0; k < i; k++)
		if (strcmp(ids[k], ids[i]) == 0)
			return -1;
	return 0;
}

struct pipe_io {
	int fd, replies;
	const char *out;
	size_t out_len, out_off, in_len;
	char in[1 << 16];
	char (*ids)[32];
};

/* Takes the whole reply lines read so far; -1 at a wrong one. */
static int pipe_take(struct pipe_io *io)
{
	char *start = io->in, *nl;

	while ((nl = memchr(start, '\n', io->in_len - (size_t)(start - io->in))) != NULL) {
		*nl = '\0';
		if (io->replies >= PIPE_N || pipe_check_reply(start, io->replies, io->ids) != 0)
			return -1;
		io->replies++;
		start = nl + 1;
	}
	io->in_len -= (size_t)(start - io->in);
	memmove(io->in, start, io->in_len);
	return 0;
}

/* One poll round: writes what the socket takes, reads what came. */
static int pipe_step(struct pipe_io *io)
{
	struct pollfd p = {io->fd, POLLIN | (io->out_off < io->out_len ? POLLOUT : 0), 0};
	ssize_t n;

	if (poll(&p, 1, 30000) <= 0)
		return -1;
	if (p.revents & POLLOUT) {
		n = write(io->fd, io->out + io->out_off, io->out_len - io->out_off);
		if (n < 0 && errno != EAGAIN)
			return -1;
		io->out_off += n > 0 ? (size_t)n : 0;
	}
	if (!(p.revents & (POLLIN | POLLHUP | POLLERR)))
		return 0;
	n = read(io->fd, io->in + io->in_len, sizeof(io->in) - io->in_len);
	if (n <= 0 && !(n < 0 && errno == EAGAIN))
		return -1;
	io->in_len += n > 0 ? (size_t)n : 0;
	return pipe_take(io);
}

static int pipe_client(const struct pipe_fx *f)
{
	static struct pipe_io io;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int rc = 0;

	io.ids = calloc(PIPE_N, sizeof(*io.ids));
	io.out = pipe_requests(&io.out_len);
	io.fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", f->sock);
	if (io.ids == NULL || io.out == NULL || io.fd < 0 ||
	    connect(io.fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    fcntl(io.fd, F_SETFL, O_NONBLOCK) != 0)
		return 2;
	while (rc == 0 && io.replies < PIPE_N)
		rc = pipe_step(&io);
	if (rc != 0)
		return 3;
	/* every grant has its audit line (whether before or after its reply: order_client) */
	return pipe_count(f->log, "\"op\":\"grant\"") == PIPE_N ? 0 : 4;
}

/* ---- audit line before reply: psmd's stderr is a pipe the client keeps full -------------- */

/*
 * While the pipe is full, psmd blocks in the write of its audit line.  The order is right
 * when, at that moment, the reply is not on the socket yet; if psmd sent replies first,
 * the reply is there before the audit line could be written.  No timing: the client
 * waits until psmd is seen blocked on its stderr (/proc/PID/syscall), then looks.
 */

/* Fills the pipe to the last byte through fd (non-blocking); 0 when full. */
static int order_fill(int fd)
{
	static char nl[4096];
	ssize_t n;

	memset(nl, '\n', sizeof(nl));
	while ((n = write(fd, nl, sizeof(nl))) > 0)
		;
	if (n < 0 && errno != EAGAIN)
		return -1;
	while ((n = write(fd, nl, 1)) > 0) /* the rest of the last page */
		;
	return n < 0 && errno == EAGAIN ? 0 : -1;
}

/* Whether process pid is blocked writing to fd 2. */
static bool order_blocked_on_stderr(pid_t pid)
{
	char path[64], text[256];
	long nr = -1, fd = -1;
	FILE *fp;

	snprintf(path, sizeof(path), "/proc/%ld/syscall", (long)pid);
	fp = fopen(path, "r");
	if (fp == NULL)
		return false;
	if (fgets(text, sizeof(text), fp) == NULL || sscanf(text, "%ld %lx", &nr, &fd) != 2)
		nr = -1;
	fclose(fp);
	return (nr == SYS_write || nr == SYS_writev) && fd == STDERR_FILENO;
}

/* Waits until psmd blocks on its full stderr: 0, or 1 when a reply came first. */
static int order_wait_blocked(int sock)
{
	struct pollfd p = {sock, POLLIN, 0};

	for (int i = 0; i < 30000; i++) { /* at most ~30 s: psmd hangs, or never logs */
		if (poll(&p, 1, 1) != 0)
			return 1;
		if (order_blocked_on_stderr(getppid()))
			return poll(&p, 1, 0) != 0; /* a reply sent before the write blocked */
	}
	return -1;
}

/* Reads the log until line "want" is whole; 0 when the first line that is not the filler
 * was it (the write psmd blocked in was that audit line). */
static int order_read_audit(int fd, const char *want)
{
	static char buf[1 << 17];
	struct pollfd p = {fd, POLLIN, 0};
	size_t len = 0;
	ssize_t n;
	char *s, *nl;

	buf[0] = '\0';
	for (;;) {
		s = buf + strspn(buf, "\n");
		nl = strchr(s, '\n');
		if (nl != NULL) {
			*nl = '\0';
			return strstr(s, want) != NULL ? 0 : -1;
		}
		if (len == sizeof(buf) - 1 || poll(&p, 1, 30000) != 1)
			return -1;
		n = read(fd, buf + len, sizeof(buf) - 1 - len);
		if (n <= 0 && !(n < 0 && errno == EAGAIN))
			return -1;
		len += n > 0 ? (size_t)n : 0;
		buf[len] = '\0';
	}
}

/* Request i, one at a time: psmd blocked on its full stderr, and no reply yet. */
static int order_round(int sock, int log_fd, int fill_fd, int i)
{
	static char ids[ORDER_N][32];
	char line[256], want[64];
	struct pollfd p = {sock, POLLIN, 0};
	int n = pipe_request(line, i);
	ssize_t got;

	snprintf(want, sizeof(want), "\"pattern\":\"pipe:g%d\"", i);
	if (order_fill(fill_fd) != 0 || write(sock, line, (size_t)n) != n)
		return 10;
	n = order_wait_blocked(sock);
	if (n != 0)
		return n > 0 ? 11 : 12; /* 11: the reply went out before its audit line */
	if (order_read_audit(log_fd, want) != 0)
		return 13;
	if (poll(&p, 1, 30000) != 1 || (got = read(sock, line, sizeof(line) - 1)) <= 0)
		return 14;
	line[got] = '\0';
	return pipe_check_reply(line, i, ids) == 0 && line[got - 1] == '\n' ? 0 : 15;
}

/* Stops psmd, reading its log (so that it never blocks on it again) until it stopped. */
static void order_stop(int log_fd)
{
	static char buf[1 << 17];
	struct pollfd p = {log_fd, POLLIN, 0};
	ssize_t n = 0;

	kill(getppid(), SIGTERM);
	do {
		if (poll(&p, 1, 30000) != 1)
			return;
		n = read(log_fd, buf, sizeof(buf) - 1);
		buf[n > 0 ? n : 0] = '\0';
	} while ((n > 0 || (n < 0 && errno == EAGAIN)) && strstr(buf, "stopping") == NULL);
}

static int order_client(const struct pipe_fx *f)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), fill, rc = 0;
	char buf[4096];

	/* a description of the pipe of its own: O_NONBLOCK here, psmd's writes still block */
	fill = open("/proc/self/fd/2", O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", f->sock);
	if (sock < 0 || fill < 0 || connect(sock, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    fcntl(f->log_fd, F_SETFL, O_NONBLOCK) != 0)
		return 2;
	while (read(f->log_fd, buf, sizeof(buf)) > 0) /* what psmd logged when starting */
		;
	for (int i = 0; rc == 0 && i < ORDER_N; i++)
		rc = order_round(sock, f->log_fd, fill, i);
	order_stop(f->log_fd);
	return rc;
}

/* ---- psmd, in this process ---------------------------------------------------------------- */

/* Serves until the client is done (it sends SIGTERM); returns the client's exit status. */
static int pipe_serve(struct pipe_fx *f, struct psmd *d, int (*client)(const struct pipe_fx *))
{
	struct psm_err err = {0};
	struct loop l;
	int status = -1;
	pid_t pid;

	assert_int_equal(loop_init(&l, &err), PSM_OK);
	daemon_init(d, f->conf, true);
	d->loop = &l;
	if (psmd_start(d, &err) != PSM_OK)
		fail_msg("psmd_start: %s", err.msg);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int rc = client(f);

		kill(getppid(), SIGTERM);
		_exit(rc);
	}
	assert_int_equal(psmd_run(d, &l, &err), PSM_OK);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	psmd_stop(d);
	loop_free(&l);
	sigprocmask(SIG_SETMASK, &l.waitmask, NULL); /* SIGTERM unblocked again */
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Removes what pipe_fx_init made. */
static void pipe_fx_clean(const struct pipe_fx *f)
{
	char cmd[192];

	shm_unlink(f->shm);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
}

static void test_control_pipelined_grants(void **state)
{
	struct pipe_fx f;
	struct psmd d;
	struct state *st = NULL;
	struct journal *j = NULL;
	struct journal_report rep;
	struct state_counts c;
	char dir[192];
	int saved = dup(STDERR_FILENO), fd;

	(void)state;
	pipe_fx_init(&f, "pipe");
	fd = open(f.log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0 && saved >= 0);
	fflush(stderr);
	dup2(fd, STDERR_FILENO);
	close(fd);
	log_open(LOG_MODE_STDERR); /* the audit lines to the file, not the host's syslog */
	assert_int_equal(pipe_serve(&f, &d, pipe_client), 0);
	log_close();
	dup2(saved, STDERR_FILENO);
	close(saved);
	assert_int_equal(pipe_count(f.log, "\"result\":\"ok\""), PIPE_N);
	snprintf(dir, sizeof(dir), "%s/state", f.dir);
	assert_int_equal(journal_open(&j, dir, (int64_t)time(NULL), &st, &rep, NULL), PSM_OK);
	state_counts(st, &c);
	assert_int_equal(c.grants, PIPE_N); /* every acknowledged grant is on disk */
	journal_close(j);
	state_free(st);
	pipe_fx_clean(&f);
}

static void test_control_audit_before_reply(void **state)
{
	struct pipe_fx f;
	struct psmd d;
	int saved = dup(STDERR_FILENO), p[2], rc;

	(void)state;
	pipe_fx_init(&f, "order");
	assert_true(saved >= 0 && pipe2(p, O_CLOEXEC) == 0);
	f.log_fd = p[0];
	fflush(stderr);
	dup2(p[1], STDERR_FILENO); /* inherited by the client: it opens it to fill the pipe */
	close(p[1]);
	log_open(LOG_MODE_STDERR);
	rc = pipe_serve(&f, &d, order_client);
	log_close();
	dup2(saved, STDERR_FILENO);
	close(saved);
	close(p[0]);
	pipe_fx_clean(&f);
	assert_int_equal(rc, 0); /* 11: a reply went out before its audit line */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_control_pipelined_grants),
	    cmocka_unit_test(test_control_audit_before_reply),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
