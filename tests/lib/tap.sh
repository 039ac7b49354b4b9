# SPDX-License-Identifier: MIT
# tests/lib/tap.sh - TAP assertions and polling for psm's shell tests (sourced).
# shellcheck shell=bash
#
# Assertions print "ok - NAME" or "not ok - NAME" plus "#   " diagnostic lines; each returns
# 0 when it passed, 1 when it failed.  tap_end prints the plan and is the script's status.
# run_capture and the expect_* helpers keep output in $T/out and $T/err ($T: the test's
# temp dir).

TAP_COUNT=0
TAP_FAILED=0

pass() {
	TAP_COUNT=$((TAP_COUNT + 1))
	echo "ok - $1"
}

# fail NAME [DIAGNOSTIC...]: each diagnostic line is printed as a "# " comment.
fail() {
	local name=$1 line
	shift
	TAP_COUNT=$((TAP_COUNT + 1))
	TAP_FAILED=$((TAP_FAILED + 1))
	echo "not ok - $name"
	for line in "$@"; do
		printf '%s\n' "$line" | sed 's/^/#   /'
	done
	return 1
}

# check NAME CMD...: passes when CMD exits 0.
check() {
	local name=$1
	shift
	if "$@"; then pass "$name"; else fail "$name" "command failed: $*"; fi
}

# run_capture CMD...: runs CMD, sets LAST_RC, LAST_OUT, LAST_ERR (also in $T/out, $T/err).
run_capture() {
	"$@" >"$T/out" 2>"$T/err"
	LAST_RC=$?
	LAST_OUT=$(cat "$T/out")
	LAST_ERR=$(cat "$T/err")
	return 0
}

# expect_rc NAME RC CMD...: passes when CMD exits with RC (output as run_capture keeps it).
expect_rc() {
	local name=$1 want=$2
	shift 2
	run_capture "$@"
	if [ "$LAST_RC" -eq "$want" ]; then
		pass "$name"
	else
		fail "$name" "\$ $*" "expected exit $want, got $LAST_RC" \
			"stdout: $LAST_OUT" "stderr: $LAST_ERR"
	fi
}

# expect_grep NAME REGEX FILE|-: passes when the file (or $LAST_ERR$LAST_OUT for -)
# has a line matching the extended REGEX.  expect_text: the same for a fixed TEXT.
expect_grep() {
	tap_match -E "$@"
}

expect_text() {
	tap_match -F "$@"
}

tap_match() {
	local how=$1 name=$2 re=$3 src=$4 text
	if [ "$src" = - ]; then text="$LAST_OUT"$'\n'"$LAST_ERR"; else text=$(cat "$src" 2>&1); fi
	if printf '%s\n' "$text" | grep -q "$how" -- "$re"; then
		pass "$name"
	else
		fail "$name" "no line matches /$re/ in ${src/#-/the output}:" \
			"$(printf '%s\n' "$text" | tail -n 15)"
	fi
}

# tap_end: the plan line "1..N" (nothing when no test ran); status 0 when none failed.
tap_end() {
	[ "$TAP_COUNT" -gt 0 ] || return 0
	echo "1..$TAP_COUNT"
	[ "$TAP_FAILED" -eq 0 ] || echo "# $TAP_FAILED of $TAP_COUNT failed"
	[ "$TAP_FAILED" -eq 0 ]
}

# wait_for SECONDS CMD...: polls CMD every 0.05 s until it succeeds (0); 1 on timeout
# or as soon as CMD returns 2 (it can never succeed, e.g. the process died).
wait_for() {
	local limit=$(($1 * 20)) i=0 rc
	shift
	while :; do
		"$@"
		rc=$?
		[ "$rc" -ne 0 ] || return 0
		[ "$rc" -ne 2 ] || return 1
		i=$((i + 1))
		[ "$i" -lt "$limit" ] || return 1
		sleep 0.05
	done
}

# has_line FILE REGEX: FILE has a line matching the basic REGEX (1 also when FILE is missing).
has_line() {
	grep -q -- "$2" "$1" 2>/dev/null || return 1
}
