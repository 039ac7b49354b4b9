#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tests/e2e/utf8.sh - invalid UTF-8 and control characters are refused, naming the field, in
# every string that enters through psmd's socket (raw frames, psmctl) or the policy; after the
# attempts psm-query --json (as an unprivileged uid) and psmctl export still write valid JSON.
# TAP lines "ok - NAME" / "not ok - NAME"; $BUILD (default build) holds psmd, psmctl, psm-query.
# Everything lives in a temp dir and the table /psm-e2e-utf8-PID; only processes started here
# are stopped (by pid).  Needs root, python3, setpriv.
set -u
# shellcheck source=../lib/psmd.sh
. "$(dirname "$0")/../lib/psmd.sh"
psmd_env utf8
SOCK=$T/run/psmd.sock

ctl() { run_capture "$CTL" -s "$SOCK" "$@"; }
# raw_as UID FORMAT: printf FORMAT (\xHH: raw bytes) sent as one request line by uid UID
# (0: root); prints the reply line.
raw_as() {
	printf "$2" >"$T/req.$1"
	setpriv --reuid "$1" --regid "$1" --clear-groups /usr/bin/python3 - "$SOCK" "$T/req.$1" <<-'PY'
	import socket, sys
	s = socket.socket(socket.AF_UNIX)
	s.connect(sys.argv[1])
	s.sendall(open(sys.argv[2], "rb").read() + b"\n")
	print(s.makefile("rb").readline().decode("utf-8", "replace").strip())
	PY
}
raw() { raw_as 0 "$1"; }
# refused NAME REPLY MESSAGE: the reply is invalid_argument with exactly MESSAGE.
refused() {
	local want="\"ok\":false,\"error\":{\"code\":\"invalid_argument\",\"message\":\"$3\"}"
	if [[ "$2" == *"$want"* ]]; then pass "$1"; else fail "$1" "got:  $2" "want: $want"; fi
}
# valid_json NAME FILE: FILE is one JSON document, or JSON lines, that python reads strictly.
valid_json() {
	if python3 -c '
import json, sys
data = open(sys.argv[1], "rb").read().decode("utf-8")   # strict: raises on bad bytes
lines = [l for l in data.splitlines() if l.strip()]
assert lines, "no output"
try:
    json.loads(data)
except ValueError:
    for l in lines:
        json.loads(l)
' "$2" 2>"$T/json.err"; then pass "$1"; else fail "$1" "$(cat "$T/json.err")" "$(head -c 400 "$2")"; fi
}

psmd_need "$PSMD" "$CTL" "$QUERY"
chmod 0755 "$T"
cat >"$T/policy.json" <<-'POL'
{
  "roles": { "base": ["login:*"] },
  "bindings": [ { "user": "daemon", "roles": ["base"] } ],
  "services": { "sshd": "login:ssh" }
}
POL
# table_group nogroup: uid 65534 with gid 65534 reads the table (psm-query).
psmd_conf "$T/psmd.conf" "$SHM" '"capacity": 64, "host_name": "utf8-host", "table_group": "nogroup"'
sed -i '/"table_group": "root"/d' "$T/psmd.conf"
check "psmd starts" psmd_start

sleep 300 &
LEADER=$!
PIDS="$PIDS $LEADER"
OPEN='{"op":"session_open","user":"daemon","service":"sshd","pid":'"$LEADER"
G='{"op":"grant","user":"daemon","perm":"a:b"'

# ---- the socket ------------------------------------------------------------------------------

R=$(raw "$OPEN"',"tty":"\xff"}')
refused "session_open: tty of a raw 0xff byte refused" "$R" "tty: invalid UTF-8 at byte 1"
R=$(raw "$OPEN"',"tty":"pts/1","rhost":"ab\xc3("}')
refused "session_open: rhost with a cut 2-byte sequence" "$R" "rhost: invalid UTF-8 at byte 3"
R=$(raw "$OPEN"',"metadata":{"client":"x\xed\xa0\x80"}}')
refused "session_open: metadata string with an encoded surrogate" "$R" "metadata.client: invalid UTF-8 at byte 2"
R=$(raw "$OPEN"',"metadata":{"k\x1b":"v"}}')
refused "session_open: metadata key with ESC" "$R" "metadata: key: control character U+001B at byte 2"
R=$(raw "$G"',"reason":"ok \xc0\xaf"}')
refused "grant: reason with an overlong encoding" "$R" "reason: invalid UTF-8 at byte 4"
R=$(raw "$G"',"reason":"a\\u0007b"}')
refused "grant: reason with \\\\u0007 (BEL)" "$R" "reason: control character U+0007 at byte 2"
R=$(raw "$G"',"reason":"a\\u009bb"}')
refused "grant: reason with \\\\u009b (C1 CSI)" "$R" "reason: control character U+009B at byte 2"
R=$(raw "$G"',"reason":"del\x7f"}')
refused "grant: reason with a raw DEL" "$R" "reason: control character U+007F at byte 4"
R=$(raw "$G"',"hosts":["web","\xfe"]}')
refused "grant: hosts item, named with its index" "$R" "hosts[1]: invalid UTF-8 at byte 1"
R=$(raw '{"op":"stats","tag":"t\xff"}')
refused "tag with invalid UTF-8" "$R" "tag: invalid UTF-8 at byte 2"
R=$(raw '{"op":"grant","\xff":1}')
refused "a key with invalid UTF-8 (not echoed)" "$R" "key: invalid UTF-8 at byte 1"
R=$(raw '{"op":"import","grants":[{"reason":"\xff"}]}')
refused "import: a grant's reason, named with its index" "$R" "grants[0].reason: invalid UTF-8 at byte 1"
R=$(raw "$G"',"reason":"\\ud800"}')
check "grant: a lone surrogate escape is invalid JSON" grep -q '"code":"invalid_argument","message":"request: invalid JSON' <<<"$R"
R=$(raw "$G"',"reason":"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x91"}')
check "grant: a reason in valid UTF-8 (2, 3, 4 bytes) is accepted" grep -q '"ok":true' <<<"$R"
R=$(raw "$OPEN"',"tty":"pts/9","metadata":{"client":"caf\xc3\xa9"}}')
check "session_open: valid UTF-8 metadata is accepted" grep -q '"ok":true' <<<"$R"

# an unprivileged uid: a "self" op refused for the bytes, not for who sends it
R=$(raw_as 65534 '{"op":"check","user":"nobody","perms":["a:b"],"rhost":"\xff","explain":true}')
refused "uid 65534: check with rhost 0xff refused naming rhost" "$R" "rhost: invalid UTF-8 at byte 1"

# psmctl runs the same validation before it connects
ctl grant daemon c:d --reason "$(printf 'x\xff')"
if [ "$LAST_RC" -eq 2 ] && [ "$LAST_ERR" = "psmctl: grant: reason: invalid UTF-8 at byte 2" ]; then
	pass "psmctl grant --reason with 0xff: exit 2 naming reason"
else
	fail "psmctl grant --reason with 0xff: exit 2 naming reason" "exit $LAST_RC: $LAST_ERR"
fi
ctl stats
check "psmd still serving" test "$LAST_RC" -eq 0

# ---- everyone's JSON still reads --------------------------------------------------------------

run_capture setpriv --reuid 65534 --regid 65534 --clear-groups "$QUERY" --shm "$SHM" --json sessions
cp "$T/out" "$T/q.json"
if [ "$LAST_RC" -eq 0 ] && [ -z "$LAST_ERR" ]; then
	pass "uid 65534: psm-query --json sessions: exit 0, nothing on stderr"
else
	fail "uid 65534: psm-query --json sessions: exit 0, nothing on stderr" "exit $LAST_RC: $LAST_ERR"
fi
valid_json "psm-query --json sessions is valid JSON" "$T/q.json"
check "psm-query --json sessions lists the good session" grep -q 'pts/9' "$T/q.json"
ctl export "$T/export.json"
check "psmctl export: exit 0" test "$LAST_RC" -eq 0
valid_json "psmctl export is valid JSON" "$T/export.json"
ctl --json sessions
printf '%s\n' "$LAST_OUT" >"$T/s.json"
valid_json "psmctl --json sessions is valid JSON" "$T/s.json"

# ---- the policy ------------------------------------------------------------------------------

printf '{\n  "roles": { "r": ["a:b"] },\n  "bindings": [ { "user": "daemon", "roles": ["r"],\n    "reason": "caf\xe9" } ]\n}\n' >"$T/latin1.json"
ctl policy check "$T/latin1.json"
if [ "$LAST_RC" -eq 2 ] && [ "$LAST_ERR" = "psmctl: $T/latin1.json:4:5: bindings[0].reason: invalid UTF-8 at byte 4" ]; then
	pass "policy check: Latin-1 reason refused at FILE:L:C naming it"
else
	fail "policy check: Latin-1 reason refused at FILE:L:C naming it" "exit $LAST_RC: $LAST_ERR"
fi
printf '{\n  "roles": { "r": ["a:b"] },\n  "bindings": [ { "user": "daemon", "roles": ["r"], "reason": "\\u001b[2J" } ]\n}\n' >"$T/esc.json"
ctl policy check "$T/esc.json"
if [ "$LAST_RC" -eq 2 ] && [ "$LAST_ERR" = "psmctl: $T/esc.json:3:53: bindings[0].reason: control character U+001B at byte 1" ]; then
	pass "policy check: ESC in a reason refused at FILE:L:C"
else
	fail "policy check: ESC in a reason refused at FILE:L:C" "exit $LAST_RC: $LAST_ERR"
fi
cp "$T/latin1.json" "$T/policy.json"
ctl policy reload
check "reload of a policy with invalid UTF-8: refused (exit 2)" test "$LAST_RC" -eq 2
ctl grants daemon
check "the running policy stays" grep -q 'login:\*' "$T/out"

# A policy.d file name becomes the source of its grants ("NAME binding 1"): the same rule.
mkdir -p "$T/pd/policy.d"
printf '{ "roles": {}, "bindings": [] }\n' >"$T/pd/policy.json"
printf '{ "roles": { "r": ["a:b"] }, "bindings": [ { "user": "daemon", "roles": ["r"] } ] }\n' \
	>"$T/pd/policy.d/$(printf '\xff\033[31mevil').json"
ctl policy check "$T/pd/policy.json"
if [ "$LAST_RC" -eq 2 ] &&
	[ "$LAST_ERR" = "psmctl: $T/pd/policy.d: file name: invalid UTF-8 at byte 1" ]; then
	pass "policy check: a policy.d file name with invalid UTF-8 is refused, the name not echoed"
else
	fail "policy check: a policy.d file name with invalid UTF-8 is refused, the name not echoed" \
		"exit $LAST_RC: $LAST_ERR"
fi

tap_end
