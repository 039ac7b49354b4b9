#!/usr/bin/env bash
# tests/fuzz/replay.sh BUILD - every corpus file of tests/fuzz/corpus/NAME through its harness,
# built without libFuzzer (BUILD/fuzz/replay_NAME): one TAP line per harness, "N inputs replayed".
set -u
cd "$(dirname "$0")/../.."
build=${1:?usage: tests/fuzz/replay.sh BUILD}
status=0
log=$(mktemp /tmp/psm-fuzz-replay.XXXXXX)
trap 'rm -f "$log"' EXIT
for src in tests/fuzz/fuzz_*.c; do
	[ -f "$src" ] || continue
	name=$(basename "$src" .c)
	name=${name#fuzz_}
	bin=$build/fuzz/replay_$name
	files=()
	[ -d "tests/fuzz/corpus/$name" ] && mapfile -d '' files < <(find "tests/fuzz/corpus/$name" -type f -print0 | sort -z)
	if [ ! -x "$bin" ] || [ ${#files[@]} -eq 0 ]; then
		echo "not ok - fuzz_$name: no replay binary or no corpus files"
		status=1
		continue
	fi
	# into a file: a process a harness leaves behind cannot hold a pipe open
	timeout 300 "$bin" "${files[@]}" >"$log" 2>&1 </dev/null
	rc=$?
	out=$(cat "$log")
	if [ "$rc" -eq 0 ] && grep -q "^${#files[@]} inputs replayed$" <<<"$out"; then
		echo "ok - fuzz_$name: ${#files[@]} inputs replayed"
	else
		echo "not ok - fuzz_$name: exit $rc"
		tail -n 30 <<<"$out" | sed 's/^/# /'
		status=1
	fi
done
exit $status
