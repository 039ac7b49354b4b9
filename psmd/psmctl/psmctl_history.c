/* SPDX-License-Identifier: MIT */
/* psmctl_history.c - psmctl history: grants, revokes, expiries and sessions from psmd's journal,
 * one audit-like line each. */
#include "psmctl.h"

#include <stdio.h>
#include <string.h>

#define CTL_HIST_FIELD 512

/* " key=value" for a string member ("quoted" when it holds a blank or is empty); nothing when
 * absent or null. */
static void ctl_hist_field(const cJSON *ev, const char *key, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(ev, key);
	char text[CTL_HIST_FIELD];

	if (v == NULL || cJSON_IsNull(v))
		return;
	ctl_value_text(v, text, sizeof(text));
	if (text[0] == '\0' || strpbrk(text, " \t\"") != NULL)
		printf(" %s=\"%s\"", name, text);
	else
		printf(" %s=%s", name, text);
}

/* TIME EVENT principal=P pattern=P|service=S id=ID [by=B] [reason=R] [expires=T] */
static void ctl_hist_line(const cJSON *ev)
{
	char t[64], event[32];

	ctl_value_text(cJSON_GetObjectItemCaseSensitive(ev, "time"), t, sizeof(t));
	ctl_value_text(cJSON_GetObjectItemCaseSensitive(ev, "event"), event, sizeof(event));
	printf("%s %s", t, event);
	ctl_hist_field(ev, "principal", "principal");
	ctl_hist_field(ev, "pattern", "pattern");
	ctl_hist_field(ev, "service", "service");
	ctl_hist_field(ev, "id", "id");
	ctl_hist_field(ev, "by", "by");
	ctl_hist_field(ev, "reason", "reason");
	ctl_hist_field(ev, "not_after", "expires");
	ctl_hist_field(ev, "expires", "expires");
	putchar('\n');
}

int ctl_show_history(struct ctl *c, const cJSON *reply)
{
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(reply, "events"), *ev;

	if (!cJSON_IsArray(arr))
		return ctl_fail(c, CTL_UNAVAIL, "malformed reply from psmd: events");
	if (c->json)
		return CTL_OK;
	cJSON_ArrayForEach(ev, arr) ctl_hist_line(ev);
	return CTL_OK;
}
