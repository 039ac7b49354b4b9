#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tests/e2e/tmpname.sh - psmd's temporary table names cannot be squatted: an unprivileged user
# pre-creates every name of the old predictable scheme (/dev/shm/NAME.new-PID-0..99, psmd's
# pid is public), yet psmd starts, grows its full table and republishes a damaged one.
# Real psmd, socket, sudo and unprivileged users, in a private mount namespace (tests/lib/ns.sh).
# shellcheck disable=SC2317,SC2119 # functions are called through ns_main
set -u
# shellcheck source=../lib/ns.sh
. "$(dirname "$0")/../lib/ns.sh"

CAPACITY=64
# Grants made past the capacity: the table must grow (it has a few policy records too).
GRANTS=80

write_policy() {
	write_sudo_policy "tmpname"
}

# squat_pid PID: psm-bob creates every temporary name of the old scheme for PID.
squat_pid() {
	local n names=()
	for n in $(seq 0 99); do
		names+=("$(table).new-$1-$n")
	done
	as_user psm-bob touch "${names[@]}"
}

# squatted PID: all of psm-bob's names for PID are still there, still his.
squatted() {
	local n uid
	uid=$(user_uid psm-bob)
	for n in $(seq 0 99); do
		[ "$(stat -c %u "$(table).new-$1-$n" 2>/dev/null)" = "$uid" ] || return 1
	done
}

# start_squatted: psmd started as the pid whose names psm-bob squatted just before its exec.
start_squatted() {
	(
		squat_pid "$BASHPID"
		exec "$PSMD" -c "$T/psmd.conf" -d
	) </dev/null >>"$T/psmd.log" 2>&1 &
	PSMD_PID=$!
	ns_track "$PSMD_PID"
	if ! wait_for 10 psmd_ready; then
		echo "# psmd did not publish $(table); its log:" >&2
		sed 's/^/#   /' "$T/psmd.log" >&2
		return 1
	fi
}

write_psmd_conf_cap() {
	SOCK=$T/psmd.sock psmd_conf "$T/psmd.conf" "$PSM_SHM" "\"capacity\": $CAPACITY"
}

alive() {
	kill -0 "$PSMD_PID" 2>/dev/null
}

# republished OFFSET WHY: a log line after byte OFFSET says the table was damaged (WHY) and
# republished.
republished() {
	log_has_after "$T/psmd.log" "$1" "table $PSM_SHM damaged \\($2\\): republished,"
}

table_ok() {
	[ -f "$(table)" ] && [ "$(stat -c '%a %U' "$(table)")" = "640 root" ]
}

# The startup: psmd's names squatted before it ran.
part_startup() {
	check "psmd starts although psm-bob squatted NAME.new-PID-0..99 for its pid" \
		start_squatted || return 1
	check "psm-bob's names for psmd's pid are there (the test squatted the right ones)" \
		squatted "$PSMD_PID"
	check "the table is psmd's: mode 0640, owner root" table_ok
	expect_rc "psm-alice may sudo" 0 run_sudo psm-alice
	stop_psmd
	check "psmd stops cleanly (exit 0, got $PSMD_RC)" test "$PSMD_RC" -eq 0
}

# A running psmd, its names squatted once its pid is known (the growth and republish after).
part_running() {
	check "psmd starts" start_psmd || return 1
	squat_pid "$PSMD_PID"
	check "psm-bob squatted NAME.new-PID-0..99 for the running psmd" squatted "$PSMD_PID"
}

# grant_many N: N grants to psm-bob, one pattern each; GRANT_BAD is the first that failed (0).
grant_many() {
	local i
	GRANT_BAD=0
	for i in $(seq 1 "$1"); do
		if ! ctl grant psm-bob "sudo:p$i" --ttl 1h --reason e2e >"$T/grant.out" 2>&1; then
			GRANT_BAD=$i
			return 1
		fi
	done
}

no_tmpname_error() {
	! grep -q "no free temporary name" "$T/psmd.log"
}

part_growth() {
	local off
	off=$(file_size "$T/psmd.log")
	if grant_many "$GRANTS"; then
		pass "$GRANTS grants past capacity $CAPACITY all succeed"
	else
		fail "$GRANTS grants past capacity $CAPACITY all succeed" \
			"grant $GRANT_BAD failed: $(cat "$T/grant.out")"
	fi
	check "log says the table is growing" \
		log_has_after "$T/psmd.log" "$off" "full at capacity $CAPACITY: growing it"
	expect_rc "psmctl metrics" 0 ctl metrics
	expect_grep "metrics: the table grew to capacity $((CAPACITY * 2))" \
		"^psm_table_capacity $((CAPACITY * 2))\$" -
	check "log has no 'no free temporary name'" no_tmpname_error
	expect_rc "grant psm-bob sudo:run (after the growth)" 0 \
		ctl grant psm-bob sudo:run --ttl 1h --reason e2e
	expect_rc "psm-bob may sudo through the grant in the grown table" 0 run_sudo psm-bob
	check "the grown table is psmd's: mode 0640, owner root" table_ok
}

part_republish() {
	local off
	off=$(file_size "$T/psmd.log")
	chmod g+w "$(table)"
	check "group-writable table: log says damaged (mode 0660) and republished" \
		wait_for 10 republished "$off" "mode 0660"
	check "republished table: mode 0640, owner root" table_ok
	expect_rc "after the republish: psm-alice may sudo" 0 run_sudo psm-alice
	expect_rc "after the republish: psm-bob still may sudo (his grant)" 0 run_sudo psm-bob
}

# No temporary name of psmd's is left behind; psm-bob's squatted files are untouched.
part_leftovers() {
	local left
	left=$(find /dev/shm -maxdepth 1 -name "${PSM_SHM#/}.new-*" -user root | wc -l)
	check "no temporary table of psmd's is left in /dev/shm ($left)" test "$left" -eq 0
	check "psm-bob's squatted names are untouched" squatted "$PSMD_PID"
}

scenario() {
	cp /etc/pam.d/sudo "$T/pam-sudo.orig"
	pam_psm_line >>/etc/pam.d/sudo
	write_policy
	write_psmd_conf_cap
	part_startup
	part_running || return
	part_growth
	part_republish
	part_leftovers
	check "psmd is still the same process" alive
	stop_psmd
	check "psmd stops cleanly (exit 0, got $PSMD_RC)" test "$PSMD_RC" -eq 0
}

ns_main scenario
