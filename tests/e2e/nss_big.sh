#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tests/e2e/nss_big.sh - an admin whose passwd entry is larger than 4 KiB (a 10 KiB gecos) is
# an admin of psmd's socket: the peer's name is looked up with a buffer that grows on ERANGE.
# Real psmd and psmctl, the admin running psmctl under setpriv, in a private mount namespace
# (tests/lib/ns.sh) whose /etc/passwd and /etc/group hold the big user and its admin group.
# A plain test user stays a non-admin (the admin check is on).  BUILD=dir (default build).
# shellcheck disable=SC2317 # functions are called through ns_main
set -u
# shellcheck source=../lib/ns.sh
. "$(dirname "$0")/../lib/ns.sh"

BIG=psm-big:61010
ADMIN=psm-bigadm:61110

# add_big_user: the user (10 KiB gecos, primary group psm-all) and its admin group, written
# to the namespace's copies of /etc/passwd and /etc/group.
add_big_user() {
	local gecos
	gecos=$(head -c 10240 /dev/zero | tr '\0' x)
	ns_free_id passwd "${BIG%:*}" "${BIG#*:}" || return 1
	ns_free_id group "${ADMIN%:*}" "${ADMIN#*:}" || return 1
	ns_append /etc/passwd "${BIG%:*}:x:${BIG#*:}:$NS_ALL_GID:$gecos:$T/home:/bin/sh"
	ns_append /etc/group "${ADMIN%:*}:x:${ADMIN#*:}:${BIG%:*}"
}

ctl_as() { # USER ARGS...: psmctl on psmd's socket as USER
	local who=$1
	shift
	as_user "$who" "$BUILD/psmctl" -s "$T/psmd.sock" "$@"
}

scenario() {
	add_big_user || return 1
	check "the big user's passwd entry is larger than 4 KiB" \
		test "$(getent passwd "${BIG%:*}" | wc -c)" -gt 4096
	echo '{ "roles": {}, "bindings": [] }' >"$T/policy.json"
	SOCK=$T/psmd.sock psmd_conf "$T/psmd.conf" "$PSM_SHM" \
		"\"capacity\": 1000, \"admin_group\": \"${ADMIN%:*}\""
	start_psmd || return 1
	expect_rc "a non-admin may not grant (exit 4)" 4 \
		ctl_as psm-alice grant psm-alice sudo:run --ttl 1h --reason e2e
	expect_rc "the admin with a 10 KiB passwd entry may grant (exit 0)" 0 \
		ctl_as "${BIG%:*}" grant psm-alice sudo:run --ttl 1h --reason e2e
	expect_rc "... and may check another user (exit 0: allowed)" 0 \
		ctl_as "${BIG%:*}" check psm-alice sudo:run
}

ns_main scenario
