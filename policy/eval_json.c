/* SPDX-License-Identifier: MIT */
/* eval_json.c - the explanation of a decision as structured JSON members (--explain --json). */
#include <string.h>

#include "cond.h"
#include "eval.h"
#include "json_out.h"
#include "psm_id.h"

/* What kind of record decided (or nearly matched): grant, binding, deny, none. */
static const char *eval_json_rule(const struct eval_out *o)
{
	if (!o->have_entry)
		return "none";
	if (o->entry.kind == SHM_DENY)
		return "deny";
	return o->entry.flags & SHM_FL_SRC_POLICY ? "binding" : "grant";
}

/* Field f of the entry as a string member; null when the entry has none. */
static void eval_json_field(struct json_out *w, const char *key, const struct shm_entry *e, int f)
{
	const char *s = e->f[f] != NULL ? e->f[f] : "";
	size_t n = strnlen(s, e->f[f] != NULL ? e->flen[f] : 0);

	if (n == 0) {
		json_out_key(w, key);
		json_out_null(w);
		return;
	}
	json_out_kv_string_n(w, key, s, n);
}

/* The deciding record: where it comes from, whom and what it names, until when. */
static void eval_json_entry(struct json_out *w, const struct eval_out *o)
{
	const struct shm_entry *e = &o->entry;
	char src[SHM_FIELD_MAX + 64], from[COND_ENC_MAX], id[PSM_ID_TEXT_SIZE];
	size_t flen = e->f[SHM_F_FROM] != NULL ? e->flen[SHM_F_FROM] : 0;

	eval_source(e, src, sizeof(src));
	if (!psm_id_is_zero(e->id))
		psm_id_format(e->id, id);
	json_out_kv_string(w, "source", psm_id_is_zero(e->id) ? src : id);
	eval_json_field(w, "principal", e, SHM_F_PRINCIPAL);
	eval_json_field(w, "pattern", e, SHM_F_PATTERN);
	json_out_kv_time(w, "expires", e->not_after, SHM_TIME_NONE_AFTER);
	cond_format((const unsigned char *)(flen > 0 ? e->f[SHM_F_FROM] : ""), flen, from,
		    sizeof(from));
	json_out_kv_list(w, "from", from, strlen(from));
	json_out_kv_list(w, "hosts", e->f[SHM_F_HOSTS] != NULL ? e->f[SHM_F_HOSTS] : "",
			 strnlen(e->f[SHM_F_HOSTS] != NULL ? e->f[SHM_F_HOSTS] : "",
				 e->f[SHM_F_HOSTS] != NULL ? e->flen[SHM_F_HOSTS] : 0));
	eval_json_field(w, "reason", e, SHM_F_REASON);
	eval_json_field(w, "issuer", e, SHM_F_ISSUER);
	if (psm_id_is_zero(e->id)) {
		json_out_key(w, "grant_id");
		json_out_null(w);
	} else {
		json_out_kv_string(w, "grant_id", id);
	}
	if (e->flags & SHM_FL_SESSION_BOUND) {
		eval_json_field(w, "session", e, SHM_F_SESSION);
	} else {
		json_out_key(w, "session");
		json_out_null(w);
	}
}

/* No record matched: the same members, all null or empty. */
static void eval_json_no_entry(struct json_out *w)
{
	static const char *const keys[] = {"source", "principal", "pattern", NULL};
	static const char *const more[] = {"reason", "issuer", "grant_id", "session", NULL};
	int i;

	for (i = 0; keys[i] != NULL; i++) {
		json_out_key(w, keys[i]);
		json_out_null(w);
	}
	json_out_kv_time(w, "expires", SHM_TIME_NONE_AFTER, SHM_TIME_NONE_AFTER);
	json_out_kv_list(w, "from", "", 0);
	json_out_kv_list(w, "hosts", "", 0);
	for (i = 0; more[i] != NULL; i++) {
		json_out_key(w, more[i]);
		json_out_null(w);
	}
}

void eval_explain_json_bare(struct json_out *w, bool allow, const char *perm, const char *rule,
			    const char *why)
{
	static const char *const table[] = {"table", "table_generation", "table_age_s",
					    "writer_pid", NULL};

	json_out_kv_string(w, "decision", allow ? "allow" : "deny");
	json_out_kv_string(w, "perm", perm);
	json_out_kv_string(w, "rule", rule);
	eval_json_no_entry(w);
	json_out_kv_string(w, "why", why);
	for (int i = 0; table[i] != NULL; i++) {
		json_out_key(w, table[i]);
		json_out_null(w);
	}
}

void eval_explain_json(struct json_out *w, const struct eval_out *o, const struct eval_req *req)
{
	char why[SHM_FIELD_MAX + 128];

	eval_reason_text(o, why, sizeof(why));
	json_out_kv_string(w, "decision", o->decision == EVAL_ALLOW ? "allow" : "deny");
	json_out_kv_string(w, "perm", req->perm);
	json_out_kv_string(w, "rule", eval_json_rule(o));
	if (o->have_entry)
		eval_json_entry(w, o);
	else
		eval_json_no_entry(w);
	json_out_kv_string(w, "why", why);
	json_out_kv_string(w, "table", req->table != NULL ? req->table : "table");
	json_out_kv_int64(w, "table_generation", (int64_t)o->info.generation);
	json_out_kv_int64(w, "table_age_s", req->now - o->info.heartbeat);
	json_out_kv_int64(w, "writer_pid", o->info.writer_pid);
}
