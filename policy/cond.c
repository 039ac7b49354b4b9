/* SPDX-License-Identifier: MIT */
/* cond.c - 'from' conditions: compile CIDRs, LOCAL and name suffixes, and match a request. */
#include "cond.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "psm_str.h"

#define COND_ITEM_MAX 256

static const unsigned char cond_v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

static int cond_append(unsigned char *out, size_t cap, size_t *len, unsigned char type,
		       const void *payload, size_t plen, const char *item, struct psm_err *err)
{
	if (plen > 255 || *len + 2 + plen > cap)
		return psm_err_set(err, PSM_EINVAL,
				   "\"%.64s\": too many 'from' conditions "
				   "(at most %zu bytes encoded)",
				   item, cap);
	out[(*len)++] = type;
	out[(*len)++] = (unsigned char)plen;
	if (plen > 0)
		memcpy(out + *len, payload, plen);
	*len += plen;
	return PSM_OK;
}

/* True when bits past prefix are all zero in addr (alen bytes). */
static bool cond_host_bits_clear(const unsigned char *addr, size_t alen, unsigned prefix)
{
	size_t i;

	for (i = 0; i < alen; i++) {
		unsigned bit0 = (unsigned)i * 8;
		unsigned char mask;

		if (bit0 + 8 <= prefix)
			continue;
		mask = (unsigned char)(bit0 >= prefix ? 0xffu : 0xffu >> (prefix - bit0));
		if (addr[i] & mask)
			return false;
	}
	return true;
}

static void cond_mask(unsigned char *addr, size_t alen, unsigned prefix)
{
	size_t i;

	for (i = 0; i < alen; i++) {
		unsigned bit0 = (unsigned)i * 8;

		if (bit0 >= prefix)
			addr[i] = 0;
		else if (bit0 + 8 > prefix)
			addr[i] &= (unsigned char)(0xffu << (8 - (prefix - bit0)));
	}
}

/* Parses "/N" (digits only, no sign, at most max). */
static bool cond_prefix(const char *s, unsigned max, unsigned *prefix)
{
	unsigned v = 0;

	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return false;
		v = v * 10 + (unsigned)(*s - '0');
		if (v > max)
			return false;
	}
	*prefix = v;
	return true;
}

static int cond_cidr(const char *item, unsigned char *out, size_t cap, size_t *len,
		     struct psm_err *err)
{
	char a[COND_ITEM_MAX], shown[INET6_ADDRSTRLEN];
	unsigned char pl[17];
	char *slash;
	int v6 = strchr(item, ':') != NULL;
	unsigned max = v6 ? 128 : 32, prefix = max;
	size_t alen = v6 ? 16 : 4;

	psm_copy(a, sizeof(a), item);
	slash = strchr(a, '/');
	if (slash != NULL) {
		*slash = '\0';
		if (!cond_prefix(slash + 1, max, &prefix))
			return psm_err_set(err, PSM_EINVAL,
					   "\"%.64s\": prefix length must be "
					   "0-%u",
					   item, max);
	}
	if (inet_pton(v6 ? AF_INET6 : AF_INET, a, pl + 1) != 1)
		return psm_err_set(err, PSM_EINVAL, "\"%.64s\": not an IPv%d address", item,
				   v6 ? 6 : 4);
	if (!cond_host_bits_clear(pl + 1, alen, prefix)) {
		cond_mask(pl + 1, alen, prefix);
		inet_ntop(v6 ? AF_INET6 : AF_INET, pl + 1, shown, sizeof(shown));
		return psm_err_set(err, PSM_EINVAL,
				   "\"%.64s\": host bits set (did you mean "
				   "%s/%u?)",
				   item, shown, prefix);
	}
	if (v6 && prefix >= 96 && psm_mem_eq(pl + 1, cond_v4mapped, 12)) {
		pl[12] = (unsigned char)(prefix - 96); /* ::ffff:a.b.c.d/N is IPv4 */
		return cond_append(out, cap, len, COND_CIDR4, pl + 12, 5, item, err);
	}
	pl[0] = (unsigned char)prefix;
	return cond_append(out, cap, len, v6 ? COND_CIDR6 : COND_CIDR4, pl, alen + 1, item, err);
}

static int cond_suffix(const char *item, unsigned char *out, size_t cap, size_t *len,
		       struct psm_err *err)
{
	char low[COND_ITEM_MAX];
	size_t n = strlen(item), i;

	if (n < 2 || n > 253 || item[n - 1] == '.' || strstr(item, "..") != NULL)
		return psm_err_set(err, PSM_EINVAL,
				   "\"%.64s\": not a valid name suffix "
				   "(e.g. \".corp.example\")",
				   item);
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)item[i];

		if (!psm_is_alnum(c) && c != '.' && c != '-' && c != '_')
			return psm_err_set(err, PSM_EINVAL,
					   "\"%.64s\": bad character in name "
					   "suffix at %zu",
					   item, i + 1);
		low[i] = (char)psm_lower(c);
	}
	return cond_append(out, cap, len, COND_SUFFIX, low, n, item, err);
}

int cond_compile(const char *item, unsigned char *out, size_t cap, size_t *len, struct psm_err *err)
{
	size_t n = item == NULL ? 0 : strlen(item);

	if (n == 0)
		return psm_err_set(err, PSM_EINVAL, "empty 'from' condition");
	if (n >= COND_ITEM_MAX)
		return psm_err_set(err, PSM_EINVAL, "\"%.64s...\": 'from' condition too long",
				   item);
	if (psm_streq(item, "LOCAL"))
		return cond_append(out, cap, len, COND_LOCAL, NULL, 0, item, err);
	if (item[0] == '.')
		return cond_suffix(item, out, cap, len, err);
	if (psm_strchr(item, ':') != NULL || psm_is_digit((unsigned char)item[0]))
		return cond_cidr(item, out, cap, len, err);
	return psm_err_set(err, PSM_EINVAL,
			   "\"%.64s\": not a CIDR, an address, LOCAL or a "
			   "name suffix starting with '.'",
			   item);
}

/* Address forms: v4, v6 (v4-mapped becomes v4), v6 with a "%zone". */
static bool cond_req_addr(struct cond_req *r, const char *rhost)
{
	char a[INET6_ADDRSTRLEN + 1];
	const char *pct = psm_strchr(rhost, '%');

	if (inet_pton(AF_INET, rhost, r->addr) == 1) {
		r->family = AF_INET;
		return true;
	}
	if (pct != NULL) {
		if ((size_t)(pct - rhost) >= sizeof(a))
			return false;
		memcpy(a, rhost, (size_t)(pct - rhost));
		a[pct - rhost] = '\0';
		rhost = a;
	}
	if (inet_pton(AF_INET6, rhost, r->addr) != 1)
		return false;
	r->family = AF_INET6;
	if (psm_mem_eq(r->addr, cond_v4mapped, 12)) {
		memmove(r->addr, r->addr + 12, 4);
		r->family = AF_INET;
	}
	return true;
}

static bool cond_is_loopback(const struct cond_req *r)
{
	static const unsigned char v6lo[16] = {[15] = 1};

	if (r->family == AF_INET)
		return r->addr[0] == 127;
	return r->family == AF_INET6 && psm_mem_eq(r->addr, v6lo, 16);
}

void cond_req_init(struct cond_req *r, const char *rhost, const char *host_name)
{
	memset(r, 0, sizeof(*r));
	if (rhost == NULL || rhost[0] == '\0') {
		r->local = true;
		return;
	}
	if (cond_req_addr(r, rhost)) {
		r->local = cond_is_loopback(r);
		return;
	}
	r->family = 0;
	memset(r->addr, 0, sizeof(r->addr));
	r->name = rhost;
	r->namelen = strlen(rhost);
	if (r->namelen > 1 && rhost[r->namelen - 1] == '.')
		r->namelen--; /* fully qualified "a.example." */
	r->local = psm_case_eq(rhost, "localhost") ||
		   (host_name != NULL && host_name[0] != '\0' && strlen(host_name) == r->namelen &&
		    psm_casen_eq(host_name, rhost, r->namelen));
}

static bool cond_prefix_match(const unsigned char *net, const unsigned char *addr, unsigned prefix)
{
	unsigned full = prefix / 8, rest = prefix % 8;
	unsigned char mask;

	if (!psm_mem_eq(net, addr, full))
		return false;
	if (rest == 0)
		return true;
	mask = (unsigned char)(0xffu << (8 - rest));
	return (net[full] & mask) == (addr[full] & mask);
}

/* One item: 1 match, 0 no match, -1 malformed. */
static int cond_item_match(unsigned char type, const unsigned char *p, size_t n,
			   const struct cond_req *r)
{
	switch (type) {
	case COND_CIDR4:
		if (n != 5 || p[0] > 32)
			return -1;
		return r->family == AF_INET && cond_prefix_match(p + 1, r->addr, p[0]);
	case COND_CIDR6:
		if (n != 17 || p[0] > 128)
			return -1;
		return r->family == AF_INET6 && cond_prefix_match(p + 1, r->addr, p[0]);
	case COND_LOCAL:
		return n != 0 ? -1 : r->local;
	case COND_SUFFIX:
		if (n < 2 || p[0] != '.')
			return -1;
		return r->family == 0 && r->name != NULL && r->namelen > n &&
		       psm_casen_eq(r->name + r->namelen - n, (const char *)p, n);
	default:
		return -1;
	}
}

bool cond_match(const unsigned char *enc, size_t len, const struct cond_req *r)
{
	size_t o = 0;
	bool any = false;

	if (len == 0)
		return true;
	while (o < len) {
		size_t n;
		int m;

		if (len - o < 2 || len - o - 2 < enc[o + 1])
			return false;
		n = enc[o + 1];
		m = cond_item_match(enc[o], enc + o + 2, n, r);
		if (m < 0)
			return false;
		any = any || m == 1;
		o += 2 + n;
	}
	return any;
}

static void cond_item_format(const unsigned char *p, unsigned char type, size_t n, char *buf,
			     size_t bn)
{
	char a[INET6_ADDRSTRLEN];

	if (type == COND_CIDR4 && n == 5 && inet_ntop(AF_INET, p + 1, a, sizeof(a)))
		psm_fmt(buf, bn, "%s/%u", a, p[0]);
	else if (type == COND_CIDR6 && n == 17 && inet_ntop(AF_INET6, p + 1, a, sizeof(a)))
		psm_fmt(buf, bn, "%s/%u", a, p[0]);
	else if (type == COND_LOCAL && n == 0)
		psm_fmt(buf, bn, "LOCAL");
	else if (type == COND_SUFFIX)
		psm_fmt(buf, bn, "%.*s", (int)n, (const char *)p);
	else
		psm_fmt(buf, bn, "?");
}

void cond_format(const unsigned char *enc, size_t len, char *buf, size_t n)
{
	size_t o = 0, w = 0;
	char item[300];

	if (n == 0)
		return;
	buf[0] = '\0';
	while (o + 2 <= len && len - o - 2 >= enc[o + 1] && w < n) {
		cond_item_format(enc + o + 2, enc[o], enc[o + 1], item, sizeof(item));
		w += (size_t)psm_fmt(buf + w, n - w, "%s%s", w > 0 ? "," : "", item);
		o += 2 + enc[o + 1];
	}
	if (o != len && w < n)
		psm_fmt(buf + w, n - w, "%s?", w > 0 ? "," : "");
}
