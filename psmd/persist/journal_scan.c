/* SPDX-License-Identifier: MIT */
/* journal_scan.c - replaying a journal segment that may be damaged: resync, torn tail or
 * corruption. */
#include "journal_scan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"

/* Whether a provable frame starts at d[p]. */
static bool js_frame_ok(const unsigned char *d, size_t size, size_t p)
{
	const char *json, *why;
	size_t off = p, len;

	if (size - p <= FRAME_HDR_SIZE || d[p + FRAME_HDR_SIZE] != '{')
		return false;
	return frame_next(d, size, &off, &json, &len, &why) == 1;
}

/* The first provable frame at or after from; size when there is none. */
static size_t js_resync(const unsigned char *d, size_t size, size_t from)
{
	size_t p;

	for (p = from; p < size; p++)
		if (js_frame_ok(d, size, p))
			return p;
	return size;
}

static bool js_all_zero(const unsigned char *p, size_t n)
{
	while (n > 0 && p[n - 1] == 0)
		n--;
	return n == 0;
}

/* Whether damage at d[at] with nothing provable after it is what an unfinished append leaves. */
static bool js_torn(const unsigned char *d, size_t size, size_t at)
{
	size_t rest = size - at, body;
	unsigned char lb[4];
	uint32_t n;

	if (rest < FRAME_HDR_SIZE || js_all_zero(d + at, rest))
		return true;
	n = frame_get_u32(d + at);
	body = rest - FRAME_HDR_SIZE;
	if (n == 0 || n > FRAME_REC_MAX || n <= body)
		return false; /* written whole (or an impossible length): changed since */
	if (body == 0 || body > FRAME_REC_MAX)
		return true;
	frame_put_u32(lb, (uint32_t)body); /* whole but for its length? */
	return frame_crc(lb, (const char *)d + at + FRAME_HDR_SIZE, body) !=
	       frame_get_u32(d + at + 4);
}

static int js_region(struct jscan *s, const char *name, size_t from, size_t to, const char *why,
		     struct psm_err *err)
{
	struct jscan_region *r;

	if (s->nregions == s->rcap) {
		size_t cap = s->rcap == 0 ? 4 : s->rcap * 2;

		r = realloc(s->regions, cap * sizeof(*r));
		if (r == NULL)
			return psm_err_set(err, PSM_ENOMEM, "journal: out of memory");
		s->regions = r;
		s->rcap = cap;
	}
	r = &s->regions[s->nregions++];
	snprintf(r->seg, sizeof(r->seg), "%s", name);
	r->from = from;
	r->to = to;
	r->why = why;
	s->nseen = 0; /* what was read before this region is now "before" */
	s->sorted = false;
	return PSM_OK;
}

static int js_see(struct jscan *s, const uint8_t id[ID_BYTES], struct psm_err *err)
{
	if (s->nseen == s->scap) {
		size_t cap = s->scap == 0 ? 64 : s->scap * 2;
		uint8_t(*v)[ID_BYTES] = realloc(s->seen, cap * ID_BYTES);

		if (v == NULL)
			return psm_err_set(err, PSM_ENOMEM, "journal: out of memory");
		s->seen = v;
		s->scap = cap;
	}
	memcpy(s->seen[s->nseen++], id, ID_BYTES);
	s->sorted = false;
	return PSM_OK;
}

static int js_apply(struct jscan *s, const char *json, size_t len, struct psm_err *err)
{
	uint8_t id[ID_BYTES];
	struct record r;
	int outcome, rc = frame_parse_record(json, len, &r, err);

	if (rc != PSM_OK)
		return rc;
	memcpy(id, record_id(&r), ID_BYTES);
	rc = state_apply(s->st, &r, s->now, &outcome, err);
	if (rc != PSM_OK)
		return rc;
	s->records++;
	if (outcome == STATE_EXPIRED)
		s->dropped++;
	else if (outcome != STATE_APPLIED)
		s->ignored++;
	return s->nregions > 0 ? js_see(s, id, err) : PSM_OK;
}

int jscan_segment(struct jscan *s, const unsigned char *d, size_t size, const char *name, bool last,
		  struct psm_err *err)
{
	size_t off = JOURNAL_HDR_SIZE, at, len;
	const char *json, *why;
	int r, rc;

	for (s->torn = false;;) {
		at = off;
		r = frame_next(d, size, &off, &json, &len, &why);
		if (r == 0)
			return PSM_OK;
		if (r > 0) {
			rc = js_apply(s, json, len, err);
			if (rc != PSM_OK)
				return psm_err_prefix(err, "%s: record at byte %zu", name, at);
			continue;
		}
		off = js_resync(d, size, at + 1);
		if (off == size && last && js_torn(d, size, at)) {
			s->torn = true;
			s->torn_at = at;
			s->torn_why = why;
			return PSM_OK;
		}
		rc = js_region(s, name, at, off, why, err);
		if (rc != PSM_OK)
			return rc;
	}
}

static int js_cmp_id(const void *a, const void *b)
{
	return memcmp(a, b, ID_BYTES);
}

bool jscan_seen(struct jscan *s, const uint8_t id[ID_BYTES])
{
	if (!s->sorted && s->nseen > 1)
		qsort(s->seen, s->nseen, ID_BYTES, js_cmp_id);
	s->sorted = true;
	return s->nseen > 0 && bsearch(id, s->seen, s->nseen, ID_BYTES, js_cmp_id) != NULL;
}

void jscan_region_text(const struct jscan_region *r, char *buf, size_t n)
{
	snprintf(buf, n, "%s: bytes %zu-%zu unreadable (%s), the records there are lost", r->seg,
		 r->from, r->to - 1, r->why);
}

void jscan_free(struct jscan *s)
{
	free(s->regions);
	free(s->seen);
	memset(s, 0, sizeof(*s));
}
