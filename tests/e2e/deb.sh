#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tests/e2e/deb.sh - the Debian package (make deb): lintian, then install, use, remove, purge
# and upgrade in a chroot that leaves the machine as it was.
# TAP lines "ok - NAME" / "not ok - NAME".  Needs root, util-linux (unshare) and DEB_PKG.
#
# The chroot: in a private mount namespace, an overlay of / (lower: /, upper: a tmpfs that
# goes with the namespace), with its own /proc, /dev/shm, /run and /tmp, and a policy-rc.d
# that starts nothing.  In it: dpkg -i; psmd -n; pam-auth-update --enable psm puts
# pam_psm into common-account; the installed psmd and pam_psm decide deny, then allow after
# a grant (pamtester); --disable takes it out; dpkg -r takes psm out of the PAM stacks first;
# dpkg -P leaves no file the package or psmd made.  Then the upgrade: the previous package,
# a changed policy.json and a grant, upgraded to this one: both still there.
# The previous package: HEAD~1's tree built with its own make deb when it has etc/debian
# (cached in build-deb/prev-HASH/), else this package repacked as VERSION~prev (a "#" line
# says which).  The package itself: build-deb/psm_VERSION_ARCH.deb, built here (make deb)
# unless it is newer than every file of the tree: a second make test reuses it.  Also: make names missing packages,
# make uninstall undoes make install (DESTDIR).  Outside, the test checks that the
# machine's dpkg database and PAM configuration are as they were.
set -u
# shellcheck source=../lib/tap.sh
. "$(dirname "$0")/../lib/tap.sh"
cd "$(dirname "$0")/../.." || exit 2
BUILD=${BUILD:-build}

ARCH=$(dpkg --print-architecture)
TRIPLET=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null)
DEB_DIR=$PWD/build-deb

# ---- inside the namespace ------------------------------------------------------------------

# c CMD...: CMD inside the chroot, its stdin empty.
c() {
	chroot "$R" "$@" </dev/null
}

# chroot_mount: the overlay of / at $R with private /proc, /dev, /dev/shm, /run and /tmp.
chroot_mount() {
	mount -t tmpfs -o mode=700 tmpfs "$T/ov" || return 1
	mkdir "$T/ov/up" "$T/ov/work" || return 1
	mount -t overlay overlay -o "lowerdir=/,upperdir=$T/ov/up,workdir=$T/ov/work" "$R" || return 1
	mount -t proc proc "$R/proc" || return 1
	mount --bind /dev "$R/dev" || return 1
	mount -t tmpfs -o mode=1777 tmpfs "$R/dev/shm" || return 1
	mount -t tmpfs -o mode=755 tmpfs "$R/run" || return 1
	mount -t tmpfs -o mode=1777 tmpfs "$R/tmp"
}

# chroot_setup: nothing starts (policy-rc.d 101), test users, a PAM service of the test's
# own that is common-account only, and the packages under /tmp.
chroot_setup() {
	printf '#!/bin/sh\n# deb.sh: start nothing in this chroot.\nexit 101\n' >"$R/usr/sbin/policy-rc.d"
	chmod 755 "$R/usr/sbin/policy-rc.d"
	c useradd -M -s /bin/sh psm-deb-alice && c useradd -M -s /bin/sh psm-deb-bob || return 1
	printf '# deb.sh: the account stack only.\n@include common-account\n' >"$R/etc/pam.d/psm-deb"
	cp "$DEB" "$R/tmp/psm.deb" && cp "$PREV" "$R/tmp/psm-prev.deb"
}

# new_files: the paths in the chroot that / does not have (the overlay's upper layer less
# what only changed), but for dpkg's database and logs and man-db's cache (its trigger).
new_files() {
	local p
	(cd "$T/ov/up" && find . -mindepth 1 ! -type c -printf '%P\n') | sort | while read -r p; do
		[ -e "/$p" ] || [ -L "/$p" ] || echo "/$p"
	done | grep -Ev '^/var/(lib/dpkg|log|cache/(debconf|man))(/|$)'
}

# psmd_up: the installed psmd on its default configuration (table /psm in the chroot's
# private /dev/shm, socket /run/psm/psmd.sock, state /var/lib/psm); waits until it answers.
psmd_up() {
	chroot "$R" /usr/sbin/psmd -d </dev/null >>"$T/psmd.log" 2>&1 &
	PSMD_PID=$!
	wait_for 20 psmd_answers
}

psmd_answers() {
	kill -0 "$PSMD_PID" 2>/dev/null || return 2
	c psmctl stats >/dev/null 2>&1
}

psmd_down() {
	[ -n "${PSMD_PID:-}" ] || return 0
	kill -TERM "$PSMD_PID" 2>/dev/null && wait "$PSMD_PID" 2>/dev/null
	PSMD_PID=
}

# decide USER: pamtester's account decision for USER on the test's service (0 allow, 1 deny).
decide() {
	c pamtester psm-deb "$1" acct_mgmt
}

has_group() {
	c getent group "$1" >/dev/null
}

has_psm_line() {
	grep -q 'pam_psm\.so' "$R/etc/pam.d/common-account"
}

no_psm_line() {
	! grep -q 'pam_psm\.so' "$R/etc/pam.d/common-account"
}

# expect_none NAME OUTPUT: passes when OUTPUT is empty.
expect_none() {
	if [ -z "$2" ]; then pass "$1"; else fail "$1" "$2"; fi
}

# check_installed: the package put its files where they belong, changing no PAM stack.
check_installed() {
	local f missing=""
	for f in /usr/sbin/psmd /usr/bin/psmctl /usr/bin/psm-query "/lib/$TRIPLET/security/pam_psm.so" \
		/usr/share/pam-configs/psm /lib/systemd/system/psmd.service /usr/lib/sysusers.d/psm.conf \
		/usr/share/man/man8/pam_psm.8.gz /usr/share/man/man8/psmctl.8.gz /etc/psm/psmd.conf \
		/etc/psm/policy.json $(optional_files); do
		[ -e "$R$f" ] || missing="$missing $f"
	done
	expect_none "the package installs the programs, module, unit, profile, man pages, config" "$missing"
	# shellcheck disable=SC2016 # dpkg-query's format, not the shell's
	expect_grep "/etc/psm/psmd.conf and policy.json are conffiles" \
		'/etc/psm/policy.json.*/etc/psm/psmd.conf|/etc/psm/psmd.conf.*/etc/psm/policy.json' \
		<(c dpkg-query -W -f='${Conffiles}' psm | tr '\n' ' ')
	check "the group psm-admin exists" has_group psm-admin
	check "the unit is enabled (deb-systemd-helper)" \
		test -L "$R/etc/systemd/system/multi-user.target.wants/psmd.service"
	check "installing changes no PAM stack" cmp -s "$R/etc/pam.d/common-account" /etc/pam.d/common-account
}

# optional_files: completion, alert rules and schema, when the tree has them.
optional_files() {
	local f
	for f in etc/completion/psmctl etc/completion/psm-query; do
		[ ! -e "$f" ] || echo "/usr/share/bash-completion/completions/${f##*/}"
	done
	for f in etc/prometheus/psm.rules.yml etc/psm.schema.json; do
		[ ! -e "$f" ] || echo "/usr/share/psm/${f##*/}"
	done
}

# phase_install: a fresh install, used through PAM, then removed and purged.
phase_install() {
	local before
	before=$(new_files)
	expect_rc "dpkg -i $(basename "$DEB")" 0 c dpkg -i /tmp/psm.deb || return 1
	check_installed
	expect_rc "psmd -n: the shipped configuration is valid" 0 c psmd -n
	expect_text "psmd -n says configuration OK" "configuration OK" -
	expect_rc "pam-auth-update --enable psm" 0 c pam-auth-update --enable psm
	check "pam_psm is in common-account" has_psm_line
	phase_decide
	expect_rc "pam-auth-update --disable psm" 0 c pam-auth-update --disable psm
	check "--disable takes pam_psm out of common-account" no_psm_line
	c pam-auth-update --enable psm >/dev/null 2>&1
	expect_rc "dpkg -r psm" 0 c dpkg -r psm
	check "dpkg -r takes psm out of the PAM stacks (prerm)" no_psm_line
	check "dpkg -r keeps the conffiles" test -e "$R/etc/psm/policy.json"
	check "dpkg -r removes the module" test ! -e "$R/lib/$TRIPLET/security/pam_psm.so"
	expect_rc "dpkg -P psm" 0 c dpkg -P psm
	expect_none "dpkg -P leaves no file behind" "$(diff <(echo "$before") <(new_files) | grep '^>')"
	check "common-account is as before" cmp -s "$R/etc/pam.d/common-account" /etc/pam.d/common-account
}

# phase_decide: the installed psmd and module deny, then allow after a grant.
phase_decide() {
	psmd_up || { fail "the installed psmd starts" "$(tail -n 20 "$T/psmd.log")"; return 1; }
	pass "the installed psmd starts"
	expect_rc "through pam_psm: psm-deb-alice denied without a grant" 1 decide psm-deb-alice
	expect_rc "psmctl grant" 0 c psmctl grant psm-deb-alice pam:psm-deb --ttl 1h --reason deb-test
	expect_rc "through pam_psm: psm-deb-alice allowed with a grant" 0 decide psm-deb-alice
	expect_rc "through pam_psm: psm-deb-bob still denied" 1 decide psm-deb-bob
	psmd_down
}

# phase_upgrade: the previous package with a changed policy and a grant, then this one.
phase_upgrade() {
	local before
	before=$(new_files)
	expect_rc "dpkg -i the previous package ($PREV_VERSION)" 0 c dpkg -i /tmp/psm-prev.deb || return 1
	sed 's|"roles": {|"roles": {\n    "deb-test": ["pam:psm-deb"],|' "$R/etc/psm/policy.json" >"$T/policy.json"
	sed -i 's|"bindings": \[|"bindings": [\n    { "user": "psm-deb-bob", "roles": ["deb-test"] },|' "$T/policy.json"
	cp "$T/policy.json" "$R/etc/psm/policy.json"
	psmd_up || { fail "the previous psmd starts" "$(tail -n 20 "$T/psmd.log")"; return 1; }
	expect_rc "previous psmd: psmctl grant" 0 c psmctl grant psm-deb-alice pam:psm-deb --ttl 2h --reason deb-upgrade
	psmd_down
	# apt's non-interactive choice: keep the admin's file when both changed.
	expect_rc "dpkg -i upgrades to $VERSION" 0 c dpkg -i --force-confdef --force-confold /tmp/psm.deb
	check "the upgrade keeps the changed policy.json" cmp -s "$T/policy.json" "$R/etc/psm/policy.json"
	psmd_up || { fail "the upgraded psmd starts" "$(tail -n 20 "$T/psmd.log")"; return 1; }
	expect_grep "the upgrade keeps the grant (/var/lib/psm)" 'deb-upgrade' <(c psmctl grants psm-deb-alice)
	c pam-auth-update --enable psm >/dev/null 2>&1
	expect_rc "after the upgrade: the kept grant allows psm-deb-alice" 0 decide psm-deb-alice
	expect_rc "after the upgrade: the kept policy allows psm-deb-bob" 0 decide psm-deb-bob
	psmd_down
	expect_rc "dpkg -P psm after the upgrade" 0 c dpkg -P psm
	expect_none "nothing left after the upgrade and purge" "$(diff <(echo "$before") <(new_files) | grep '^>')"
}

inside() {
	trap 'psmd_down; echo "$TAP_COUNT $TAP_FAILED" >"$T/counts"' EXIT
	R=$T/root
	mkdir "$R" "$T/ov"
	chroot_mount || { fail "an overlay of / to chroot into"; exit 1; }
	chroot_setup || { fail "the chroot's users and files"; exit 1; }
	phase_install
	phase_upgrade
	[ "$TAP_FAILED" -eq 0 ]
}

# ---- outside: the packages, lintian, the machine before and after ---------------------------

# deb_fresh FILE: FILE exists and is newer than every file of the tree.
deb_fresh() {
	local f
	[ -f "$1" ] || return 1
	while IFS= read -r -d '' f; do
		[ ! "$f" -nt "$1" ] || return 1
	done < <(git ls-files -z --cached --others --exclude-standard)
}

# this_deb: sets VERSION and DEB, building it (make deb) unless it is up to date.
this_deb() {
	# shellcheck disable=SC2016 # make's variable, not the shell's
	VERSION=$(make -s --no-print-directory --eval 'v: ; @echo $(DEB_VERSION)' v)
	DEB=$DEB_DIR/psm_${VERSION}_$ARCH.deb
	deb_fresh "$DEB" || make -s --no-print-directory deb >"$T/make-deb.log" 2>&1 || {
		tail -n 30 "$T/make-deb.log" >&2
		return 1
	}
}

# prev_deb: sets PREV and PREV_VERSION (see the top of this file).
prev_deb() {
	local hash dir
	if hash=$(git rev-parse -q --verify 'HEAD~1^{commit}') && git cat-file -e "$hash:etc/debian/control" 2>/dev/null; then
		dir=$DEB_DIR/prev-$hash
		PREV_VERSION=$(git show "$hash:psmd/psmctl/psmctl.h" | sed -n 's/^#define PSMCTL_VERSION "\(.*\)"/\1/p')
		PREV_VERSION=$PREV_VERSION+git$(git rev-list --count "$hash").$(git rev-parse --short=10 "$hash")
		PREV=$dir/out/psm_${PREV_VERSION}_$ARCH.deb
		echo "# previous package: HEAD~1 ($hash), $PREV_VERSION"
		find "$DEB_DIR" -maxdepth 1 -name 'prev-*' ! -name "prev-$hash" -exec rm -rf {} +
		[ -f "$PREV" ] || prev_build "$hash" "$dir"
	else
		PREV_VERSION=$VERSION~prev
		PREV=$T/psm_${PREV_VERSION}_$ARCH.deb
		echo "# previous package: HEAD~1 has no etc/debian; this package repacked as $PREV_VERSION"
		prev_repack
	fi
}

# prev_build HASH DIR: HASH's tree in DIR/tree, its make deb into DIR/out.
prev_build() {
	rm -rf "$2" && mkdir -p "$2/tree" || return 1
	git archive "$1" | tar -x -C "$2/tree" || return 1
	DEB_BUILD_OPTIONS=noddebs make -s --no-print-directory -C "$2/tree" deb DEB_DIR="$2/out" \
		DEB_VERSION="$PREV_VERSION" DEB_DATE="$(git log -1 --format=%aD "$1")" >"$T/prev.log" 2>&1 ||
		{ tail -n 30 "$T/prev.log" >&2; return 1; }
}

prev_repack() {
	dpkg-deb -R "$DEB" "$T/repack" || return 1
	sed -i "s/^Version: .*/Version: $PREV_VERSION/" "$T/repack/DEBIAN/control"
	dpkg-deb -b "$T/repack" "$PREV" >/dev/null
}

# make_targets: plain make names missing packages and never installs them; make uninstall
# removes what make install put (DESTDIR: a temp dir).
make_targets() {
	local d=$T/destdir
	expect_rc "make with a package missing fails" 2 make -s --no-print-directory check-deps \
		DEB_BUILD="gcc psm-no-such-package"
	expect_grep "... naming it and make deps" 'missing Debian packages: psm-no-such-package .*make deps' -
	expect_rc "make install DESTDIR=..." 0 make -s --no-print-directory BUILD="$BUILD" install DESTDIR="$d"
	check "make install puts psmctl in /usr/bin" test -x "$d/usr/bin/psmctl"
	expect_rc "make uninstall DESTDIR=..." 0 make -s --no-print-directory BUILD="$BUILD" uninstall DESTDIR="$d"
	expect_none "make uninstall removes every file make install put" "$(find "$d" ! -type d)"
}

# host_state: what must not change on the machine: psm in dpkg, /etc/pam.d, /var/lib/pam.
host_state() {
	dpkg-query -W -f='${db:Status-Abbrev} ${Package}\n' psm 2>/dev/null
	find /etc/pam.d /var/lib/pam /etc/psm /var/lib/psm -type f -exec sha256sum {} + 2>/dev/null | sort
}

outside() {
	local c before n f
	[ "$(id -u)" = 0 ] || { echo "$0: must run as root" >&2; exit 2; }
	for c in unshare chroot dpkg-buildpackage lintian pamtester pam-auth-update systemd-sysusers; do
		command -v "$c" >/dev/null || { echo "not ok - $c is not installed (make deps)"; exit 1; }
	done
	T=$(mktemp -d /tmp/psm-e2e-deb.XXXXXX) || exit 2
	trap 'rm -rf "$T"' EXIT
	this_deb || { echo "not ok - make deb"; exit 1; }
	prev_deb || { echo "not ok - the previous package"; exit 1; }
	expect_rc "lintian: no errors, no warnings" 0 lintian --fail-on error,warning "$DEB"
	make_targets
	before=$(host_state)
	PSM_DEB_INSIDE=1 T=$T DEB=$DEB PREV=$PREV VERSION=$VERSION PREV_VERSION=$PREV_VERSION \
		unshare -m --propagation private bash "$0"
	read -r n f <"$T/counts" 2>/dev/null || { n=1 f=1; echo "not ok - the chroot's tests ended early"; }
	TAP_COUNT=$((TAP_COUNT + n)) TAP_FAILED=$((TAP_FAILED + f))
	expect_none "the machine's dpkg database and PAM configuration are as they were" \
		"$(diff <(echo "$before") <(host_state))"
	tap_end
}

if [ "${PSM_DEB_INSIDE:-}" = 1 ]; then inside; else outside; fi
