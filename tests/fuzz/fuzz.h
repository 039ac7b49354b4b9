/* SPDX-License-Identifier: MIT */
/* fuzz.h - what a fuzz harness defines: libFuzzer's entry points (tests/fuzz/README). */
#ifndef PSM_TEST_FUZZ_H
#define PSM_TEST_FUZZ_H

#include <stddef.h>
#include <stdint.h>

/* One input: must return 0, and crash (a sanitizer report, abort) only on a real bug. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
/* Optional: once, before the first input (a harness that needs no setup leaves it out). */
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

/* A harness's own check failed: prints what and aborts (libFuzzer keeps the input). */
#define FUZZ_CHECK(cond, ...)                                                                      \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "fuzz check failed: %s: ", #cond);                         \
			fprintf(stderr, __VA_ARGS__);                                              \
			fputc('\n', stderr);                                                       \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

#endif
