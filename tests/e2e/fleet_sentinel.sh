#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tests/e2e/fleet_sentinel.sh - fleet sync through Redis Sentinel across a failover (SPEC §11).
# TAP lines "ok - NAME" / "not ok - NAME"; $BUILD (default build) holds psmd, psmctl, psm-query
# and tools/tableinfo.  A redis primary, its replica and three redis-sentinels on loopback;
# hosts a and b find the primary through the sentinels, host c too and reads the feed from
# the replica (read_url).  Grants flow; the primary is killed (-9) right after more grants
# were acknowledged (some may not have reached the replica); once Sentinel names the replica,
# every grant acknowledged before, during and after the failover is on every host.
set -u
# shellcheck source=../lib/fleet.sh
. "$(dirname "$0")/../lib/fleet.sh"
fleet_env sentinel
MASTER=psm
declare -A SENT_PID=() SENT_PORT=() GID=()
ACKED=""

sent_cleanup() {
	local s
	for s in "${!SENT_PID[@]}"; do
		kill -KILL "${SENT_PID[$s]}" 2>/dev/null && wait "${SENT_PID[$s]}" 2>/dev/null
	done
	fleet_cleanup
}
trap sent_cleanup EXIT

# sent_cli N ARG...: redis-cli against sentinel N.
sent_cli() {
	local n=$1
	shift
	redis-cli -h 127.0.0.1 -p "${SENT_PORT[$n]}" "$@"
}

sent_up() {
	kill -0 "${SENT_PID[$1]}" 2>/dev/null || return 2
	sent_cli "$1" INFO server 2>/dev/null | tr -d '\r' | grep -qx "process_id:${SENT_PID[$1]}"
}

# sent_start N: sentinel N (its own conf: Sentinel rewrites it) on a free port, watching p.
sent_start() {
	local n=$1 d=$T/sentinel/$1 try p
	mkdir -p "$d"
	for try in $(seq 20); do
		p=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
		cat >"$d/sentinel.conf" <<-EOF
		port $p
		bind 127.0.0.1
		dir $d
		logfile $d/sentinel.log
		sentinel monitor $MASTER 127.0.0.1 ${REDIS_PORT[p]} 2
		sentinel down-after-milliseconds $MASTER 500
		sentinel failover-timeout $MASTER 2000
		EOF
		redis-sentinel "$d/sentinel.conf" </dev/null >/dev/null 2>&1 &
		SENT_PID[$n]=$! SENT_PORT[$n]=$p
		wait_until 10 sent_up "$n" && return 0
		kill -KILL "${SENT_PID[$n]}" 2>/dev/null && wait "${SENT_PID[$n]}" 2>/dev/null
	done
	return 1
}

# sent_ready N: sentinel N knows the replica and the two other sentinels.
sent_ready() {
	sent_cli "$1" SENTINEL replicas "$MASTER" 2>/dev/null | grep -qx "${REDIS_PORT[s]}" &&
		[ "$(sent_cli "$1" SENTINEL sentinels "$MASTER" 2>/dev/null | grep -cx ip)" -ge 2 ]
}

# sent_names_port N PORT: sentinel N gives PORT as the primary's.
sent_names_port() {
	sent_cli "$1" SENTINEL get-master-addr-by-name "$MASTER" 2>/dev/null | tail -n 1 | grep -qx "$2"
}

failed_over() {
	local n
	for n in 1 2 3; do
		sent_names_port "$n" "${REDIS_PORT[s]}" || return 1
	done
	redis_cli s ROLE 2>/dev/null | head -n 1 | grep -qx master
}

# grant_on HOST PATTERN: a grant for every host, acknowledged by HOST (its pattern joins ACKED).
grant_on() {
	local id
	if id=$(hctl "$1" grant nobody "$2" --hosts '*' --ttl 1h); then
		ACKED="$ACKED $2" GID[$2]=$id
	else
		fail "grant $2 acknowledged on $1"
	fi
}

# everywhere: every acknowledged grant is in every host's table.
everywhere() {
	local h p
	for h in a b c; do
		for p in $ACKED; do
			host_has "$h" nobody "$p" || return 1
		done
	done
}

# missing: "HOST:PATTERN" of each acknowledged grant a host lacks (diagnostics).
missing() {
	local h p
	for h in a b c; do
		for p in $ACKED; do
			host_has "$h" nobody "$p" || printf '%s:%s ' "$h" "$p"
		done
	done
}

redis_start p --repl-diskless-sync-delay 0 || exit 1
redis_start s --replicaof 127.0.0.1 "${REDIS_PORT[p]}" || exit 1
check "the replica is in sync with the primary" wait_until 20 eval \
	"redis_cli s INFO replication | tr -d '\r' | grep -qx master_link_status:up"
for n in 1 2 3; do
	sent_start "$n" || { fail "sentinel $n starts"; exit 1; }
done
# Sentinels learn the replica from the primary's INFO (every 10 s) and each other by hello.
check "every sentinel knows the replica and the other sentinels" \
	wait_until 40 eval "sent_ready 1 && sent_ready 2 && sent_ready 3"

SENTS="\"127.0.0.1:${SENT_PORT[1]}\", \"127.0.0.1:${SENT_PORT[2]}\", \"127.0.0.1:${SENT_PORT[3]}\""
VIA="\"sentinels\": [$SENTS], \"master_name\": \"$MASTER\""
host_start a "" "$VIA" || exit 1
host_start b "" "$VIA" || exit 1
host_start c "" "$VIA, \"read_url\": \"$(redis_url s)\"" || exit 1

for h in a b c; do
	grant_on "$h" "sent:before-$h"
done
check "grants flow through the primary (c reads the replica)" wait_until 15 everywhere ||
	echo "#   missing: $(missing)"
check "c's psmctl fleet names the replica as its read server" \
	eval "hctl c --json fleet 2>/dev/null | grep -q '127.0.0.1:${REDIS_PORT[s]}'"

# More grants, then the primary dies at once: the last may not have reached the replica.
for i in 1 2 3; do
	for h in a b c; do
		grant_on "$h" "sent:last-$h-$i"
	done
done
redis_kill p
for h in a b c; do
	grant_on "$h" "sent:down-$h"
done
if check "Sentinel names the replica as the primary" wait_until 60 failed_over; then
	for h in a b c; do
		grant_on "$h" "sent:after-$h"
	done
	check "every grant acknowledged before, during and after the failover is on every host" \
		wait_until 60 everywhere || echo "#   missing: $(missing)"
	check "a's psmctl fleet names the new primary" \
		wait_until 10 eval "hctl a --json fleet 2>/dev/null | grep -q '127.0.0.1:${REDIS_PORT[s]}'"
	check "a revoke on b after the failover is acknowledged" hctl b revoke "${GID[sent:after-a]:-none}"
	check "the revoked grant leaves every table" wait_until 15 eval \
		"! host_has a nobody sent:after-a && ! host_has b nobody sent:after-a && ! host_has c nobody sent:after-a"
else
	for n in 1 2 3; do
		tail -n 5 "$T/sentinel/$n/sentinel.log" | sed 's/^/#   /'
	done
fi
tap_end
