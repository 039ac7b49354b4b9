#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tests/e2e/query_self.sh - psm-query run by a normal user who cannot read the table (mode 0640,
# not in its group): their own check (with --explain and --json), user and sessions go through
# psmd's socket with the table's answers and exit codes; another user's question is refused
# (exit 4); psmd down is exit 3 with a clear line.  Also the tab-separated `user` listing.
# Runs as root in a private mount namespace (tests/lib/ns.sh); BUILD=dir (default build).
# shellcheck disable=SC2317,SC2119 # functions are called through ns_main
set -u
# shellcheck source=../lib/ns.sh
. "$(dirname "$0")/../lib/ns.sh"

write_policy() {
	cat >"$T/policy.json" <<-'EOF'
	// query_self end-to-end policy: alice may log in; db access only through grants.
	{
	  "roles": { "ssh": ["login:ssh"] },
	  "bindings": [ { "user": "psm-alice", "roles": ["ssh"] } ],
	  "services": { "sshd": "login:ssh" }
	}
	EOF
}

# q ARGS: psm-query on this test's table and socket, as root.
q() {
	"$PSM_QUERY" --shm "$PSM_SHM" --socket "$T/psmd.sock" "$@"
}

# q_alice ARGS: the same as psm-alice (who cannot read the table).
q_alice() {
	as_user psm-alice "$PSM_QUERY" --shm "$PSM_SHM" --socket "$T/psmd.sock" "$@"
}

# same_answer NAME RC ARGS: root (the table) and alice (psmd) answer ARGS with exit RC and the
# same output (--explain: but the table's age, which is the reader's).
same_answer() {
	local name=$1 rc=$2
	shift 2
	expect_rc "$name: root, from the table" "$rc" q "$@"
	grep -v '^table:' "$T/out" >"$T/root.out"
	expect_rc "$name: alice, through psmd" "$rc" q_alice "$@"
	grep -v '^table:' "$T/out" >"$T/alice.out"
	check "$name: the same answer" cmp -s "$T/root.out" "$T/alice.out" ||
		diff "$T/root.out" "$T/alice.out" | sed 's/^/# /'
}

scenario() {
	write_policy
	chmod 0755 "$T"
	start_psmd || return 1
	check "the table is mode 0640 root:root" [ "$(stat -c %a:%U:%G "$(table)")" = 640:root:root ]
	ctl grant psm-alice db:read --ttl 1h --reason "query_self" >/dev/null || return 1

	expect_rc "alice cannot read the table" 0 as_user psm-alice sh -c "! cat $(table) >/dev/null 2>&1"
	same_answer "own check, allowed" 0 check psm-alice db:read
	same_answer "own check, denied" 1 check psm-alice web:write
	same_answer "own check --explain, allowed" 0 check psm-alice db:read --explain
	expect_grep "the explanation names the grant" '^rule: +psm-alice +db:read' "$T/alice.out"
	same_answer "own check --explain, denied" 1 check psm-alice web:write --explain
	same_answer "own check --explain, policy" 0 check psm-alice login:ssh --explain

	expect_rc "own check --json" 0 q_alice --json check psm-alice db:read
	check "--json: the decision, through psmd" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["decision"] == "allow" and d["user"] == "psm-alice" and d["via"] == "psmd", d
' "$T/out"
	check "--json through psmd: a query_check of etc/psm.schema.json" \
		python3 tests/tools/json_check.py etc/psm.schema.json query_check "$T/out"
	expect_rc "own check --json --explain" 1 q_alice --json check psm-alice web:write --explain
	check "--json --explain through psmd: a query_check, explain structured" \
		python3 tests/tools/json_check.py etc/psm.schema.json query_check "$T/out"
	expect_rc "own user --json" 0 q_alice --json user psm-alice
	check "user --json through psmd: a query_user" \
		python3 tests/tools/json_check.py etc/psm.schema.json query_user "$T/out"
	expect_rc "own sessions --json" 0 q_alice --json sessions
	check "sessions --json through psmd: a query_sessions" \
		python3 tests/tools/json_check.py etc/psm.schema.json query_sessions "$T/out"

	expect_rc "another user's check is not permitted" 4 q_alice check psm-bob db:read
	expect_grep "... and says why" '^psm-query: psm-bob: not permitted \(table .*permission denied' -
	expect_rc "another user's grants are not permitted" 4 q_alice user psm-bob

	expect_rc "own user listing" 0 q_alice user psm-alice
	expect_grep "own grants, tab-separated" $'^psm-alice\tdb:read\t20[0-9-]+T[0-9:]+Z\t' "$T/out"
	sort "$T/out" >"$T/user.psmd"
	expect_rc "root's user listing from the table" 0 q user psm-alice
	expect_grep "the table's listing is tab-separated too" \
		$'^psm-alice\tdb:read\t20[0-9-]+T[0-9:]+Z\tpsmctl$' "$T/out"
	sort "$T/out" >"$T/user.table"
	check "own user listing through psmd: the table's lines (sources too)" \
		diff "$T/user.table" "$T/user.psmd"
	expect_rc "own sessions" 0 q_alice sessions

	stop_psmd
	expect_rc "psmd down: exit 3" 3 q_alice check psm-alice db:read
	expect_grep "... with a clear line" '^psm-query: psmd socket .*(is psmd running\?)' -
}

ns_main scenario
