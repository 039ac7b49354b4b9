/* SPDX-License-Identifier: MIT */
/* psm_query.c - psm-query: command line, help and dispatch (SPEC section 6). */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "json_out.h"
#include "psm_query.h"

#define PSM_QUERY_VERSION "0.1.0"

static const char psm_query_help[] =
    "Usage: psm-query [--shm NAME] [--socket PATH] [--json] COMMAND ...\n"
    "Reads the psm table directly (read-only); works while psmd is down.\n"
    "When the table is not readable (not in its group), asks psmd's socket instead,\n"
    "about your own user only.\n"
    "\n"
    "Commands:\n"
    "  check USER [PERM] [--service S] [--rhost H] [--session ID] [--explain]\n"
    "        [--at T]  the decision at time T (ISO 8601 UTC, or 2h for 2 hours ago) from\n"
    "                  psmd's journal with today's policy (psmd: admins only)\n"
    "        decide as pam_psm would; PERM defaults to the permission of --service S\n"
    "        exit 0 allow, 1 deny, 2 usage or bad input, 3 table unavailable\n"
    "  user USER        active grants of USER and of its groups, one a line of\n"
    "                   tab-separated fields: principal pattern expires source\n"
    "  sessions [USER]  sessions in the table, one a line of tab-separated fields:\n"
    "                   id user service tty rhost pid created expires\n"
    "\n"
    "Options (also accepted after the arguments):\n"
    "  --shm NAME   table name (default /psm)\n"
    "  --socket PATH  psmd's socket (default " PSM_QUERY_SOCKET_DEFAULT ")\n"
    "  --json       one JSON object per result\n"
    "  --help       this text;  --version  the version\n";

static bool psm_query_json_errors; /* --json: errors as one JSON object on stdout too */
static bool psm_query_bad_input;   /* the command line was fine: exit 2 is bad input */

/* {"ok":false,"error":{"code":..,"exit":N,"message":line}} on stdout (psmctl(8) JSON OUTPUT). */
static void psm_query_fail_json(int status, const char *line)
{
	static const char *const codes[] = {"unavailable", "denied", "usage", "unavailable"};
	const char *code = status == PSM_QUERY_USAGE && psm_query_bad_input ? "bad_input"
			   : status >= 0 && status <= 3			    ? codes[status]
									    : "unavailable";
	struct json_out w;

	json_out_init(&w, stdout, 0);
	json_out_begin_object(&w);
	json_out_key(&w, "ok");
	json_out_bool(&w, false);
	json_out_key(&w, "error");
	json_out_begin_object(&w);
	json_out_kv_string(&w, "code", code);
	json_out_kv_int64(&w, "exit", status);
	json_out_kv_string(&w, "message", line);
	json_out_end_object(&w);
	json_out_end_object(&w);
	json_out_finish(&w, NULL);
	json_out_free(&w);
}

int psm_query_fail(int status, const char *fmt, ...)
{
	char line[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line + 11, sizeof(line) - 11, fmt, ap);
	va_end(ap);
	memcpy(line, "psm-query: ", 11);
	fprintf(stderr, "%s\n", line);
	if (psm_query_json_errors)
		psm_query_fail_json(status, line);
	return status;
}

/* Whether --json is among the options (before any "--"): errors in the arguments before it
 * are JSON too. */
static bool psm_query_wants_json(int argc, char **argv)
{
	for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
		if (strcmp(argv[i], "--json") == 0)
			return true;
	return false;
}

/* Options that take a value: where the value goes. */
static const char **psm_query_slot(struct psm_query_opts *o, const char *name)
{
	if (strcmp(name, "--shm") == 0)
		return &o->shm;
	if (strcmp(name, "--service") == 0)
		return &o->service;
	if (strcmp(name, "--rhost") == 0)
		return &o->rhost;
	if (strcmp(name, "--session") == 0)
		return &o->session;
	if (strcmp(name, "--socket") == 0)
		return &o->socket;
	if (strcmp(name, "--at") == 0)
		return &o->at;
	return NULL;
}

/* "--name VALUE" or "--name=VALUE"; returns the next index or -1. */
static int psm_query_valopt(struct psm_query_opts *o, int argc, char **argv, int i)
{
	char name[32];
	const char *eq = strchr(argv[i], '=');
	size_t n = eq ? (size_t)(eq - argv[i]) : strlen(argv[i]);
	const char **slot;

	if (n >= sizeof(name))
		return -1;
	memcpy(name, argv[i], n);
	name[n] = '\0';
	slot = psm_query_slot(o, name);
	if (slot == NULL)
		return -1;
	if (eq != NULL) {
		*slot = eq + 1;
		return i + 1;
	}
	if (i + 1 >= argc) {
		psm_query_fail(PSM_QUERY_USAGE, "option %s needs a value", name);
		return -2;
	}
	*slot = argv[i + 1];
	return i + 2;
}

/* -1: go on; else the exit status. */
static int psm_query_flag(struct psm_query_opts *o, const char *a)
{
	if (strcmp(a, "--json") == 0)
		o->json = true;
	else if (strcmp(a, "--explain") == 0)
		o->explain = true;
	else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)
		return fputs(psm_query_help, stdout), PSM_QUERY_OK;
	else if (strcmp(a, "--version") == 0)
		return puts("psm-query " PSM_QUERY_VERSION), PSM_QUERY_OK;
	else
		return psm_query_fail(PSM_QUERY_USAGE, "unknown option \"%s\" (see --help)", a);
	return -1;
}

static int psm_query_args(int argc, char **argv, struct psm_query_opts *o)
{
	bool opts_done = false;
	int i = 1, rc;

	while (i < argc) {
		const char *a = argv[i];

		if (opts_done || a[0] != '-' || a[1] == '\0') {
			if (o->npos == PSM_QUERY_MAXPOS)
				return psm_query_fail(PSM_QUERY_USAGE, "too many arguments");
			o->pos[o->npos++] = a;
			i++;
		} else if (strcmp(a, "--") == 0) {
			opts_done = true;
			i++;
		} else if ((rc = psm_query_valopt(o, argc, argv, i)) >= 0) {
			i = rc;
		} else if (rc == -2) {
			return PSM_QUERY_USAGE;
		} else if ((rc = psm_query_flag(o, a)) >= 0) {
			return rc;
		} else {
			i++;
		}
	}
	return -1;
}

struct psm_query_cmd {
	const char *name;
	int (*fn)(const struct psm_query_opts *o);
	int min, max;	 /* positional arguments after the command */
	bool check_opts; /* accepts --service/--rhost/--session/--explain */
};

static const struct psm_query_cmd psm_query_cmds[] = {
    {"check", psm_query_check, 1, 2, true},
    {"user", psm_query_user, 1, 1, false},
    {"sessions", psm_query_sessions, 0, 1, false},
};

static int psm_query_dispatch(const struct psm_query_opts *o)
{
	size_t i;

	if (o->npos == 0)
		return psm_query_fail(PSM_QUERY_USAGE, "no command (see --help)");
	for (i = 0; i < sizeof(psm_query_cmds) / sizeof(psm_query_cmds[0]); i++) {
		const struct psm_query_cmd *c = &psm_query_cmds[i];
		int nargs = o->npos - 1;

		if (strcmp(o->pos[0], c->name) != 0)
			continue;
		if (nargs < c->min || nargs > c->max)
			return psm_query_fail(PSM_QUERY_USAGE,
					      "%s: wrong number of arguments "
					      "(see --help)",
					      c->name);
		if (!c->check_opts && (o->service || o->rhost || o->session || o->explain || o->at))
			return psm_query_fail(PSM_QUERY_USAGE,
					      "%s: --service, --rhost, "
					      "--session, --explain and --at are for check",
					      c->name);
		psm_query_bad_input = true;
		return c->fn(o);
	}
	return psm_query_fail(PSM_QUERY_USAGE, "unknown command \"%s\" (see --help)", o->pos[0]);
}

int main(int argc, char **argv)
{
	struct psm_query_opts o;
	int rc;

	memset(&o, 0, sizeof(o));
	o.shm = "/psm";
	o.socket = PSM_QUERY_SOCKET_DEFAULT;
	psm_query_json_errors = psm_query_wants_json(argc, argv);
	rc = psm_query_args(argc, argv, &o);
	if (rc >= 0)
		return rc;
	rc = psm_query_dispatch(&o);
	if (fflush(stdout) != 0 || ferror(stdout))
		return psm_query_fail(PSM_QUERY_UNAVAIL, "cannot write the output");
	return rc;
}
