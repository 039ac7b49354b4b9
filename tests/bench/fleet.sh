#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tests/bench/fleet.sh - the fleet figures of SPEC §12 (row 9 of `make bench`), "S KEY VALUE" lines.
#
# Usage (as root): BUILD=/abs/build BENCH_REPEATS=N bash tests/bench/fleet.sh
# A redis-server on a free loopback port and psmd hosts on this machine (tests/lib/fleet.sh:
# own table, socket, state_dir, host_name; signing keys and trusted_keys as in production),
# all stopped by pid on exit.  Each figure is measured BENCH_REPEATS times:
#   fleet.floor      XADD -> XREAD BLOCK on the same redis (bench_fleet -m floor)
#   fleet.2          hosts a -> b: 1000 grants, then 1000 revokes, one at a time, from a's reply
#                    to b's table (bench_fleet -m lat)
#   fleet.rate       20000 grants written pipelined on a (bench_grants): changes/s as b's
#                    table takes them (bench_fleet -m watch)
#   fleet.catchup    b stopped, 100000 grants made on a and in Redis, b started: from its start
#                    to its table holding them all (bench_fleet -m watch -- psmd ...)
#   fleet.20         20 hosts h01..h20 on a second redis: h01 -> the 19 others, as fleet.2
# shellcheck disable=SC2034 # HOST_REDIS is read by lib/fleet.sh
set -u
# shellcheck source=../lib/fleet.sh
. "$(dirname "$0")/../lib/fleet.sh"
fleet_env bench
REPEATS=${BENCH_REPEATS:-5}
BF=$BUILD/bench/bench_fleet
psmd_need "$BF" "$BUILD/bench/bench_grants"

die() {
	echo "fleet.sh: $*" >&2
	exit 1
}

# state_len REDIS: fields of the state hash (every grant id published).
state_len() {
	redis_cli "$1" HLEN 'psm:{fleet}:state'
}

state_has() {
	[ "$(state_len "$1")" -ge "$2" ] 2>/dev/null
}

# start_hosts REDIS CAPACITY NAME...: keys for every NAME, then one psmd host each on REDIS,
# its table sized for CAPACITY records (so that no doubling falls inside a measurement).
start_hosts() {
	local r=$1 cap=$2 n
	shift 2
	for n in "$@"; do
		fleet_keygen "$n" || die "keygen $n"
	done
	for n in "$@"; do
		mkdir -p "$T/host/$n"
		HOST_SHM[$n]=/psm-e2e-$FLEET_TAG-$$-$n
		HOST_REDIS=$r host_conf "$n" "" "$(fleet_keys "$n")" "" |
			sed "s/\"capacity\": [0-9]*/\"capacity\": $cap/" >"$T/host/$n/psmd.conf"
		host_run "$n" || die "host $n did not start"
	done
}

# catchup: b stopped, 100000 grants on a (all in Redis), then b started and timed.
catchup() {
	local want
	host_stop b
	want=$(($(state_len r) + 100000))
	"$BUILD/bench/bench_grants" -s "$T/host/a/psmd.sock" -k fleet.load -r 1 -n 100000 -H '*' \
		>/dev/null || die "bench_grants on a failed"
	wait_until 120 state_has r "$want" || die "a's grants did not all reach Redis"
	"$BF" -m watch -t "${HOST_SHM[b]}" -N 100000 -k fleet.catchup -- \
		sh -c 'exec "$1" -d -c "$2" >>"$3" 2>&1' sh "$PSMD" "$T/host/b/psmd.conf" \
		"$(host_log b)" || die "b did not catch up"
}

# rate: 20000 grants pipelined on a, watched arriving in b's table.
rate() {
	"$BF" -m watch -t "${HOST_SHM[b]}" -N 20000 -k fleet.rate 2>"$T/watch.err" &
	local w=$!
	PIDS="$PIDS $w" # stopped on exit (lib/psmd.sh) if this dies before it
	wait_until 30 has_line "$T/watch.err" '^ready' || die "the watch did not start"
	"$BUILD/bench/bench_grants" -s "$T/host/a/psmd.sock" -k fleet.load -r 1 -n 20000 -H '*' \
		>/dev/null || die "bench_grants on a failed"
	wait "$w" || die "b's table did not take the 20000 grants: $(cat "$T/watch.err")"
}

redis_start r || die "redis-server did not start"
"$BF" -m floor -p "${REDIS_PORT[r]}" -n 10000 -r "$REPEATS" -k fleet.floor || die "floor"
start_hosts r $((130000 * REPEATS)) a b
"$BF" -m lat -a "$T/host/a/psmd.sock" -t "${HOST_SHM[b]}" -n 1000 -r "$REPEATS" -k fleet.2 ||
	die "a -> b"
for _ in $(seq "$REPEATS"); do rate; done
for _ in $(seq "$REPEATS"); do catchup; done
host_stop a
redis_start r20 || die "the second redis-server did not start"
hosts=$(seq -f 'h%02g' 1 20)
# shellcheck disable=SC2086 # one word a host
start_hosts r20 8192 $hosts
tables=()
for h in $hosts; do
	[ "$h" = h01 ] || tables+=(-t "${HOST_SHM[$h]}")
done
"$BF" -m lat -a "$T/host/h01/psmd.sock" "${tables[@]}" -n 1000 -r "$REPEATS" -k fleet.20 ||
	die "h01 -> 19 hosts"
