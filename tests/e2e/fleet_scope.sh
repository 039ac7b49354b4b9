#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tests/e2e/fleet_scope.sh - fleet scope (SPEC §11): --hosts by name, by label, "*" and none; revoke anywhere.
# TAP lines "ok - NAME" / "not ok - NAME"; $BUILD (default build) holds psmd, psmctl, psm-query.
# Three psmd hosts on one redis-server (a: web; b: web,db; c: db), all on loopback in a temp
# dir; a grant is allowed only in the tables of the hosts it names, every host holds its
# record, and a revoke made on any host removes it from every table.
set -u
# shellcheck source=../lib/fleet.sh
. "$(dirname "$0")/../lib/fleet.sh"
fleet_env fscope

ALL="a b c"
redis_start r || { fail "redis-server starts"; exit 1; }
for h in "a web" "b web,db" "c db"; do
	# shellcheck disable=SC2086 # name and labels
	host_start $h || { fail "host $h starts"; exit 1; }
done

# grant_on HOST PATTERN [--hosts LIST]: a grant of PATTERN to nobody made on HOST; sets GID.
grant_on() {
	local h=$1
	shift
	GID=$(hctl "$h" grant nobody "$@") && [ -n "$GID" ]
}

# allowed_on PATTERN ID HOST...: PATTERN (grant ID) reaches the listed hosts' tables (20 s), and after a
# barrier from every host (all that was written before has been applied everywhere) the
# others deny it; every host holds the record (psmctl grants).
allowed_on() {
	local pat=$1 id=$2 h want bad=""
	shift 2
	for h in "$@"; do
		wait_until 20 host_allows "$h" nobody "$pat" || bad="$bad $h:not-allowed"
	done
	for h in $ALL; do
		# shellcheck disable=SC2086 # a list of hosts
		fleet_sync "$h" $ALL || bad="$bad sync-from-$h"
	done
	for h in $ALL; do
		want=" $* "
		if [[ "$want" != *" $h "* ]] && ! host_denies "$h" nobody "$pat"; then
			bad="$bad $h:allowed"
		fi
		host_holds "$h" "$id" || bad="$bad $h:no-record"
	done
	[ -z "$bad" ] || { echo "# $pat ($id):$bad" >&2; return 1; }
}

# gone_everywhere PATTERN ID: every table denies PATTERN and no host lists ID (20 s).
gone_everywhere() {
	local h
	for h in $ALL; do
		wait_until 20 host_denies "$h" nobody "$1" || { echo "# $h still allows $1" >&2; return 1; }
		host_lacks "$h" "$2" || { echo "# $h still lists $2" >&2; return 1; }
	done
}

check "grant --hosts c (a name) made on a" grant_on a scope:name --hosts c
G_NAME=$GID
check "--hosts c: only c allows it; a, b and c hold the record" allowed_on scope:name "$G_NAME" c

check "grant --hosts web (a label) made on b" grant_on b scope:label --hosts web
G_LABEL=$GID
check "--hosts web: a and b allow it, c does not; all hold the record" allowed_on scope:label "$G_LABEL" a b

check "grant --hosts '*' made on c" grant_on c scope:all --hosts '*'
G_ALL=$GID
check "--hosts '*': a, b and c allow it" allowed_on scope:all "$G_ALL" a b c

check "grant --hosts c,web (a name and a label) made on a" grant_on a scope:list --hosts c,web
check "--hosts c,web: a, b and c allow it" allowed_on scope:list "$GID" a b c

check "grant without --hosts made on b" grant_on b scope:none
G_NONE=$GID
check "no --hosts: only b (its origin) allows it; a, b and c hold the record" \
	allowed_on scope:none "$G_NONE" b

check "grant --hosts db-02 (no such host) made on a" grant_on a scope:nobody --hosts db-02
check "--hosts db-02: no host allows it; all hold the record" allowed_on scope:nobody "$GID"

# A revoke made on a host out of the grant's scope, or not its origin, still reaches all.
expect_rc "revoke of b's --hosts web grant on c (outside its scope): exit 0" 0 hctl c revoke "$G_LABEL"
check "  ...gone from every table and every list" gone_everywhere scope:label "$G_LABEL"
expect_rc "revoke of a's --hosts c grant on b (neither origin nor scope): exit 0" 0 hctl b revoke "$G_NAME"
check "  ...gone from every table and every list" gone_everywhere scope:name "$G_NAME"
expect_rc "revoke of c's '*' grant on a: exit 0" 0 hctl a revoke "$G_ALL"
check "  ...gone from every table and every list" gone_everywhere scope:all "$G_ALL"
expect_rc "revoke of b's own-host grant on c by principal and pattern: exit 0" 0 \
	hctl c revoke nobody scope:none
check "  ...gone from b's table and every list" gone_everywhere scope:none "$G_NONE"

# A host restarted keeps the records of other hosts and their scopes.
host_restart c
check "c restarted: it holds a's --hosts c,web grant and allows it" \
	wait_until 10 host_allows c nobody scope:list
check "c restarted: b's revoked grant stays revoked" host_denies c nobody scope:label
tap_end
