#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tests/e2e/sshd.sh - real sshd public-key logins decided by pam_psm.so and a real psmd.
# Runs as root in a private mount namespace (tests/lib/ns.sh); BUILD=dir (default build).
# shellcheck disable=SC2317,SC2119 # functions are called through ns_main
set -u
# shellcheck source=../lib/ns.sh
. "$(dirname "$0")/../lib/ns.sh"

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

# free_port: a TCP port nobody listens on, on 127.0.0.1.
free_port() {
	local p
	for _ in $(seq 50); do
		p=$((20000 + RANDOM % 40000))
		if [ -z "$(ss -Hltn "sport = :$p")" ]; then
			echo "$p"
			return 0
		fi
	done
	return 1
}

# setup_keys: host key, one user key, authorized for every test user in $T/keys/USER.
setup_keys() {
	local u
	mkdir -m 755 "$T/keys"
	ssh-keygen -q -t ed25519 -N '' -f "$T/host_ed25519" || return 1
	ssh-keygen -q -t ed25519 -N '' -f "$T/user_ed25519" || return 1
	for u in $NS_USERS; do
		install -m 644 "$T/user_ed25519.pub" "$T/keys/${u%%:*}"
	done
}

write_sshd_config() {
	cat >"$T/sshd_config" <<-EOF
	Port $SSH_PORT
	ListenAddress 127.0.0.1
	HostKey $T/host_ed25519
	PidFile $T/sshd.pid
	AuthorizedKeysFile $T/keys/%u
	StrictModes no
	UsePAM yes
	UseDNS no
	PubkeyAuthentication yes
	PasswordAuthentication no
	KbdInteractiveAuthentication no
	PermitRootLogin no
	LogLevel VERBOSE
	EOF
}

# pam.d/sshd: the distribution's file with the pam_psm line right after common-account.
set_pam_sshd() {
	local line
	line=$(pam_psm_line)
	grep -q '^@include common-account' /etc/pam.d/sshd || return 1
	sed -i "\|^@include common-account|a $line" /etc/pam.d/sshd
}

# start_sshd: sshd -D on a free port (a new one if another process took it meanwhile).
start_sshd() {
	local _
	[ -d /run/sshd ] || mkdir -m 755 /run/sshd
	for _ in 1 2 3; do
		SSH_PORT=$(free_port) || return 1
		write_sshd_config
		/usr/sbin/sshd -D -f "$T/sshd_config" -E "$T/sshd.log" &
		SSHD_PID=$!
		ns_track "$SSHD_PID"
		wait_for 10 sshd_listening && return 0
		stop_pid "$SSHD_PID"
	done
	return 1
}

sshd_listening() {
	kill -0 "$SSHD_PID" 2>/dev/null || return 2
	[ -n "$(ss -Hltn "sport = :$SSH_PORT")" ]
}

# ssh_login USER: a key login running `true`; ssh's exit status (255 when refused).
ssh_login() {
	ssh -F /dev/null -p "$SSH_PORT" -i "$T/user_ed25519" -o BatchMode=yes \
		-o IdentitiesOnly=yes -o StrictHostKeyChecking=no \
		-o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o ConnectTimeout=10 \
		"$1@127.0.0.1" true </dev/null
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
	ok "ssh host and user keys" setup_keys || return
	ok "pam_psm account line added to pam.d/sshd" set_pam_sshd || return
	ok "psmd starts and publishes the table" start_psmd || return
	if ! ok "sshd listens on a free port of 127.0.0.1" start_sshd; then
		sed 's/^/#   /' "$T/sshd.log"
		return
	fi
	expect_login "granted user: psm-alice logs in" psm-alice allow
	expect_login "no grant: psm-bob is refused" psm-bob deny
	expect_login "from LOCAL: psm-carol logs in from 127.0.0.1" psm-carol allow
	expect_login "from 127.0.0.0/8: psm-dave logs in from 127.0.0.1" psm-dave allow
	expect_login "from 10.0.0.0/8: psm-erin is refused from 127.0.0.1" psm-erin deny
}

ns_main scenario ssh ssh-keygen ss /usr/sbin/sshd
