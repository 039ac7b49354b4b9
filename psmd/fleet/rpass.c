/* SPDX-License-Identifier: MIT */
/* rpass.c - reads and checks the Redis password_file (mode, owner, one line), then wipes it. */
#include "rpass.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define RPASS_FILE_MAX (RPASS_USER_MAX + 1 + RPASS_MAX + 2)

static int rpass_bad(const char *path, struct psm_err *err, const char *why)
{
	return psm_err_set(err, PSM_EINVAL, "redis.password_file \"%s\": %s", path, why);
}

/* The file's type, owner and mode, on the open descriptor. */
static int rpass_stat(int fd, const char *path, struct psm_err *err)
{
	struct stat st;

	if (fstat(fd, &st) != 0)
		return rpass_bad(path, err, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return rpass_bad(path, err, "not a regular file");
	if (st.st_uid != 0 && st.st_uid != geteuid())
		return psm_err_set(err, PSM_EINVAL,
				   "redis.password_file \"%s\": owned by uid %u, not by root or "
				   "psmd's uid %u",
				   path, (unsigned)st.st_uid, (unsigned)geteuid());
	if ((st.st_mode & 077) != 0)
		return psm_err_set(err, PSM_EINVAL,
				   "redis.password_file \"%s\": mode %04o lets group or others in "
				   "(chmod 600)",
				   path, (unsigned)(st.st_mode & 07777));
	return PSM_OK;
}

/* Reads the whole (small) file into buf; *len bytes. */
static int rpass_read(int fd, const char *path, char *buf, size_t size, size_t *len,
		      struct psm_err *err)
{
	ssize_t n;

	*len = 0;
	do {
		n = read(fd, buf + *len, size - *len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return rpass_bad(path, err, strerror(errno));
		*len += (size_t)n;
	} while (n > 0 && *len < size);
	if (*len == size)
		return rpass_bad(path, err, "longer than one line of 640 bytes");
	return PSM_OK;
}

/* One line, no control characters, split at the first space into user and password. */
static int rpass_parse(char *buf, size_t len, const char *path, struct rpass *p,
		       struct psm_err *err)
{
	char *sp;

	if (len > 0 && buf[len - 1] == '\n')
		len--;
	if (len > 0 && buf[len - 1] == '\r')
		len--;
	buf[len] = '\0';
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)buf[i] < 0x20 || buf[i] == 0x7f)
			return rpass_bad(path, err, "must be one line: [user ]password");
	sp = strchr(buf, ' ');
	if (sp == buf || (sp != NULL ? sp[1] : buf[0]) == '\0')
		return rpass_bad(path, err, "empty user or password");
	if (sp != NULL && (size_t)(sp - buf) > RPASS_USER_MAX)
		return rpass_bad(path, err, "user name longer than 128 bytes");
	if (sp != NULL) {
		memcpy(p->user, buf, (size_t)(sp - buf));
		p->user[sp - buf] = '\0';
	}
	sp = sp != NULL ? sp + 1 : buf;
	if (strlen(sp) > RPASS_MAX)
		return rpass_bad(path, err, "password longer than 512 bytes");
	memcpy(p->pass, sp, strlen(sp) + 1);
	return PSM_OK;
}

int rpass_load(const char *path, struct rpass *p, struct psm_err *err)
{
	char buf[RPASS_FILE_MAX + 1];
	size_t len = 0;
	int fd, rc;

	memset(p, 0, sizeof(*p));
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return rpass_bad(path, err,
				 errno == ELOOP ? "is a symbolic link" : strerror(errno));
	rc = rpass_stat(fd, path, err);
	if (rc == PSM_OK)
		rc = rpass_read(fd, path, buf, sizeof(buf) - 1, &len, err);
	close(fd);
	if (rc == PSM_OK)
		rc = rpass_parse(buf, len, path, p, err);
	explicit_bzero(buf, sizeof(buf));
	if (rc != PSM_OK)
		rpass_wipe(p);
	return rc;
}

void rpass_wipe(struct rpass *p)
{
	explicit_bzero(p, sizeof(*p));
}

int rpass_check(const char *path, struct psm_err *err)
{
	struct rpass p;
	int rc = rpass_load(path, &p, err);

	rpass_wipe(&p);
	return rc;
}
