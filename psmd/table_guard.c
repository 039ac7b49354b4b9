/* SPDX-License-Identifier: MIT */
/* table_guard.c - psmd's watch over its live table: checked against /dev/shm, SIGBUS-proof. */
#include "table_guard.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

/* The guarded range: psmd is single-threaded; the handler only reads these. */
static void *volatile guard_base;
static volatile size_t guard_size;
static volatile sig_atomic_t guard_hit;

static bool guard_swap(void)
{
	void *p;

	if (guard_base == NULL)
		return false;
	p = mmap(guard_base, guard_size, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	return p != MAP_FAILED;
}

/*
 * A SIGBUS inside the table's mapping means the file shrank under it (a
 * truncate by root between the last check and this touch).  The handler
 * maps zeroed anonymous memory over the range and returns: the faulting
 * access is retried there, the batch finishes into memory nobody reads, and
 * psmd republishes the table from state right after.  mmap is a plain
 * system call on Linux (not on POSIX's async-signal-safe list, but it takes
 * no lock in glibc).  A SIGBUS anywhere else is a real bug: the default action.
 */
static void guard_on_sigbus(int sig, siginfo_t *si, void *uc)
{
	uintptr_t a = (uintptr_t)si->si_addr, b = (uintptr_t)guard_base;

	(void)uc;
	if (b != 0 && a >= b && a - b < guard_size && guard_swap()) {
		guard_hit = 1;
		return;
	}
	signal(sig, SIG_DFL);
	raise(sig); /* delivered on return, also when it came from kill(2) */
}

int table_guard_install(struct psm_err *err)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = guard_on_sigbus;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGBUS, &sa, NULL) != 0)
		return psm_err_set(err, PSM_ESYS, "sigaction SIGBUS: %s", strerror(errno));
	return PSM_OK;
}

void table_guard_set(const struct shm_view *v)
{
	guard_base = NULL;
	guard_size = v != NULL ? v->size : 0;
	guard_base = v != NULL ? (void *)(uintptr_t)v->base : NULL;
}

bool table_guard_tripped(void)
{
	bool hit = guard_hit != 0;

	guard_hit = 0;
	return hit;
}

void table_guard_orphan(void)
{
	guard_swap();
}

static int guard_why(char *why, size_t n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* why[] = the formatted reason; -1. */
static int guard_why(char *why, size_t n, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, n, fmt, ap);
	va_end(ap);
	return -1;
}

/* What is at the name, against the object we map (same inode, still linked). */
static int guard_same_object(const struct shm_view *v, const struct stat *f, char *why, size_t n)
{
	char path[SHM_VIEW_NAME_MAX + 16];
	struct stat p;

	if (shm_path(path, sizeof(path), v->name, NULL) != 0)
		return guard_why(why, n, "name too long");
	if (lstat(path, &p) != 0) {
		if (errno == ENOENT)
			return guard_why(why, n, "removed");
		return guard_why(why, n, "stat %s: %s", path, strerror(errno));
	}
	if (p.st_dev == f->st_dev && p.st_ino == f->st_ino)
		return 0;
	return guard_why(why, n, "%s, replaced by %s", f->st_nlink == 0 ? "removed" : "renamed",
			 S_ISREG(p.st_mode)   ? "another file"
			 : S_ISDIR(p.st_mode) ? "a directory"
					      : "a non-file");
}

int table_guard_verify(const struct shm_view *v, uid_t uid, gid_t gid, char *why, size_t n,
		       bool *shrunk)
{
	struct stat f;

	*shrunk = false;
	if (fstat(v->fd, &f) != 0)
		return guard_why(why, n, "fstat: %s", strerror(errno));
	if ((uint64_t)f.st_size != v->size) {
		*shrunk = true;
		return guard_why(why, n, "size %lld, expected %zu", (long long)f.st_size, v->size);
	}
	if (guard_same_object(v, &f, why, n) != 0)
		return -1;
	if (f.st_uid != uid)
		return guard_why(why, n, "owner uid %u, expected %u", (unsigned)f.st_uid,
				 (unsigned)uid);
	if (f.st_gid != gid)
		return guard_why(why, n, "group gid %u, expected %u", (unsigned)f.st_gid,
				 (unsigned)gid);
	if ((f.st_mode & 07777) != 0640)
		return guard_why(why, n, "mode %04o", (unsigned)(f.st_mode & 07777));
	return 0;
}
