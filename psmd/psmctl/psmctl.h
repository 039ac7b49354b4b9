/* SPDX-License-Identifier: MIT */
/* psmctl.h - the pieces of psmctl (admin client): commands, socket calls, output. */
#ifndef PSMD_PSMCTL_H
#define PSMD_PSMCTL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <cjson/cJSON.h>

#include "plural.h"
#include "proto.h"
#include "psmctl_base.h"

#define PSMCTL_VERSION "0.1.0"
/* psmctl_args.c: the command line of one command into a request object. */
int ctl_args_build(struct ctl *c, const struct ctl_cmd *cmd, int argc, char **argv, cJSON **req,
		   char ***pos, int *npos);
/* Runs the protocol's own validation on req (exit 2 before any connection). */
int ctl_args_validate(struct ctl *c, const cJSON *req);

/* psmctl_io.c: one request, one reply. */
int ctl_call(struct ctl *c, const cJSON *req, struct proto_reply *reply);
void ctl_close(struct ctl *c);

/* psmctl.c: --json: reply (changed) printed as psm's JSON output (proto_present); returns
 * status, or the exit status of a failure. */
int ctl_print_json(struct ctl *c, cJSON *reply, int status);

/* psmctl_show.c: replies printed for people. */
int ctl_show_grant(struct ctl *c, const cJSON *reply);
int ctl_show_revoke(struct ctl *c, const cJSON *reply);
int ctl_show_grants(struct ctl *c, const cJSON *reply);
int ctl_show_check(struct ctl *c, const cJSON *reply);
int ctl_show_sessions(struct ctl *c, const cJSON *reply);
int ctl_show_session(struct ctl *c, const cJSON *reply);
int ctl_show_kill(struct ctl *c, const cJSON *reply);
int ctl_show_cleanup(struct ctl *c, const cJSON *reply);
int ctl_show_health(struct ctl *c, const cJSON *reply);
int ctl_show_metrics(struct ctl *c, const cJSON *reply);
int ctl_show_fleet(struct ctl *c, const cJSON *reply);
int ctl_show_reload(struct ctl *c, const cJSON *reply);
/* The "policy" object of a reload or a local check: its warnings on stderr, then (unless
 * --json) "VERB: 3 roles, 2 bindings, 1 deny rule, 1 warning". */
int ctl_show_policy(struct ctl *c, const char *verb, const cJSON *policy);
int ctl_show_recover(struct ctl *c, const cJSON *reply); /* psmctl_recover.c */
int ctl_show_history(struct ctl *c, const cJSON *reply); /* psmctl_history.c */
/* "key: value" lines, the labels width wide; nested objects as "parent.key". */
void ctl_print_object(const cJSON *o, const char *prefix, int width);
/* psmctl_stats.c: psmctl stats as lines a person reads. */
int ctl_show_stats(struct ctl *c, const cJSON *reply);

/* psmctl_table.c: aligned columns and time text. */
struct ctl_table {
	int ncols;
	const char *const *head;
	char **cells; /* nrows * ncols, owned */
	size_t nrows, cap;
};
void ctl_table_init(struct ctl_table *t, int ncols, const char *const *head);
/* Adds a row of ncols cells (copied; control characters shown as '?'). */
int ctl_table_add(struct ctl_table *t, const char *const *cells);
void ctl_table_print(const struct ctl_table *t, FILE *f);
void ctl_table_free(struct ctl_table *t);
/* An integral JSON number (|v| < 9e15) into *out. */
bool ctl_int(const cJSON *v, int64_t *out);
/* "2026-11-23T20:30:00Z (in 1h59m)" or "... (5m ago)"; an expiry (expiry true) in the
 * past reads "(expired 5m ago)", and null/absent "never" (else "-"). */
void ctl_time_text(const cJSON *v, int64_t now, bool expiry, char *buf, size_t n);
/* A member as text: string, integer, true/false, or compact JSON; "-" when absent/null. */
void ctl_value_text(const cJSON *v, char *buf, size_t n);
/* "1,234,567" (thousands separated); "-" for a negative n (unknown). */
void ctl_count_text(int64_t n, char *buf, size_t size);
/* "512 bytes", "16.0 KiB", "26.4 MiB", "1.2 GiB"; "-" for a negative n. */
void ctl_size_text(int64_t n, char *buf, size_t size);
/* Seconds as "45 s", "12 min 5 s", "3 h 12 min", "2 d 4 h": the two largest units, rounded
 * down; "-" for a negative s. */
void ctl_duration_text(int64_t s, char *buf, size_t size);

/* psmctl_file.c: commands that touch local files. */
#define CTL_EXPORT_FORMAT "psm-export"
#define CTL_EXPORT_VERSION 2 /* 1: times as integers, still imported */
int ctl_run_export(struct ctl *c, const struct ctl_cmd *cmd, char **pos, int npos, cJSON *req);
/* Reads a whole regular file (at most 256 MiB) into a NUL-terminated buffer *out. */
int ctl_read_file(struct ctl *c, const char *path, char **out, size_t *len);
/* psmctl_import.c: psmctl import FILE [--dry-run]. */
int ctl_run_import(struct ctl *c, const struct ctl_cmd *cmd, char **pos, int npos, cJSON *req);
int ctl_run_policy_check(struct ctl *c, const struct ctl_cmd *cmd, char **pos, int npos,
			 cJSON *req);

/* psmctl_keygen.c: psmctl keygen FILE [--name NAME] (its own options, no socket); -1 for
 * --help. */
int ctl_keygen(struct ctl *c, int argc, char **argv);

#endif
