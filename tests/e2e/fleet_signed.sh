#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tests/e2e/fleet_signed.sh - fleet integrity (SPEC §11): signed records flow, bad entries are dropped.
# TAP lines "ok - NAME" / "not ok - NAME"; $BUILD (default build) holds psmd, psmctl, psm-query,
# tools/tableinfo and tools/fleet_sign.  Three psmd hosts on one real redis-server, each with a
# signing_key and the same trusted_keys: a and c sign for every scope, b only for host b.
# Signed grants flow; a grant or a revoke b signs for a host outside its scope is dropped;
# entries written straight into the feed with redis-cli (unsigned, a byte of r flipped, a key
# nobody trusts, an exact replay, an expired grant, r that is not a record, a signature of the
# wrong length, r over max_reply) are each dropped (in no table), counted by reason in
# psm_fleet_records_total{result=...}, logged once, and the next valid entry is applied.
set -u
# shellcheck source=../lib/fleet.sh
. "$(dirname "$0")/../lib/fleet.sh"
fleet_env signed
SIGN=$BUILD/tools/fleet_sign
psmd_need "$SIGN"
FEED='psm:{fleet}:feed'
MAXR=65536

# metric HOST RESULT: psm_fleet_records_total{result="RESULT"} on HOST ("" when absent).
metric() {
	hctl "$1" metrics 2>/dev/null |
		awk -v k="psm_fleet_records_total{result=\"$2\"}" '$1 == k { print $2 }'
}

# lua SCRIPT ARG...: EVAL SCRIPT on the feed key with ARGs (raw reply).
lua() {
	local s=$1
	shift
	redis_cli r --raw EVAL "$s" 1 "$FEED" "$@"
}

# entry_of GRANT_ID: the id of the newest feed entry whose r names GRANT_ID.
entry_of() {
	lua "local e = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1000)
	     for _, x in ipairs(e) do for i = 1, #x[2], 2 do
	       if x[2][i] == 'r' and string.find(x[2][i + 1], ARGV[1], 1, true) then return x[1] end
	     end end return ''" "$1"
}

# field ENTRY NAME: the field's value (NAME len: its length) of one feed entry.
field() {
	lua "local e = redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[1])
	     if #e == 0 then return '' end
	     for i = 1, #e[1][2], 2 do if e[1][2][i] == ARGV[2] then
	       if ARGV[3] == 'len' then return tostring(#e[1][2][i + 1]) end
	       return e[1][2][i + 1] end end return ''" "$1" "$2" "${3:-}"
}

# replay ENTRY: XADD an exact copy of ENTRY's fields; prints the new entry's id.
replay() {
	lua "local e = redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[1])
	     return redis.call('XADD', KEYS[1], '*', unpack(e[1][2]))" "$1"
}

# xadd_signed R KEYNAME SK: XADD r R, key KEYNAME and sig = R signed by SK; prints the id.
xadd_signed() {
	printf '%s' "$1" | "$SIGN" "$3" >"$T/sig" || return 1
	redis_cli r -x XADD "$FEED" '*' r "$1" key "$2" sig <"$T/sig"
}

# new_id: a fresh grant id (26 characters of lower-case base32; the last carries 3 bits).
new_id() {
	printf '%s' "$(head -c 400 /dev/urandom | tr -dc 'a-z2-7' | head -c 25)a"
}

# like_g1 ID PATTERN [NOT_AFTER CREATED]: r of the first grant with another id, pattern
# (and times): a record as host a's psmd writes it, for host a's key to sign.
like_g1() {
	local r=${G1_R//$G1/$1}
	r=${r//\"pattern\":\"signed:one\"/\"pattern\":\"$2\"}
	if [ $# -gt 2 ]; then
		r=$(printf '%s' "$r" | sed -E "s/\"not_after\":[0-9]+/\"not_after\":$3/; s/\"created\":[0-9]+/\"created\":$4/")
	fi
	printf '%s' "$r"
}

# has_not HOST PATTERN: nobody has no grant of PATTERN in HOST's table and it denies it.
has_not() {
	! host_has "$1" nobody "$2" && ! host_allows "$1" nobody "$2"
}

# next_applied NAME: a valid grant made on a after a bad entry reaches b and c.
NEXT=0
next_applied() {
	NEXT=$((NEXT + 1))
	hctl a grant nobody "signed:next$NEXT" --hosts '*' --ttl 1h >/dev/null
	check "$1: the next valid entry is applied on b and c" \
		wait_until 10 eval "host_has b nobody signed:next$NEXT && host_has c nobody signed:next$NEXT"
}

# dropped NAME RESULT PATTERN BEFORE_B BEFORE_C LOG_OFFSET_C: after next_applied, the bad entry
# (whose grant pattern is PATTERN) is in no table, counted once under RESULT on b and c, and
# logged once on c.
dropped() {
	local name=$1 res=$2 pat=$3 h lines
	for h in a b c; do
		check "$name: not in $h's table" has_not "$h" "$pat"
	done
	check "$name: counted as $res on b ($4 -> $(metric b "$res"))" test "$(metric b "$res")" = $(($4 + 1))
	check "$name: counted as $res on c ($5 -> $(metric c "$res"))" test "$(metric c "$res")" = $(($5 + 1))
	lines=$(tail -c +"$(($6 + 1))" "$(host_log c)" | grep -c -- "$res")
	check "$name: logged once on c ($lines lines name $res)" test "$lines" -eq 1
}

# bad NAME RESULT PATTERN CMD...: runs CMD (writes one bad entry), then next_applied, dropped.
bad() {
	local name=$1 res=$2 pat=$3 b0 c0 off
	shift 3
	b0=$(metric b "$res") c0=$(metric c "$res") off=$(file_size "$(host_log c)")
	"$@" >/dev/null || { fail "$name: the entry was written"; return 1; }
	next_applied "$name"
	dropped "$name" "$res" "$pat" "$b0" "$c0" "$off"
}

redis_start r || exit 1
fleet_keygen a && fleet_keygen b b && fleet_keygen c || { fail "psmctl keygen"; exit 1; }
"$CTL" keygen "$T/keys/m.sk" --name m >/dev/null || exit 1 # signs well, trusted by nobody
for h in a b c; do
	host_start "$h" "" "$(fleet_keys "$h"), \"max_reply\": $MAXR" || { fail "host $h starts"; exit 1; }
done

# ---- signed grants flow ----
G1=$(hctl a grant nobody signed:one --hosts '*' --ttl 1h) || fail "grant on a"
check "a grant signed by a reaches b and c" \
	wait_until 10 eval "host_has b nobody signed:one && host_has c nobody signed:one" ||
	{ tap_end; exit 1; } # nothing else can pass
E1=$(entry_of "$G1")
check "its feed entry names key a" test "$(field "$E1" key)" = a
check "its feed entry has a 64-byte sig" test "$(field "$E1" sig len)" = 64
G1_R=$(field "$E1" r)
check "its r names the grant and origin a" eval "[[ \$G1_R == *'\"origin\":\"a\"'* ]]"
hctl b grant nobody signed:b-own --hosts b --ttl 1h >/dev/null
check "applied is counted on c" eval "[ \"\$(metric c applied)\" -ge 1 ] 2>/dev/null"

# ---- scope: b's key signs for host b only ----
a0=$(metric a out_of_scope) c0=$(metric c out_of_scope)
GB=$(hctl b grant nobody signed:b-to-a --hosts a,c --ttl 1h) || fail "grant on b for a and c"
next_applied "a grant b signs for hosts a,c"
check "b's grant for a,c is in b's state (its own record)" host_holds b "$GB"
check "b's grant for a,c: not in a's table" has_not a signed:b-to-a
check "b's grant for a,c: not in c's table" has_not c signed:b-to-a
check "b's grant for a,c: not in a's state" eval "! host_holds a $GB"
check "b's grant for a,c: counted out_of_scope on a" test "$(metric a out_of_scope)" = $((a0 + 1))
check "b's grant for a,c: counted out_of_scope on c" test "$(metric c out_of_scope)" = $((c0 + 1))

GA=$(hctl a grant nobody signed:a-only --hosts a,c --ttl 1h) || fail "grant on a for a and c"
check "a's grant for a,c reaches b's state and c's table" \
	wait_until 10 eval "host_holds b $GA && host_has c nobody signed:a-only"
a0=$(metric a out_of_scope)
hctl b revoke "$GA" >/dev/null || fail "revoke on b of a's grant"
next_applied "a revoke b signs for a grant of a,c"
check "b's revoke of a grant of a,c: still allowed on a" host_allows a nobody signed:a-only
check "b's revoke of a grant of a,c: still allowed on c" host_allows c nobody signed:a-only
check "b's revoke of a grant of a,c: counted out_of_scope on a" test "$(metric a out_of_scope)" = $((a0 + 1))

# ---- entries written straight into the feed ----
NOW=$(date +%s)
R=$(like_g1 "$(new_id)" signed:unsigned)
bad "an entry without sig and key" unsigned signed:unsigned redis_cli r XADD "$FEED" '*' r "$R"

forge() {
	local r
	r=$(like_g1 "$(new_id)" signed:forged)
	printf '%s' "$r" | "$SIGN" "$T/keys/a.sk" >"$T/sig" || return 1
	redis_cli r -x XADD "$FEED" '*' r "${r/signed:forged/signed:forgee}" key a sig <"$T/sig"
}
bad "an entry with a byte of r changed after signing" forged signed:forgee forge
bad "an entry signed by a key nobody trusts" untrusted signed:untrusted \
	xadd_signed "$(like_g1 "$(new_id)" signed:untrusted)" m "$T/keys/m.sk"
bad "an exact replay of an applied entry" replayed signed:none replay "$E1"
check "after the replay, the first grant is still allowed on c" host_allows c nobody signed:one
bad "a signed grant whose validity is over" expired signed:expired \
	xadd_signed "$(like_g1 "$(new_id)" signed:expired $((NOW - 60)) $((NOW - 120)))" a "$T/keys/a.sk"
bad "a signed r that is not a record" malformed signed:none \
	xadd_signed '{"type":"grant","grant_id":' a "$T/keys/a.sk"
bad "a signature 63 bytes long" malformed signed:short \
	redis_cli r XADD "$FEED" '*' r "$(like_g1 "$(new_id)" signed:short)" key a sig "$(head -c 63 /dev/zero | tr '\0' x)"
big() {
	local r
	r=$(like_g1 "$(new_id)" signed:big)
	xadd_signed "${r/\"reason\":\"/\"reason\":\"$(head -c $((MAXR + 1024)) /dev/zero | tr '\0' x)}" a "$T/keys/a.sk"
}
bad "a signed r over max_reply ($MAXR bytes)" oversized signed:big big
tap_end
