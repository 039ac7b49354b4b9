#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tests/e2e/human_output.sh - what psmctl and psmd print for people: stats with units, plurals
# right ("1 record", "exported 1 grant"), import naming each invalid entry (exit 2), revoke
# naming a bad id character and a policy grant's FILE:LINE, grants of a user NSS does not know.
# TAP lines "ok - NAME" / "not ok - NAME".  $BUILD (default build) holds psmd, psmctl,
# psm-query.  Everything lives in a temp dir and the table /psm-e2e-out-PID; only the psmd
# started here is stopped (by pid).  Needs root, python3.
set -u
# shellcheck source=../lib/psmd.sh
. "$(dirname "$0")/../lib/psmd.sh"
psmd_env out

ctl() {
	run_capture "$CTL" -s "$SOCK" "$@"
}
allowed() { "$QUERY" --shm "$SHM" check "$@" >/dev/null 2>&1; }
# expect_err NAME RC REGEX: the last ctl exited RC, every stderr line is "psmctl: <what>: <why>"
# and one of them matches REGEX.
expect_err() {
	if [ "$LAST_RC" -ne "$2" ]; then
		fail "$1" "exit $LAST_RC, want $2" "stderr: $LAST_ERR"
	elif printf '%s\n' "$LAST_ERR" | grep -Evq '^psmctl: [^:]+: .+$'; then
		fail "$1" "a stderr line not 'psmctl: <what>: <why>'" "$LAST_ERR"
	else
		expect_grep "$1" "$3" "$T/err"
	fi
}
# no_bad_plural NAME FILE: no "1 <plural noun>" in FILE.
no_bad_plural() {
	local bad
	bad=$(grep -En '(^|[^0-9.,])1 (records|segments|journal segments|grants|sessions|entries|bytes|rules|deny rules|bindings|roles|warnings|commits|errors)\b' "$2")
	if [ -z "$bad" ]; then pass "$1"; else fail "$1" "$bad"; fi
}

psmd_need "$PSMD" "$CTL" "$QUERY"
chmod 0755 "$T"
cat >"$T/policy.json" <<-'POL'
{
  // one binding, one pattern: the table holds 1 record
  "bindings": [
    { "user": "bin", "perms": ["sudo:run"] }
  ]
}
POL
BIN_LINE=$(grep -n '"user": "bin"' "$T/policy.json" | cut -d: -f1)
psmd_conf "$T/psmd.conf" "$SHM"
check "psmd starts" psmd_start

# ---- psmd's log: counts and their nouns ------------------------------------------------------
check "log: serving SHM: 1 record (not 1 records)" \
	wait_for 5 has_line "$LOG" "^psmd: serving $SHM: 1 record, generation 1 (policy $T/policy.json: 0 roles, 1 binding, 0 deny rules, 0 warnings)"

# ---- stats: units and names a person reads ----------------------------------------------------
ctl stats
check "stats: exit 0" test "$LAST_RC" -eq 0
expect_grep "stats: table: N of 100,000 records (P%), size, generation" \
	'^table: +1 of 100,000 records \(0\.0%\), [0-9.]+ MiB, generation 1$' "$T/out"
expect_grep "stats: grants by source" '^grants: +1 from the policy, 0 admin, 0 from the fleet in the table; 0 runtime held$' "$T/out"
expect_grep "stats: fsync in ms" '^fsync: +avg [0-9.]+ ms, max [0-9.]+ ms$' "$T/out"
expect_grep "stats: uptime in s/min/h" '^uptime: +[0-9]+ (s|min( [0-9]+ s)?)$' "$T/out"
expect_grep "stats: requests with errors counted" '^requests: +[0-9]+ \(.*stats [0-9]+.*\); 0 errors$' "$T/out"
if grep -Eq 'fsync_avg_us|table_bytes|^capacity:' "$T/out"; then
	fail "stats: no raw reply keys" "$(cat "$T/out")"
else
	pass "stats: no raw reply keys"
fi

# ---- revoke: a bad id character, a policy grant --------------------------------------------
ctl revoke 'ab$cd'
expect_err "revoke of an id with a bad character names it and its position" 2 \
	"grant_id: \"ab\\\$cd\": character 3, '\\\$', is not a letter or digit"
ctl revoke 'abécd'
expect_err "revoke: a non-ASCII character by its code point" 2 \
	"character 3, 'é' \(U\+00E9\), is not a letter or digit"
ctl revoke bin sudo:run
expect_err "revoke of a policy grant says FILE:LINE and that it cannot be revoked at runtime" 2 \
	"revoke: bin sudo:run is granted by the policy, $T/policy.json:$BIN_LINE \(binding 1\): a policy grant cannot be revoked at runtime"
ctl revoke bin other:perm
expect_err "revoke matching nothing: no grant" 2 'revoke: no grant of bin with pattern other:perm$'
ctl grant daemon out:one --ttl 1h
G=$LAST_OUT
ctl revoke daemon out:one
check "revoke: revoked 1 grant" test "$LAST_RC" -eq 0 -a "$LAST_OUT" = "revoked 1 grant"

# ---- grants of a name NSS does not know --------------------------------------------------
ctl grants "nosuch-$$"
expect_err "grants USER unknown to NSS: exit 2, says so" 2 "^psmctl: grants: user \"nosuch-$$\" unknown to NSS$"
ctl grants "%nosuch-$$"
expect_err "grants %GROUP unknown to NSS: exit 2" 2 "grants: group \"nosuch-$$\" unknown to NSS"
ctl grants daemon
check "grants of a known user with none: exit 0" test "$LAST_RC" -eq 0

# ---- cleanup, export: their counts -------------------------------------------------------
ctl cleanup
check "cleanup: removed N expired entries" \
	test "$LAST_RC" -eq 0 -a "$LAST_OUT" = "removed 0 expired entries"
ctl grant daemon out:two --ttl 1h
G=$LAST_OUT
ctl export "$T/exp.json"
check "export: exported 1 grant, 0 sessions to FILE" \
	test "$LAST_RC" -eq 0 -a "$LAST_OUT" = "exported 1 grant, 0 sessions to $T/exp.json"

# ---- import: every entry invalid, then some --------------------------------------------------
cat >"$T/bad.json" <<-'JSON'
{"format":"psm-export","version":1,
 "grants":[{"grant_id":"x","principal":"alice"},
           {"principal":"alice","pattern":"a:b","not_after":"2x"}],
 "sessions":[]}
JSON
for dry in "" --dry-run; do
	ctl import "$T/bad.json" $dry
	expect_err "import ${dry:+$dry }of only invalid entries: exit 2" 2 \
		"^psmctl: import: $T/bad.json: entry 1 \(grant for alice\): grant_id: "
	expect_grep "import${dry:+ $dry}: a line for entry 2 too" \
		"^psmctl: import: $T/bad.json: entry 2 \(grant for alice\): grant_id: missing$" "$T/err"
	expect_grep "import${dry:+ $dry}: the summary says none was taken" \
		'import(ed)? 0 grants, 0 sessions; not imported: 2 invalid entries, 0 skipped' "$T/out"
done
python3 - "$T/exp.json" "$T/part.json" <<-'PY'
import json, sys
d = json.load(open(sys.argv[1]))
g = d["grants"][0]
gid = g["grant_id"]  # other ids: its first character changed (any base32 letter is one)
new = dict(g, grant_id=("r" if gid[0] != "r" else "s") + gid[1:], pattern="out:imported")
bad = dict(g, grant_id=("t" if gid[0] != "t" else "u") + gid[1:], not_after="2x")
d["grants"] += [new, bad]
json.dump(d, open(sys.argv[2], "w"))
PY
ctl import "$T/part.json"
expect_err "import partly invalid: exit 2, the bad entry named" 2 \
	"^psmctl: import: $T/part.json: entry 3 \(grant for daemon\): not_after: "
check "import partly invalid: one line on stderr" test "$(grep -c '' "$T/err")" -eq 1
expect_grep "import partly invalid: what was taken and what not" \
	'^imported 1 grant, 0 sessions; not imported: 1 invalid entry, 1 skipped$' "$T/out"
expect_grep "import partly invalid: the skipped entry and why" \
	'^skipped: entry 1 \(grant for daemon\): already present$' "$T/out"
check "import partly invalid: the valid entry is in the table" allowed daemon out:imported
ctl import "$T/exp.json"
check "import with nothing invalid: exit 0" test "$LAST_RC" -eq 0

# ---- restart: the state's counts in the log ----------------------------------------------
psmd_stop
check "psmd restarts" psmd_start
check "log: the state loaded" wait_for 5 has_line "$LOG" "^psmd: state .*: loaded "
no_bad_plural "psmd's log: no '1 <plural>'" "$LOG"

tap_end
