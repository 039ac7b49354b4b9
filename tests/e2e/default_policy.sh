#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tests/e2e/default_policy.sh - the shipped etc/policy.json and etc/pam-configs/psm lock nobody
# out: pam-auth-update --enable psm puts pam_psm.so into common-account, and real libpam
# (pamtester) through the stock PAM files then allows root everywhere (cron, su, sudo, sshd,
# login, systemd-user), users' cron jobs and user managers, a user with a login grant, and
# the sudo group; it denies sshd, sudo and su to a user with no grant.
# Runs as root in a private mount namespace (tests/lib/ns.sh) with private copies of the PAM
# module directory, /usr/share/pam-configs, /var/lib/pam and debconf's database; BUILD=dir.
# TAP lines "ok - NAME" / "not ok - NAME".
# shellcheck disable=SC2317 # functions are called through ns_main
set -u
# shellcheck source=../lib/ns.sh
. "$(dirname "$0")/../lib/ns.sh"
REPO=$(cd "$(dirname "$0")/../.." && pwd)

# ns_private DIR: DIR from here on is a copy under $T (what is written there stays there).
ns_private() {
	local copy
	copy=$T/private$(echo "$1" | tr / _)
	mkdir -p "$copy" && cp -a "$1"/. "$copy"/ && mount --bind "$copy" "$1"
}

# Debian 12's PAM files of cron and systemd (when the package is not installed here).
stock_pam_files() {
	[ -e /etc/pam.d/cron ] || cat >/etc/pam.d/cron <<-'EOF'
	@include common-auth
	session    required     pam_loginuid.so
	session       required   pam_env.so
	session       required   pam_env.so envfile=/etc/default/locale
	@include common-account
	@include common-session-noninteractive
	session    required   pam_limits.so
	EOF
	[ -e /etc/pam.d/systemd-user ] || cat >/etc/pam.d/systemd-user <<-'EOF'
	@include common-account
	session  required pam_selinux.so close
	session  required pam_selinux.so nottys open
	session  required pam_loginuid.so
	session  required pam_limits.so
	@include common-session-noninteractive
	session optional pam_systemd.so
	EOF
}

# The built module where libpam looks for "pam_psm.so", the profile where pam-auth-update
# looks for it; then enable it as an admin would.
enable_profile() {
	local sec
	sec=$(dirname "$(find /lib /usr/lib -path '*/security/pam_unix.so' | head -n 1)")
	ns_private "$sec" && cp "$BUILD/pam_psm.so" "$sec/pam_psm.so" || return 1
	ns_private /usr/share/pam-configs && cp "$REPO/etc/pam-configs/psm" /usr/share/pam-configs/ ||
		return 1
	ns_private /var/lib/pam && ns_private /var/cache/debconf || return 1
	stock_pam_files
	DEBIAN_FRONTEND=noninteractive pam-auth-update --enable psm
}

# psmd on the shipped policy, at the names pam_psm.so uses by default (/psm, /run/psm).
start_default_psmd() {
	# shellcheck disable=SC2034 # start_psmd waits for it
	PSM_SHM=/psm
	mkdir -p /run/psm
	cat >"$T/psmd.conf" <<-EOF
	// default_policy.sh: the shipped policy; the table and socket at their default names.
	{ "shm_name": "/psm", "socket": "/run/psm/psmd.sock", "state_dir": "$T/state",
	  "policy": "$REPO/etc/policy.json" }
	EOF
	start_psmd
}

# allowed/denied SERVICE USER [WHY [ITEM=VALUE...]]: real libpam's account stack for USER
# (pamtester -I ITEM=VALUE sets PAM items such as ruser).
acct() {
	local svc=$1 user=$2 item args=()
	shift 3
	for item in "$@"; do args+=(-I "$item"); done
	pamtester "${args[@]}" "$svc" "$user" acct_mgmt >"$T/pam.out" 2>&1
}
allowed() {
	if acct "$@"; then pass "$2 may use $1${3:+ ($3)}"
	else fail "$2 may use $1${3:+ ($3)}" "$(cat "$T/pam.out")" "$(tail -n 3 "$T/psmd.log")"; fi
}
denied() {
	if acct "$@"; then fail "$2 may not use $1${3:+ ($3)}" "pamtester allowed it"
	else pass "$2 may not use $1${3:+ ($3)}"; fi
}

# psm-carol joins the sudo group (this namespace's /etc/group).
join_sudo_group() {
	awk -F: -v OFS=: '$1 == "sudo" { $4 = ($4 == "" ? "" : $4 ",") "psm-carol" } 1' \
		/etc/group >"$T/group.new" && cat "$T/group.new" >/etc/group
}

scenario() {
	local svc
	check "pam-auth-update --enable psm" enable_profile
	expect_grep "common-account asks pam_psm.so" '^account[[:space:]]+required[[:space:]]+pam_psm\.so' /etc/pam.d/common-account
	expect_grep "common-session registers sessions" '^session[[:space:]]+optional[[:space:]]+pam_psm\.so' /etc/pam.d/common-session
	if grep -q pam_psm /etc/pam.d/common-session-noninteractive; then
		fail "no sessions for cron jobs (common-session-noninteractive)"
	else pass "no sessions for cron jobs (common-session-noninteractive)"; fi
	check "psmd starts on the shipped policy" start_default_psmd
	check "psm-carol joins the sudo group" join_sudo_group

	for svc in cron su sudo sudo-i sshd login systemd-user; do allowed "$svc" root ""; done
	allowed su psm-bob "root su-ing to him" ruser=root
	allowed cron psm-bob "his cron job"
	allowed systemd-user psm-bob "his user manager"
	for svc in sshd sudo login; do denied "$svc" psm-bob "no grant"; done
	denied su psm-bob "another user su-ing to him" ruser=psm-alice

	expect_rc "grant psm-alice login:ssh" 0 "$BUILD/psmctl" -s /run/psm/psmd.sock \
		grant psm-alice login:ssh --ttl 1h
	allowed sshd psm-alice "a login grant"
	allowed systemd-user psm-alice "a login grant"
	denied sudo psm-alice "a login grant only"
	for svc in sshd sudo sudo-i su-l; do allowed "$svc" psm-carol "group sudo"; done
}

ns_main scenario pam-auth-update pamtester
