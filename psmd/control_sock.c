/* SPDX-License-Identifier: MIT */
/* control_sock.c - the admin socket's listening end: its directory, a stale socket, bind. */
#include "control_sock.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

/* mkdir -p of path's parent, 0755. */
static int control_sock_mkdirs(const char *path, struct psm_err *err)
{
	char dir[PATH_MAX];
	size_t n = strlen(path);

	if (n >= sizeof(dir))
		return psm_err_set(err, PSM_EINVAL, "socket %s: path too long", path);
	memcpy(dir, path, n + 1);
	for (char *p = dir + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0755) != 0 && errno != EEXIST)
			return psm_err_set(err, PSM_ESYS, "socket directory %s: %s", dir,
					   strerror(errno));
		*p = '/';
	}
	return PSM_OK;
}

/* Removes a stale socket at path; another psmd answering there is PSM_EUNAVAIL. */
static int control_sock_stale(const struct sockaddr_un *sa, struct psm_err *err)
{
	struct stat st;
	int fd;

	if (lstat(sa->sun_path, &st) != 0)
		return PSM_OK;
	if (!S_ISSOCK(st.st_mode))
		return psm_err_set(err, PSM_EINVAL, "socket %s: exists and is not a socket",
				   sa->sun_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0) {
		close(fd);
		return psm_err_set(err, PSM_EUNAVAIL, "socket %s: another daemon answers there",
				   sa->sun_path);
	}
	if (fd >= 0)
		close(fd);
	if (unlink(sa->sun_path) != 0)
		return psm_err_set(err, PSM_ESYS, "socket %s: %s", sa->sun_path, strerror(errno));
	return PSM_OK;
}

int control_sock_listen(const char *path, int *fd, struct psm_err *err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int rc;

	if (strlen(path) >= sizeof(sa.sun_path))
		return psm_err_set(err, PSM_EINVAL, "socket %s: path too long", path);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	rc = control_sock_mkdirs(path, err);
	if (rc == PSM_OK)
		rc = control_sock_stale(&sa, err);
	if (rc != PSM_OK)
		return rc;
	*fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (*fd < 0)
		return psm_err_set(err, PSM_ESYS, "socket: %s", strerror(errno));
	if (bind(*fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || chmod(path, 0666) != 0 ||
	    listen(*fd, SOMAXCONN) != 0)
		return psm_err_set(err, PSM_ESYS, "socket %s: %s", path, strerror(errno));
	return PSM_OK;
}
