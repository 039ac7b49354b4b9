#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tests/e2e/fleet_sessions.sh - a login session killed from another host of the fleet (SPEC §11).
# Runs as root in a private mount namespace (tests/lib/ns.sh); BUILD=dir (default build).
# TAP lines "ok - NAME" / "not ok - NAME".  Two psmd hosts, alpha and beta, on one real
# redis-server; a real sshd whose pam_psm uses alpha's table and socket.  psm-alice's login
# makes a session of alpha: beta lists it only with `sessions --fleet` (HOST alpha), never
# puts it in its table; `psmctl session kill ID` on beta (while alpha is paused, so what
# happens then is beta's doing) signals nothing and writes the session_end to Redis; once
# alpha runs again it ends its own session: the sshd session process and the login's
# command are gone and the ssh client exits.
# shellcheck disable=SC2317,SC2016 # functions are called through ns_main; $VARS for the login
set -u
# shellcheck source=../lib/fleet.sh
. "$(dirname "$0")/../lib/fleet.sh"
# shellcheck source=../lib/sshd.sh
. "$(dirname "$0")/../lib/sshd.sh"

STATE_KEY='psm:{fleet}:state'

write_policy() {
	cat >"$T/policy.json" <<-'EOF'
	// fleet_sessions end-to-end policy: ssh logins for alice.
	{
	  "roles": { "ssh": ["login:ssh"] },
	  "bindings": [ { "user": "psm-alice", "roles": ["ssh"] } ],
	  "services": { "sshd": "login:ssh" },
	  "session_ttl": "1h"
	}
	EOF
}

# set_pam: sshd decides from alpha's table and registers its sessions on alpha's socket.
set_pam() {
	grep -q '^@include common-account' /etc/pam.d/sshd || return 1
	grep -q '^session[[:space:]]*required[[:space:]]*pam_loginuid.so' /etc/pam.d/sshd || return 1
	sed -i "\|^@include common-account|a account required $BUILD/pam_psm.so shm=${HOST_SHM[alpha]}" \
		/etc/pam.d/sshd
	sed -i "\|^session[[:space:]]*required[[:space:]]*pam_loginuid.so|a session optional $BUILD/pam_psm.so socket=$T/host/alpha/psmd.sock" \
		/etc/pam.d/sshd
}

# The login's output: PSM_SESSION_ID, then the pid of its command, then a tick every 0.2 s
# (a write to a closed connection ends it).
login() {
	: >"$T/login.out"
	ssh_argv psm-alice 'echo $PSM_SESSION_ID; echo $$; exec sh -c "while :; do echo tick; sleep 0.2; done"'
	"${SSH_ARGV[@]}" </dev/null >>"$T/login.out" 2>"$T/login.err" &
	CLIENT=$!
	ns_track "$CLIENT"
	wait_until 15 eval '[ "$(grep -c tick "$T/login.out")" -ge 1 ]' || return 1
	ID=$(sed -n 1p "$T/login.out") CMD_PID=$(sed -n 2p "$T/login.out")
	[ -n "$ID" ] && [ -n "$CMD_PID" ]
}

alive() {
	kill -0 "$1" 2>/dev/null
}

dead() {
	! kill -0 "$1" 2>/dev/null
}

# listed HOST [--fleet]: HOST's psmctl sessions lists the login's session (the line).
listed() {
	hctl "$1" sessions ${2:+"$2"} 2>/dev/null | grep -F -- "$ID"
}

# fleet_row_names_alpha: beta's sessions --fleet has the session on a line naming host alpha.
fleet_row_names_alpha() {
	listed beta --fleet | grep -qw alpha
}

# ended_in_redis: the state hash holds the session's tombstone ("<version> 1 ...").
ended_in_redis() {
	redis_cli r --raw HGET "$STATE_KEY" "s:$ID" 2>/dev/null | head -n 1 | grep -qE '^[0-9]+ 1 '
}

in_table() {
	"$PSM_QUERY" --shm "${HOST_SHM[$1]}" sessions psm-alice 2>/dev/null | grep -qF -- "$ID"
}

part_listing() {
	check "alpha lists the session" eval 'listed alpha >/dev/null'
	check "the session is in alpha's table" in_table alpha
	check "beta learns the session (sessions --fleet lists it)" wait_until 10 eval 'listed beta --fleet >/dev/null'
	check "beta's sessions --fleet: HOST alpha on its line" fleet_row_names_alpha
	check "beta's sessions (no --fleet) does not list it" eval '! listed beta >/dev/null'
	check "the session is not in beta's table" eval '! in_table beta'
}

part_remote_kill() {
	LEADER=$(hctl alpha --json session show "$ID" | grep -oE '"pid": *[0-9]+' | grep -oE '[0-9]+$')
	check "the session's leader is a live process (${LEADER:-none})" alive "${LEADER:-0}" || return 1
	kill -STOP "${HOST_PID[alpha]}"
	expect_rc "psmctl session kill ID on beta: exit 0" 0 hctl beta session kill "$ID"
	expect_grep "beta says the session is alpha's" "alpha" -
	check "beta wrote the session_end to Redis" wait_until 10 ended_in_redis
	check "beta signalled nothing: the leader lives" alive "$LEADER"
	check "beta signalled nothing: the login's command lives" alive "$CMD_PID"
	check "beta signalled nothing: the ssh client still runs" alive "$CLIENT"
	kill -CONT "${HOST_PID[alpha]}"
	check "alpha ends its session: the leader is gone" wait_until 20 dead "$LEADER"
	check "alpha ends its session: the login's command is gone" wait_until 20 dead "$CMD_PID"
	check "alpha ends its session: the ssh client exits" wait_until 20 dead "$CLIENT"
	ns_untrack "$CLIENT"
	check "alpha no longer lists the session" wait_until 10 eval '! listed alpha >/dev/null'
	check "beta's sessions --fleet no longer lists it" wait_until 10 eval '! listed beta --fleet >/dev/null'
	check "the session left alpha's table" wait_until 10 eval '! in_table alpha'
}

# sess_cleanup: the hosts and redis (fleet.sh; $T is the outer script's to remove), then ns.sh's exit.
sess_cleanup() {
	SHM=/psm-e2e-none PIDS="" PSMD_PID="" KEEP=1 fleet_cleanup
	ns_inner_exit
}

scenario() {
	trap sess_cleanup EXIT
	CTL=$BUILD/psmctl QUERY=$PSM_QUERY TABLEINFO=$BUILD/tools/tableinfo FLEET_TAG=sess
	mkdir -p "$T/redis" "$T/host"
	write_policy
	check "redis-server starts" redis_start r || return
	check "host alpha starts" host_start alpha || return
	check "host beta starts" host_start beta || return
	check "ssh host and user keys" setup_keys || return
	check "pam_psm account and session lines in pam.d/sshd" set_pam || return
	check "sshd listens on a free port of 127.0.0.1" start_sshd || return
	if ! check "psm-alice logs in; the login prints its session id" login; then
		sed 's/^/#   /' "$T/login.err" "$T/sshd.log" | tail -n 10
		return 1
	fi
	part_listing
	part_remote_kill
}

ns_main scenario ssh ssh-keygen ss redis-server redis-cli /usr/sbin/sshd
