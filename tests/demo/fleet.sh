# SPDX-License-Identifier: MIT
# tests/demo/fleet.sh - the fleet part of `make demo` (sourced by tests/demo.sh, inside its namespace).
# shellcheck shell=bash disable=SC2317,SC2034,SC2154 # functions are called from demo.sh; FLEET_TAG, CTL
# and QUERY are read by lib/fleet.sh
#
# A redis-server on a free loopback port and two psmd hosts, web-01 and web-02 (label "web"),
# each with its own table, socket, state_dir and signing key (tests/lib/fleet.sh): a grant made
# on web-01 is allowed in web-02's table, a revoke on web-02 denies on web-01, Redis stopped
# leaves decisions going on, a grant on web-01 acknowledged while Redis is down reaches
# web-02 once Redis is back.  Every process started here is stopped by pid (trap).

# shellcheck source=../lib/fleet.sh
. "$DEMO_DIR/lib/fleet.sh"

ms_since() {
	echo $((($(date +%s%N) - $1) / 1000000))
}

host_denies() {
	hquery "$1" check "$2" "$3" >/dev/null 2>&1
	[ $? -eq 1 ]
}

# fleet_settled HOST: HOST is connected to Redis and has nothing of its own left to push.
fleet_settled() {
	local j
	j=$(hctl "$1" --json fleet 2>/dev/null) || return 1
	[[ $j =~ \"connected\":\ *true ]] && [[ $j =~ \"queued\":\ *0[,}] ]]
}

host_degraded() {
	hctl "$1" health >/dev/null 2>&1
	[ $? -eq 1 ]
}

# fleet_decides HOST USER WANT_RC [HOW]: psm-query on HOST's own table, polled until it exits
# WANT_RC (10 s, or 40 s for HOW=reconnect: the backoff may be up to 30 s); one step.
fleet_decides() {
	local t0 wait=host_allows verdict limit=10
	t0=$(date +%s%N)
	[ "$3" = 1 ] && wait=host_denies
	[ "${4:-}" = reconnect ] && limit=40
	wait_until "$limit" "$wait" "$1" "$2" sudo:run
	run_capture hquery "$1" check "$2" sudo:run --explain
	case $LAST_RC in 0) verdict=allow ;; 1) verdict=deny ;; *) verdict=error ;; esac
	step "$(is "$LAST_RC" "$3"; echo $?)" "psm-query --shm ${HOST_SHM[$1]} check $2 sudo:run" \
		"$verdict on $1 (exit $LAST_RC)${4:+, after $(ms_since "$t0") ms}"
	indent "$(printf '%s\n' "$LAST_OUT" | head -n 2)"
}

# fleet_grant HOST ARGS...: psmctl grant on HOST; GRANT_ID is the id it printed.
fleet_grant() {
	local h=$1
	shift
	run_capture hctl "$h" grant "$@"
	GRANT_ID=$LAST_OUT
	step "$LAST_RC" "psmctl -s $h.sock grant $*" "${LAST_ERR:-grant $GRANT_ID, acknowledged}"
}

demo_fleet_start() {
	local h
	FLEET_TAG=demo
	CTL=$BUILD/psmctl
	QUERY=$PSM_QUERY
	mkdir -p "$T/redis" "$T/host" "$T/keys"
	cp "$DEMO_DIR/demo/policy.json" "$T/policy.json"
	redis_start r
	step $? "redis-server --port PORT --bind 127.0.0.1 --save ''" \
		"pid ${REDIS_PID[r]:-none} on 127.0.0.1:${REDIS_PORT[r]:-none}"
	for h in web-01 web-02; do
		fleet_keygen "$h" || return 1
	done
	step 0 "psmctl keygen KEYFILE --name web-0N" "two signing keys, both in trusted_keys"
	for h in web-01 web-02; do
		host_start "$h" web "$(fleet_keys "$h")"
		step $? "psmd -c $h.conf -d   # host_name $h, labels [web]" \
			"pid ${HOST_PID[$h]:-none} serves ${HOST_SHM[$h]}"
	done
}

demo_fleet_outage() {
	redis_stop r
	step 0 "kill -TERM <redis-server pid>" "Redis is gone"
	wait_until 10 host_degraded web-01
	run_capture hctl web-01 health
	step "$(is "$LAST_RC" 1; echo $?)" "psmctl -s web-01.sock health" \
		"exit $LAST_RC: $(printf '%s\n' "$LAST_OUT" | grep -m1 -i -E 'redis|fleet')"
	fleet_decides web-01 psm-alice 0
	fleet_decides web-02 psm-bob 1
	fleet_grant web-01 psm-bob sudo:run --ttl 1h --hosts web --reason INC-51
	fleet_decides web-01 psm-bob 0
	fleet_decides web-02 psm-bob 1
	redis_start r
	step $? "redis-server --port ${REDIS_PORT[r]:-PORT} ... (empty)" \
		"pid ${REDIS_PID[r]:-none} is back"
	fleet_decides web-02 psm-bob 0 reconnect
}

demo_fleet() {
	local bad=$demo_bad h
	echo
	echo "fleet: two psmd hosts on this machine share grants through a Redis on loopback"
	# lib/fleet.sh's cleanup stops the hosts and the redis-server by pid; the demo's own psmd
	# has stopped already, and $T is ns_main's to remove
	PSMD_PID="" PIDS="" KEEP=1 SHM=$PSM_SHM
	trap 'fleet_cleanup; ns_inner_exit' EXIT
	demo_fleet_start || return 1
	fleet_grant web-01 psm-bob sudo:run --ttl 1h --hosts web --reason INC-50
	fleet_decides web-02 psm-bob 0 fleet
	run_capture hctl web-02 revoke "$GRANT_ID"
	step "$LAST_RC" "psmctl -s web-02.sock revoke $GRANT_ID" "${LAST_ERR:-$LAST_OUT}"
	fleet_decides web-01 psm-bob 1 fleet
	demo_fleet_outage
	wait_until 40 fleet_settled web-02
	run_capture hctl web-02 fleet
	step "$LAST_RC" "psmctl -s web-02.sock fleet" "${LAST_ERR:-Redis sync status}"
	indent "$LAST_OUT"
	fleet_cleanup
	if [ "$demo_bad" -ne "$bad" ]; then
		for h in web-01 web-02; do
			echo "fleet: the end of $h's log:"
			indent "$(tail -n 15 "$(host_log "$h")" 2>/dev/null)"
		done
	fi
}
