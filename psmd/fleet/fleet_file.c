/* SPDX-License-Identifier: MIT */
/* fleet_file.c - fleet.pos and fleet.pushed in state_dir: small text files, replaced whole. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "fleet_int.h"

#define FLEET_FILE_MAX 128

/* The file's text (NUL-terminated) into buf; false when absent, unreadable or too long. */
static bool fleet_file_read(int dirfd, const char *name, char *buf, size_t n)
{
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	ssize_t got;

	if (fd < 0)
		return false;
	got = read(fd, buf, n - 1);
	close(fd);
	if (got <= 0 || (size_t)got == n - 1)
		return false;
	buf[got] = '\0';
	return true;
}

/*
 * Replaces name with text: written to a temporary file and renamed, without fsync.  These
 * files only ever point back (the journal holds the records, fsynced first), so a crash
 * that loses the new one makes a host apply or push some records again, which is harmless.
 */
static void fleet_file_write(struct fleet *f, const char *name, const char *text)
{
	char tmp[64];
	size_t len = strlen(text);
	int fd;

	snprintf(tmp, sizeof(tmp), ".%s.tmp", name);
	fd = openat(f->dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0 || write(fd, text, len) != (ssize_t)len || close(fd) != 0 ||
	    renameat(f->dirfd, tmp, f->dirfd, name) != 0) {
		int e = errno;

		if (fd >= 0)
			unlinkat(f->dirfd, tmp, 0);
		fleet_logf(f, LOG_ERR, "fleet: %s: %s", name, strerror(e));
	}
}

static bool fleet_is_stream_id(const char *s)
{
	size_t n = strspn(s, "0123456789");

	return n > 0 && n <= 20 && s[n] == '-' && strspn(s + n + 1, "0123456789") > 0 &&
	       strlen(s) < FLEET_ID_MAX;
}

int fleet_pos_load(int dirfd, char replid[RCONN_REPLID_LEN + 1], char id[FLEET_ID_MAX])
{
	char buf[FLEET_FILE_MAX], *sp, *nl;

	replid[0] = id[0] = '\0';
	if (!fleet_file_read(dirfd, FLEET_POS_FILE, buf, sizeof(buf)))
		return PSM_ENOENT;
	sp = strchr(buf, ' ');
	nl = strchr(buf, '\n');
	if (sp == NULL || nl == NULL || sp - buf != RCONN_REPLID_LEN)
		return PSM_EINVAL;
	*sp = *nl = '\0';
	if (!fleet_is_stream_id(sp + 1))
		return PSM_EINVAL;
	memcpy(replid, buf, RCONN_REPLID_LEN + 1);
	snprintf(id, FLEET_ID_MAX, "%s", sp + 1);
	return PSM_OK;
}

void fleet_pos_save(struct fleet *f, const char *replid, const char *id)
{
	char buf[FLEET_FILE_MAX];

	if (strlen(replid) != RCONN_REPLID_LEN || !fleet_is_stream_id(id))
		return;
	snprintf(buf, sizeof(buf), "%s %s\n", replid, id);
	fleet_file_write(f, FLEET_POS_FILE, buf);
}

uint64_t fleet_pushed_load(int dirfd)
{
	char buf[FLEET_FILE_MAX], *end;
	unsigned long long v;

	if (!fleet_file_read(dirfd, FLEET_PUSHED_FILE, buf, sizeof(buf)))
		return 0;
	errno = 0;
	v = strtoull(buf, &end, 10);
	if (errno != 0 || end == buf || *end != '\n')
		return 0; /* unreadable: push everything again */
	return v;
}

void fleet_pushed_save(struct fleet *f, uint64_t version)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%" PRIu64 "\n", version);
	fleet_file_write(f, FLEET_PUSHED_FILE, buf);
}
