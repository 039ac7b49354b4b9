#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tests/e2e/durability.sh - psmd's durability: kill -9 at random points of a pipelined grant
# stream loses no acknowledged grant and half-applies none; a torn journal tail loads its valid
# prefix; a corrupt newest snapshot falls back to the previous one plus the journal.
# TAP lines "ok - NAME" / "not ok - NAME". $BUILD (default build) holds psmd, psmctl,
# psm-query; ROUNDS (default 20) kills.  Temp dir, table /psm-e2e-dur-PID; only processes
# started here are stopped (by pid); KEEP=1 keeps the temp dir.  Needs root and python3.
set -u
# shellcheck source=../lib/psmd.sh
. "$(dirname "$0")/../lib/psmd.sh"
psmd_env dur
ROUNDS=${ROUNDS:-20}
STATE=$T/state
psmd_need "$PSMD" "$CTL" "$QUERY"

echo '{ "roles": {}, "bindings": [] }' >"$T/policy.json"
psmd_conf "$T/psmd.conf" "$SHM" '"capacity": 1000,
  "host_name": "e2e-dur-host"'

# The client: pipelines grants "dur:ROUND:N" (reason "ROUND:N") on one connection from a
# writer thread while the main thread reads replies; every acknowledged grant_id goes to
# ACKED with its pattern, flushed at once.  Stops at COUNT grants or when psmd goes away.
cat >"$T/client.py" <<-'PY'
import json, socket, sys, threading
sock_path, tag, count, acked_path = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
s = socket.socket(socket.AF_UNIX)
s.connect(sock_path)
open(acked_path + ".ready", "w").close()
def writer():
    try:
        for i in range(count):
            req = {"op": "grant", "user": "daemon", "perm": "dur:%s:%d" % (tag, i),
                   "ttl": "1d", "reason": "%s:%d" % (tag, i), "tag": str(i)}
            s.sendall((json.dumps(req) + "\n").encode())
    except OSError:
        pass
threading.Thread(target=writer, daemon=True).start()
out = open(acked_path, "a")
f = s.makefile("rb")
n = 0
try:
    for line in f:
        r = json.loads(line)
        if r.get("ok"):
            out.write("%s dur:%s:%s\n" % (r["grant_id"], tag, r["tag"]))
            out.flush()
        n += 1
        if n == count:
            break
except (OSError, ValueError):
    pass
out.close()
PY

# Checks an export against the acknowledged grants: every one present, each present grant
# complete (its reason matches its pattern, ttl 1 day).
cat >"$T/verify.py" <<-'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
acked = {}
for line in open(sys.argv[2]):
    gid, pat = line.split()
    acked[gid] = pat
have = {g["grant_id"]: g for g in doc["grants"]}
missing = [g for g in acked if g not in have]
bad = []
for gid, g in have.items():
    pat = g.get("pattern", "")
    ok = (g.get("principal") == "daemon" and pat.startswith("dur:")
          and g.get("reason") == pat[4:] and isinstance(g.get("not_after_unix"), int)
          and 0 < g["not_after_unix"] - g["created_unix"] <= 86400 and g.get("source") == "admin")
    if gid in acked and acked[gid] != pat:
        ok = False
    if not ok:
        bad.append(gid)
print("acked %d present %d missing %d bad %d" % (len(acked), len(have), len(missing), len(bad)))
sys.exit(1 if missing or bad else 0)
PY

kill9_psmd() {
	kill -KILL "$PSMD_PID" 2>/dev/null
	wait "$PSMD_PID" 2>/dev/null
	PSMD_PID=""
}
# start_logging_to FILE NAME: check NAME: psmd starts, logging to FILE (new) this time.
start_logging_to() {
	local keep=$LOG
	LOG=$1
	: >"$LOG"
	check "$2" psmd_start
	LOG=$keep
}

# export_check NAME COUNT|- ABSENT_ID|-: exports; passes when the export holds every grant
# of $T/acked (and there are COUNT of them) and not the grant ABSENT_ID.
export_check() {
	"$CTL" -s "$SOCK" export "$T/export.json"
	check "$1" python3 -c '
import json, sys
have = {g["grant_id"] for g in json.load(open(sys.argv[1]))["grants"]}
want = [l.split()[0] for l in open(sys.argv[2])]
sys.exit(0 if sys.argv[3] in ("-", str(len(want))) and all(w in have for w in want)
         and sys.argv[4] not in have else 1)' "$T/export.json" "$T/acked" "$2" "$3"
}

# verify NAME: exports and checks every acknowledged grant is there, none half applied.
verify() {
	local out
	if ! "$CTL" -s "$SOCK" export "$T/export.json" 2>"$T/err"; then
		fail "$1" "export failed: $(cat "$T/err")"
		return 1
	fi
	if out=$(python3 "$T/verify.py" "$T/export.json" "$T/acked"); then
		pass "$1 ($out)"
	else
		fail "$1" "$out"
		return 1
	fi
}

: >"$T/acked"
check "psmd starts" psmd_start

# ---- kill -9 at random points of a pipelined stream -----------------------------------------

lost=0
for ((r = 1; r <= ROUNDS; r++)); do
	rm -f "$T/acked.ready"
	python3 "$T/client.py" "$SOCK" "r$r" 3000 "$T/acked" &
	PIDS=$! # the client, stopped on exit
	wait_for 10 test -e "$T/acked.ready"
	sleep "0.$(printf '%03d' $((RANDOM % 250)))"
	kill9_psmd
	wait "$PIDS" 2>/dev/null
	PIDS=""
	if ! psmd_start; then
		fail "round $r: psmd restarts after kill -9" "$(tail -3 "$LOG")"
		lost=1
		break
	fi
	if ! python3 "$T/verify.py" <("$CTL" -s "$SOCK" export) "$T/acked" >"$T/v" 2>&1; then
		fail "round $r: every acknowledged grant present after kill -9" "$(cat "$T/v")"
		lost=1
	fi
done
[ "$lost" -eq 0 ] && pass "$ROUNDS kill -9 rounds: no acknowledged grant lost"
verify "after $ROUNDS kill -9 rounds: acknowledged grants present, none half applied"
last=$(tail -1 "$T/acked" | awk '{ print $2 }')
check "the last acknowledged grant is in the first table after restart" \
	"$QUERY" --shm "$SHM" check daemon "$last"
check "acknowledged grants were pipelined (more than one per commit)" \
	test "$(wc -l <"$T/acked")" -gt "$ROUNDS"

# ---- a torn journal tail ----------------------------------------------------------------------

: >"$T/acked"
for i in 1 2 3; do
	id=$("$CTL" -s "$SOCK" grant daemon "torn:$i" --ttl 1d --reason "torn:$i")
	[ "$i" -lt 3 ] && echo "$id torn:$i" >>"$T/acked"
	[ "$i" -eq 3 ] && torn_id=$id
done
kill9_psmd
seg=$(ls "$STATE"/journal.* | sort | tail -1)
size=$(stat -c %s "$seg")
truncate -s $((size - 7)) "$seg"
start_logging_to "$T/psmd.log.torn" "psmd starts over a torn journal tail"
check "the torn tail is logged" grep -q 'torn tail' "$T/psmd.log.torn"
export_check "the valid prefix is loaded" - "$torn_id"

# ---- a corrupt newest snapshot ------------------------------------------------------------------

: >"$T/acked"
add_grants() { # add_grants NAME: three grants, acknowledged ids recorded
	local i id
	for i in 1 2 3; do
		id=$("$CTL" -s "$SOCK" grant daemon "snap:$1:$i" --ttl 1d --reason "snap:$1:$i") &&
			echo "$id snap:$1:$i" >>"$T/acked"
	done
}
add_grants a
psmd_stop # snapshot on a clean stop
psmd_start
add_grants b
psmd_stop # a newer snapshot
psmd_start
add_grants c
kill9_psmd
newest=$(ls "$STATE"/snapshot.* | grep -v corrupt | sort | tail -1)
check "two snapshots are kept" test "$(ls "$STATE"/snapshot.* | grep -vc corrupt)" -ge 2
size=$(stat -c %s "$newest")
printf 'XXXX' | dd of="$newest" bs=1 seek=$((size / 2)) conv=notrunc status=none
start_logging_to "$T/psmd.log.snap" "psmd starts over a corrupt newest snapshot"
check "the fallback is logged" grep -Eq 'snapshot.*(corrupt|fall)' "$T/psmd.log.snap"
export_check "previous snapshot + journal give every grant" 9 -

tap_end
