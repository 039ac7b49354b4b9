#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tests/e2e/crash_sweep.sh - crash consistency at every syscall boundary of psmd's write path:
# a scripted sequence runs against a fresh psmd killed, cut off by a power cut, or failed with
# EIO / ENOSPC at its Nth write / pwrite / fsync / fdatasync / ftruncate / rename / unlink
# under state_dir ($BUILD/tools/crashpoint.so preloaded); a psmd without the shim then must
# load the state, hold every acknowledged change, and no refused or unsent or revoked grant.
# The sequence: grants, revokes by id and by pattern, real PAM sessions (pamtester under
# pam_wrapper, so the leader is a real pid) opened, extended, closed and killed, a grant bound
# to a session, an import (two grants in one commit), a snapshot forced by `psmctl recover
# --accept` (it commits, starts a segment and writes a snapshot in psmd itself), a stop
# (SIGTERM: a snapshot on the way out) and a start on that state in the fleet (a real Redis;
# host b's grant to this host and b's revoke of it, captured once from a real psmd b, put in
# this run's own keys), more grants and revokes.  After the crash the restarted psmd reads
# the fleet up to a marker: what the fleet revoked must stay revoked.
# A dry run counts the boundary calls (K); then N = 1..K for each mode (tests/preload/
# crashpoint.c): powerloss (killed before the call, then every file as it was at its last
# fsync), torn (writes only: half written, killed), eio-late (the call takes effect, then
# EIO; the run ends with a power cut).  CRASH_FULL=1 adds kill-before, kill-after, eio and
# enospc; CRASH_MODES="..." picks modes, CRASH_POINTS="N ..." points.  An acknowledged
# change must be there after the restart; a refused or unsent one must not; one in flight
# when psmd died may be either.  Prints "crash points swept: K x modes = runs" and each
# failure with its N, mode, call and what broke.  Root, no namespace needed (system users
# daemon, bin, sync, games, man; temp dir, table, socket, Redis port of its own); KEEP=1
# keeps the temp dir (and a copy of each failed run's state).
set -u
# shellcheck source=../lib/fleet.sh
. "$(dirname "$0")/../lib/fleet.sh"
fleet_env crash
SHIM=$BUILD/tools/crashpoint.so
psmd_need "$PSMD" "$CTL" "$QUERY" "$SHIM"
command -v pamtester >/dev/null || { echo "not ok - pamtester is not installed"; exit 1; }
PAMWRAP=$(ldconfig -p | awk '/libpam_wrapper\.so / { print $NF; exit }')
[ -n "$PAMWRAP" ] || { echo "not ok - libpam_wrapper is not installed"; exit 1; }

if [ "${CRASH_FULL:-0}" = 1 ]; then
	MODES=${CRASH_MODES:-kill-before kill-after torn eio enospc powerloss eio-late}
else
	MODES=${CRASH_MODES:-powerloss torn eio-late}
fi
RUN=$T/run
STATE=$RUN/state
CRASH=$T/crash # the shim's control file; its log is $CRASH.log

mkdir -p "$T/pam"
cat >"$T/pam/psmcs" <<-EOF
session required pam_loginuid.so
auth required pam_permit.so
account required pam_permit.so
session required $PWD/$BUILD/pam_psm.so socket=$SOCK
EOF
printf '%s required pam_deny.so\n' auth account session password >"$T/pam/other"
# write_conf [PREFIX]: psmd.conf of the host under test; with PREFIX, in the fleet with its
# keys under PREFIX (a fresh one each run: nothing of another run is in Redis for it).
write_conf() {
	local fleet=""
	[ -z "${1:-}" ] ||
		fleet=", \"redis\": { \"url\": \"$(redis_url r)\", \"key_prefix\": \"$1\" }"
	cat >"$T/psmd.conf" <<-CONF
	// psmd.conf for crash_sweep.sh: every path is temporary.
	{ "shm_name": "$SHM", "socket": "$SOCK", "state_dir": "$STATE", "policy": "$T/policy.json",
	  "table_group": "root", "capacity": 64, "host_name": "crash-sweep"$fleet }
	CONF
}


# ---- the fleet: one Redis for the sweep; host b's records, captured once ------------------
# b grants daemon cs:8 to this host and revokes it, and grants the marker cs:9; each run
# writes those exact entries (feed entry and state hash value, as b's script did) under its
# own key prefix, so the host under test applies them from the fleet at a known point.

# feed_entry GRANT_ID TYPE: the r field of redis r's feed entry of that record ("" if none).
feed_entry() {
	redis_cli r --raw XRANGE "$FLEET_FEED" - + 2>/dev/null |
		grep -F "\"type\":\"$2\"" | grep -F "\"grant_id\":\"$1\"" | head -n 1
}

has_entry() { [ -n "$(feed_entry "$1" "$2")" ]; }

# capture NAME GRANT_ID TYPE: FEED[NAME] and HASH[NAME] once b's push of it is in Redis.
declare -A FEED HASH
capture() {
	wait_for 10 has_entry "$2" "$3" || return 1
	FEED[$1]=$(feed_entry "$2" "$3")
	HASH[$1]=$(redis_cli r --raw HGET "$FLEET_STATE" "g:$2")
	HASH_KEY[$1]=g:$2
	[ -n "${HASH[$1]}" ]
}

declare -A HASH_KEY SEEN
fleet_setup() {
	local g m
	redis_start r && host_start b || return 1
	g=$(hctl b grant daemon cs:8 --hosts crash-sweep --ttl 2h) || return 1
	capture fg "$g" grant || return 1
	hctl b revoke "$g" >/dev/null && capture fr "$g" revoke || return 1
	m=$(hctl b grant daemon cs:9 --hosts crash-sweep --ttl 2h) || return 1
	capture mark "$m" grant || return 1
	host_stop b
}
fleet_setup || { echo "not ok - host b's fleet records captured"; exit 1; }

# fleet_put NAME: b's entry NAME into this run's feed and state hash; its feed id on stdout.
fleet_put() {
	redis_cli r HSET "$PREFIX{fleet}:state" "${HASH_KEY[$1]}" "${HASH[$1]}" >/dev/null &&
		redis_cli r XADD "$PREFIX{fleet}:feed" '*' r "${FEED[$1]}"
}

# applied ID: the host under test has applied and committed the fleet's entries up to ID
# (2: psmd is gone).
applied() {
	ctl --json fleet 2>/dev/null | grep -qF "\"last_id\":\"$1\"" && return 0
	psmd_gone && return 2
	return 1
}

# fleet_step NAME: b's entry NAME enters the fleet; ack once applied, inflight when psmd died
# under it, refused when it was not applied in 10 s (its commit failed: read again later).
fleet_step() {
	local id
	if [ "$DEAD" = 1 ]; then
		OUT[$1]=unsent
		return 1
	fi
	id=$(fleet_put "$1") || { BROKE+=("$1: Redis refused the entry"); return 1; }
	OUT[$1]=sent
	if wait_for 10 applied "$id"; then
		OUT[$1]=ack
		SEEN[$1]=$(decide daemon cs:8)
	elif fired_kill; then
		OUT[$1]=inflight
		DEAD=1
	else
		OUT[$1]=refused
	fi
}

# ---- psmd ------------------------------------------------------------------------------

# psmd_gone: 0 when PSMD_PID has exited (reaped or a zombie), else 1 (never 2: wait_for).
psmd_gone() {
	local state
	[ -n "$PSMD_PID" ] || return 0
	state=$(grep '^State:' "/proc/$PSMD_PID/status" 2>/dev/null) || return 0
	[[ $state == *Z* ]]
}

# up: psmd answers (0), is gone (2: wait_for stops), or not yet (1).
up() {
	"$CTL" -s "$SOCK" stats >/dev/null 2>&1 && return 0
	psmd_gone && return 2
	return 1
}

# start [shim]: psmd on a fresh log; 0 once it answers, 1 when it exited or hung (10 s).
start() {
	echo "--- psmd ${1:-} starts" >>"$RUN/psmd.log"
	if [ "${1:-}" = shim ]; then
		PSM_CRASH=$CRASH PSM_CRASH_DIR=$STATE LD_PRELOAD=$PWD/$SHIM \
			"$PSMD" -d -c "$T/psmd.conf" >>"$RUN/psmd.log" 2>&1 &
	else
		"$PSMD" -d -c "$T/psmd.conf" >>"$RUN/psmd.log" 2>&1 &
	fi
	PSMD_PID=$!
	disown "$PSMD_PID" # no job notice when it is killed: crash polls for its end
	wait_for 10 up
}

# crash: psmd is SIGKILLed (when still there) and gone.
crash() {
	[ -n "$PSMD_PID" ] || return 0
	kill -KILL "$PSMD_PID" 2>/dev/null
	wait_for 10 psmd_gone
	PSMD_PID=""
}

# power_cut: every file of state_dir as it was at its last fsync or fdatasync (the shim's
# copies in $CRASH.synced); a journal or snapshot never synced is empty.
power_cut() {
	local f b
	for f in "$STATE"/*; do
		b=${f##*/}
		if [ -f "$CRASH.synced/$b" ]; then
			cp "$CRASH.synced/$b" "$f"
		else
			case $b in
			journal.* | snapshot.* | quarantine) : >"$f" ;;
			fleet.*) rm -f "$f" ;; # never synced: gone (the fleet reads again)
			esac
		fi
	done
}

# fired_kill: the shim has killed psmd (or is about to: the line comes first).
fired_kill() {
	grep -q '^fired .* \(kill-\|torn\|powerloss\)' "$CRASH.log" 2>/dev/null
}

# ---- the sequence ----------------------------------------------------------------------
# Each step's outcome: ack (exit 0), refused (an error while psmd lives: nothing may be
# left of it), inflight (psmd was killed under it: either way), unsent (psmd was dead).
declare -A OUT ID
DEAD=0

# step NAME CMD...: runs CMD unless psmd died; OUT[NAME] and its stdout in ID[NAME].
step() {
	local name=$1 out rc
	shift
	if [ "$DEAD" = 1 ]; then
		OUT[$name]=unsent
		return 1
	fi
	out=$("$@" 2>"$RUN/err")
	rc=$?
	ID[$name]=$out
	if [ "$rc" -eq 0 ]; then
		OUT[$name]=ack
	elif fired_kill; then
		OUT[$name]=inflight
		DEAD=1
	elif psmd_gone; then
		OUT[$name]=refused
		DEAD=1
		BROKE+=("psmd died under $name with no crash point fired: $(tail -n 2 "$RUN/psmd.log")")
	else
		OUT[$name]=refused
	fi
	[ "$rc" -eq 0 ]
}

ctl() { "$CTL" -s "$SOCK" "$@"; }

# pam OPS...: pamtester as USER=$PAM_USER through the test PAM service (a real process: the
# session's leader is its pid).
pam() {
	LD_PRELOAD=$PAMWRAP PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR=$T/pam \
		pamtester psmcs "$PAM_USER" "$@" 2>&1
}

# open_session NAME USER: a session of USER; its id (the only one of USER) in ID[NAME].
open_session() {
	PAM_USER=$2 step "$1" pam open_session >/dev/null || return 1
	ID[$1]=$(ctl sessions "$2" 2>/dev/null | awk 'NR == 2 { print $1 }')
}

# open_close NAME USER: a session of USER opened and closed by one pamtester; NAME-open and
# NAME-close get the outcome of each half.
open_close() {
	PAM_USER=$2 step "$1" pam open_session close_session
	if [[ ${ID[$1]:-} == *"successfully opened"* ]]; then
		OUT[$1-open]=ack
		OUT[$1-close]=${OUT[$1]}
	else
		OUT[$1-open]=${OUT[$1]}
		OUT[$1-close]=unsent
	fi
}

# import_file: two grants in an export document, for psmctl import (one batch, one commit).
import_file() {
	local v na
	v=$(($(date +%s%3N) << 16))
	na=$(($(date +%s) + 3600))
	cat >"$RUN/import.json" <<-EOF
	{ "format": "psm-export", "version": 1, "sessions": [], "grants": [
	  { "grant_id": "jb2amdaapu7hweu4j36tclc24a", "principal": "daemon", "pattern": "cs:6",
	    "not_before": null, "not_after": $na, "from": [], "hosts": [], "session": null,
	    "reason": "imp", "issuer": "root", "source": "admin", "origin": "crash-sweep",
	    "version": "$v", "created": $((na - 3600)) },
	  { "grant_id": "evwbbywtthflbzr5wvkrgcxeqy", "principal": "man", "pattern": "cs:7",
	    "not_before": null, "not_after": $na, "from": [], "hosts": [], "session": null,
	    "reason": "imp", "issuer": "root", "source": "admin", "origin": "crash-sweep",
	    "version": "$v", "created": $((na - 3600)) } ] }
	EOF
	echo "$RUN/import.json"
}

# needs NAME: the step NAME was acknowledged (a later step uses its id).
needs() { [ "${OUT[$1]:-}" = ack ]; }

# unsent NAME: a step that cannot be sent (what it needs was not acknowledged).
unsent() { OUT[$1]=unsent; }

# stop_start: SIGTERM (psmd snapshots as it stops), then psmd starts again with the shim
# (the count goes on: a point may fall in the stop or in the load), now in the fleet (a
# psmd in the fleet takes about a second to stop: the first part of the sequence is not).
stop_start() {
	[ "$DEAD" = 0 ] || return 0
	write_conf "$PREFIX"
	kill -TERM "$PSMD_PID"
	wait_for 10 psmd_gone || BROKE+=("psmd did not stop on SIGTERM: $(tail -n 2 "$RUN/psmd.log")")
	PSMD_PID=""
	if ! start shim; then
		DEAD=1
		fired_kill || psmd_gone || BROKE+=("psmd neither served nor exited after a stop")
	fi
}

sequence() {
	step g1 ctl grant daemon cs:1 --ttl 1h --reason g1
	step g2 ctl grant daemon cs:2 --ttl 1h --reason g2
	if needs g1; then step r1 ctl revoke "${ID[g1]}"; else unsent r1; fi
	open_session s1 bin
	if needs s1; then step g3 ctl grant bin cs:3 --session "${ID[s1]}"; else unsent g3; fi
	if needs s1; then step x1 ctl session extend "${ID[s1]}" --ttl 2h; else unsent x1; fi
	open_close s2 sync
	open_session s3 games
	if needs s3; then step k3 ctl session kill "${ID[s3]}"; else unsent k3; fi
	step imp ctl import "$(import_file)"
	step snap ctl recover --accept
	step g4 ctl grant man cs:4 --ttl 1h
	if needs g2; then step r2 ctl revoke "${ID[g2]}"; else unsent r2; fi
	stop_start
	fleet_step fg
	step g5 ctl grant daemon cs:5
	fleet_step fr
	step r5 ctl revoke daemon cs:5
}

# ---- checks after the restart --------------------------------------------------------

# caught_up: the host under test, restarted, has read the fleet to b's marker (put now).
caught_up() {
	local id
	id=$(fleet_put mark) && wait_for 20 applied "$id"
}

# check_fleet: after the catch-up, b's grant is allowed when only it reached the fleet,
# denied when its revoke did too (or neither): nothing the fleet revoked comes back.
check_fleet() {
	local want=deny have
	caught_up || { BROKE+=("the fleet: no catch-up to b's marker in 20 s"); return; }
	[ "${OUT[fg]}" != unsent ] && [ "${OUT[fr]}" = unsent ] && want=allow
	have=$(decide daemon cs:8)
	[ "$want" = "$have" ] ||
		BROKE+=("the fleet's daemon cs:8: want $want (grant ${OUT[fg]}, revoke ${OUT[fr]}), have $have")
}

# want_grant GRANT REVOKE: allow, deny or any, for a grant step and the step revoking it.
want_grant() {
	local g=${OUT[$1]:-unsent} r=${OUT[$2]:-unsent}
	case "$g:$r" in
	ack:ack | refused:* | unsent:*) echo deny ;;
	ack:inflight | inflight:*) echo any ;;
	*) echo allow ;;
	esac
}

# decide USER PERM: allow or deny, from psmd and from the table; "split" when they differ.
decide() {
	local a b
	ctl check "$1" "$2" >/dev/null 2>&1
	a=$?
	"$QUERY" --shm "$SHM" check "$1" "$2" >/dev/null 2>&1
	b=$?
	if [ "$a" -ne "$b" ]; then
		echo "split (psmd $a, table $b)"
	elif [ "$a" -eq 0 ]; then echo allow; elif [ "$a" -eq 1 ]; then echo deny; else echo "error $a"; fi
}

# decide_bound USER PERM SESSION: allow or deny inside SESSION, from the table and from
# psmd's list of USER's grants; "split" when they differ.
decide_bound() {
	local a b=1
	"$QUERY" --shm "$SHM" check "$1" "$2" --session "$3" >/dev/null 2>&1
	a=$?
	ctl grants "$1" 2>/dev/null | awk -v p="$2" '$3 == p { f = 1 } END { exit !f }' && b=0
	if [ "$a" -ne "$b" ]; then
		echo "split (table $a, psmd's grants $b)"
	elif [ "$a" -eq 0 ]; then echo allow; else echo deny; fi
}

# check_grant USER PERM GRANT REVOKE [SESSION]: the grant is allowed, denied or either as
# its steps say (bound to SESSION: decided inside that session).
check_grant() {
	local want have
	want=$(want_grant "$3" "$4")
	if [ -n "${5:-}" ]; then
		have=$(decide_bound "$1" "$2" "$5")
	else
		have=$(decide "$1" "$2")
	fi
	[ "$want" = any ] && [[ $have =~ ^(allow|deny)$ ]] && return 0
	[ "$want" = "$have" ] ||
		BROKE+=("$1 $2: want $want ($3 ${OUT[$3]}, $4 ${OUT[$4]:-none}), have $have")
}

# session_state USER: live EXPIRES, or none.
session_state() {
	local id exp
	id=$(ctl sessions "$1" 2>/dev/null | awk 'NR == 2 { print $1 }')
	[ -n "$id" ] || { echo none; return; }
	exp=$(ctl --json session show "$id" 2>/dev/null | grep -o '"expires_unix":[0-9]*' | cut -d: -f2)
	echo "live ${exp:-?}"
}

# check_session USER OPEN END: END acked -> gone; OPEN acked (END refused or unsent) -> live.
check_session() {
	local o=${OUT[$2]:-unsent} e=${OUT[$3]:-unsent} have
	have=$(session_state "$1")
	if [ "$o" = ack ] && [ "$e" != ack ] && [ "$e" != inflight ] && [ "$have" = none ]; then
		BROKE+=("session of $1: $2 acknowledged, $3 $e, but it is gone")
	elif { [ "$e" = ack ] || [ "$o" = refused ] || [ "$o" = unsent ]; } && [ "$have" != none ]; then
		BROKE+=("session of $1: $2 $o, $3 $e, but it is there ($have)")
	fi
}

# check_extend: s1's expiry is the extension's (2 h) when acked, the first one's (1 week)
# when the extension was refused or never sent.
check_extend() {
	local have exp now
	have=$(session_state bin)
	[ "${have%% *}" = live ] || return 0
	exp=${have#live }
	now=$(date +%s)
	case "${OUT[x1]}" in
	ack) [ "$exp" -le $((now + 3 * 3600)) ] || BROKE+=("s1: extend acknowledged, expires $exp") ;;
	refused | unsent) [ "$exp" -gt $((now + 86400)) ] ||
		BROKE+=("s1: extend ${OUT[x1]}, yet expires $exp") ;;
	esac
}

verify() {
	check_grant daemon cs:1 g1 r1
	check_grant daemon cs:2 g2 r2
	[ -z "${ID[s1]:-}" ] || check_grant bin cs:3 g3 none "${ID[s1]}"
	check_grant man cs:4 g4 none
	check_grant daemon cs:5 g5 r5
	check_grant daemon cs:6 imp none
	check_grant man cs:7 imp none
	check_session bin s1 none
	check_session sync s2-open s2-close
	check_session games s3 k3
	check_extend
	check_fleet
}

# ---- runs ----------------------------------------------------------------------------

RUNS=0

# run N MODE: the sequence with the crash point armed, a restart without it, the checks.
# BROKE lists what broke; CALL names the Nth call.
run() {
	BROKE=()
	OUT=() ID=() DEAD=0
	crash
	rm -rf "$RUN" "/dev/shm$SHM"
	mkdir -p "$RUN"
	echo "$1 $2" >"$CRASH"
	rm -rf "$CRASH.log" "$CRASH.synced"
	RUNS=$((RUNS + 1))
	PREFIX=psm:run$RUNS:
	write_conf
	if ! start shim; then
		DEAD=1
		fired_kill || psmd_gone || BROKE+=("psmd with the shim neither served nor exited")
	fi
	sequence
	crash
	case $2 in powerloss | eio-late) power_cut ;; esac
	CALL=$(awk -v n="$1" '$1 == n { print $2, $3; exit }' "$CRASH.log" 2>/dev/null)
	CALL=${CALL/"$STATE/"/}
	write_conf "$PREFIX"
	if ! start; then
		BROKE+=("the state does not load: $(tail -n 3 "$RUN/psmd.log")")
		return 1
	fi
	verify
	crash
	[ ${#BROKE[@]} -eq 0 ]
}

# Dry run: every step acknowledged, every check passes, the calls counted.
run 0 count
check "dry run: the sequence passes its own checks" test ${#BROKE[@]} -eq 0 ||
	printf '#   %s\n' "${BROKE[@]}"
nacked=()
for s in "${!OUT[@]}"; do [ "${OUT[$s]}" = ack ] || nacked+=("$s ${OUT[$s]}: $(cat "$RUN/err")"); done
check "dry run: all ${#OUT[@]} steps acknowledged" test ${#nacked[@]} -eq 0 -a ${#OUT[@]} -ge 14 ||
	printf '#   %s\n' "${nacked[@]}"
check "dry run: b's grant allowed here once applied, denied once its revoke was" \
	test "${SEEN[fg]:-}:${SEEN[fr]:-}" = allow:deny
cp "$CRASH.log" "$T/calls"
K=$(grep -c '^[0-9]' "$T/calls")
check "dry run: $K boundary calls, two snapshot renames among them" \
	test "$(grep -c 'renameat .*snapshot.new' "$T/calls")" -eq 2

# points MODE: the N to sweep (torn: the writes only; CRASH_POINTS="N..." to pick some).
points() {
	if [ -n "${CRASH_POINTS:-}" ]; then
		echo "$CRASH_POINTS"
	elif [ "$1" = torn ]; then
		awk '$2 == "write" || $2 == "pwrite" { print $1 }' "$T/calls"
	else
		seq 1 "$K"
	fi
}

swept=0
for mode in $MODES; do
	bad=()
	n_mode=0
	for n in $(points "$mode"); do
		n_mode=$((n_mode + 1))
		run "$n" "$mode" && continue
		bad+=("N=$n $mode ($CALL): ${BROKE[*]}")
		[ -z "${KEEP:-}" ] || cp -a "$RUN" "$T/failed-$mode-$n"
	done
	swept=$((swept + n_mode))
	if [ ${#bad[@]} -eq 0 ]; then
		pass "$mode at each of $n_mode points: state loads, acknowledged changes kept, nothing else"
	else
		fail "$mode: ${#bad[@]} of $n_mode crash points broke" "${bad[@]}"
	fi
done
echo "# crash points swept: $K x ($MODES) = $swept runs"
tap_end
