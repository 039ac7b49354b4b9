#!/usr/bin/env bash
# tests/run.sh - runs psm's test layers and prints one closing line "N passed, N failed".
#   tests/run.sh BUILD [ASAN_BUILD]      the tree's format (tests/style.sh), unit tests and the
#                                        fuzz corpora replayed in each build dir, then e2e tests
#   tests/run.sh --unit-only BUILD...    unit tests and corpus replays only
#   tests/run.sh --e2e-only BUILD        e2e tests only
# Unit tests are cmocka groups (their "[  PASSED  ] N test(s)" lines are summed);
# e2e scripts print TAP-style "ok - NAME" / "not ok - NAME" lines.
set -u
cd "$(dirname "$0")/.."
mode=all
case "${1:-}" in --unit-only) mode=unit; shift ;; --e2e-only) mode=e2e; shift ;; esac
[ $# -ge 1 ] || { echo "usage: tests/run.sh [--unit-only|--e2e-only] BUILD [BUILD...]" >&2; exit 2; }

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

run_unit_dir() {
	local dir=$1 t out rc p f pid
	for t in "$dir"/tests/test_*; do
		[ -x "$t" ] || continue
		[ -f "tests/unit/$(basename "$t").c" ] || continue # left by a removed or renamed test
		out="$log_dir/$(basename "$dir")-$(basename "$t").log"
		"$t" >"$out" 2>&1 &
		pid=$!
		wait "$pid"
		rc=$?
		p=$(grep -Eo '^\[  PASSED  \] [0-9]+' "$out" | awk '{s+=$4} END {print s+0}')
		f=$(grep -Eo '^\[  FAILED  \] [0-9]+' "$out" | awk '{s+=$4} END {print s+0}')
		if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
		left_behind "$pid" "$out" && [ "$f" -eq 0 ] && f=1
		passed=$((passed + p)); failed=$((failed + f))
		if [ "$f" -ne 0 ]; then
			failed_names+=("$dir/$(basename "$t")")
			echo "FAIL $dir/$(basename "$t") (log: $out)"; grep -E '^\[  (FAILED|ERROR) |error:|Failure' "$out" | head -20
		else
			printf '%-10s %-40s %4d passed\n' "$(basename "$dir")" "$(basename "$t")" "$p"
		fi
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
all) run_style; for d in "$@"; do run_unit_dir "$d"; run_replay_dir "$d"; done; run_e2e "$1" ;;
esac

[ ${#failed_names[@]} -eq 0 ] || echo "failed: ${failed_names[*]}"
echo "logs: $log_dir"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
