/* SPDX-License-Identifier: MIT */
/* replay.c - a fuzz harness without libFuzzer: each file named on the command line is one input
 * (make test replays every corpus file so); prints "N inputs replayed". */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

#define REPLAY_MAX (1u << 20) /* larger corpus files are a mistake, not an input */

/* Reads path whole into *buf (malloc'd, size *n); 0, or -1 with a message on stderr. */
static int replay_read(const char *path, uint8_t **buf, size_t *n)
{
	FILE *f = fopen(path, "rb");
	uint8_t *b = malloc(REPLAY_MAX + 1);

	*buf = NULL;
	if (f == NULL || b == NULL) {
		fprintf(stderr, "replay: %s: %s\n", path,
			f == NULL ? strerror(errno) : "no memory");
		free(b);
		if (f != NULL)
			fclose(f);
		return -1;
	}
	*n = fread(b, 1, REPLAY_MAX + 1, f);
	if (ferror(f) || *n > REPLAY_MAX) {
		fprintf(stderr, "replay: %s: %s\n", path,
			*n > REPLAY_MAX ? "too large" : "read error");
		fclose(f);
		free(b);
		return -1;
	}
	fclose(f);
	*buf = b;
	return 0;
}

int main(int argc, char **argv)
{
	int n = 0;

	if (LLVMFuzzerInitialize != NULL)
		LLVMFuzzerInitialize(&argc, &argv);
	for (int i = 1; i < argc; i++) {
		uint8_t *buf, *exact;
		size_t len;

		if (replay_read(argv[i], &buf, &len) != 0)
			return 1;
		/* an exact-size copy, as libFuzzer passes it: a read past the end is caught */
		exact = malloc(len ? len : 1);
		if (exact == NULL)
			return 1;
		memcpy(exact, buf, len);
		free(buf);
		LLVMFuzzerTestOneInput(exact, len);
		free(exact);
		n++;
	}
	printf("%d inputs replayed\n", n);
	return 0;
}
