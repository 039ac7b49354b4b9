#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tests/e2e/psmctl.sh - psmd's admin socket end to end through psmctl: grants, revokes, expiry
# enforced by readers, sessions, checks, operations, export/import, bad input, authorization.
# TAP lines "ok - NAME" / "not ok - NAME". $BUILD (default build) holds psmd, psmctl, psm-query.
# Everything lives in a temp dir and the table /psm-e2e-ctl-PID; only processes started here
# are stopped (by pid), and the table is removed on exit (KEEP=1 keeps the temp dir and its
# psmd.log).  Needs root, python3, setpriv.
set -u
# shellcheck source=../lib/psmd.sh
. "$(dirname "$0")/../lib/psmd.sh"
psmd_env ctl
SOCK=$T/run/psmd.sock
HOST=e2e-ctl-host

# ctl ARGS...: runs psmctl as root; sets LAST_RC, LAST_OUT, LAST_ERR.
ctl() {
	run_capture "$CTL" -s "$SOCK" "$@"
}
# ctl_as UID ARGS...: the same as another uid.
ctl_as() {
	local uid=$1
	shift
	run_capture setpriv --reuid "$uid" --regid "$uid" --clear-groups "$CTL" -s "$SOCK" "$@"
}
# query USER PERM [ARGS...]: psm-query's exit code (0 allow, 1 deny).
query() { "$QUERY" --shm "$SHM" check "$@" >/dev/null 2>&1; }
allowed() { query "$@"; }
denied() {
	query "$@"
	[ $? -eq 1 ]
}
# expect NAME RC ERR_REGEX: the last ctl exited RC with one stderr line matching ERR_REGEX.
expect() {
	local lines
	lines=$(printf '%s' "$LAST_ERR" | grep -c '')
	if [ "$LAST_RC" -eq "$2" ] && [ "$lines" -eq "${4:-1}" ] && printf '%s' "$LAST_ERR" | grep -Eq -- "$3"
	then
		pass "$1"
	else
		fail "$1" "exit $LAST_RC (want $2), stderr: $LAST_ERR"
	fi
}
# raw LINE: one request line on a fresh connection; prints the reply line.
raw() { psmd_request "$SOCK" "$1"; }
json_get() { python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval("d"+sys.argv[1]))' "$1"; }

psmd_need "$PSMD" "$CTL" "$QUERY"
chmod 0755 "$T"

cat >"$T/policy.json" <<-'POL'
{
  "roles": { "base": ["login:*"] },
  "bindings": [ { "user": "daemon", "roles": ["base"] } ],
  "services": { "sudo": "sudo:run" },
  "session_ttl": "1h"
}
POL
psmd_conf "$T/psmd.conf" "$SHM" "\"capacity\": 64,
  \"host_name\": \"$HOST\",
  \"metrics_file\": \"$T/psm.prom\",
  \"labels\": [\"web\", \"prod\"]"

check "psmd starts and serves its socket" psmd_start
check "socket mode 0666" test "$(stat -c %a "$SOCK")" = 666

# ---- grant ----------------------------------------------------------------------------------

ctl grant daemon sudo:run --ttl 2h --reason INC-42
G1=$LAST_OUT
check "grant --ttl --reason prints a grant id" test "$LAST_RC" -eq 0 -a "${#G1}" -eq 26
check "psm-query sees the grant at once" allowed daemon sudo:run
UNTIL=$(date -u -d '+1 day' +%Y-%m-%dT%H:%M:%SZ)
ctl grant daemon until:x --until "$UNTIL"
G2=$LAST_OUT
check "grant --until is allowed" allowed daemon until:x
ctl --json grants daemon
NA=$(printf '%s' "$LAST_OUT" | python3 -c '
import json,sys
for g in json.load(sys.stdin)["grants"]:
    if g["grant_id"] == sys.argv[1]: print(g["not_after_unix"])' "$G2")
check "grant --until sets not_after to that time" test "$NA" = "$(date -u -d "$UNTIL" +%s)"
ctl grant daemon from:x --from 10.0.0.0/8,LOCAL
check "grant --from: allowed from inside the CIDR" allowed daemon from:x --rhost 10.1.2.3
check "grant --from: denied from elsewhere" denied daemon from:x --rhost 192.0.2.1
ctl grant daemon host:me --hosts "$HOST"
check "grant --hosts this host is in the table" allowed daemon host:me
ctl grant daemon host:label --hosts prod
check "grant --hosts a label of this host is in the table" allowed daemon host:label
ctl grant daemon host:other --hosts other-host
GOTHER=$LAST_OUT
check "grant --hosts another host: acknowledged" test "$LAST_RC" -eq 0 -a "${#GOTHER}" -eq 26
check "grant --hosts another host: not in this table" denied daemon host:other
ctl grants daemon
check "grants lists the other host's grant" grep -q "$GOTHER" "$T/out"
check "grants lists the policy's grants (source policy)" grep -Eq 'login:\*.*policy' "$T/out"

# ---- expiry is the readers' job --------------------------------------------------------------

ctl grant daemon ttl:x --ttl 3s
check "3 s grant allowed at once" allowed daemon ttl:x
kill -STOP "$PSMD_PID"
sleep 4
check "expired grant denied by the reader while psmd cannot sweep" denied daemon ttl:x
kill -CONT "$PSMD_PID"

# ---- revoke ---------------------------------------------------------------------------------

ctl revoke "$G1"
check "revoke by id: exit 0" test "$LAST_RC" -eq 0
check "revoke by id takes effect at once" denied daemon sudo:run
ctl revoke daemon until:x
check "revoke by principal + pattern: exit 0" test "$LAST_RC" -eq 0
check "revoke by principal + pattern takes effect at once" denied daemon until:x
ctl revoke "$G1"
expect "revoke of a revoked grant: exit 2" 2 '^psmctl: revoke: .*already revoked'

# ---- check ----------------------------------------------------------------------------------

ctl check daemon login:ssh host:me
check "check several perms, all allowed: exit 0, a line each" \
	test "$LAST_RC" -eq 0 -a "$(printf '%s\n' "$LAST_OUT" | grep -c '^allow')" -eq 2
ctl check daemon login:ssh nope:x
check "check --all (default) with one denied: exit 1" test "$LAST_RC" -eq 1
ctl check daemon login:ssh nope:x --any
check "check --any with one allowed: exit 0" test "$LAST_RC" -eq 0
ctl check daemon nope:x --explain
check "check --explain says why" test "$LAST_RC" -eq 1 -a -n "$(printf '%s' "$LAST_OUT" | grep decision)"
ctl --json check daemon login:ssh
check "check --json is the reply" test "$(printf '%s' "$LAST_OUT" | json_get '["allowed"]')" = True

# ---- sessions -------------------------------------------------------------------------------

sleep 300 &
LEADER=$!
PIDS="$PIDS $LEADER"
REPLY=$(raw '{"op":"session_open","user":"daemon","service":"sshd","tty":"pts/7","rhost":"10.9.9.9","pid":'"$LEADER"',"audit":4242}')
SID=$(printf '%s' "$REPLY" | json_get '["session_id"]')
check "session_open registers a session" test "${#SID}" -eq 26
ctl sessions
check "sessions lists it with service sshd" grep -Eq "$SID +daemon +sshd" "$T/out"
ctl --json sessions daemon
check "sessions --json" test "$(printf '%s' "$LAST_OUT" | json_get '["sessions"][0]["pid"]')" = "$LEADER"
ctl session show "$SID"
check "session show" grep -q 'rhost: *10.9.9.9' "$T/out"
ctl session extend "$SID" --ttl 3h
EXP=$(ctl --json session show "$SID"; printf '%s' "$LAST_OUT" | json_get '["session"]["expires_unix"]')
NOW=$(date +%s)
check "session extend: expires about 3 h from now" test $((EXP - NOW)) -gt 10700
ctl grant daemon bound:x --session "$SID"
GB=$LAST_OUT
ctl grants daemon
check "session-bound grant listed" grep -q "$GB" "$T/out"
ctl session kill "$SID"
check "session kill: exit 0" test "$LAST_RC" -eq 0
check "session kill ends the leader" wait_for 3 bash -c "! kill -0 $LEADER 2>/dev/null"
wait "$LEADER" 2>/dev/null
ctl sessions
check "killed session no longer listed" bash -c "! grep -q $SID $T/out"
ctl grants daemon
check "session-bound grant died with its session" bash -c "! grep -q $GB $T/out"
ctl session kill "$SID"
check "session kill of an ended session: exit 0, not killed" \
	test "$LAST_RC" -eq 0 -a "$LAST_OUT" = "not killed (the session had already ended)"
ctl session kill aaaaaaaaaaaaaaaaaaaaaaaaaa
check "session kill of an id psmd never knew: exit 2, no such session" \
	test "$LAST_RC" -eq 2 -a "$LAST_ERR" = "psmctl: session kill: session aaaaaaaaaaaaaaaaaaaaaaaaaa: no such session"

# ---- expired but still held by psmd (for explanations) ----------------------------------------

sleep 300 &
LEADER=$!
PIDS="$PIDS $LEADER"
R=$(raw '{"op":"session_open","user":"daemon","service":"sshd","pid":'"$LEADER"',"ttl":"1s"}')
XSID=$(printf '%s' "$R" | json_get '["session_id"]')
ctl grant daemon held:x --ttl 1s
XG=$LAST_OUT
XEND=$(($(date +%s) + 1))
check "held: session and grant run out" wait_for 5 bash -c "[ \$(date +%s) -gt $XEND ]"
"$QUERY" --shm "$SHM" sessions >"$T/xq" 2>&1
check "psm-query sessions leaves out an expired session" bash -c "! grep -q $XSID $T/xq"
ctl sessions
check "sessions leaves out an expired session" bash -c "! grep -q $XSID $T/out"
ctl session show "$XSID"
expect "session show of an expired session: not found" 2 '^psmctl: .*expired'
ctl session extend "$XSID" --ttl 1h
expect "session extend of an expired session: not found" 2 '^psmctl: .*expired'
ctl revoke "$XG"
expect "revoke by id of an expired grant: not found" 2 '^psmctl: .*expired'
ctl export "$T/xexport.json"
check "export leaves out expired grants and sessions" \
	bash -c "! grep -Eq '$XG|$XSID' $T/xexport.json"
ctl session kill "$XSID"
check "session kill of an expired session still ends its leader" \
	wait_for 3 bash -c "! kill -0 $LEADER 2>/dev/null"
wait "$LEADER" 2>/dev/null

# ---- operations -----------------------------------------------------------------------------

ctl cleanup
check "cleanup prints a count" test "$LAST_RC" -eq 0 -a -n "$(printf '%s' "$LAST_OUT" | grep -E '^removed [0-9]+ expired entr(y|ies)$')"
ctl stats
check "stats: exit 0" test "$LAST_RC" -eq 0
ctl health
check "health: exit 0 healthy" test "$LAST_RC" -eq 0
ctl metrics
check "metrics: Prometheus # TYPE psm_ lines" grep -q '^# TYPE psm_table_entries gauge' "$T/out"
check "metrics: requests by op" grep -q '^psm_requests_total{op="grant"}' "$T/out"
check "metrics: fsync histogram" grep -q '^psm_journal_fsync_seconds_count' "$T/out"
check "metrics_file written (Prometheus text)" \
	wait_for 3 has_line "$T/psm.prom" '^# TYPE psm_table_capacity gauge'
ctl policy reload
check "policy reload: exit 0 with the counts" test "$LAST_RC" -eq 0 -a -n "$(printf '%s' "$LAST_OUT" | grep -x 'policy reloaded: 1 role, 1 binding, 0 deny rules, 0 warnings')"

# ---- bad input ------------------------------------------------------------------------------

ctl grant daemon x:y --ttl 5x
expect "bad ttl: exit 2" 2 '^psmctl: grant: ttl'
ctl grant daemon x:y --until 2001-01-01T00:00:00Z
expect "past --until: exit 2" 2 'in the past'
ctl grant daemon 'bad pattern'
expect "bad pattern: exit 2" 2 '^psmctl: grant: perm'
ctl grant no-such-user-xyz x:y
expect "unknown user: exit 2" 2 'unknown to NSS'
ctl grant %no-such-group-xyz x:y
expect "unknown group: exit 2" 2 'unknown to NSS'
R=$(raw '{"op":"frobnicate"}')
check "unknown op: unknown_op" grep -q '"code":"unknown_op"' <<<"$R"
R=$(raw '{"op":"grant","user":"daemon","perm":42}')
check "wrong type: invalid_argument naming the key" \
	grep -q '"code":"invalid_argument","message":"perm' <<<"$R"
R=$(raw '{"op":"grant","user":"daemon","perm":"a:b","colour":"red"}')
check "unknown key: invalid_argument naming the key" grep -q 'colour: unknown key' <<<"$R"
R=$(raw '{"op":"grant",')
check "invalid JSON: invalid_argument" grep -q '"code":"invalid_argument"' <<<"$R"
R=$(python3 - "$SOCK" <<-'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
try:
    s.sendall(b'{"op":"stats","tag":"' + b"x" * 70000 + b'"}\n')
except OSError:
    pass
f = s.makefile("rb")
line = f.readline().decode().strip()
try:
    rest = f.readline()
except ConnectionResetError:  # closed with our unread bytes in its queue
    rest = b""
print(line, "EOF" if rest == b"" else "OPEN")
PY
)
check "70 KiB frame: too_large, then the connection closes" \
	grep -Eq '"code":"too_large".* EOF$' <<<"$R"
ctl stats
check "daemon still serving after the bad input" test "$LAST_RC" -eq 0
check "psmd still alive" kill -0 "$PSMD_PID"

# ---- authorization --------------------------------------------------------------------------

ctl_as 65534 check nobody x:y
check "non-admin may check itself (exit 1: deny)" test "$LAST_RC" -eq 1
ctl_as 65534 grant nobody x:y
expect "non-admin grant: exit 4" 4 'not permitted'
ctl_as 65534 check daemon x:y
expect "non-admin checking another user: exit 4" 4 'not permitted'
ctl_as 65534 stats
check "non-admin may read stats" test "$LAST_RC" -eq 0
R=$(setpriv --reuid 65534 --regid 65534 --clear-groups /usr/bin/python3 - "$SOCK" <<-'PY'
import socket, sys
conns, last = [], ""
for i in range(17):
    s = socket.socket(socket.AF_UNIX)
    s.connect(sys.argv[1])
    conns.append(s)
s.settimeout(3)
try:
    last = s.makefile().readline().strip()
except OSError:
    pass
print(last)
PY
)
check "per-uid connection cap: the 17th is refused" grep -q '"ok":false' <<<"$R"

# ---- audit ----------------------------------------------------------------------------------

check "audit line for the grant (JSON, op, reason, result)" \
	grep -Eq '\{"time":"[^"]+","time_unix":[0-9]+,"uid":0,"user":"root","op":"grant","principal":"daemon","pattern":"sudo:run".*"reason":"INC-42","result":"ok"' "$LOG"
check "audit line for a refused grant" grep -q '"op":"grant".*"result":"not_permitted"' "$LOG"

# ---- export / import round trip ------------------------------------------------------------

ctl export "$T/export1.json"
check "export: exit 0" test "$LAST_RC" -eq 0
psmd_stop
rm -rf "$T/state"
psmd_start
ctl import "$T/export1.json" --dry-run
ctl export "$T/export-dry.json"
check "import --dry-run changes nothing" \
	test "$(json_get '["grants"]' <"$T/export-dry.json")" = "[]"
ctl import "$T/export1.json"
check "import: exit 0" test "$LAST_RC" -eq 0
ctl export "$T/export2.json"
check "export, import, export: the same document" cmp -s "$T/export1.json" "$T/export2.json"
check "imported grant in the table" allowed daemon host:me

# ---- restart keeps everything ------------------------------------------------------------------

psmd_stop
psmd_start
ctl export "$T/export3.json"
check "restart: the same state" cmp -s "$T/export1.json" "$T/export3.json"
check "restart: grants in the first table" allowed daemon host:label

# ---- session_expiry "kill" ------------------------------------------------------------------------

psmd_stop
sed -i 's/"labels"/"session_expiry": "kill",\n  "labels"/' "$T/psmd.conf"
psmd_start
sleep 300 &
LEADER=$!
PIDS="$PIDS $LEADER"
R=$(raw '{"op":"session_open","user":"daemon","service":"sshd","pid":'"$LEADER"',"ttl":"2s"}')
check "session with a 2 s ttl opened" grep -q '"ok":true' <<<"$R"
check "session_expiry kill: the leader is ended when the TTL runs out" \
	wait_for 8 bash -c "! kill -0 $LEADER 2>/dev/null"
wait "$LEADER" 2>/dev/null

tap_end
