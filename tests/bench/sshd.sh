#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tests/bench/sshd.sh - SPEC §12 ssh figure: real ssh key logins with and without pam_psm.
#
# Method.  Runs in a private mount namespace (tests/lib/ns.sh: copies of
# /etc/passwd, group, shadow and pam.d with test users; private /run and
# /dev/shm) with a private sshd on 127.0.0.1 (tests/lib/sshd.sh: key logins
# only).  bench_mktable -H builds the table from $BENCH_POLICY (which maps
# the sshd service to login:ssh, granted to psm-alice) and keeps its
# heartbeat fresh.  Then, in $BENCH_REPEATS rounds of $BENCH_SSHD_RUNS
# logins per side, `ssh psm-alice@127.0.0.1 true` (bench_exec: fork, exec,
# wait; one untimed warm-up per side) with pam.d/sshd taking turns run by
# run between the distribution's file -> S sshd.plain.p50/p99 and the same
# file with `account required pam_psm.so shm=...` right after `@include
# common-account` -> S sshd.psm.p50/p99, and the round's ratio psm/plain of
# the two medians -> S sshd.ratio.  sshd reads pam.d/sshd afresh for every
# connection.  Last, psm-bob (no grant) must be refused with the pam_psm
# file, which proves pam_psm was deciding.
# Called by tests/bench/run.sh with BUILD, BENCH_POLICY, BENCH_REPEATS and BENCH_SSHD_RUNS.
# shellcheck disable=SC2317,SC2119 # functions are called through ns_main
set -u
# shellcheck source=../lib/ns.sh
. "$(dirname "$0")/../lib/ns.sh"
# shellcheck source=../lib/sshd.sh
. "$(dirname "$0")/../lib/sshd.sh"
# shellcheck source=ns_bench.sh
. "$(dirname "$0")/ns_bench.sh"

sshd_write_stacks() {
	local line
	line=$(pam_psm_line)
	cp /etc/pam.d/sshd "$T/pam-sshd.plain" ||
		ns_bench_fail "no /etc/pam.d/sshd to copy" || return
	grep -q '^@include common-account' "$T/pam-sshd.plain" ||
		ns_bench_fail "pam.d/sshd has no '@include common-account' line" || return
	sed "\|^@include common-account|a $line" "$T/pam-sshd.plain" >"$T/pam-sshd.psm"
}

bench_sshd() {
	local status=0
	sshd_write_stacks || return
	ns_bench_table "$PSM_SHM" "$BENCH_POLICY" main || return
	setup_keys && start_sshd || { cat "$T/sshd.log" >&2; ns_bench_fail "sshd did not start"; } ||
		return
	ssh_argv psm-alice true
	"$BUILD/bench/bench_exec" -k sshd.plain -r "${BENCH_REPEATS:-5}" -n "${BENCH_SSHD_RUNS:-20}" \
		-f /etc/pam.d/sshd -a "$T/pam-sshd.plain" -b "$T/pam-sshd.psm" -K sshd.psm \
		-- "${SSH_ARGV[@]}" | sed 's/^S sshd.psm.ratio /S sshd.ratio /'
	[ "${PIPESTATUS[0]}" -eq 0 ] ||
		ns_bench_fail "ssh psm-alice@127.0.0.1 true (bench_exec's message above)" || return
	cp "$T/pam-sshd.psm" /etc/pam.d/sshd
	ssh_run psm-bob true 2>/dev/null || status=$?
	[ "$status" -eq 255 ] ||
		ns_bench_fail "psm-bob (no grant) was not refused with pam_psm in pam.d/sshd ($status)"
}

ns_main bench_sshd ssh ssh-keygen ss /usr/sbin/sshd
