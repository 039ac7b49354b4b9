#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tests/e2e/fleet_partition.sh - revocation wins (SPEC §11): a revoke and a stale grant meet in every order, 0 resurrections.
# TAP lines "ok - NAME" / "not ok - NAME"; $BUILD (default build) holds psmd, psmctl, psm-query.
# Three psmd hosts (a, b, c) on one redis-server on loopback.  Each scenario: a grants G to every
# host, all allow it; then, cut off from Redis in some way, b revokes it while a still holds
# it; Redis comes back (a first, b first, both at once, with or without its data), or is
# flushed, or the old grant entry is replayed into the feed or the state hash.  After each,
# once a marker from every host has reached every other: no table allows G and no host lists it.
set -u
# shellcheck source=../lib/fleet.sh
. "$(dirname "$0")/../lib/fleet.sh"
fleet_env fpart

ALL="a b c"
redis_start r || { fail "redis-server starts"; exit 1; }
for h in $ALL; do
	host_start "$h" || { fail "host $h starts"; exit 1; }
done
G_LIVE=$(hctl a grant nobody live --hosts '*')

# grant_all PATTERN: a grants nobody PATTERN for every host; sets G; 0 once all allow it.
grant_all() {
	local h
	G=$(hctl a grant nobody "$1" --hosts '*') || return 1
	for h in $ALL; do
		wait_until 20 host_allows "$h" nobody "$1" || { echo "# $h does not allow $1" >&2; return 1; }
	done
}

# settle: a marker from every running host reaches every other (all written before is applied).
settle() {
	local h
	for h in $ALL; do
		# shellcheck disable=SC2086 # a list of hosts
		fleet_sync "$h" $ALL || return 1
	done
}

# nowhere PATTERN ID [any]: after settle, no host's table allows PATTERN, none lists ID, and
# (unless "any") the state hash holds ID as a tombstone or not at all.
nowhere() {
	local h bad=""
	settle || bad=" (no settle)"
	for h in $ALL; do
		host_denies "$h" nobody "$1" || bad="$bad $h:allowed"
		host_lacks "$h" "$2" || bad="$bad $h:listed"
	done
	[ "${3:-}" = any ] || ! state_has r "$2" || state_tomb r "$2" || bad="$bad state:live"
	[ -z "$bad" ] || { echo "# $1 ($2) resurrected:$bad" >&2; return 1; }
}

# resynced HOST OFFSET: HOST logged a full resync after byte OFFSET of its log.
resynced() {
	[ "$(host_resyncs "$1" "$2")" -gt 0 ]
}

# cut_and_revoke PATTERN: Redis killed; b revokes G (acknowledged, denied on b at once); a,
# cut off, still allows it.
cut_and_revoke() {
	redis_kill r
	expect_rc "$1: Redis killed, b revokes G: exit 0" 0 hctl b revoke "$G"
	check "$1: b denies G at once" host_denies b nobody "$1"
	check "$1: a, cut off, still allows G (stale)" host_allows a nobody "$1"
}

# ---- (1) Redis restarted empty; a (stale) reconnects first, then b (the revoke) ----------------
check "p1: G granted on a reaches every host" grant_all p1
cut_and_revoke p1
host_stop a
host_stop b
redis_start r || fail "p1: redis restarts empty"
host_run a || fail "p1: a starts"
check "p1: a first: it re-publishes G into the empty Redis" wait_until 30 state_has r "$G"
host_run b || fail "p1: b starts"
check "p1: then b: its revoke is the state's tombstone" wait_until 30 state_tomb r "$G"
check "p1: G allowed nowhere, listed nowhere" nowhere p1 "$G"

# ---- (2) Redis restarted empty; b (the revoke) reconnects first, then a (stale) ----------------
check "p2: G granted on a reaches every host" grant_all p2
cut_and_revoke p2
host_stop a
host_stop b
redis_start r || fail "p2: redis restarts empty"
host_run b || fail "p2: b starts"
check "p2: b first: its revoke is the state's tombstone" wait_until 30 state_tomb r "$G"
host_run a || fail "p2: a starts"
check "p2: then a: it learns the revoke" wait_until 30 host_denies a nobody p2
check "p2: G allowed nowhere, listed nowhere" nowhere p2 "$G"

# ---- (3) Redis restarted empty under running hosts: they reconnect in their own order -----------
check "p3: G granted on a reaches every host" grant_all p3
cut_and_revoke p3
redis_start r || fail "p3: redis restarts empty"
check "p3: a learns the revoke" wait_until 30 host_denies a nobody p3
check "p3: G allowed nowhere, listed nowhere" nowhere p3 "$G"

# ---- (4) Redis hung (SIGSTOP) while b revokes: it comes back with its data ----------------------
check "p4: G granted on a reaches every host" grant_all p4
redis_pause r
expect_rc "p4: Redis hung, b revokes G: exit 0" 0 hctl b revoke "$G"
check "p4: a, cut off, still allows G (stale)" host_allows a nobody p4
redis_resume r
check "p4: a learns the revoke" wait_until 30 host_denies a nobody p4
check "p4: G allowed nowhere, listed nowhere" nowhere p4 "$G"

# ---- (5) FLUSHALL after the revoke, b (the revoker) away; a new host joins ---------------------
check "p5: G granted on a reaches every host" grant_all p5
expect_rc "p5: b revokes G: exit 0" 0 hctl b revoke "$G"
check "p5: a learns the revoke" wait_until 20 host_denies a nobody p5
host_stop b
redis_cli r FLUSHALL >/dev/null
check "p5: a re-publishes its records after FLUSHALL" wait_until 30 state_has r "$G_LIVE"
host_start d || fail "p5: a new host d starts"
ALL="a c d"
check "p5: with b away, G allowed nowhere (d new), listed nowhere" nowhere p5 "$G"
host_run b || fail "p5: b starts again"
ALL="a b c d"
check "p5: b back: G allowed nowhere, listed nowhere" nowhere p5 "$G"

# ---- (6) the old grant entry replayed into the feed, and its old value into the state hash --------
check "p6: G granted on a reaches every host" grant_all p6
R=$(redis_cli r --raw XRANGE "$FLEET_FEED" - + | grep -F "{\"type\":\"grant\",\"grant_id\":\"$G\"" | head -n 1)
OLD=$(redis_cli r --raw HGET "$FLEET_STATE" "g:$G")
check "p6: the feed holds G's grant entry, the state its record" test -n "$R" -a -n "$OLD"
expect_rc "p6: b revokes G: exit 0" 0 hctl b revoke "$G"
check "p6: a learns the revoke" wait_until 20 host_denies a nobody p6
redis_cli r XADD "$FLEET_FEED" '*' r "$R" >/dev/null
check "p6: the old entry replayed (XADD of its exact bytes): G allowed nowhere, listed nowhere" \
	nowhere p6 "$G"
host_restart c || fail "p6: c restarts"
redis_cli r XADD "$FLEET_FEED" '*' r "$R" >/dev/null
check "p6: replayed again after c restarted: G allowed nowhere, listed nowhere" nowhere p6 "$G"
host_stop c
G_MISSED=$(hctl a grant nobody p6:missed --hosts '*')
check "p6: c stopped, a grants one more: it reaches the state hash" wait_until 20 state_has r "$G_MISSED"
redis_cli r HSET "$FLEET_STATE" "g:$G" "$OLD" >/dev/null
redis_cli r XTRIM "$FLEET_FEED" MAXLEN 0 >/dev/null
off=$(host_mark c)
host_run c || fail "p6: c starts"
check "p6: the feed trimmed past c: c resyncs from the state hash" wait_until 30 resynced c "$off"
check "p6: c got the grant it missed through the resync" wait_until 20 host_allows c nobody p6:missed
check "p6: G's old value written back into the state: G allowed nowhere, listed nowhere" \
	nowhere p6 "$G" any
check "p6: a host that still allows the live grant: the fleet works" host_allows c nobody live
tap_end
