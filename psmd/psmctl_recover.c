/* SPDX-License-Identifier: MIT */
/* psmctl_recover.c - psmctl recover: journal damage and quarantined grants, printed for people. */
#include "psmctl.h"

#include <stdio.h>
#include <string.h>

static const cJSON *rv_get(const cJSON *o, const char *key)
{
	return cJSON_GetObjectItemCaseSensitive(o, key);
}

static void rv_print(const cJSON *dmg, const cJSON *q)
{
	const cJSON *it;
	char p[512], pat[1100];

	if (cJSON_GetArraySize(dmg) == 0 && cJSON_GetArraySize(q) == 0) {
		puts("no journal damage, nothing in quarantine");
		return;
	}
	cJSON_ArrayForEach(it, dmg)
	    printf("damage: %s\n", cJSON_IsString(it) ? it->valuestring : "?");
	cJSON_ArrayForEach(it, q)
	{
		ctl_value_text(rv_get(it, "principal"), p, sizeof(p));
		ctl_value_text(rv_get(it, "pattern"), pat, sizeof(pat));
		printf("quarantined: %s %s %s\n",
		       cJSON_IsString(rv_get(it, "grant_id")) ? rv_get(it, "grant_id")->valuestring
							      : "?",
		       p, pat);
	}
}

int ctl_show_recover(struct ctl *c, const cJSON *reply)
{
	const cJSON *dmg = rv_get(reply, "damage"), *q = rv_get(reply, "quarantined");
	const cJSON *dec = rv_get(reply, "decision");
	int64_t n;

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
	printf("%s %lld quarantined grants; %d damaged regions acknowledged, health restored\n",
	       strcmp(dec->valuestring, "accept") == 0 ? "accepted" : "dropped (revoked)",
	       (long long)n, cJSON_GetArraySize(dmg));
	return CTL_OK;
}
