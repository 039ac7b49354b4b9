#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tests/e2e/squat.sh - a FIFO, socket, directory or device node at the table's name: real sudo
# and psm-query fail closed at once (break-glass still works), psmd replaces or refuses it.
# Runs as root in a private mount namespace (tests/lib/ns.sh); BUILD=dir (default build).
# shellcheck disable=SC2317,SC2119 # functions are called through ns_main
set -u
# shellcheck source=../lib/ns.sh
. "$(dirname "$0")/../lib/ns.sh"

SUDO_UNAVAIL='^sudo: PAM account management error: Authentication service cannot retrieve authentication info$'
# A hung open(2) is killed after this long (sudo ignores SIGTERM: KILL).
HANG=10

write_policy() {
	cat >"$T/policy.json" <<-'EOF'
	// squat end-to-end policy: alice may sudo.
	{
	  "roles": { "admin": ["sudo:*"] },
	  "bindings": [ { "user": "psm-alice", "roles": ["admin"] } ],
	  "services": { "sudo": "sudo:run" }
	}
	EOF
}

set_pam_sudo() {
	cp "$T/pam-sudo.orig" /etc/pam.d/sudo
	pam_psm_line "$@" >>/etc/pam.d/sudo
}

# squat KIND: puts a KIND at the table's name, made by psm-bob where a user can (not a device).
squat() {
	local path=/dev/shm$PSM_SHM
	case $1 in
	fifo) as_user psm-bob mkfifo -m 666 "$path" ;;
	socket)
		as_user psm-bob /usr/bin/python3 -c 'import socket, sys
socket.socket(socket.AF_UNIX, socket.SOCK_STREAM).bind(sys.argv[1])' "$path" ;;
	directory) as_user psm-bob mkdir -m 777 "$path" ;;
	device) mknod -m 666 "$path" c 1 3 ;;
	esac
}

unsquat() {
	rm -rf "/dev/shm$PSM_SHM"
}

# no_hang NAME WANT_RC USER CMD...: CMD run as USER (real uid, gid and groups) ends by
# itself within $HANG s with WANT_RC.
no_hang() {
	local name=$1 want=$2 uid
	uid=$(user_uid "$3")
	shift 3
	run_capture timeout -s KILL "$HANG" \
		setpriv --reuid="$uid" --regid="$NS_ALL_GID" --init-groups "$@" </dev/null
	if [ "$LAST_RC" -eq "$want" ]; then
		pass "$name"
	elif [ "$LAST_RC" -eq 137 ] || [ "$LAST_RC" -eq 124 ]; then
		fail "$name" "\$ $*" "hung: killed after $HANG s"
	else
		fail "$name" "\$ $*" "expected exit $want, got $LAST_RC" "stderr: $LAST_ERR"
	fi
}

readers_fail_closed() {
	local kind=$1
	set_pam_sudo
	no_hang "$kind at the name: sudo fails closed, no hang" 1 psm-alice sudo -n true
	expect_grep "$kind at the name: sudo says the table is unavailable" "$SUDO_UNAVAIL" -
	set_pam_sudo break_glass=psm-alice
	no_hang "$kind at the name: break_glass=psm-alice may sudo" 0 psm-alice sudo -n true
	set_pam_sudo
	no_hang "$kind at the name: psm-query check exits 3 (unavailable), no hang" 3 \
		psm-alice "$PSM_QUERY" --shm "$PSM_SHM" check psm-alice sudo:run
	expect_grep "$kind at the name: psm-query says why" 'not a regular file' -
}

psmd_replaces() {
	local kind=$1
	squat "$kind"
	check "psmd starts over a $kind at the name" start_psmd || return
	check "psmd replaced the $kind by a regular table" wait_for 10 test -f "/dev/shm$PSM_SHM"
	expect_rc "psmd over a $kind: psm-alice may sudo" 0 run_sudo psm-alice
	stop_psmd
	unsquat
}

psmd_refuses_directory() {
	squat directory
	write_psmd_conf
	run_capture timeout -s KILL "$HANG" "$PSMD" -c "$T/psmd.conf" -d </dev/null
	check "psmd refuses a directory at the name (exit 3, got $LAST_RC)" test "$LAST_RC" -eq 3
	expect_grep "psmd names the directory and says to remove it" \
		"/dev/shm$PSM_SHM is a directory, not a psm table" -
	unsquat
}

scenario() {
	local kind
	cp /etc/pam.d/sudo "$T/pam-sudo.orig"
	write_policy
	for kind in fifo socket directory device; do
		squat "$kind"
		readers_fail_closed "$kind"
		unsquat
	done
	for kind in fifo socket device; do
		psmd_replaces "$kind"
	done
	psmd_refuses_directory
}

ns_main scenario python3 mknod timeout
