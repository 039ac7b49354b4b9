# SPDX-License-Identifier: MIT
# tests/lib/ns.sh - private mount namespace harness for psm's end-to-end tests (sourced).
# shellcheck shell=bash disable=SC2034 # results (PSMD_RC, RELOAD_LINE...) are for the callers
#
# A test script defines a scenario function and ends with `ns_main SCENARIO`:
#   . "$(dirname "$0")/../lib/ns.sh"
#   scenario() { start_psmd; expect_rc "alice may sudo" 0 run_sudo psm-alice; ... }
#   ns_main scenario
# Outside, ns_main makes a temp dir $T holding copies of /etc/passwd, group, shadow,
# pam.d and a test sudoers with the test users added, then runs the same script again
# inside `unshare -m`, where those copies are bind-mounted over /etc and /run and
# /dev/shm are private tmpfs: nothing reaches the host's /etc, /run or /dev/shm.
# Inside, the scenario runs; every process it starts is stopped by pid on exit.
# Assertions (tests/lib/tap.sh) print TAP lines "ok - NAME" / "not ok - NAME"; the script
# exits 1 if any failed.  Needs root, util-linux (unshare, setpriv) and sudo.

# Test users: name uid (primary group psm-all 61000, shell /bin/sh, home $T/home/NAME).
NS_USERS="psm-alice:61001 psm-bob:61002 psm-carol:61003 psm-dave:61004 psm-erin:61005"
NS_GROUPS="psm-all:61000 psm-ops:61100:psm-carol,psm-dave"
NS_ALL_GID=61000

ns_pids=""

# shellcheck source=psmd.sh
. "$(dirname "${BASH_SOURCE[0]}")/psmd.sh"

# ---- waiting ---------------------------------------------------------------------------

# log_has_after FILE OFFSET REGEX: FILE, from byte OFFSET on, has a line matching REGEX.
log_has_after() {
	tail -c +"$(($2 + 1))" "$1" 2>/dev/null | grep -Eq -- "$3"
}

file_size() {
	stat -c %s "$1" 2>/dev/null || echo 0
}

# ---- processes -----------------------------------------------------------------------

# ns_track PID: stop PID (SIGTERM, then SIGKILL) when the scenario ends.
ns_track() {
	ns_pids="$ns_pids $1"
}

ns_untrack() {
	local pid keep=""
	for pid in $ns_pids; do
		[ "$pid" = "$1" ] || keep="$keep $pid"
	done
	ns_pids=$keep
}

# stop_pid PID: SIGTERM, wait up to 5 s, then SIGKILL; sets STOP_RC to its exit status.
stop_pid() {
	local pid=$1 i
	STOP_RC=
	kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; STOP_RC=$?; return 0; }
	kill -TERM "$pid" 2>/dev/null
	for i in $(seq 100); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	STOP_RC=$?
	ns_untrack "$pid"
}

ns_stop_all() {
	local pid
	for pid in $ns_pids; do
		stop_pid "$pid"
	done
}

# ---- psmd ----------------------------------------------------------------------------

# write_psmd_conf: $T/psmd.conf for table $PSM_SHM, all paths under $T.
write_psmd_conf() {
	SOCK=$T/psmd.sock psmd_conf "$T/psmd.conf" "$PSM_SHM" '"capacity": 1000'
}

# start_psmd: starts $PSMD -d on $T/psmd.conf (written if missing), logging to
# $T/psmd.log, and waits until the table /dev/shm$PSM_SHM is published.  Sets PSMD_PID.
start_psmd() {
	[ -f "$T/psmd.conf" ] || write_psmd_conf
	"$PSMD" -c "$T/psmd.conf" -d </dev/null >>"$T/psmd.log" 2>&1 &
	PSMD_PID=$!
	ns_track "$PSMD_PID"
	if ! wait_for 10 psmd_ready; then
		echo "# psmd did not publish /dev/shm$PSM_SHM; its log:" >&2
		sed 's/^/#   /' "$T/psmd.log" >&2
		return 1
	fi
}

psmd_ready() {
	kill -0 "$PSMD_PID" 2>/dev/null || return 2
	[ -e "/dev/shm$PSM_SHM" ]
}

# ctl ARGS: psmctl on this test's psmd socket.
ctl() {
	"$BUILD/psmctl" -s "$T/psmd.sock" "$@"
}

# table: the path of this test's table.
table() {
	echo "/dev/shm$PSM_SHM"
}

# write_sudo_policy NAME: $T/policy.json where psm-alice may sudo and everyone else needs grants.
write_sudo_policy() {
	cat >"$T/policy.json" <<-EOF
	// $1 end-to-end policy: alice may sudo; everyone else through grants.
	{
	  "roles": { "admin": ["sudo:*"] },
	  "bindings": [ { "user": "psm-alice", "roles": ["admin"] } ],
	  "services": { "sudo": "sudo:run" }
	}
	EOF
}

# stop_psmd: SIGTERM to psmd, waits for it; PSMD_RC is its exit status.
stop_psmd() {
	stop_pid "$PSMD_PID"
	PSMD_RC=$STOP_RC
}

# reload_psmd REGEX: SIGHUP psmd and wait (10 s) for a new log line matching REGEX;
# RELOAD_LINE is the last such line ("" when none came).
reload_psmd() {
	local off
	RELOAD_LINE=
	off=$(file_size "$T/psmd.log")
	kill -HUP "$PSMD_PID" || return 1
	wait_for 10 log_has_after "$T/psmd.log" "$off" "$1" || return 1
	RELOAD_LINE=$(tail -c +"$((off + 1))" "$T/psmd.log" | grep -E -- "$1" | tail -n 1)
}

# ---- running as a test user -------------------------------------------------------------

user_uid() {
	getent passwd "$1" | cut -d: -f3
}

# as_user USER CMD...: runs CMD with USER's real and effective uid/gid and groups.
as_user() {
	local uid
	uid=$(user_uid "$1") || return 125
	shift
	setpriv --reuid="$uid" --regid="$NS_ALL_GID" --init-groups "$@"
}

# run_sudo USER: real sudo, as USER, non-interactive; sudo's exit status.
run_sudo() {
	as_user "$1" sudo -n true </dev/null
}

# pam_psm_line [ARGS...]: the account line for the table $PSM_SHM.
pam_psm_line() {
	echo "account required $BUILD/pam_psm.so shm=$PSM_SHM${*:+ $*}"
}

# ---- the files of the namespace -----------------------------------------------------------

# ns_append FILE LINE: appends LINE, first ending FILE's last line if it lacks a newline.
ns_append() {
	[ ! -s "$1" ] || [ -z "$(tail -c 1 "$1")" ] || echo >>"$1"
	printf '%s\n' "$2" >>"$1"
}

# ns_free_id DB NAME ID: neither NAME nor ID is taken on the host (getent DB).
ns_free_id() {
	if getent "$1" "$2" >/dev/null || getent "$1" "$3" >/dev/null; then
		echo "$0: $1 entry $2 or $3 already exists on this host" >&2
		return 1
	fi
}

ns_make_files() {
	local u name uid g gname gid members
	cp -p /etc/passwd "$T/passwd"
	cp -p /etc/group "$T/group"
	cp -p /etc/shadow "$T/shadow"
	cp -a /etc/pam.d "$T/pam.d"
	mkdir -m 755 "$T/home"
	for g in $NS_GROUPS; do
		IFS=: read -r gname gid members <<<"$g"
		ns_free_id group "$gname" "$gid" || return 1
		ns_append "$T/group" "$gname:x:$gid:$members"
	done
	for u in $NS_USERS; do
		IFS=: read -r name uid <<<"$u"
		ns_free_id passwd "$name" "$uid" || return 1
		ns_append "$T/passwd" "$name:x:$uid:$NS_ALL_GID:psm test user:$T/home/$name:/bin/sh"
		ns_append "$T/shadow" "$name:*:19000:0:99999:7:::"
		mkdir -m 700 "$T/home/$name"
		chown "$uid:$NS_ALL_GID" "$T/home/$name"
	done
	ns_write_sudoers
}

ns_write_sudoers() {
	cat >"$T/sudoers" <<-EOF
	# sudoers for psm's end-to-end tests: the test users never need a password.
	Defaults	env_reset
	Defaults	secure_path="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	root	ALL=(ALL:ALL) ALL
	%psm-all	ALL=(ALL) NOPASSWD: ALL
	EOF
	chmod 0440 "$T/sudoers"
}

ns_mount_all() {
	local f
	mount -t tmpfs -o mode=755 tmpfs /run || return 1
	mount -t tmpfs -o mode=1777 tmpfs /dev/shm || return 1
	for f in passwd group shadow pam.d sudoers; do
		mount --bind "$T/$f" "/etc/$f" || return 1
	done
}

# ---- entry point -----------------------------------------------------------------------

ns_need() {
	local c
	[ "$(id -u)" = 0 ] || { echo "$0: must run as root" >&2; exit 2; }
	for c in unshare setpriv sudo getent "$@"; do
		command -v "$c" >/dev/null || { echo "$0: $c not found" >&2; exit 2; }
	done
}

ns_outer_cleanup() {
	[ -n "${T:-}" ] && [ -d "$T" ] && rm -rf "$T"
}

ns_inner_exit() {
	ns_stop_all
	tap_end
}

# ns_main SCENARIO [COMMAND...]: see the top of this file; the COMMANDs must be installed.
# BUILD defaults to ./build; the table is ${NS_SHM_PREFIX:-/psm-e2e}-PID.  PSMD and
# PSM_QUERY (default $BUILD/psmd, $BUILD/psm-query) may name other builds of those
# programs, e.g. the ASan ones (an ASan pam_psm.so cannot load into sudo or sshd).
# NS_PIDNS=1 runs the scenario in a private pid namespace too (unshare -p -f --mount-proc:
# the scenario's shell is its pid 1, and /proc/sys/kernel/ns_last_pid is its own).
ns_main() {
	local rc
	if [ "${PSM_NS_INSIDE:-}" = 1 ]; then
		trap ns_inner_exit EXIT
		trap 'exit 130' INT TERM
		ns_mount_all || { fail "private mount namespace"; exit 1; }
		"$1"
		rc=$?
		[ "$rc" -eq 0 ] && [ "$TAP_FAILED" -eq 0 ]
		exit
	fi
	ns_need "${@:2}"
	BUILD=$(cd "${BUILD:-build}" 2>/dev/null && pwd) || { echo "$0: no build dir" >&2; exit 2; }
	PSMD=$(readlink -f "${PSMD:-$BUILD/psmd}")
	PSM_QUERY=$(readlink -f "${PSM_QUERY:-$BUILD/psm-query}")
	T=$(mktemp -d /tmp/psm-e2e.XXXXXX) || exit 2
	chmod 755 "$T"
	trap ns_outer_cleanup EXIT
	trap 'exit 130' INT TERM
	ns_make_files || exit 2
	PSM_NS_INSIDE=1 T="$T" BUILD="$BUILD" PSMD="$PSMD" PSM_QUERY="$PSM_QUERY" \
		PSM_SHM="${NS_SHM_PREFIX:-/psm-e2e}-$$" \
		unshare -m --propagation private ${NS_PIDNS:+-p -f --mount-proc} bash "$0"
	rc=$?
	exit "$rc"
}
