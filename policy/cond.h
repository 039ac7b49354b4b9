/* SPDX-License-Identifier: MIT */
/* cond.h - 'from' conditions: CIDRs (v4/v6), LOCAL, and host-name suffixes. */
#ifndef PSM_COND_H
#define PSM_COND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "psm_err.h"

/*
 * Conditions are compiled into a compact byte string stored in a table
 * record (SHM_F_FROM): a sequence of items
 *   [type u8][len u8][payload len bytes]
 * type COND_CIDR4: payload = prefix u8 + 4 address bytes
 * type COND_CIDR6: payload = prefix u8 + 16 address bytes
 * type COND_LOCAL: no payload
 * type COND_SUFFIX: payload = lower-case suffix text starting with '.'
 * An empty string means "from anywhere".  Matching never does DNS.
 */
enum cond_type { COND_CIDR4 = 1, COND_CIDR6 = 2, COND_LOCAL = 3, COND_SUFFIX = 4 };

#define COND_ENC_MAX 1024

/* Compiles one item ("10.0.0.0/8", "2001:db8::/32", "192.0.2.7", "LOCAL", ".corp.example")
 * and appends it to out (capacity cap, *len in/out). PSM_EINVAL names the bad item.
 * A v4-mapped v6 CIDR (::ffff:a.b.c.d/N, N >= 96) is stored as COND_CIDR4. */
int cond_compile(const char *item, unsigned char *out, size_t cap, size_t *len,
		 struct psm_err *err);

/* The remote side of a request, parsed once per decision. */
struct cond_req {
	int family; /* AF_INET, AF_INET6, or 0 for a name / none */
	unsigned char addr[16];
	bool local;	  /* no rhost, loopback, or this host's name */
	const char *name; /* rhost when it is not an address (not copied) */
	size_t namelen;
};
/* rhost may be NULL or "". host_name: this host's name (for LOCAL). */
void cond_req_init(struct cond_req *r, const char *rhost, const char *host_name);

/* True if enc is empty or any item matches. A malformed enc never matches. */
bool cond_match(const unsigned char *enc, size_t len, const struct cond_req *r);

/* "10.0.0.0/8,LOCAL" into buf; "" for anywhere. */
void cond_format(const unsigned char *enc, size_t len, char *buf, size_t n);

#endif
