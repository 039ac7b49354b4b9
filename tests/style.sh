#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tests/style.sh - the source tree as .clang-format says it should be: one TAP line per
# C file (ok / not ok with the first differing line), run by tests/run.sh and `make test`.
# `make format` rewrites the tree in place.
set -u
cd "$(dirname "$0")/.."
command -v clang-format >/dev/null || { echo "not ok - clang-format is not installed (make deps-test)"; exit 1; }
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	files=$(git ls-files '*.c' '*.h')
else
	files=$(find shmcache policy psmd pam_psm psm-query tests -name '*.[ch]' | sort)
fi
for f in $files; do
	[ -f "$f" ] || continue
	if out=$(clang-format --dry-run --Werror "$f" 2>&1); then
		echo "ok - $f is formatted"
	else
		echo "not ok - $f differs from .clang-format ($(echo "$out" | grep -m1 -o ':[0-9]*:[0-9]*:' | tr -d :; true)): run make format"
	fi
done
