/* SPDX-License-Identifier: MIT */
/* psmctl_import.c - psmctl import: an export file's entries checked here, sent to psmd in parts. */
#include "psmctl.h"

#include <stdlib.h>
#include <string.h>

#include "record.h"
#include "text.h"

/*
 * Each entry is checked here first, with the checks psmd makes (text, then the record's
 * fields): an invalid one is named on stderr, "psmctl: import: FILE: entry 3 (grant for
 * alice): not_after: expected an integer or null", and not sent, so one bad entry never
 * takes a whole request down.  The rest go in requests of at most PROTO_LINE_MAX bytes.
 * Entries are numbered from 1 in the file's order.  Exit status 2 when an entry was
 * invalid (the valid ones are imported all the same, and said so), else 0.
 */

/* Import state: the request being filled, and the totals of the replies. */
struct ctl_import {
	const char *path;
	bool dry_run;
	const cJSON *doc;
	cJSON *req, *lists[2]; /* grants, sessions of the current request */
	size_t size;	       /* serialized bytes of the items in req */
	int items, requests;
	int *sent[2];	    /* index in the file's array of each item of the request */
	int nsent[2];	    /* (psmd's skipped items name their index in the request) */
	int first[2];	    /* entry number of each array's first item */
	int64_t done[2];    /* imported */
	int invalid, other; /* not imported: invalid here, skipped by psmd */
	cJSON *skipped;	    /* {"kind","index","id","reason"}, index in the file's array */
	cJSON *others;	    /* those of them psmd skipped */
};

static const char *const ctl_import_keys[2] = {"grants", "sessions"};
static const char *const ctl_import_kinds[2] = {"grant", "session"};

/* An export document: {"format":"psm-export","version":2,"grants":[...],"sessions":[...]}
 * (version 1, of older psmctl, has times as integers and no "_unix" members). */
static int ctl_import_check(struct ctl *c, const char *path, const cJSON *doc)
{
	const cJSON *m;

	if (!cJSON_IsObject(doc))
		return ctl_fail(c, CTL_USAGE, "%s: expected a JSON object", path);
	cJSON_ArrayForEach(m, doc)
	{
		bool list = strcmp(m->string, "grants") == 0 || strcmp(m->string, "sessions") == 0;

		if (strcmp(m->string, "format") == 0 &&
		    !(cJSON_IsString(m) && strcmp(m->valuestring, CTL_EXPORT_FORMAT) == 0))
			return ctl_fail(c, CTL_USAGE, "%s: format: expected \"%s\"", path,
					CTL_EXPORT_FORMAT);
		else if (strcmp(m->string, "version") == 0 &&
			 !(cJSON_IsNumber(m) && (m->valuedouble == 1 || m->valuedouble == 2)))
			return ctl_fail(c, CTL_USAGE, "%s: version: expected 1 or 2", path);
		else if (list && !cJSON_IsArray(m))
			return ctl_fail(c, CTL_USAGE, "%s: %s: expected an array", path, m->string);
		else if (!list && strcmp(m->string, "format") != 0 &&
			 strcmp(m->string, "version") != 0)
			return ctl_fail(c, CTL_USAGE, "%s: unknown key \"%s\"", path, m->string);
	}
	return CTL_OK;
}

/* Entry numbers: the file's entries counted from 1, in its order of "grants" and "sessions". */
static void ctl_import_number(struct ctl_import *im)
{
	const cJSON *m;
	int n = 1;

	cJSON_ArrayForEach(m, im->doc)
	{
		for (int k = 0; k < 2; k++)
			if (strcmp(m->string, ctl_import_keys[k]) == 0) {
				im->first[k] = n;
				n += cJSON_GetArraySize(m);
			}
	}
}

/* "entry 3 (grant for alice)", "entry 4 (session of bob)": control characters as '?'. */
static void ctl_import_entry(const struct ctl_import *im, int kind, int idx, char *buf, size_t n)
{
	const cJSON *item = cJSON_GetArrayItem(
	    cJSON_GetObjectItemCaseSensitive(im->doc, ctl_import_keys[kind]), idx);
	const char *who = cJSON_GetStringValue(
	    cJSON_GetObjectItemCaseSensitive(item, kind == 0 ? "principal" : "user"));
	int len = snprintf(buf, n, "entry %d (%s", im->first[kind] + idx, ctl_import_kinds[kind]);

	if (who != NULL && len > 0 && (size_t)len < n)
		len += snprintf(buf + len, n - (size_t)len, " %s %.64s", kind == 0 ? "for" : "of",
				who);
	if (len > 0 && (size_t)len < n)
		snprintf(buf + len, n - (size_t)len, ")");
	for (char *p = buf; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
}

/* Adds {"kind","index","id","reason"} to im->skipped (and to im->others when psmd's). */
static void ctl_import_skip(struct ctl_import *im, int kind, int idx, const cJSON *item,
			    const char *why, bool psmd)
{
	const char *id = cJSON_GetStringValue(
	    cJSON_GetObjectItemCaseSensitive(item, kind == 0 ? "grant_id" : "session_id"));
	cJSON *o = cJSON_CreateObject();

	if (o == NULL || !cJSON_AddItemToArray(im->skipped, o)) {
		cJSON_Delete(o);
		return;
	}
	cJSON_AddStringToObject(o, "kind", ctl_import_kinds[kind]);
	cJSON_AddNumberToObject(o, "index", idx);
	cJSON_AddStringToObject(o, "id", id != NULL ? id : "");
	cJSON_AddStringToObject(o, "reason", why);
	if (psmd)
		cJSON_AddItemToArray(im->others, cJSON_Duplicate(o, 1));
}

/* psmd's checks of one entry, made here: PSM_OK, or err says what is wrong. */
static int ctl_import_valid(int kind, const cJSON *item, size_t size, struct psm_err *err)
{
	struct record r;
	int rc;

	if (!cJSON_IsObject(item))
		return psm_err_set(err, PSM_EINVAL, "expected an object");
	if (size + 128 > PROTO_LINE_MAX)
		return psm_err_set(err, PSM_EINVAL, "larger than a request may be (%d bytes)",
				   PROTO_LINE_MAX);
	rc = text_check_json("", item, NULL, err);
	if (rc == PSM_OK)
		rc = kind == 0 ? record_grant_from_json(item, &r, err)
			       : record_session_from_json(item, &r, err);
	if (rc == PSM_OK)
		record_free(&r);
	return rc;
}

/* An invalid entry: a line on stderr, and in the skipped list. */
static void ctl_import_invalid(struct ctl *c, struct ctl_import *im, int kind, int idx,
			       const cJSON *item, const struct psm_err *err)
{
	char entry[128];

	ctl_import_entry(im, kind, idx, entry, sizeof(entry));
	ctl_fail(c, CTL_USAGE, "%s: %s: %s", im->path, entry, err->msg);
	ctl_import_skip(im, kind, idx, item, err->msg, false);
	im->invalid++;
}

static int ctl_import_start(struct ctl *c, struct ctl_import *im)
{
	cJSON_Delete(im->req);
	im->req = cJSON_CreateObject();
	im->size = 0;
	im->items = 0;
	im->nsent[0] = im->nsent[1] = 0;
	if (im->req == NULL || cJSON_AddStringToObject(im->req, "op", "import") == NULL ||
	    (im->lists[0] = cJSON_AddArrayToObject(im->req, "grants")) == NULL ||
	    (im->lists[1] = cJSON_AddArrayToObject(im->req, "sessions")) == NULL ||
	    cJSON_AddBoolToObject(im->req, "dry_run", im->dry_run) == NULL)
		return ctl_fail(c, CTL_UNAVAIL, "out of memory");
	return CTL_OK;
}

/* psmd's counts, and what it skipped (its index in the request made the file's). */
static void ctl_import_tally(struct ctl_import *im, const cJSON *reply)
{
	const cJSON *imp = cJSON_GetObjectItemCaseSensitive(reply, "imported");
	const cJSON *sk = cJSON_GetObjectItemCaseSensitive(reply, "skipped"), *it;
	int64_t n, i;
	int k;

	for (k = 0; k < 2; k++)
		if (ctl_int(cJSON_GetObjectItemCaseSensitive(imp, ctl_import_keys[k]), &n))
			im->done[k] += n;
	cJSON_ArrayForEach(it, sk)
	{
		const char *kind =
		    cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it, "kind"));
		const char *why =
		    cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it, "reason"));

		k = kind != NULL && strcmp(kind, "session") == 0;
		if (!ctl_int(cJSON_GetObjectItemCaseSensitive(it, "index"), &i) || i < 0 ||
		    i >= im->nsent[k])
			continue;
		i = im->sent[k][i];
		ctl_import_skip(
		    im, k, (int)i,
		    cJSON_GetArrayItem(
			cJSON_GetObjectItemCaseSensitive(im->doc, ctl_import_keys[k]), (int)i),
		    why != NULL ? why : "?", true);
		im->other++;
	}
}

/* Sends the request filled so far (the protocol's own checks first). */
static int ctl_import_flush(struct ctl *c, struct ctl_import *im)
{
	struct proto_reply r;
	int rc = ctl_args_validate(c, im->req);

	if (rc == CTL_OK)
		rc = ctl_call(c, im->req, &r);
	if (rc != CTL_OK) {
		if (im->done[0] + im->done[1] > 0)
			fprintf(stderr,
				"psmctl: import: %lld %s, %lld %s were imported before that\n",
				(long long)im->done[0],
				plural((unsigned long long)im->done[0], "grant", "grants"),
				(long long)im->done[1],
				plural((unsigned long long)im->done[1], "session", "sessions"));
		return rc;
	}
	ctl_import_tally(im, r.root);
	proto_reply_free(&r);
	im->requests++;
	return ctl_import_start(c, im);
}

/* Notes that the request's next item of kind is the file's entry idx. */
static int ctl_import_note(struct ctl *c, struct ctl_import *im, int kind, int idx)
{
	int *v = realloc(im->sent[kind], (size_t)(im->nsent[kind] + 1) * sizeof(int));

	if (v == NULL)
		return ctl_fail(c, CTL_UNAVAIL, "out of memory");
	im->sent[kind] = v;
	v[im->nsent[kind]++] = idx;
	return CTL_OK;
}

/* Adds one item, sending the request first when the item would make it too large. */
static int ctl_import_item(struct ctl *c, struct ctl_import *im, int kind, int idx, cJSON *item)
{
	char *s = cJSON_PrintUnformatted(item);
	size_t n = s != NULL ? strlen(s) + 1 : 0;
	struct psm_err err = {0};
	int rc = CTL_OK;

	free(s);
	if (n == 0)
		return ctl_fail(c, CTL_UNAVAIL, "out of memory");
	if (ctl_import_valid(kind, item, n, &err) != PSM_OK) {
		if (err.code == PSM_ENOMEM)
			return ctl_fail(c, CTL_UNAVAIL, "out of memory");
		ctl_import_invalid(c, im, kind, idx, item, &err);
		return CTL_OK;
	}
	if (im->size + n + 128 > PROTO_LINE_MAX)
		rc = ctl_import_flush(c, im);
	if (rc == CTL_OK)
		rc = ctl_import_note(c, im, kind, idx);
	if (rc != CTL_OK)
		return rc;
	cJSON_AddItemToArray(im->lists[kind], cJSON_Duplicate(item, 1));
	im->size += n;
	im->items++;
	return CTL_OK;
}

/* One item of the file in the wire's form (a version 2 item's times back to integers;
 * one whose time and _unix disagree is invalid), then added. */
static int ctl_import_add(struct ctl *c, struct ctl_import *im, int kind, int idx,
			  const cJSON *from)
{
	struct psm_err err = {0};
	cJSON *item = cJSON_Duplicate(from, 1);
	int rc = CTL_OK;

	if (item == NULL)
		return ctl_fail(c, CTL_UNAVAIL, "out of memory");
	if (proto_unpresent(item, &err) != PSM_OK)
		ctl_import_invalid(c, im, kind, idx, from, &err);
	else
		rc = ctl_import_item(c, im, kind, idx, item);
	cJSON_Delete(item);
	return rc;
}

static int ctl_import_all(struct ctl *c, struct ctl_import *im)
{
	const cJSON *it;
	int kind, idx, rc = ctl_import_start(c, im);

	ctl_import_number(im);
	for (kind = 0; kind < 2 && rc == CTL_OK; kind++) {
		idx = 0;
		cJSON_ArrayForEach(it,
				   cJSON_GetObjectItemCaseSensitive(im->doc, ctl_import_keys[kind]))
		{
			rc = ctl_import_add(c, im, kind, idx++, it);
			if (rc != CTL_OK)
				break;
		}
	}
	/* an empty file still asks psmd (it may refuse); nothing valid to send does not */
	if (rc == CTL_OK && (im->items > 0 || (im->requests == 0 && im->invalid == 0)))
		rc = ctl_import_flush(c, im);
	return rc;
}

static void ctl_import_json(const struct ctl_import *im)
{
	cJSON *o = cJSON_CreateObject(), *imp;
	char *s;

	cJSON_AddBoolToObject(o, "ok", 1);
	imp = cJSON_AddObjectToObject(o, "imported");
	cJSON_AddNumberToObject(imp, "grants", (double)im->done[0]);
	cJSON_AddNumberToObject(imp, "sessions", (double)im->done[1]);
	cJSON_AddItemToObject(o, "skipped", cJSON_Duplicate(im->skipped, 1));
	cJSON_AddBoolToObject(o, "dry_run", im->dry_run);
	s = cJSON_PrintUnformatted(o);
	if (s != NULL)
		puts(s);
	free(s);
	cJSON_Delete(o);
}

/* "skipped: entry 2 (grant for alice): already present" for what psmd did not take. */
static void ctl_import_print_skipped(const struct ctl_import *im)
{
	const cJSON *it;
	char entry[128], why[512];
	int64_t i;

	cJSON_ArrayForEach(it, im->others)
	{
		const char *kind =
		    cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it, "kind"));
		int k = kind != NULL && strcmp(kind, "session") == 0;

		if (!ctl_int(cJSON_GetObjectItemCaseSensitive(it, "index"), &i))
			continue;
		ctl_import_entry(im, k, (int)i, entry, sizeof(entry));
		ctl_value_text(cJSON_GetObjectItemCaseSensitive(it, "reason"), why, sizeof(why));
		printf("skipped: %s: %s\n", entry, why);
	}
}

/* "imported 1 grant, 0 sessions; not imported: 2 invalid entries, 1 skipped", the skipped
 * entries (the invalid ones are on stderr already). */
static void ctl_import_report(struct ctl *c, const struct ctl_import *im)
{
	if (c->json) { /* after an invalid entry's error object: that one is the output */
		if (!ctl_errors_printed())
			ctl_import_json(im);
		return;
	}
	printf("%s %lld %s, %lld %s", im->dry_run ? "would import" : "imported",
	       (long long)im->done[0], plural((unsigned long long)im->done[0], "grant", "grants"),
	       (long long)im->done[1],
	       plural((unsigned long long)im->done[1], "session", "sessions"));
	if (im->invalid > 0 || im->other > 0)
		printf("; not imported: %d invalid %s, %d skipped", im->invalid,
		       plural((unsigned)im->invalid, "entry", "entries"), im->other);
	printf("%s\n", im->dry_run ? " (dry run: nothing changed)" : "");
	if (im->other > 0)
		ctl_import_print_skipped(im);
}

static void ctl_import_free(struct ctl_import *im)
{
	cJSON_Delete(im->req);
	cJSON_Delete(im->skipped);
	cJSON_Delete(im->others);
	free(im->sent[0]);
	free(im->sent[1]);
}

int ctl_run_import(struct ctl *c, const struct ctl_cmd *cmd, char **pos, int npos, cJSON *req)
{
	struct ctl_import im = {.path = pos[0]};
	cJSON *doc = NULL;
	char *text = NULL;
	size_t len = 0;
	int rc;

	(void)cmd;
	(void)npos;
	im.dry_run = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(req, "dry_run"));
	im.skipped = cJSON_CreateArray();
	im.others = cJSON_CreateArray();
	rc = im.skipped != NULL && im.others != NULL ? ctl_read_file(c, im.path, &text, &len)
						     : ctl_fail(c, CTL_UNAVAIL, "out of memory");
	if (rc == CTL_OK && (doc = cJSON_ParseWithLength(text, len)) == NULL)
		rc = ctl_fail(c, CTL_USAGE, "%s: not valid JSON", im.path);
	if (rc == CTL_OK)
		rc = ctl_import_check(c, im.path, doc);
	im.doc = doc;
	if (rc == CTL_OK)
		rc = ctl_import_all(c, &im);
	if (rc == CTL_OK)
		ctl_import_report(c, &im);
	if (rc == CTL_OK && im.invalid > 0)
		rc = CTL_USAGE;
	ctl_import_free(&im);
	cJSON_Delete(doc);
	free(text);
	return rc;
}
