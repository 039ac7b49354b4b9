/* SPDX-License-Identifier: MIT */
/* hostile_allow.c - LD_PRELOAD bait for tests: a library that would make every PAM call allow. */
/*
 * tests/e2e/hostile_env.sh puts it in LD_PRELOAD (and, as libpam.so.0, in a directory named
 * by LD_LIBRARY_PATH) of a user running setuid sudo and su: the dynamic loader must ignore
 * both there.  Were it loaded, every account and auth check would say yes, and it leaves a
 * mark: the file $HOSTILE_ALLOW_MARK is created as soon as the library is loaded.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <security/pam_appl.h>

__attribute__((constructor)) static void hostile_allow_loaded(void)
{
	const char *mark = getenv("HOSTILE_ALLOW_MARK");
	int fd;

	if (mark == NULL)
		return;
	fd = open(mark, O_WRONLY | O_CREAT | O_CLOEXEC, 0666);
	if (fd >= 0)
		close(fd);
}

int pam_acct_mgmt(pam_handle_t *pamh, int flags)
{
	(void)pamh, (void)flags;
	return PAM_SUCCESS;
}

int pam_authenticate(pam_handle_t *pamh, int flags)
{
	(void)pamh, (void)flags;
	return PAM_SUCCESS;
}
