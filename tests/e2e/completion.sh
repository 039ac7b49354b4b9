#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tests/e2e/completion.sh - bash completion of psmctl and psm-query (etc/completion): commands,
# options, users, %groups, grant and session ids from a real psmd, file names, and nothing
# (quickly) when psmd is down or hangs.  The completion functions are called as bash calls
# them, with COMP_WORDS, COMP_CWORD, COMP_LINE and COMP_POINT set.
# TAP lines "ok - NAME" / "not ok - NAME". $BUILD (default build) holds psmd, psmctl, psm-query.
# Everything lives in a temp dir and the table /psm-e2e-comp-PID; only processes started here
# are stopped (by pid).  Needs root (psmd), python3, setpriv.
set -u
# shellcheck source=../lib/psmd.sh
. "$(dirname "$0")/../lib/psmd.sh"
psmd_env comp
psmd_need "$PSMD" "$CTL" "$QUERY"
# shellcheck source=../../etc/completion/psm-query
. etc/completion/psm-query

# comp FUNC WORD...: COMPREPLY of FUNC for the command line WORD... (the last word is the one
# being completed), one reply a line in $T/reply, sorted; its errors (under set -u) go to
# $T/comp.err, which must stay empty.
comp() {
	local f=$1
	shift
	COMP_WORDS=("$@")
	COMP_CWORD=$(($# - 1))
	COMP_LINE="$*"
	COMP_POINT=${#COMP_LINE}
	COMPREPLY=()
	"$f" 2>>"$T/comp.err"
	printf '%s\n' "${COMPREPLY[@]}" | sed '/^$/d' | sort >"$T/reply"
}
ctl_comp() { comp _psmctl "$CTL" "$@"; }
# sub_comp CMD... -- WORD...: psmctl's completion in a new bash run through CMD (setpriv,
# timeout); its replies in $T/reply as comp leaves them; its exit status.
sub_comp() {
	local cmd=() rc
	while [ "$1" != -- ]; do cmd+=("$1"); shift; done
	shift
	"${cmd[@]}" bash -c '. etc/completion/psmctl; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
		COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}; _psmctl; printf "%s\n" "${COMPREPLY[@]}"' \
		_ "$CTL" "$@" >"$T/sub"
	rc=$?
	sed '/^$/d' "$T/sub" | sort >"$T/reply"
	return "$rc"
}
query_comp() { comp _psm_query "$QUERY" "$@"; }

# replies_are NAME WORD...: the replies are exactly the WORDs.
replies_are() {
	local name=$1
	shift
	if [ "$(printf '%s\n' "$@" | sort)" = "$(cat "$T/reply")" ]; then
		pass "$name"
	else
		fail "$name" "want: $*" "got: $(tr '\n' ' ' <"$T/reply")"
	fi
}
# replies_have NAME WORD...: every WORD is among the replies.
replies_have() {
	local name=$1 w miss=""
	shift
	for w in "$@"; do
		grep -qxF -- "$w" "$T/reply" || miss="$miss $w"
	done
	if [ -z "$miss" ]; then pass "$name"; else
		fail "$name" "missing:$miss" "got: $(tr '\n' ' ' <"$T/reply" | cut -c1-400)"
	fi
}
# replies_all NAME REGEX: there are replies and every one matches the extended REGEX.
replies_all() {
	if [ -s "$T/reply" ] && ! grep -Evq -- "$2" "$T/reply"; then pass "$1"; else
		fail "$1" "want every reply to match /$2/" "got: $(tr '\n' ' ' <"$T/reply" | cut -c1-400)"
	fi
}
replies_lack() {
	if ! grep -qxF -- "$2" "$T/reply"; then pass "$1"; else fail "$1" "$2 was offered"; fi
}
# help_opts CMD...: the options psmctl's own help gives for CMD (not the global ones).
help_opts() {
	"$CTL" help "$@" | grep -Eo -- '--[a-z-]+' | grep -Evx -- '--(json|socket)' | sort -u
}
# leader: a process to stand for a session's leader; prints its pid.
leader() {
	sleep 600 &
	PIDS="$PIDS $!"
	LEADER=$!
}

cat >"$T/policy.json" <<-'POL'
{ "roles": { "base": ["login:*"] }, "bindings": [ { "user": "daemon", "roles": ["base"] } ] }
POL
psmd_conf "$T/psmd.conf" "$SHM" '"capacity": 64'
check "psmd starts" psmd_start

# Installed, each file is loaded on its own when its command is first completed.
f=$PWD/etc/completion/psm-query
(cd / && bash -c ". '$f' && complete -p psm-query psmctl") >"$T/complete" 2>&1
check "psm-query's file, sourced from elsewhere, registers both functions" \
	grep -qx 'complete -F _psm_query psm-query' "$T/complete"
check "psmctl's file registers _psmctl" bash -c ". etc/completion/psmctl && complete -p psmctl | grep -q _psmctl"

# ---- commands and options ---------------------------------------------------------------

ctl_comp ""
replies_have "psmctl: every command" grant revoke grants check sessions session cleanup stats \
	health metrics fleet export import policy recover keygen history help
# shellcheck disable=SC2046 # one command name a word
replies_have "psmctl: every command of psmctl --help is offered" \
	$("$CTL" --help | sed -n 's/^  \([a-z]\+\).*/\1/p' | sort -u)
ctl_comp gr
replies_are "psmctl gr: grant grants" grant grants
ctl_comp session ""
replies_are "psmctl session: its subcommands" show extend kill
ctl_comp policy ""
replies_are "psmctl policy: its subcommands" check reload
ctl_comp ""
ctl_comp -
replies_are "psmctl -: the global options" -s --socket --json --help --version
ctl_comp grant alice --
replies_are "psmctl grant --: grant's options" --ttl --until --from --hosts --session --reason \
	--json --socket --help
ctl_comp history --
replies_are "psmctl history --: --since and --until" --since --until --json --socket --help
# Every command psmctl --help lists ("session show": two words), with its options.
"$CTL" --help | sed -nE 's/^  ((session|policy) [a-z]+|[a-z]+)( .*)?$/\1/p' >"$T/cmds"
check "psmctl --help lists commands" test "$(wc -l <"$T/cmds")" -ge 15
while read -r c; do
	# shellcheck disable=SC2086 # "session extend": two words
	ctl_comp $c -
	# shellcheck disable=SC2046,SC2086 # one option a word
	replies_have "psmctl $c -: every option of psmctl help $c" $(help_opts $c)
done <"$T/cmds"
ctl_comp check root sudo : run --se
replies_are "psmctl check with PERM sudo:run (split at ':'): --service" --service
query_comp ""
replies_are "psm-query: its commands" check user sessions
query_comp check root --
replies_are "psm-query check --: check's options" --service --rhost --session --explain --at \
	--shm --socket --json --help
query_comp --
cp "$T/reply" "$T/query-opts"
query_comp check root --
sort -u "$T/reply" "$T/query-opts" -o "$T/reply"
# shellcheck disable=SC2046 # one option a word
replies_have "psm-query: every option of psm-query --help" \
	$("$QUERY" --help | grep -Eo -- '--[a-z-]+' | sort -u)

# ---- users and groups ---------------------------------------------------------------------

ctl_comp grant ro
replies_have "psmctl grant ro: user root and group %root" root %root
replies_all "psmctl grant ro: only names starting ro or %ro" '^%?ro'
ctl_comp grant %
replies_all "psmctl grant %: only %groups" '^%'
replies_have "psmctl grant %: %root among them" %root
ctl_comp check ro
replies_have "psmctl check ro: user root" root
replies_lack "psmctl check ro: no %group (check takes a user)" %root
query_comp user da
replies_have "psm-query user da: user daemon" daemon

# ---- ids from the running psmd -------------------------------------------------------------

G=$("$CTL" -s "$SOCK" grant daemon sudo:run --ttl 1h)
leader
S=$(psmd_request "$SOCK" '{"op":"session_open","user":"daemon","service":"sshd","pid":'"$LEADER"'}' |
	grep -Eo '"session_id": *"[a-z2-7]{26}"' | grep -Eo '[a-z2-7]{26}')
check "a grant and a session to complete" test "${#G}" -eq 26 -a "${#S}" -eq 26
ctl_comp -s "$SOCK" revoke ""
replies_have "psmctl revoke: the grant id from psmd" "$G"
replies_lack "psmctl revoke: no session id" "$S"
ctl_comp -s "$SOCK" revoke "${G:0:5}"
replies_are "psmctl revoke PREFIX: that grant id only" "$G"
ctl_comp -s "$SOCK" session kill ""
replies_are "psmctl session kill: the session id from psmd" "$S"
ctl_comp --socket="$SOCK" session show ""
replies_are "psmctl --socket=S session show: the session id" "$S"
ctl_comp -s "$SOCK" grant daemon x --session ""
replies_are "psmctl grant --session: the session id" "$S"
ctl_comp -s "$SOCK" grant daemon x --session = ""
replies_are "psmctl grant --session=: the session id" "$S"
query_comp --shm "$SHM" check daemon --session ""
replies_are "psm-query --session: the session id from the table" "$S"
sub_comp setpriv --reuid 65534 --regid 65534 --clear-groups -- -s "$SOCK" revoke ""
replies_have "psmctl revoke as nobody: user names still offered" root
replies_lack "psmctl revoke as nobody: no grant id (not permitted)" "$G"

# ---- files -------------------------------------------------------------------------------------

mkdir "$T/files" && touch "$T/files/state.json" "$T/files/policy.json"
ctl_comp import "$T/files/st"
replies_are "psmctl import: file names" "$T/files/state.json"
ctl_comp policy check "$T/files/p"
replies_are "psmctl policy check: file names" "$T/files/policy.json"
ctl_comp export "$T/files/"
replies_are "psmctl export DIR/: the files in it" "$T/files/policy.json" "$T/files/state.json"
ctl_comp -s "$T/fi"
replies_are "psmctl -s: file names" "$T/files"

# ---- psmd down or hanging --------------------------------------------------------------------

psmd_stop
ctl_comp -s "$SOCK" revoke ro
replies_are "psmd down: revoke offers only names" root %root
ctl_comp -s "$SOCK" session kill ""
replies_are "psmd down: session kill offers nothing"
python3 -c 'import socket,sys,time; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(8); time.sleep(600)' "$T/hang.sock" &
PIDS="$PIDS $!"
wait_for 10 test -S "$T/hang.sock"
sub_comp timeout 10 -- -s "$T/hang.sock" session kill ""
check "a psmd that never answers: completion gives up in time (within 10 s)" test $? -ne 124
replies_are "a psmd that never answers: nothing offered" 

check "the completion functions printed no error (set -u)" test ! -s "$T/comp.err"
[ -s "$T/comp.err" ] && sed 's/^/#   /' "$T/comp.err" | head -n 5
tap_end
