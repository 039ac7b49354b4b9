/* SPDX-License-Identifier: MIT */
/* fuzz_snapshot.c - libFuzzer harness: a snapshot's bytes loaded as psmd loads its state_dir. */
#include "fuzz_state.h"

/*
 * The input is state_dir/snapshot.000001, the only file: loaded whole, or renamed aside (the
 * state then starts empty).  What loads is valid, no tombstone in it is beaten by an older
 * grant or session, and a second load gives the same state.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fz_state_input("snapshot", "snapshot.000001", SNAPSHOT_HDR_SIZE, data, size);
	return 0;
}

/* The frames mutated as for a journal; most of the time the header's record count is then
 * made right again, so that the records are loaded. */
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max, unsigned int seed);
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max, unsigned int seed)
{
	struct fz_frames f;

	size = fz_frames_mutate(data, size, max, seed, SNAPSHOT_HDR_SIZE);
	if (size > SNAPSHOT_HDR_SIZE && seed % 4 != 0) {
		fz_frames_scan(data, size, SNAPSHOT_HDR_SIZE, &f);
		frame_put_u64(data + 16, f.n);
	}
	return size;
}
