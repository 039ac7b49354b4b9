/* SPDX-License-Identifier: MIT */
/* daemon_fixture.h - an in-process psmd for a unit test (a config and an empty policy in a temp
 * dir, started; stopped and its files removed), and a child to lead the sessions a test opens. */
#ifndef PSM_TEST_DAEMON_FIXTURE_H
#define PSM_TEST_DAEMON_FIXTURE_H

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string.h>
#include <sys/stat.h>

#include "daemon.h"
#include "ops.h"
#include "psmd.h"

/* The paths of one test's psmd: dir (config, policy, socket, state), the table's shm name. */
struct dfx_paths {
	char dir[64], conf[128], shm[64];
};

/* Writes file with text; 0, or -1. */
static inline int dfx_write(const char *file, const char *text)
{
	FILE *fp = fopen(file, "w");

	if (fp == NULL)
		return -1;
	fputs(text, fp);
	return fclose(fp) == 0 ? 0 : -1;
}

/*
 * Starts psmd d from a fresh temp dir named after tag (a capacity-64 table, an empty policy)
 * and fills root as a root admin peer; 0, or -1 (a failed start fails the test).
 */
static inline int dfx_start(struct psmd *d, struct ops_peer *root, struct dfx_paths *p,
			    const char *tag)
{
	static int n;
	struct psm_err err = {0};
	char text[512], policy[128];

	snprintf(p->dir, sizeof(p->dir), "/tmp/psm-test-%s-%ld-%d", tag, (long)getpid(), n);
	snprintf(p->shm, sizeof(p->shm), "/psm-test-%ld-%s%d", (long)getpid(), tag, n++);
	snprintf(p->conf, sizeof(p->conf), "%s/psmd.conf", p->dir);
	snprintf(policy, sizeof(policy), "%s/none.json", p->dir);
	snprintf(text, sizeof(text),
		 "{ \"shm_name\": \"%s\", \"socket\": \"%s/sock\", \"state_dir\": \"%s/state\","
		 "  \"policy\": \"%s\", \"capacity\": 64 }",
		 p->shm, p->dir, p->dir, policy);
	if (mkdir(p->dir, 0700) != 0 || dfx_write(p->conf, text) != 0 ||
	    dfx_write(policy, "{ \"roles\": {}, \"bindings\": [] }") != 0)
		return -1;
	*root = (struct ops_peer){.uid = 0, .gid = 0, .pid = getpid(), .admin = true};
	strcpy(root->name, "root");
	daemon_init(d, p->conf, true);
	if (psmd_start(d, &err) != PSM_OK)
		fail_msg("psmd_start: %s", err.msg);
	return 0;
}

static pid_t dfx_leader; /* the child dfx_leader_child started; dfx_stop ends it if it lives */

/* A child that waits to be signalled: a session leader of the test's own. */
static inline pid_t dfx_leader_child(void)
{
	pid_t pid = fork();

	if (pid < 0) {
		perror("fork");
		abort();
	}
	if (pid == 0) {
		for (;;)
			pause();
	}
	dfx_leader = pid;
	return pid;
}

/* Whether the child pid has ended (reaped then), waiting up to about 5 s for it when asked. */
static inline bool dfx_child_ended(pid_t pid, bool wait_for_it)
{
	for (int i = 0; i < (wait_for_it ? 500 : 1); i++) {
		if (waitpid(pid, NULL, WNOHANG) == pid) {
			if (pid == dfx_leader)
				dfx_leader = 0;
			return true;
		}
		if (wait_for_it)
			usleep(10000);
	}
	return false;
}

/* Ends the leader child left, stops d, unlinks its table shm and removes dir; -1 if dir could
 * not be removed. */
static inline int dfx_stop(struct psmd *d, const char *shm, const char *dir)
{
	char cmd[160];

	if (dfx_leader > 0) {
		kill(dfx_leader, SIGKILL);
		waitpid(dfx_leader, NULL, 0);
		dfx_leader = 0;
	}
	psmd_stop(d);
	shm_unlink(shm);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* Runs one request line as peer at time now, its change left in the batch (*changed: there
 * is one to commit); *reply (may be NULL) gets the reply fields when the op succeeded.  A
 * line that does not parse fails the test. */
static inline int dfx_call_held(struct psmd *d, const struct ops_peer *peer, int64_t now,
				const char *line, cJSON **reply, struct psm_err *err, bool *changed)
{
	struct proto_req req;
	struct ops_ctx c = {.d = d, .peer = peer, .now = now};
	cJSON *fields = cJSON_CreateObject();
	int rc = proto_parse_request(line, strlen(line), &req, err);

	if (rc != PSM_OK)
		fail_msg("%s: %s", line, err->msg);
	c.req = &req;
	rc = ops_run(&c, fields, err);
	*changed = c.changed;
	proto_req_free(&req);
	if (reply != NULL && rc == PSM_OK)
		*reply = fields;
	else
		cJSON_Delete(fields);
	return rc;
}

/* The same, and commits what it changed. */
static inline int dfx_call(struct psmd *d, const struct ops_peer *peer, int64_t now,
			   const char *line, cJSON **reply, struct psm_err *err)
{
	bool changed = false;
	int rc = dfx_call_held(d, peer, now, line, reply, err, &changed);

	if (changed && store_commit(&d->store, NULL, NULL) != PSM_OK)
		fail_msg("%s: commit failed", line);
	return rc;
}

#endif
