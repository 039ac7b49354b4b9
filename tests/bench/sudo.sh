#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tests/bench/sudo.sh - SPEC §12 sudo figure: real `sudo -n true` with and without pam_psm.
#
# Method.  Runs in a private mount namespace (tests/lib/ns.sh: copies of
# /etc/passwd, group, shadow, pam.d and a NOPASSWD sudoers with test users;
# private /run and /dev/shm).  bench_mktable -H builds the table from
# $BENCH_POLICY (psmd's compile path) and keeps its heartbeat fresh.  Then,
# in $BENCH_REPEATS rounds of $BENCH_SUDO_RUNS runs per side, `sudo -n true`
# as psm-alice (bench_exec: fork, setresuid, exec, wait; one untimed warm-up
# per side) with the two pam.d/sudo files taking turns run by run (bench_exec
# paired mode rewrites the file, untimed, before each run): the
# distribution's file + `account required pam_succeed_if.so uid >= 0` (a
# stock module the stack had not loaded, which asks NSS for the user: the
# SPEC §12 peer) -> S sudo.succeed_if_stack.p50/p99; the distribution's file
# + `account required pam_psm.so shm=...` -> S sudo.psm.p50/p99; and the
# round's ratio psm/succeed_if of the two medians -> S sudo.ratio (turns run
# by run cancel the machine's drift, which moves sudo's 10 ms by more than
# the 1% asked).  Then the peers, the same way.  Against the distribution's
# file: the pam_psm file -> S sudo.stock.ratio; + `account required
# pam_permit.so` -> S sudo.permit.ratio (a module the stack has already
# loaded: what one more line costs, and the noise floor); the
# pam_succeed_if file -> S sudo.succeed_if.ratio (what loading any new
# module costs).  Against the pam_psm file: pam_psm reading a table from
# $BENCH_POLICY_OWN, the same policy without its %nogroup deny, where
# psm-alice's own grant decides and no group lookup is made -> S
# sudo.own.ratio; that file against the pam_succeed_if one -> S
# sudo.own_succeed_if.ratio; and, with the pam_psm file in place, /etc/nsswitch.conf
# (a bound copy) taking turns between the host's and one whose
# passwd/group/shadow lines say `files` -> S sudo.files.ratio (what the NSS
# sources cost: `group: files systemd` walks systemd's userdb directories
# in every getgrouplist).  Last,
# psm-bob (no grant) must be refused with the pam_psm stack, which proves
# pam_psm was the module deciding.
# Called by tests/bench/run.sh with BUILD, BENCH_POLICY, BENCH_POLICY_OWN, BENCH_REPEATS,
# BENCH_SUDO_RUNS and BENCH_NSSWITCH_FILES (the files-only nsswitch.conf).
# shellcheck disable=SC2317,SC2119 # functions are called through ns_main
set -u
# shellcheck source=../lib/ns.sh
. "$(dirname "$0")/../lib/ns.sh"
# shellcheck source=ns_bench.sh
. "$(dirname "$0")/ns_bench.sh"

# sudo_bench_exec KEY STATUS USER REPEATS [PAIRED...]: bench_exec of `sudo -n true` as USER.
sudo_bench_exec() {
	"$BUILD/bench/bench_exec" -k "$1" -e "$2" -r "$4" -n "${BENCH_SUDO_RUNS:-20}" \
		-u "$(user_uid "$3")" -g "$NS_ALL_GID" "${@:5}" -- sudo -n true
}

# sudo_pair KEY FILE A B WHAT: `sudo -n true` as psm-alice, FILE taking turns between the
# contents of A and B run by run; prints only S sudo.KEY.ratio (B's median / A's).
sudo_pair() {
	sudo_bench_exec "sudo.$1.a" 0 psm-alice "${BENCH_REPEATS:-5}" -f "$2" -a "$3" -b "$4" \
		-K "sudo.$1" | grep ratio
	[ "${PIPESTATUS[0]}" -eq 0 ] || ns_bench_fail "sudo -n true as psm-alice, $5"
}

sudo_write_stacks() {
	cp /etc/pam.d/sudo "$T/pam-sudo.plain" || ns_bench_fail "no /etc/pam.d/sudo to copy" || return
	{ cat "$T/pam-sudo.plain"; pam_psm_line; } >"$T/pam-sudo.psm"
	{ cat "$T/pam-sudo.plain"; echo "account required pam_permit.so"; } >"$T/pam-sudo.permit"
	{ cat "$T/pam-sudo.plain"; echo "account required pam_succeed_if.so uid >= 0"; } \
		>"$T/pam-sudo.succeed_if"
	{ cat "$T/pam-sudo.plain"; echo "account required $BUILD/pam_psm.so shm=$PSM_SHM-own"; } \
		>"$T/pam-sudo.own"
}

# pam_psm in pam.d/sudo, nsswitch.conf taking turns between the host's and a files-only one.
# A copy is bound over /etc/nsswitch.conf first: the runs rewrite the copy, never the host's.
sudo_nss_pair() {
	local rc
	cp /etc/nsswitch.conf "$T/nsswitch.host" && cp /etc/nsswitch.conf "$T/nsswitch.live" &&
		mount --bind "$T/nsswitch.live" /etc/nsswitch.conf ||
		ns_bench_fail "cannot bind a copy of nsswitch.conf in the namespace" || return
	sudo_pair files /etc/nsswitch.conf "$T/nsswitch.host" "$BENCH_NSSWITCH_FILES" \
		"pam_psm with NSS files only"
	rc=$?
	umount /etc/nsswitch.conf
	return "$rc"
}

bench_sudo() {
	sudo_write_stacks || return
	ns_bench_table "$PSM_SHM" "$BENCH_POLICY" main || return
	ns_bench_table "$PSM_SHM-own" "$BENCH_POLICY_OWN" own || return
	sudo_bench_exec sudo.succeed_if_stack 0 psm-alice "${BENCH_REPEATS:-5}" -f /etc/pam.d/sudo \
		-a "$T/pam-sudo.succeed_if" -b "$T/pam-sudo.psm" -K sudo.psm |
		sed 's/^S sudo.psm.ratio /S sudo.ratio /'
	[ "${PIPESTATUS[0]}" -eq 0 ] ||
		ns_bench_fail "sudo -n true as psm-alice (bench_exec's message above)" || return
	sudo_pair stock /etc/pam.d/sudo "$T/pam-sudo.plain" "$T/pam-sudo.psm" \
		"with pam_psm added to the stock file" || return
	sudo_pair permit /etc/pam.d/sudo "$T/pam-sudo.plain" "$T/pam-sudo.permit" \
		"with pam_permit added" || return
	sudo_pair succeed_if /etc/pam.d/sudo "$T/pam-sudo.plain" "$T/pam-sudo.succeed_if" \
		"with pam_succeed_if added" || return
	sudo_pair own /etc/pam.d/sudo "$T/pam-sudo.psm" "$T/pam-sudo.own" \
		"pam_psm with a policy without the group deny" || return
	sudo_pair own_succeed_if /etc/pam.d/sudo "$T/pam-sudo.succeed_if" "$T/pam-sudo.own" \
		"pam_psm without the group deny against pam_succeed_if" || return
	cp "$T/pam-sudo.psm" /etc/pam.d/sudo
	sudo_nss_pair || return
	BENCH_SUDO_RUNS=1 sudo_bench_exec sudo.denied 1 psm-bob 1 >/dev/null ||
		ns_bench_fail "psm-bob (no grant) was not refused with pam_psm in pam.d/sudo"
}

ns_main bench_sudo
