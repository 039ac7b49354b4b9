/* SPDX-License-Identifier: MIT */
/* fleet_entry.c - one feed entry or state value from Redis: verified, then parsed, or dropped. */
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include <cjson/cJSON.h>

#include "fleet_int.h"
#include "text.h"

void fleet_drop(struct fleet *f, enum sign_result r, const char *where, const char *why)
{
	int64_t minute = fleet_now_ms() / 60000;
	bool say;

	pthread_mutex_lock(&f->mu);
	f->st.records[r]++;
	if (f->drops_minute != minute) {
		f->drops_minute = minute;
		memset(f->drops_logged, 0, sizeof(f->drops_logged));
	}
	say = f->drops_logged[r]++ < FLEET_DROP_LOGS;
	pthread_mutex_unlock(&f->mu);
	if (say)
		fleet_logf(f, LOG_WARNING, "fleet: %s dropped (%s): %s", where, sign_result_name(r),
			   why);
}

static enum sign_result fleet_entry_parse(const struct sign_entry *e, struct record *rec,
					  struct psm_err *err)
{
	cJSON *j = cJSON_ParseWithLength((const char *)e->r, e->rlen);
	int rc;

	if (j == NULL) {
		psm_err_set(err, PSM_EINVAL, "r: not JSON");
		return SIGN_MALFORMED;
	}
	rc = text_check_json("", j, NULL, err);
	if (rc == PSM_OK)
		rc = record_from_json(j, rec, err);
	cJSON_Delete(j);
	return rc == PSM_OK ? SIGN_APPLIED : SIGN_MALFORMED;
}

enum sign_result fleet_entry_check(struct fleet *f, const struct sign_entry *e, struct fleet_in *in,
				   struct psm_err *err)
{
	const struct keys_public *key = NULL;
	enum sign_result res;

	if (e->r == NULL) {
		psm_err_set(err, PSM_EINVAL, "no \"r\" field");
		return SIGN_MALFORMED;
	}
	if (e->rlen > FLEET_RECORD_MAX) {
		psm_err_set(err, PSM_EINVAL, "r: %zu bytes (at most %d)", e->rlen,
			    FLEET_RECORD_MAX);
		return SIGN_OVERSIZED;
	}
	res = sign_verify(e, f->trusted.n > 0 ? &f->trusted : NULL, &key);
	if (res != SIGN_APPLIED) {
		psm_err_set(err, PSM_EPERM, "signature: %s", sign_result_name(res));
		return res;
	}
	record_init(&in->rec, REC_GRANT);
	res = fleet_entry_parse(e, &in->rec, err);
	if (res == SIGN_APPLIED && key != NULL && in->rec.type != REC_REVOKE &&
	    in->rec.type != REC_SESSION_END && !sign_scope_ok(key, &in->rec, NULL)) {
		psm_err_set(err, PSM_EPERM, "key %s may not sign for the record's hosts",
			    key->name);
		res = SIGN_OUT_OF_SCOPE;
	}
	if (res != SIGN_APPLIED)
		record_free(&in->rec);
	in->signer = key; /* revokes and session ends: the daemon checks the scope */
	return res;
}

/* The next space-separated word of v[*off..len) (not empty). */
static bool fleet_word(const char *v, size_t len, size_t *off, const char **w, size_t *n)
{
	size_t i = *off;

	while (i < len && v[i] != ' ' && v[i] != '\n')
		i++;
	if (i == *off || i == len)
		return false;
	*w = v + *off;
	*n = i - *off;
	*off = i + 1;
	return true;
}

bool fleet_value_parse(const char *v, size_t len, struct sign_entry *e,
		       unsigned char sigbuf[SIGN_BYTES])
{
	const char *w[5];
	size_t n[5], off = 0, got;

	memset(e, 0, sizeof(*e));
	for (int i = 0; i < 5; i++)
		if (!fleet_word(v, len, &off, &w[i], &n[i]))
			return false;
	if (v[off - 1] != '\n')
		return false;
	e->r = (const unsigned char *)v + off;
	e->rlen = len - off;
	if (n[3] != 1 || w[3][0] != '-') {
		e->key = w[3];
		e->keylen = n[3];
	}
	if (n[4] == 1 && w[4][0] == '-')
		return true;
	if (sodium_hex2bin(sigbuf, SIGN_BYTES, w[4], n[4], NULL, &got, NULL) != 0 ||
	    got != SIGN_BYTES)
		return false;
	e->sig = sigbuf;
	e->siglen = SIGN_BYTES;
	return true;
}
