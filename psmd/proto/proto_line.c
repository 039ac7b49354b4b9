/* SPDX-License-Identifier: MIT */
/* proto_line.c - splits a socket byte stream into newline-delimited frames, bounded in size. */
#include "proto.h"

#include <stdlib.h>
#include <string.h>

void proto_lines_init(struct proto_lines *l, size_t max)
{
	memset(l, 0, sizeof(*l));
	l->max = max;
}

void proto_lines_free(struct proto_lines *l)
{
	free(l->buf);
	memset(l, 0, sizeof(*l));
}

size_t proto_lines_pending(const struct proto_lines *l)
{
	return l->end - l->start;
}

/* Room for n more bytes: first slide the unconsumed bytes down, then grow. */
static int lines_room(struct proto_lines *l, size_t n, struct psm_err *err)
{
	size_t used = l->end - l->start, cap;
	char *b;

	if (l->start > 0) {
		memmove(l->buf, l->buf + l->start, used);
		l->scan -= l->start;
		l->start = 0;
		l->end = used;
	}
	if (l->cap - l->end >= n)
		return PSM_OK;
	cap = l->cap != 0 ? l->cap : 4096;
	while (cap - used < n)
		cap *= 2;
	b = realloc(l->buf, cap);
	if (b == NULL)
		return psm_err_set(err, PSM_ENOMEM, "frame buffer: out of memory");
	l->buf = b;
	l->cap = cap;
	return PSM_OK;
}

int proto_lines_feed(struct proto_lines *l, const char *data, size_t n, struct psm_err *err)
{
	if (l->too_large || n == 0)
		return PSM_OK;
	if (lines_room(l, n, err) != PSM_OK)
		return PSM_ENOMEM;
	memcpy(l->buf + l->end, data, n);
	l->end += n;
	return PSM_OK;
}

int proto_lines_next(struct proto_lines *l, const char **line, size_t *len)
{
	char *nl;

	if (l->too_large)
		return PROTO_LINES_TOO_LARGE;
	if (l->scan < l->start)
		l->scan = l->start;
	nl = l->end > l->scan ? memchr(l->buf + l->scan, '\n', l->end - l->scan) : NULL;
	if (nl == NULL) {
		l->scan = l->end;
		if (l->end - l->start >= l->max) {
			l->too_large = true;
			return PROTO_LINES_TOO_LARGE;
		}
		return PROTO_LINES_NONE;
	}
	if ((size_t)(nl - (l->buf + l->start)) + 1 > l->max) {
		l->too_large = true;
		return PROTO_LINES_TOO_LARGE;
	}
	*line = l->buf + l->start;
	*len = (size_t)(nl - *line);
	l->start += *len + 1;
	l->scan = l->start;
	return PROTO_LINES_LINE;
}
