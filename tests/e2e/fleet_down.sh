#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tests/e2e/fleet_down.sh - Redis down, restarted empty, and hung (SPEC §11): the hosts decide and write on.
# TAP lines "ok - NAME" / "not ok - NAME"; $BUILD (default build) holds psmd, psmctl, psm-query.
# Two psmd hosts a and b on one redis-server on loopback.  With Redis killed, both decide from
# their tables and acknowledge grants and revokes; Redis restarted empty gets the queued
# records and the old ones again (a host started afterwards receives an old grant); with Redis
# stopped by SIGSTOP, psmd's socket answers and its writes reach the other host on SIGCONT.
set -u
# shellcheck source=../lib/fleet.sh
. "$(dirname "$0")/../lib/fleet.sh"
fleet_env fdown

redis_start r || { fail "redis-server starts"; exit 1; }
host_start a || { fail "host a starts"; exit 1; }
host_start b || { fail "host b starts"; exit 1; }

# unhealthy HOST: psmctl health exits 1 (degraded), not 3 (no answer).
unhealthy() {
	hctl "$1" health >/dev/null 2>&1
	[ $? -eq 1 ]
}

# healthy HOST: psmctl health exits 0.
healthy() {
	hctl "$1" health >/dev/null 2>&1
}

# gone_on HOST ID PATTERN: HOST denies PATTERN and does not list grant ID.
gone_on() {
	host_denies "$1" nobody "$3" && host_lacks "$1" "$2"
}

# ---- Redis up: the baseline -----------------------------------------------------------------
G_OLD=$(hctl a grant nobody down:old --hosts '*')
G_GONE=$(hctl a grant nobody down:gone --hosts '*')
check "Redis up: a's grants reach b's table" wait_until 20 host_allows b nobody down:gone
# health_check NAME CMD...: the check when psmctl reports on the fleet, else a SKIP.
health_check() {
	if fleet_cmd; then check "$@"; else skip "$1" "psmctl fleet and its health checks are not built"; fi
}

health_check "Redis up: psmctl health exits 0 on a" wait_until 20 healthy a

# ---- Redis killed -------------------------------------------------------------------------------
redis_kill r
check "Redis killed: a still allows its grant (table)" host_allows a nobody down:gone
check "Redis killed: b still allows a's grant (table)" host_allows b nobody down:gone
expect_rc "Redis killed: psmctl check on b allows it too" 0 hctl b check nobody down:old
expect_rc "Redis killed: grant on a acknowledged (exit 0)" 0 hctl a grant nobody down:queued --hosts '*'
check "  ...and a allows it at once" host_allows a nobody down:queued
expect_rc "Redis killed: revoke on b of a's grant acknowledged (exit 0)" 0 hctl b revoke "$G_GONE"
check "  ...and b denies it at once" host_denies b nobody down:gone
health_check "Redis killed: psmctl health exits 1 (degraded) on a" wait_until 20 unhealthy a

# ---- Redis restarted empty ---------------------------------------------------------------------
redis_start r || fail "redis-server restarts on its port"
check "Redis back empty: a's queued grant reaches b" wait_until 30 host_allows b nobody down:queued
check "Redis back empty: b's queued revoke reaches a" wait_until 30 host_denies a nobody down:gone
check "Redis back empty: a re-published its old grant into state" wait_until 30 state_has r "$G_OLD"
check "Redis back empty: b's revoke is a tombstone in state" wait_until 30 state_tomb r "$G_GONE"
host_start c || fail "host c starts after the restart"
check "host c, new after the restart, gets the old grant made before it" \
	wait_until 30 host_allows c nobody down:old
check "host c gets the grant queued while Redis was down" wait_until 30 host_allows c nobody down:queued
check "barrier: a marker from b reaches c" fleet_sync b c
check "host c denies the grant b revoked while Redis was down, and does not list it" \
	gone_on c "$G_GONE" down:gone
health_check "Redis back: psmctl health exits 0 on a again" wait_until 30 healthy a
expect_rc "Redis back: a new grant on b (exit 0)" 0 hctl b grant nobody down:after --hosts '*'
check "  ...reaches a" wait_until 20 host_allows a nobody down:after

# ---- Redis hung (SIGSTOP) -------------------------------------------------------------------------
redis_pause r
expect_rc "Redis hung: psmctl stats on a answers (exit 0)" 0 hctl a stats
expect_rc "Redis hung: grant on a acknowledged (exit 0)" 0 hctl a grant nobody down:hung --hosts '*'
check "  ...and a allows it at once" host_allows a nobody down:hung
expect_rc "Redis hung: psmctl stats on b still answers (exit 0)" 0 hctl b stats
check "Redis hung: b still allows a's old grant" host_allows b nobody down:old
redis_resume r
check "Redis resumed: the grant made while it hung reaches b" wait_until 30 host_allows b nobody down:hung
check "Redis resumed: b's queued tombstone still wins on a" host_denies a nobody down:gone
tap_end
