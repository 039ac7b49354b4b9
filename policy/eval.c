/* SPDX-License-Identifier: MIT */
/* eval.c - the access decision: user and group grants and denies read from the table. */
#include "eval.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cond.h"
#include "nss.h"
#include "perm.h"
#include "psm_id.h"
#include "psm_str.h"
#include "ttl.h"

/*
 * A decision reads the user's key ("alice") and, when the header's group
 * mask says a group record could match, each of the user's group keys
 * ("%10").  On each key the deny records come first: a matching deny ends
 * the decision.  The decision starts as deny; only a grant that passes every
 * check sets allow.  Everything happens inside a seqlock read transaction
 * that is redone while the writer was busy; the group list is looked up at
 * most once per decision.
 */

/* One attempt at a decision; reset at the start of every read transaction. */
struct eval_scan {
	const struct eval_req *req;
	const char *service; /* eval_check_service: req->perm is read from its record */
	char *permbuf;	     /* ... into this buffer (req->perm points to it) */
	size_t permbuf_size;
	struct eval_out *out;
	struct nss_groups *groups; /* n < 0: not looked up yet */
	struct cond_req cr;
	size_t permlen;
	size_t first;	  /* the length of the permission's first segment */
	uint64_t segbits; /* group-mask bits the permission could hit; 0 until needed */
	bool allow;
	bool deny;
	int miss;		/* nearest-miss reason, 0 = none */
	struct shm_entry *e;	/* the record being looked at: read straight into out->entry */
	struct shm_recbuf *buf; /* until one is kept there, then into own_e/own_buf */
	struct shm_entry own_e;
	struct shm_recbuf own_buf;
	size_t userlen;
	struct shm_iter it; /* eval_scan_key's */
};

/* Field i of e, never NULL (fields are not NUL-terminated). */
static const char *eval_field(const struct shm_entry *e, int i, int *len)
{
	if (e->f[i] == NULL || e->flen[i] == 0) {
		*len = 0;
		return "";
	}
	*len = e->flen[i];
	return e->f[i];
}

/* Copies record e (fields in b) into o->entry/o->buf: only the bytes in use. */
static void eval_keep(struct eval_out *o, const struct shm_entry *e, const struct shm_recbuf *b)
{
	size_t used = 0;
	int i;

	o->entry = *e;
	for (i = 0; i < SHM_NFIELDS; i++) {
		const unsigned char *p = (const unsigned char *)e->f[i];
		size_t off;

		o->entry.f[i] = NULL;
		if (p == NULL || e->flen[i] == 0 || p < b->b || p >= b->b + SHM_REC_MAX) {
			o->entry.flen[i] = 0;
			continue;
		}
		off = (size_t)(p - b->b);
		if (e->flen[i] > SHM_REC_MAX - off) {
			o->entry.flen[i] = 0;
			continue;
		}
		o->entry.f[i] = (const char *)o->buf.b + off;
		if (off + e->flen[i] > used)
			used = off + e->flen[i];
	}
	memcpy(o->buf.b, b->b, used);
	o->have_entry = true;
}

/* Keeps the record being looked at: free when it was read into out already. */
static inline void eval_keep_current(struct eval_scan *s)
{
	if (s->e == &s->out->entry) {
		s->out->have_entry = true;
		s->e = &s->own_e;
		s->buf = &s->own_buf;
		return;
	}
	eval_keep(s->out, s->e, s->buf);
}

static int eval_validity(const struct shm_entry *e, int64_t now)
{
	if (now < e->not_before)
		return EVAL_R_NOT_YET;
	if (now >= e->not_after)
		return EVAL_R_EXPIRED;
	return 0;
}

static bool eval_from_ok(const struct eval_scan *s, const struct shm_entry *e)
{
	int len;
	const char *f = eval_field(e, SHM_F_FROM, &len);

	return cond_match((const unsigned char *)f, (size_t)len, &s->cr);
}

/* Why grant e does not allow the request, 0 when it does. */
static int eval_grant_fails(const struct eval_scan *s, const struct shm_entry *e)
{
	const struct eval_req *req = s->req;
	int r;

	if ((e->flags & SHM_FL_UID_CHECKED) && e->uid != (uint32_t)req->uid)
		return EVAL_R_UID;
	r = eval_validity(e, req->now);
	if (r != 0)
		return r;
	if (!eval_from_ok(s, e))
		return EVAL_R_FROM;
	if ((e->flags & SHM_FL_SESSION_BOUND) &&
	    (req->audit == SHM_U32_NONE || req->audit != e->audit))
		return EVAL_R_SESSION;
	return 0;
}

/* How informative a near miss is: higher wins. */
static int eval_miss_rank(int reason)
{
	switch (reason) {
	case EVAL_R_UID:
		return 1;
	case EVAL_R_NOT_YET:
		return 2;
	case EVAL_R_EXPIRED:
		return 3;
	case EVAL_R_SESSION:
		return 4;
	case EVAL_R_FROM:
		return 5;
	default:
		return 0;
	}
}

static void eval_on_record(struct eval_scan *s, uint8_t kind)
{
	int fails;

	if (kind == SHM_DENY) {
		if (eval_validity(s->e, s->req->now) == 0 && eval_from_ok(s, s->e)) {
			s->deny = true;
			eval_keep_current(s);
		}
		return;
	}
	fails = eval_grant_fails(s, s->e);
	if (fails == EVAL_R_SESSION && s->req->audit == SHM_U32_NONE)
		s->out->need_audit = true;
	if (fails == 0) {
		s->allow = true;
		eval_keep_current(s);
	} else if (eval_miss_rank(fails) > eval_miss_rank(s->miss)) {
		s->miss = fails;
		eval_keep_current(s);
	}
}

static int eval_corrupt(const struct shm_view *v, const char *key, struct psm_err *err)
{
	return psm_err_set(err, PSM_EUNAVAIL, "table %s: corrupt records under key \"%s\"", v->name,
			   key);
}

/*
 * One walk over a principal's grants and denies (SHM_RULE): stops at a matching deny;
 * once a grant allows, further grants are skipped but denies are still looked for.
 * Flattened: the chain walk, record copy and checks are inlined into this one loop, the
 * decision's hot path (-7% instructions per check for +4 KB of pam_psm.so's text).
 */
__attribute__((flatten)) static int eval_scan_key(const struct shm_view *v, struct eval_scan *s,
						  const char *key, size_t keylen,
						  struct psm_err *err)
{
	struct shm_iter *it = &s->it;
	int rc;

	shm_iter_key(v, it, SHM_RULE, key, keylen);
	while ((rc = shm_iter_next(v, it, s->e, s->buf)) == 1) {
		/* a decoded record's fields are never NULL (shm_iter_next) */
		size_t plen = s->e->flen[SHM_F_PATTERN];

		if (plen == 0 || (s->e->kind == SHM_GRANT && s->allow) ||
		    !pattern_match_valid(s->e->f[SHM_F_PATTERN], plen, s->req->perm, s->permlen))
			continue;
		eval_on_record(s, s->e->kind);
		if (s->deny)
			return PSM_OK;
	}
	return rc == 0 ? PSM_OK : eval_corrupt(v, key, err);
}

static int eval_scan_groups(const struct shm_view *v, struct eval_scan *s, struct psm_err *err)
{
	struct nss_groups *g = s->groups;
	char key[1 + PSM_U32_DEC_MAX] = "%";
	int i, rc;

	if (g->n < 0) {
		rc = nss_groups(g, s->req->user, s->req->gid, err);
		if (rc != 1) {
			g->n = -1;
			return -rc;
		}
	}
	s->out->groups_resolved = true;
	s->out->ngroups = (unsigned)g->n;
	for (i = 0; i < g->n; i++) {
		size_t n = 1 + psm_u32_dec(key + 1, (uint32_t)g->list[i]); /* "%<gid>" */

		rc = eval_scan_key(v, s, key, n, err);
		if (rc != PSM_OK || s->deny)
			return rc;
	}
	return PSM_OK;
}

/*
 * Whether a group record could change the answer, by the header's group masks: once the
 * user's own records allow, only a group deny could.  The permission's first segment is
 * hashed only when some group record exists.
 */
static bool eval_groups_matter(struct eval_scan *s, const struct shm_counters *c)
{
	uint64_t mask = s->allow ? c->group_deny_mask : c->group_mask;

	if (mask == 0)
		return false;
	if (s->segbits == 0)
		s->segbits = shm_seg_bit(s->req->perm, s->first) | SHM_MASK_ANY;
	return (mask & s->segbits) != 0;
}

/* The decision on req->perm, inside the caller's read transaction: the user's records, then
 * the groups' when they could change it. */
static int eval_decide(const struct shm_view *v, struct eval_scan *s, struct psm_err *err)
{
	struct eval_out *o = s->out;
	int rc;

	s->allow = s->deny = false;
	s->miss = 0;
	s->e = &o->entry;
	s->buf = &o->buf;
	o->have_entry = false;
	o->groups_resolved = false;
	o->need_audit = false;
	o->ngroups = 0;
	rc = shm_counters_read(v, &o->info, err);
	if (rc != PSM_OK)
		return rc;
	rc = eval_scan_key(v, s, s->req->user, s->userlen, err);
	if (rc != PSM_OK || s->deny)
		return rc;
	if (!eval_groups_matter(s, &o->info))
		return rc;
	return eval_scan_groups(v, s, err);
}

/* One attempt of eval_check, inside a read transaction (shm_read_fn); its reads begin with
 * an empty window (a window holds one transaction's bytes). */
static int eval_attempt(const struct shm_view *v, void *ctx, struct psm_err *err)
{
	struct eval_scan *s = ctx;

	s->it.win.len = 0;
	return eval_decide(v, s, err);
}

static void eval_finish(const struct eval_scan *s, struct eval_out *o)
{
	o->decision = EVAL_DENY;
	if (s->deny) {
		o->reason = EVAL_R_DENY_RULE;
	} else if (s->allow) {
		o->decision = EVAL_ALLOW;
		o->reason = EVAL_R_GRANT;
	} else if (s->miss != 0) {
		o->reason = s->miss;
	} else {
		o->reason = EVAL_R_NO_GRANT;
		o->have_entry = false;
	}
}

/* ---- the first record of a key: service map, break-glass, sessions ------------ */

struct eval_first {
	uint8_t kind;
	const char *key;
	int found; /* 1 found, 0 not */
	struct shm_entry e;
	struct shm_recbuf buf;
};

/* The first record of (kind, key), through it (whose window is kept). */
static int eval_first_in(const struct shm_view *v, struct eval_first *f, struct shm_iter *it,
			 struct psm_err *err)
{
	int rc;

	shm_iter_key(v, it, f->kind, f->key, strlen(f->key));
	rc = shm_iter_next(v, it, &f->e, &f->buf);
	f->found = rc == 1 && f->e.kind == f->kind;
	return rc < 0 ? eval_corrupt(v, f->key, err) : PSM_OK;
}

/* The first record of (kind, key) (shm_read_fn). */
static int eval_first_fn(const struct shm_view *v, void *ctx, struct psm_err *err)
{
	struct shm_iter it;

	it.win.len = 0;
	return eval_first_in(v, ctx, &it, err);
}

/* The permission a PAM service requires, into buf: the policy's services map, else
 * "pam:<service>"; inside the caller's read transaction, through its iterator it. */
static int eval_service_read(const struct shm_view *v, struct shm_iter *it, const char *service,
			     char *buf, size_t n, struct psm_err *err)
{
	struct eval_first f = {.kind = SHM_SERVICE, .key = service};
	const char *p;
	size_t w = 0;
	bool fits;
	int len, rc;

	rc = eval_first_in(v, &f, it, err);
	if (rc != PSM_OK)
		return rc;
	if (f.found) {
		p = eval_field(&f.e, SHM_F_PATTERN, &len);
		fits = psm_append_n(buf, n, &w, p, (size_t)len);
	} else {
		fits = psm_append(buf, n, &w, "pam:") && psm_append(buf, n, &w, service);
	}
	if (!fits)
		return psm_err_set(err, PSM_EINVAL, "permission of service \"%s\" is too long",
				   service);
	return perm_validate(buf, w, err);
}

/* ---- the decision ----------------------------------------------------------- */

/* The permission's length and first segment, once it is known to be valid (one pass);
 * its group-mask bits are left to eval_groups_matter. */
static int eval_perm(struct eval_scan *s, struct psm_err *err)
{
	s->segbits = 0;
	return perm_scan(s->req->perm, &s->permlen, &s->first, err);
}

/* One attempt of eval_check_service: the service's permission, then the decision on it. */
static int eval_attempt_service(const struct shm_view *v, void *ctx, struct psm_err *err)
{
	struct eval_scan *s = ctx;
	int rc;

	s->it.win.len = 0;
	rc = eval_service_read(v, &s->it, s->service, s->permbuf, s->permbuf_size, err);

	if (rc == PSM_OK)
		rc = eval_perm(s, err);
	return rc == PSM_OK ? eval_decide(v, s, err) : rc;
}

static int eval_run(const struct shm_view *v, struct eval_scan *s, struct psm_err *err)
{
	const struct eval_req *req = s->req;
	struct eval_out *out = s->out;
	struct nss_groups g;
	int rc;

	out->decision = EVAL_DENY;
	out->reason = EVAL_R_NO_GRANT;
	out->have_entry = false;
	out->ngroups = 0;
	out->groups_resolved = false;
	out->need_audit = false;
	if (req == NULL || req->user == NULL || req->user[0] == '\0' || req->perm == NULL)
		return psm_err_set(err, PSM_EINVAL, "eval: request without user or permission");
	if (s->service == NULL && (rc = eval_perm(s, err)) != PSM_OK)
		return rc;
	s->groups = &g;
	g.heap = NULL;
	g.n = -1;
	cond_req_init(&s->cr, req->rhost, v->host_name);
	s->userlen = strlen(req->user);
	rc = shm_read_txn(v, s->service != NULL ? eval_attempt_service : eval_attempt, s, err);
	nss_groups_free(&g);
	if (rc != PSM_OK) {
		out->decision = EVAL_DENY;
		return rc;
	}
	eval_finish(s, out);
	return PSM_OK;
}

/* The scan's inputs.  Not `struct eval_scan s = { ... }`: that zeroes own_buf's 4 KB too,
 * more than a whole warm check costs otherwise; every other field is set before use. */
static void eval_scan_init(struct eval_scan *s, const struct eval_req *req, struct eval_out *out,
			   const char *service, char *permbuf, size_t permbuf_size)
{
	s->req = req;
	s->out = out;
	s->service = service;
	s->permbuf = permbuf;
	s->permbuf_size = permbuf_size;
}

int eval_check(const struct shm_view *v, const struct eval_req *req, struct eval_out *out,
	       struct psm_err *err)
{
	struct eval_scan s;

	eval_scan_init(&s, req, out, NULL, NULL, 0);
	return eval_run(v, &s, err);
}

int eval_check_service(const struct shm_view *v, struct eval_req *req, const char *service,
		       char *buf, size_t n, struct eval_out *out, struct psm_err *err)
{
	struct eval_scan s;

	eval_scan_init(&s, req, out, service, buf, n);
	if (n > 0)
		buf[0] = '\0';
	if (service == NULL || service[0] == '\0')
		return psm_err_set(err, PSM_EINVAL, "no PAM service name");
	if (req != NULL)
		req->perm = buf;
	return eval_run(v, &s, err);
}

/* ---- break-glass and sessions ------------------------------------------------ */

int eval_break_glass(const struct shm_view *v, const char *user, bool *yes, struct psm_err *err)
{
	struct eval_first f = {.kind = SHM_BREAKGLASS, .key = user};
	int rc;

	*yes = false;
	if (user == NULL || user[0] == '\0')
		return PSM_OK;
	rc = shm_read_txn(v, eval_first_fn, &f, err);
	if (rc == PSM_OK)
		*yes = f.found == 1;
	return rc;
}

int eval_session_audit(const struct shm_view *v, const char *id, uint32_t *audit,
		       struct psm_err *err)
{
	struct eval_first f = {.kind = SHM_SESSION, .key = id};
	int rc;

	*audit = SHM_U32_NONE;
	if (id == NULL || id[0] == '\0')
		return PSM_OK;
	rc = shm_read_txn(v, eval_first_fn, &f, err);
	if (rc == PSM_OK && f.found == 1)
		*audit = f.e.audit;
	return rc;
}

/* ---- reasons and explanations -------------------------------------------- */

/* Appends to buf (size n, *pos in/out); output is always NUL-terminated. */
__attribute__((format(printf, 4, 5))) static void eval_cat(char *buf, size_t n, size_t *pos,
							   const char *fmt, ...)
{
	va_list ap;
	int w;

	if (n == 0 || *pos >= n - 1)
		return;
	va_start(ap, fmt);
	w = psm_vfmt(buf + *pos, n - *pos, fmt, ap);
	va_end(ap);
	if (w < 0)
		return;
	*pos = (size_t)w >= n - *pos ? n - 1 : *pos + (size_t)w;
}

void eval_source(const struct shm_entry *e, char *buf, size_t n)
{
	int slen, plen, alen;
	const char *src = eval_field(e, SHM_F_SOURCE, &slen);
	const char *pr = eval_field(e, SHM_F_PRINCIPAL, &plen);
	const char *pat = eval_field(e, SHM_F_PATTERN, &alen);

	if (slen > 0)
		psm_fmt(buf, n, "%.*s", slen, src);
	else
		psm_fmt(buf, n, "%.*s %.*s", plen, pr, alen, pat);
}

static void eval_miss_text(const struct eval_out *o, char *buf, size_t n)
{
	const struct shm_entry *e = &o->entry;
	char t[64], from[COND_ENC_MAX];
	int len;
	const char *f;

	switch (o->reason) {
	case EVAL_R_EXPIRED:
		time_format_utc(e->not_after, t, sizeof(t));
		psm_fmt(buf, n, "grant expired %s", t);
		break;
	case EVAL_R_NOT_YET:
		time_format_utc(e->not_before, t, sizeof(t));
		psm_fmt(buf, n, "grant not valid before %s", t);
		break;
	case EVAL_R_FROM:
		f = eval_field(e, SHM_F_FROM, &len);
		cond_format((const unsigned char *)f, (size_t)len, from, sizeof(from));
		psm_fmt(buf, n, "grant only from %s", from);
		break;
	case EVAL_R_UID:
		psm_fmt(buf, n, "grant for another uid (%" PRIu32 ")", e->uid);
		break;
	default:
		psm_fmt(buf, n, "grant bound to another session");
		break;
	}
}

void eval_reason_text(const struct eval_out *o, char *buf, size_t n)
{
	char src[SHM_FIELD_MAX + 64];

	if (n == 0)
		return;
	if (!o->have_entry) {
		psm_fmt(buf, n, "no grant");
		return;
	}
	eval_source(&o->entry, src, sizeof(src));
	if (o->reason == EVAL_R_GRANT)
		psm_fmt(buf, n, "granted by %s", src);
	else if (o->reason == EVAL_R_DENY_RULE && o->entry.rule != SHM_U32_NONE)
		psm_fmt(buf, n, "deny rule %" PRIu32, o->entry.rule);
	else if (o->reason == EVAL_R_DENY_RULE)
		psm_fmt(buf, n, "deny by %s", src);
	else
		eval_miss_text(o, buf, n);
}

/* "permanent", "expires 2026-11-23T20:00:00Z (in 1h59m)", "expired ... (5m ago)". */
static void eval_validity_text(const struct shm_entry *e, int64_t now, char *buf, size_t n)
{
	char t[64], d[64];
	size_t pos = 0;

	buf[0] = '\0';
	if (e->not_before != SHM_TIME_NONE_BEFORE && now < e->not_before) {
		time_format_utc(e->not_before, t, sizeof(t));
		ttl_format(e->not_before - now, d, sizeof(d));
		eval_cat(buf, n, &pos, "valid from %s (in %s), ", t, d);
	}
	if (e->not_after == SHM_TIME_NONE_AFTER) {
		eval_cat(buf, n, &pos, "permanent");
		return;
	}
	time_format_utc(e->not_after, t, sizeof(t));
	if (now < e->not_after) {
		ttl_format(e->not_after - now, d, sizeof(d));
		eval_cat(buf, n, &pos, "expires %s (in %s)", t, d);
	} else {
		ttl_format(now - e->not_after, d, sizeof(d));
		eval_cat(buf, n, &pos, "expired %s (%s ago)", t, now == e->not_after ? "0s" : d);
	}
}

static void eval_explain_entry(const struct eval_out *o, const struct eval_req *req, char *buf,
			       size_t n, size_t *pos)
{
	const struct shm_entry *e = &o->entry;
	char from[COND_ENC_MAX], val[160];
	int plen, alen, flen, ilen, rlen, slen;
	const char *pr = eval_field(e, SHM_F_PRINCIPAL, &plen);
	const char *pat = eval_field(e, SHM_F_PATTERN, &alen);
	const char *f = eval_field(e, SHM_F_FROM, &flen);
	const char *is = eval_field(e, SHM_F_ISSUER, &ilen);
	const char *rs = eval_field(e, SHM_F_REASON, &rlen);
	const char *ss = eval_field(e, SHM_F_SESSION, &slen);
	char id[PSM_ID_TEXT_SIZE];

	cond_format((const unsigned char *)f, (size_t)flen, from, sizeof(from));
	eval_validity_text(e, req->now, val, sizeof(val));
	eval_cat(buf, n, pos, "rule:     %.*s  %.*s  from %s  %s\n", plen, pr, alen, pat,
		 from[0] ? from : "anywhere", val);
	if (ilen > 0)
		eval_cat(buf, n, pos, "issuer:   %.*s\n", ilen, is);
	if (rlen > 0)
		eval_cat(buf, n, pos, "note:     %.*s\n", rlen, rs);
	if (!psm_id_is_zero(e->id)) {
		psm_id_format(e->id, id);
		eval_cat(buf, n, pos, "grant_id: %s\n", id);
	}
	if (e->flags & SHM_FL_SESSION_BOUND)
		eval_cat(buf, n, pos, "session:  %.*s\n", slen, ss);
}

static void eval_explain_table(const struct eval_out *o, const struct eval_req *req, char *buf,
			       size_t n, size_t *pos)
{
	char age[64];
	int64_t d = req->now - o->info.heartbeat;

	eval_cat(buf, n, pos, "table:    %s generation %" PRIu64 ", ",
		 req->table ? req->table : "table", o->info.generation);
	if (d < 0) {
		eval_cat(buf, n, pos, "heartbeat in the future (clock skew?)");
	} else {
		ttl_format(d, age, sizeof(age));
		eval_cat(buf, n, pos, "heartbeat %s ago", age);
	}
	eval_cat(buf, n, pos, " (psmd pid %" PRIu32 ")\n", o->info.writer_pid);
}

void eval_explain(const struct eval_out *o, const struct eval_req *req, char *buf, size_t n)
{
	char reason[SHM_FIELD_MAX + 128], src[SHM_FIELD_MAX + 64];
	size_t pos = 0;

	if (n == 0)
		return;
	buf[0] = '\0';
	eval_cat(buf, n, &pos, "decision: %s\n", o->decision == EVAL_ALLOW ? "allow" : "deny");
	eval_reason_text(o, reason, sizeof(reason));
	if (!o->have_entry) {
		eval_cat(buf, n, &pos, "reason:   no grant for %s ", req->user);
		if (o->groups_resolved)
			eval_cat(buf, n, &pos, "(or their groups: %u checked)", o->ngroups);
		else
			eval_cat(buf, n, &pos, "(groups not checked: no group grant could match)");
		eval_cat(buf, n, &pos, " matches %s\n", req->perm);
	} else if (o->reason == EVAL_R_GRANT ||
		   (o->reason == EVAL_R_DENY_RULE && o->entry.rule == SHM_U32_NONE)) {
		eval_cat(buf, n, &pos, "reason:   %s\n", reason);
	} else {
		eval_source(&o->entry, src, sizeof(src));
		eval_cat(buf, n, &pos, "reason:   %s (%s)\n", reason, src);
	}
	if (o->have_entry)
		eval_explain_entry(o, req, buf, n, &pos);
	eval_cat(buf, n, &pos, "request:  %s (uid %u) %s from %s\n", req->user, (unsigned)req->uid,
		 req->perm, req->rhost && req->rhost[0] ? req->rhost : "local");
	eval_explain_table(o, req, buf, n, &pos);
}
