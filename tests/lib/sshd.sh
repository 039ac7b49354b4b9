# SPDX-License-Identifier: MIT
# tests/lib/sshd.sh - a real sshd with key logins for the end-to-end tests (sourced after ns.sh).
# shellcheck shell=bash
#
# Inside the namespace of tests/lib/ns.sh: setup_keys, then start_sshd (sets SSH_PORT,
# SSHD_PID; the log is $T/sshd.log); ssh_run USER CMD runs CMD through a key login.
# Every test user may log in with $T/user_ed25519 (AuthorizedKeysFile $T/keys/%u).

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
	cat >"$T/sshd_config" <<-EOT
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
	EOT
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

# start_psmd_and_sshd: two checks: psmd starts (tests/lib/ns.sh), then sshd listens (its
# log follows as diagnostics when not); 1 when either failed.
start_psmd_and_sshd() {
	check "psmd starts and publishes the table" start_psmd || return
	if ! check "sshd listens on a free port of 127.0.0.1" start_sshd; then
		sed 's/^/#   /' "$T/sshd.log"
		return 1
	fi
}

sshd_listening() {
	kill -0 "$SSHD_PID" 2>/dev/null || return 2
	[ -n "$(ss -Hltn "sport = :$SSH_PORT")" ]
}

# ssh_argv USER CMD...: SSH_ARGV is the ssh command line of a key login as USER running CMD.
ssh_argv() {
	local user=$1
	shift
	SSH_ARGV=(ssh -F /dev/null -p "$SSH_PORT" -i "$T/user_ed25519" -o BatchMode=yes
		-o IdentitiesOnly=yes -o StrictHostKeyChecking=no
		-o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o ConnectTimeout=10
		"$user@127.0.0.1" "$@")
}

# ssh_run USER CMD...: a key login running CMD; ssh's exit status (255 when refused).
ssh_run() {
	ssh_argv "$@"
	"${SSH_ARGV[@]}" </dev/null
}

# ssh_login USER: a key login running `true`.
ssh_login() {
	ssh_run "$1" true
}
