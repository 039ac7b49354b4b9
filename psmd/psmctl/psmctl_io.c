/* SPDX-License-Identifier: MIT */
/* psmctl_io.c - psmctl's requests and replies on its connection to psmd (the client of libproto).
 */
#include "psmctl.h"

#include <stdlib.h>
#include <string.h>

/* A failure of the connection: its message, and the connection closed. */
static int ctl_io_fail(struct ctl *c, const struct psm_err *err)
{
	ctl_close(c);
	return ctl_fail(c, psm_exit_code(err->code), "%s", err->msg);
}

static int ctl_connect(struct ctl *c)
{
	struct psm_err err = {0};

	if (proto_client_open(&c->cl, c->socket, CTL_TIMEOUT_MS, &err) != PSM_OK) {
		c->what = NULL;
		return ctl_fail(c, psm_exit_code(err.code), "%s", err.msg);
	}
	proto_lines_init(&c->lines, PROTO_REPLY_MAX);
	return CTL_OK;
}

/* Reads until one whole line is buffered, within CTL_TIMEOUT_MS. */
static int ctl_recv(struct ctl *c, const char **line, size_t *len)
{
	char buf[65536];
	struct psm_err err = {0};
	size_t n;
	int st;

	proto_client_deadline(&c->cl, CTL_TIMEOUT_MS);
	while ((st = proto_lines_next(&c->lines, line, len)) == PROTO_LINES_NONE) {
		if (proto_client_read(&c->cl, buf, sizeof(buf), &n, proto_lines_pending(&c->lines),
				      &err) != PSM_OK ||
		    proto_lines_feed(&c->lines, buf, n, &err) != PSM_OK)
			return ctl_io_fail(c, &err);
	}
	if (st == PROTO_LINES_TOO_LARGE)
		return ctl_fail(c, CTL_UNAVAIL, "reply from psmd larger than %u bytes",
				PROTO_REPLY_MAX);
	return CTL_OK;
}

/* Sends one request line, within CTL_TIMEOUT_MS. */
static int ctl_send(struct ctl *c, const char *buf, size_t len)
{
	struct psm_err err = {0};

	proto_client_deadline(&c->cl, CTL_TIMEOUT_MS);
	return proto_client_send(&c->cl, buf, len, &err) == PSM_OK ? CTL_OK : ctl_io_fail(c, &err);
}

int ctl_call(struct ctl *c, const cJSON *req, struct proto_reply *reply)
{
	struct psm_err err = {0};
	const char *line;
	size_t len;
	char *out;
	int rc;

	memset(reply, 0, sizeof(*reply));
	if (c->cl.fd < 0 && (rc = ctl_connect(c)) != CTL_OK)
		return rc;
	out = proto_print_line(req, &len);
	if (out == NULL)
		return ctl_fail(c, CTL_UNAVAIL, "out of memory");
	rc = ctl_send(c, out, len);
	free(out);
	if (rc == CTL_OK)
		rc = ctl_recv(c, &line, &len);
	if (rc != CTL_OK)
		return rc;
	if (proto_reply_parse(line, len, reply, &err) != PSM_OK)
		return ctl_fail(c, CTL_UNAVAIL, "%s", err.msg);
	if (reply->ok)
		return CTL_OK;
	rc = ctl_fail(c, proto_code_exit(reply->ecode), "%s", reply->message);
	proto_reply_free(reply);
	return rc;
}

void ctl_close(struct ctl *c)
{
	if (c->cl.fd >= 0) {
		proto_client_close(&c->cl);
		proto_lines_free(&c->lines);
	}
}
