/* SPDX-License-Identifier: MIT */
/* dlopen_check.c - test tool: loads a PAM module with RTLD_NOW (no unresolved symbols). */
#include <dlfcn.h>
#include <stdio.h>

int main(int argc, char **argv)
{
	static const char *const syms[] = {"pam_sm_acct_mgmt",	   "pam_sm_authenticate",
					   "pam_sm_setcred",	   "pam_sm_open_session",
					   "pam_sm_close_session", "pam_sm_chauthtok"};
	void *h;
	size_t i;
	int rc = 0;

	if (argc != 2) {
		fputs("usage: dlopen_check MODULE.so\n", stderr);
		return 2;
	}
	h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
	if (h == NULL) {
		fprintf(stderr, "dlopen_check: %s\n", dlerror());
		return 1;
	}
	for (i = 0; i < sizeof(syms) / sizeof(syms[0]); i++) {
		if (dlsym(h, syms[i]) == NULL) {
			fprintf(stderr, "dlopen_check: %s: no %s\n", argv[1], syms[i]);
			rc = 1;
		}
	}
	dlclose(h);
	return rc;
}
