/* SPDX-License-Identifier: MIT */
/* fuzz_journal.c - libFuzzer harness: a journal segment's bytes loaded as psmd loads its
 * state_dir (resync, torn tail, corruption and quarantine, the records' merge rules). */
#include "fuzz_state.h"

/*
 * The input is state_dir/journal.000001, the only file.  A load must not crash, must load only
 * valid records, must let no tombstone it read be beaten by an older grant or session, and must
 * load the same state again from what it left behind.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fz_state_input("journal", "journal.000001", JOURNAL_HDR_SIZE, data, size);
	return 0;
}

size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max, unsigned int seed);
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max, unsigned int seed)
{
	return fz_frames_mutate(data, size, max, seed, JOURNAL_HDR_SIZE);
}
