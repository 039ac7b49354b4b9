/* SPDX-License-Identifier: MIT */
/* fuzz_request.c - admin socket bytes through the whole request path of an in-process psmd: line
 * framing, the request's JSON and keys, authorization and the op, for a non-admin peer, then
 * root; every line must get a well-formed reply and every change must commit (corpus:
 * tests/fuzz/corpus/request, one request a line). */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>

#include "fuzz.h"
#include "log.h"
#define fail_msg(...) FUZZ_CHECK(false, __VA_ARGS__) /* daemon_fixture.h's failure */
#include "../unit/daemon_fixture.h"

#define FUZZ_RESTART 512 /* inputs between fresh daemons: state and journal stay small */

static struct psmd fz_d;
static struct ops_peer fz_root, fz_user;
static struct dfx_paths fz_paths;
static unsigned fz_inputs;
static pid_t fz_leader;

/* A child that waits to be signalled, and dies with the harness (a crash leaves none). */
static pid_t fuzz_request_leader_child(void)
{
	pid_t parent = getpid(), pid = fork();

	FUZZ_CHECK(pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
			_exit(0);
		for (;;)
			pause();
	}
	return pid;
}

static void fuzz_request_stop(void)
{
	kill(fz_leader, SIGKILL);
	waitpid(fz_leader, NULL, 0);
	dfx_stop(&fz_d, fz_paths.shm, fz_paths.dir);
}

static void fuzz_request_start(void)
{
	dfx_start(&fz_d, &fz_root, &fz_paths, "fuzz");
	fz_user = (struct ops_peer){.uid = 65534, .gid = 65534, .pid = getpid()};
	strcpy(fz_user.name, "nobody");
	fz_leader = fuzz_request_leader_child();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_open(LOG_MODE_STDERR);
	fuzz_request_start();
	atexit(fuzz_request_stop);
	return 0;
}

/* A session leader named by the input is always the harness's own child: psmd signals the
 * leader of a killed session, and no other process of the machine may be one. */
static void fuzz_request_leader(struct proto_req *req)
{
	if (waitpid(fz_leader, NULL, WNOHANG) == fz_leader)
		fz_leader = fuzz_request_leader_child();
	if (proto_has(req, PK_PID) && req->a.pid > 0 && req->a.pid <= INT32_MAX)
		req->a.pid = fz_leader;
}

/* The reply line is one the client accepts, ok exactly when the op succeeded, with the tag. */
static void fuzz_request_reply(char *line, size_t len, bool ok, const char *tag)
{
	struct proto_reply r;
	struct psm_err err = {0};

	FUZZ_CHECK(line != NULL, "no reply line");
	FUZZ_CHECK(len > 0 && line[len - 1] == '\n' && memchr(line, '\n', len - 1) == NULL,
		   "reply not one line: %s", line);
	FUZZ_CHECK(proto_reply_parse(line, len, &r, &err) == PSM_OK, "%s: %s", err.msg, line);
	FUZZ_CHECK(r.ok == ok, "ok %d, wanted %d: %s", r.ok, ok, line);
	FUZZ_CHECK((tag == NULL && r.tag == NULL) ||
		       (tag != NULL && r.tag != NULL && strcmp(tag, r.tag) == 0),
		   "tag lost: %s", line);
	proto_reply_free(&r);
	free(line);
}

/* One validated request as peer: the op, its commit, its reply (control.c's client_request). */
static void fuzz_request_run(const struct ops_peer *peer, struct proto_req *req)
{
	struct ops_ctx c = {.d = &fz_d, .peer = peer, .req = req, .now = (int64_t)time(NULL)};
	struct psm_err err = {0};
	cJSON *fields = cJSON_CreateObject();
	size_t len = 0;
	char *line;
	int rc;

	FUZZ_CHECK(fields != NULL, "out of memory");
	rc = ops_run(&c, fields, &err);
	FUZZ_CHECK(rc == PSM_OK || err.msg[0] != '\0', "op %s failed without a message",
		   req->op->name);
	FUZZ_CHECK(peer->admin || !c.changed || !proto_op_admin_only(req->op),
		   "a non-admin changed state with %s", req->op->name);
	if (c.changed)
		FUZZ_CHECK(store_commit(&fz_d.store, NULL, &err) == PSM_OK, "commit: %s", err.msg);
	if (rc == PSM_OK) {
		line = proto_reply_ok(fields, req->tag, &len);
	} else {
		cJSON_Delete(fields);
		line = proto_reply_err(&err, req->tag, &len);
	}
	fuzz_request_reply(line, len, rc == PSM_OK, req->tag);
}

static void fuzz_request_line(const struct ops_peer *peer, const char *line, size_t len)
{
	struct proto_req req;
	struct psm_err err = {0};
	size_t n;

	if (proto_parse_request(line, len, &req, &err) == PSM_OK) {
		fuzz_request_leader(&req);
		fuzz_request_run(peer, &req);
	} else {
		FUZZ_CHECK(err.msg[0] != '\0', "a refused request without a message");
		char *reply = proto_reply_error(req.ecode, err.msg, req.tag, &n);

		fuzz_request_reply(reply, n, false, req.tag);
	}
	proto_req_free(&req);
}

/* The bytes as a client's stream, fed in two reads (a line may straddle them). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proto_lines l;
	struct psm_err err = {0};
	const char *line;
	size_t len;
	int st;

	if (++fz_inputs % FUZZ_RESTART == 0) {
		fuzz_request_stop();
		fuzz_request_start();
	}
	proto_lines_init(&l, PROTO_LINE_MAX);
	FUZZ_CHECK(proto_lines_feed(&l, (const char *)data, size / 2, &err) == PSM_OK &&
		       proto_lines_feed(&l, (const char *)data + size / 2, size - size / 2, &err) ==
			   PSM_OK,
		   "feed: %s", err.msg);
	while ((st = proto_lines_next(&l, &line, &len)) == PROTO_LINES_LINE) {
		fuzz_request_line(&fz_user, line, len);
		fuzz_request_line(&fz_root, line, len);
	}
	if (st == PROTO_LINES_TOO_LARGE) /* psmd replies so and closes the connection */
		fuzz_request_reply(
		    proto_reply_error(PROTO_E_TOO_LARGE, "request: too large", NULL, &len), len,
		    false, NULL);
	proto_lines_free(&l);
	return 0;
}
