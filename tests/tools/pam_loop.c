/* SPDX-License-Identifier: MIT */
/* pam_loop.c - test tool: N x pam_start_confdir/pam_acct_mgmt/pam_end; checks codes and fds. */
#include <dirent.h>
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

#include <security/pam_appl.h>

static int pam_loop_conv(int n, const struct pam_message **msg, struct pam_response **resp,
			 void *data)
{
	(void)n, (void)msg, (void)resp, (void)data;
	return PAM_CONV_ERR;
}

/* Open file descriptors of this process. */
static int pam_loop_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1; /* the directory's own fd */
}

int main(int argc, char **argv)
{
	struct pam_conv conv = {pam_loop_conv, NULL};
	long i, n;
	int want, before, after, bad = 0;
	void *keep = NULL;

	if (argc < 6) {
		fputs("usage: pam_loop CONFDIR SERVICE USER N EXPECTED_RC [MODULE.so]\n", stderr);
		return 2;
	}
	n = atol(argv[4]);
	want = atoi(argv[5]);
	/* keeps the module loaded across pam_end (leak traces get real frames, and no
	 * reload per iteration); unloaded again at the end, so nothing stays reachable */
	if (argc > 6 && (keep = dlopen(argv[6], RTLD_NOW)) == NULL)
		return fprintf(stderr, "pam_loop: %s\n", dlerror()), 1;
	before = pam_loop_fds();
	for (i = 0; i < n; i++) {
		pam_handle_t *pamh = NULL;
		int rc = pam_start_confdir(argv[2], argv[3], &conv, argv[1], &pamh);

		if (rc == PAM_SUCCESS)
			rc = pam_acct_mgmt(pamh, 0);
		if (pamh != NULL)
			pam_end(pamh, rc);
		if (rc != want && bad++ < 5)
			fprintf(stderr, "pam_loop: iteration %ld: rc %d, want %d\n", i, rc, want);
	}
	after = pam_loop_fds();
	if (keep != NULL)
		dlclose(keep);
	printf("iterations=%ld bad=%d fds_before=%d fds_after=%d\n", n, bad, before, after);
	return bad != 0 || before != after ? 1 : 0;
}
