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
	check "$how: check --explain names Q's quarantine" \
		bash -c "'$CTL' -s '$SOCK' check daemon jc:q --explain | grep 'quarantine after journal damage (psmctl recover)' | grep -q '$q'"
	check "$how: health says it in the singular" health_says "1 grant in quarantine, 1 damaged journal region "
	check "$how: metrics count the quarantined grant" \
		bash -c "'$CTL' -s '$SOCK' metrics | grep -qx 'psm_quarantined_grants 1'"
	check "$how: the log names Q's quarantine" grep -q "quarantine" "$LOG"
	psmd_stop # writes a snapshot: it must not launder Q
	check "$how: psmd restarts after a snapshot" psmd_start
	check "$how: Q stays denied after the snapshot and restart" denied jc:q
	check "$how: health still degraded" health_says "quarantine"
	check "$how: --accept with --drop is a usage error (exit 2) naming both" \
		bash -c "out=\$('$CTL' -s '$SOCK' recover --accept --drop 2>&1); [ \$? -eq 2 ] && grep -q -- '--accept' <<<\"\$out\" && grep -q -- '--drop' <<<\"\$out\""
	check "$how: psmctl recover --$how says 1 grant" \
		bash -c "'$CTL' -s '$SOCK' recover '--$how' | grep -Eq '^[a-z ()]+ 1 quarantined grant; 1 damaged region acknowledged'"
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

# ---- a quarantined grant can be revoked (by id, by principal and pattern): for good ---------

check "fresh psmd (revoke)" fresh
q1=$(grant jc:q1) && q2=$(grant jc:q2) && grant jc:r >/dev/null
kill9_psmd
seg=$(ls "$STATE"/journal.* | sort | tail -1)
damage "$seg" 3 flip >/dev/null # Q1 and Q2 in quarantine
check "revoke: psmd starts" psmd_start
check "revoke: recover lists Q1 and Q2" bash -c "'$CTL' -s '$SOCK' recover | grep '$q1' | grep -q '$q2' || { '$CTL' -s '$SOCK' recover | grep -q '$q1' && '$CTL' -s '$SOCK' recover | grep -q '$q2'; }"
check "revoke: recover shows a quarantined grant's expiry, reason and issuer" \
	bash -c "'$CTL' -s '$SOCK' recover | grep '$q1' | grep -E 'expires [0-9]{4}-' | grep 'reason jc' | grep -q 'issuer root'"
check "revoke: a quarantined grant is revoked by id" "$CTL" -s "$SOCK" revoke "$q1"
check "revoke: a quarantined grant is revoked by principal and pattern" \
	"$CTL" -s "$SOCK" revoke daemon jc:q2
check "revoke: recover no longer lists Q1" bash -c "! '$CTL' -s '$SOCK' recover | grep -q '$q1'"
check "revoke: recover no longer lists Q2" bash -c "! '$CTL' -s '$SOCK' recover | grep -q '$q2'"
check "revoke: revoking Q1 again says already revoked" \
	bash -c "'$CTL' -s '$SOCK' revoke '$q1' 2>&1 | grep -q 'already revoked'"
kill9_psmd
check "revoke: psmd restarts after kill -9" psmd_start
check "revoke: after the restart recover does not list Q1" bash -c "! '$CTL' -s '$SOCK' recover | grep -q '$q1'"
check "revoke: recover --accept" "$CTL" -s "$SOCK" recover --accept
check "revoke: Q1 stays denied after --accept" denied jc:q1
check "revoke: Q2 stays denied after --accept" denied jc:q2
psmd_stop
check "revoke: psmd restarts" psmd_start
check "revoke: Q1 and Q2 stay denied after a restart" bash -c "! '$CTL' -s '$SOCK' check daemon jc:q1 >/dev/null 2>&1 && ! '$CTL' -s '$SOCK' check daemon jc:q2 >/dev/null 2>&1"

# ---- a damaged quarantine file stops psmd rather than change what it holds --------------

check "fresh psmd (quarantine file)" fresh
grant jc:q >/dev/null && grant jc:r >/dev/null
kill9_psmd
seg=$(ls "$STATE"/journal.* | sort | tail -1)
damage "$seg" 2 flip >/dev/null
check "quarantine file: psmd starts" psmd_start
psmd_stop
python3 - "$STATE/quarantine" <<-'PY'
import sys
p = sys.argv[1]
d = bytearray(open(p, "rb").read())
i = d.index(b'"not_after":') + len(b'"not_after":')
d[i] = ord("9") if d[i] != ord("9") else ord("1")
open(p, "wb").write(d)
PY
: >"$LOG"
timeout 10 "$PSMD" -d -c "$T/psmd.conf" >>"$LOG" 2>&1
rc=$?
check "quarantine file: psmd refuses a file with one changed digit (exits, not 0)" \
	test "$rc" -ne 0 -a "$rc" -ne 124
check "quarantine file: the log names the file and its checksum" grep -Eq "quarantine: .*checksum" "$LOG"
PSMD_PID=""

# ---- a removed quarantine file: found again while the damaged segment is loaded, not after --

check "fresh psmd (removed file)" fresh
q=$(grant jc:q) && grant jc:r >/dev/null
kill9_psmd
seg=$(ls "$STATE"/journal.* | sort | tail -1)
damage "$seg" 2 flip >/dev/null
check "removed file: psmd starts" psmd_start
kill9_psmd # no snapshot: the damaged segment is loaded again
rm -f "$STATE/quarantine"
check "removed file, no snapshot since: psmd starts" psmd_start
check "removed file, no snapshot since: the damage is found again and Q is quarantined" \
	bash -c "'$CTL' -s '$SOCK' recover | grep -q 'quarantined: $q'"
check "removed file, no snapshot since: Q is denied" denied jc:q
psmd_stop # a snapshot: the damaged segment is not loaded any more
rm -f "$STATE/quarantine"
check "removed file after a snapshot: psmd starts" psmd_start
check "removed file after a snapshot: Q is denied (gone, as with --drop)" denied jc:q
check "removed file after a snapshot: nothing left to recover" \
	bash -c "'$CTL' -s '$SOCK' recover | grep -qx 'no journal damage, nothing in quarantine'"

tap_end
