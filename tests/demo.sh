#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tests/demo.sh - `make demo`: psmd and real sudo in a private namespace: allow, deny, reload,
# a time-limited grant that expires (explained as expired: psmd keeps it a while), and a revoke;
# then a fleet of two psmd hosts and a Redis (tests/demo/fleet.sh).
# Usage (as root): tests/demo.sh [BUILD]   BUILD defaults to ./build.
# Runs in a private mount namespace with test users, a temporary table, socket and state
# dir (tests/lib/ns.sh): nothing of the host's /etc, /run or /dev/shm is touched.
# Exits 0 only if every step behaved as expected, so it doubles as a smoke test.
# shellcheck disable=SC2317,SC2119 # functions are called through ns_main
set -u
BUILD=${1:-${BUILD:-build}}
DEMO_DIR=$(cd "$(dirname "$0")" && pwd)
# shellcheck disable=SC2034 # read by lib/ns.sh
NS_SHM_PREFIX=/psm-demo
# shellcheck source=lib/ns.sh
. "$DEMO_DIR/lib/ns.sh"
# shellcheck source=demo/fleet.sh
. "$DEMO_DIR/demo/fleet.sh"

demo_n=0
demo_bad=0

demo_colors() {
	if [ -t 1 ]; then
		MARK_OK=$'  \e[32m\xe2\x9c\x94\e[0m'
		MARK_BAD=$'  \e[31m\xe2\x9c\x98 unexpected\e[0m'
	else
		MARK_OK=
		MARK_BAD='  <- UNEXPECTED'
	fi
}

# step GOOD SHOWN RESULT: one numbered line "N. $ SHOWN  -> RESULT"; GOOD 0 = as expected.
step() {
	local mark=$MARK_OK
	demo_n=$((demo_n + 1))
	if [ "$1" != 0 ]; then
		mark=$MARK_BAD
		demo_bad=$((demo_bad + 1))
	fi
	printf '%2d. $ %-50s -> %s%s\n' "$demo_n" "$2" "$3" "$mark"
}

# indent TEXT: shown under a step.
indent() {
	[ -n "$1" ] && printf '%s\n' "$1" | sed 's/^/      /'
	return 0
}

# is RC WANT: 0 when they are equal (for step's GOOD).
is() {
	[ "$1" = "$2" ]
}

# demo_sudo USER allow|deny [NOTE]: real sudo as USER, with the expected outcome.
demo_sudo() {
	local user=$1 want=$2 note=${3:+, $3} msg
	run_capture run_sudo "$user"
	msg=$(printf '%s\n' "$LAST_ERR" | head -n 1)
	if [ "$LAST_RC" = 0 ]; then
		step "$(is "$want" allow; echo $?)" "sudo -n true         # as $user" \
			"allowed (exit 0)$note"
	else
		step "$(is "$want" deny; echo $?)" "sudo -n true         # as $user" \
			"denied (exit $LAST_RC)$note: $msg"
	fi
}

# demo_query USER WANT_RC [REGEX]: psm-query's explanation of the sudo decision, indented;
# with REGEX, the explanation must also match it.
demo_query() {
	local verdict good
	run_capture "$PSM_QUERY" --shm "$PSM_SHM" check "$1" sudo:run --explain
	case $LAST_RC in 0) verdict=allow ;; 1) verdict=deny ;; *) verdict=error ;; esac
	good=$(is "$LAST_RC" "$2"; echo $?)
	if [ -n "${3:-}" ] && ! printf '%s\n' "$LAST_OUT" | grep -Eq -- "$3"; then
		good=1
		verdict="$verdict, but no /$3/ in the explanation"
	fi
	step "$good" \
		"psm-query --shm $PSM_SHM check $1 sudo:run --explain" "$verdict (exit $LAST_RC)"
	indent "$LAST_OUT"
	indent "$LAST_ERR"
}

# demo_hup: SIGHUP psmd; prints psmd's new log line (reloaded or refused) as the result.
# WANT: reloaded|refused.
demo_hup() {
	local got=none
	if reload_psmd 'reloaded|reload failed|policy\.json:[0-9]+:[0-9]+'; then
		got=reloaded
		printf '%s\n' "$RELOAD_LINE" | grep -Eq 'failed|policy\.json:[0-9]+:[0-9]+' &&
			got=refused
	fi
	step "$(is "$got" "$1"; echo $?)" "kill -HUP $PSMD_PID" \
		"${RELOAD_LINE:-no log line from psmd in 10 s}"
}

# edit SHOWN WHAT: runs the shell command SHOWN (a policy edit) in $T, exactly as printed.
edit() {
	run_capture bash -c "cd '$T' && $1"
	step "$LAST_RC" "$1" "$2${LAST_ERR:+: $LAST_ERR}"
}

demo_start() {
	local mode
	run_capture "$PSMD" -n -c "$T/psmd.conf"
	step "$LAST_RC" "psmd -n -c psmd.conf" \
		"$(printf '%s\n' "$LAST_OUT" "$LAST_ERR" | sed '/^$/d' | paste -sd ';' | sed 's/;/; /g')"
	if ! start_psmd 2>/dev/null; then
		step 1 "psmd -c psmd.conf -d 2>psmd.log &" "did not start: $(tail -n 1 "$T/psmd.log")"
		return 1
	fi
	mode=$(stat -c '%#a %U:%G' "/dev/shm$PSM_SHM")
	step 0 "psmd -c psmd.conf -d 2>psmd.log &" \
		"pid $PSMD_PID serves /dev/shm$PSM_SHM (mode $mode)"
}

# ---- grants through the admin socket --------------------------------------------------------

ctl() {
	"$BUILD/psmctl" -s "$T/psmd.sock" "$@"
}

# demo_grant ARGS...: psmctl grant ARGS; GRANT_ID is the id it printed.
demo_grant() {
	run_capture ctl grant "$@"
	GRANT_ID=$LAST_OUT
	step "$LAST_RC" "psmctl grant $*" "${LAST_ERR:-grant $GRANT_ID}"
}

demo_revoke() {
	run_capture ctl revoke "$1"
	step "$LAST_RC" "psmctl revoke $1" "${LAST_ERR:-$LAST_OUT}"
}

demo_grants() {
	run_capture ctl grants
	step "$LAST_RC" "psmctl grants" "${LAST_ERR:-$(($(printf '%s\n' "$LAST_OUT" | wc -l) - 1)) active}"
	indent "$LAST_OUT"
}

query_denies() {
	"$PSM_QUERY" --shm "$PSM_SHM" check "$1" sudo:run >/dev/null 2>&1
	[ $? -eq 1 ]
}

# demo_expire USER SECONDS: waits (at most SECONDS + 5) until the readers deny USER.
demo_expire() {
	local t0=$SECONDS
	wait_for $(($2 + 5)) query_denies "$1"
	step $? "sleep $2" "the grant ran out after $((SECONDS - t0)) s"
}

demo_grants_part() {
	local user=psm-erin
	demo_grant "$user" sudo:run --ttl 5s --reason INC-42
	demo_sudo "$user" allow "for 5 s"
	demo_expire "$user" 5
	demo_sudo "$user" deny
	demo_query "$user" 1 'grant expired'
	demo_grant "$user" sudo:run --reason INC-43
	demo_sudo "$user" allow
	demo_grants
	demo_revoke "$GRANT_ID"
	demo_sudo "$user" deny "at once"
}

demo_stop() {
	stop_psmd
	step "$PSMD_RC" "kill -TERM $PSMD_PID" \
		"psmd exited $PSMD_RC; table left for readers: $(ls "/dev/shm$PSM_SHM" 2>&1)"
}

demo() {
	demo_colors
	echo "psm demo: psmd + real sudo as test users, in a private mount namespace (files in $T)"
	cp "$DEMO_DIR/demo/policy.json" "$T/policy.json"
	write_psmd_conf
	pam_psm_line >>/etc/pam.d/sudo
	demo_start || return 1
	demo_sudo psm-alice allow
	demo_query psm-alice 0
	demo_sudo psm-bob deny
	demo_query psm-bob 1
	edit "sed -i '/\"psm-alice\"/a { \"user\": \"psm-bob\", \"roles\": [\"ops\"] },' policy.json" \
		"policy edited: psm-bob bound to role ops"
	demo_hup reloaded
	demo_sudo psm-bob allow
	edit "sed -i 's/\"services\"/\"colour\": \"red\", \"services\"/' policy.json" \
		"policy broken: unknown key"
	demo_hup refused
	demo_sudo psm-bob allow "the last good policy still decides"
	demo_grants_part
	demo_stop
	demo_fleet
	if [ "$demo_bad" -eq 0 ]; then
		echo "demo: all $demo_n steps behaved as expected; cleaning up"
	else
		echo "demo: $demo_bad of $demo_n steps did not behave as expected (psmd log: below)"
		indent "$(cat "$T/psmd.log")"
	fi
	[ "$demo_bad" -eq 0 ]
}

ns_main demo redis-server redis-cli
