#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tests/e2e/history.sh - psmctl history from psmd's journal (grant, revoke, expiry, session
# events; --since/--until windows; --json) and psm-query check --at T --explain: before the
# grant denied, while it held allowed naming its id, after the revoke denied.
# Runs as root in a private mount namespace (tests/lib/ns.sh); BUILD=dir (default build).
# shellcheck disable=SC2317,SC2119 # functions are called through ns_main
set -u
# shellcheck source=../lib/ns.sh
. "$(dirname "$0")/../lib/ns.sh"

write_policy() {
	cat >"$T/policy.json" <<-'EOF'
	// history end-to-end policy: sudo only through grants.
	{ "roles": {}, "bindings": [], "services": { "sudo": "sudo:run" } }
	EOF
}

q() {
	"$PSM_QUERY" --shm "$PSM_SHM" --socket "$T/psmd.sock" "$@"
}

iso() {
	date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ
}

# after SECONDS: true once the clock has passed SECONDS (events a second apart).
after() {
	[ "$(date +%s)" -gt "$1" ]
}

# hist_has ARGS -- REGEX: psmctl history ARGS prints a line matching REGEX.
hist_has() {
	local re=${*: -1}
	ctl history "${@:1:$#-1}" 2>/dev/null | grep -Eq -- "$re"
}

scenario() {
	local t0 tg tr id sid reply leader
	write_policy
	start_psmd || return 1
	t0=$(date +%s)
	wait_for 5 after "$t0" || return 1
	id=$(ctl grant psm-alice sudo:run --ttl 1h --reason "deploy 42") || return 1
	tg=$(date +%s)
	ctl grant psm-bob db:read --ttl 1s >/dev/null || return 1
	setpriv --reuid="$(user_uid psm-carol)" --regid="$NS_ALL_GID" --init-groups \
		sleep 600 </dev/null >/dev/null 2>&1 &
	leader=$!
	ns_track "$leader"
	reply=$(psmd_request "$T/psmd.sock" '{"op":"session_open","user":"psm-carol","service":"sshd","pid":'"$leader"'}')
	sid=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1]).get("session_id", ""))' "$reply")
	[ -n "$sid" ] || echo "# session_open: $reply"
	wait_for 5 after "$tg" || return 1
	expect_rc "revoke" 0 ctl revoke "$id"
	tr=$(date +%s)
	wait_for 5 after "$tr" || return 1

	expect_rc "history" 0 ctl history
	expect_grep "the grant: time, event, principal, pattern, id, by whom, reason" \
		"^20[0-9-]+T[0-9:]+Z grant principal=psm-alice pattern=sudo:run id=$id by=root reason=\"deploy 42\" expires=" "$T/out"
	expect_grep "the revoke names the grant" "^20[0-9-]+T[0-9:]+Z revoke principal=psm-alice pattern=sudo:run id=$id " "$T/out"
	expect_grep "a session's opening" "^20[0-9-]+T[0-9:]+Z session_open principal=psm-carol service=sshd id=$sid" "$T/out"
	check "the expiry of bob's 1 s grant (derived from its end)" \
		wait_for 10 hist_has -- "^20[0-9-]+T[0-9:]+Z expire principal=psm-bob pattern=db:read "
	expect_rc "history of one user" 0 ctl history psm-alice
	check "... has only that user's events" [ "$(grep -c principal=psm-alice "$T/out")" -eq 2 ] &&
		[ "$(grep -vc principal=psm-alice "$T/out")" -eq 0 ]
	expect_rc "history --since after the revoke" 0 ctl history psm-alice --since "$(iso $((tr + 1)))"
	check "... is empty" [ ! -s "$T/out" ]
	expect_rc "history --until before the grant" 0 ctl history --until "$(iso $((t0 - 1)))"
	check "... is empty" [ ! -s "$T/out" ]
	expect_rc "history --since 1h (relative)" 0 ctl history psm-alice --since 1h
	check "... has the grant and the revoke" [ "$(grep -c "id=$id" "$T/out")" -eq 2 ]
	expect_rc "history --since garbage" 2 ctl history --since yesterday
	expect_grep "... says what a time is" "not a time" -
	expect_rc "history --json" 0 ctl --json history psm-alice
	check "--json: one object, RFC 3339 times and _unix integers" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["ok"] is True and [e["event"] for e in d["events"]] == ["grant", "revoke"], d
g = d["events"][0]
assert g["time"].endswith("Z") and isinstance(g["time_unix"], int) and g["id"] == sys.argv[2], g
' "$T/out" "$id"
	expect_rc "history is for admins" 4 as_user psm-alice "$BUILD/psmctl" -s "$T/psmd.sock" history

	expect_rc "--at before the grant: denied" 1 q check psm-alice sudo:run --at "$(iso $((tg - 5)))" --explain
	expect_rc "--at while it held: allowed" 0 q check psm-alice sudo:run --at "$(iso "$tg")" --explain
	expect_grep "... naming the grant's id" "^grant: +$id, made .* by root" "$T/out"
	expect_grep "... and what it was made from" "^at: .*grants from psmd's journal, today's policy" "$T/out"
	expect_rc "--at after the revoke: denied" 1 q check psm-alice sudo:run --at "$(iso "$tr")" --explain
	expect_rc "now: denied" 1 q check psm-alice sudo:run
	stop_psmd
	check "psmd stops cleanly (exit 0, got $PSMD_RC: under ASan, no leak)" test "$PSMD_RC" -eq 0
}

ns_main scenario
