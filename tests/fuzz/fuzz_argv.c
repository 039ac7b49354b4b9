/* SPDX-License-Identifier: MIT */
/* fuzz_argv.c - psmctl's and psm-query's argument parsers on argument vectors (the input split on
 * NUL; first byte even: psmctl, odd: psm-query), up to the request built and validated: nothing
 * is sent, no table opened (corpus: tests/fuzz/corpus/argv). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

/* The programs' own files, for their static parsers; their main functions are not called. */
int fuzz_psmctl_main(int argc, char **argv);
int fuzz_query_main(int argc, char **argv);
#define main fuzz_psmctl_main
#include "../../psmd/psmctl/psmctl.c"
#undef main
#define main fuzz_query_main
#include "../../psm-query/psm_query.c"
#undef main

#define FUZZ_ARGV_MAX 64

/* psmctl: global options, the command, its arguments into a validated request (ctl_command
 * without the call); keygen, which writes files, is left out. */
static void fuzz_psmctl(int argc, char **argv)
{
	struct ctl c = {.socket = CTL_SOCKET_DEFAULT, .cl.fd = -1};
	const struct ctl_cmd *cmd;
	cJSON *req = NULL;
	char **pos = NULL;
	int st, used = 0, npos = 0, i = ctl_globals(&c, argc, argv, &st);

	if (i == 0 || i >= argc || strcmp(argv[i], "keygen") == 0)
		return;
	if (strcmp(argv[i], "help") == 0) {
		ctl_help(argc - i - 1, argv + i + 1);
		return;
	}
	cmd = ctl_find(argc - i, argv + i, &used);
	if (cmd == NULL)
		return;
	c.what = cmd->name;
	ctl_args_build(&c, cmd, argc - i - used, argv + i + used, &req, &pos, &npos);
	FUZZ_CHECK(npos <= argc, "%d positional arguments of %d", npos, argc);
	cJSON_Delete(req);
	free(pos);
}

/* psm-query: its options and positional arguments (the dispatch would open a table). */
static void fuzz_query(int argc, char **argv)
{
	struct psm_query_opts o;

	memset(&o, 0, sizeof(o));
	o.shm = "/psm";
	psm_query_args(argc, argv, &o);
	FUZZ_CHECK(o.npos >= 0 && o.npos <= PSM_QUERY_MAXPOS, "npos %d", o.npos);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf, *argv[FUZZ_ARGV_MAX + 1];
	int argc = 1;

	if (size == 0)
		return 0;
	buf = malloc(size); /* bytes 1.. and a closing NUL */
	if (buf == NULL)
		return 0;
	memcpy(buf, data + 1, size - 1);
	buf[size - 1] = '\0';
	argv[0] = data[0] % 2 ? "psm-query" : "psmctl";
	for (size_t off = 0; off < size - 1 && argc < FUZZ_ARGV_MAX; off += strlen(buf + off) + 1)
		argv[argc++] = buf + off;
	argv[argc] = NULL;
	if (data[0] % 2)
		fuzz_query(argc, argv);
	else
		fuzz_psmctl(argc, argv);
	free(buf);
	return 0;
}
