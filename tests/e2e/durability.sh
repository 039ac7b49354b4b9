#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tests/e2e/durability.sh - psmd's durability: kill -9 at random points of a pipelined grant
# stream loses no acknowledged grant and half-applies none; a torn journal tail loads its valid
# prefix; a corrupt newest snapshot falls back to the previous one plus the journal.
# TAP lines "ok - NAME" / "not ok - NAME". $BUILD (default build) holds psmd, psmctl,
# psm-query; ROUNDS (default 20) kills.  Temp dir, table /psm-e2e-dur-PID; only processes
# started here are stopped (by pid); KEEP=1 keeps the temp dir.  Needs root and python3.
set -u
cd "$(dirname "$0")/../.." || exit 1
BUILD=${BUILD:-build}
PSMD=$BUILD/psmd
CTL=$BUILD/psmctl
QUERY=$BUILD/psm-query
ROUNDS=${ROUNDS:-20}
SHM=/psm-e2e-dur-$$
T=$(mktemp -d /tmp/psm-e2e-dur.XXXXXX)
SOCK=$T/psmd.sock
LOG=$T/psmd.log
STATE=$T/state
PSMD_PID=""
CLIENT_PID=""
FAILED=0

cleanup() {
	local p
	for p in $CLIENT_PID $PSMD_PID; do
		kill -TERM "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
	rm -f "/dev/shm$SHM" "/dev/shm$SHM".new-*
	[ -n "${KEEP:-}" ] || rm -rf "$T"
}
trap cleanup EXIT

pass() { echo "ok - $1"; }
fail() {
	local l
	echo "not ok - $1"
	shift
	for l in "$@"; do printf '%s\n' "$l" | sed 's/^/#   /'; done
	FAILED=$((FAILED + 1))
}
check() {
	local name=$1
	shift
	if "$@"; then pass "$name"; else fail "$name" "failed: $*"; fi
}
wait_for() {
	local i n=$(($1 * 10))
	shift
	for ((i = 0; i < n; i++)); do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}

for f in "$PSMD" "$CTL" "$QUERY"; do
	[ -x "$f" ] || { echo "not ok - $f is not built"; exit 1; }
done

echo '{ "roles": {}, "bindings": [] }' >"$T/policy.json"
cat >"$T/psmd.conf" <<-CONF
{
  "shm_name": "$SHM",
  "socket": "$SOCK",
  "state_dir": "$STATE",
  "policy": "$T/policy.json",
  "table_group": "root",
  "capacity": 1000,
  "host_name": "e2e-dur-host"
}
CONF

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
          and g.get("reason") == pat[4:] and isinstance(g.get("not_after"), int)
          and 0 < g["not_after"] - g["created"] <= 86400 and g.get("source") == "admin")
    if gid in acked and acked[gid] != pat:
        ok = False
    if not ok:
        bad.append(gid)
print("acked %d present %d missing %d bad %d" % (len(acked), len(have), len(missing), len(bad)))
sys.exit(1 if missing or bad else 0)
PY

start_psmd() {
	"$PSMD" -d -c "$T/psmd.conf" >>"$LOG" 2>&1 &
	PSMD_PID=$!
	wait_for 10 "$CTL" -s "$SOCK" stats >/dev/null 2>&1
}
kill9_psmd() {
	kill -KILL "$PSMD_PID" 2>/dev/null
	wait "$PSMD_PID" 2>/dev/null
	PSMD_PID=""
}
stop_psmd() {
	kill -TERM "$PSMD_PID" 2>/dev/null && wait "$PSMD_PID" 2>/dev/null
	PSMD_PID=""
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
check "psmd starts" start_psmd

# ---- kill -9 at random points of a pipelined stream -----------------------------------------

lost=0
for ((r = 1; r <= ROUNDS; r++)); do
	rm -f "$T/acked.ready"
	python3 "$T/client.py" "$SOCK" "r$r" 3000 "$T/acked" &
	CLIENT_PID=$!
	wait_for 10 test -e "$T/acked.ready"
	sleep "0.$(printf '%03d' $((RANDOM % 250)))"
	kill9_psmd
	wait "$CLIENT_PID" 2>/dev/null
	CLIENT_PID=""
	if ! start_psmd; then
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
: >"$LOG.torn"
LOG_SAVE=$LOG
LOG=$LOG.torn
check "psmd starts over a torn journal tail" start_psmd
LOG=$LOG_SAVE
check "the torn tail is logged" grep -q 'torn tail' "$T/psmd.log.torn"
"$CTL" -s "$SOCK" export "$T/export.json"
check "the valid prefix is loaded" python3 -c '
import json, sys
have = {g["grant_id"] for g in json.load(open(sys.argv[1]))["grants"]}
want = [l.split()[0] for l in open(sys.argv[2])]
sys.exit(0 if all(w in have for w in want) and sys.argv[3] not in have else 1)' \
	"$T/export.json" "$T/acked" "$torn_id"

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
stop_psmd # snapshot on a clean stop
start_psmd
add_grants b
stop_psmd # a newer snapshot
start_psmd
add_grants c
kill9_psmd
newest=$(ls "$STATE"/snapshot.* | grep -v corrupt | sort | tail -1)
check "two snapshots are kept" test "$(ls "$STATE"/snapshot.* | grep -vc corrupt)" -ge 2
size=$(stat -c %s "$newest")
printf 'XXXX' | dd of="$newest" bs=1 seek=$((size / 2)) conv=notrunc status=none
: >"$T/psmd.log.snap"
LOG=$T/psmd.log.snap
check "psmd starts over a corrupt newest snapshot" start_psmd
LOG=$LOG_SAVE
check "the fallback is logged" grep -Eq 'snapshot.*(corrupt|fall)' "$T/psmd.log.snap"
"$CTL" -s "$SOCK" export "$T/export.json"
check "previous snapshot + journal give every grant" python3 -c '
import json, sys
have = {g["grant_id"] for g in json.load(open(sys.argv[1]))["grants"]}
want = [l.split()[0] for l in open(sys.argv[2])]
sys.exit(0 if len(want) == 9 and all(w in have for w in want) else 1)' \
	"$T/export.json" "$T/acked"

[ "$FAILED" -eq 0 ]
