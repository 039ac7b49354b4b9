#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tests/e2e/hostile_env.sh - psm-query and pam_psm.so in a hostile setuid environment (issue 14):
# 0 allows the intact setup denies, 0 crashes, 0 hangs, and the clean decision wherever the
# setting leaves the reader able to work (else a fail-closed deny that says why).
#
# Each setting runs ten probes: psm-query check as psm-bob and as root (psm-alice allowed,
# psm-bob denied), real setuid sudo (as psm-alice, as psm-bob), real setuid su from psm-bob
# (to psm-alice, allowed; to psm-carol, denied) and pamtester (an unprivileged libpam host, as
# psm-bob, for psm-alice and psm-bob), each under `timeout -s KILL` (killed = hung = failure;
# a signal death = crash = failure).  tests/tools/hostile_exec makes the setting: fds 0, 1, 2
# closed (each and all); RLIMIT_NOFILE 1, 4, 5; RLIMIT_AS 3.5 and 2.5 MiB; RLIMIT_STACK
# 512 and 64 KiB, and pamtester's own floor (ASLR off) where the module must still decide;
# SIGCHLD and SIGPIPE ignored with every signal blocked (and with fds closed); a 1 MiB
# environment.  A poisoned
# environment: LD_PRELOAD and LD_LIBRARY_PATH naming a library that would allow (tests/preload/
# hostile_allow.c; setuid probes only, it must never load), TZ garbage, TZ=:/etc/shadow, TZ
# naming a FIFO, and every PSM_* variable a user might try.  At the table's name: a symlink
# to a valid table, /dev/zero's device node, a forged table made by a user, a table owned by
# another user, and root's table with modes 0666, 0602 and 0660.  The session stack (pamtester
# open_session) against a psmd socket that never answers, with fds closed and signals
# ignored and blocked, gives up by itself.
# Not repeated here: a FIFO, socket, directory or /dev/null device node at the name (sudo,
# psm-query as a user, psmd: tests/e2e/squat.sh); a 0666 or nobody-owned table for psm-query
# as root (tests/e2e/pam_module.sh); what a local user can make psmd do (tests/e2e/trust.sh).
# Limits of what holds, by design: a reader trusts a table owned by root or by its own euid
# (psmd may run as its own user; a process cannot be defended from its own uid), so a table
# forged by psm-bob is tried on root and the setuid programs only; a FIFO in TZ hangs an
# unprivileged process that logs through syslog(3) (glibc opens it to stamp the time, for
# every PAM module alike): only the user's own process, so pamtester does not get it, while
# setuid sudo and su ignore it; sudo 1.9.13 itself dies of SIGSEGV under 512 KiB of stack
# (with or without the module), so it is left out of the 64 KiB setting.
# Runs as root in a private mount namespace (tests/lib/ns.sh); BUILD=dir (default build).
# shellcheck disable=SC2317,SC2119 # functions are called through ns_main
set -u
# shellcheck source=../lib/ns.sh
. "$(dirname "$0")/../lib/ns.sh"

# A hung run is killed after this long (sudo ignores SIGTERM: KILL).
HANG=10
SUDO_UNAVAIL='^sudo: PAM account management error: Authentication service cannot retrieve authentication info$'
SU_UNAVAIL='^su: Authentication service cannot retrieve authentication info$'
PAMT_UNAVAIL='^pamtester: Authentication service cannot retrieve authentication info$'
BOB=61002 # psm-bob runs the unprivileged probes
CAROL=61003

# ---- the setup --------------------------------------------------------------------------------

write_policies() {
	cat >"$T/policy.json" <<-'EOF'
	// hostile_env end-to-end policy: alice may sudo and be su'd to; nobody else.
	{
	  "roles": { "admin": ["sudo:*", "su:*", "hostile:*"] },
	  "bindings": [ { "user": "psm-alice", "roles": ["admin"] } ],
	  "services": { "sudo": "sudo:run", "su": "su:run", "psm-hostile": "hostile:run" }
	}
	EOF
	cat >"$T/forged.json" <<-'EOF'
	// what a user would publish: everyone may do everything.
	{
	  "roles": { "all": ["*"] },
	  "bindings": [ { "group": "psm-all", "roles": ["all"] } ]
	}
	EOF
}

# pam.d: sudo and su end in the module's account line; su and psm-hostile (pamtester's
# service) need no password, so the account stack decides.
write_pam() {
	cp /etc/pam.d/sudo "$T/pam-sudo.orig"
	pam_psm_line >>/etc/pam.d/sudo
	{
		echo "# su for hostile_env.sh: no password; the account stack decides."
		echo "auth required pam_permit.so"
		pam_psm_line
		echo "password required pam_deny.so"
		echo "session required pam_permit.so"
	} >/etc/pam.d/su
	sed 's/^# su for/# psm-hostile (pamtester) for/' /etc/pam.d/su >/etc/pam.d/psm-hostile
	sed 's|^account .*|account required pam_permit.so|' /etc/pam.d/su >/etc/pam.d/psm-permit
}

# make_table NAME POLICY: a table (mktable) readable by psm-all, mode 0640, owner root.
make_table() {
	"$BUILD/tools/mktable" "$1" "$2" >/dev/null && chgrp "$NS_ALL_GID" "/dev/shm$1"
}

# ---- running one probe ------------------------------------------------------------------------

# WRAP: the setting's command prefix (hostile_exec, env); KINDS: the probes to run (psm-query as
# a user and as root, the module in pamtester, sudo, su); LENIENT=1: a probe may instead fail
# closed, saying why (the setting takes what the program needs: a program the loader cannot
# start counts, its message is the reason); UNAVAIL=1: every probe must fail closed (nothing at
# the table's name can be trusted).
ALL_KINDS="quser qroot pam sudo su"
SETUID="sudo su"
WRAP=()
KINDS=$ALL_KINDS
LENIENT=0
UNAVAIL=0

# run_as USER CMD...: CMD as USER (real uid, gid, groups; root: as is) under WRAP and a timeout.
run_as() {
	local user=$1
	shift
	if [ "$user" = root ]; then
		run_capture timeout -s KILL "$HANG" "${WRAP[@]}" "$@" </dev/null
	else
		run_capture timeout -s KILL "$HANG" setpriv --reuid="$(user_uid "$user")" \
			--regid="$NS_ALL_GID" --init-groups "${WRAP[@]}" "$@" </dev/null
	fi
}

# reason KIND: the one line saying why a probe of KIND failed closed ("" if none); under a
# LENIENT setting the program's own first line (sudo: "unable to allocate memory") is one.
reason() {
	[ "$LENIENT" = 1 ] && [ -s "$T/err" ] && { head -n 1 "$T/err"; return; }
	case $1 in
	query) grep -m1 '^psm-query: ' "$T/err" ;;
	sudo) grep -m1 -E "$SUDO_UNAVAIL" "$T/err" ;;
	su) grep -m1 -E "$SU_UNAVAIL" "$T/err" ;;
	pam) grep -m1 -E "$PAMT_UNAVAIL" "$T/err" "$T/out" ;;
	esac
}

# closed_rc KIND: the exit status of a fail-closed deny.
closed_rc() {
	case $1 in
	query) echo 3 ;;
	*) echo 1 ;;
	esac
}

# judge NAME KIND WANT: the last run against WANT (the clean decision).
judge() {
	local name=$1 kind=$2 want=$3 rc=$LAST_RC why
	why=$(reason "$kind")
	if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
		fail "$name" "hung: killed after $HANG s" "stderr: $LAST_ERR"
	elif [ "$rc" -gt 128 ]; then
		fail "$name" "crashed: signal $((rc - 128))" "stderr: $LAST_ERR"
	elif [ "$want" -ne 0 ] && [ "$rc" -eq 0 ]; then
		fail "$name" "ALLOWED: the intact setup denies (exit $want)" "stderr: $LAST_ERR"
	elif [ "$UNAVAIL" = 1 ]; then
		judge_closed "$name" "$kind" "$rc" "$why"
	elif [ "$rc" -eq "$want" ]; then
		pass "$name (exit $rc, as without the setting)"
	elif [ "$LENIENT" = 1 ]; then
		judge_closed "$name" "$kind" "$rc" "$why"
	else
		fail "$name" "exit $rc, without the setting $want" "stdout: $LAST_OUT" "stderr: $LAST_ERR"
	fi
}

# refused_other KIND RC: psm-query refused (exit 4) a user who cannot read the table and
# asked about someone else (it may ask psmd only about itself): closed too.
refused_other() {
	[ "$1" = query ] && [ "$2" -eq 4 ] && grep -q 'you may ask only about yourself' "$T/err"
}

# judge_closed NAME KIND RC WHY: a fail-closed deny, with its reason where stderr is open.
judge_closed() {
	if [ "$LENIENT" = 1 ] && [ "$3" -eq 127 ] && loader_failed; then
		pass "$1 (not started: $(grep -m1 'error while loading shared libraries' "$T/err"))"
	elif [ "$3" -ne "$(closed_rc "$2")" ] && ! refused_other "$2" "$3"; then
		fail "$1" "exit $3: not a fail-closed deny" "stdout: $LAST_OUT" "stderr: $LAST_ERR"
	elif [ -z "$4" ] && ! fd2_closed; then
		fail "$1" "a fail-closed deny without a reason" "stdout: $LAST_OUT" "stderr: $LAST_ERR"
	else
		pass "$1 (fail-closed: ${4:-exit $3, stderr closed})"
	fi
}

loader_failed() {
	grep -q 'error while loading shared libraries' "$T/err"
}

fd2_closed() {
	[[ " ${WRAP[*]} " == *" --close 2 "* ]]
}

# probes SETTING: the probes of the kinds in KINDS under the current WRAP.
probes() {
	local s=$1 q=("$PSM_QUERY" --shm "$PSM_SHM" check)
	if [[ " $KINDS " == *" quser "* ]]; then
		run_as psm-bob "${q[@]}" psm-alice sudo:run
		judge "$s: psm-query as a user: psm-alice allowed" query 0
		run_as psm-bob "${q[@]}" psm-bob sudo:run
		judge "$s: psm-query as a user: psm-bob denied" query 1
	fi
	if [[ " $KINDS " == *" qroot "* ]]; then
		run_as root "${q[@]}" psm-alice sudo:run
		judge "$s: psm-query as root: psm-alice allowed" query 0
		run_as root "${q[@]}" psm-bob sudo:run
		judge "$s: psm-query as root: psm-bob denied" query 1
	fi
	if [[ " $KINDS " == *" pam "* ]]; then
		run_as psm-bob pamtester psm-hostile psm-alice acct_mgmt
		judge "$s: module in pamtester: psm-alice allowed" pam 0
		run_as psm-bob pamtester psm-hostile psm-bob acct_mgmt
		judge "$s: module in pamtester: psm-bob denied" pam 1
	fi
	setuid_probes "$s"
}

setuid_probes() {
	if [[ " $KINDS " == *" sudo "* ]]; then
		run_as psm-alice sudo -n true
		judge "$1: sudo as psm-alice: allowed" sudo 0
		run_as psm-bob sudo -n true
		judge "$1: sudo as psm-bob: denied" sudo 1
	fi
	if [[ " $KINDS " == *" su "* ]]; then
		run_as psm-bob su psm-alice -s /bin/true
		judge "$1: su from psm-bob to psm-alice: allowed" su 0
		run_as psm-bob su psm-carol -s /bin/true
		judge "$1: su from psm-bob to psm-carol: denied" su 1
	fi
}

# setting NAME [HOSTILE_EXEC_OPTION...] [-- ENV=VALUE...]: the probes under that setting.
setting() {
	local name=$1 opts=() envs=()
	shift
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		opts+=("$1")
		shift
	done
	[ $# -gt 0 ] && shift
	envs=("$@")
	WRAP=("$HX" "${opts[@]}")
	[ ${#envs[@]} -eq 0 ] || WRAP+=(env "${envs[@]}")
	probes "$name"
	KINDS=$ALL_KINDS
	LENIENT=0
	UNAVAIL=0
}

# ---- the settings -----------------------------------------------------------------------------

# With stdout closed psm-query cannot write its answer: exit 3 and says so (where stderr is open).
part_fds() {
	setting "fd 0 closed" --close 0
	LENIENT=1 setting "fd 1 closed" --close 1
	setting "fd 2 closed" --close 2
	LENIENT=1 setting "fds 0, 1 and 2 closed" --close 0 --close 1 --close 2
}

# bait_works: the library does allow where the loader honours LD_PRELOAD (pamtester, not
# setuid): the setuid probes above would have seen it.
bait_works() {
	WRAP=(env LD_PRELOAD="$BUILD/tools/hostile_allow.so" HOSTILE_ALLOW_MARK="$MARK")
	run_as psm-bob pamtester psm-hostile psm-bob acct_mgmt
	check "the bait: preloaded into pamtester (not setuid), it allows psm-bob" \
		test "$LAST_RC" = 0 -a -e "$MARK"
	rm -f "$MARK"
}

part_env() {
	KINDS=$SETUID setting "LD_PRELOAD of an allowing library" -- LD_PRELOAD="$BUILD/tools/hostile_allow.so" \
		HOSTILE_ALLOW_MARK="$MARK"
	mkdir -p "$T/evil"
	cp "$BUILD/tools/hostile_allow.so" "$T/evil/libpam.so.0"
	KINDS=$SETUID setting "LD_LIBRARY_PATH to an allowing libpam" -- LD_LIBRARY_PATH="$T/evil" \
		HOSTILE_ALLOW_MARK="$MARK"
	check "the allowing library was never loaded" test ! -e "$MARK"
	bait_works
	setting "TZ garbage" -- TZ='garbage!!,M99.9.9/99:99:99,,'
	setting "TZ=:/etc/shadow" -- TZ=:/etc/shadow
	mkfifo -m 666 "$T/tz.fifo"
	KINDS="quser qroot $SETUID" setting "TZ names a FIFO" -- TZ=":$T/tz.fifo" TZDIR="$T"
	setting "every PSM_* variable a user might try" -- PSM_SHM=/forged PSM_TABLE=/forged \
		PSM_SOCKET="$T/no.sock" PSM_BREAK_GLASS=psm-bob PSM_ONERR=succeed PSM_DEBUG=1 \
		PSM_POLICY="$T/forged.json" PSM_CONF="$T/forged.json" PSM_SESSION_ID=forged \
		PSM_QUERY_SHM=/forged PSM_MAX_STALE=0 PSM_PERM=none:none
	setting "a 1 MiB environment" --env-fill 1024
}

# RLIMIT_NOFILE 0 to 3 leave the loader no fd (nothing starts), 4 leaves libpam none for the
# module (psm-query works), 5 and up let it work.  sudo lifts its own limits; su and the others do not.
# sudo 1.9.13 itself (with or without the module) dies of SIGSEGV under 512 KiB of stack.
part_limits() {
	local n
	for n in 1 4 5; do
		LENIENT=1 setting "RLIMIT_NOFILE $n" --nofile "$n"
	done
	LENIENT=1 setting "RLIMIT_AS 3.5 MiB" --as 3584
	LENIENT=1 setting "RLIMIT_AS 2.5 MiB" --as 2560
	LENIENT=1 setting "RLIMIT_STACK 512 KiB" --stack 512
	KINDS="quser qroot pam su" LENIENT=1 setting "RLIMIT_STACK 64 KiB" --stack 64
	stack_floor
}

# pamtester_at KIB SERVICE USER: pamtester's exit under KIB KiB of stack, ASLR off (setarch -R:
# the same stack layout every run, so a threshold is exact).
pamtester_at() {
	WRAP=("$HX" --stack "$1" setarch -R)
	run_as psm-bob pamtester "$2" "$3" acct_mgmt
	echo "$LAST_RC"
}

# stack_floor: at the least stack (KiB, ASLR off) where pamtester works with pam_permit alone,
# it works with pam_psm too: the module needs no stack its host does not already have.
stack_floor() {
	local k floor=""
	for k in $(seq 16 4 96); do
		[ "$(pamtester_at "$k" psm-permit psm-bob)" = 0 ] && floor=$k && break
	done
	if [ -z "$floor" ]; then
		fail "RLIMIT_STACK floor: pamtester with pam_permit works under 96 KiB"
		return
	fi
	check "RLIMIT_STACK $floor KiB (pamtester's own floor): module allows psm-alice" \
		test "$(pamtester_at "$floor" psm-hostile psm-alice)" = 0
	check "RLIMIT_STACK $floor KiB (pamtester's own floor): module denies psm-bob" \
		test "$(pamtester_at "$floor" psm-hostile psm-bob)" = 1
}

part_signals() {
	setting "SIGCHLD and SIGPIPE ignored, every signal blocked" --ignore CHLD --ignore PIPE --block-all
	LENIENT=1 setting "SIGCHLD ignored, every signal blocked, fds closed" --ignore CHLD --block-all \
		--close 0 --close 1 --close 2
}

# mute_psmd: a socket at $T/mute.sock that accepts connections and never answers.
mute_psmd() {
	python3 -c '
import os, socket, sys
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1])
os.chmod(sys.argv[1], 0o666)
s.listen(64)
held = []
while True:
    held.append(s.accept()[0])' "$T/mute.sock" &
	ns_track $!
	wait_for 10 test -S "$T/mute.sock"
}

# The session stack talks to psmd: against one that never answers, with fds closed, signals
# ignored and blocked, the module gives up by itself (exit 1, no hang) as it does in the clean.
part_session() {
	check "a psmd socket that never answers" mute_psmd || return
	{
		echo "# psm-session (pamtester) for hostile_env.sh: the module's session stack."
		echo "auth required pam_permit.so"
		echo "account required pam_permit.so"
		echo "session required $BUILD/pam_psm.so socket=$T/mute.sock"
	} >/etc/pam.d/psm-session
	WRAP=(env)
	run_as psm-bob pamtester psm-session psm-bob open_session
	judge "session: open against a mute psmd fails by itself" pam 1
	WRAP=("$HX" --ignore PIPE --ignore CHLD --block-all --close 0 --close 1 --close 2)
	run_as psm-bob pamtester psm-session psm-bob open_session
	judge "session, fds closed, signals ignored and blocked: open fails by itself" pam 1
}

# at_name NAME CMD...: CMD puts something at the table's name; every probe must fail closed.
at_name() {
	local name=$1 path=/dev/shm$PSM_SHM
	shift
	mv "$path" "$T/real.table"
	if "$@"; then
		UNAVAIL=1 setting "$name"
	else
		fail "$name: set up" "command failed: $*"
	fi
	rm -rf "$path"
	mv "$T/real.table" "$path"
}

part_names() {
	local path=/dev/shm$PSM_SHM other=/dev/shm$PSM_SHM-other
	cp -p "$path" "$other"
	at_name "a symlink to a valid table" ln -s "$other" "$path"
	at_name "/dev/zero's device node" mknod -m 666 "$path" c 1 5
	at_name "a forged table made by psm-carol" forge_as "$CAROL" "$path"
	KINDS="qroot $SETUID" at_name "a forged table made by psm-bob" forge_as "$BOB" "$path"
	at_name "a table owned by psm-carol" owned_by "$CAROL" "$path"
	local mode
	for mode in 0666 0602 0660; do
		at_name "root's table with mode $mode" mode_copy "$mode" "$path"
	done
	rm -f "$other"
}

# forge_as UID PATH: what UID can publish: a table letting everyone do everything.
forge_as() {
	make_table "$PSM_SHM-forged" "$T/forged.json" && chown "$1" "/dev/shm$PSM_SHM-forged" &&
		mv "/dev/shm$PSM_SHM-forged" "$2"
}

owned_by() {
	cp -p "$T/real.table" "$2" && chown "$1" "$2"
}

mode_copy() {
	cp -p "$T/real.table" "$2" && chmod "$1" "$2"
}

scenario() {
	HX=$BUILD/tools/hostile_exec
	mkdir -m 1777 "$T/marks"
	MARK=$T/marks/allow.mark
	write_policies
	write_pam
	check "a table (root, psm-all, 0640)" make_table "$PSM_SHM" "$T/policy.json" || return
	WRAP=(env)
	probes "clean"
	part_fds
	part_env
	part_limits
	part_signals
	part_session
	part_names
}

ns_main scenario pamtester su mknod mkfifo timeout setarch python3
