#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tests/e2e/pressure.sh - psmd under resource pressure: EMFILE, unread replies, slowloris,
# 10^4 connections, a Redis that stalls mid-reply (issue 14).
# Runs as root in a private mount namespace (tests/lib/ns.sh); BUILD=dir (default build) holds
# psmd, psmctl, pam_psm.so, tools/connflood and tools/fake_redis.
#
# The limits psmd enforces on its admin socket (psmd(8), LIMITS; psmd/control.h):
#   - 16 connections per non-root uid, 256 of root, 1024 of non-admins, 4096 in all; one more
#     is answered "unavailable" and closed;
#   - out of fds (EMFILE), a reserve fd still accepts: a new connection of an admin takes the
#     place of the non-admin connection quiet longest, any other is answered "unavailable";
#   - a request line must be complete 10 s after its first byte, and a connection with
#     nothing in flight is closed after 60 s (non-admins) (slowloris);
#   - replies queued past 1 MiB (64 KiB for a non-admin) stop the reading of more requests,
#     and a client that leaves replies unread for 30 s is dropped;
#   - Redis: one deadline (command timeout, 5 s) per reply, however it trickles or stalls.
# For each pressure: root is still served within BOUND seconds (psmctl stats, check, grant
# under timeout(1)), real sudo through pam_psm.so decides as before, and afterwards psmd's
# fd count (/proc/PID/fd) is back to its baseline exactly and its VmRSS within a slack.
# psmd runs with RLIMIT_NOFILE lowered (prlimit) so EMFILE comes after a few dozen clients.
# shellcheck disable=SC2317,SC2119 # functions are called through ns_main
set -u
# shellcheck source=../lib/ns.sh
. "$(dirname "$0")/../lib/ns.sh"

NOFILE=64		     # psmd's RLIMIT_NOFILE here
FD_SPARE=16		     # fds psmd keeps free of clients (CONTROL_FD_SPARE)
BOUND=5			     # seconds an answer to root may take under pressure (a loaded machine)
RSS_SLACK_KB=$((16 * 1024)) # VmRSS after a pressure, over the baseline
# PRESSURE_CASES="churn noread" runs only those.
FLOOD_USERS="psm-alice psm-bob psm-carol psm-dave psm-erin"

FLOOD=
FAKE=
declare -A FLOOD_OUT=()

# ---- psmd's figures ------------------------------------------------------------------------

fds() { # fds PID: its open fds
	find "/proc/$1/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l
}

rss() { # rss PID: VmRSS in kB
	awk '$1 == "VmRSS:" { print $2 }' "/proc/$1/status"
}

fds_are() { # fds_are PID N
	[ "$(fds "$1")" -eq "$2" ]
}

fds_at_least() { # fds_at_least PID N
	[ "$(fds "$1")" -ge "$2" ]
}

# back_to_base WHAT: psmd's fds return to BASE_FDS (10 s) and VmRSS is within the slack.
back_to_base() {
	if wait_for 10 fds_are "$PSMD_PID" "$BASE_FDS"; then
		pass "$1: psmd's fds are back to $BASE_FDS"
	else
		fail "$1: psmd's fds are back to $BASE_FDS" "now $(fds "$PSMD_PID")" \
			"$(find "/proc/$PSMD_PID/fd" -mindepth 1 -printf '%f -> %l\n' | tail -n 8)"
	fi
	check "$1: psmd's VmRSS $(rss "$PSMD_PID") kB is within $RSS_SLACK_KB kB of $BASE_RSS kB" \
		test "$(rss "$PSMD_PID")" -le $((BASE_RSS + RSS_SLACK_KB))
}

# ---- root and PAM under pressure -----------------------------------------------------------

bounded() { # bounded CMD...: CMD answers 0 within BOUND seconds (its stderr: $T/bounded.err)
	timeout -k 1 "$BOUND" "$@" >/dev/null 2>"$T/bounded.err"
}

# within NAME CMD...: passes when CMD answers 0 within BOUND seconds.
within() {
	local name=$1 rc
	shift
	bounded "$@"
	rc=$?
	[ "$rc" -eq 0 ] && { pass "$name"; return 0; }
	[ "$rc" -eq 124 ] && echo "no answer in $BOUND s" >>"$T/bounded.err"
	fail "$name" "\$ $*" "exit $rc: $(cat "$T/bounded.err")" "psmd's log:" \
		"$(tail -n 4 "$T/psmd.log")"
}

# served WHAT [SOCKET]: root's stats, check and a grant all answer within BOUND seconds.
served() {
	local s=${2:-$T/psmd.sock}
	within "$1: root's psmctl stats answers within $BOUND s" "$BUILD/psmctl" -s "$s" stats
	within "$1: root's psmctl check answers (allowed) within $BOUND s" \
		"$BUILD/psmctl" -s "$s" check psm-bob sudo:run
	within "$1: root's psmctl grant answers within $BOUND s" \
		"$BUILD/psmctl" -s "$s" grant psm-carol pressure:x --ttl 1m
}

# pam_path WHAT: real sudo through pam_psm.so: bob (granted) may, erin may not.
pam_path() {
	expect_rc "$1: sudo allows psm-bob (granted)" 0 run_sudo psm-bob
	expect_rc "$1: sudo denies psm-erin (no grant)" 1 run_sudo psm-erin
}

# ---- the clients -------------------------------------------------------------------------

# flood NAME USER ARGS...: connflood as USER (root: "root") in the background; its output
# in FLOOD_OUT[NAME], its pid in FLOOD_PID.
flood() {
	local n=$1 u=$2
	shift 2
	FLOOD_OUT[$n]=$T/flood-$n.out
	if [ "$u" = root ]; then
		"$FLOOD" "$T/psmd.sock" "$@" >"${FLOOD_OUT[$n]}" 2>&1 &
	else
		setpriv --reuid="$(user_uid "$u")" --regid="$NS_ALL_GID" --init-groups \
			"$FLOOD" "$T/psmd.sock" "$@" >"${FLOOD_OUT[$n]}" 2>&1 &
	fi
	FLOOD_PID=$!
	ns_track "$FLOOD_PID"
}

# said NAME WORD: the last figure connflood NAME printed after WORD (0: none yet).
said() {
	{ awk -v w="$2" '$1 == w { v = $2 } END { print v + 0 }' <"${FLOOD_OUT[$1]}"; } 2>/dev/null ||
		echo 0
}

said_ge() { # said_ge NAME WORD N
	[ "$(said "$1" "$2")" -ge "$3" ]
}

unflood() { # unflood PID...: stops those clients
	local p
	for p in "$@"; do
		stop_pid "$p"
		ns_untrack "$p"
	done
}

# ---- the pressures ---------------------------------------------------------------------------

# emfile_closed_some: a client of p_emfile said psmd closed one of its connections.
emfile_closed_some() {
	local u
	for u in $FLOOD_USERS; do
		said_ge "emfile-$u" closed 1 && return 0
	done
	return 1
}

# emfile: five users hold 16 connections each, more than psmd has fds for.
p_emfile() {
	local u pids="" closed=0
	for u in $FLOOD_USERS; do
		flood "emfile-$u" "$u" hold 16
		pids="$pids $FLOOD_PID"
	done
	for u in $FLOOD_USERS; do
		wait_for 10 said_ge "emfile-$u" open 1
	done
	check "emfile: the clients take psmd's fds but the $FD_SPARE it keeps for itself" \
		wait_for 10 fds_at_least "$PSMD_PID" $((NOFILE - FD_SPARE))
	served "emfile"
	pam_path "emfile"
	# each client says what psmd closed once a second: wait for a say, not for a second
	wait_for 10 emfile_closed_some
	for u in $FLOOD_USERS; do
		closed=$((closed + $(said "emfile-$u" closed)))
	done
	check "emfile: connections over the fd limit are refused, not left waiting ($closed)" \
		test "$closed" -gt 0
	expect_grep "emfile: psmd logs that it ran out of fds" 'accept: Too many open files' \
		"$T/psmd.log"
	# shellcheck disable=SC2086 # pids is a list
	unflood $pids
	back_to_base "emfile"
}

# grants_asked N: psmd handled at least N "grants" requests.
grants_asked() {
	local n
	n=$(ctl --json stats | grep -o '"grants":[0-9][0-9]*' | head -n 1 | cut -d: -f2)
	[ "${n:-0}" -ge "$1" ]
}

# noread: root and a user ask for thousands of grants again and again and never read.
p_noread() {
	local pr pu
	flood noread-root root noread 400
	pr=$FLOOD_PID
	flood noread-user psm-carol noread 400
	pu=$FLOOD_PID
	check "noread: psmd answered their first grants requests" wait_for 10 grants_asked 3
	served "noread"
	pam_path "noread"
	check "noread: psmd's VmRSS $(rss "$PSMD_PID") kB stays within $RSS_SLACK_KB kB" \
		test "$(rss "$PSMD_PID")" -le $((BASE_RSS + RSS_SLACK_KB))
	unflood "$pr" "$pu"
	back_to_base "noread"
}

# slowloris: three users' 10 connections each send a byte every 200 ms and never a newline.
p_slowloris() {
	local u pids=""
	for u in psm-alice psm-bob psm-carol; do
		flood "slow-$u" "$u" slow 10 200
		pids="$pids $FLOOD_PID"
	done
	for u in psm-alice psm-bob psm-carol; do
		wait_for 10 said_ge "slow-$u" open 1
	done
	served "slowloris"
	pam_path "slowloris"
	slow_all_closed() {
		local u
		for u in psm-alice psm-bob psm-carol; do
			said_ge "slow-$u" closed 10 || return 1
		done
	}
	check "slowloris: psmd closes every unfinished request (frame deadline)" \
		wait_for 20 slow_all_closed
	expect_grep "slowloris: psmd logs the deadline" 'request unfinished' "$T/psmd.log"
	# shellcheck disable=SC2086 # pids is a list
	unflood $pids
	back_to_base "slowloris"
}

# churn: 10^4 connections opened and closed (root and a user, half of them with half frames).
p_churn() {
	local pr pu
	flood churn-root root churn 5000
	pr=$FLOOD_PID
	flood churn-user psm-dave churn 5000
	pu=$FLOOD_PID
	served "churn"
	pam_path "churn"
	check "churn: 10^4 connections opened and closed" \
		wait_for 60 eval 'said_ge churn-root done 5000 && said_ge churn-user done 5000'
	unflood "$pr" "$pu"
	back_to_base "churn"
}

# ---- Redis that stalls mid-reply (a second psmd, B, with fleet sync) ----------------------------

# redis_fds PID PORT: PID's sockets to 127.0.0.1:PORT.
redis_fds() {
	ss -Htanp "dst 127.0.0.1:$2" 2>/dev/null | grep -c "pid=$1,"
}

# own_fds PID PORT: PID's fds but its sockets to Redis.
own_fds() {
	echo $(($(fds "$1") - $(redis_fds "$1" "$2")))
}

own_fds_are() { # own_fds_are PID PORT N
	[ "$(own_fds "$1" "$2")" -eq "$3" ]
}

p_redis_stall() {
	local port fpid bpid base brss
	"$FAKE" -r half >"$T/fake.port" 2>"$T/fake.log" &
	fpid=$!
	ns_track "$fpid"
	wait_for 5 test -s "$T/fake.port" || { fail "redis: fake_redis started"; return; }
	port=$(cat "$T/fake.port")
	mkdir -p "$T/b"
	SOCK=$T/b/psmd.sock psmd_conf "$T/b/psmd.conf" "$PSM_SHM-b" \
		"\"state_dir\": \"$T/b/state\", \"host_name\": \"b\",
	  \"redis\": { \"url\": \"redis://127.0.0.1:$port\" }"
	sed -i "s|\"state_dir\": \"$T/state\",||" "$T/b/psmd.conf"
	"$PSMD" -d -c "$T/b/psmd.conf" </dev/null >>"$T/b/psmd.log" 2>&1 &
	bpid=$!
	ns_track "$bpid"
	wait_for 10 bounded "$BUILD/psmctl" -s "$T/b/psmd.sock" stats ||
		{ fail "redis: psmd B starts" "$(tail -n 5 "$T/b/psmd.log")"; return; }
	"$BUILD/psmctl" -s "$T/b/psmd.sock" grant psm-bob sudo:run --ttl 1h >/dev/null
	base=$(own_fds "$bpid" "$port")
	brss=$(rss "$bpid")
	check "redis: fake Redis sent half a reply and stalled" \
		wait_for 10 grep -q -- '-> half$' "$T/fake.log"
	served "redis stalled" "$T/b/psmd.sock"
	check "redis: psmd gives up on the stalled reply and reconnects" \
		wait_for 20 eval "[ \$(grep -c '^accept ' '$T/fake.log') -ge 4 ]"
	served "redis stalled again" "$T/b/psmd.sock"
	pam_path "redis stalled (psmd A)"
	check "redis: psmd B's fds but Redis sockets are back to $base" \
		wait_for 10 own_fds_are "$bpid" "$port" "$base"
	check "redis: psmd B's sockets to Redis are at most 2 ($(redis_fds "$bpid" "$port"))" \
		test "$(redis_fds "$bpid" "$port")" -le 2
	check "redis: psmd B's VmRSS $(rss "$bpid") kB is within $RSS_SLACK_KB kB of $brss kB" \
		test "$(rss "$bpid")" -le $((brss + RSS_SLACK_KB))
	unflood "$bpid" "$fpid"
	rm -f "/dev/shm$PSM_SHM-b"
}

# ---- setup ---------------------------------------------------------------------------------

# grants_file N: an export file of N grants of nobody (a large "grants" reply).
grants_file() {
	awk -v n="$1" -v t="$(date +%s)" 'BEGIN {
		printf "{\"format\":\"psm-export\",\"version\":1,\"grants\":["
		for (i = 0; i < n; i++)
			printf "%s{\"grant_id\":\"7072657373757265%016x\",\"principal\":\"nobody\"," \
				"\"pattern\":\"bulk:p%05d\",\"not_before\":null,\"not_after\":%d," \
				"\"from\":[],\"hosts\":[],\"session\":null,\"reason\":\"\"," \
				"\"issuer\":\"root\",\"source\":\"admin\",\"origin\":\"pressure\"," \
				"\"version\":\"%d\",\"created\":%d}", i ? "," : "", i, i, t + 3600, i + 1, t
		printf "],\"sessions\":[]}\n"
	}'
}

scenario() {
	FLOOD=$BUILD/tools/connflood
	FAKE=$BUILD/tools/fake_redis
	psmd_need "$FLOOD" "$FAKE"
	cp /etc/pam.d/sudo "$T/pam-sudo.orig"
	pam_psm_line >>/etc/pam.d/sudo
	write_sudo_policy pressure
	SOCK=$T/psmd.sock psmd_conf "$T/psmd.conf" "$PSM_SHM" '"capacity": 8192'
	check "psmd starts" start_psmd || return
	check "prlimit lowers psmd's RLIMIT_NOFILE to $NOFILE" \
		prlimit --pid "$PSMD_PID" --nofile="$NOFILE:$NOFILE"
	ctl grant psm-bob sudo:run --ttl 1h >/dev/null
	grants_file 3000 >"$T/grants.json"
	expect_rc "3000 grants imported (a grants reply of about 1 MB)" 0 ctl import "$T/grants.json"
	expect_text "psmctl import took all 3000" "imported 3000 grants" -
	pam_path "at rest"
	BASE_FDS=$(fds "$PSMD_PID")
	BASE_RSS=$(rss "$PSMD_PID")
	echo "# baseline: $BASE_FDS fds, VmRSS $BASE_RSS kB"
	for c in ${PRESSURE_CASES:-emfile noread slowloris churn redis_stall}; do
		"p_$c"
	done
	served "after it all"
	grep -q 'ERROR\|AddressSanitizer' "$T/psmd.log" && sed 's/^/#   /' "$T/psmd.log" | tail -n 20
	return 0
}

ns_main scenario sudo prlimit ss timeout
