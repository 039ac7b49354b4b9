#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tests/e2e/sudo.sh - real sudo with pam_psm.so in its account stack, against a real psmd.
# Runs as root in a private mount namespace (tests/lib/ns.sh); BUILD=dir (default build).
# shellcheck disable=SC2317,SC2119 # functions are called through ns_main
set -u
# shellcheck source=../lib/ns.sh
. "$(dirname "$0")/../lib/ns.sh"

SUDO_DENIED='^sudo: PAM account management error: Permission denied$'
SUDO_UNAVAIL='^sudo: PAM account management error: Authentication service cannot retrieve authentication info$'

write_policy() {
	cat >"$T/policy.json" <<-'EOF'
	// sudo end-to-end policy: alice directly, psm-ops by group, dave denied.
	{
	  "roles": {
	    "admin": ["sudo:*", "login:*"],
	    "ops":   ["sudo:run"]
	  },
	  "bindings": [
	    { "user": "psm-alice", "roles": ["admin"] },
	    { "group": "psm-ops",  "roles": ["ops"] }
	  ],
	  "deny": [ { "user": "psm-dave", "perms": ["sudo:*"] } ],
	  "services": { "sudo": "sudo:run" }
	}
	EOF
}

# set_pam_sudo [ARGS...]: pam.d/sudo = the distribution's file + the pam_psm account line.
set_pam_sudo() {
	cp "$T/pam-sudo.orig" /etc/pam.d/sudo
	pam_psm_line "$@" >>/etc/pam.d/sudo
}

# expect_sudo NAME USER allow|deny|unavail
expect_sudo() {
	local name=$1 user=$2 want=$3
	case $want in
	allow) expect_rc "$name" 0 run_sudo "$user" ;;
	deny)
		expect_rc "$name" 1 run_sudo "$user"
		expect_grep "$name: sudo says Permission denied" "$SUDO_DENIED" - ;;
	unavail)
		expect_rc "$name" 1 run_sudo "$user"
		expect_grep "$name: sudo says the service is unavailable" "$SUDO_UNAVAIL" - ;;
	esac
}

decisions_from_table() {
	expect_sudo "direct user binding: psm-alice may sudo" psm-alice allow
	expect_sudo "no grant: psm-bob may not sudo" psm-bob deny
	expect_sudo "group binding on psm-ops: psm-carol may sudo" psm-carol allow
	expect_sudo "deny rule beats the group grant: psm-dave may not sudo" psm-dave deny
	expect_sudo "user unknown to the policy: psm-erin may not sudo" psm-erin deny
	expect_rc "psm-query agrees: psm-dave is denied" 1 \
		"$PSM_QUERY" --shm "$PSM_SHM" check psm-dave sudo:run --explain
	expect_grep "psm-query: the deny rule decided, not a missing grant" 'deny rule 1' -
}

scenario() {
	cp /etc/pam.d/sudo "$T/pam-sudo.orig"
	write_policy
	set_pam_sudo
	check "psmd starts and publishes the table" start_psmd || return
	decisions_from_table

	stop_psmd
	check "SIGTERM stops psmd cleanly (exit 0)" test "$PSMD_RC" = 0
	check "the table stays after psmd stops" test -e "/dev/shm$PSM_SHM"
	expect_sudo "psmd stopped: psm-alice still may sudo" psm-alice allow
	expect_sudo "psmd stopped: psm-bob still may not" psm-bob deny

	rm -f "/dev/shm$PSM_SHM"
	expect_sudo "table removed: psm-alice is denied (fail closed)" psm-alice unavail
	set_pam_sudo break_glass=psm-bob,root
	expect_sudo "table removed, break_glass=psm-bob: psm-bob may sudo" psm-bob allow
	expect_sudo "table removed, break_glass=psm-bob: psm-alice still denied" psm-alice unavail
	set_pam_sudo
	expect_sudo "table removed, no break_glass: psm-bob denied again" psm-bob unavail

	check "psmd restarts and republishes the table" start_psmd || return
	expect_sudo "after restart: psm-alice may sudo" psm-alice allow
	expect_sudo "after restart: psm-bob may not" psm-bob deny
}

ns_main scenario
