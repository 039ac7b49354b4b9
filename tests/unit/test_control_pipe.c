/* SPDX-License-Identifier: MIT */
/* test_control_pipe.c - a pipelined client on psmd's real socket and loop: every reply in
 * order and after its audit line, distinct ids, every grant durable. */
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
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "daemon.h"
#include "journal.h"
#include "log.h"
#include "loop.h"

#define PIPE_N 3000 /* requests: several 64 KiB reads, many refills of the id pool */

struct pipe_fx {
	char dir[64], conf[128], shm[64], sock[96], log[128];
};

static void pipe_write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void pipe_fx_init(struct pipe_fx *f)
{
	char path[160], text[1024];

	snprintf(f->dir, sizeof(f->dir), "/tmp/psm-test-pipe-%ld", (long)getpid());
	snprintf(f->shm, sizeof(f->shm), "/psm-test-%ld-pipe", (long)getpid());
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

static char *pipe_requests(size_t *len)
{
	char *buf = malloc((size_t)PIPE_N * 160), *p = buf;

	for (int i = 0; buf != NULL && i < PIPE_N; i++)
		p += sprintf(p,
			     "{\"op\":\"grant\",\"user\":\"daemon\",\"perm\":\"pipe:g%d\","
			     "\"ttl\":\"1h\",\"reason\":\"pipe\",\"tag\":\"t%d\"}\n",
			     i, i);
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
	/* every reply went out after its audit line was written */
	return pipe_count(f->log, "\"op\":\"grant\"") == PIPE_N ? 0 : 4;
}

/* ---- psmd, in this process ---------------------------------------------------------------- */

/* Serves until the client is done (it sends SIGTERM); returns the client's exit status. */
static int pipe_serve(struct pipe_fx *f, struct psmd *d)
{
	struct psm_err err = {0};
	struct loop l;
	int status = -1;
	pid_t pid;

	assert_int_equal(loop_init(&l, &err), PSM_OK);
	daemon_init(d, f->conf, true);
	d->loop = &l;
	if (daemon_start(d, &err) != PSM_OK)
		fail_msg("daemon_start: %s", err.msg);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int rc = pipe_client(f);

		kill(getppid(), SIGTERM);
		_exit(rc);
	}
	assert_int_equal(loop_run(&l, d, &err), PSM_OK);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	daemon_stop(d);
	loop_free(&l);
	sigprocmask(SIG_SETMASK, &l.waitmask, NULL); /* SIGTERM unblocked again */
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
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
	pipe_fx_init(&f);
	fd = open(f.log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0 && saved >= 0);
	fflush(stderr);
	dup2(fd, STDERR_FILENO);
	close(fd);
	log_open(LOG_MODE_STDERR); /* the audit lines to the file, not the host's syslog */
	assert_int_equal(pipe_serve(&f, &d), 0);
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
	shm_unlink(f.shm);
	snprintf(dir, sizeof(dir), "rm -rf '%s'", f.dir);
	assert_int_equal(system(dir), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_control_pipelined_grants),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
