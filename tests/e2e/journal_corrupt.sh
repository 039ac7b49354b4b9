#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tests/e2e/journal_corrupt.sh - a damaged journal never brings a revoked grant back and never
# loses an acknowledged record silently: a flipped bit in the middle of the last segment and a
# 0xffffffff length in its first frame are corruption (resync, .corrupt copy, no truncation,
# health degraded), a grant whose revoke may have been lost is quarantined until
# `psmctl recover --accept|--drop`, also across a restart and a snapshot.  Checks run as the
# unprivileged uid daemon through setpriv.  TAP lines.  Needs root, python3, setpriv.
set -u
# shellcheck source=../lib/psmd.sh
. "$(dirname "$0")/../lib/psmd.sh"
psmd_env jc
STATE=$T/state
chmod 0755 "$T" # the unprivileged uid reaches the socket
psmd_need "$PSMD" "$CTL" "$QUERY"

echo '{ "roles": {}, "bindings": [] }' >"$T/policy.json"
psmd_conf "$T/psmd.conf" "$SHM" '"capacity": 1000,
  "host_name": "e2e-jc-host"'

# as_daemon CMD...: runs CMD as the unprivileged uid 1 (daemon), no groups.
as_daemon() { setpriv --reuid 1 --regid 1 --clear-groups "$@"; }
# allowed PATTERN: 0 when psmd allows daemon PATTERN, asked by daemon itself.
allowed() { as_daemon "$CTL" -s "$SOCK" check daemon "$1" >/dev/null 2>&1; }
denied() { as_daemon "$CTL" -s "$SOCK" check daemon "$1" >/dev/null 2>&1; [ $? -eq 1 ]; }
kill9_psmd() {
	kill -KILL "$PSMD_PID" 2>/dev/null
	wait "$PSMD_PID" 2>/dev/null
	PSMD_PID=""
}
grant() { "$CTL" -s "$SOCK" grant daemon "$1" --ttl 1d --reason "jc"; }
# damage SEGMENT RECORD HOW: record RECORD (1-based) of SEGMENT: "flip" one bit in the
# middle of its JSON, or "len" its length set to 0xffffffff.  Prints the record's offset.
damage() {
	python3 - "$@" <<-'PY'
	import struct, sys
	path, want, how = sys.argv[1], int(sys.argv[2]), sys.argv[3]
	d = bytearray(open(path, "rb").read())
	off, n = 16, 0
	while off < len(d):
	    ln = struct.unpack_from("<I", d, off)[0]
	    n += 1
	    if n == want:
	        if how == "flip":
	            d[off + 8 + ln // 2] ^= 0x04
	        else:
	            d[off:off + 4] = b"\xff\xff\xff\xff"
	        open(path, "wb").write(d)
	        print(off)
	        sys.exit(0)
	    off += 8 + ln
	sys.exit(1)
	PY
}
fresh() { # fresh: psmd stopped, state removed, psmd started
	[ -n "$PSMD_PID" ] && kill9_psmd
	rm -rf "$STATE"
	psmd_start
}
health_says() { # health_says REGEX: health exits 1 and its output matches REGEX
	local out rc
	out=$("$CTL" -s "$SOCK" health 2>&1)
	rc=$?
	[ "$rc" -eq 1 ] && grep -Eq "$1" <<<"$out"
}

# ---- the issue's case: grant A, B, D, revoke A; one bit flipped in record 2 of 4 ------------

check "psmd starts" psmd_start
a=$(grant jc:a) && b=$(grant jc:b) && d=$(grant jc:d) && "$CTL" -s "$SOCK" revoke "$a" >/dev/null
check "grants A, B, D and the revoke of A are acknowledged" test -n "$d"
check "A is denied before the damage" denied jc:a
kill9_psmd
seg=$(ls "$STATE"/journal.* | sort | tail -1)
size=$(stat -c %s "$seg")
at=$(damage "$seg" 2 flip)
: >"$LOG"
check "psmd starts over a flipped bit in record 2 of 4" psmd_start
check "A (revoked) stays denied" denied jc:a
check "A is not in the table PAM reads" \
	bash -c "'$QUERY' --shm '$SHM' check daemon jc:a >/dev/null 2>&1; [ \$? -eq 1 ]"
check "D (acknowledged after the damage) is allowed" allowed jc:d
check "D is in the table PAM reads" "$QUERY" --shm "$SHM" check daemon jc:d
check "the segment is not truncated" test "$(stat -c %s "$seg")" -eq "$size"
check "a .corrupt copy of the segment is kept" cmp -s "$seg" "$seg.corrupt"
check "the log names the damaged bytes" grep -Eq "$(basename "$seg"): bytes $at-[0-9]+ .*(lost|unreadable)" "$LOG"
check "the log does not call it a torn tail" bash -c "! grep -q 'torn tail' '$LOG'"
check "health is degraded (exit 1) and names the damage" health_says "$(basename "$seg"): bytes $at"
check "recover with an unknown option is a usage error (exit 2)" \
	bash -c "'$CTL' -s '$SOCK' recover --keep 2>&1 >/dev/null | grep -q 'unknown option'; [ \${PIPESTATUS[0]} -eq 2 ]"
check "an unprivileged uid may not recover (exit 4)" \
	bash -c "setpriv --reuid 1 --regid 1 --clear-groups '$CTL' -s '$SOCK' recover --drop >/dev/null 2>&1; [ \$? -eq 4 ]"
psmd_stop
check "psmd restarts (after a snapshot on stop)" psmd_start
check "after the restart A stays denied" denied jc:a
check "after the restart health is still degraded" health_says "bytes $at"
check "psmctl recover --drop acknowledges the damage" "$CTL" -s "$SOCK" recover --drop
check "health is healthy after recover" "$CTL" -s "$SOCK" health
check "A stays denied after recover" denied jc:a
psmd_stop
check "psmd restarts after recover" psmd_start
check "health stays healthy after a restart" "$CTL" -s "$SOCK" health

# ---- a 0xffffffff length in the first frame does not drop the segment ------------------------

check "fresh psmd" fresh
a=$(grant jc:a) && b=$(grant jc:b) && "$CTL" -s "$SOCK" revoke "$a" >/dev/null
kill9_psmd
seg=$(ls "$STATE"/journal.* | sort | tail -1)
at=$(damage "$seg" 1 len)
: >"$LOG"
check "psmd starts over a 0xffffffff first length" psmd_start
check "B (after the damage) is still allowed" allowed jc:b
check "A (revoked after the damage) is denied" denied jc:a
check "health names the damaged first frame" health_says "bytes $at"

# ---- a grant whose revoke may have been lost is quarantined until an admin decides ------------

for how in accept drop; do
	check "fresh psmd ($how)" fresh
	q=$(grant jc:q) && grant jc:r >/dev/null
	kill9_psmd
	seg=$(ls "$STATE"/journal.* | sort | tail -1)
	damage "$seg" 2 flip >/dev/null # the last record: nothing after it proves Q's fate
	: >"$LOG"
	check "$how: psmd starts" psmd_start
	check "$how: Q (before the damage, no later record) is denied" denied jc:q
	check "$how: Q is not in the table PAM reads" \
		bash -c "'$QUERY' --shm '$SHM' check daemon jc:q >/dev/null 2>&1; [ \$? -eq 1 ]"
	check "$how: psmctl recover lists Q as quarantined" \
		bash -c "'$CTL' -s '$SOCK' recover | grep -q '$q'"
	check "$how: health says grants are quarantined" health_says "quarantine"
	check "$how: metrics count the quarantined grant" \
		bash -c "'$CTL' -s '$SOCK' metrics | grep -qx 'psm_quarantined_grants 1'"
	check "$how: the log names Q's quarantine" grep -q "quarantine" "$LOG"
	psmd_stop # writes a snapshot: it must not launder Q
	check "$how: psmd restarts after a snapshot" psmd_start
	check "$how: Q stays denied after the snapshot and restart" denied jc:q
	check "$how: health still degraded" health_says "quarantine"
	check "$how: psmctl recover --$how" "$CTL" -s "$SOCK" recover "--$how"
	check "$how: health is healthy" "$CTL" -s "$SOCK" health
	check "$how: psmctl recover lists nothing any more" \
		bash -c "'$CTL' -s '$SOCK' recover | grep -qx 'no journal damage, nothing in quarantine'"
	if [ "$how" = accept ]; then
		check "accept: Q is allowed" allowed jc:q
	else
		check "drop: Q stays denied" denied jc:q
	fi
	kill9_psmd
	check "$how: psmd restarts after kill -9" psmd_start
	if [ "$how" = accept ]; then
		check "accept: Q is still allowed after the restart" allowed jc:q
	else
		check "drop: Q is still denied after the restart" denied jc:q
	fi
	check "$how: health stays healthy after the restart" "$CTL" -s "$SOCK" health
done

tap_end
