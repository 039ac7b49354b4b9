#!/usr/bin/env bash
# tests/run.sh - runs psm's test layers and prints one closing line "N passed, N failed".
#   tests/run.sh BUILD [ASAN_BUILD]      the tree's format (tests/style.sh), unit tests and the
#                                        fuzz corpora replayed in each build dir, then e2e tests
#   tests/run.sh --unit-only BUILD...    unit tests and corpus replays only
#   tests/run.sh --e2e-only BUILD        e2e tests only
#   tests/run.sh --valgrind-only BUILD   unit tests under valgrind only (make test runs them on
#                                        BUILD after the unit tests)
# Unit tests are cmocka groups (their "[  PASSED  ] N test(s)" lines are summed);
# e2e scripts print TAP-style "ok - NAME" / "not ok - NAME" lines.
set -u
cd "$(dirname "$0")/.."
mode=all
case "${1:-}" in
--unit-only) mode=unit; shift ;;
--e2e-only) mode=e2e; shift ;;
--valgrind-only) mode=valgrind; shift ;;
esac
[ $# -ge 1 ] || { echo "usage: tests/run.sh [--unit-only|--e2e-only|--valgrind-only] BUILD [BUILD...]" >&2; exit 2; }

passed=0 failed=0 failed_names=()
log_dir=$(mktemp -d /tmp/psm-test-logs.XXXXXX)

# left_behind PID LOG: removes the tables /psm-test-PID-* a test binary left in /dev/shm
# (they name theirs so); true, with a line in LOG, when there were any.
left_behind() {
	local left
	left=$(find /dev/shm -maxdepth 1 -name "psm-test-$1-*" 2>/dev/null)
	[ -n "$left" ] || return 1
	echo "[  ERROR   ] left shared-memory tables behind:" $left >>"$2"
	rm -f $left
}

# unit_result DIR TEST RC OUT LABEL: counts one unit test binary's log (cmocka groups) and
# prints its line, or its failures.
unit_result() {
	local dir=$1 t=$2 rc=$3 out=$4 label=$5 p f
	p=$(grep -Eo '^\[  PASSED  \] [0-9]+' "$out" | awk '{s+=$4} END {print s+0}')
	f=$(grep -Eo '^\[  FAILED  \] [0-9]+' "$out" | awk '{s+=$4} END {print s+0}')
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
	passed=$((passed + p)); failed=$((failed + f))
	if [ "$f" -ne 0 ]; then
		failed_names+=("$label $dir/$(basename "$t")")
		echo "FAIL $label $dir/$(basename "$t") (log: $out)"
		grep -E '^\[  (FAILED|ERROR) |error:|Failure|^==[0-9]+== [A-Z]' "$out" | head -20
	else
		printf '%-10s %-40s %4d passed\n' "$label" "$(basename "$t")" "$p"
	fi
}

# unit_tests DIR: the unit test binaries built in DIR (not those of removed sources).
unit_tests() {
	local t
	for t in "$1"/tests/test_*; do
		[ -x "$t" ] && [ -f "tests/unit/$(basename "$t").c" ] && echo "$t"
	done
}

run_unit_dir() {
	local dir=$1 t out rc pid
	for t in $(unit_tests "$dir"); do
		out="$log_dir/$(basename "$dir")-$(basename "$t").log"
		"$t" >"$out" 2>&1 &
		pid=$!
		wait "$pid"
		rc=$?
		if left_behind "$pid" "$out"; then rc=1; echo "[  FAILED  ] 1 (tables left)" >>"$out"; fi
		unit_result "$dir" "$t" "$rc" "$out" "$(basename "$dir")"
	done
}

# The unit tests again under valgrind's memcheck (as SSSD runs its suite): any invalid access,
# uninitialised use, or definite/indirect/possible leak fails the test (still-reachable blocks
# are glibc's NSS and dlopen caches, and a forked child's heap at _exit).  Two at a time.
# What cannot run under valgrind skips, and the damage sweeps sample: tests/unit/under_valgrind.h.
VG=(valgrind -q --leak-check=full --show-leak-kinds=definite,indirect,possible
	--errors-for-leak-kinds=definite,indirect,possible --error-exitcode=99)
run_valgrind_dir() {
	local dir=$1 t out jobs=0 n=${VG_JOBS:-2}
	command -v valgrind >/dev/null || { failed=$((failed + 1)); failed_names+=(valgrind); \
		echo "FAIL valgrind: not installed (make deps-test)"; return; }
	for t in $(unit_tests "$dir"); do
		out="$log_dir/valgrind-$(basename "$t").log"
		( "${VG[@]}" "$t" >"$out" 2>&1; echo "rc=$?" >"$out.rc" ) &
		jobs=$((jobs + 1))
		[ "$jobs" -lt "$n" ] || { wait -n; jobs=$((jobs - 1)); }
	done
	wait
	for t in $(unit_tests "$dir"); do
		out="$log_dir/valgrind-$(basename "$t").log"
		unit_result "$dir" "$t" "$(sed -n 's/^rc=//p' "$out.rc")" "$out" valgrind
	done
}

run_e2e() {
	local build=$1 s out rc p f
	for s in tests/e2e/*.sh; do
		[ -f "$s" ] || continue
		out="$log_dir/e2e-$(basename "$s" .sh).log"
		BUILD="$build" timeout 600 bash "$s" >"$out" 2>&1
		rc=$?
		p=$(grep -c '^ok ' "$out")
		f=$(grep -c '^not ok ' "$out")
		if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; echo "not ok - $(basename "$s") exited $rc" >>"$out"; fi
		passed=$((passed + p)); failed=$((failed + f))
		if [ "$f" -ne 0 ]; then
			failed_names+=("$s")
			echo "FAIL $s (log: $out)"; grep -E '^not ok|^#' "$out" | head -30; tail -n 15 "$out"
		else
			printf '%-10s %-40s %4d passed\n' e2e "$(basename "$s")" "$p"
		fi
	done
}

# The tree's format (.clang-format): one line per file, counted like an e2e script.
run_style() {
	local out="$log_dir/style.log" p f
	tests/style.sh >"$out" 2>&1
	p=$(grep -c '^ok ' "$out"); f=$(grep -c '^not ok ' "$out")
	[ "$p" -gt 0 ] || f=$((f + 1))
	passed=$((passed + p)); failed=$((failed + f))
	if [ "$f" -ne 0 ]; then
		failed_names+=(tests/style.sh)
		echo "FAIL tests/style.sh (log: $out)"; grep -m 20 '^not ok' "$out"
	else
		printf '%-10s %-40s %4d passed\n' style "tests/style.sh" "$p"
	fi
}

# Every fuzz corpus file through its harness, without fuzzing (tests/fuzz/replay.sh): one
# line per harness, counted like an e2e script.
run_replay_dir() {
	local dir=$1 out="$log_dir/$(basename "$1")-fuzz-replay.log" p f
	tests/fuzz/replay.sh "$dir" >"$out" 2>&1
	p=$(grep -c '^ok ' "$out"); f=$(grep -c '^not ok ' "$out")
	[ "$p" -gt 0 ] || f=$((f + 1))
	passed=$((passed + p)); failed=$((failed + f))
	if [ "$f" -ne 0 ]; then
		failed_names+=("$dir/fuzz replay")
		echo "FAIL $dir fuzz replay (log: $out)"; grep -m 20 -A 10 '^not ok' "$out"
	else
		printf '%-10s %-40s %4d passed (%s inputs)\n' "$(basename "$dir")" "fuzz corpus replay" "$p" \
			"$(grep -Eo '[0-9]+ inputs replayed' "$out" | awk '{s+=$1} END {print s+0}')"
	fi
}

case $mode in
unit) for d in "$@"; do run_unit_dir "$d"; run_replay_dir "$d"; done ;;
e2e) run_e2e "$1" ;;
all) run_style; for d in "$@"; do run_unit_dir "$d"; run_replay_dir "$d"; done; run_valgrind_dir "$1"; run_e2e "$1" ;;
valgrind) run_valgrind_dir "$1" ;;
esac

[ ${#failed_names[@]} -eq 0 ] || echo "failed: ${failed_names[*]}"
echo "logs: $log_dir"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
