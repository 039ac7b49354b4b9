#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tests/e2e/manpages.sh - the man pages render without a groff warning (as lintian checks
# them), share one .TH footer, have NAME, SYNOPSIS, DESCRIPTION, EXAMPLES and SEE ALSO, list
# the rest of psm's pages in SEE ALSO, name no psm page that does not exist, and neither they,
# README nor `make help` cite a file a user does not have (the spec).
# TAP lines "ok - NAME" / "not ok - NAME". MAN_DIRS (default: the folders make install takes
# pages from) may name other folders; $BUILD (default build) holds psmd, for its version.
# Needs man-db and groff; writes nothing but a temp dir.
set -u
cd "$(dirname "$0")/../.." || exit 1
# shellcheck source=../lib/tap.sh
. tests/lib/tap.sh
BUILD=${BUILD:-build}
T=$(mktemp -d /tmp/psm-e2e-man.XXXXXX) || exit 1
trap 'rm -rf "$T"' EXIT

# shellcheck disable=SC2086 # MAN_DIRS: a list of folders
mapfile -t PAGES < <(find ${MAN_DIRS:-pam_psm psm-query psmd policy} -name '*.[1-8]' | sort)
check "the man pages are found" test "${#PAGES[@]}" -ge 6

# names: every page's NAME(SECTION), e.g. psmctl(8).
NAMES=$(for p in "${PAGES[@]}"; do b=${p##*/}; echo "${b%.*}(${b##*.})"; done)

# manual SECTION: the manual title for a section.
manual() {
	case $1 in
	1) echo "User Commands" ;; 5) echo "File Formats" ;; 7) echo "Miscellaneous" ;;
	8) echo "System Administration" ;; *) echo "?" ;;
	esac
}

# plain PAGE: the page's source with \- as -, for text checks.
plain() { sed 's/\\-/-/g' "$1"; }

# ---- rendering ------------------------------------------------------------------------------

for p in "${PAGES[@]}"; do
	LC_ALL=C.UTF-8 MANROFFSEQ='' MANWIDTH=80 man --warnings -E UTF-8 -l -Tutf8 -Z "$p" \
		>/dev/null 2>"$T/man.err"
	groff -man -ww -z "$p" 2>"$T/groff.err"
	if [ -s "$T/man.err" ] || [ -s "$T/groff.err" ]; then
		fail "$p renders without warnings" "$(cat "$T/man.err" "$T/groff.err" | head -n 10)"
	else
		pass "$p renders without warnings"
	fi
done

# ---- footer ------------------------------------------------------------------------------------

VERSION=$("$BUILD/psmd" --version 2>/dev/null | awk '{print $2}')
check "psmd --version gives a version" test -n "$VERSION"
for p in "${PAGES[@]}"; do
	b=${p##*/}
	th=$(grep -m1 '^\.TH ' "$p")
	date=$(echo "$th" | awk '{print $4}')
	want=".TH $(echo "${b%.*}" | tr "[:lower:]" "[:upper:]") ${b##*.} $date \"psm $VERSION\" \"$(manual "${b##*.}")\""
	if [ "$th" = "$want" ] && [[ $date =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}$ ]]; then
		pass "$p: .TH NAME SECTION YYYY-MM-DD \"psm $VERSION\" MANUAL"
	else
		fail "$p: .TH NAME SECTION YYYY-MM-DD \"psm $VERSION\" MANUAL" "has:  $th" "want: $want"
	fi
done
DATES=$(grep -h -m1 '^\.TH ' "${PAGES[@]}" | awk '{print $4}' | sort -u)
check "every page has the same date (${DATES//$'\n'/ })" test "$(echo "$DATES" | wc -l)" -eq 1

# ---- sections ------------------------------------------------------------------------------

for p in "${PAGES[@]}"; do
	miss=""
	for s in NAME SYNOPSIS DESCRIPTION EXAMPLES "SEE ALSO"; do
		grep -qx "\\.SH \"\\?$s\"\\?" "$p" || miss="$miss, $s"
	done
	if [ -z "$miss" ]; then pass "$p: NAME, SYNOPSIS, DESCRIPTION, EXAMPLES, SEE ALSO"; else
		fail "$p: NAME, SYNOPSIS, DESCRIPTION, EXAMPLES, SEE ALSO" "missing: ${miss#, }"
	fi
	after=$(sed -n '/^\.SH SEE ALSO/,$p' "$p" | grep '^\.SH ' | tail -n +2 |
		grep -Evx '\.SH "?(BUGS|AUTHORS?|COPYRIGHT|HISTORY|COLOPHON)"?')
	check "$p: after SEE ALSO only BUGS, AUTHORS, COPYRIGHT, HISTORY${after:+ (not: $after)}" \
		test -z "$after"
done

# ---- references ------------------------------------------------------------------------------

# refs PAGE [SECTION]: the NAME(N) references of PAGE (of its SEE ALSO only with "see"),
# one a line.
refs() {
	local src
	if [ "${2:-}" = see ]; then src=$(plain "$1" | sed -n '/^\.SH SEE ALSO/,$p'); else src=$(plain "$1"); fi
	printf '%s\n' "$src" | sed -E 's/^\.BR ([^ ]+) \(([0-9])\).*/\1(\2)/; s/\\fB([^\\]+)\\f[RP]\(([0-9])\)/\n\1(\2)\n/g' |
		grep -Eox '[a-z][a-z0-9_.-]*\([0-9]\)' | sort -u
}
for p in "${PAGES[@]}"; do
	b=${p##*/}
	self="${b%.*}(${b##*.})"
	miss=$(comm -23 <(printf '%s\n' "$NAMES" | grep -vxF "$self" | sort) <(refs "$p" see))
	if [ -z "$miss" ]; then pass "$p: SEE ALSO lists every other psm page"; else
		fail "$p: SEE ALSO lists every other psm page" "missing: $(echo "$miss" | tr '\n' ' ')"
	fi
	bad=$(refs "$p" | grep -E '^(psm|pam_psm)' | grep -vxF "$NAMES")
	check "$p: every psm page it names exists${bad:+ (not: $bad)}" test -z "$bad"
done

# Text a user reads must not send them to a file they do not have.
cite_re='\bSPEC\b|§|spec section|TESTING\.md|STYLE\.md'
for f in "${PAGES[@]}" README.md; do
	hits=$(plain "$f" | grep -nE "$cite_re")
	check "$f cites no file a user lacks${hits:+: $hits}" test -z "$hits"
done
hits=$(make -s --no-print-directory help 2>&1 | grep -E "$cite_re")
check "make help cites no file a user lacks${hits:+: $hits}" test -z "$hits"

tap_end
