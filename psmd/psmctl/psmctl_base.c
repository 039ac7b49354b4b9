/* SPDX-License-Identifier: MIT */
/* psmctl_base.c - psmctl's one-line errors on standard error (and with --json on stdout too). */
#include "psmctl_base.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static bool ctl_err_json;     /* --json: errors as {"ok":false,"error":{...}} on stdout too */
static bool ctl_err_input;    /* the command line was fine: exit 2 is bad input, not usage */
static bool ctl_err_json_out; /* printed already: one JSON object per run */

void ctl_errors_json(bool on)
{
	ctl_err_json = on;
}

void ctl_errors_input(void)
{
	ctl_err_input = true;
}

/* The error's code name in psm's JSON output for an exit status. */
static const char *ctl_err_code(int status)
{
	switch (status) {
	case CTL_DENIED:
		return "denied";
	case CTL_USAGE:
		return ctl_err_input ? "bad_input" : "usage";
	case CTL_NOPERM:
		return "not_permitted";
	default:
		return "unavailable";
	}
}

/* {"ok":false,"error":{"code":..,"exit":N,"message":line}} on stdout, once. */
static void ctl_err_print_json(int status, const char *line)
{
	cJSON *o = cJSON_CreateObject(), *e;
	char *s = NULL;

	if (o != NULL && !ctl_err_json_out && cJSON_AddFalseToObject(o, "ok") &&
	    (e = cJSON_AddObjectToObject(o, "error")) != NULL &&
	    cJSON_AddStringToObject(e, "code", ctl_err_code(status)) &&
	    cJSON_AddNumberToObject(e, "exit", status) &&
	    cJSON_AddStringToObject(e, "message", line) &&
	    (s = cJSON_PrintUnformatted(o)) != NULL) {
		puts(s);
		ctl_err_json_out = true;
	}
	free(s);
	cJSON_Delete(o);
}

bool ctl_errors_printed(void)
{
	return ctl_err_json_out;
}

int ctl_fail(struct ctl *c, int status, const char *fmt, ...)
{
	char line[4096];
	va_list ap;
	int n;

	n = snprintf(line, sizeof(line), "psmctl: %s%s",
		     c != NULL && c->what != NULL ? c->what : "",
		     c != NULL && c->what != NULL ? ": " : "");
	va_start(ap, fmt);
	if (n >= 0 && (size_t)n < sizeof(line))
		vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s\n", line);
	if (ctl_err_json)
		ctl_err_print_json(status, line);
	return status;
}
