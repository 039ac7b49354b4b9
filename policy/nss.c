/* SPDX-License-Identifier: MIT */
/* nss.c - the one NSS lookup of psm: one buffer rule, one return rule (see nss.h). */
#include "nss.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "psm_str.h"

union nss_rec {
	struct passwd pw;
	struct group gr;
};

struct nss_key;
/* One call of a reentrant NSS function into buf; *found when it returned an entry. */
typedef int nss_call_fn(const struct nss_key *k, union nss_rec *r, char *buf, size_t n,
			bool *found);

/* What is looked up: by name when name is set, else by id.  One function per kind, so a
 * program links only the NSS functions it uses. */
struct nss_key {
	bool user;
	const char *name;
	unsigned id;
	nss_call_fn *call;
};

static int nss_pw_name(const struct nss_key *k, union nss_rec *r, char *buf, size_t n, bool *found)
{
	struct passwd *res = NULL;
	int rc = getpwnam_r(k->name, &r->pw, buf, n, &res);

	*found = res != NULL;
	return rc;
}

static int nss_pw_uid(const struct nss_key *k, union nss_rec *r, char *buf, size_t n, bool *found)
{
	struct passwd *res = NULL;
	int rc = getpwuid_r((uid_t)k->id, &r->pw, buf, n, &res);

	*found = res != NULL;
	return rc;
}

static int nss_gr_name(const struct nss_key *k, union nss_rec *r, char *buf, size_t n, bool *found)
{
	struct group *res = NULL;
	int rc = getgrnam_r(k->name, &r->gr, buf, n, &res);

	*found = res != NULL;
	return rc;
}

static int nss_gr_gid(const struct nss_key *k, union nss_rec *r, char *buf, size_t n, bool *found)
{
	struct group *res = NULL;
	int rc = getgrgid_r((gid_t)k->id, &r->gr, buf, n, &res);

	*found = res != NULL;
	return rc;
}

/* The ids; the name only for a lookup by id (a lookup by name has it: pam_psm's path copies
 * nothing it does not need). */
static void nss_fill(const struct nss_key *k, const union nss_rec *r, struct nss_id *out)
{
	const char *name = k->user ? r->pw.pw_name : r->gr.gr_name;
	size_t len;

	out->uid = k->user ? r->pw.pw_uid : (uid_t)-1;
	out->gid = k->user ? r->pw.pw_gid : r->gr.gr_gid;
	if (k->name != NULL)
		return;
	len = name != NULL ? psm_strnlen(name, NSS_NAME_MAX) : 0;
	memcpy(out->name, name != NULL ? name : "", len);
	out->name[len] = '\0';
}

/* -PSM_ENOMEM / -PSM_ESYS, with "user \"NAME\": why" (or the id) in err. */
static int nss_fail(const struct nss_key *k, int rc, struct psm_err *err)
{
	const char *what = k->user ? "user" : "group";
	int code = rc == ENOMEM ? PSM_ENOMEM : PSM_ESYS;

	if (k->name != NULL)
		return -psm_err_set(err, code, "%s \"%.200s\": %s", what, k->name, strerror(rc));
	return -psm_err_set(err, code, "%s %u: %s", what, k->id, strerror(rc));
}

/* The lookup of k under the buffer and return rules of nss.h. */
static int nss_lookup(const struct nss_key *k, struct nss_id *out, struct psm_err *err)
{
	char stack[NSS_BUF_STACK];
	char *buf = stack, *heap = NULL;
	size_t size = sizeof(stack);
	union nss_rec r;
	bool found = false;
	int rc;

	if (k->name != NULL && psm_strnlen(k->name, NSS_NAME_MAX + 1) > NSS_NAME_MAX)
		return 0;
	while ((rc = k->call(k, &r, buf, size, &found)) == ERANGE && size < NSS_BUF_MAX) {
		free(heap); /* the next call refills it: malloc, not realloc (no copy, and one
			     * libc symbol fewer for pam_psm.so to bind at every load) */
		buf = heap = malloc(size * 4);
		if (heap == NULL)
			return nss_fail(k, ENOMEM, err);
		size *= 4;
	}
	if (rc == 0 && found)
		nss_fill(k, &r, out);
	free(heap);
	if (rc == 0 && found)
		return 1;
	if (rc == 0 || rc == ENOENT || rc == ESRCH || rc == EBADF || rc == EPERM)
		return 0;
	return nss_fail(k, rc, err);
}

int nss_user(const char *name, struct nss_id *out, struct psm_err *err)
{
	const struct nss_key k = {true, name, 0, nss_pw_name};

	return nss_lookup(&k, out, err);
}

int nss_user_uid(uid_t uid, struct nss_id *out, struct psm_err *err)
{
	const struct nss_key k = {true, NULL, (unsigned)uid, nss_pw_uid};

	return nss_lookup(&k, out, err);
}

int nss_group(const char *name, struct nss_id *out, struct psm_err *err)
{
	const struct nss_key k = {false, name, 0, nss_gr_name};

	return nss_lookup(&k, out, err);
}

int nss_group_gid(gid_t gid, struct nss_id *out, struct psm_err *err)
{
	const struct nss_key k = {false, NULL, (unsigned)gid, nss_gr_gid};

	return nss_lookup(&k, out, err);
}

/* getgrouplist into a heap list of n, growing to what NSS asks for, up to NSS_GROUPS_MAX. */
static int nss_groups_heap(struct nss_groups *g, const char *user, gid_t gid, int n,
			   struct psm_err *err)
{
	for (;;) {
		int m;
		gid_t *p;

		n = n <= NSS_GROUPS_STACK ? 2 * NSS_GROUPS_STACK : n;
		n = n > NSS_GROUPS_MAX ? NSS_GROUPS_MAX : n;
		nss_groups_free(g); /* getgrouplist refills it: malloc, as in nss_lookup */
		p = malloc((size_t)n * sizeof(*p));
		if (p == NULL)
			return -psm_err_set(err, PSM_ENOMEM, "groups of %.200s: out of memory",
					    user);
		g->heap = p;
		m = n;
		if (getgrouplist(user, gid, p, &m) >= 0) {
			g->list = p;
			g->n = m;
			return 1;
		}
		if (n >= NSS_GROUPS_MAX) {
			nss_groups_free(g);
			return -psm_err_set(err, PSM_ESYS, "groups of %.200s: more than %d", user,
					    NSS_GROUPS_MAX);
		}
		n = m > n ? m : 2 * n;
	}
}

int nss_groups(struct nss_groups *g, const char *user, gid_t gid, struct psm_err *err)
{
	int n = NSS_GROUPS_STACK;

	g->heap = NULL;
	g->list = g->stack;
	g->n = 0;
	if (getgrouplist(user, gid, g->stack, &n) >= 0) {
		g->n = n;
		return 1;
	}
	return nss_groups_heap(g, user, gid, n, err);
}

void nss_groups_free(struct nss_groups *g)
{
	free(g->heap);
	g->heap = NULL;
	g->list = g->stack;
	g->n = 0;
}
