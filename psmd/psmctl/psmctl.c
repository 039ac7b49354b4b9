/* SPDX-License-Identifier: MIT */
/* psmctl.c - psmctl, the admin client of psmd's socket: global options, command table, help. */
#include "psmctl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define B(k) PROTO_BIT(PK_##k)
#define NOPOS {PK_COUNT, PK_COUNT}, PK_COUNT

static const struct ctl_cmd ctl_cmds[] = {
    {"grant",
     "grant",
     "USER|%GROUP PATTERN [--ttl T | --until ISO8601] [--from CIDR,...] "
     "[--hosts NAME|LABEL,...] [--session ID] [--reason TEXT]",
     "grant PATTERN to a user or %group, for a TTL, until a time, or for good; "
     "prints the grant id",
     2,
     2,
     {PK_PRINCIPAL, PK_PERM},
     PK_COUNT,
     B(TTL) | B(UNTIL) | B(FROM) | B(HOSTS) | B(SESSION) | B(REASON),
     NULL,
     ctl_show_grant},
    {"revoke",
     "revoke",
     "GRANT_ID | USER|%GROUP PATTERN",
     "revoke one grant by id, or every grant of USER for exactly PATTERN",
     1,
     2,
     {PK_PRINCIPAL, PK_PERM},
     PK_GRANT_ID,
     0,
     NULL,
     ctl_show_revoke},
    {"grants",
     "grants",
     "[USER|%GROUP]",
     "list active grants (of one user or group)",
     0,
     1,
     {PK_PRINCIPAL, PK_COUNT},
     PK_COUNT,
     0,
     NULL,
     ctl_show_grants},
    {"check",
     "check",
     "USER PERM... [--any|--all] [--service S] [--rhost H] [--explain]",
     "decide as PAM would: a line per PERM; exit 0 allowed, 1 denied (all PERMs "
     "by default, --any: one is enough)",
     2,
     1 + PROTO_PERMS_MAX,
     {PK_USER, PK_PERMS},
     PK_COUNT,
     B(MODE) | B(SERVICE) | B(RHOST) | B(EXPLAIN),
     NULL,
     ctl_show_check},
    {"sessions",
     "sessions",
     "[USER] [--fleet]",
     "list this host's login sessions (of one user); --fleet: every host's, with a HOST "
     "column",
     0,
     1,
     {PK_USER, PK_COUNT},
     PK_COUNT,
     B(FLEET),
     NULL,
     ctl_show_sessions},
    {"session show",
     "session_show",
     "ID",
     "show one session",
     1,
     1,
     {PK_SESSION_ID, PK_COUNT},
     PK_COUNT,
     0,
     NULL,
     ctl_show_session},
    {"session extend",
     "session_extend",
     "ID --ttl T",
     "give a session T more time from now",
     1,
     1,
     {PK_SESSION_ID, PK_COUNT},
     PK_COUNT,
     B(TTL),
     NULL,
     ctl_show_session},
    {"session kill",
     "session_kill",
     "ID",
     "end a session: invalidate it and signal its session leader (another host's "
     "session: that host's psmd signals it)",
     1,
     1,
     {PK_SESSION_ID, PK_COUNT},
     PK_COUNT,
     0,
     NULL,
     ctl_show_kill},
    {"cleanup", "cleanup", "", "remove expired grants and sessions now; prints the count", 0, 0,
     NOPOS, 0, NULL, ctl_show_cleanup},
    {"stats", "stats", "", "print psmd's figures", 0, 0, NOPOS, 0, NULL, ctl_show_stats},
    {"health", "health", "", "print psmd's health checks; exit 0 healthy, 1 degraded", 0, 0, NOPOS,
     0, NULL, ctl_show_health},
    {"metrics", "metrics", "", "print the Prometheus metrics text", 0, 0, NOPOS, 0, NULL,
     ctl_show_metrics},
    {"fleet", "fleet", "",
     "fleet sync through Redis: address and role, connected since when, last applied "
     "entry, lag, records applied and dropped by reason, writes queued, resyncs, keys",
     0, 0, NOPOS, 0, NULL, ctl_show_fleet},
    {"export", "export", "[FILE]",
     "write all grants and sessions as JSON to FILE (atomically, mode 0600) or stdout", 0, 1, NOPOS,
     0, ctl_run_export, NULL},
    {"import", "import", "FILE [--dry-run]",
     "load grants and sessions from an export file (--dry-run: only check them); an invalid "
     "entry is named on stderr and not sent, and makes the exit status 2",
     1, 1, NOPOS, B(DRY_RUN), ctl_run_import, NULL},
    {"policy check", NULL, "FILE [--strict]",
     "validate a policy file locally (no daemon needed); users and groups NSS does not "
     "know are warnings (--strict: errors); exit 0 valid, 2 not",
     1, 1, NOPOS, B(STRICT), ctl_run_policy_check, NULL},
    {"policy reload", "reload", "[--strict]",
     "make psmd reload its configuration and policy (--strict: refuse a policy with "
     "warnings)",
     0, 0, NOPOS, B(STRICT), NULL, ctl_show_reload},
    {"recover", "recover", "[--accept | --drop]",
     "after journal damage: list what was lost and the grants in quarantine; --accept "
     "puts them back, --drop revokes them (both end the degraded health)",
     0, 0, NOPOS, B(DECISION), NULL, ctl_show_recover},
    {"history",
     "history",
     "[USER|%GROUP] [--since T] [--until T]",
     "grants, revokes, expiries and session events from psmd's journal, oldest first, one "
     "line each (T: ISO 8601 UTC, or a duration ago such as 2h)",
     0,
     1,
     {PK_PRINCIPAL, PK_COUNT},
     PK_COUNT,
     B(SINCE) | B(UNTIL),
     NULL,
     ctl_show_history},
    {"keygen", NULL, "FILE [--name NAME]",
     "write a new Ed25519 fleet signing key to FILE (mode 0600, never over an existing "
     "file; no daemon needed) and print its trusted_keys line, named NAME (default: this "
     "host's name)",
     1, 1, NOPOS, 0, NULL, NULL},
};

#define CTL_NCMDS (sizeof(ctl_cmds) / sizeof(ctl_cmds[0]))

static void ctl_usage_cmd(FILE *f, const struct ctl_cmd *cmd, bool long_help)
{
	if (!long_help) {
		fprintf(f, "  %s%s%s\n      %s\n", cmd->name, cmd->synopsis[0] ? " " : "",
			cmd->synopsis, cmd->help);
		return;
	}
	fprintf(f, "usage: psmctl [-s SOCKET] [--json] %s%s%s\n  %s\n", cmd->name,
		cmd->synopsis[0] ? " " : "", cmd->synopsis, cmd->help);
}

static void ctl_usage(FILE *f)
{
	size_t i;

	fputs("usage: psmctl [-s SOCKET] [--json] COMMAND [ARG...] [OPTION...]\n\n"
	      "  -s, --socket SOCKET  psmd's admin socket (default " CTL_SOCKET_DEFAULT ")\n"
	      "  --json               print the reply as JSON\n"
	      "  -h, --help           this text; psmctl help COMMAND: one command\n"
	      "  -V, --version        print the version\n\ncommands:\n",
	      f);
	for (i = 0; i < CTL_NCMDS; i++)
		ctl_usage_cmd(f, &ctl_cmds[i], false);
	fputs("\nexit status: 0 ok or allowed, 1 denied (check) or degraded (health), 2 usage\n"
	      "or bad input, 3 psmd unavailable, 4 not permitted.  See psmctl(8).\n",
	      f);
}

/* Commands named by the words at argv (one word, or two for session and policy). */
static const struct ctl_cmd *ctl_find(int argc, char **argv, int *used)
{
	size_t i, n;

	for (i = 0; i < CTL_NCMDS; i++) {
		const char *sp = strchr(ctl_cmds[i].name, ' ');

		n = sp != NULL ? (size_t)(sp - ctl_cmds[i].name) : strlen(ctl_cmds[i].name);
		if (strncmp(argv[0], ctl_cmds[i].name, n) != 0 || argv[0][n] != '\0')
			continue;
		if (sp == NULL) {
			*used = 1;
			return &ctl_cmds[i];
		}
		if (argc > 1 && strcmp(argv[1], sp + 1) == 0) {
			*used = 2;
			return &ctl_cmds[i];
		}
	}
	return NULL;
}

/* psmctl help [COMMAND [SUB]]: every command whose name starts with the words given. */
static int ctl_help(int argc, char **argv)
{
	char want[64] = "";
	size_t i, n;
	bool found = false;

	if (argc == 0) {
		ctl_usage(stdout);
		return CTL_OK;
	}
	snprintf(want, sizeof(want), "%s%s%s", argv[0], argc > 1 ? " " : "",
		 argc > 1 ? argv[1] : "");
	n = strlen(want);
	for (i = 0; i < CTL_NCMDS; i++) {
		const char *name = ctl_cmds[i].name;

		if (strncmp(name, want, n) == 0 && (name[n] == '\0' || name[n] == ' ')) {
			ctl_usage_cmd(stdout, &ctl_cmds[i], true);
			found = true;
		}
	}
	if (!found)
		return ctl_fail(NULL, CTL_USAGE, "help: unknown command \"%s\"", want);
	return CTL_OK;
}

int ctl_print_json(struct ctl *c, cJSON *reply, int status)
{
	struct psm_err err = {0};
	char *s = NULL;

	if (proto_present(reply, &err) != PSM_OK || (s = cJSON_PrintUnformatted(reply)) == NULL) {
		free(s);
		return ctl_fail(c, CTL_UNAVAIL, "out of memory");
	}
	puts(s);
	free(s);
	return status;
}

/* Sends the request and shows the reply; commands with their own run hook do the rest. */
static int ctl_exec(struct ctl *c, const struct ctl_cmd *cmd, char **pos, int npos, cJSON *req)
{
	struct proto_reply reply;
	int rc;

	if (cmd->run != NULL)
		return cmd->run(c, cmd, pos, npos, req);
	rc = ctl_call(c, req, &reply);
	if (rc != CTL_OK)
		return rc;
	rc = cmd->show(c, reply.root);
	if (c->json && (rc == CTL_OK || rc == CTL_DENIED))
		rc = ctl_print_json(c, reply.root, rc);
	proto_reply_free(&reply);
	return rc;
}

static int ctl_command(struct ctl *c, int argc, char **argv)
{
	const struct ctl_cmd *cmd;
	cJSON *req = NULL;
	char **pos = NULL;
	int used = 0, npos = 0, rc;

	if (strcmp(argv[0], "help") == 0)
		return ctl_help(argc - 1, argv + 1);
	if (strcmp(argv[0], "keygen") == 0) /* local, with its own option (psmctl_keygen.c) */
		return (rc = ctl_keygen(c, argc - 1, argv + 1)) < 0 ? ctl_help(1, argv) : rc;
	cmd = ctl_find(argc, argv, &used);
	if (cmd == NULL) {
		if (argc > 1 && (strcmp(argv[0], "session") == 0 || strcmp(argv[0], "policy") == 0))
			return ctl_fail(NULL, CTL_USAGE,
					"%s %s: unknown command (see psmctl help %s)", argv[0],
					argv[1], argv[0]);
		return ctl_fail(NULL, CTL_USAGE, "%s: unknown command (see psmctl --help)",
				argv[0]);
	}
	c->what = cmd->name;
	rc = ctl_args_build(c, cmd, argc - used, argv + used, &req, &pos, &npos);
	if (rc == CTL_OK) {
		ctl_errors_input();
		rc = ctl_exec(c, cmd, pos, npos, req);
	} else if (rc < 0) /* --help after the command */
		rc = ctl_help(used, argv);
	cJSON_Delete(req);
	free(pos);
	ctl_close(c);
	return rc;
}

/* Global options before the command: returns the index of the command word, or 0 with *st. */
static int ctl_globals(struct ctl *c, int argc, char **argv, int *st)
{
	int i;

	*st = CTL_OK;
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i];

		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			ctl_usage(stdout);
			return 0;
		}
		if (strcmp(a, "-V") == 0 || strcmp(a, "--version") == 0) {
			puts("psmctl " PSMCTL_VERSION);
			return 0;
		}
		if (strcmp(a, "--json") == 0) {
			c->json = true;
			ctl_errors_json(true);
		} else if (strcmp(a, "-s") == 0 || strcmp(a, "--socket") == 0) {
			if (++i == argc) {
				*st = ctl_fail(NULL, CTL_USAGE, "%s: needs a socket path", a);
				return 0;
			}
			c->socket = argv[i];
		} else if (strncmp(a, "--socket=", 9) == 0) {
			c->socket = a + 9;
		} else {
			*st =
			    ctl_fail(NULL, CTL_USAGE, "%s: unknown option (see psmctl --help)", a);
			return 0;
		}
	}
	return i;
}

int main(int argc, char **argv)
{
	struct ctl c = {.socket = CTL_SOCKET_DEFAULT, .cl.fd = -1};
	int st, i = ctl_globals(&c, argc, argv, &st);

	if (i >= argc) {
		ctl_usage(stderr);
		return CTL_USAGE;
	}
	if (i > 0)
		st = ctl_command(&c, argc - i, argv + i);
	/* A full disk or a closed pipe must not pass for a complete export or listing. */
	if (fflush(stdout) != 0 || ferror(stdout))
		return ctl_fail(NULL, psm_exit_code(PSM_ESYS), "write to standard output: %s",
				strerror(errno));
	return st;
}
