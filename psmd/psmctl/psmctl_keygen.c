/* SPDX-License-Identifier: MIT */
/* psmctl_keygen.c - psmctl keygen FILE [--name NAME]: a new fleet signing key (no daemon needed).
 */
#include "psmctl.h"

#include <limits.h>
#include <string.h>
#include <unistd.h>

#include "keys.h"

/* Its arguments: FILE, --name NAME or --name=NAME; -1 for --help. */
static int ctl_keygen_args(struct ctl *c, int argc, char **argv, const char **file,
			   const char **name)
{
	int i, npos = 0;
	bool opts = true;

	for (i = 0; i < argc; i++) {
		const char *a = argv[i];

		if (opts && strcmp(a, "--") == 0)
			opts = false;
		else if (opts && (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0))
			return -1;
		else if (opts && strncmp(a, "--name=", 7) == 0)
			*name = a + 7;
		else if (opts && strcmp(a, "--name") == 0 && i + 1 < argc)
			*name = argv[++i];
		else if (opts && a[0] == '-' && a[1] != '\0')
			return ctl_fail(
			    c, CTL_USAGE, "%s: %s (usage: psmctl keygen FILE [--name NAME])", a,
			    strcmp(a, "--name") == 0 ? "needs a value" : "unknown option");
		else if (npos++ == 0)
			*file = a;
	}
	if (npos != 1)
		return ctl_fail(c, CTL_USAGE, "%s (usage: psmctl keygen FILE [--name NAME])",
				npos == 0 ? "missing argument" : "too many arguments");
	return CTL_OK;
}

static void ctl_keygen_print(const struct ctl *c, const char *file, const char *name,
			     const char *line)
{
	cJSON *o;
	char *s;

	if (!c->json) {
		puts(line);
		return;
	}
	o = cJSON_CreateObject();
	cJSON_AddTrueToObject(o, "ok");
	cJSON_AddStringToObject(o, "file", file);
	cJSON_AddStringToObject(o, "name", name);
	cJSON_AddStringToObject(o, "trusted_keys_line", line);
	s = cJSON_PrintUnformatted(o);
	if (s != NULL)
		puts(s);
	cJSON_free(s);
	cJSON_Delete(o);
}

int ctl_keygen(struct ctl *c, int argc, char **argv)
{
	char host[HOST_NAME_MAX + 1] = "", line[KEYS_LINE_MAX];
	const char *file = NULL, *name = NULL;
	struct psm_err err = {0};
	int rc;

	c->what = "keygen";
	rc = ctl_keygen_args(c, argc, argv, &file, &name);
	if (rc != CTL_OK)
		return rc;
	ctl_errors_input();
	if (name == NULL) {
		if (gethostname(host, sizeof(host)) != 0)
			host[0] = '\0';
		host[HOST_NAME_MAX] = '\0';
		name = host;
		if (record_check_host("this host's name (choose one with --name)", name, &err))
			return ctl_fail(c, CTL_USAGE, "%s", err.msg);
	}
	if (keys_generate(file, name, line, sizeof(line), &err) != PSM_OK)
		return ctl_fail(c, psm_exit_code(err.code), "%s", err.msg);
	ctl_keygen_print(c, file, name, line);
	return CTL_OK;
}
