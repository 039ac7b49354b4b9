/* SPDX-License-Identifier: MIT */
/* fleet_check.c - the files the redis object names, checked as psmd -n, start and reload do. */
#include "fleet_check.h"

#include "keys.h"
#include "rpass.h"

/* signing_key loads (owner, mode, format, its public half), and is wiped again. */
static int fleet_check_signing_key(const char *path, struct psm_err *err)
{
	struct keys_secret *sk = NULL;
	int rc = keys_init(err);

	if (rc == PSM_OK)
		rc = keys_secret_load(path, &sk, err);
	keys_secret_free(sk);
	return rc;
}

/* trusted_keys parses (owner, mode, every line). */
static int fleet_check_trusted_keys(const char *path, struct psm_err *err)
{
	struct keys_trusted t = {0};
	int rc = keys_init(err);

	if (rc == PSM_OK)
		rc = keys_trusted_load(path, &t, err);
	keys_trusted_free(&t);
	return rc;
}

int fleet_check_files(const struct config_redis *r, struct psm_err *err)
{
	int rc = PSM_OK;

	if (!r->enabled)
		return PSM_OK;
	if (r->password_file != NULL)
		rc = rpass_check(r->password_file, err);
	if (rc == PSM_OK && r->signing_key != NULL)
		rc = fleet_check_signing_key(r->signing_key, err);
	if (rc == PSM_OK && r->trusted_keys != NULL)
		rc = fleet_check_trusted_keys(r->trusted_keys, err);
	return rc;
}
