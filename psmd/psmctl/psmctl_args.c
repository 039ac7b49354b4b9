/* SPDX-License-Identifier: MIT */
/* psmctl_args.c - one command's arguments and options into a protocol request, validated. */
#include "psmctl.h"

#include <stdlib.h>
#include <string.h>

enum ctl_opt_kind { OPT_STR, OPT_LIST, OPT_FLAG, OPT_ANY, OPT_ALL, OPT_ACCEPT, OPT_DROP };

struct ctl_opt {
	const char *name;
	enum proto_key_id key;
	enum ctl_opt_kind kind;
};

static const struct ctl_opt ctl_opts[] = {
    {"--ttl", PK_TTL, OPT_STR},		 {"--until", PK_UNTIL, OPT_STR},
    {"--from", PK_FROM, OPT_LIST},	 {"--hosts", PK_HOSTS, OPT_LIST},
    {"--session", PK_SESSION, OPT_STR},	 {"--reason", PK_REASON, OPT_STR},
    {"--any", PK_MODE, OPT_ANY},	 {"--all", PK_MODE, OPT_ALL},
    {"--service", PK_SERVICE, OPT_STR},	 {"--rhost", PK_RHOST, OPT_STR},
    {"--explain", PK_EXPLAIN, OPT_FLAG}, {"--dry-run", PK_DRY_RUN, OPT_FLAG},
    {"--strict", PK_STRICT, OPT_FLAG},	 {"--accept", PK_DECISION, OPT_ACCEPT},
    {"--drop", PK_DECISION, OPT_DROP},	 {"--fleet", PK_FLEET, OPT_FLAG},
    {"--since", PK_SINCE, OPT_STR},
};

#define CTL_NOPTS (sizeof(ctl_opts) / sizeof(ctl_opts[0]))

/* "a,b,c" as a JSON array of strings (empty items kept: validation names them). */
static cJSON *ctl_list(const char *s)
{
	cJSON *a = cJSON_CreateArray();
	const char *p = s;

	while (a != NULL) {
		size_t n = strcspn(p, ",");
		char *item = strndup(p, n);
		cJSON *it = item != NULL ? cJSON_CreateString(item) : NULL;

		free(item);
		if (it == NULL || !cJSON_AddItemToArray(a, it)) {
			cJSON_Delete(it);
			cJSON_Delete(a);
			return NULL;
		}
		if (p[n] == '\0')
			break;
		p += n + 1;
	}
	return a;
}

static cJSON *ctl_opt_value(const struct ctl_opt *o, const char *val)
{
	switch (o->kind) {
	case OPT_LIST:
		return ctl_list(val);
	case OPT_FLAG:
		return cJSON_CreateTrue();
	case OPT_ANY:
		return cJSON_CreateString("any");
	case OPT_ALL:
		return cJSON_CreateString("all");
	case OPT_ACCEPT:
		return cJSON_CreateString("accept");
	case OPT_DROP:
		return cJSON_CreateString("drop");
	default:
		return cJSON_CreateString(val);
	}
}

/* Sets req[key] = v (a repeated option: the last one wins). */
static int ctl_set(struct ctl *c, cJSON *req, enum proto_key_id k, cJSON *v)
{
	if (v == NULL)
		return ctl_fail(c, CTL_UNAVAIL, "out of memory");
	cJSON_DeleteItemFromObjectCaseSensitive(req, proto_key_name(k));
	if (!cJSON_AddItemToObject(req, proto_key_name(k), v)) {
		cJSON_Delete(v);
		return ctl_fail(c, CTL_UNAVAIL, "out of memory");
	}
	return CTL_OK;
}

static const struct ctl_opt *ctl_opt_find(const char *arg, size_t n)
{
	size_t i;

	for (i = 0; i < CTL_NOPTS; i++)
		if (strlen(ctl_opts[i].name) == n && strncmp(ctl_opts[i].name, arg, n) == 0)
			return &ctl_opts[i];
	return NULL;
}

/* --accept after --drop (or --any after --all): a usage error naming both, not the last
 * one winning. */
static bool ctl_opt_conflict(struct ctl *c, const struct ctl_opt *o, const cJSON *req)
{
	const cJSON *was = cJSON_GetObjectItemCaseSensitive(req, proto_key_name(o->key));
	cJSON *now;
	bool clash;

	if (o->kind < OPT_ANY || !cJSON_IsString(was))
		return false;
	now = ctl_opt_value(o, NULL);
	clash = now != NULL && strcmp(now->valuestring, was->valuestring) != 0;
	cJSON_Delete(now);
	if (clash)
		ctl_fail(c, CTL_USAGE, "%s and --%s: use one of them", o->name, was->valuestring);
	return clash;
}

/* One option at argv[*i] ("--ttl 2h" or "--ttl=2h"). */
static int ctl_option(struct ctl *c, const struct ctl_cmd *cmd, int argc, char **argv, int *i,
		      cJSON *req)
{
	const char *a = argv[*i], *eq = strchr(a, '=');
	size_t n = eq != NULL ? (size_t)(eq - a) : strlen(a);
	const struct ctl_opt *o = ctl_opt_find(a, n);
	const char *val = eq != NULL ? eq + 1 : NULL;

	if (o == NULL || !(cmd->opts & PROTO_BIT(o->key)))
		return ctl_fail(c, CTL_USAGE, "%.*s: unknown option (see psmctl help %s)", (int)n,
				a, cmd->name);
	if (o->kind >= OPT_FLAG && val != NULL)
		return ctl_fail(c, CTL_USAGE, "%s: takes no value", o->name);
	if (ctl_opt_conflict(c, o, req))
		return CTL_USAGE;
	if (o->kind < OPT_FLAG && val == NULL) {
		if (*i + 1 >= argc)
			return ctl_fail(c, CTL_USAGE, "%s: needs a value", o->name);
		val = argv[++*i];
	}
	return ctl_set(c, req, o->key, ctl_opt_value(o, val));
}

/* Options that apply to every command: --json, -s SOCKET. Returns 1 when a was one. */
static int ctl_global_option(struct ctl *c, int argc, char **argv, int *i, int *rc)
{
	const char *a = argv[*i];

	*rc = CTL_OK;
	if (strcmp(a, "--json") == 0) {
		c->json = true;
		ctl_errors_json(true);
		return 1;
	}
	if (strncmp(a, "--socket=", 9) == 0) {
		c->socket = a + 9;
		return 1;
	}
	if (strcmp(a, "-s") != 0 && strcmp(a, "--socket") != 0)
		return 0;
	if (*i + 1 >= argc)
		*rc = ctl_fail(c, CTL_USAGE, "%s: needs a socket path", a);
	else
		c->socket = argv[++*i];
	return 1;
}

/* Splits argv into options (applied to req) and positional arguments. */
static int ctl_split(struct ctl *c, const struct ctl_cmd *cmd, int argc, char **argv, cJSON *req,
		     char **pos, int *npos)
{
	int i, rc;
	bool opts = true;

	for (i = 0; i < argc; i++) {
		const char *a = argv[i];

		if (opts && strcmp(a, "--") == 0) {
			opts = false;
		} else if (opts && (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0)) {
			return -1;
		} else if (opts && ctl_global_option(c, argc, argv, &i, &rc)) {
			if (rc != CTL_OK)
				return rc;
		} else if (opts && a[0] == '-' && a[1] != '\0') {
			rc = ctl_option(c, cmd, argc, argv, &i, req);
			if (rc != CTL_OK)
				return rc;
		} else {
			pos[(*npos)++] = argv[i];
		}
	}
	return CTL_OK;
}

static bool ctl_key_is_array(enum proto_key_id k)
{
	return k == PK_PERMS || k == PK_FROM || k == PK_HOSTS;
}

/* Positional arguments into their request keys. */
static int ctl_positional(struct ctl *c, const struct ctl_cmd *cmd, cJSON *req, char **pos,
			  int npos)
{
	int i, rc;
	cJSON *arr;

	if (npos == 1 && cmd->alone != PK_COUNT)
		return ctl_set(c, req, cmd->alone, cJSON_CreateString(pos[0]));
	for (i = 0; i < 2 && i < npos && cmd->pos[i] != PK_COUNT; i++) {
		if (!ctl_key_is_array(cmd->pos[i])) {
			rc = ctl_set(c, req, cmd->pos[i], cJSON_CreateString(pos[i]));
		} else {
			arr = cJSON_CreateStringArray((const char *const *)pos + i, npos - i);
			rc = ctl_set(c, req, cmd->pos[i], arr);
		}
		if (rc != CTL_OK)
			return rc;
	}
	return CTL_OK;
}

static int ctl_count(struct ctl *c, const struct ctl_cmd *cmd, int npos)
{
	if (npos >= cmd->min && (cmd->max < 0 || npos <= cmd->max))
		return CTL_OK;
	return ctl_fail(c, CTL_USAGE, "%s (usage: psmctl %s %s)",
			npos < cmd->min ? "missing argument" : "too many arguments", cmd->name,
			cmd->synopsis);
}

/* An option the op requires (session extend --ttl). */
static int ctl_required(struct ctl *c, const struct ctl_cmd *cmd, const cJSON *req)
{
	const struct proto_op *op = proto_op_find(cmd->op);
	size_t i;

	for (i = 0; op != NULL && i < CTL_NOPTS; i++) {
		enum proto_key_id k = ctl_opts[i].key;

		if ((op->required & cmd->opts & PROTO_BIT(k)) &&
		    !cJSON_HasObjectItem(req, proto_key_name(k)))
			return ctl_fail(c, CTL_USAGE, "%s: required (usage: psmctl %s %s)",
					ctl_opts[i].name, cmd->name, cmd->synopsis);
	}
	return CTL_OK;
}

int ctl_args_validate(struct ctl *c, const cJSON *req)
{
	struct proto_req r;
	struct psm_err err = {0};
	size_t len;
	char *line = proto_print_line(req, &len);
	int rc;

	if (line == NULL)
		return ctl_fail(c, CTL_UNAVAIL, "out of memory");
	rc = proto_parse_request(line, len, &r, &err);
	free(line);
	if (rc != PSM_OK)
		rc = ctl_fail(c, rc == PSM_ENOMEM ? CTL_UNAVAIL : proto_code_exit(r.ecode), "%s",
			      err.msg);
	proto_req_free(&r);
	return rc;
}

int ctl_args_build(struct ctl *c, const struct ctl_cmd *cmd, int argc, char **argv, cJSON **req,
		   char ***pos, int *npos)
{
	int rc;

	*npos = 0;
	*pos = calloc((size_t)argc + 1, sizeof(char *));
	*req = cJSON_CreateObject();
	if (*pos == NULL || *req == NULL)
		return ctl_fail(c, CTL_UNAVAIL, "out of memory");
	if (cmd->op != NULL && cJSON_AddStringToObject(*req, "op", cmd->op) == NULL)
		return ctl_fail(c, CTL_UNAVAIL, "out of memory");
	rc = ctl_split(c, cmd, argc, argv, *req, *pos, npos);
	if (rc == CTL_OK)
		rc = ctl_count(c, cmd, *npos);
	if (rc == CTL_OK)
		rc = ctl_positional(c, cmd, *req, *pos, *npos);
	if (rc == CTL_OK && cmd->op != NULL)
		rc = ctl_required(c, cmd, *req);
	if (rc == CTL_OK && cmd->op != NULL)
		rc = ctl_args_validate(c, *req);
	return rc;
}
