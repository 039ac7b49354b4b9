# SPDX-License-Identifier: MIT
# tests/bench/ns_bench.sh - what sudo.sh and sshd.sh share inside their namespace (sourced after ns.sh).
# shellcheck shell=bash

# ns_bench_fail WHAT: says on stderr why the bench stops (the step log shows it); 1.
ns_bench_fail() {
	echo "$(basename "$0"): $*" >&2
	return 1
}

# ns_bench_table SHM POLICY TAG: a table from POLICY kept fresh by bench_mktable in the
# background (stopped by pid when the scenario ends).
ns_bench_table() {
	: >"$T/mktable.$3.out" # exists before the reader looks (grep on a missing file is an error)
	"$BUILD/bench/bench_mktable" -H "$1" "$2" >"$T/mktable.$3.out" 2>"$T/mktable.$3.err" &
	ns_track "$!"
	if ! wait_for 10 grep -q ready "$T/mktable.$3.out"; then
		cat "$T/mktable.$3.err" >&2
		ns_bench_fail "bench_mktable ($2) did not say ready within 10 s"
	fi
}
