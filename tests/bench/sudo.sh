#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tests/bench/sudo.sh - SPEC §12 sudo figure: real `sudo -n true` with and without pam_psm.
#
# Method.  Runs in a private mount namespace (tests/lib/ns.sh: copies of
# /etc/passwd, group, shadow, pam.d and a NOPASSWD sudoers with test users;
# private /run and /dev/shm).  bench_mktable -H builds the table from
# $BENCH_POLICY (psmd's compile path) and keeps its heartbeat fresh.  Then,
# in 2 x $BENCH_REPEATS rounds, side by side: pam.d/sudo = the distribution's
# file, $BENCH_SUDO_RUNS runs of `sudo -n true` as psm-alice (bench_exec:
# fork, setresuid, exec, wait; one untimed warm-up) -> S sudo.plain.p50/p99;
# then pam.d/sudo = the same file + `account required pam_psm.so shm=...`
# -> S sudo.psm.p50/p99; and the round's paired ratio psm/plain of the two
# medians -> S sudo.ratio (pairing cancels the machine's drift between
# rounds).  Last, psm-bob (no grant) must be refused with the pam_psm
# stack, which proves pam_psm was the module deciding.
# Called by tests/bench/run.sh with BUILD, BENCH_POLICY, BENCH_REPEATS, BENCH_SUDO_RUNS.
# shellcheck disable=SC2317,SC2119 # functions are called through ns_main
set -u
# shellcheck source=../lib/ns.sh
. "$(dirname "$0")/../lib/ns.sh"

# sudo_bench_exec KEY STATUS USER: bench_exec of `sudo -n true` as USER.
sudo_bench_exec() {
	"$BUILD/bench/bench_exec" -k "$1" -e "$2" -r 1 -n "${BENCH_SUDO_RUNS:-20}" \
		-u "$(user_uid "$3")" -g "$NS_ALL_GID" -- sudo -n true
}

bench_sudo() {
	local _ pid
	cp /etc/pam.d/sudo "$T/pam-sudo.plain"
	{ cat "$T/pam-sudo.plain"; pam_psm_line; } >"$T/pam-sudo.psm"
	"$BUILD/bench/bench_mktable" -H "$PSM_SHM" "$BENCH_POLICY" >"$T/mktable.out" \
		2>"$T/mktable.err" &
	pid=$!
	ns_track "$pid"
	if ! wait_for 10 grep -qs ready "$T/mktable.out"; then
		cat "$T/mktable.err" >&2
		return 1
	fi
	for _ in $(seq $((2 * ${BENCH_REPEATS:-5}))); do
		cp "$T/pam-sudo.plain" /etc/pam.d/sudo
		sudo_bench_exec sudo.plain 0 psm-alice >"$T/round" || return 1
		cp "$T/pam-sudo.psm" /etc/pam.d/sudo
		sudo_bench_exec sudo.psm 0 psm-alice >>"$T/round" || return 1
		cat "$T/round"
		awk '$2 == "sudo.plain.p50" { a = $3 } $2 == "sudo.psm.p50" { b = $3 }
			END { if (a > 0) printf "S sudo.ratio %.4f\n", b / a }' "$T/round"
	done
	BENCH_SUDO_RUNS=1 sudo_bench_exec sudo.denied 1 psm-bob >/dev/null || return 1
}

ns_main bench_sudo
