/* SPDX-License-Identifier: MIT */
/* failio.c - LD_PRELOAD shim for tests: write() or fdatasync() on psmd's journal fails with EIO on
 * demand. */
/*
 * Preloaded into psmd by tests/e2e/journal_fail.sh.  $PSM_FAILIO names a
 * control file read at each call on a journal segment ("journal.NNNNNN"):
 * "write" makes write() fail with EIO, "fsync" makes fdatasync() fail with
 * EIO (after the data reached the page cache, as a dying disk does); no file
 * or anything else: the real call.  Every other file and socket is untouched.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Whether fd is a journal segment. */
static bool failio_journal(int fd)
{
	char link[64], path[4096];
	const char *base;
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, path, sizeof(path) - 1);
	if (n <= 0)
		return false;
	path[n] = '\0';
	base = strrchr(path, '/');
	return base != NULL && strncmp(base + 1, "journal.", 8) == 0;
}

/* Whether the control file starts with what ("write", "fsync"). */
static bool failio_armed(const char *what)
{
	const char *ctl = getenv("PSM_FAILIO");
	char buf[16] = "";
	int fd;
	ssize_t n;

	if (ctl == NULL || (fd = open(ctl, O_RDONLY | O_CLOEXEC)) < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	return n > 0 && strncmp(buf, what, strlen(what)) == 0;
}

ssize_t write(int fd, const void *buf, size_t n)
{
	static ssize_t (*real)(int, const void *, size_t);

	if (real == NULL)
		real = (ssize_t(*)(int, const void *, size_t))dlsym(RTLD_NEXT, "write");
	if (failio_journal(fd) && failio_armed("write")) {
		errno = EIO;
		return -1;
	}
	return real(fd, buf, n);
}

int fdatasync(int fd)
{
	static int (*real)(int);

	if (real == NULL)
		real = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
	if (failio_journal(fd) && failio_armed("fsync")) {
		errno = EIO;
		return -1;
	}
	return real(fd);
}
