#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tests/e2e/policy_warn.sh - a binding or deny rule naming a user or group NSS does not know is a
# warning "FILE:LINE:COL: warning: ..." in psmd -n, psmctl policy check and a reload, counted in
# the summary line; --strict and "strict_policy": true make it an error (exit 2, reload refused).
# TAP lines "ok - NAME" / "not ok - NAME"; $BUILD (default build) holds psmd and psmctl.
# Everything lives in a temp dir and the table /psm-e2e-pwarn-PID; only processes started here
# are stopped (by pid).  Needs root, setpriv.
set -u
# shellcheck source=../lib/psmd.sh
. "$(dirname "$0")/../lib/psmd.sh"
psmd_env pwarn
SOCK=$T/run/psmd.sock
NOGROUP=psm-nogroup-$$
NOUSER=psm-nouser-$$

ctl() { run_capture "$CTL" -s "$SOCK" "$@"; }
# same NAME WANT: the last command's stdout is exactly WANT.
same() {
	if [ "$LAST_OUT" = "$2" ]; then pass "$1"; else fail "$1" "got:  $LAST_OUT" "want: $2" "stderr: $LAST_ERR"; fi
}
# rc_is NAME RC: the last command exited RC.
rc_is() {
	if [ "$LAST_RC" -eq "$2" ]; then pass "$1"; else fail "$1" "exit $LAST_RC (want $2)" "stdout: $LAST_OUT" "stderr: $LAST_ERR"; fi
}
# err_is NAME WANT: stderr is exactly WANT.
err_is() {
	if [ "$LAST_ERR" = "$2" ]; then pass "$1"; else fail "$1" "got:  $LAST_ERR" "want: $2"; fi
}

psmd_need "$PSMD" "$CTL"
chmod 0755 "$T"
getent group "$NOGROUP" >/dev/null && { echo "not ok - group $NOGROUP exists"; exit 1; }

# A clean policy: 1 role, 1 binding, 0 deny rules (every count singular or zero).
cat >"$T/clean.json" <<'POL'
{
  "roles": { "base": ["login:*"] },
  "bindings": [ { "user": "daemon", "roles": ["base"] } ]
}
POL
# The typo policy: line 5 col 7 is the "group" key of the second binding, line 7 col 15 the
# "user" key of the deny rule.
cat >"$T/typo.json" <<POL
{
  "roles": { "base": ["login:*"], "ops": ["sudo:run"], "x": ["a:b"] },
  "bindings": [
    { "user": "daemon", "roles": ["base"] },
    { "group": "$NOGROUP", "roles": ["ops"] }
  ],
  "deny": [ { "user": "$NOUSER", "perms": ["sudo:*"] } ]
}
POL
W1="$T/typo.json:5:7: warning: group \"$NOGROUP\" is unknown to NSS"
W2="$T/typo.json:7:15: warning: user \"$NOUSER\" is unknown to NSS"

# ---- psmctl policy check -------------------------------------------------------------------

ctl policy check "$T/clean.json"
rc_is "policy check clean: exit 0" 0
same "policy check clean: singular and zero counts" "policy OK: 1 role, 1 binding, 0 deny rules, 0 warnings"

ctl policy check "$T/typo.json"
rc_is "policy check typo: exit 0 without --strict" 0
same "policy check typo: warnings counted" "policy OK: 3 roles, 2 bindings, 1 deny rule, 2 warnings"
err_is "policy check typo: FILE:LINE:COL warning per unknown principal" "$(printf 'psmctl: %s\npsmctl: %s' "$W1" "$W2")"

ctl policy check "$T/typo.json" --strict
rc_is "policy check --strict typo: exit 2" 2
if [ -z "$LAST_OUT" ] && printf '%s' "$LAST_ERR" | grep -qF "$W1"; then
	pass "policy check --strict typo: no OK line, the warning on stderr"
else
	fail "policy check --strict typo: no OK line, the warning on stderr" "out: $LAST_OUT" "err: $LAST_ERR"
fi
ctl policy check "$T/clean.json" --strict
rc_is "policy check --strict clean: exit 0" 0

# ---- psmd -n ---------------------------------------------------------------------------------

psmd_conf "$T/psmd.conf" "$SHM" '"capacity": 64'
sed "s|$T/policy.json|$T/typo.json|" "$T/psmd.conf" >"$T/typo.conf"
sed 's|"capacity": 64|"capacity": 64, "strict_policy": true|' "$T/typo.conf" >"$T/strict.conf"
cp "$T/clean.json" "$T/policy.json"

run_capture "$PSMD" -n -c "$T/typo.conf"
rc_is "psmd -n typo: exit 0" 0
same "psmd -n typo: warnings counted" "$(printf 'policy OK: 3 roles, 2 bindings, 1 deny rule, 2 warnings\nconfiguration OK')"
err_is "psmd -n typo: FILE:LINE:COL warnings" "$(printf 'psmd: %s\npsmd: %s' "$W1" "$W2")"

run_capture "$PSMD" -n -c "$T/strict.conf"
rc_is "psmd -n with strict_policy: exit 2" 2
if [ -z "$LAST_OUT" ] && printf '%s' "$LAST_ERR" | grep -qF "$W1"; then
	pass "psmd -n with strict_policy: no OK line, the warning on stderr"
else
	fail "psmd -n with strict_policy: no OK line, the warning on stderr" "out: $LAST_OUT" "err: $LAST_ERR"
fi

run_capture "$PSMD" -n --strict -c "$T/typo.conf"
rc_is "psmd -n --strict typo: exit 2" 2
if [ -z "$LAST_OUT" ] && [ "$(printf '%s\n' "$LAST_ERR" | tail -n 1)" = "psmd: $W1 (and 1 more; strict: warnings are errors)" ]; then
	pass "psmd -n --strict: the warnings, then the error naming the first"
else
	fail "psmd -n --strict: the warnings, then the error naming the first" "out: $LAST_OUT" "err: $LAST_ERR"
fi
run_capture "$PSMD" --strict -c "$T/typo.conf"
rc_is "psmd --strict without -n: usage, exit 2" 2

# ---- reload -----------------------------------------------------------------------------------

check "psmd starts on the clean policy" psmd_start
cp "$T/typo.json" "$T/policy.json"
W1R="$T/policy.json:5:7: warning: group \"$NOGROUP\" is unknown to NSS"
ctl policy reload --strict
rc_is "policy reload --strict with a typo: exit 2" 2
if printf '%s' "$LAST_ERR" | grep -qF "$W1R"; then
	pass "policy reload --strict: refused, naming FILE:LINE:COL"
else
	fail "policy reload --strict: refused, naming FILE:LINE:COL" "err: $LAST_ERR"
fi
ctl grants daemon
if printf '%s' "$LAST_OUT" | grep -q 'login:\*' && ! printf '%s' "$LAST_OUT" | grep -q 'sudo:run'; then
	pass "refused reload: the running policy is kept"
else
	fail "refused reload: the running policy is kept" "$LAST_OUT"
fi
ctl policy reload
rc_is "policy reload with a typo (not strict): exit 0" 0
same "policy reload: counts with warnings" "policy reloaded: 3 roles, 2 bindings, 1 deny rule, 2 warnings"
err_is "policy reload: the warnings on stderr" "$(printf 'psmctl: %s\npsmctl: %s' "$W1R" "${W2//typo.json/policy.json}")"
check "psmd's log has the FILE:LINE:COL warning" has_line "$LOG" "$(printf '%s' "$W1R" | sed 's/[][\.*^$]/\\&/g')"

# strict_policy in psmd.conf: SIGHUP refuses the policy, psmd keeps serving the old one.
cp "$T/clean.json" "$T/policy.json"
ctl policy reload
sed -i 's|"capacity": 64|"capacity": 64, "strict_policy": true|' "$T/psmd.conf"
cp "$T/typo.json" "$T/policy.json"
kill -HUP "$PSMD_PID"
check "SIGHUP with strict_policy: reload failed (log)" \
	wait_for 10 has_line "$LOG" "reload failed, still serving the old table: .*warning: group .*(and 1 more; strict_policy: warnings are errors)"
ctl grants daemon
if [ "$LAST_RC" -eq 0 ] && ! printf '%s' "$LAST_OUT" | grep -q 'sudo:run'; then
	pass "SIGHUP refused: the clean policy still serves"
else
	fail "SIGHUP refused: the clean policy still serves" "$LAST_OUT"
fi
# At start strict_policy counts too: a restart never applies what a reload refused.
psmd_stop
: >"$LOG"
run_capture timeout -s KILL 20 "$PSMD" -d -c "$T/psmd.conf"
rc_is "psmd with strict_policy and a policy with warnings does not start: exit 2" 2
check "... and says why, naming the first warning" has_line "$T/err" \
	"warning: group .*(and 1 more; strict_policy: warnings are errors)"
sed -i 's|, "strict_policy": true||' "$T/psmd.conf"
check "without strict_policy psmd starts on it" psmd_start
check "... logs the warnings" has_line "$LOG" "warning: group \"$NOGROUP\" is unknown to NSS"
check "... and serves that policy (log: its counts)" \
	has_line "$LOG" "serving $SHM: .*3 roles, 2 bindings, 1 deny rule, 2 warnings)"
# A non-admin may not reload at all (unchanged).
run_capture setpriv --reuid 65534 --regid 65534 --clear-groups "$CTL" -s "$SOCK" policy reload
rc_is "policy reload as uid 65534: exit 4" 4

tap_end
