/* SPDX-License-Identifier: MIT */
/* psmctl_recover.c - psmctl recover: journal damage and quarantined grants, printed for people. */
#include "psmctl.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

static const cJSON *rv_get(const cJSON *o, const char *key)
{
	return cJSON_GetObjectItemCaseSensitive(o, key);
}

/* "quarantined: ID PRINCIPAL PATTERN (expires ..., reason ..., issuer ...)": what
 * --accept would put back, with what an admin needs to judge it. */
static void rv_print_grant(const cJSON *g, int64_t now)
{
	char id[64], p[512], pat[1100], exp[96], why[1100], who[512];

	ctl_value_text(rv_get(g, "grant_id"), id, sizeof(id));
	ctl_value_text(rv_get(g, "principal"), p, sizeof(p));
	ctl_value_text(rv_get(g, "pattern"), pat, sizeof(pat));
	ctl_time_text(rv_get(g, "not_after"), now, true, exp, sizeof(exp));
	ctl_value_text(rv_get(g, "reason"), why, sizeof(why));
	ctl_value_text(rv_get(g, "issuer"), who, sizeof(who));
	printf("quarantined: %s %s %s (expires %s, reason %s, issuer %s)\n", id, p, pat, exp, why,
	       who);
}

static void rv_print(const cJSON *dmg, const cJSON *q)
{
	const cJSON *it;
	int64_t now = (int64_t)time(NULL);

	if (cJSON_GetArraySize(dmg) == 0 && cJSON_GetArraySize(q) == 0) {
		puts("no journal damage, nothing in quarantine");
		return;
	}
	cJSON_ArrayForEach(it, dmg)
	    printf("damage: %s\n", cJSON_IsString(it) ? it->valuestring : "?");
	cJSON_ArrayForEach(it, q)
	{
		rv_print_grant(it, now);
	}
}

int ctl_show_recover(struct ctl *c, const cJSON *reply)
{
	const cJSON *dmg = rv_get(reply, "damage"), *q = rv_get(reply, "quarantined");
	const cJSON *dec = rv_get(reply, "decision");
	int64_t n;
	int nd;

	if (!cJSON_IsArray(dmg) || !cJSON_IsArray(q))
		return ctl_fail(c, CTL_UNAVAIL, "malformed reply from psmd: damage, quarantined");
	if (c->json)
		return CTL_OK;
	if (!cJSON_IsString(dec)) {
		rv_print(dmg, q);
		return CTL_OK;
	}
	if (!ctl_int(rv_get(reply, "decided"), &n))
		return ctl_fail(c, CTL_UNAVAIL, "malformed reply from psmd: decided");
	nd = cJSON_GetArraySize(dmg);
	printf("%s %lld quarantined %s; %d damaged %s acknowledged, health restored\n",
	       strcmp(dec->valuestring, "accept") == 0 ? "accepted" : "dropped (revoked)",
	       (long long)n, plural((unsigned long long)n, "grant", "grants"), nd,
	       plural((unsigned)nd, "region", "regions"));
	return CTL_OK;
}
