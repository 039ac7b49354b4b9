#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tests/e2e/fleet_catchup.sh - catch-up (SPEC §11): a host killed -9 mid-stream, and one stopped, reads on.
# TAP lines "ok - NAME" / "not ok - NAME"; $BUILD (default build) holds psmd, psmctl, psm-query.
# Two psmd hosts on one redis-server on loopback.  Host b is killed -9 while a makes 2,000
# grants; restarted, b has all 2,000 in its table.  Then b is stopped normally: it wrote its
# position (fleet.pos) and, restarted, reads on from it: the records made meanwhile arrive,
# no resync, and a malformed entry b dropped before its position is not read again.
set -u
# shellcheck source=../lib/fleet.sh
. "$(dirname "$0")/../lib/fleet.sh"
fleet_env fcatch

N=2000
MORE=50
redis_start r || { fail "redis-server starts"; exit 1; }
host_start a || { fail "host a starts"; exit 1; }
host_start b || { fail "host b starts"; exit 1; }

# grants FROM TO: a grants nobody catch:FROM..catch:TO for every host; 1 at the first failure.
grants() {
	local i
	for i in $(seq "$1" "$2"); do
		hctl a grant nobody "catch:$i" --hosts '*' >/dev/null || { echo "# grant $i failed" >&2; return 1; }
	done
}

# count_is HOST N: HOST's table holds N grants of nobody.
count_is() {
	[ "$(host_count "$1" nobody)" -eq "$2" ]
}

# pos_names ID: $pos is "<40 hex replication id> ID".
pos_names() {
	[[ $pos =~ ^[0-9a-f]{40}\ ([^ ]+)$ ]] && [ "${BASH_REMATCH[1]}" = "$1" ]
}

# count_at_least_or_done HOST N PID: HOST holds N grants of nobody, or PID ended.
count_at_least_or_done() {
	[ "$(host_count "$1" nobody)" -ge "$2" ] || ! kill -0 "$3" 2>/dev/null
}

grants 1 "$N" &
STREAM=$!
PIDS="$PIDS $STREAM"
wait_until 120 count_at_least_or_done b 200 "$STREAM"
kept=$(host_count b nobody)
if kill -0 "$STREAM" 2>/dev/null; then
	host_kill9 b
	pass "b killed -9 while a's stream of $N grants runs (b had $kept)"
else
	host_kill9 b
	fail "b killed -9 while a's stream of $N grants runs" "the stream ended first; b had $kept"
fi
wait "$STREAM"
check "a acknowledged all $N grants" test $? -eq 0
check "a's table holds all $N" count_is a "$N"
host_run b || fail "b restarts after kill -9"
check "b restarted catches up: all $N in its table" wait_until 60 count_is b "$N"

# A normal stop and start: b reads on from the position it kept.  A malformed entry b has
# dropped lies before that position: read again, it would be dropped (and logged) again.
redis_cli r XADD "$FLEET_FEED" '*' r 'not a record' >/dev/null
check "barrier: a marker from a reaches b" fleet_sync a b
check "b dropped the malformed entry (log)" host_log_has b 'dropped \(malformed\)'
host_stop b
check "b stopped normally: exit 0" test "$HOST_RC" = 0
pos=$(cat "$(host_state b)/fleet.pos" 2>/dev/null)
last=$(redis_cli r --raw XREVRANGE "$FLEET_FEED" + - COUNT 1 | head -n 1)
check "b's fleet.pos is \"<replid> <the feed's last id, $last>\"" pos_names "$last"
grants $((N + 1)) $((N + MORE))
check "b stopped: a made $MORE more grants" count_is a $((N + MORE))
off=$(host_mark b)
host_run b || fail "b starts again"
check "b started again: the $MORE made while it was stopped arrive" wait_until 30 count_is b $((N + MORE))
check "barrier: a marker from a reaches b" fleet_sync a b
check "b read on from fleet.pos: no full resync (log)" test "$(host_resyncs b "$off")" = 0
check "b read on from fleet.pos: the dropped entry before it was not read again (log)" \
	test "$(host_log_count b "$off" 'dropped \(malformed\)')" = 0
check "b read on from fleet.pos: $MORE grants applied (audit lines)" \
	test "$(host_log_count b "$off" '"op":"fleet","type":"grant".*"pattern":"catch:')" = "$MORE"
if fleet_cmd; then
	check "psmctl fleet --json on b: resyncs 0" test "$(fleet_figure b resyncs)" = 0
	check "psmctl fleet --json on b: replayed 0" test "$(fleet_figure b replayed)" = 0
else
	skip "psmctl fleet --json on b: resyncs 0, replayed 0" "psmctl fleet is not built"
fi
tap_end
