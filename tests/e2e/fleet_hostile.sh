#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tests/e2e/fleet_hostile.sh - psmd against a "Redis" that answers hostile replies (SPEC §11).
# TAP lines "ok - NAME" / "not ok - NAME"; $BUILD (default build) holds psmd, psmctl, psm-query
# and tools/fake_redis.  For each reply of tests/tools/fake_redis (a 2 GiB bulk length, a
# 2^31 array, arrays nested 10 deep, an integer or a status where a stream is wanted, an error,
# bytes that are not RESP, no answer, a closed connection), to the PING of the handshake and,
# with fake_redis -r, to the commands after an honest handshake: psmd keeps serving from its
# table, its memory stays bounded, nothing enters the table, `psmctl fleet`/health say it is
# not connected, its log has one line per state change and not one per retry, and SIGTERM
# still stops it.  All the hosts run at once; everything is on loopback in a temp dir.
set -u
# shellcheck source=../lib/fleet.sh
. "$(dirname "$0")/../lib/fleet.sh"
fleet_env hostile
FAKE=$BUILD/tools/fake_redis
psmd_need "$FAKE"

# "p-MODE": the hostile reply answers PING; "r-MODE": fake_redis -r, an honest handshake first.
# HOSTILE_CASES="p-int r-bulk" runs only those.
CASES=${HOSTILE_CASES:-"p-bulk p-bigarray p-nested p-int p-garbage p-hang p-close
       r-bulk r-trickle r-bigarray r-nested r-int r-status r-error r-garbage r-hang"}
RSS_SLACK_KB=$((64 * 1024))
declare -A FAKE_PID=() FAKE_PORT=() REC0=()

fake_cleanup() {
	local c
	for c in "${!FAKE_PID[@]}"; do
		kill "${FAKE_PID[$c]}" 2>/dev/null && wait "${FAKE_PID[$c]}" 2>/dev/null
	done
	fleet_cleanup
}
trap fake_cleanup EXIT

# fake_start CASE: fake_redis for CASE on a free port (FAKE_PORT[CASE]); its stderr is
# $T/fake-CASE.log ("accept N", "CMD -> MODE|real").
fake_start() {
	local c=$1 flag=""
	[ "${c%%-*}" = r ] && flag=-r
	"$FAKE" $flag "${c#*-}" >"$T/fake-$c.port" 2>"$T/fake-$c.log" &
	FAKE_PID[$c]=$!
	wait_until 5 test -s "$T/fake-$c.port" || return 1
	FAKE_PORT[$c]=$(cat "$T/fake-$c.port")
}

# accepts CASE: connections fake_redis took.  hostile_sent CASE: commands it answered badly.
accepts() {
	grep -c '^accept ' "$T/fake-$1.log"
}

hostile_sent() {
	grep -c -- "-> ${1#*-}\$" "$T/fake-$1.log"
}

# retried CASE N: fake_redis took at least N connections (psmd came back after the bad reply).
retried() {
	[ "$(accepts "$1")" -ge "$2" ]
}

# kb PID FIELD: VmRSS / VmHWM of PID in kB.
kb() {
	awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"
}

records() {
	"$TABLEINFO" "${HOST_SHM[$1]}" | awk '$1 == "records" { print $2 }'
}

# state_lines CASE: log lines of the host's fleet connection state (they name the address).
state_lines() {
	grep -c "127.0.0.1:${FAKE_PORT[$1]}" "$(host_log "$1")"
}

denies() {
	! host_allows "$@"
}

stats_ok() {
	hctl "$1" stats >/dev/null 2>&1
}

fleet_down() {
	hctl "$1" --json fleet 2>/dev/null | grep -q '"connected": *false'
}

health_degraded() {
	hctl "$1" health >/dev/null 2>&1
	[ $? -eq 1 ]
}

# start_case CASE: its fake_redis and a host on it holding one grant of its own.
start_case() {
	local c=$1
	fake_start "$c" || { fail "$c: fake_redis started"; return 1; }
	host_start "$c" "" "\"url\": \"redis://127.0.0.1:${FAKE_PORT[$c]}\"" ||
		{ fail "$c: psmd serves before Redis answers"; return 1; }
	hctl "$c" grant nobody hostile:local --ttl 1h >/dev/null
	REC0[$c]=$(records "$c")
}

# check_case CASE: the checks of the top of this file for one case.
check_case() {
	local c=$1 pid=${HOST_PID[$1]} want=6 lines
	# the pusher's first command goes out with the grant; close and hang cases retry slowly
	case $c in r-trickle) want=2 ;; esac
	if wait_until 40 retried "$c" "$want" && [ "$(hostile_sent "$c")" -gt 0 -o "$c" = p-close ]; then
		pass "$c: psmd got the hostile reply and came back ($(accepts "$c") connections)"
	else
		fail "$c: psmd got the hostile reply and came back" "connections: $(accepts "$c")" \
			"$(tail -n 5 "$T/fake-$c.log")"
	fi
	check "$c: psmd answers psmctl stats" stats_ok "$c"
	check "$c: its own grant still decides (allow)" host_allows "$c" nobody hostile:local
	check "$c: an ungranted perm is denied" denies "$c" nobody hostile:other
	check "$c: nothing entered the table (records ${REC0[$c]})" test "$(records "$c")" = "${REC0[$c]}"
	check "$c: VmHWM within 64 MiB of a host without Redis ($(kb "$pid" VmHWM) kB)" \
		test "$(kb "$pid" VmHWM)" -le $((BASE_HWM + RSS_SLACK_KB))
	check "$c: psmctl fleet --json says not connected" wait_until 10 fleet_down "$c"
	check "$c: psmctl health exits 1 (degraded)" wait_until 10 health_degraded "$c"
	lines=$(state_lines "$c")
	check "$c: one log line per state change, not per retry ($lines lines, $(accepts "$c") connections)" \
		test "$lines" -ge 1 -a "$lines" -le 2
	check "$c: retries back off (fewer than 1000 commands)" test "$(grep -c -- ' -> ' "$T/fake-$c.log")" -lt 1000
}

# stop_case CASE: SIGTERM stops psmd (exit 0) while Redis answers badly (fleet_stop is bounded).
stop_case() {
	local c=$1 pid=${HOST_PID[$1]}
	kill -TERM "$pid"
	if wait_until 20 eval "! kill -0 $pid 2>/dev/null"; then
		wait "$pid"
		check "$c: SIGTERM stops psmd with exit 0" test $? -eq 0
	else
		fail "$c: SIGTERM stops psmd with exit 0" "still running after 20 s"
	fi
	unset 'HOST_PID[$c]'
}

HOST_REDIS=none host_start ref || { fail "a host without Redis starts"; exit 1; }
hctl ref grant nobody hostile:local --ttl 1h >/dev/null
for c in $CASES; do
	start_case "$c"
done
# a host that never saw Redis, after the same work: the memory the others are measured against
BASE_HWM=$(kb "${HOST_PID[ref]}" VmHWM)
for c in $CASES; do
	[ -n "${HOST_PID[$c]:-}" ] && check_case "$c"
done
for c in $CASES; do
	[ -n "${HOST_PID[$c]:-}" ] && stop_case "$c"
done
tap_end
