/* SPDX-License-Identifier: MIT */
/* under_valgrind.h - unit tests under make test's valgrind pass: what they skip or sample. */
#ifndef PSM_UNDER_VALGRIND_H
#define PSM_UNDER_VALGRIND_H

#include <valgrind/valgrind.h>

/*
 * The valgrind pass (tests/run.sh) runs every unit test under memcheck.  Two kinds of test
 * cannot run there, and skip with the reason (they run in the plain and ASan passes):
 *   - pidfd_open(2) and pidfd_send_signal(2): valgrind 3.19 (bookworm) does not know them;
 *   - a deliberate SIGBUS (a table truncated under a write): memcheck reports the read.
 * The exhaustive damage sweeps (every byte, every bit, every cut) take minutes under
 * memcheck: there they visit every VG_STRIDE-th offset (a prime, so each field is hit at
 * several alignments); the plain and ASan passes visit all of them.
 */
#define VG_STRIDE_UNDER 13

#define vg_skip(why)                                                                               \
	do {                                                                                       \
		if (RUNNING_ON_VALGRIND) {                                                         \
			print_message("skipped under valgrind: %s\n", why);                        \
			skip();                                                                    \
		}                                                                                  \
	} while (0)

/* The step of an exhaustive offset loop: 1, or VG_STRIDE_UNDER under valgrind. */
static inline size_t vg_stride(void)
{
	return RUNNING_ON_VALGRIND ? VG_STRIDE_UNDER : 1;
}

#endif
