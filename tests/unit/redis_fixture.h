/* SPDX-License-Identifier: MIT */
/* redis_fixture.h - a test's own redis-server (or sentinel) on a free loopback port, in its own
 * dir. */
#ifndef PSM_TEST_REDIS_FIXTURE_H
#define PSM_TEST_REDIS_FIXTURE_H

#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct rfx {
	pid_t pid;
	unsigned port;
	char dir[64];
	char sock[128]; /* unix socket path, "" when none */
};

static inline long long rfx_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A loopback TCP port nobody listens on right now. */
static inline unsigned rfx_free_port(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	close(fd);
	return ntohs(a.sin_port);
}

/* True once something accepts on 127.0.0.1:port. */
static inline bool rfx_accepts(unsigned port)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_port = htons((uint16_t)port),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	bool ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;

	if (fd >= 0)
		close(fd);
	return ok;
}

/* Runs prog with argv (NULL-terminated), output into dir/log; waits until port accepts. */
static inline int rfx_exec(struct rfx *r, const char *const *argv)
{
	char log[128];
	long long deadline = rfx_now_ms() + 10000;

	snprintf(log, sizeof(log), "%s/log", r->dir);
	r->pid = fork();
	if (r->pid < 0)
		return -1;
	if (r->pid == 0) {
		if (freopen(log, "a", stdout) == NULL || dup2(fileno(stdout), 2) < 0)
			_exit(127);
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	while (!rfx_accepts(r->port)) {
		if (rfx_now_ms() > deadline || waitpid(r->pid, NULL, WNOHANG) == r->pid)
			return -1;
		usleep(10000);
	}
	return 0;
}

/*
 * Starts redis-server on a free port in a new temp dir; pass is its requirepass
 * (NULL: none); with_sock adds a unix socket; replicaof a port (0: none).
 */
static inline int rfx_start(struct rfx *r, const char *pass, bool with_sock, unsigned replicaof)
{
	char port[16], master[16];
	const char *argv[24] = {"redis-server",
				"--port",
				port,
				"--bind",
				"127.0.0.1",
				"--save",
				"",
				"--appendonly",
				"no",
				"--daemonize",
				"no",
				"--dir",
				r->dir,
				"--repl-diskless-sync-delay",
				"0"};
	int n = 15;

	memset(r, 0, sizeof(*r));
	snprintf(r->dir, sizeof(r->dir), "/tmp/psm-redis-XXXXXX");
	r->port = rfx_free_port();
	if (mkdtemp(r->dir) == NULL || r->port == 0)
		return -1;
	snprintf(port, sizeof(port), "%u", r->port);
	snprintf(master, sizeof(master), "%u", replicaof);
	r->sock[0] = '\0';
	if (pass != NULL) {
		argv[n++] = "--requirepass";
		argv[n++] = pass;
		argv[n++] = "--masterauth";
		argv[n++] = pass;
	}
	if (with_sock) {
		snprintf(r->sock, sizeof(r->sock), "%s/redis.sock", r->dir);
		argv[n++] = "--unixsocket";
		argv[n++] = r->sock;
	}
	if (replicaof != 0) {
		argv[n++] = "--replicaof";
		argv[n++] = "127.0.0.1";
		argv[n++] = master;
	}
	argv[n] = NULL;
	return rfx_exec(r, argv);
}

/* Stops the server (by its pid) and removes its dir. */
static inline void rfx_stop(struct rfx *r)
{
	char cmd[128];

	if (r->pid > 0) {
		kill(r->pid, SIGKILL);
		waitpid(r->pid, NULL, 0);
	}
	r->pid = 0;
	if (r->dir[0] != '\0') {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", r->dir);
		if (system(cmd) != 0)
			fprintf(stderr, "cannot remove %s\n", r->dir);
	}
	r->dir[0] = '\0';
}

/* Writes text to dir/name with mode; returns the path in a static-size buffer out. */
static inline void rfx_file(const char *dir, const char *name, const char *text, mode_t mode,
			    char *out, size_t n)
{
	FILE *f;

	snprintf(out, n, "%s/%s", dir, name);
	unlink(out);
	f = fopen(out, "w");
	if (f != NULL) {
		fputs(text, f);
		fclose(f);
	}
	chmod(out, mode);
}

#endif
