#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tests/e2e/sessions.sh - login sessions end to end: real sshd key logins registered by pam_psm's
# session stack with a real psmd; list, show, extend, kill, logout, session-bound sudo grants,
# session_expiry "kill", and psmd down with "session optional" / "session required".
# Runs as root in a private mount namespace (tests/lib/ns.sh); BUILD=dir (default build).
# TAP lines "ok - NAME" / "not ok - NAME" (and "ok - NAME # SKIP why").
# shellcheck disable=SC2317,SC2119,SC2016 # functions are called through ns_main; $VARS for the login
set -u
# shellcheck source=../lib/ns.sh
. "$(dirname "$0")/../lib/ns.sh"
# shellcheck source=../lib/sshd.sh
. "$(dirname "$0")/../lib/sshd.sh"

AUDIT_NONE=4294967295

write_policy() {
	cat >"$T/policy.json" <<-'EOF'
	// sessions end-to-end policy: ssh logins for alice and bob; sudo only through grants.
	{
	  "roles": { "ssh": ["login:ssh"] },
	  "bindings": [
	    { "user": "psm-alice", "roles": ["ssh"] },
	    { "user": "psm-bob", "roles": ["ssh"] }
	  ],
	  "services": { "sshd": "login:ssh", "sudo": "sudo:run" },
	  "session_ttl": "1h"
	}
	EOF
}

# psmd.conf of ns.sh plus session_expiry "kill".
write_conf() {
	write_psmd_conf
	sed -i 's|^{$|{ "session_expiry": "kill",|' "$T/psmd.conf"
	grep -q '"session_expiry": "kill"' "$T/psmd.conf"
}

# set_session_line ARGS: pam.d/sshd's pam_psm session line (right after pam_loginuid,
# which gives the login its kernel audit session id) becomes "ARGS".
set_session_line() {
	sed -i '/pam_psm.so socket=/d' /etc/pam.d/sshd
	sed -i "\|^session[[:space:]]*required[[:space:]]*pam_loginuid.so|a $*" /etc/pam.d/sshd
	grep -q "pam_psm.so socket=" /etc/pam.d/sshd
}

# set_pam: account lines for sshd and sudo, the session line for sshd.
set_pam() {
	grep -q '^@include common-account' /etc/pam.d/sshd || return 1
	grep -q '^session[[:space:]]*required[[:space:]]*pam_loginuid.so' /etc/pam.d/sshd || return 1
	sed -i "\|^@include common-account|a $(pam_psm_line)" /etc/pam.d/sshd
	pam_psm_line >>/etc/pam.d/sudo
	set_session_line "session optional $BUILD/pam_psm.so socket=$T/psmd.sock"
}

ctl_quiet() {
	ctl "$@" >/dev/null 2>&1
}

# ---- sessions running in the background --------------------------------------------------

# bg_login NAME USER CMD: a login running CMD in the background, its output in $T/NAME.out;
# sets BG_PID (the ssh client).
bg_login() {
	: >"$T/$1.out"
	: >"$T/$1.err"
	ssh_run "$2" "$3" >>"$T/$1.out" 2>>"$T/$1.err" &
	BG_PID=$!
	ns_track "$BG_PID"
}

# The first line a login printed: its PSM_SESSION_ID.
login_id() {
	sed -n '1p' "$T/$1.out"
}

# has_lines NAME N: the login NAME has printed N lines or more (never 2: wait_for polls on).
has_lines() {
	local n
	n=$(wc -l <"$T/$1.out" 2>/dev/null) || n=0
	[ "$n" -ge "$2" ]
}

# session_login NAME USER [CMD]: a background login that prints PSM_SESSION_ID and its kernel
# audit session id, then runs CMD (default: sleep 60); waits for the two lines and sets ID.
session_login() {
	local cmd=${3:-sleep 60}
	ID=
	bg_login "$1" "$2" "echo \$PSM_SESSION_ID; cat /proc/self/sessionid; echo; $cmd"
	if ! wait_for 15 has_lines "$1" 2; then
		fail "$1: the login printed its session id" "output: $(cat "$T/$1.out")" \
			"stderr: $(cat "$T/$1.err")" "sshd log: $(tail -n 8 "$T/sshd.log")"
		return 1
	fi
	ID=$(login_id "$1")
	[ -n "$ID" ] || { fail "$1: PSM_SESSION_ID is set in the login" \
		"output: $(cat "$T/$1.out")" "sshd log: $(tail -n 5 "$T/sshd.log")"; return 1; }
}

alive() {
	kill -0 "$1" 2>/dev/null || return 2
}

dead() {
	! kill -0 "$1" 2>/dev/null
}

listed() {
	ctl sessions | grep -q -- "$1"
}

not_listed() {
	ctl sessions >/dev/null && ! listed "$1"
}

# ---- the scenario's parts -----------------------------------------------------------------

part_listing() {
	session_login main psm-alice || return 1
	MAIN_ID=$ID MAIN_PID=$BG_PID
	pass "login session A: PSM_SESSION_ID=$ID in the login's environment"
	expect_rc "psmctl sessions lists it" 0 ctl sessions
	expect_grep "psmctl sessions: the login's id, user psm-alice, service sshd" \
		"^$ID +psm-alice +sshd +ssh +127\.0\.0\.1 " -
	expect_rc "psm-query sessions lists it" 0 "$PSM_QUERY" --shm "$PSM_SHM" sessions psm-alice
	expect_grep "psm-query sessions: the same id and service" "^$ID"$'\tpsm-alice\tsshd\t' -
	expect_rc "psmctl session show ID" 0 ctl session show "$ID"
	expect_grep "session show: its service" "^service: +sshd$" -
	expect_grep "session show: its leader is sshd's process for the login" \
		"^pid: +[0-9]+$" -
	expect_rc "psmctl session extend ID --ttl 1h" 0 ctl --json session extend "$ID" --ttl 2h
	check_extended "$LAST_OUT"
}

# The extended session expires in about 2 h (psmd's clock vs ours: a minute either way).
check_extended() {
	local exp now
	exp=$(printf '%s' "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["session"]["expires_unix"])')
	now=$(date +%s)
	if [ -n "$exp" ] && [ "$exp" -gt $((now + 7200 - 60)) ] && [ "$exp" -lt $((now + 7200 + 60)) ]; then
		pass "session extend: expires 2 h from now"
	else
		fail "session extend: expires 2 h from now" "reply: $1" "now: $now"
	fi
}

# part_not_yours: psm-alice's own login session is led by sshd's root process, not by one of
# hers: she may not close it through the socket (issue 11, 1).
part_not_yours() {
	local r
	r=$(as_user psm-alice /usr/bin/python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(b"{\"op\":\"session_close\",\"session_id\":\"" + sys.argv[2].encode() + b"\"}\n")
print(s.makefile().readline().strip())' "$T/psmd.sock" "$MAIN_ID")
	if printf '%s' "$r" | grep -q '"code":"not_permitted"'; then
		pass "psm-alice may not close her sshd session through the socket: not_permitted"
	else
		fail "psm-alice may not close her sshd session through the socket: not_permitted" \
			"reply: $r"
	fi
	check "the session is still listed" listed "$MAIN_ID"
	check "its login still runs" alive "$MAIN_PID"
}

# part_leader_gone: a login whose sshd session process died without closing its session;
# session kill says so and signals nothing (issue 11, 2).
part_leader_gone() {
	local leader
	session_login gone psm-bob || return 1
	leader=$(ctl --json session show "$ID" | python3 -c 'import json,sys; print(json.load(sys.stdin)["session"]["pid"])')
	check "the session's leader is a live process ($leader)" alive "$leader"
	kill -KILL "$leader"
	check "the leader is gone" wait_for 15 dead "$leader"
	check "the session outlives its leader (no close_session ran)" listed "$ID"
	expect_rc "psmctl session kill of it: exit 0" 0 ctl session kill "$ID"
	expect_text "it says the leader had exited" "session ended already (leader PID exited)" -
	check "the session is gone" wait_for 5 not_listed "$ID"
	stop_pid "$BG_PID"
	ns_untrack "$BG_PID"
}

part_kill() {
	expect_rc "psmctl session kill ID" 0 ctl session kill "$MAIN_ID"
	expect_grep "session kill: killed" "^killed$" -
	check "session kill ends the ssh connection (the client exits)" wait_for 15 dead "$MAIN_PID"
	ns_untrack "$MAIN_PID"
	check "the killed session is gone from psmctl sessions" wait_for 5 not_listed "$MAIN_ID"
}

part_logout() {
	local id
	expect_rc "a login that ends by itself (logout)" 0 ssh_run psm-bob 'echo $PSM_SESSION_ID'
	id=$LAST_OUT
	if [ -z "$id" ]; then
		fail "logout: the login had a session id"
		return 1
	fi
	check "logout removes the session (close_session)" wait_for 5 not_listed "$id"
}

# in_session NAME USER: a background login waiting for $T/go-NAME, then running sudo -n true.
sudo_login() {
	session_login "$1" "$2" \
		"while [ ! -e $T/go-$1 ]; do sleep 0.05; done; sudo -n true </dev/null; echo sudo=\$?; sleep 60"
}

sudo_result() {
	grep -q '^sudo=' "$T/$1.out"
}

part_session_grant() {
	local audit a_id a_pid b_id b_pid
	sudo_login in-a psm-alice || return 1
	a_id=$ID a_pid=$BG_PID
	audit=$(sed -n '2p' "$T/in-a.out")
	if [ "$audit" = "$AUDIT_NONE" ] || [ -z "$audit" ]; then
		echo "ok - session-bound grant # SKIP no kernel audit session ids here (sessionid $audit)"
		return 0
	fi
	sudo_login in-b psm-alice || return 1
	b_id=$ID b_pid=$BG_PID
	expect_rc "psm-alice may not sudo outside any session" 1 run_sudo psm-alice
	expect_rc "psmctl grant psm-alice sudo:run --session A" 0 \
		ctl grant psm-alice sudo:run --session "$a_id" --reason e2e
	touch "$T/go-in-a" "$T/go-in-b"
	wait_for 15 sudo_result in-a
	wait_for 15 sudo_result in-b
	expect_grep "sudo inside session A is allowed" '^sudo=0$' "$T/in-a.out"
	expect_grep "sudo inside session B (same user) is denied" '^sudo=1$' "$T/in-b.out"
	expect_rc "psm-alice still may not sudo outside the session" 1 run_sudo psm-alice
	expect_rc "psmctl session kill A" 0 ctl session kill "$a_id"
	check "kill ends session A's ssh connection" wait_for 15 dead "$a_pid"
	ns_untrack "$a_pid"
	expect_rc "psmctl grants psm-alice" 0 ctl grants psm-alice
	if printf '%s\n' "$LAST_OUT" | grep -q 'sudo:run'; then
		fail "the session-bound grant died with its session" "$LAST_OUT"
	else
		pass "the session-bound grant died with its session"
	fi
	ctl session kill "$b_id" >/dev/null
	wait_for 15 dead "$b_pid"
	ns_untrack "$b_pid"
}

part_expiry_kill() {
	local pid
	check "pam.d/sshd: session line with ttl=3s" set_session_line \
		"session optional $BUILD/pam_psm.so socket=$T/psmd.sock ttl=3s"
	session_login short psm-bob || return 1
	pid=$BG_PID
	check "a session with ttl=3s is listed" listed "$ID"
	check "session_expiry kill: the login ends when its TTL runs out" wait_for 20 dead "$pid"
	ns_untrack "$pid"
	check "the expired session is gone" wait_for 5 not_listed "$ID"
	set_session_line "session optional $BUILD/pam_psm.so socket=$T/psmd.sock"
}

part_psmd_down() {
	stop_psmd
	expect_rc "psmd stopped: login still works with session optional" 0 ssh_run psm-alice \
		'echo "id=$PSM_SESSION_ID"'
	expect_grep "no PSM_SESSION_ID without psmd" '^id=$' -
	check "pam.d/sshd: session required" set_session_line \
		"session required $BUILD/pam_psm.so socket=$T/psmd.sock"
	# OpenSSH runs no command when pam_open_session failed: the client gets exit 254.
	expect_rc "psmd stopped: login refused with session required (sshd exits 254)" 254 \
		ssh_run psm-alice 'echo command-ran'
	if printf '%s\n' "$LAST_OUT" | grep -q command-ran; then
		fail "the refused login ran no command" "$LAST_OUT"
	else
		pass "the refused login ran no command"
	fi
	wait_for 5 log_has_after "$T/sshd.log" 0 "pam_open_session\(\)"
	expect_grep "sshd logs the failed session open" "pam_open_session\(\)" "$T/sshd.log"
	check "psmd starts again" start_psmd
	check "psmd answers on its socket" wait_for 10 ctl_quiet stats
	expect_rc "psmd back: login works with session required" 0 ssh_login psm-alice
}

scenario() {
	write_policy
	check "psmd.conf with session_expiry kill" write_conf || return
	check "ssh host and user keys" setup_keys || return
	check "pam_psm account and session lines in pam.d" set_pam || return
	start_psmd_and_sshd || return
	part_listing && part_not_yours && part_kill
	part_leader_gone
	part_logout
	part_session_grant
	part_expiry_kill
	part_psmd_down
}

ns_main scenario ssh ssh-keygen ss python3 /usr/sbin/sshd
