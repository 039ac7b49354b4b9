#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tests/e2e/psmd.sh - psmd end to end: -n, start, table mode, heartbeat, READY=1, reload, lock, stop.
# TAP lines "ok - NAME" / "not ok - NAME"; $BUILD (default build) holds psmd and tools/tableinfo.
# Everything lives in a temp dir and the table /psm-e2e-psmd-PID; only processes started here are
# stopped (by pid), and the table is removed on exit.
set -u
# shellcheck source=../lib/psmd.sh
. "$(dirname "$0")/../lib/psmd.sh"
psmd_env psmd
TABLEINFO=$BUILD/tools/tableinfo

# info KEY: one figure of the table header, as tableinfo prints it.
info() { "$TABLEINFO" "$SHM" 2>/dev/null | awk -v k="$1" '$1 == k { print $2 }'; }
grants() { "$TABLEINFO" "$SHM" grants "$1"; }
alive() { kill -0 "$1" 2>/dev/null; }
dead() { ! kill -0 "$1" 2>/dev/null; }

# notify_listen ADDR LOG: a datagram socket at ADDR (a path, or @NAME: abstract) like
# systemd's NOTIFY_SOCKET; each message it gets is a line of LOG.  Sets NOTIFY_PID.
notify_listen() {
	python3 - "$1" "$2" <<-'PY' &
	import socket, sys
	s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
	addr = sys.argv[1]
	s.bind("\0" + addr[1:] if addr.startswith("@") else addr)
	open(sys.argv[2], "a").close()
	with open(sys.argv[2], "a") as log:
	    while True:
	        log.write(s.recv(4096).decode().replace("\n", " ") + "\n")
	        log.flush()
	PY
	NOTIFY_PID=$!
	PIDS="$PIDS $NOTIFY_PID"
}

psmd_need "$PSMD" "$TABLEINFO"

# ---- files ----------------------------------------------------------------------------------

write_conf() { # write_conf FILE SHM_NAME
	psmd_conf "$1" "$2" '"capacity": 2,     /* small: psmd grows the table */
	  "host_name": "e2e-host",
	  "labels": ["test"]'
}

write_policy() { # write_policy EXTRA_PATTERN
	cat >"$T/policy.json" <<-POL
	{
	  "roles": { "ops": ["login:*", "sudo:run"$1], "dev": ["login:ssh"] },
	  "bindings": [ { "user": "root", "roles": ["ops"] } ],
	  "deny": [ { "user": "daemon", "perms": ["sudo:*"] } ],
	  "services": { "sudo": "sudo:run" }
	}
	POL
}

write_conf "$T/psmd.conf" "$SHM"
write_policy ""
printf '{\n  "shm_name": "%s",\n  "colour": "blue"\n}\n' "$SHM" >"$T/bad.conf"
printf '{\n  "roles": { "ops": ["sudo:r!n"] }\n}\n' >"$T/bad-policy.json"
sed "s|$T/policy.json|$T/bad-policy.json|" "$T/psmd.conf" >"$T/bad-policy.conf"

# ---- psmd -n ----------------------------------------------------------------------------------

out=$("$PSMD" -n -c "$T/psmd.conf" 2>"$T/n.err"); rc=$?
if [ $rc -eq 0 ] && [ "$out" = "$(printf 'policy OK: 2 roles, 1 binding, 1 deny rule, 0 warnings\nconfiguration OK')" ]; then
	pass "psmd -n: good config and policy, exit 0"
else
	fail "psmd -n: good config and policy, exit 0" "exit $rc, stdout: $out" "$(cat "$T/n.err")"
fi

err=$("$PSMD" -n -c "$T/bad.conf" 2>&1 >/dev/null); rc=$?
want="psmd: $T/bad.conf:3:3: unknown key \"colour\" in configuration"
if [ $rc -eq 2 ] && [ "$err" = "$want" ]; then
	pass "psmd -n: unknown config key, exit 2, FILE:L:C"
else
	fail "psmd -n: unknown config key, exit 2, FILE:L:C" "exit $rc" "got:  $err" "want: $want"
fi

err=$("$PSMD" -n -c "$T/bad-policy.conf" 2>&1 >/dev/null); rc=$?
if [ $rc -eq 2 ] && [[ "$err" =~ ^"psmd: $T/bad-policy.json:2:"[0-9]+": " ]] &&
	[ "$(printf '%s\n' "$err" | wc -l)" -eq 1 ]; then
	pass "psmd -n: bad policy, exit 2, one line FILE:L:C"
else
	fail "psmd -n: bad policy, exit 2, one line FILE:L:C" "exit $rc" "got: $err"
fi

err=$("$PSMD" -n -c "$T/missing.conf" 2>&1 >/dev/null); rc=$?
if [ $rc -eq 2 ] && [[ "$err" == *"$T/missing.conf"* ]]; then
	pass "psmd -n: a missing -c FILE is an error, exit 2"
else
	fail "psmd -n: a missing -c FILE is an error, exit 2" "exit $rc" "got: $err"
fi

# ---- start ------------------------------------------------------------------------------------

notify_listen "$T/notify.sock" "$T/notify.log"
wait_for 5 test -S "$T/notify.sock" || echo "# the notify listener did not start"

NOTIFY_SOCKET="$T/notify.sock" "$PSMD" -d -c "$T/psmd.conf" </dev/null >"$T/psmd.out" 2>"$T/psmd.log" &
PSMD_PID=$!
PIDS="$PIDS $PSMD_PID"

if wait_for 10 test -e "/dev/shm$SHM"; then
	pass "psmd -d: the table appears"
else
	fail "psmd -d: the table appears" "$(cat "$T/psmd.log")"
fi
st=$(stat -c '%a %U %G' "/dev/shm$SHM" 2>&1)
check "table mode 0640, owner root, group root ($st)" test "$st" = "640 root root"
check "a reader opens it: mode 0640 uid 0" test "$(info mode) $(info uid)" = "0640 0"
check "READY=1 on NOTIFY_SOCKET (path) with STATUS and MAINPID" \
	wait_for 10 has_line "$T/notify.log" "^READY=1 STATUS=serving [0-9]* records MAINPID=$PSMD_PID"
check "log: serving $SHM: N records, generation G (policy ...)" \
	wait_for 5 has_line "$T/psmd.log" "^psmd: serving $SHM: [0-9]* records, generation [0-9]* (policy $T/policy.json: 2 roles, 1 binding, 1 deny rule, 0 warnings)"
check "the table grew past capacity 2 (log)" has_line "$T/psmd.log" "table full at capacity 2: growing it to 4"
check "policy grant root sudo:run is in the table" bash -c "'$TABLEINFO' '$SHM' grants root | grep -qx 'sudo:run'"
check "header: host name and policy counts" \
	test "$(info host) $("$TABLEINFO" "$SHM" | grep '^policy')" = "e2e-host policy 2 roles, 1 bindings, 1 deny rules"

hb1=$(info heartbeat)
advanced() { [ "$(info heartbeat)" -gt "$hb1" ] 2>/dev/null || return 1; }
check "heartbeat advances while psmd runs" wait_for 5 advanced

# ---- SIGHUP: a good policy --------------------------------------------------------------------

gen1=$(info generation)
rec1=$(info records)
write_policy ', "db:admin"'
write_conf "$T/psmd.conf" "$SHM-renamed"
: >"$T/notify.log"
kill -HUP "$PSMD_PID"
if wait_for 10 has_line "$T/psmd.log" "^psmd: reloaded: $SHM: "; then
	pass "SIGHUP: reloaded (log)"
else
	fail "SIGHUP: reloaded (log)" "$(tail -n 5 "$T/psmd.log")"
fi
check "SIGHUP: the new grant root db:admin is in the table" bash -c "'$TABLEINFO' '$SHM' grants root | grep -qx 'db:admin'"
check "SIGHUP: one more record ($rec1 -> $(info records))" test "$(info records)" -eq $((rec1 + 1))
gen2=$(info generation)
if [ "$gen2" -gt "$gen1" ]; then
	pass "SIGHUP: generation changes ($gen1 -> $gen2)"
else
	fail "SIGHUP: generation changes ($gen1 -> $gen2)" \
		"a rebuilt table starts its generation afresh: shm_writer_opts needs a first generation"
fi
check "SIGHUP: shm_name change needs a restart (log), old name still served" \
	has_line "$T/psmd.log" "shm_name \"$SHM-renamed\" needs a restart: keeping \"$SHM\""
check "SIGHUP: no table under the new name" test ! -e "/dev/shm$SHM-renamed"
check "SIGHUP: RELOADING=1 then READY=1 to systemd" \
	wait_for 5 bash -c "grep -n '^RELOADING=1' '$T/notify.log' | head -1 | grep -q '^1:' && grep -q '^READY=1' '$T/notify.log'"
write_conf "$T/psmd.conf" "$SHM"

# ---- SIGHUP: a broken policy -------------------------------------------------------------------

gen2=$(info generation)
rec2=$(info records)
printf '{\n  "roles": {\n    "ops": ["login:*"],\n    "colour": 5\n  },\n  "bindings": []\n}\n' >"$T/policy.json"
kill -HUP "$PSMD_PID"
if wait_for 10 has_line "$T/psmd.log" "reload failed, still serving the old table: $T/policy.json:[0-9]*:[0-9]*: "; then
	pass "SIGHUP broken policy: the log names FILE:L:C"
else
	fail "SIGHUP broken policy: the log names FILE:L:C" "$(tail -n 3 "$T/psmd.log")"
fi
check "SIGHUP broken policy: psmd still alive" alive "$PSMD_PID"
check "SIGHUP broken policy: same table served (records $rec2, generation $gen2)" \
	test "$(info records) $(info generation) $(info retired)" = "$rec2 $gen2 0"
check "SIGHUP broken policy: the grant from before is still there" \
	bash -c "'$TABLEINFO' '$SHM' grants root | grep -qx 'db:admin'"
write_policy ', "db:admin"'

# ---- a second psmd on the same state_dir ---------------------------------------------------------

err=$("$PSMD" -d -c "$T/psmd.conf" </dev/null 2>&1 >/dev/null); rc=$?
want="psmd: another psmd holds $T/state/psmd.lock (pid $PSMD_PID)"
if [ $rc -eq 3 ] && [[ "$err" == *"$want"* ]]; then
	pass "a second psmd on the same state_dir is refused, exit 3"
else
	fail "a second psmd on the same state_dir is refused, exit 3" "exit $rc" "got: $err" "want: $want"
fi
check "the second psmd left the table alone" test "$(info generation) $(info retired)" = "$gen2 0"
check "state_dir is mode 0700" test "$(stat -c %a "$T/state")" = 700

# ---- SIGTERM ------------------------------------------------------------------------------------

recs=$(info records)
kill -TERM "$PSMD_PID"
wait "$PSMD_PID"
rc=$?
check "SIGTERM: psmd exits 0 (got $rc)" test $rc -eq 0
check "SIGTERM: STOPPING=1 to systemd" wait_for 5 has_line "$T/notify.log" "^STOPPING=1"
check "SIGTERM: the table stays and is readable ($recs records)" test "$(info records)" = "$recs"
hb1=$(info heartbeat)
sleep 2.2
check "SIGTERM: the heartbeat no longer advances" test "$(info heartbeat)" = "$hb1"

# ---- restart, notifying an abstract socket ------------------------------------------------------

kill "$NOTIFY_PID" 2>/dev/null
wait "$NOTIFY_PID" 2>/dev/null
notify_listen "@psm-e2e-$$" "$T/notify2.log"
wait_for 5 test -e "$T/notify2.log"
NOTIFY_SOCKET="@psm-e2e-$$" "$PSMD" -d -c "$T/psmd.conf" </dev/null >"$T/psmd2.out" 2>"$T/psmd2.log" &
PSMD_PID=$!
PIDS="$PIDS $PSMD_PID"
check "restart: READY=1 on an abstract NOTIFY_SOCKET" wait_for 10 has_line "$T/notify2.log" "^READY=1"
check "restart: the new psmd owns the table" test "$(info writer_pid)" = "$PSMD_PID"
kill -INT "$PSMD_PID"
wait "$PSMD_PID"
rc=$?
check "SIGINT: psmd exits 0 (got $rc)" test $rc -eq 0

tap_end
