/* SPDX-License-Identifier: MIT */
/* crashpoint.c - LD_PRELOAD shim for tests: kills psmd or fails a call at the Nth durable-state
 * system call under its state_dir. */
/*
 * Preloaded into psmd by tests/e2e/crash_sweep.sh, and only there.  Counted:
 * write, pwrite, fsync, fdatasync, ftruncate, rename, renameat, unlink and
 * unlinkat on a file under $PSM_CRASH_DIR (or that directory itself: its
 * fsync), but the fleet's position files.  $PSM_CRASH names a control file "N MODE"; MODE is
 *   count        only count (N ignored)
 *   kill-before  at the Nth call, SIGKILL psmd before the call is made
 *   kill-after   the call is made, then SIGKILL
 *   torn         a write or pwrite of more than one byte writes its first half, then SIGKILL
 *   eio, enospc  the Nth call fails with EIO or ENOSPC; psmd goes on
 *   powerloss    as kill-before; the test then puts every file back as it was at its last
 *                fsync or fdatasync (a power cut: what was not synced is lost)
 *   eio-late     the call takes effect, then fails with EIO (a disk that wrote it all the
 *                same); psmd goes on, and the test ends with a power cut
 * What a power cut keeps: after each fsync or fdatasync of a file, a copy of it goes to
 * $PSM_CRASH.synced/NAME (renamed and removed with the file; directory entries count as
 * durable at once, an approximation).
 * Every counted call appends "N CALL NAME" to $PSM_CRASH.log (the count is that
 * file's line count, kept across psmd restarts and shared with a forked snapshot
 * writer under flock), and the call that fires appends "fired N MODE" before it
 * acts.  A kill in a forked child kills the psmd it came from too.  No control
 * file: every call is the real one.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

enum cp_mode {
	CP_NONE,
	CP_COUNT,
	CP_KILL_BEFORE,
	CP_KILL_AFTER,
	CP_TORN,
	CP_EIO,
	CP_ENOSPC,
	CP_POWERLOSS,
	CP_EIO_LATE
};
static const char *const cp_names[] = {"",    "count",	"kill-before", "kill-after", "torn",
				       "eio", "enospc", "powerloss",   "eio-late"};

static pid_t cp_psmd; /* the process the shim was loaded into (a forked child keeps it) */

__attribute__((constructor)) static void cp_init(void)
{
	cp_psmd = getpid();
}

/* Whether path is the state directory or under it. */
static bool cp_under(const char *path)
{
	const char *dir = getenv("PSM_CRASH_DIR");
	size_t n;

	if (dir == NULL || dir[0] == '\0' || path == NULL)
		return false;
	n = strlen(dir);
	if (strncmp(path, dir, n) != 0 || (path[n] != '\0' && path[n] != '/'))
		return false;
	/* fleet.pos and fleet.pushed are replaced whole without fsync, by the fleet's threads
	 * too, and only point back (psmd/fleet/fleet_file.c): not counted (the count stays
	 * the same run after run); a power cut takes them away (the test). */
	return strstr(path + n, "/fleet.") == NULL && strstr(path + n, "/.fleet.") == NULL;
}

/* The path fd names (false when none), into buf. */
static bool cp_fd_path(int fd, char *buf, size_t cap)
{
	char link[64];
	ssize_t n;

	if (fd == AT_FDCWD)
		return getcwd(buf, cap) != NULL;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, buf, cap - 1);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	return true;
}

/* The full path of name relative to dirfd, into buf. */
static bool cp_at_path(int dirfd, const char *name, char *buf, size_t cap)
{
	char dir[4096];
	int w;

	if (name == NULL)
		return false;
	if (name[0] == '/')
		w = snprintf(buf, cap, "%s", name);
	else if (cp_fd_path(dirfd, dir, sizeof(dir)))
		w = snprintf(buf, cap, "%s/%s", dir, name);
	else
		return false;
	return w > 0 && (size_t)w < cap;
}

/* The control file's N and mode (CP_NONE: no control file). */
static enum cp_mode cp_control(const char *ctl, long *n)
{
	char buf[64] = "", mode[32] = "";
	int fd = open(ctl, O_RDONLY | O_CLOEXEC);
	ssize_t got;

	if (fd < 0)
		return CP_NONE;
	got = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (got <= 0 || sscanf(buf, "%ld %31s", n, mode) != 2)
		return CP_NONE;
	for (size_t i = 1; i < sizeof(cp_names) / sizeof(cp_names[0]); i++)
		if (strcmp(mode, cp_names[i]) == 0)
			return (enum cp_mode)i;
	return CP_NONE;
}

/* Appends line to $PSM_CRASH.log under its lock; returns the lines now in it. */
static long cp_log(const char *ctl, const char *call, const char *path)
{
	char name[4096], line[4200], buf[4096];
	long lines = 0;
	ssize_t got;
	int fd;

	snprintf(name, sizeof(name), "%s.log", ctl);
	fd = open(name, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	flock(fd, LOCK_EX);
	for (off_t off = 0; (got = pread(fd, buf, sizeof(buf), off)) > 0; off += got)
		for (ssize_t i = 0; i < got; i++)
			lines += buf[i] == '\n';
	snprintf(line, sizeof(line), "%ld %s %s\n", lines + 1, call, path);
	if (syscall(SYS_write, fd, line, strlen(line)) < 0)
		lines = -2;
	close(fd); /* unlocks */
	return lines + 1;
}

/* Notes that the Nth call fires, in the log, before it acts. */
static void cp_fired(const char *ctl, long n, const char *mode)
{
	char name[4096], line[128];
	int fd;

	snprintf(name, sizeof(name), "%s.log", ctl);
	snprintf(line, sizeof(line), "fired %ld %s\n", n, mode);
	fd = open(name, O_WRONLY | O_APPEND | O_CLOEXEC);
	if (fd < 0)
		return;
	if (syscall(SYS_write, fd, line, strlen(line)) < 0)
		line[0] = '\0';
	close(fd);
}

static void __attribute__((noreturn)) cp_die(void)
{
	if (getpid() != cp_psmd)
		kill(cp_psmd, SIGKILL);
	kill(getpid(), SIGKILL);
	_exit(137);
}

/* What a counted call on path must do (CP_NONE: the real call, nothing else). */
static enum cp_mode cp_point(const char *call, const char *path)
{
	const char *ctl = getenv("PSM_CRASH");
	enum cp_mode m;
	long n = 0, at;
	int saved = errno;

	if (ctl == NULL || !cp_under(path) || (m = cp_control(ctl, &n)) == CP_NONE) {
		errno = saved;
		return CP_NONE;
	}
	at = cp_log(ctl, call, path);
	errno = saved;
	if (m == CP_COUNT || at != n)
		return CP_NONE;
	cp_fired(ctl, n, cp_names[m]);
	if (m == CP_KILL_BEFORE || m == CP_POWERLOSS)
		cp_die();
	errno = saved;
	return m;
}

/* After the real call: psmd dies there when m says so. */
static void cp_after(enum cp_mode m)
{
	if (m == CP_KILL_AFTER || m == CP_TORN)
		cp_die();
}

/* Whether m makes the call fail (errno set): the wrapper returns -1 without calling it. */
static bool cp_fails(enum cp_mode m)
{
	if (m != CP_EIO && m != CP_ENOSPC)
		return false;
	errno = m == CP_EIO ? EIO : ENOSPC;
	return true;
}

/* The result of a call that was made: r, or -1 with EIO when m is eio-late. */
static int cp_result(enum cp_mode m, int r)
{
	cp_after(m);
	if (m != CP_EIO_LATE)
		return r;
	errno = EIO;
	return -1;
}

/* $PSM_CRASH.synced/BASENAME-of-path into buf (false: too long or no control file). */
static bool cp_synced_name(const char *path, char *buf, size_t cap)
{
	const char *ctl = getenv("PSM_CRASH"), *base = strrchr(path, '/');
	int w;

	if (ctl == NULL || base == NULL)
		return false;
	w = snprintf(buf, cap, "%s.synced%s", ctl, base);
	return w > 0 && (size_t)w < cap;
}

/* Copies the file at path (just synced) to its $PSM_CRASH.synced copy. */
static void cp_keep_synced(const char *path)
{
	char copy[4096], buf[65536];
	int in, out;
	ssize_t got;

	if (!cp_synced_name(path, copy, sizeof(copy)) ||
	    (in = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return;
	*strrchr(copy, '/') = '\0';
	mkdir(copy, 0700);
	copy[strlen(copy)] = '/';
	out = open(copy, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	while (out >= 0 && (got = read(in, buf, sizeof(buf))) > 0)
		if (syscall(SYS_write, out, buf, (size_t)got) != got)
			break;
	if (out >= 0)
		close(out);
	close(in);
}

/* After a counted fsync or fdatasync that worked: a regular file's synced copy. */
static void cp_synced_fd(int fd)
{
	char path[4096];
	struct stat st;

	if (getenv("PSM_CRASH") != NULL && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
	    cp_fd_path(fd, path, sizeof(path)) && cp_under(path))
		cp_keep_synced(path);
}

/* After a rename (to: the new path) or an unlink (to NULL) under the state directory: the
 * synced copy follows. */
static void cp_synced_moved(const char *from, const char *to)
{
	char a[4096], b[4096];

	if (!cp_under(from) || !cp_synced_name(from, a, sizeof(a)))
		return;
	if (to == NULL || !cp_synced_name(to, b, sizeof(b)))
		unlink(a);
	else
		rename(a, b);
}

static enum cp_mode cp_fd_point(const char *call, int fd)
{
	char path[4096];

	return cp_fd_path(fd, path, sizeof(path)) ? cp_point(call, path) : CP_NONE;
}

/* The next definition of name (libc's), looked up once into *slot. */
static void *cp_real(void **slot, const char *name)
{
	if (*slot == NULL)
		*slot = dlsym(RTLD_NEXT, name);
	return *slot;
}

typedef ssize_t (*cp_write_fn)(int, const void *, size_t);
typedef ssize_t (*cp_pwrite_fn)(int, const void *, size_t, off_t);
typedef int (*cp_fd_fn)(int);
typedef int (*cp_trunc_fn)(int, off_t);
typedef int (*cp_rename_fn)(int, const char *, int, const char *);
typedef int (*cp_unlink_fn)(int, const char *, int);

/* How many bytes a write of n bytes in mode m hands on: half of them when it is torn. */
static size_t cp_len(enum cp_mode m, size_t n)
{
	return m == CP_TORN && n > 1 ? n / 2 : n;
}

ssize_t write(int fd, const void *buf, size_t n)
{
	static void *real;
	enum cp_mode m = cp_fd_point("write", fd);
	ssize_t r;

	if (cp_fails(m))
		return -1;
	r = ((cp_write_fn)cp_real(&real, "write"))(fd, buf, cp_len(m, n));
	return r >= 0 && cp_result(m, 0) < 0 ? -1 : r;
}

ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
	static void *real;
	enum cp_mode m = cp_fd_point("pwrite", fd);
	ssize_t r;

	if (cp_fails(m))
		return -1;
	r = ((cp_pwrite_fn)cp_real(&real, "pwrite"))(fd, buf, cp_len(m, n), off);
	return r >= 0 && cp_result(m, 0) < 0 ? -1 : r;
}

/* A call on one fd: fsync, fdatasync; the synced copy is kept when it worked. */
static int cp_fd_call(const char *call, void **real, int fd)
{
	enum cp_mode m = cp_fd_point(call, fd);
	int r;

	if (cp_fails(m))
		return -1;
	r = ((cp_fd_fn)cp_real(real, call))(fd);
	if (r == 0)
		cp_synced_fd(fd);
	return cp_result(m, r);
}

int fsync(int fd)
{
	static void *real;

	return cp_fd_call("fsync", &real, fd);
}

int fdatasync(int fd)
{
	static void *real;

	return cp_fd_call("fdatasync", &real, fd);
}

int ftruncate(int fd, off_t len)
{
	static void *real;
	enum cp_mode m = cp_fd_point("ftruncate", fd);

	if (cp_fails(m))
		return -1;
	return cp_result(m, ((cp_trunc_fn)cp_real(&real, "ftruncate"))(fd, len));
}

/* The point of a call on name relative to dirfd; its full path into path. */
static enum cp_mode cp_at_point(const char *call, int dirfd, const char *name, char *path)
{
	return cp_at_path(dirfd, name, path, 4096) ? cp_point(call, path) : CP_NONE;
}

int renameat(int olddir, const char *old, int newdir, const char *new)
{
	static void *real;
	char from[4096] = "", to[4096] = "";
	enum cp_mode m = cp_at_point("renameat", olddir, old, from);
	int r;

	if (cp_fails(m))
		return -1;
	r = ((cp_rename_fn)cp_real(&real, "renameat"))(olddir, old, newdir, new);
	if (r == 0 && cp_at_path(newdir, new, to, sizeof(to)))
		cp_synced_moved(from, to);
	return cp_result(m, r);
}

int rename(const char *old, const char *new)
{
	return renameat(AT_FDCWD, old, AT_FDCWD, new);
}

int unlinkat(int dirfd, const char *name, int flags)
{
	static void *real;
	char path[4096] = "";
	enum cp_mode m = cp_at_point("unlinkat", dirfd, name, path);
	int r;

	if (cp_fails(m))
		return -1;
	r = ((cp_unlink_fn)cp_real(&real, "unlinkat"))(dirfd, name, flags);
	if (r == 0)
		cp_synced_moved(path, NULL);
	return cp_result(m, r);
}

int unlink(const char *name)
{
	return unlinkat(AT_FDCWD, name, 0);
}
