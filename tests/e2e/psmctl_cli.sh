#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tests/e2e/psmctl_cli.sh - psmctl without psmd: usage, bad input (exit 2 before connecting),
# no daemon (exit 3), help, and the local `policy check`. TAP lines "ok - NAME" / "not ok - NAME".
# $BUILD (default build) holds psmctl. Files live in a temp dir, removed on exit.
set -u
# shellcheck source=../lib/psmd.sh
. "$(dirname "$0")/../lib/psmd.sh"
psmd_env psmctl
NOSOCK=$T/absent.sock

# run ARGS...: runs psmctl; sets LAST_RC, LAST_OUT, LAST_ERR.
run() {
	run_capture "$CTL" "$@"
}

# expect NAME RC ERR_REGEX ARGS...: exit code RC and stderr exactly one line matching
# "psmctl: <what>: <why>" and ERR_REGEX.
expect() {
	local name=$1 rc=$2 re=$3 lines
	shift 3
	run "$@"
	lines=$(printf '%s' "$LAST_ERR" | grep -c '')
	if [ "$LAST_RC" -ne "$rc" ]; then
		fail "$name" "psmctl $*" "exit $LAST_RC, want $rc" "stderr: $LAST_ERR"
	elif [ "$lines" -ne 1 ]; then
		fail "$name" "psmctl $*" "stderr has $lines lines, want 1" "stderr: $LAST_ERR"
	elif ! printf '%s' "$LAST_ERR" | grep -Eq '^psmctl: .+: .+$'; then
		fail "$name" "psmctl $*" "stderr not 'psmctl: <what>: <why>': $LAST_ERR"
	elif ! printf '%s' "$LAST_ERR" | grep -Eq -- "$re"; then
		fail "$name" "psmctl $*" "stderr does not match /$re/: $LAST_ERR"
	else
		pass "$name"
	fi
}

psmd_need "$CTL"

# ---- help and version ------------------------------------------------------------
run --help
if [ "$LAST_RC" -eq 0 ] && printf '%s' "$LAST_OUT" | grep -q 'session extend' &&
	printf '%s' "$LAST_OUT" | grep -q 'policy check'; then
	pass "--help prints the full usage, exit 0"
else
	fail "--help prints the full usage, exit 0" "exit $LAST_RC" "$LAST_OUT"
fi
run --version
if [ "$LAST_RC" -eq 0 ] && printf '%s' "$LAST_OUT" | grep -Eq '^psmctl [0-9]+\.[0-9]+'; then
	pass "--version"
else
	fail "--version" "exit $LAST_RC: $LAST_OUT"
fi
run help grant
if [ "$LAST_RC" -eq 0 ] && printf '%s' "$LAST_OUT" | grep -q -- '--ttl' && [ -z "$LAST_ERR" ]; then
	pass "help grant"
else
	fail "help grant" "exit $LAST_RC: $LAST_OUT $LAST_ERR"
fi
run grant --help
if [ "$LAST_RC" -eq 0 ] && printf '%s' "$LAST_OUT" | grep -q 'usage: psmctl .*grant USER'; then
	pass "grant --help"
else
	fail "grant --help" "exit $LAST_RC: $LAST_OUT $LAST_ERR"
fi
run
if [ "$LAST_RC" -eq 2 ] && printf '%s' "$LAST_ERR" | grep -q '^usage: psmctl'; then
	pass "no command: usage on stderr, exit 2"
else
	fail "no command: usage on stderr, exit 2" "exit $LAST_RC: $LAST_ERR"
fi

# ---- usage errors: exit 2, one line ------------------------------------------------------
expect "unknown command" 2 'frobnicate: unknown command' frobnicate
expect "unknown session subcommand" 2 'session frob: unknown command' session frob x
expect "help for an unknown command" 2 'help: unknown command' help nothing
expect "unknown global option" 2 '--bogus: unknown option' --bogus stats
expect "-s without a path" 2 '-s: needs a socket path' -s
expect "unknown command option" 2 '^psmctl: grant: --colour: unknown option' \
	-s "$NOSOCK" grant alice sudo:run --colour red
expect "option of another command" 2 'check: --ttl: unknown option' \
	-s "$NOSOCK" check alice sudo:run --ttl 2h
expect "option without its value" 2 'grant: --ttl: needs a value' \
	-s "$NOSOCK" grant alice sudo:run --ttl
expect "flag given a value" 2 'check: --explain: takes no value' \
	-s "$NOSOCK" check alice sudo:run --explain=yes
expect "grant: missing argument" 2 'grant: missing argument' -s "$NOSOCK" grant alice
expect "grant: too many arguments" 2 'grant: too many arguments' -s "$NOSOCK" grant a b c
expect "revoke: missing argument" 2 'revoke: missing argument' -s "$NOSOCK" revoke
expect "check: missing PERM" 2 'check: missing argument' -s "$NOSOCK" check alice
expect "session extend without --ttl" 2 'session extend: --ttl: required' \
	-s "$NOSOCK" session extend abc
expect "stats takes no argument" 2 'stats: too many arguments' -s "$NOSOCK" stats x

# ---- bad input: exit 2 before connecting (the socket does not exist) ------------------------
expect "bad TTL" 2 "grant: ttl \"5x\": unknown unit 'x'" \
	-s "$NOSOCK" grant alice sudo:run --ttl 5x
expect "zero TTL" 2 'grant: ttl "0": must be positive' -s "$NOSOCK" grant alice sudo:run --ttl 0
expect "bad --until" 2 'grant: until: time "next-week"' \
	-s "$NOSOCK" grant alice sudo:run --until next-week
expect "--ttl and --until together" 2 'grant: ttl, until: give one or the other' \
	-s "$NOSOCK" grant alice sudo:run --ttl 2h --until 2030-01-01T00:00:00Z
expect "bad pattern" 2 "grant: perm: pattern \"sudo:r!n\": bad character '!' at 7" \
	-s "$NOSOCK" grant alice 'sudo:r!n' --ttl 2h
expect "bad --from" 2 'grant: from: ' -s "$NOSOCK" grant alice sudo:run --from 10.0.0.0/33
expect "empty --from item" 2 'grant: from: items are 1 to 255 bytes' \
	-s "$NOSOCK" grant alice sudo:run --from 10.0.0.0/8,
expect "bad --hosts" 2 'grant: hosts: "web 01": not a host name' \
	-s "$NOSOCK" grant alice sudo:run --hosts 'web 01'
expect "reason too long" 2 'grant: reason: longer than 255 bytes' \
	-s "$NOSOCK" grant alice sudo:run --reason "$(printf 'x%.0s' $(seq 256))"
expect "bad user name" 2 'grant: user: "al:ice": bad character' -s "$NOSOCK" grant al:ice sudo:run
expect "check: a pattern is not a permission" 2 'check: perms: permission "sudo:\*"' \
	-s "$NOSOCK" check alice 'sudo:*'
expect "check: a group is not a user" 2 'check: user: "%wheel"' -s "$NOSOCK" check %wheel sudo:run
expect "check: 65 permissions" 2 'check: too many arguments' \
	-s "$NOSOCK" check alice $(seq -f 'p%g' 65)
expect "revoke: bad grant id" 2 'revoke: grant_id: "a/b": character 2, ./., is not a letter or digit' -s "$NOSOCK" revoke a/b
expect "session show: bad id" 2 'session show: session_id: ' -s "$NOSOCK" session show 'x y'
expect "session extend: bad TTL" 2 "session extend: ttl \"1q\"" \
	-s "$NOSOCK" session extend abc --ttl 1q
expect "import: missing file" 2 "import: $T/none.json: No such file or directory" \
	-s "$NOSOCK" import "$T/none.json"
printf '{"grants": [' >"$T/broken.json"
expect "import: not JSON" 2 'import: .*broken.json: not valid JSON' -s "$NOSOCK" import "$T/broken.json"
printf '{"format":"other","grants":[]}' >"$T/other.json"
expect "import: not an export file" 2 'import: .*other.json: format: expected "psm-export"' \
	-s "$NOSOCK" import "$T/other.json"

# ---- no daemon: exit 3 ------------------------------------------------------------------
expect "no socket: exit 3, is psmd running?" 3 \
	"^psmctl: psmd socket $NOSOCK: connect: No such file or directory \\(is psmd running\\?\\)$" \
	-s "$NOSOCK" stats
expect "options after the arguments: -s last" 3 "psmd socket $NOSOCK: connect: No such file" \
	grants alice --json -s "$NOSOCK"
expect "valid grant reaches the connect" 3 "psmd socket $NOSOCK: connect: " \
	-s "$NOSOCK" grant alice sudo:run --ttl 2h --reason INC-42 --from 10.0.0.0/8,LOCAL
expect "valid check reaches the connect" 3 "psmd socket $NOSOCK: connect: " \
	-s "$NOSOCK" check alice sudo:run login:ssh --any --explain --service sudo
printf '{"format":"psm-export","version":1,"grants":[],"sessions":[]}' >"$T/empty.json"
expect "import of an export file reaches the connect" 3 "psmd socket $NOSOCK: connect: " \
	-s "$NOSOCK" import "$T/empty.json" --dry-run
python3 - "$T/stale.sock" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1])
s.close()
EOF
expect "stale socket (nobody listening): exit 3" 3 "psmd socket $T/stale.sock: connect: Connection refused" \
	-s "$T/stale.sock" health
expect "socket path too long" 2 ': path too long' -s "/tmp/$(printf 'x%.0s' $(seq 120))" stats

# ---- policy check: local, no daemon ------------------------------------------------------
cat >"$T/policy.json" <<'EOF'
{
  // the SPEC example
  "roles": { "ops": ["login:*", "sudo:run"], "dev": ["login:ssh"], "admin": ["*"] },
  "bindings": [
    { "group": "root", "roles": ["admin"] },
    { "user": "root", "roles": ["dev"], "from": ["10.0.0.0/8", "LOCAL"] }
  ],
  "deny": [ { "user": "nobody", "perms": ["sudo:*"] } ],
  "services": { "sshd": "login:ssh", "sudo": "sudo:run" },
  "session_ttl": "12h"
}
EOF
run -s "$NOSOCK" policy check "$T/policy.json"
if [ "$LAST_RC" -eq 0 ] && [ "$LAST_OUT" = "policy OK: 3 roles, 2 bindings, 1 deny rule, 0 warnings" ] && [ -z "$LAST_ERR" ]; then
	pass "policy check: good file, exit 0"
else
	fail "policy check: good file, exit 0" "exit $LAST_RC" "out: $LAST_OUT" "err: $LAST_ERR"
fi
run --json policy check "$T/policy.json"
if [ "$LAST_RC" -eq 0 ] && printf '%s' "$LAST_OUT" | python3 -c \
	'import json,sys; d=json.load(sys.stdin); sys.exit(0 if d["policy"]["roles"]==3 else 1)'; then
	pass "policy check --json"
else
	fail "policy check --json" "exit $LAST_RC: $LAST_OUT"
fi
cat >"$T/bad.json" <<'EOF'
{
  "roles": { "dev": ["login:ssh"] },
  "bindings": [ { "user": "root", "roles": ["dev"], "colour": "red" } ]
}
EOF
expect "policy check: bad file, exit 2 with FILE:L:C" 2 \
	"^psmctl: $T/bad.json:3:[0-9]+: .*colour" policy check "$T/bad.json"
printf '{ "roles": { "dev": ["login:s!sh"] } }\n' >"$T/badperm.json"
expect "policy check: bad pattern, FILE:L:C" 2 "^psmctl: $T/badperm.json:1:[0-9]+: .*'!'" \
	policy check "$T/badperm.json"
expect "policy check: missing file" 2 "$T/none.json" policy check "$T/none.json"
expect "policy check: missing FILE argument" 2 'policy check: missing argument' policy check

tap_end
