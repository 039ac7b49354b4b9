/* SPDX-License-Identifier: MIT */
/* keyfile.c - reads a small key file psmd trusts: regular, not a symlink, owner and mode checked.
 */
#include "keyfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

static size_t keyfile_max(enum keyfile_kind kind)
{
	return kind == KEYFILE_SECRET ? KEYFILE_SECRET_MAX : KEYFILE_PUBLIC_MAX;
}

/* NULL when st is a file psmd may trust as kind, else why not. */
static const char *keyfile_why(const struct stat *st, enum keyfile_kind kind, char *buf, size_t n)
{
	unsigned mode = (unsigned)(st->st_mode & 07777);

	if (!S_ISREG(st->st_mode))
		return "not a regular file";
	if (st->st_uid != 0 && st->st_uid != geteuid()) {
		snprintf(buf, n, "owned by uid %u, not by root or uid %u", (unsigned)st->st_uid,
			 (unsigned)geteuid());
		return buf;
	}
	if (kind == KEYFILE_SECRET && (mode & 077) != 0) {
		snprintf(buf, n, "mode %04o: a secret key must be 0600 or stricter", mode);
		return buf;
	}
	if (kind == KEYFILE_PUBLIC && (mode & 022) != 0) {
		snprintf(buf, n, "mode %04o: writable by group or others", mode);
		return buf;
	}
	if ((size_t)st->st_size > keyfile_max(kind)) {
		snprintf(buf, n, "larger than %zu bytes", keyfile_max(kind));
		return buf;
	}
	return NULL;
}

/* Reads up to cap bytes of fd into b; *n gets the count. */
static int keyfile_fill(int fd, char *b, size_t cap, size_t *n)
{
	ssize_t r;

	*n = 0;
	while (*n < cap) {
		r = read(fd, b + *n, cap - *n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		*n += (size_t)r;
	}
	return 0;
}

static char *keyfile_alloc(enum keyfile_kind kind, size_t n)
{
	return kind == KEYFILE_SECRET ? sodium_malloc(n) : malloc(n);
}

void keyfile_free(char *buf, enum keyfile_kind kind)
{
	if (buf != NULL && kind == KEYFILE_SECRET)
		sodium_free(buf);
	else
		free(buf);
}

/* Reads the checked file at fd (at most the kind's limit: a file that grew is refused). */
static int keyfile_load(int fd, const char *path, enum keyfile_kind kind, char **buf, size_t *len,
			struct psm_err *err)
{
	size_t cap = keyfile_max(kind) + 1;
	char *b = keyfile_alloc(kind, cap + 1);
	int e;

	if (b == NULL)
		return psm_err_set(err, PSM_ENOMEM, "%s: out of memory", path);
	if (keyfile_fill(fd, b, cap, len) != 0) {
		e = errno;
		keyfile_free(b, kind);
		return psm_err_set(err, PSM_ESYS, "%s: read: %s", path, strerror(e));
	}
	if (*len >= cap) {
		keyfile_free(b, kind);
		return psm_err_set(err, PSM_EINVAL, "%s: larger than %zu bytes", path,
				   keyfile_max(kind));
	}
	b[*len] = '\0';
	*buf = b;
	return PSM_OK;
}

int keyfile_read(const char *path, enum keyfile_kind kind, char **buf, size_t *len,
		 struct psm_err *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW | O_NONBLOCK);
	struct stat st;
	char why[96];
	const char *bad;
	int rc;

	*buf = NULL;
	*len = 0;
	if (fd < 0 && errno == ELOOP)
		return psm_err_set(err, PSM_EINVAL, "%s: is a symbolic link", path);
	if (fd < 0)
		return psm_err_set(err, errno == ENOENT ? PSM_ENOENT : PSM_EINVAL, "%s: %s", path,
				   strerror(errno));
	if (fstat(fd, &st) != 0) {
		rc = psm_err_set(err, PSM_ESYS, "%s: fstat: %s", path, strerror(errno));
		close(fd);
		return rc;
	}
	bad = keyfile_why(&st, kind, why, sizeof(why));
	rc = bad != NULL ? psm_err_set(err, PSM_EINVAL, "%s: %s", path, bad)
			 : keyfile_load(fd, path, kind, buf, len, err);
	close(fd);
	return rc;
}
