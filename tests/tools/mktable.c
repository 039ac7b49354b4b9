/* SPDX-License-Identifier: MIT */
/* mktable.c - test tool: builds and publishes a table from a policy file, no daemon needed. */
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "policy.h"
#include "shm.h"

static const char mktable_usage[] =
    "usage: mktable [--age SECONDS] [--host NAME] [--grant PRINCIPAL,PATTERN,SECONDS]...\n"
    "               [--session ID,USER,SERVICE]... NAME POLICY_FILE\n"
    "  builds table NAME (\"/psm-test-1\") from POLICY_FILE and publishes it;\n"
    "  --age: heartbeat that many seconds in the past; --grant: an admin grant\n"
    "  expiring in SECONDS; --session: a session record.\n";

static void mktable_warn(void *ctx, const char *msg)
{
	(void)ctx;
	fprintf(stderr, "mktable: warning: %s\n", msg);
}

static void mktable_field(struct shm_entry *e, int i, const char *s)
{
	e->f[i] = s;
	e->flen[i] = (uint16_t)strlen(s);
}

/* "alice,sudo:run,3600" or "%root,login:*,60": an admin grant. */
static int mktable_grant(struct shm_writer *w, char *spec, int64_t now)
{
	struct shm_entry e = {.kind = SHM_GRANT,
			      .flags = SHM_FL_SRC_ADMIN,
			      .not_before = SHM_TIME_NONE_BEFORE,
			      .rule = SHM_U32_NONE,
			      .audit = SHM_U32_NONE,
			      .created = now};
	char *pat = strchr(spec, ','), *secs, key[32];
	struct psm_err err;

	secs = pat ? strchr(pat + 1, ',') : NULL;
	if (secs == NULL)
		return fprintf(stderr, "mktable: bad --grant \"%s\"\n", spec), 2;
	*pat++ = '\0';
	*secs++ = '\0';
	e.not_after = now + atoll(secs);
	mktable_field(&e, SHM_F_KEY, spec);
	if (spec[0] == '%') {
		struct group *g = getgrnam(spec + 1);

		if (g == NULL)
			return fprintf(stderr, "mktable: no group %s\n", spec + 1), 2;
		snprintf(key, sizeof(key), "%%%u", (unsigned)g->gr_gid);
		mktable_field(&e, SHM_F_KEY, key);
		e.flags |= SHM_FL_GROUP;
	}
	mktable_field(&e, SHM_F_PRINCIPAL, spec);
	mktable_field(&e, SHM_F_PATTERN, pat);
	mktable_field(&e, SHM_F_ISSUER, "mktable");
	mktable_field(&e, SHM_F_REASON, "test grant");
	mktable_field(&e, SHM_F_SOURCE, "psmctl grant");
	e.id[0] = 0xab;
	if (shm_writer_insert(w, &e, NULL, &err) != PSM_OK)
		return fprintf(stderr, "mktable: %s\n", err.msg), 3;
	return 0;
}

/* "ID,USER,SERVICE": a session record. */
static int mktable_session(struct shm_writer *w, char *spec, int64_t now)
{
	struct shm_entry e = {.kind = SHM_SESSION,
			      .not_before = SHM_TIME_NONE_BEFORE,
			      .not_after = now + 3600,
			      .rule = SHM_U32_NONE,
			      .audit = 7,
			      .created = now,
			      .pid = 4242};
	char *user = strchr(spec, ','), *svc;
	struct psm_err err;
	struct passwd *pw;

	svc = user ? strchr(user + 1, ',') : NULL;
	if (svc == NULL)
		return fprintf(stderr, "mktable: bad --session \"%s\"\n", spec), 2;
	*user++ = '\0';
	*svc++ = '\0';
	pw = getpwnam(user);
	e.uid = pw ? pw->pw_uid : 0;
	mktable_field(&e, SHM_F_KEY, spec);
	mktable_field(&e, SHM_F_PRINCIPAL, user);
	mktable_field(&e, SHM_F_HOSTS, svc);
	mktable_field(&e, SHM_F_REASON, "pts/1");
	mktable_field(&e, SHM_F_ISSUER, "192.0.2.10");
	if (shm_writer_insert(w, &e, NULL, &err) != PSM_OK)
		return fprintf(stderr, "mktable: %s\n", err.msg), 3;
	return 0;
}

struct mktable_opts {
	int64_t age;
	const char *host;
	char *grants[32], *sessions[32];
	int ngrants, nsessions;
};

static int mktable_args(int argc, char **argv, struct mktable_opts *o)
{
	static const struct option lo[] = {
	    {"age", required_argument, NULL, 'a'},
	    {"host", required_argument, NULL, 'H'},
	    {"grant", required_argument, NULL, 'g'},
	    {"session", required_argument, NULL, 's'},
	    {NULL, 0, NULL, 0},
	};
	int c;

	o->host = "testhost";
	while ((c = getopt_long(argc, argv, "a:H:g:s:", lo, NULL)) != -1) {
		if (c == 'a')
			o->age = atoll(optarg);
		else if (c == 'H')
			o->host = optarg;
		else if (c == 'g' && o->ngrants < 32)
			o->grants[o->ngrants++] = optarg;
		else if (c == 's' && o->nsessions < 32)
			o->sessions[o->nsessions++] = optarg;
		else
			return fputs(mktable_usage, stderr), 2;
	}
	if (argc - optind != 2)
		return fputs(mktable_usage, stderr), 2;
	return 0;
}

static int mktable_fill(struct shm_writer *w, const struct mktable_opts *o, const char *file,
			int64_t now)
{
	struct policy_compile_opts co = {.host_name = o->host, .now = now, .warn = mktable_warn};
	struct policy *p = NULL;
	struct psm_err err;
	int i, rc;

	if (policy_load(file, &p, &err) != PSM_OK)
		return fprintf(stderr, "mktable: %s\n", err.msg), 2;
	shm_writer_begin(w);
	rc = policy_compile(p, w, &co, &err);
	policy_free(p);
	if (rc != PSM_OK)
		return fprintf(stderr, "mktable: %s\n", err.msg), 3;
	for (i = 0; rc == 0 && i < o->ngrants; i++)
		rc = mktable_grant(w, o->grants[i], now);
	for (i = 0; rc == 0 && i < o->nsessions; i++)
		rc = mktable_session(w, o->sessions[i], now);
	shm_writer_commit(w);
	return rc;
}

int main(int argc, char **argv)
{
	struct mktable_opts o = {0};
	struct shm_writer_opts wo = {.capacity = 256, .group = 0};
	struct shm_writer *w;
	struct psm_err err;
	int64_t now = (int64_t)time(NULL);
	int rc = mktable_args(argc, argv, &o);

	if (rc != 0)
		return rc;
	wo.name = argv[optind];
	wo.host_name = o.host;
	if (shm_writer_create(&w, &wo, &err) != PSM_OK)
		return fprintf(stderr, "mktable: %s\n", err.msg), 3;
	rc = mktable_fill(w, &o, argv[optind + 1], now);
	if (rc == 0 && shm_writer_publish(w, &err) != PSM_OK) {
		fprintf(stderr, "mktable: %s\n", err.msg);
		rc = 3;
	}
	if (rc != 0) {
		shm_writer_discard(w);
		return rc;
	}
	shm_writer_heartbeat(w, now - o.age);
	shm_writer_close(w);
	return 0;
}
