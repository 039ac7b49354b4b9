/* SPDX-License-Identifier: MIT */
/* tableinfo.c - test tool: prints a table's header figures, mode, and one principal's grants. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "shm.h"

/*
 * tableinfo NAME               generation, heartbeat, records, capacity, mode, uid, gid,
 *                              writer_pid, retired: one "key value" line each
 * tableinfo NAME grants KEY    the pattern of every grant record keyed KEY, one a line
 * Exit 0, or 3 (with a message on stderr) when the table cannot be read.
 */

static int tableinfo_header(const struct shm_view *v)
{
	struct shm_info i;
	struct psm_err err = {0};
	struct stat st;

	if (shm_info_get(v, &i, &err) != PSM_OK || fstat(v->fd, &st) != 0) {
		fprintf(stderr, "tableinfo: %s\n", err.msg[0] ? err.msg : "fstat failed");
		return 3;
	}
	printf("generation %llu\nheartbeat %lld\nrecords %llu\ncapacity %llu\n",
	       (unsigned long long)i.generation, (long long)i.heartbeat,
	       (unsigned long long)i.records, (unsigned long long)i.capacity);
	printf("mode %04o\nuid %u\ngid %u\nwriter_pid %u\nretired %d\nhost %s\n",
	       (unsigned)(st.st_mode & 07777), (unsigned)st.st_uid, (unsigned)st.st_gid,
	       i.writer_pid, shm_view_retired(v) ? 1 : 0, i.host_name);
	printf("policy %u roles, %u bindings, %u deny rules\n", i.policy_roles, i.policy_bindings,
	       i.policy_denies);
	return 0;
}

struct tableinfo_list {
	const char *key;
	char out[8192];
};

/* The grant patterns of l->key into l->out (shm_read_fn). */
static int tableinfo_grants_fn(const struct shm_view *v, void *ctx, struct psm_err *err)
{
	struct tableinfo_list *l = ctx;
	struct shm_recbuf buf;
	struct shm_entry e;
	struct shm_iter it;
	size_t used = 0;
	int rc;

	(void)err;
	l->out[0] = '\0';
	shm_iter_init(v, &it, SHM_GRANT, l->key, strlen(l->key));
	while ((rc = shm_iter_next(v, &it, &e, &buf)) == 1 && used < sizeof(l->out))
		used += (size_t)snprintf(l->out + used, sizeof(l->out) - used, "%.*s\n",
					 (int)e.flen[SHM_F_PATTERN], e.f[SHM_F_PATTERN]);
	return rc < 0 ? PSM_EUNAVAIL : PSM_OK;
}

/* Prints the grant patterns of key: 0, or -1 when the table is never consistent or corrupt. */
static int tableinfo_grants(const struct shm_view *v, const char *key)
{
	struct tableinfo_list l = {.key = key};

	if (shm_read_txn(v, tableinfo_grants_fn, &l, NULL) != PSM_OK)
		return -1;
	fputs(l.out, stdout);
	return 0;
}

int main(int argc, char **argv)
{
	struct shm_view v;
	struct psm_err err = {0};
	int rc;

	if (argc != 2 && !(argc == 4 && strcmp(argv[2], "grants") == 0)) {
		fprintf(stderr, "usage: tableinfo NAME [grants KEY]\n");
		return 2;
	}
	if (shm_view_open(&v, argv[1], &err) != PSM_OK) {
		fprintf(stderr, "tableinfo: %s\n", err.msg);
		return 3;
	}
	rc = argc == 2 ? tableinfo_header(&v) : (tableinfo_grants(&v, argv[3]) < 0 ? 3 : 0);
	shm_view_close(&v);
	return rc;
}
