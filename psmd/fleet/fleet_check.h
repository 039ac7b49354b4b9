/* SPDX-License-Identifier: MIT */
/* fleet_check.h - the fleet part's check of the files its config names (for psmd -n and reload). */
#ifndef PSMD_FLEET_CHECK_H
#define PSMD_FLEET_CHECK_H

#include "fleet_conf.h"
#include "psm_err.h"

/*
 * When r is enabled: password_file (rpass.h), signing_key and trusted_keys
 * (keys.h) are read and checked as the fleet part will use them: owner, mode,
 * format; a trusted_keys error reads FILE:LINE:COL.  PSM_OK, or the first
 * error (PSM_EINVAL for a bad file, PSM_ESYS/PSM_EUNAVAIL when it cannot be read).
 */
int fleet_check_files(const struct config_redis *r, struct psm_err *err);

#endif
