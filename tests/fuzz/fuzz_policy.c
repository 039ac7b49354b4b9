/* SPDX-License-Identifier: MIT */
/* fuzz_policy.c - policy.json text through the parser, the NSS check and the compiler into a
 * fresh table (corpus: tests/fuzz/corpus/policy). */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "fuzz.h"
#include "policy.h"
#include "shm.h"

static void fuzz_policy_warn(void *ctx, const char *msg)
{
	(void)ctx;
	(void)msg;
}

/* Compiles p into a table of its own (discarded): PSM_EFULL is an answer, not a bug. */
static void fuzz_policy_compile(const struct policy *p)
{
	static const char *const labels[] = {"web", "prod", NULL};
	static unsigned n;
	char name[64];
	struct shm_writer_opts wo = {.capacity = 256, .host_name = "web-01"};
	struct policy_compile_opts co = {
	    .host_name = "web-01", .labels = labels, .now = 1700000000, .warn = fuzz_policy_warn};
	struct shm_writer *w = NULL;
	struct psm_err err = {0};

	snprintf(name, sizeof(name), "/psm-fuzz-%ld-policy%u", (long)getpid(), n++);
	wo.name = name;
	FUZZ_CHECK(shm_writer_create(&w, &wo, &err) == PSM_OK, "%s", err.msg);
	shm_writer_begin(w);
	policy_compile(p, w, &co, &err);
	shm_writer_commit(w);
	shm_writer_discard(w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct policy *p = NULL;
	struct policy_counts c;
	struct psm_err err = {0};
	char text[256];

	if (policy_load_text("fuzz.json", (const char *)data, size, &p, &err) != PSM_OK) {
		FUZZ_CHECK(p == NULL, "a failed load returned a policy");
		FUZZ_CHECK(err.msg[0] != '\0', "a failed load without a message");
		return 0;
	}
	policy_check_nss(p, NULL, &err);
	policy_get_counts(p, &c);
	policy_counts_text(&c, text, sizeof(text));
	for (unsigned i = 0; i < c.warnings; i++)
		FUZZ_CHECK(policy_warning(p, i) != NULL, "warning %u of %u", i, c.warnings);
	fuzz_policy_compile(p);
	policy_free(p);
	return 0;
}
