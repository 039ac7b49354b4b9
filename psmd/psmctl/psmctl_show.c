/* SPDX-License-Identifier: MIT */
/* psmctl_show.c - psmd's replies printed for people (with --json the reply is printed instead). */
#include "psmctl.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CTL_CELL 512

static const cJSON *ctl_get(const cJSON *o, const char *key)
{
	return cJSON_GetObjectItemCaseSensitive(o, key);
}

static int ctl_bad_reply(struct ctl *c, const char *what)
{
	return ctl_fail(c, CTL_UNAVAIL, "malformed reply from psmd: %s", what);
}

static int ctl_list(struct ctl *c, const cJSON *reply, const char *key, int ncols,
		    const char *const *head,
		    void (*row)(const cJSON *item, int64_t now, char (*cells)[CTL_CELL]))
{
	const cJSON *arr = ctl_get(reply, key), *it;
	char cells[8][CTL_CELL];
	const char *ptrs[8];
	struct ctl_table t;
	int64_t now = (int64_t)time(NULL);
	int i, rc = CTL_OK;

	if (!cJSON_IsArray(arr))
		return ctl_bad_reply(c, key);
	if (c->json)
		return CTL_OK;
	ctl_table_init(&t, ncols, head);
	for (i = 0; i < ncols; i++)
		ptrs[i] = cells[i];
	cJSON_ArrayForEach(it, arr)
	{
		row(it, now, cells);
		if (ctl_table_add(&t, ptrs) != PSM_OK) {
			rc = ctl_fail(c, CTL_UNAVAIL, "out of memory");
			break;
		}
	}
	if (rc == CTL_OK)
		ctl_table_print(&t, stdout);
	ctl_table_free(&t);
	return rc;
}

static void ctl_grant_row(const cJSON *g, int64_t now, char (*cells)[CTL_CELL])
{
	ctl_value_text(ctl_get(g, "grant_id"), cells[0], CTL_CELL);
	ctl_value_text(ctl_get(g, "principal"), cells[1], CTL_CELL);
	ctl_value_text(ctl_get(g, "pattern"), cells[2], CTL_CELL);
	ctl_time_text(ctl_get(g, "not_after"), now, true, cells[3], CTL_CELL);
	ctl_value_text(ctl_get(g, "source"), cells[4], CTL_CELL);
	ctl_value_text(ctl_get(g, "reason"), cells[5], CTL_CELL);
}

int ctl_show_grants(struct ctl *c, const cJSON *reply)
{
	static const char *const head[] = {"ID",      "PRINCIPAL", "PATTERN",
					   "EXPIRES", "SOURCE",	   "REASON"};

	return ctl_list(c, reply, "grants", 6, head, ctl_grant_row);
}

static void ctl_session_row(const cJSON *s, int64_t now, char (*cells)[CTL_CELL])
{
	ctl_value_text(ctl_get(s, "session_id"), cells[0], CTL_CELL);
	ctl_value_text(ctl_get(s, "user"), cells[1], CTL_CELL);
	ctl_value_text(ctl_get(s, "service"), cells[2], CTL_CELL);
	ctl_value_text(ctl_get(s, "tty"), cells[3], CTL_CELL);
	ctl_value_text(ctl_get(s, "rhost"), cells[4], CTL_CELL);
	ctl_value_text(ctl_get(s, "pid"), cells[5], CTL_CELL);
	ctl_time_text(ctl_get(s, "expires"), now, true, cells[6], CTL_CELL);
}

/* With --fleet: the session's host (its origin) first, then the columns of this host's. */
static void ctl_fleet_session_row(const cJSON *s, int64_t now, char (*cells)[CTL_CELL])
{
	ctl_value_text(ctl_get(s, "origin"), cells[0], CTL_CELL);
	ctl_session_row(s, now, cells + 1);
}

int ctl_show_sessions(struct ctl *c, const cJSON *reply)
{
	static const char *const head[] = {"ID",    "USER", "SERVICE", "TTY",
					   "RHOST", "PID",  "EXPIRES"};
	static const char *const fleet_head[] = {"HOST", "ID",	  "USER", "SERVICE",
						 "TTY",	 "RHOST", "PID",  "EXPIRES"};

	if (cJSON_IsTrue(ctl_get(reply, "fleet")))
		return ctl_list(c, reply, "sessions", 8, fleet_head, ctl_fleet_session_row);
	return ctl_list(c, reply, "sessions", 7, head, ctl_session_row);
}

/* 1: a time, 2: an expiry time (null = never), 0: neither. */
static int ctl_time_key(const char *k)
{
	static const char *const keys[] = {"created",	"not_before", "since", "expires",
					   "not_after", "keep_until", NULL};
	int i;

	for (i = 0; keys[i] != NULL; i++)
		if (strcmp(k, keys[i]) == 0)
			return i < 3 ? 1 : 2;
	return 0;
}

void ctl_print_object(const cJSON *o, const char *prefix, int width)
{
	const cJSON *m;
	char val[1024], key[256], label[260];
	int64_t now = (int64_t)time(NULL), t;

	cJSON_ArrayForEach(m, o)
	{
		snprintf(key, sizeof(key), "%s%s", prefix, m->string);
		if (cJSON_IsObject(m) && m->child != NULL && strcmp(m->string, "metadata") != 0) {
			char sub[260];

			snprintf(sub, sizeof(sub), "%s.", key);
			ctl_print_object(m, sub, width);
			continue;
		}
		if (ctl_time_key(m->string) != 0 && (cJSON_IsNull(m) || ctl_int(m, &t)))
			ctl_time_text(m, now, ctl_time_key(m->string) == 2, val, sizeof(val));
		else
			ctl_value_text(m, val, sizeof(val));
		for (char *p = val; *p != '\0'; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				*p = '?';
		snprintf(label, sizeof(label), "%s:", key);
		printf("%-*s %s\n", width, label, val);
	}
}

int ctl_show_session(struct ctl *c, const cJSON *reply)
{
	const cJSON *s = ctl_get(reply, "session");

	if (!cJSON_IsObject(s))
		return ctl_bad_reply(c, "session");
	if (!c->json)
		ctl_print_object(s, "", 11);
	return CTL_OK;
}

/* The reply's figures as "key: value" lines (labels width wide), without ok, tag and drop. */
static int ctl_show_figures(struct ctl *c, const cJSON *reply, const char *drop, int width)
{
	cJSON *figs;

	if (c->json)
		return CTL_OK;
	figs = cJSON_Duplicate(reply, 1);
	if (figs == NULL)
		return ctl_fail(c, CTL_UNAVAIL, "out of memory");
	cJSON_DeleteItemFromObjectCaseSensitive(figs, "ok");
	cJSON_DeleteItemFromObjectCaseSensitive(figs, "tag");
	if (drop != NULL)
		cJSON_DeleteItemFromObjectCaseSensitive(figs, drop);
	ctl_print_object(figs, "", width);
	cJSON_Delete(figs);
	return CTL_OK;
}

static int ctl_show_field(struct ctl *c, const cJSON *reply, const char *key, const char *prefix)
{
	const cJSON *v = ctl_get(reply, key);
	char text[CTL_CELL];

	if (v == NULL)
		return ctl_bad_reply(c, key);
	if (!c->json) {
		ctl_value_text(v, text, sizeof(text));
		printf("%s%s\n", prefix, text);
	}
	return CTL_OK;
}

int ctl_show_grant(struct ctl *c, const cJSON *reply)
{
	return ctl_show_field(c, reply, "grant_id", "");
}

/* "VERB N NOUN" for the count at key: "revoked 1 grant", "removed 0 expired entries". */
static int ctl_show_count(struct ctl *c, const cJSON *reply, const char *key, const char *verb,
			  const char *one, const char *many)
{
	int64_t n;

	if (!ctl_int(ctl_get(reply, key), &n) || n < 0)
		return ctl_bad_reply(c, key);
	if (!c->json)
		printf("%s %lld %s\n", verb, (long long)n,
		       plural((unsigned long long)n, one, many));
	return CTL_OK;
}

int ctl_show_revoke(struct ctl *c, const cJSON *reply)
{
	return ctl_show_count(c, reply, "revoked", "revoked", "grant", "grants");
}

int ctl_show_cleanup(struct ctl *c, const cJSON *reply)
{
	return ctl_show_count(c, reply, "removed", "removed", "expired entry", "expired entries");
}

/* killed; or why the leader got no signal: the session had ended, the leader had exited,
 * or it could not be proven to be the session's leader still.  Another host's session: that
 * host ends its leader. */
int ctl_show_kill(struct ctl *c, const cJSON *reply)
{
	const cJSON *k = ctl_get(reply, "killed"), *l = ctl_get(reply, "leader");
	const cJSON *note = ctl_get(reply, "note");
	const char *leader = cJSON_IsString(l) ? l->valuestring : "";

	if (!cJSON_IsBool(k))
		return ctl_bad_reply(c, "killed");
	if (c->json)
		return CTL_OK;
	if (cJSON_IsTrue(k))
		puts("killed");
	else if (strcmp(leader, "exited") == 0)
		puts("session ended already (leader PID exited)");
	else if (strcmp(leader, "remote") == 0)
		printf("session ended here; its host %s ends its leader\n",
		       cJSON_IsString(ctl_get(reply, "host")) ? ctl_get(reply, "host")->valuestring
							      : "?");
	else if (strcmp(leader, "unproven") == 0)
		printf("session ended; its leader was not signalled: %s\n",
		       cJSON_IsString(note) ? note->valuestring : "its identity cannot be proven");
	else
		puts("not killed (the session had already ended)");
	return CTL_OK;
}

int ctl_show_metrics(struct ctl *c, const cJSON *reply)
{
	const cJSON *t = ctl_get(reply, "text");
	size_t n;

	if (!cJSON_IsString(t))
		return ctl_bad_reply(c, "text");
	if (c->json)
		return CTL_OK;
	n = strlen(t->valuestring);
	fputs(t->valuestring, stdout);
	if (n > 0 && t->valuestring[n - 1] != '\n')
		putchar('\n');
	return CTL_OK;
}

int ctl_show_policy(struct ctl *c, const char *verb, const cJSON *policy)
{
	const cJSON *w = ctl_get(policy, "warnings"), *it;
	struct policy_counts pc = {0};
	int64_t r, b, d;
	char text[160];

	if (!ctl_int(ctl_get(policy, "roles"), &r) || !ctl_int(ctl_get(policy, "bindings"), &b) ||
	    !ctl_int(ctl_get(policy, "denies"), &d) || (w != NULL && !cJSON_IsArray(w)))
		return ctl_bad_reply(c, "policy");
	cJSON_ArrayForEach(it, w)
	{
		if (cJSON_IsString(it))
			fprintf(stderr, "psmctl: %s\n", it->valuestring);
	}
	pc.roles = (unsigned)r;
	pc.bindings = (unsigned)b;
	pc.denies = (unsigned)d;
	pc.warnings = (unsigned)cJSON_GetArraySize(w);
	policy_counts_text(&pc, text, sizeof(text));
	if (!c->json)
		printf("%s: %s\n", verb, text);
	return CTL_OK;
}

int ctl_show_reload(struct ctl *c, const cJSON *reply)
{
	return ctl_show_policy(c, "policy reloaded", ctl_get(reply, "policy"));
}

/* One line per permission: "allow sudo:run (granted by ...)"; explain text indented below. */
static void ctl_check_line(const cJSON *res)
{
	const cJSON *ex = ctl_get(res, "explain");
	char perm[CTL_CELL], reason[CTL_CELL], text[4096], *save = NULL;
	bool allowed = cJSON_IsTrue(ctl_get(res, "allowed"));

	ctl_value_text(ctl_get(res, "perm"), perm, sizeof(perm));
	ctl_value_text(ctl_get(res, "reason"), reason, sizeof(reason));
	if (strcmp(reason, "-") == 0 || reason[0] == '\0')
		printf("%s %s\n", allowed ? "allow" : "deny", perm);
	else
		printf("%s %s (%s)\n", allowed ? "allow" : "deny", perm, reason);
	if (ex == NULL || cJSON_IsNull(ex))
		return;
	ctl_value_text(ex, text, sizeof(text));
	for (char *line = strtok_r(text, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save))
		printf("  %s\n", line);
}

int ctl_show_check(struct ctl *c, const cJSON *reply)
{
	const cJSON *allowed = ctl_get(reply, "allowed"), *res = ctl_get(reply, "results"), *r;

	if (!cJSON_IsBool(allowed) || !cJSON_IsArray(res))
		return ctl_bad_reply(c, "allowed, results");
	if (!c->json)
		cJSON_ArrayForEach(r, res) ctl_check_line(r);
	return cJSON_IsTrue(allowed) ? CTL_OK : CTL_DENIED;
}

int ctl_show_health(struct ctl *c, const cJSON *reply)
{
	static const char *const head[] = {"CHECK", "STATUS", "DETAIL"};
	const cJSON *h = ctl_get(reply, "healthy"), *checks = ctl_get(reply, "checks"), *it;
	char cells[3][CTL_CELL];
	const char *ptrs[3] = {cells[0], cells[1], cells[2]};
	struct ctl_table t;

	if (!cJSON_IsBool(h) || !cJSON_IsArray(checks))
		return ctl_bad_reply(c, "healthy, checks");
	if (!c->json) {
		printf("psmd: %s\n", cJSON_IsTrue(h) ? "healthy" : "degraded");
		ctl_table_init(&t, 3, head);
		cJSON_ArrayForEach(it, checks)
		{
			ctl_value_text(ctl_get(it, "name"), cells[0], CTL_CELL);
			snprintf(cells[1], CTL_CELL, "%s",
				 cJSON_IsTrue(ctl_get(it, "ok")) ? "ok" : "FAIL");
			ctl_value_text(ctl_get(it, "detail"), cells[2], CTL_CELL);
			if (ctl_table_add(&t, ptrs) != PSM_OK)
				break;
		}
		ctl_table_print(&t, stdout);
		ctl_table_free(&t);
	}
	return cJSON_IsTrue(h) ? CTL_OK : CTL_DENIED;
}

/* "fleet sync: off ..." without redis in psmd.conf, else the figures as "key: value" lines. */
int ctl_show_fleet(struct ctl *c, const cJSON *reply)
{
	const cJSON *on = ctl_get(reply, "enabled");

	if (!cJSON_IsBool(on))
		return ctl_bad_reply(c, "enabled");
	if (!c->json && !cJSON_IsTrue(on)) {
		puts("fleet sync: off (no redis in psmd.conf)");
		return CTL_OK;
	}
	return ctl_show_figures(c, reply, "enabled", 24);
}
