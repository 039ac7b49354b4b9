/* SPDX-License-Identifier: MIT */
/* policy_int.h - the in-memory policy shared by policy_parse.c and policy_compile.c (not an API).
 */
#ifndef PSM_POLICY_INT_H
#define PSM_POLICY_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cond.h"
#include "json_doc.h"
#include "policy.h"

#define POLICY_TEXT_MAX 512 /* reason, and hosts joined with ',' */

/* A role or a service: a name defined once across all files. */
struct policy_named {
	const char *name;
	const cJSON *node; /* role: array of patterns; service: permission string */
	const struct json_doc *doc;
	size_t ord; /* load order, for messages */
};

/* A binding or a deny rule. Strings point into the documents, which the policy keeps. */
struct policy_rule {
	bool deny;
	unsigned number; /* 1-based across files, per kind */
	const struct json_doc *doc;
	const char *user, *group; /* exactly one is set */
	const cJSON *who;	  /* the "user" or "group" member, for messages */
	const cJSON *roles;	  /* array of role names, or NULL */
	const cJSON *perms;	  /* array of patterns, or NULL */
	const cJSON *hosts;	  /* array of host names/labels/"*", or NULL = everywhere */
	char hosts_text[POLICY_TEXT_MAX + 1];
	const char *reason;
	unsigned char from[COND_ENC_MAX];
	size_t fromlen;
};

struct policy {
	struct json_doc *docs;
	size_t ndocs;
	struct policy_named *roles; /* sorted by name once all files are read */
	size_t nroles;
	struct policy_named *services;
	size_t nservices;
	struct policy_rule *rules; /* bindings and deny rules in load order */
	size_t nrules;
	unsigned nbindings, ndenies;
	const cJSON *break_glass; /* array of user names, or NULL */
	const struct json_doc *break_glass_doc;
	int64_t session_ttl;
	const struct json_doc *session_ttl_doc;
	char **warnings; /* policy_check_nss() */
	unsigned nwarnings;
	int64_t session_ttl_max;
	const struct json_doc *session_ttl_max_doc;
};

/* State while the documents are read and validated. */
struct policy_parse {
	struct policy *p;
	size_t cap_docs, cap_roles, cap_services, cap_rules, ord;
	struct psm_err *err;
};

/* Grows *arr (n used, *cap allocated) so that it has room for one more element of size sz. */
int policy_grow(void **arr, size_t n, size_t *cap, size_t sz, struct psm_err *err);

/* Validates and merges pp->p->docs (already read); roles end up sorted. */
int policy_parse_all(struct policy_parse *pp);

/* The uid of user name or the gid of group name (*id): 1 found, 0 unknown to NSS, or
 * -PSM_ENOMEM / -PSM_ESYS with err filled (nss.h). */
int policy_nss(const char *name, bool group, uint32_t *id, struct psm_err *err);
/* Frees the warnings policy_check_nss() kept. */
void policy_warnings_free(struct policy *p);

/* Whether the rule's hosts list names o's host, one of its labels, or "*". */
bool policy_in_scope(const struct policy_rule *r, const struct policy_compile_opts *o);

/* The role called name, or NULL (roles must be sorted). */
const struct policy_named *policy_find_role(const struct policy *p, const char *name);

#endif
