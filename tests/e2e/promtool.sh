#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tests/e2e/promtool.sh - the alert rules etc/prometheus/psm.rules.yml: valid (promtool check
# rules), right (promtool test rules with psm.rules.test.yml), every alert exercised by that
# test, and every psm_* metric they use one that psmd writes.
# Prints TAP-style "ok - NAME" / "not ok - NAME" lines.
set -u
# shellcheck source=../lib/tap.sh
. "$(dirname "$0")/../lib/tap.sh"
cd "$(dirname "$0")/../.." || exit 1
RULES=etc/prometheus/psm.rules.yml
TESTS=etc/prometheus/psm.rules.test.yml
T=$(mktemp -d /tmp/psm-e2e-promtool.XXXXXX)
trap 'rm -rf "$T"' EXIT
trap 'exit 1' HUP INT TERM PIPE

if ! command -v promtool >/dev/null; then
	fail "promtool is installed (Debian package prometheus: make deps-test)"
	tap_end
	exit 1
fi

expect_rc "promtool check rules" 0 promtool check rules "$RULES"
expect_rc "promtool test rules" 0 promtool test rules "$TESTS"
expect_text "the rule tests pass" "SUCCESS" -

# without_alert NAME: the rules file without alert NAME (its lines up to the next rule or comment).
without_alert() {
	awk -v name="$1" '
		/^      - alert: / { skip = ($3 == name) }
		/^      # / { skip = 0 }
		!skip' "$RULES" >"$T/psm.rules.yml"
}

# Each alert is covered: the test fails once the rule is gone.
cp "$TESTS" "$T/psm.rules.test.yml"
alerts=$(awk '/^      - alert: / { print $3 }' "$RULES")
for a in $alerts; do
	without_alert "$a"
	if grep -q "alert: $a\$" "$T/psm.rules.yml"; then
		fail "alert $a is covered by the rule tests" "could not remove it from a copy"
	elif promtool test rules "$T/psm.rules.test.yml" >"$T/out" 2>&1; then
		fail "alert $a is covered by the rule tests" "promtool test rules passes without it"
	else
		pass "alert $a is covered by the rule tests"
	fi
done
for want in PsmdDown PsmTableHeartbeatStale PsmTableNearCapacity PsmJournalCommitFailing \
	PsmJournalFsyncSlow PsmFleetDisconnected PsmFleetLagging PsmFleetRecordsDropped; do
	if printf '%s\n' "$alerts" | grep -qx "$want"; then pass "rules have $want"
	else fail "rules have $want"; fi
done

# The metric names are psmd's: a renamed metric breaks this test, not the alerting.
for m in $(grep -o 'psm_[a-z][a-z_]*' "$RULES" | sort -u); do
	if grep -rqF "\"$m" psmd --include='metrics*.c'; then pass "psmd writes $m"
	else fail "psmd writes $m" "no \"$m in psmd/metrics*.c"; fi
done
tap_end
