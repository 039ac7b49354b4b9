/* SPDX-License-Identifier: MIT */
/* psmctl_stats.c - psmctl stats for people: counts with thousands separators, sizes, ms, uptime. */
#include "psmctl.h"

#include <stdlib.h>
#include <string.h>

/*
 * One line per subject, its label fixed (scripts use --json):
 *   table:        3 of 100,000 records (0.0%), 26.4 MiB, generation 1
 *   grants:       2 from the policy, 1 admin, 0 from the fleet in the table; 1 runtime held
 *   sessions:     0
 *   tombstones:   0
 *   expired held: 0 (kept for --explain until the sweep; 4 swept since start)
 *   journal:      segment 1, 16 bytes; 12 records in 9 commits, 2 since the last snapshot
 *   fsync:        avg 0.42 ms, max 2.1 ms
 *   requests:     12 (grant 1, stats 11); 1 error (revoke 1)
 *   uptime:       3 h 12 min
 * Members the reply has beyond these follow as "key: value" lines.
 */

#define ST_LABEL "%-14s"

struct st_reply {
	cJSON *rest; /* a copy of the reply; each member shown is taken out of it */
};

/* The integer at key ("journal.commits": a member of an object member), taken out; -1 when
 * absent or not an integer. */
static int64_t st_take(struct st_reply *r, const char *key)
{
	const char *dot = strchr(key, '.');
	cJSON *o = r->rest, *v;
	int64_t n;
	char parent[32];

	if (dot != NULL) {
		snprintf(parent, sizeof(parent), "%.*s", (int)(dot - key), key);
		o = cJSON_GetObjectItemCaseSensitive(o, parent);
		key = dot + 1;
	}
	v = cJSON_DetachItemFromObjectCaseSensitive(o, key);
	if (!ctl_int(v, &n) || n < 0)
		n = -1;
	cJSON_Delete(v);
	return n;
}

/* A number of microseconds (taken out) as "0.42 ms" / "12.3 ms"; "-" when absent. */
static void st_take_ms(struct st_reply *r, const char *key, char *buf, size_t n)
{
	cJSON *v = cJSON_DetachItemFromObjectCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(r->rest, "journal"), key);
	double ms = cJSON_IsNumber(v) ? v->valuedouble / 1000 : -1;

	if (ms < 0)
		snprintf(buf, n, "-");
	else
		snprintf(buf, n, ms < 10 ? "%.2f ms" : "%.1f ms", ms);
	cJSON_Delete(v);
}

static void st_table(struct st_reply *r)
{
	int64_t rec = st_take(r, "records"), cap = st_take(r, "capacity");
	int64_t bytes = st_take(r, "table_bytes"), gen = st_take(r, "generation");
	char a[32], b[32], size[32];

	cJSON_DeleteItemFromObjectCaseSensitive(r->rest, "fill"); /* rounded; recomputed */
	cJSON_DeleteItemFromObjectCaseSensitive(r->rest, "arena_used");
	ctl_count_text(rec, a, sizeof(a));
	ctl_count_text(cap, b, sizeof(b));
	ctl_size_text(bytes, size, sizeof(size));
	printf(ST_LABEL "%s of %s records (%.1f%%), %s, generation %lld\n", "table:", a, b,
	       cap > 0 && rec >= 0 ? 100.0 * (double)rec / (double)cap : 0.0, size, (long long)gen);
}

static void st_grants(struct st_reply *r)
{
	int64_t pol = st_take(r, "grants.policy"), adm = st_take(r, "grants.admin");
	int64_t fl = st_take(r, "grants.fleet"), held = st_take(r, "grants.held");
	char p[32], a[32], f[32], h[32];

	ctl_count_text(pol, p, sizeof(p));
	ctl_count_text(adm, a, sizeof(a));
	ctl_count_text(fl, f, sizeof(f));
	ctl_count_text(held, h, sizeof(h));
	printf(ST_LABEL "%s from the policy, %s admin, %s from the fleet in the table; %s runtime "
			"held\n",
	       "grants:", p, a, f, h);
}

/* "label: N" for a plain count. */
static void st_count(struct st_reply *r, const char *key, const char *label)
{
	char n[32];

	ctl_count_text(st_take(r, key), n, sizeof(n));
	printf(ST_LABEL "%s\n", label, n);
}

static void st_held(struct st_reply *r)
{
	char held[32], swept[32];

	ctl_count_text(st_take(r, "expired_held"), held, sizeof(held));
	ctl_count_text(st_take(r, "swept"), swept, sizeof(swept));
	printf(ST_LABEL "%s (kept for --explain until the sweep; %s swept since start)\n",
	       "expired held:", held, swept);
}

static void st_journal(struct st_reply *r)
{
	int64_t seg = st_take(r, "journal.segment"), bytes = st_take(r, "journal.bytes");
	int64_t recs = st_take(r, "journal.records"), commits = st_take(r, "journal.commits");
	int64_t since = st_take(r, "journal.records_since_snapshot");
	char size[32], n[32], m[32], s[32];

	ctl_size_text(bytes, size, sizeof(size));
	ctl_count_text(recs, n, sizeof(n));
	ctl_count_text(commits, m, sizeof(m));
	ctl_count_text(since, s, sizeof(s));
	printf(ST_LABEL "segment %lld, %s; %s %s in %s %s, %s since the last snapshot\n",
	       "journal:", (long long)seg, size, n,
	       plural((unsigned long long)recs, "record", "records"), m,
	       plural((unsigned long long)commits, "commit", "commits"), s);
}

static void st_fsync(struct st_reply *r)
{
	char avg[32], max[32];
	cJSON *broken = cJSON_DetachItemFromObjectCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(r->rest, "journal"), "broken");

	st_take_ms(r, "fsync_avg_us", avg, sizeof(avg));
	st_take_ms(r, "fsync_max_us", max, sizeof(max));
	printf(ST_LABEL "avg %s, max %s%s\n", "fsync:", avg, max,
	       cJSON_IsTrue(broken) ? "; journal BROKEN (writes refused)" : "");
	cJSON_Delete(broken);
}

/* "12 (grant 1, stats 11)", or with a noun "1 error (revoke 1)": the total of an object of
 * counts by op, then each op's. */
static void st_ops_text(const cJSON *o, const char *one, const char *many, char *buf, size_t n)
{
	const cJSON *m;
	int64_t v, total = 0;
	size_t len;
	char num[32];

	cJSON_ArrayForEach(m, o) total += ctl_int(m, &v) ? v : 0;
	ctl_count_text(total, num, sizeof(num));
	len = (size_t)snprintf(buf, n, "%s%s%s", num, one != NULL ? " " : "",
			       one != NULL ? plural((unsigned long long)total, one, many) : "");
	cJSON_ArrayForEach(m, o)
	{
		if (!ctl_int(m, &v) || len >= n)
			continue;
		ctl_count_text(v, num, sizeof(num));
		len += (size_t)snprintf(buf + len, n - len, "%s%s %s", m == o->child ? " (" : ", ",
					m->string, num);
	}
	if (o != NULL && o->child != NULL && len < n)
		snprintf(buf + len, n - len, ")");
}

static void st_requests(struct st_reply *r)
{
	cJSON *req = cJSON_DetachItemFromObjectCaseSensitive(r->rest, "requests");
	cJSON *err = cJSON_DetachItemFromObjectCaseSensitive(r->rest, "errors");
	char a[512], b[512];

	st_ops_text(req, NULL, NULL, a, sizeof(a));
	st_ops_text(err, "error", "errors", b, sizeof(b));
	printf(ST_LABEL "%s; %s\n", "requests:", a, b);
	cJSON_Delete(req);
	cJSON_Delete(err);
}

static void st_uptime(struct st_reply *r)
{
	char up[48];

	ctl_duration_text(st_take(r, "uptime"), up, sizeof(up));
	printf(ST_LABEL "%s\n", "uptime:", up);
}

/* An object member whose members were all shown. */
static void st_drop_empty(struct st_reply *r, const char *key)
{
	const cJSON *o = cJSON_GetObjectItemCaseSensitive(r->rest, key);

	if (cJSON_IsObject(o) && o->child == NULL)
		cJSON_DeleteItemFromObjectCaseSensitive(r->rest, key);
}

int ctl_show_stats(struct ctl *c, const cJSON *reply)
{
	struct st_reply r;

	if (c->json)
		return CTL_OK;
	r.rest = cJSON_Duplicate(reply, 1);
	if (r.rest == NULL)
		return ctl_fail(c, CTL_UNAVAIL, "out of memory");
	cJSON_DeleteItemFromObjectCaseSensitive(r.rest, "ok");
	cJSON_DeleteItemFromObjectCaseSensitive(r.rest, "tag");
	st_table(&r);
	st_grants(&r);
	st_count(&r, "sessions", "sessions:");
	st_count(&r, "tombstones", "tombstones:");
	st_held(&r);
	st_journal(&r);
	st_fsync(&r);
	st_requests(&r);
	st_uptime(&r);
	st_drop_empty(&r, "grants");
	st_drop_empty(&r, "journal");
	ctl_print_object(r.rest, "", 13);
	cJSON_Delete(r.rest);
	return CTL_OK;
}
