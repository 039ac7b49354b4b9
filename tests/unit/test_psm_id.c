/* SPDX-License-Identifier: MIT */
/* test_psm_id.c - the one text form of ids: known vectors, round trip, and --explain uses it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "eval_fixture.h"
#include "ids.h"
#include "psm_id.h"

static void test_psm_id_vectors(void **state)
{
	uint8_t id[PSM_ID_BYTES], back[PSM_ID_BYTES];
	char text[PSM_ID_TEXT_SIZE];

	(void)state;
	memset(id, 0, sizeof(id));
	psm_id_format(id, text);
	assert_string_equal(text, "aaaaaaaaaaaaaaaaaaaaaaaaaa");
	memset(id, 0xff, sizeof(id));
	psm_id_format(id, text);
	assert_string_equal(text, "77777777777777777777777774"); /* last: 3 bits, 2 zero */
	/* RFC 4648 section 10: BASE32("foobar") = "MZXW6YTBOI======" */
	memset(id, 0, sizeof(id));
	memcpy(id, "foobar", 6);
	psm_id_format(id, text);
	assert_memory_equal(text, "mzxw6ytboi", 10);
	assert_int_equal(psm_id_parse(text, back, NULL), PSM_OK);
	assert_memory_equal(back, id, sizeof(id));
}

/* psmd's id_format is the same function (no second encoder to drift). */
static void test_psm_id_psmd_same(void **state)
{
	uint8_t id[ID_BYTES];
	char a[ID_TEXT_SIZE], b[PSM_ID_TEXT_SIZE];
	int i;

	(void)state;
	for (i = 0; i < 100; i++) {
		assert_int_equal(id_new(id, NULL), PSM_OK);
		id_format(id, a);
		psm_id_format(id, b);
		assert_string_equal(a, b);
	}
}

/* --explain prints the deciding grant's id as psmctl does, so it pastes into revoke. */
static void test_psm_id_explain(void **state)
{
	struct eval_req r = {
	    .user = "alice", .uid = 1000, .gid = 1000, .perm = "sudo:run", .audit = SHM_U32_NONE};
	struct shm_entry e;
	struct eval_out out;
	struct fx f;
	char buf[4096], text[PSM_ID_TEXT_SIZE], want[64];

	(void)state;
	memset(&e, 0, sizeof(e));
	e.kind = SHM_GRANT;
	e.not_before = SHM_TIME_NONE_BEFORE;
	e.not_after = SHM_TIME_NONE_AFTER;
	e.audit = e.rule = SHM_U32_NONE;
	fx_set(&e, SHM_F_KEY, "alice");
	fx_set(&e, SHM_F_PRINCIPAL, "alice");
	fx_set(&e, SHM_F_PATTERN, "sudo:*");
	assert_int_equal(id_new(e.id, NULL), PSM_OK);
	fx_begin(&f);
	assert_int_equal(shm_writer_insert(f.w, &e, NULL, NULL), PSM_OK);
	fx_publish(&f);
	r.now = time(NULL);
	r.table = f.name;
	assert_int_equal(eval_check(&f.v, &r, &out, NULL), PSM_OK);
	eval_explain(&out, &r, buf, sizeof(buf));
	psm_id_format(e.id, text);
	snprintf(want, sizeof(want), "grant_id: %s\n", text);
	assert_non_null(strstr(buf, want));
	fx_end(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_psm_id_vectors),
	    cmocka_unit_test(test_psm_id_psmd_same),
	    cmocka_unit_test(test_psm_id_explain),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
