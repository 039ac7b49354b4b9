/* SPDX-License-Identifier: MIT */
/* metrics_fleet.c - fleet sync's figures: the fleet op, its health check, its metrics. */
#include "metrics_fleet.h"

#include <stdint.h>
#include <time.h>

#include "daemon.h"
#include "fleet.h"
#include "metrics_out.h"
#include "ops_reply.h"
#include "plural.h"

static cJSON *metrics_fleet_records(const struct fleet_stats *st)
{
	cJSON *o = cJSON_CreateObject();

	for (int i = 0; o != NULL && i < SIGN_NRESULTS; i++)
		if (!cJSON_AddNumberToObject(o, sign_result_name((enum sign_result)i),
					     (double)st->records[i])) {
			cJSON_Delete(o);
			return NULL;
		}
	return o;
}

/* A text member, or null when it is empty (no role while down, no entry applied yet). */
static bool metrics_add_text(cJSON *out, const char *key, const char *s)
{
	return (s[0] != '\0' ? cJSON_AddStringToObject(out, key, s)
			     : cJSON_AddNullToObject(out, key)) != NULL;
}

static bool metrics_fleet_link(cJSON *out, const struct fleet_stats *st)
{
	return metrics_add_text(out, "address", st->addr) &&
	       metrics_add_text(out, "read_address", st->read_addr) &&
	       metrics_add_text(out, "role", st->role) &&
	       cJSON_AddBoolToObject(out, "connected", st->connected) != NULL &&
	       (st->since > 0 ? cJSON_AddNumberToObject(out, "since", (double)st->since)
			      : cJSON_AddNullToObject(out, "since")) != NULL &&
	       metrics_add_text(out, "last_id", st->last_id);
}

static bool metrics_fleet_counts(cJSON *out, const struct fleet_stats *st)
{
	return cJSON_AddNumberToObject(out, "lag_ms", (double)st->lag_ms) != NULL &&
	       cJSON_AddNumberToObject(out, "lag_entries", (double)st->lag_entries) != NULL &&
	       cJSON_AddNumberToObject(out, "oldest_unapplied_ms",
				       (double)st->oldest_unapplied_ms) != NULL &&
	       cJSON_AddNumberToObject(out, "queued", (double)st->queued) != NULL &&
	       cJSON_AddNumberToObject(out, "resyncs", (double)st->resyncs) != NULL &&
	       cJSON_AddNumberToObject(out, "trusted_keys", (double)st->trusted_keys) != NULL &&
	       cJSON_AddBoolToObject(out, "signing", st->signing) != NULL;
}

int metrics_fleet(struct psmd *d, cJSON *out, struct psm_err *err)
{
	struct fleet_stats st;

	if (!cJSON_AddBoolToObject(out, "enabled", d->fleet != NULL))
		return psm_err_set(err, PSM_ENOMEM, "fleet: out of memory");
	if (d->fleet == NULL)
		return PSM_OK;
	fleet_stats(d->fleet, &st);
	if (!metrics_fleet_link(out, &st) || !metrics_fleet_counts(out, &st))
		return psm_err_set(err, PSM_ENOMEM, "fleet: out of memory");
	return ops_add(out, "records", metrics_fleet_records(&st), err);
}

int metrics_fleet_check(struct psmd *d, cJSON *checks, bool *healthy)
{
	struct fleet_stats st;
	int64_t ago;

	if (d->fleet == NULL)
		return PSM_OK;
	fleet_stats(d->fleet, &st);
	ago = st.since > 0 ? (int64_t)time(NULL) - st.since : -1;
	if (!st.connected)
		return metrics_check(checks, "fleet", false, healthy,
				     "redis %s unreachable%s%lld s; %llu local %s queued",
				     st.addr[0] != '\0' ? st.addr : "(none found)",
				     ago >= 0 ? " for " : ", never connected, up ",
				     (long long)(ago >= 0 ? ago : (int64_t)time(NULL) - d->started),
				     (unsigned long long)st.queued,
				     plural(st.queued, "write", "writes"));
	if (st.oldest_unapplied_ms > METRICS_FLEET_LAG_MAX_MS)
		return metrics_check(checks, "fleet", false, healthy,
				     "redis %s: a feed entry read %lld s ago is not applied yet "
				     "(over %d s); %llu waiting",
				     st.addr, (long long)(st.oldest_unapplied_ms / 1000),
				     METRICS_FLEET_LAG_MAX_MS / 1000,
				     (unsigned long long)st.lag_entries);
	return metrics_check(checks, "fleet", true, healthy,
			     "redis %s (%s) connected %lld s, lag %lld ms, %llu waiting", st.addr,
			     st.role, (long long)ago, (long long)st.lag_ms,
			     (unsigned long long)st.lag_entries);
}

void metrics_fleet_text(struct metrics_buf *b, struct psmd *d)
{
	struct fleet_stats st;
	int64_t lag;

	if (d->fleet == NULL)
		return;
	fleet_stats(d->fleet, &st);
	lag = st.oldest_unapplied_ms > st.lag_ms ? st.oldest_unapplied_ms : st.lag_ms;
	metrics_head(b, "psm_fleet_connected", "gauge", "1 while Redis is connected (fleet sync).");
	metrics_printf(b, "psm_fleet_connected %d\n", st.connected ? 1 : 0);
	metrics_head(b, "psm_fleet_lag_seconds", "gauge",
		     "From Redis taking a feed entry to its being applied here (the last applied, "
		     "or the oldest waiting when that is older).");
	metrics_printf(b, "psm_fleet_lag_seconds %.3f\n", (double)lag / 1e3);
	metrics_head(b, "psm_fleet_records_total", "counter",
		     "Feed entries by result: applied, or dropped and why.");
	for (int i = 0; i < SIGN_NRESULTS; i++)
		metrics_printf(b, "psm_fleet_records_total{result=\"%s\"} %llu\n",
			       sign_result_name((enum sign_result)i),
			       (unsigned long long)st.records[i]);
	metrics_head(b, "psm_fleet_queue_length", "gauge",
		     "This host's committed records not yet in Redis.");
	metrics_printf(b, "psm_fleet_queue_length %llu\n", (unsigned long long)st.queued);
	metrics_head(b, "psm_fleet_resyncs_total", "counter", "Full resyncs from the state hash.");
	metrics_printf(b, "psm_fleet_resyncs_total %llu\n", (unsigned long long)st.resyncs);
}
