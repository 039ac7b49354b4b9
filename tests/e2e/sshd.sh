#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tests/e2e/sshd.sh - real sshd public-key logins decided by pam_psm.so and a real psmd.
# Runs as root in a private mount namespace (tests/lib/ns.sh); BUILD=dir (default build).
# shellcheck disable=SC2317,SC2119 # functions are called through ns_main
set -u
# shellcheck source=../lib/ns.sh
. "$(dirname "$0")/../lib/ns.sh"
# shellcheck source=../lib/sshd.sh
. "$(dirname "$0")/../lib/sshd.sh"

write_policy() {
	cat >"$T/policy.json" <<-'EOF'
	// sshd end-to-end policy: 'from' conditions against PAM_RHOST 127.0.0.1.
	{
	  "roles": { "ssh": ["login:ssh"] },
	  "bindings": [
	    { "user": "psm-alice", "roles": ["ssh"] },
	    { "user": "psm-carol", "roles": ["ssh"], "from": ["LOCAL"] },
	    { "user": "psm-dave",  "roles": ["ssh"], "from": ["127.0.0.0/8"] },
	    { "user": "psm-erin",  "roles": ["ssh"], "from": ["10.0.0.0/8"] }
	  ],
	  "services": { "sshd": "login:ssh" }
	}
	EOF
}

# pam.d/sshd: the distribution's file with the pam_psm line right after common-account.
set_pam_sshd() {
	local line
	line=$(pam_psm_line)
	grep -q '^@include common-account' /etc/pam.d/sshd || return 1
	sed -i "\|^@include common-account|a $line" /etc/pam.d/sshd
}

# expect_login NAME USER allow|deny
expect_login() {
	local name=$1 user=$2 want=$3
	if [ "$want" = allow ]; then
		expect_rc "$name" 0 ssh_login "$user"
		return
	fi
	expect_rc "$name" 255 ssh_login "$user"
	wait_for 5 log_has_after "$T/sshd.log" 0 \
		"Access denied for user $user by PAM account configuration"
	expect_grep "$name: sshd logs the PAM account denial" \
		"Access denied for user $user by PAM account configuration" "$T/sshd.log"
}

scenario() {
	write_policy
	check "ssh host and user keys" setup_keys || return
	check "pam_psm account line added to pam.d/sshd" set_pam_sshd || return
	start_psmd_and_sshd || return
	expect_login "granted user: psm-alice logs in" psm-alice allow
	expect_login "no grant: psm-bob is refused" psm-bob deny
	expect_login "from LOCAL: psm-carol logs in from 127.0.0.1" psm-carol allow
	expect_login "from 127.0.0.0/8: psm-dave logs in from 127.0.0.1" psm-dave allow
	expect_login "from 10.0.0.0/8: psm-erin is refused from 127.0.0.1" psm-erin deny
}

ns_main scenario ssh ssh-keygen ss /usr/sbin/sshd
