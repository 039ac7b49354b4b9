/* SPDX-License-Identifier: MIT */
/* psmctl_base.h - what every part of psmctl shares: the connection, the command row, exit codes,
 * errors. */
#ifndef PSMD_PSMCTL_BASE_H
#define PSMD_PSMCTL_BASE_H

#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "proto.h"
#include "proto_client.h"

#define CTL_SOCKET_DEFAULT "/run/psm/psmd.sock"
#define CTL_TIMEOUT_MS 10000 /* connect, and each reply */

/* Exit codes (SPEC §5). */
enum { CTL_OK = 0, CTL_DENIED = 1, CTL_USAGE = 2, CTL_UNAVAIL = 3, CTL_NOPERM = 4 };

struct ctl {
	const char *socket;
	bool json;
	const char *what;	/* the command, for "psmctl: <what>: <why>" */
	struct proto_client cl; /* cl.fd -1 until connected */
	struct proto_lines lines;
};

struct ctl_cmd;

/* Runs a command; returns the exit status. */
typedef int (*ctl_run_fn)(struct ctl *c, const struct ctl_cmd *cmd, char **pos, int npos,
			  cJSON *req);

struct ctl_cmd {
	const char *name;     /* "grant", "session show" */
	const char *op;	      /* protocol op; NULL for local commands */
	const char *synopsis; /* arguments and options */
	const char *help;     /* what it does */
	int min, max;	      /* positional arguments (max -1: any number) */
	/* Keys of the positional arguments (PK_COUNT: none); an array key takes the rest. */
	enum proto_key_id pos[2];
	enum proto_key_id alone; /* key of a lone argument instead (revoke GRANT_ID) */
	uint64_t opts;		 /* PROTO_BIT(PK_*) of the options it takes */
	ctl_run_fn run;		 /* NULL: send req, then print the reply with show */
	/* Prints a successful reply; returns the exit status. */
	int (*show)(struct ctl *c, const cJSON *reply);
};

/* "psmctl: <what>: <why>" on stderr (what: c->what, when c is not NULL); returns status.
 * After ctl_errors_json(true) (--json) the same line also goes to stdout, once, as
 * {"ok":false,"error":{"code":C,"exit":status,"message":LINE}}: C is usage until
 * ctl_errors_input() says the command line was parsed (then bad_input) for status 2,
 * denied, unavailable or not_permitted for 1, 3 and 4. */
void ctl_errors_json(bool on);
void ctl_errors_input(void);
/* Whether that error object was printed (a summary after it would be a second object). */
bool ctl_errors_printed(void);
int ctl_fail(struct ctl *c, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
