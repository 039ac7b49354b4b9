/* SPDX-License-Identifier: MIT */
/* fuzz_config.c - psmd.conf text through config_parse, over the defaults as psmd loads it
 * (corpus: tests/fuzz/corpus/config). */
#include <stdio.h>
#include <stdlib.h>

#include "config.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct psmd_config cfg = {0};
	struct psm_err err = {0};

	if (config_parse("fuzz.conf", (const char *)data, size, &cfg, &err) != PSM_OK) {
		FUZZ_CHECK(err.msg[0] != '\0', "a failed parse without a message");
		return 0;
	}
	/* what psmd relies on after a successful load */
	FUZZ_CHECK(config_shm_name_ok(cfg.shm_name), "shm_name \"%s\" accepted", cfg.shm_name);
	FUZZ_CHECK(cfg.labels != NULL && cfg.labels[cfg.nlabels] == NULL, "labels not terminated");
	FUZZ_CHECK(cfg.socket != NULL && cfg.state_dir != NULL && cfg.policy != NULL,
		   "a path left NULL");
	FUZZ_CHECK(cfg.capacity >= 1 && cfg.capacity <= CONFIG_CAPACITY_MAX, "capacity %llu",
		   (unsigned long long)cfg.capacity);
	config_free(&cfg);
	return 0;
}
