#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tests/e2e/journal_fail.sh - a journal commit that fails (state_dir full, EIO at the write or
# at the fdatasync) leaves PAM, the table, psmd's memory and the audit log as before the
# batch, answers "unavailable", and psmd takes changes again as soon as the disk does.
# Real psmd, real socket, real sudo as an unprivileged test user, in a private mount
# namespace (tests/lib/ns.sh); state_dir is a small tmpfs there, EIO comes from
# $BUILD/tools/failio.so preloaded into psmd.  BUILD=dir (default build).
# shellcheck disable=SC2317,SC2119 # functions are called through ns_main
set -u
# shellcheck source=../lib/ns.sh
. "$(dirname "$0")/../lib/ns.sh"

SUDO_DENIED='^sudo: PAM account management error: Permission denied$'

write_policy() {
	cat >"$T/policy.json" <<-'EOF2'
	// journal_fail: nobody may sudo but through a runtime grant.
	{ "roles": {}, "bindings": [], "services": { "sudo": "sudo:run" } }
	EOF2
}

ctl() {
	run_capture "$BUILD/psmctl" -s "$T/psmd.sock" "$@"
}

# raw LINES...: sends the request lines at once on one connection, prints the replies.
raw() {
	python3 - "$T/psmd.sock" "$@" <<-'PY'
	import socket, sys
	s = socket.socket(socket.AF_UNIX)
	s.connect(sys.argv[1])
	s.sendall("".join(l + "\n" for l in sys.argv[2:]).encode())
	f = s.makefile()
	for _ in sys.argv[2:]:
	    print(f.readline().strip())
	PY
}

# unavailable_replies N WHY: $T/replies holds N replies, each exactly
# {"ok":false,"error":{"code":"unavailable","message":"journal: ...WHY"},"tag":"tI"}.
unavailable_replies() {
	python3 - "$T/replies" "$1" "$2" <<-'PY'
	import json, sys
	lines = open(sys.argv[1]).read().splitlines()
	assert len(lines) == int(sys.argv[2]), lines
	for i, l in enumerate(lines):
	    r = json.loads(l)
	    assert set(r) == {"ok", "error", "tag"} and r["ok"] is False, l
	    assert r["tag"] == "t%d" % i, l
	    assert r["error"]["code"] == "unavailable", l
	    m = r["error"]["message"]
	    assert m.startswith("journal: ") and m.endswith(sys.argv[3]), l
	PY
}

grant_line() { # TAG REASON
	echo '{"op":"grant","user":"psm-bob","perm":"sudo:run","ttl":"1h","reason":"'"$2"'","tag":"'"$1"'"}'
}

no_audit() { ! grep -q "\"reason\":\"$1\"" "$T/psmd.log"; }
audit_ok() { grep -q "\"op\":\"grant\".*\"reason\":\"$1\".*\"result\":\"ok\"" "$T/psmd.log"; }
bob_has_no_grant() {
	"$BUILD/psmctl" -s "$T/psmd.sock" --json grants psm-bob >"$T/grants" 2>&1 &&
		python3 -c 'import json,sys; sys.exit(1 if json.load(open(sys.argv[1]))["grants"] else 0)' \
			"$T/grants"
}

bob_has_no_session() {
	"$BUILD/psmctl" -s "$T/psmd.sock" --json sessions >"$T/sessions" 2>&1 &&
		python3 -c 'import json,sys; sys.exit(1 if json.load(open(sys.argv[1]))["sessions"] else 0)' \
			"$T/sessions"
}

no_session_audit() { ! grep -q '"op":"session_open"' "$T/psmd.log"; }

# refused NAME WHY REASONS...: a pipelined batch of grants (one per REASON) and a session
# of psm-bob is refused as a whole; PAM, the table, the state and the audit log have none.
refused() {
	local name=$1 why=$2 r i=0 n0 lines=()
	shift 2
	for r in "$@"; do
		lines+=("$(grant_line "t$i" "$r")")
		i=$((i + 1))
	done
	lines+=('{"op":"session_open","user":"psm-bob","service":"sshd","tty":"pts/9","pid":'"$$"',"tag":"t'"$i"'"}')
	n0=$(grep -c 'journal commit failed' "$T/psmd.log")
	raw "${lines[@]}" >"$T/replies" 2>&1
	check "$name: logged once for the batch" \
		test "$(grep -c 'journal commit failed' "$T/psmd.log")" -eq $((n0 + 1))
	check "$name: every request of the batch gets unavailable, journal: ...$why" \
		unavailable_replies "${#lines[@]}" "$why"
	check "$name: psmd has no session for psm-bob" bob_has_no_session
	check "$name: no audit line for the session" no_session_audit
	expect_sudo_deny "$name: real sudo denies psm-bob"
	expect_rc "$name: psm-query denies it" 1 "$PSM_QUERY" --shm "$PSM_SHM" check psm-bob sudo:run
	check "$name: psmd's memory has no grant for psm-bob" bob_has_no_grant
	for r in "$@"; do
		check "$name: no audit line for $r" no_audit "$r"
	done
	expect_rc "$name: health is degraded while commits fail" 1 "$BUILD/psmctl" -s "$T/psmd.sock" health
	expect_grep "$name: health names the failed commit" "journal.*last commit failed: .*$why" \
		"$T/out"
	"$BUILD/psmctl" -s "$T/psmd.sock" metrics >"$T/metrics" 2>&1
	expect_grep "$name: the failure is counted" '^psm_journal_commit_failures_total [1-9]' \
		"$T/metrics"
}

expect_sudo_deny() {
	expect_rc "$1" 1 run_sudo psm-bob
	expect_grep "$1 (Permission denied)" "$SUDO_DENIED" -
}

# works_again NAME REASON: grant, sudo allowed, audit ok; revoke, sudo denied.
works_again() {
	local name=$1 id
	ctl grant psm-bob sudo:run --ttl 1h --reason "$2"
	id=$LAST_OUT
	check "$name: grant acknowledged without a restart" test "$LAST_RC" -eq 0 -a "${#id}" -eq 26
	expect_rc "$name: real sudo allows psm-bob" 0 run_sudo psm-bob
	check "$name: audit line ok" audit_ok "$2"
	expect_rc "$name: a commit that worked makes health healthy again" 0 "$BUILD/psmctl" -s "$T/psmd.sock" health
	ctl revoke "$id"
	check "$name: revoke acknowledged" test "$LAST_RC" -eq 0
	expect_sudo_deny "$name: after the revoke sudo denies psm-bob"
}

fill_state_dir() {
	dd if=/dev/zero of="$T/state/fill" bs=4k 2>/dev/null
	dd if=/dev/zero of="$T/state/fill2" bs=64 2>/dev/null
	return 0
}

# disk_full: state_dir full; grants of psm-alice fill the journal's last page until one
# is refused, then a batch for psm-bob is refused as a whole; space back, all works.
disk_full() {
	local i
	fill_state_dir
	for i in $(seq 60); do
		ctl grant psm-alice "pad:$i" --ttl 1h --reason "pad-$i"
		[ "$LAST_RC" -eq 0 ] || break
		echo "$LAST_OUT" >>"$T/acked"
	done
	check "ENOSPC: once the journal's last page is full a grant is refused, exit 3" \
		test "$LAST_RC" -eq 3
	expect_grep "ENOSPC: psmctl says why" '^psmctl: .*journal: .*No space left on device' -
	expect_rc "ENOSPC: psm-query denies the refused grant" 1 \
		"$PSM_QUERY" --shm "$PSM_SHM" check psm-alice "pad:$i"
	check "ENOSPC: no audit line for the refused grant" no_audit "pad-$i"
	refused "ENOSPC" "No space left on device" ENOSPC-1 ENOSPC-2 ENOSPC-3
	rm -f "$T/state/fill" "$T/state/fill2"
	works_again "space back" after-ENOSPC
}

# restart_psmd: a fresh psmd on the same state_dir, failio.so preloaded (each scenario
# stands on its own: none relies on what an earlier failure left).
restart_psmd() {
	[ -z "${PSMD_PID:-}" ] || stop_psmd
	LD_PRELOAD="$BUILD/tools/failio.so" PSM_FAILIO="$T/failio" start_psmd || return 1
	wait_for 10 "$BUILD/psmctl" -s "$T/psmd.sock" stats >/dev/null 2>&1
}

eio() { # write|fsync
	restart_psmd
	echo "$1" >"$T/failio"
	refused "EIO at $1" "Input/output error" "EIO-$1-1" "EIO-$1-2"
	rm -f "$T/failio"
	works_again "EIO at $1 gone" "after-EIO-$1"
}

# After a restart psmd has exactly the acknowledged grants: none of the refused ones.
after_restart() {
	restart_psmd
	"$BUILD/psmctl" -s "$T/psmd.sock" export >"$T/export" 2>&1
	check "restart: exactly the acknowledged grants that were not revoked are back" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
have = sorted(g["grant_id"] for g in d["grants"])
want = sorted(open(sys.argv[2]).read().split())
assert have == want, (have, want)' "$T/export" "$T/acked"
	check "restart: no torn tail was found" \
		sh -c "! grep -q 'torn' '$T/psmd.log'"
}

scenario() {
	write_policy
	mkdir -p "$T/state"
	mount -t tmpfs -o size=512k,mode=700 tmpfs "$T/state" || { fail "tmpfs state_dir"; return 1; }
	cp /etc/pam.d/sudo "$T/pam-sudo.orig"
	pam_psm_line >>/etc/pam.d/sudo
	restart_psmd || return 1
	expect_sudo_deny "no grant: real sudo denies psm-bob"
	disk_full
	eio write
	eio fsync
	after_restart
}

[ -f "$(dirname "$0")/../../${BUILD:-build}/tools/failio.so" ] ||
	[ -f "${BUILD:-build}/tools/failio.so" ] || { echo "not ok - failio.so is not built"; exit 1; }
ns_main scenario python3
