#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tests/e2e/fleet_status.sh - psmctl fleet, health and the psm_fleet_* metrics of a psmd synced
# through a real redis-server: connected (address, role, signing off), then the server
# stopped: degraded health naming why, a grant queued for Redis, the figures following.
# TAP lines "ok - NAME" / "not ok - NAME". $BUILD (default build) holds psmd and psmctl.
# redis-server runs on a free loopback port with its own dir under the temp dir, and is
# stopped by its pid; only processes started here are stopped.  Needs root, redis-server.
set -u
# shellcheck source=../lib/psmd.sh
. "$(dirname "$0")/../lib/psmd.sh"
psmd_env fstat
REDIS_PID=""

ctl() {
	run_capture "$CTL" -s "$SOCK" "$@"
}

# free_port: a loopback TCP port nothing listens on now.
free_port() {
	local p i
	for i in $(seq 50); do
		p=$((20000 + RANDOM % 40000))
		(exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return 0; }
	done
	return 1
}

redis_up() {
	[ "$(redis-cli -p "$PORT" ping 2>/dev/null)" = PONG ]
}

stop_redis() {
	[ -n "$REDIS_PID" ] || return 0
	kill -TERM "$REDIS_PID" 2>/dev/null
	wait_for 10 eval '! kill -0 "$REDIS_PID" 2>/dev/null'
	kill -KILL "$REDIS_PID" 2>/dev/null
	wait "$REDIS_PID" 2>/dev/null
	REDIS_PID=""
}

# fleet_has TEXT: psmctl --json fleet's reply holds TEXT.
fleet_has() {
	"$CTL" -s "$SOCK" --json fleet 2>/dev/null | grep -qF -- "$1"
}

# queued_some: psmctl --json fleet counts one local write or more not yet in Redis.
queued_some() {
	"$CTL" -s "$SOCK" --json fleet 2>/dev/null | grep -q '"queued":[1-9]'
}

degraded() {
	"$CTL" -s "$SOCK" health >/dev/null 2>&1
	[ $? -eq 1 ]
}

command -v redis-server >/dev/null || { echo "ok - fleet status # SKIP no redis-server"; exit 0; }
psmd_need "$PSMD" "$CTL"
trap 'stop_redis; psmd_cleanup' EXIT
PORT=$(free_port) || { fail "a free port"; tap_end; exit; }
mkdir -p "$T/redis"
redis-server --port "$PORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$T/redis" \
	--logfile "$T/redis/redis.log" >/dev/null 2>&1 &
REDIS_PID=$!
check "redis-server answers" wait_for 10 redis_up

echo '{ "roles": {}, "bindings": [] }' >"$T/policy.json"
psmd_conf "$T/psmd.conf" "$SHM" "\"host_name\": \"fs-host-01\", \"redis\": { \"url\": \"redis://127.0.0.1:$PORT\", \"key_prefix\": \"psm-fs-$$:\" }"
psmd_start || { fail "psmd starts" "$(cat "$LOG")"; tap_end; exit; }

# ---- connected ---------------------------------------------------------------------------
check "fleet: connected" wait_for 15 fleet_has '"connected":true'
ctl fleet
expect_grep "fleet: the address" "^address: +127\.0\.0\.1:$PORT$" -
expect_grep "fleet: the role" "^role: +master$" -
expect_grep "fleet: connected since a time" "^since: +[0-9]{4}-[0-9]{2}-[0-9]{2}T" -
expect_grep "fleet: signing off" "^signing: +false$" -
expect_grep "fleet: no trusted keys" "^trusted_keys: +0$" -
expect_grep "fleet: applied records counted" "^records\.applied: +[0-9]+$" -
expect_grep "fleet: dropped records counted by reason" "^records\.oversized: +[0-9]+$" -
check "fleet: exit 0" test "$LAST_RC" -eq 0
expect_rc "health: healthy while connected" 0 "$CTL" -s "$SOCK" health
expect_grep "health: a fleet check, ok" "^fleet +ok +redis 127\.0\.0\.1:$PORT" "$T/out"
ctl metrics
expect_grep "metrics: psm_fleet_connected 1" '^psm_fleet_connected 1$' -
expect_grep "metrics: psm_fleet_lag_seconds" '^psm_fleet_lag_seconds [0-9.]+$' -
missing=""
for r in applied out_of_scope unsigned forged untrusted replayed expired malformed oversized; do
	printf '%s\n' "$LAST_OUT" | grep -q "^psm_fleet_records_total{result=\"$r\"} [0-9]*$" ||
		missing="$missing $r"
done
check "metrics: psm_fleet_records_total has all nine results" test -z "$missing"
expect_grep "metrics: psm_fleet_queue_length" '^psm_fleet_queue_length 0$' -
expect_grep "metrics: psm_fleet_resyncs_total" '^psm_fleet_resyncs_total [0-9]+$' -

# ---- Redis gone ----------------------------------------------------------------------------
stop_redis
check "health: degraded once Redis is gone" wait_for 15 degraded
ctl health
expect_grep "health: the fleet check says Redis is unreachable" \
	"^fleet +FAIL +redis 127\.0\.0\.1:$PORT unreachable" -
check "fleet: not connected" fleet_has '"connected":false'
expect_rc "a grant while Redis is gone is acknowledged" 0 \
	"$CTL" -s "$SOCK" grant root test:x --ttl 1h
check "fleet: the grant is queued for Redis" wait_for 10 queued_some
ctl metrics
expect_grep "metrics: psm_fleet_connected 0" '^psm_fleet_connected 0$' -
expect_grep "metrics: psm_fleet_queue_length counts it" '^psm_fleet_queue_length [1-9][0-9]*$' -
check "psmd still runs" kill -0 "$PSMD_PID"
tap_end
