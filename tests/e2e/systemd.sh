#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tests/e2e/systemd.sh - etc/psmd.service: systemd-analyze verify says nothing, the offline
# security exposure is at most 2.5, psmd starts before the login services, and psmd does
# its work inside the unit's limits as far as they apply without systemd as PID 1: its
# capability bounding set (read from the unit), no_new_privs and umask.
# Runs as root; BUILD=dir (default build).  TAP lines "ok - NAME" / "not ok - NAME".
# shellcheck disable=SC2317 # cleanup runs from the trap
set -u
# shellcheck source=../lib/psmd.sh
. "$(dirname "$0")/../lib/psmd.sh"
psmd_env systemd
UNIT=etc/psmd.service
MAX_EXPOSURE=2.5
psmd_need "$BUILD/psmd" "$CTL"
for tool in systemd-analyze:systemd strace:strace setpriv:util-linux; do
	command -v "${tool%%:*}" >/dev/null && continue
	fail "${tool%%:*} is installed (Debian package ${tool#*:})"
	tap_end
	exit 1
done

# unit_value KEY: the values of KEY= in the unit, joined by blanks.
unit_value() {
	sed -n "s/^$1=//p" "$UNIT" | tr '\n' ' '
}

# ---- the unit file ---------------------------------------------------------------------
# A copy whose ExecStart is the built psmd, and the man pages it cites where man finds them.
sed "s#^ExecStart=/usr/sbin/psmd#ExecStart=$(realpath "$BUILD/psmd")#" "$UNIT" >"$T/psmd.service"
mkdir -p "$T/man/man8" "$T/man/man5"
cp psmd/psmd.8 "$T/man/man8/" && cp psmd/psmd.conf.5 "$T/man/man5/"
expect_rc "systemd-analyze verify exits 0" 0 env MANPATH="$T/man" systemd-analyze verify "$T/psmd.service"
if [ -z "$LAST_OUT$LAST_ERR" ]; then pass "systemd-analyze verify prints nothing"
else fail "systemd-analyze verify prints nothing" "$LAST_OUT" "$LAST_ERR"; fi

expect_rc "exposure within the threshold (--threshold=25)" 0 \
	systemd-analyze security --offline=yes --threshold=25 "$T/psmd.service"
exposure=$(sed -n 's/.*Overall exposure level for psmd.service: \([0-9.]*\).*/\1/p' "$T/out" "$T/err")
if [ -n "$exposure" ] && awk -v e="$exposure" -v m="$MAX_EXPOSURE" 'BEGIN { exit !(e <= m) }'; then
	pass "exposure $exposure <= $MAX_EXPOSURE"
else
	fail "exposure <= $MAX_EXPOSURE" "overall exposure: '${exposure:-none}'" "$(grep '✗' "$T/out")"
fi

before=" $(unit_value Before) "
for svc in systemd-user-sessions.service ssh.service cron.service; do
	case $before in *" $svc "*) pass "starts before $svc" ;;
	*) fail "starts before $svc" "Before=$before" ;; esac
done
if [ "$(unit_value Type)" = "notify " ]; then pass "Type=notify: ordered units wait for the table"
else fail "Type=notify: ordered units wait for the table" "Type=$(unit_value Type)"; fi
# The table must be the host's: a private /dev or IPC namespace would hide it from logins.
for key in PrivateDevices PrivateIPC PrivateNetwork; do
	case $(unit_value "$key") in "" | "no ") pass "no $key=yes" ;;
	*) fail "no $key=yes" "$key=$(unit_value "$key")" ;; esac
done

# ---- psmd within the unit's limits -----------------------------------------------------------
# CapabilityBoundingSet=CAP_KILL CAP_CHOWN ... -> setpriv's -all,+kill,+chown,...
caps=$(unit_value CapabilityBoundingSet | tr '[:upper:]' '[:lower:]' | sed 's/cap_/+/g; s/ *$//; s/ \+/,/g')
umask_value=$(unit_value UMask)
# Under strace, to compare the system calls psmd makes with the unit's SystemCallFilter;
# $T/psmd.pid is psmd's pid (the wrapper's is strace's).
cat >"$T/psmd-unit" <<EOF
#!/bin/sh
# psmd as the unit limits it: bounding set, no_new_privs, UMask; its system calls traced.
umask ${umask_value% }
exec strace -f -qq -o "$T/strace" -- sh -c 'echo \$\$ >"\$0"; exec "\$@"' "$T/psmd.pid" \\
	setpriv --bounding-set=-all,$caps --inh-caps=-all --no-new-privs $(realpath "$BUILD/psmd") "\$@"
EOF
chmod 0755 "$T/psmd-unit"
# shellcheck disable=SC2034 # psmd_start runs it
PSMD=$T/psmd-unit
cat >"$T/policy.json" <<'EOF'
// systemd.sh: root may log in.
{ "bindings": [ { "user": "root", "perms": ["*"] } ] }
EOF
cat >"$T/psmd.conf" <<EOF
// psmd.conf for systemd.sh: every path is temporary; a table group root is not in.
{ "shm_name": "$SHM", "socket": "$SOCK", "state_dir": "$T/state", "policy": "$T/policy.json",
  "table_group": "nogroup" }
EOF
check "psmd starts with the unit's capabilities and no_new_privs" psmd_start
check "the table is published" test -f "/dev/shm$SHM"
expect_text "the table has its group and mode (CAP_CHOWN)" "640 root:nogroup" \
	<(stat -c '%a %U:%G' "/dev/shm$SHM")
check "the state directory is written" test -d "$T/state"

# A session opened by a process that is not dumpable, as sshd's, su's and sudo's session
# processes are: psmd reads its /proc status without ptrace access.  Its leader is a process
# of another user, which psmd signals on session kill (CAP_KILL).
setpriv --reuid=nobody --regid=nogroup --clear-groups sleep 300 &
LEADER=$!
PIDS="$PIDS $LEADER"
# shellcheck disable=SC2016 # python source
expect_rc "session_open from a process that is not dumpable" 0 python3 -c '
import ctypes, json, socket, sys
PR_SET_DUMPABLE = 4
if ctypes.CDLL(None, use_errno=True).prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0:
    sys.exit("prctl failed")
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
req = {"op": "session_open", "user": "root", "service": "sshd", "pid": int(sys.argv[2])}
s.sendall((json.dumps(req) + "\n").encode())
reply = json.loads(s.makefile().readline())
print(reply.get("session_id") or reply)
sys.exit(0 if reply.get("ok") else 1)' "$SOCK" "$LEADER"
sid=$LAST_OUT
leader_gone() {
	! kill -0 "$LEADER" 2>/dev/null
}
expect_rc "session kill of another user's leader" 0 "$CTL" -s "$SOCK" session kill "$sid"
check "the leader is signalled (CAP_KILL)" wait_for 10 leader_gone

# psmd stops on SIGTERM; strace ends with it.
PSMD_REAL=$(cat "$T/psmd.pid")
PIDS="$PIDS $PSMD_REAL"
kill -TERM "$PSMD_REAL"
wait "$PSMD_PID"
PSMD_PID=""

# syscalls GROUP...: the system calls of systemd's filter groups (nested groups expanded).
syscalls() {
	local g n
	for g in "$@"; do
		systemd-analyze syscall-filter "$g" | sed -n '2,$s/^ *//p' | grep -v '^#' | grep . |
			while read -r n; do
				case $n in @*) syscalls "$n" ;; *) echo "$n" ;; esac
			done
	done
}
# The unit's SystemCallFilter= lines: what the allow lists give, less what "~" lists take.
# shellcheck disable=SC2046 # one group per word
syscalls $(sed -n '/^SystemCallFilter=[^~]/s/^SystemCallFilter=//p' "$UNIT") | sort -u >"$T/allowed"
# shellcheck disable=SC2046
syscalls $(sed -n 's/^SystemCallFilter=~//p' "$UNIT") | sort -u >"$T/denied"
# The calls psmd made from its execve on (setpriv's capset and the like come before).
awk -v exe="execve(\"$(realpath "$BUILD/psmd")\"" '
	index($0, exe) { on = 1; next }
	on { sub(/^[0-9]+ +/, ""); if (match($0, /^[a-z0-9_]+\(/)) print substr($0, 1, RLENGTH - 1) }
' "$T/strace" | sort -u >"$T/used"
if [ -s "$T/used" ] && [ -s "$T/allowed" ]; then
	pass "psmd's system calls traced ($(wc -l <"$T/used") different ones)"
else
	fail "psmd's system calls traced" "used: $(wc -l <"$T/used"), allowed: $(wc -l <"$T/allowed")"
fi
outside=$(comm -23 "$T/used" "$T/allowed" | tr '\n' ' ')
refused=$(comm -12 "$T/used" "$T/denied" | tr '\n' ' ')
if [ -z "$outside$refused" ]; then
	pass "every system call psmd made is one SystemCallFilter= allows"
else
	fail "every system call psmd made is one SystemCallFilter= allows" \
		"not allowed: $outside" "denied: $refused"
fi
tap_end
