/* SPDX-License-Identifier: MIT */
/* journal_quar.c - the quarantine after journal corruption: computed on load, kept in
 * state_dir/quarantine. */
#include "journal_quar.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "frame.h"

#define JQ_FILE "quarantine"
#define JQ_TMP "quarantine.new"

void jq_free(struct journal_recovery *rcv)
{
	size_t i;

	for (i = 0; i < rcv->ndamage; i++)
		free(rcv->damage[i]);
	for (i = 0; i < rcv->ngrants; i++)
		record_free(&rcv->grants[i]);
	free(rcv->damage);
	free(rcv->grants);
	memset(rcv, 0, sizeof(*rcv));
}

/* Adds text unless it is there; *grew turns true when it was added. */
static int jq_add_damage(struct journal_recovery *rcv, const char *text, bool *grew)
{
	char **v;
	size_t i;

	for (i = 0; i < rcv->ndamage; i++)
		if (strcmp(rcv->damage[i], text) == 0)
			return PSM_OK;
	v = realloc(rcv->damage, (rcv->ndamage + 1) * sizeof(*v));
	if (v == NULL)
		return PSM_ENOMEM;
	rcv->damage = v;
	v[rcv->ndamage] = strdup(text);
	if (v[rcv->ndamage] == NULL)
		return PSM_ENOMEM;
	rcv->ndamage++;
	*grew = true;
	return PSM_OK;
}

/* Adds a copy of grant g unless its id is there. */
static int jq_add_grant(struct journal_recovery *rcv, const struct record *g, bool *grew)
{
	struct record *v;
	size_t i;

	for (i = 0; i < rcv->ngrants; i++)
		if (memcmp(rcv->grants[i].u.grant.id, g->u.grant.id, ID_BYTES) == 0)
			return PSM_OK;
	v = realloc(rcv->grants, (rcv->ngrants + 1) * sizeof(*v));
	if (v == NULL)
		return PSM_ENOMEM;
	rcv->grants = v;
	if (record_copy(&v[rcv->ngrants], g, NULL) != PSM_OK)
		return PSM_ENOMEM;
	v[rcv->ngrants].u.grant.table_unit = REC_U32_NONE;
	rcv->ngrants++;
	*grew = true;
	return PSM_OK;
}

static int jq_parse_damage(const cJSON *arr, struct journal_recovery *rcv, struct psm_err *err)
{
	const cJSON *it;
	bool grew = false;

	cJSON_ArrayForEach(it, arr)
	{
		if (!cJSON_IsString(it))
			return psm_err_set(err, PSM_EUNAVAIL, "%s: damage: not a string", JQ_FILE);
		if (jq_add_damage(rcv, it->valuestring, &grew) != PSM_OK)
			return psm_err_set(err, PSM_ENOMEM, "%s: out of memory", JQ_FILE);
	}
	return PSM_OK;
}

static int jq_parse_grants(const cJSON *arr, struct journal_recovery *rcv, struct psm_err *err)
{
	const cJSON *it;
	bool grew = false;
	int rc = PSM_OK;

	cJSON_ArrayForEach(it, arr)
	{
		struct record r;

		rc = record_from_json(it, &r, err);
		if (rc == PSM_OK && r.type != REC_GRANT)
			rc = psm_err_set(err, PSM_EINVAL, "not a grant");
		if (rc == PSM_OK && jq_add_grant(rcv, &r, &grew) != PSM_OK)
			rc = psm_err_set(err, PSM_ENOMEM, "out of memory");
		record_free(&r);
		if (rc != PSM_OK)
			break;
	}
	if (rc == PSM_OK)
		return PSM_OK;
	psm_err_prefix(err, "%s: grants", JQ_FILE);
	if (rc != PSM_EINVAL)
		return rc;
	if (err != NULL)
		err->code = PSM_EUNAVAIL;
	return PSM_EUNAVAIL;
}

static int jq_parse(const cJSON *doc, struct journal_recovery *rcv, struct psm_err *err)
{
	const cJSON *dmg = cJSON_GetObjectItemCaseSensitive(doc, "damage");
	const cJSON *gr = cJSON_GetObjectItemCaseSensitive(doc, "grants");
	int rc;

	if (!cJSON_IsArray(dmg) || !cJSON_IsArray(gr))
		return psm_err_set(err, PSM_EUNAVAIL, "%s: no \"damage\" or \"grants\" array",
				   JQ_FILE);
	rc = jq_parse_damage(dmg, rcv, err);
	return rc == PSM_OK ? jq_parse_grants(gr, rcv, err) : rc;
}

/* The file is one journal frame (length, CRC32C, JSON) and nothing else: *json is its JSON. */
static int jq_unframe(const unsigned char *d, size_t size, const char **json, size_t *len,
		      struct psm_err *err)
{
	const char *why = NULL;

	*json = (const char *)d + FRAME_HDR_SIZE;
	*len = size >= FRAME_HDR_SIZE ? size - FRAME_HDR_SIZE : 0;
	if (size < FRAME_HDR_SIZE || frame_get_u32(d) != *len)
		why = "bad length";
	else if (frame_crc(d, *json, *len) != frame_get_u32(d + 4))
		why = "bad checksum";
	if (why == NULL)
		return PSM_OK;
	return psm_err_set(err, PSM_EUNAVAIL,
			   "%s: %s, damaged: not loaded rather than changed (its JSON follows an "
			   "8-byte header: note the grants it lists, remove it, revoke them)",
			   JQ_FILE, why);
}

int jq_load(int dirfd, struct journal_recovery *rcv, struct psm_err *err)
{
	unsigned char *d = NULL;
	size_t size = 0, len = 0;
	const char *json = NULL;
	cJSON *doc = NULL;
	int rc = frame_read_file(dirfd, JQ_FILE, &d, &size, err);

	if (rc == PSM_ENOENT) {
		psm_err_clear(err);
		return PSM_OK;
	}
	if (rc == PSM_OK)
		rc = jq_unframe(d, size, &json, &len, err);
	if (rc == PSM_OK)
		doc = cJSON_ParseWithLength(json, len);
	free(d);
	if (rc != PSM_OK)
		return rc;
	if (doc == NULL)
		return psm_err_set(err, PSM_EUNAVAIL,
				   "%s: not JSON (remove it only after "
				   "revoking what it lists)",
				   JQ_FILE);
	rc = jq_parse(doc, rcv, err);
	cJSON_Delete(doc);
	return rc;
}

/* The file's text (malloc'd), NULL when out of memory. */
static char *jq_text(const struct journal_recovery *rcv)
{
	cJSON *doc = cJSON_CreateObject(), *dmg = cJSON_AddArrayToObject(doc, "damage");
	cJSON *gr = cJSON_AddArrayToObject(doc, "grants");
	bool ok = dmg != NULL && gr != NULL &&
		  cJSON_AddStringToObject(doc, "format", "psm-quarantine") != NULL &&
		  cJSON_AddNumberToObject(doc, "version", 1) != NULL;
	char *text;
	size_t i;

	for (i = 0; ok && i < rcv->ndamage; i++)
		ok = cJSON_AddItemToArray(dmg, cJSON_CreateString(rcv->damage[i]));
	for (i = 0; ok && i < rcv->ngrants; i++)
		ok = cJSON_AddItemToArray(gr, record_to_json(&rcv->grants[i]));
	text = ok ? cJSON_PrintUnformatted(doc) : NULL;
	cJSON_Delete(doc);
	return text;
}

/* The file's bytes: the text in one journal frame (length, CRC32C); NULL when out of memory. */
static unsigned char *jq_frame(const struct journal_recovery *rcv, size_t *n)
{
	char *text = jq_text(rcv);
	size_t len = text != NULL ? strlen(text) : 0;
	unsigned char *d = text != NULL ? malloc(FRAME_HDR_SIZE + len) : NULL;

	if (d != NULL) {
		frame_seal(d, text, len);
		memcpy(d + FRAME_HDR_SIZE, text, len);
		*n = FRAME_HDR_SIZE + len;
	}
	free(text);
	return d;
}

/* Writes the file atomically: quarantine.new, fsync, rename, fsync the directory. */
static int jq_save(int dirfd, const struct journal_recovery *rcv, struct psm_err *err)
{
	size_t n = 0;
	unsigned char *text = jq_frame(rcv, &n);
	int fd, rc;

	if (text == NULL)
		return psm_err_set(err, PSM_ENOMEM, "%s: out of memory", JQ_FILE);
	fd = openat(dirfd, JQ_TMP, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		free(text);
		return psm_err_set(err, PSM_ESYS, "%s: create: %s", JQ_TMP, strerror(errno));
	}
	rc = frame_write_all(fd, text, n, JQ_TMP, err);
	free(text);
	return frame_replace(dirfd, fd, JQ_TMP, JQ_FILE, rc, err);
}

struct jq_walk {
	struct jscan *js;
	struct journal_recovery *rcv;
	bool grew;
	int rc;
};

/* A live grant with no record after the last damaged region: its revoke may be lost. */
static int jq_visit(void *ctx, struct record *rec)
{
	struct jq_walk *w = ctx;

	if (!jscan_seen(w->js, rec->u.grant.id))
		w->rc = jq_add_grant(w->rcv, rec, &w->grew);
	return w->rc;
}

const struct record *jq_find(const struct journal_recovery *rcv, const uint8_t id[ID_BYTES])
{
	size_t i;

	for (i = 0; i < rcv->ngrants; i++)
		if (memcmp(rcv->grants[i].u.grant.id, id, ID_BYTES) == 0)
			return &rcv->grants[i];
	return NULL;
}

/* Takes the grants revoked in st out of rcv; true when any went. */
static bool jq_drop_revoked(struct journal_recovery *rcv, const struct state *st)
{
	size_t i, kept = 0;

	for (i = 0; i < rcv->ngrants; i++) {
		if (state_tomb(st, REC_REVOKE, rcv->grants[i].u.grant.id) != NULL)
			record_free(&rcv->grants[i]);
		else
			rcv->grants[kept++] = rcv->grants[i];
	}
	if (kept == rcv->ngrants)
		return false;
	rcv->ngrants = kept;
	return true;
}

int jq_prune(int dirfd, struct journal_recovery *rcv, const struct state *st, struct psm_err *err)
{
	if (rcv->ngrants == 0 || !jq_drop_revoked(rcv, st))
		return PSM_OK;
	return jq_save(dirfd, rcv, err);
}

int jq_apply(int dirfd, struct state *st, struct jscan *js, struct journal_recovery *rcv,
	     struct psm_err *err)
{
	struct jq_walk w = {.js = js, .rcv = rcv};
	char text[PSM_ERR_MSG_MAX];
	size_t i;

	for (i = 0; w.rc == PSM_OK && i < js->nregions; i++) {
		jscan_region_text(&js->regions[i], text, sizeof(text));
		w.rc = jq_add_damage(rcv, text, &w.grew);
	}
	if (w.rc == PSM_OK && js->nregions > 0)
		state_foreach(st, REC_GRANT, jq_visit, &w);
	if (w.rc != PSM_OK)
		return psm_err_set(err, PSM_ENOMEM, "%s: out of memory", JQ_FILE);
	for (i = 0; i < rcv->ngrants; i++)
		state_remove(st, REC_GRANT, rcv->grants[i].u.grant.id);
	if (jq_drop_revoked(rcv, st)) /* revoked after the load that quarantined them */
		w.grew = true;
	return w.grew ? jq_save(dirfd, rcv, err) : PSM_OK;
}

int jq_clear(int dirfd, struct journal_recovery *rcv, struct psm_err *err)
{
	if (unlinkat(dirfd, JQ_FILE, 0) != 0 && errno != ENOENT)
		return psm_err_set(err, PSM_ESYS, "%s: remove: %s", JQ_FILE, strerror(errno));
	if (frame_fsync_dir(dirfd, err) != PSM_OK)
		return PSM_ESYS;
	jq_free(rcv);
	return PSM_OK;
}
