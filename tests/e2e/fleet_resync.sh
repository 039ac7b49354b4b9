#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tests/e2e/fleet_resync.sh - full resync (SPEC §11): the feed trimmed past a host, and FLUSHALL under running hosts.
# TAP lines "ok - NAME" / "not ok - NAME"; $BUILD (default build) holds psmd, psmctl, psm-query.
# Two psmd hosts on one redis-server on loopback.  b is stopped, a makes 300 grants and a revoke,
# the feed is trimmed to its last 10 entries: b, restarted, resyncs from the state hash and
# has them all.  Then FLUSHALL with both running: both re-publish their records (a host started
# afterwards gets them all), new grants still flow, and both log a resync (psmctl fleet
# --json counts them, once that command is built).
set -u
# shellcheck source=../lib/fleet.sh
. "$(dirname "$0")/../lib/fleet.sh"
fleet_env fresync

N=300
redis_start r || { fail "redis-server starts"; exit 1; }
host_start a || { fail "host a starts"; exit 1; }
host_start b || { fail "host b starts"; exit 1; }

# count_is HOST N: HOST's table holds N grants of nobody.
count_is() {
	[ "$(host_count "$1" nobody)" -eq "$2" ]
}

# resynced HOST OFFSET: HOST logged a full resync after byte OFFSET of its log.
resynced() {
	[ "$(host_resyncs "$1" "$2")" -gt 0 ]
}

G_B=$(hctl b grant nobody resync:b --hosts '*')
G_REV=$(hctl a grant nobody resync:revoked --hosts '*')
check "baseline: b's grant reaches a" wait_until 20 host_allows a nobody resync:b
check "baseline: a's grant reaches b (b has a feed position)" wait_until 20 host_allows b nobody resync:revoked

# ---- the feed trimmed past a stopped host ------------------------------------------------------
host_stop b
G_1=$(hctl a grant nobody resync:1 --hosts '*')
for i in $(seq 2 "$N"); do
	hctl a grant nobody "resync:$i" --hosts '*' >/dev/null || { fail "grant $i on a"; break; }
done
expect_rc "b stopped: a revokes a grant b holds (exit 0)" 0 hctl a revoke "$G_REV"
check "a's records reached the state hash" wait_until 30 state_tomb r "$G_REV"
redis_cli r XTRIM "$FLEET_FEED" MAXLEN 10 >/dev/null
check "the feed is trimmed to 10 entries" test "$(redis_cli r XLEN "$FLEET_FEED")" = 10
off_b=$(host_mark b)
host_run b || fail "b starts again"
check "b resynced: all $N grants and its own in its table" wait_until 60 count_is b $((N + 1))
check "b resynced: the grant revoked while it was away is denied" host_denies b nobody resync:revoked
check "b resynced: and not listed" host_lacks b "$G_REV"
check "b did a full resync (log)" resynced b "$off_b"
if fleet_cmd; then
	check "b's psmctl fleet --json counts it" test "$(fleet_figure b resyncs)" -gt 0
else
	skip "b's psmctl fleet --json counts it" "psmctl fleet is not built"
fi

# ---- FLUSHALL under running hosts ------------------------------------------------------------------
off_a=$(host_mark a)
off_b=$(host_mark b)
redis_cli r FLUSHALL >/dev/null
check "FLUSHALL: a re-publishes its grants into the state hash" wait_until 30 state_has r "$G_1"
check "FLUSHALL: b re-publishes its own grant" wait_until 30 state_has r "$G_B"
check "FLUSHALL: a's revoke is a tombstone in the state hash again" wait_until 30 state_tomb r "$G_REV"
check "FLUSHALL: a did a full resync (log)" wait_until 30 resynced a "$off_a"
check "FLUSHALL: b did a full resync (log)" wait_until 30 resynced b "$off_b"
expect_rc "FLUSHALL: a new grant on a (exit 0)" 0 hctl a grant nobody resync:after --hosts '*'
check "  ...reaches b" wait_until 20 host_allows b nobody resync:after
expect_rc "FLUSHALL: a new grant on b (exit 0)" 0 hctl b grant nobody resync:after-b --hosts '*'
check "  ...reaches a" wait_until 20 host_allows a nobody resync:after-b
host_start c || fail "host c starts after the FLUSHALL"
check "host c, new after the FLUSHALL, gets every grant ($((N + 3)))" wait_until 60 count_is c $((N + 3))
check "host c denies the revoked grant" host_denies c nobody resync:revoked
tap_end
