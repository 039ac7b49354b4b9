#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tests/e2e/fleet_cmds.sh - fleet commands that need no Redis: psmctl fleet without redis, and
# sessions of another host (imported with their origin, as the fleet brings them): kept out
# of the table and of `psmctl sessions`, listed with their HOST by `sessions --fleet`, ended
# by `session kill` with a session_end and no signal here, and never signalled at expiry.
# TAP lines "ok - NAME" / "not ok - NAME". $BUILD (default build) holds psmd, psmctl, psm-query.
# Everything lives in a temp dir and the table /psm-e2e-fcmd-PID; only processes started here
# are stopped (by pid).  Needs root (session leaders are signalled by psmd as root).
set -u
# shellcheck source=../lib/psmd.sh
. "$(dirname "$0")/../lib/psmd.sh"
psmd_env fcmd
HERE=fc-here-01
THERE=fc-there-02
BOOT=$(cat /proc/sys/kernel/random/boot_id)
ID_BASE=0123456789abcdef0123456789abcd

ctl() {
	run_capture "$CTL" -s "$SOCK" "$@"
}

# leader: starts a process to lead a session (stopped on exit); LEADER is its pid.
leader() {
	sleep 600 &
	LEADER=$!
	PIDS="$PIDS $LEADER"
}

# session_json ID ORIGIN PID EXPIRES: an exported session led by PID, of host ORIGIN.
session_json() {
	local start
	start=$(sed 's/.*) //' "/proc/$3/stat" | awk '{print $20}')
	printf '{"session_id":"%s","user":"root","uid":0,"service":"sshd","tty":"pts/9",' "$1"
	printf '"rhost":"","pid":%s,"audit":null,"leader_start":%s,"boot_id":"%s",' "$3" "$start" "$BOOT"
	printf '"created":%s,"expires":%s,"metadata":{},"origin":"%s","version":"1"}' \
		"$(date +%s)" "$4" "$2"
}

# import_sessions JSON...: psmctl import of these sessions.
import_sessions() {
	local IFS=,
	printf '{"format":"psm-export","version":1,"grants":[],"sessions":[%s]}\n' "$*" >"$T/imp.json"
	ctl import "$T/imp.json"
	[ "$LAST_RC" -eq 0 ] && printf '%s' "$LAST_OUT" | grep -Eq "imported 0 grants, $# sessions?"
}

# sid_of PID: the id of the session PID leads, from sessions --fleet --json ("" when none).
sid_of() {
	"$CTL" -s "$SOCK" --json sessions --fleet |
		grep -o "\"session_id\":\"[a-z0-9]*\"[^}]*\"pid\":$1," | sed 's/^"session_id":"\([a-z0-9]*\)".*/\1/'
}

# session_pair N EXPIRES: imports a session of this host and one of $THERE (ids ending in
# N and N+1), each led by a new process, until EXPIRES; sets LOCAL_PID, REMOTE_PID and the
# ids psmd lists them under, LOCAL and REMOTE.
session_pair() {
	leader
	LOCAL_PID=$LEADER
	leader
	REMOTE_PID=$LEADER
	import_sessions "$(session_json "${ID_BASE}$1" $HERE "$LOCAL_PID" "$2")" \
		"$(session_json "${ID_BASE}$(($1 + 1))" $THERE "$REMOTE_PID" "$2")" || return 1
	LOCAL=$(sid_of "$LOCAL_PID") REMOTE=$(sid_of "$REMOTE_PID")
	[ -n "$LOCAL" ] && [ -n "$REMOTE" ]
}

alive() { kill -0 "$1" 2>/dev/null; }
dead() { ! kill -0 "$1" 2>/dev/null; }
# in_table ID: psm-query (reading the table) lists the session.
in_table() { "$QUERY" --shm "$SHM" sessions 2>/dev/null | grep -q -- "$1"; }
journaled_end() {
	grep -aq "\"type\":\"session_end\",\"session_id\":\"$1\",\"origin\":\"$HERE\"" "$T"/state/journal.*
}

psmd_need "$PSMD" "$CTL" "$QUERY"
echo '{ "roles": {}, "bindings": [], "session_ttl": "1h" }' >"$T/policy.json"
psmd_conf "$T/psmd.conf" "$SHM" "\"host_name\": \"$HERE\", \"session_expiry\": \"kill\""
psmd_start || { fail "psmd starts" "$(cat "$LOG")"; tap_end; exit; }

# ---- psmctl fleet without redis ---------------------------------------------------------
ctl fleet
if [ "$LAST_RC" -eq 0 ] && [ "$LAST_OUT" = "fleet sync: off (no redis in psmd.conf)" ]; then
	pass "psmctl fleet without redis: one line, exit 0"
else
	fail "psmctl fleet without redis: one line, exit 0" "exit $LAST_RC: $LAST_OUT $LAST_ERR"
fi
ctl --json fleet
expect_text "psmctl --json fleet without redis: enabled false" '"enabled":false' -
ctl health
expect_rc "health without redis has no fleet check" 1 grep -q '^fleet' "$T/out"

# ---- one session of this host, one of another ---------------------------------------------
check "import a session of this host and one of $THERE, listed by --fleet --json" \
	session_pair 10 $(($(date +%s) + 3600))
ctl --json sessions --fleet
expect_text "sessions --fleet --json: the origin of another host's session" "\"origin\":\"$THERE\"" -

check "this host's session is in the table" in_table "$LOCAL"
check "another host's session is not in the table" eval '! in_table "$REMOTE"'

ctl sessions
expect_text "sessions lists this host's session" "$LOCAL" -
check "sessions leaves out another host's session" eval '! grep -q -- "$REMOTE" "$T/out"'
ctl sessions --fleet
expect_grep "sessions --fleet: a HOST column" '^HOST +ID +USER' -
expect_grep "sessions --fleet: the other host's session with its host" "^$THERE +$REMOTE " -
expect_grep "sessions --fleet: this host's session with its host" "^$HERE +$LOCAL " -

# ---- session kill ------------------------------------------------------------------------
ctl session kill "$REMOTE"
expect_text "kill of another host's session: its host ends the leader" \
	"session ended here; its host $THERE ends its leader" -
check "kill of another host's session: exit 0" test "$LAST_RC" -eq 0
check "kill of another host's session: a session_end journaled" journaled_end "$REMOTE"
ctl --json sessions --fleet
check "kill of another host's session: no longer listed" eval '! grep -q -- "$REMOTE" "$T/out"'
# A kill of this host's session is signalled after its commit like the remote one's would
# have been: once this leader is gone, a signal to the other would have been sent too.
ctl session kill "$LOCAL"
expect_grep "kill of this host's session signals its leader" "^killed$" -
check "this host's leader ends" wait_for 10 dead "$LOCAL_PID"
check "kill of another host's session signals nothing here" alive "$REMOTE_PID"

# ---- expiry with session_expiry "kill" ---------------------------------------------------
check "import two sessions that expire in 2 s" session_pair 20 $(($(date +%s) + 2))
# The sweeper ends both sessions' leaders in one pass: once this host's is gone, it has
# passed over the other one.
check "expiry: this host's leader is ended" wait_for 15 dead "$LOCAL_PID"
check "expiry: another host's leader is never signalled here" alive "$REMOTE_PID"
check "expiry: the sweeper names this host's session only" \
	eval 'test -n "$REMOTE" && ! grep -q "session $REMOTE" "$LOG"'
check "psmd still runs" alive "$PSMD_PID"
tap_end
