#!/usr/bin/env bash
# tests/fuzz/run.sh BUILD SECONDS - make fuzz: each libFuzzer harness BUILD/fuzz/fuzz_NAME for
# SECONDS on BUILD/corpus/NAME (its seeds copied in; new inputs stay there), crashes kept in
# BUILD/crash/NAME, the log in BUILD/log/NAME.log; one summary line per harness.  Runs at nice
# 10, in a pid namespace of its own when it can (a harness signals only its own processes).
set -u
cd "$(dirname "$0")/../.."
build=${1:?usage: tests/fuzz/run.sh BUILD SECONDS}
secs=${2:-60}
only=${FUZZ_ONLY:-} # one harness name, e.g. FUZZ_ONLY=policy
iso=()
[ "$(id -u)" = 0 ] && unshare --pid --fork --mount-proc true 2>/dev/null &&
	iso=(unshare --pid --fork --mount-proc)
found=0 bad=0
for bin in "$build"/fuzz/fuzz_*; do
	[ -x "$bin" ] || continue
	name=${bin##*/fuzz_}
	[ -f "tests/fuzz/fuzz_$name.c" ] || continue # left by a removed harness
	[ -z "$only" ] || [ "$only" = "$name" ] || continue
	found=$((found + 1))
	corpus=$build/corpus/$name crash=$build/crash/$name log=$build/log/$name.log
	mkdir -p "$corpus" "$crash" "$build/log"
	[ -d "tests/fuzz/corpus/$name" ] && cp -n tests/fuzz/corpus/"$name"/* "$corpus"/ 2>/dev/null
	touch "$build/log/$name.start" # crashes of this run: the files newer than it
	nice -n 10 "${iso[@]}" timeout -s INT $((secs + 120)) "$bin" -max_total_time="$secs" \
		-close_fd_mask=1 -print_final_stats=1 -artifact_prefix="$crash/" "$corpus" >"$log" 2>&1
	rc=$?
	execs=$(grep -Eo 'stat::average_exec_per_sec: *[0-9]+' "$log" | grep -Eo '[0-9]+$')
	runs=$(grep -Eo 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -Eo '[0-9]+$')
	cov=$(grep -Eo 'cov: [0-9]+' "$log" | tail -n 1 | grep -Eo '[0-9]+')
	ft=$(grep -Eo 'ft: [0-9]+' "$log" | tail -n 1 | grep -Eo '[0-9]+')
	crashes=$(find "$crash" -type f -newer "$build/log/$name.start" | wc -l)
	[ "$rc" -eq 0 ] && [ "$crashes" -eq 0 ] || bad=$((bad + 1))
	printf 'fuzz_%-10s %4ss  %7s execs/s  %9s runs  cov %5s  ft %6s  corpus %5s  crashes %s%s\n' \
		"$name" "$secs" "${execs:-?}" "${runs:-?}" "${cov:-?}" "${ft:-?}" \
		"$(find "$corpus" -type f | wc -l)" "$crashes" \
		"$([ "$rc" -eq 0 ] || echo "  (exit $rc, log: $log)")"
done
[ "$found" -gt 0 ] || { echo "psm: no fuzz harness built in $build/fuzz"; exit 1; }
[ "$bad" -eq 0 ]
