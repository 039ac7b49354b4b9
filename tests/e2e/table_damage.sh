#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tests/e2e/table_damage.sh - psmd watches its own live table: truncated, chmod'ed or removed,
# it republishes it from state (no SIGBUS), logs and counts it, and says degraded until then.
# Real psmd, socket, sudo and unprivileged users, in a private mount namespace (tests/lib/ns.sh).
# shellcheck disable=SC2317,SC2119 # functions are called through ns_main
set -u
# shellcheck source=../lib/ns.sh
. "$(dirname "$0")/../lib/ns.sh"

SUDO_UNAVAIL='^sudo: PAM account management error: Authentication service cannot retrieve authentication info$'

write_policy() {
	write_sudo_policy "table damage"
}

alive() {
	kill -0 "$PSMD_PID" 2>/dev/null
}

# republished OFFSET WHY: a log line after byte OFFSET says the table was damaged (WHY) and
# republished.
republished() {
	log_has_after "$T/psmd.log" "$1" "table $PSM_SHM damaged \\($2\\): republished, generation"
}

healthy() {
	ctl health >/dev/null 2>&1
}

degraded() {
	ctl health >"$T/health.out" 2>&1
	[ $? -eq 1 ]
}

table_ok() {
	[ -f "$(table)" ] && [ "$(stat -c '%a %s' "$(table)")" = "640 $SIZE" ]
}

part_truncate() {
	local off
	expect_rc "grant psm-bob sudo:run" 0 ctl grant psm-bob sudo:run --ttl 1h --reason e2e
	expect_rc "psm-bob may sudo through the grant" 0 run_sudo psm-bob
	SIZE=$(stat -c %s "$(table)")
	off=$(file_size "$T/psmd.log")
	truncate -s 0 "$(table)"
	expect_rc "truncated table: grant psm-erin sudo:run is acknowledged" 0 \
		ctl grant psm-erin sudo:run --ttl 1h --reason e2e
	check "truncated table: psmd is alive (no SIGBUS)" alive || return 1
	check "truncated table: log says damaged (size 0) and republished" \
		wait_for 10 republished "$off" "size 0, expected $SIZE"
	check "truncated table: a full-size table, mode 0640, is back" table_ok
	expect_rc "after the truncate: psm-erin (granted meanwhile) may sudo" 0 run_sudo psm-erin
	expect_rc "after the truncate: psm-bob still may sudo" 0 run_sudo psm-bob
}

part_chmod() {
	local off
	off=$(file_size "$T/psmd.log")
	kill -STOP "$PSMD_PID"
	chmod 0666 "$(table)"
	expect_rc "world-writable table: psm-alice's sudo fails closed" 1 run_sudo psm-alice
	expect_grep "world-writable table: sudo says the table is unavailable" "$SUDO_UNAVAIL" -
	kill -CONT "$PSMD_PID"
	check "world-writable table: log says damaged (mode 0666) and republished" \
		wait_for 10 republished "$off" "mode 0666"
	check "world-writable table: mode 0640 again" table_ok
	expect_rc "after the chmod: psm-alice may sudo" 0 run_sudo psm-alice
}

part_blocked() {
	kill -STOP "$PSMD_PID"
	rm -f "$(table)"
	as_user psm-bob mkdir -m 777 "$(table)"
	kill -CONT "$PSMD_PID"
	check "removed, a directory in its place: psmctl health says degraded (exit 1)" \
		wait_for 10 degraded
	expect_grep "health names the damage and why it is not republished" \
		"table_file +FAIL +damaged \\(removed, replaced by a directory\\); not republished: .* is a directory" "$T/health.out"
	expect_rc "removed, not yet republished: psm-alice's sudo fails closed" 1 run_sudo psm-alice
	expect_rc "grants are still acknowledged (durable in state)" 0 \
		ctl grant psm-carol sudo:run --ttl 1h --reason e2e
	rmdir "$(table)"
	check "directory gone: psmctl health says healthy again" wait_for 10 healthy
	check "directory gone: the table is back" table_ok
	expect_rc "after recovery: psm-carol (granted while degraded) may sudo" 0 run_sudo psm-carol
}

part_rm() {
	local off
	off=$(file_size "$T/psmd.log")
	rm -f "$(table)"
	check "removed table: log says damaged (removed) and republished" \
		wait_for 10 republished "$off" "removed"
	check "removed table: back" table_ok
	expect_rc "after the rm: psm-alice may sudo" 0 run_sudo psm-alice
	expect_rc "after the rm: psm-bob still may sudo (his grant)" 0 run_sudo psm-bob
}

part_metrics() {
	expect_rc "psmctl metrics" 0 ctl metrics
	expect_grep "metrics: psm_table_republished_total 4 (truncate, chmod, rm + dir, rm)" \
		'^psm_table_republished_total 4$' -
	expect_rc "psmctl health: healthy at the end" 0 ctl health
	expect_grep "health: table_file ok, republished 4 times" \
		'table_file +ok +.*republished 4 times' -
}

scenario() {
	cp /etc/pam.d/sudo "$T/pam-sudo.orig"
	pam_psm_line >>/etc/pam.d/sudo
	write_policy
	check "psmd starts and publishes the table" start_psmd || return
	wait_for 10 test -f "$(table)"
	part_truncate || return
	part_chmod
	part_blocked
	part_rm
	part_metrics
	check "psmd is still the same process" alive
}

ns_main scenario truncate
