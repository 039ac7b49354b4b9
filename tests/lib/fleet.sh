# SPDX-License-Identifier: MIT
# tests/lib/fleet.sh - a fleet on one machine for the end-to-end tests: redis-servers and psmd hosts (sourced).
# shellcheck shell=bash disable=SC2034 # the variables are for the callers
#
#   . "$(dirname "$0")/../lib/fleet.sh"; fleet_env TAG
#   redis_start r; host_start a; host_start b web; hctl a grant nobody x:y --hosts web
#   wait_until 10 host_has b nobody x:y
# fleet_env sets what psmd_env sets (BUILD, PSMD, CTL, QUERY, T, ...) plus TABLEINFO, and on
# exit stops every redis-server and psmd started here (by pid; SIGCONT first, so a paused
# one stops too), removes their tables and T (KEEP=1 keeps T).
# A redis-server NAME listens on 127.0.0.1 on a free port (REDIS_PORT[NAME]) with its own dir
# $T/redis/NAME, no persistence unless told; a restart keeps its port, so the hosts find it.
# A host NAME is a psmd with its own psmd.conf, table /psm-e2e-TAG-PID-NAME, socket, state_dir
# and log under $T/host/NAME, host_name NAME, and a "redis" object pointing at a test redis.
# Every host of a script shares the policy $T/policy.json (fleet_policy writes a default).

# shellcheck source=ns.sh
. "$(dirname "${BASH_SOURCE[0]}")/ns.sh"

declare -A REDIS_PORT=() REDIS_PID=() REDIS_ARGS=() HOST_PID=() HOST_SHM=()
FLEET_REDIS=""	# the redis the hosts use unless HOST_REDIS names another
FLEET_TAG=""

# fleet_env TAG: see the top of this file.
fleet_env() {
	psmd_env "$1"
	FLEET_TAG=$1
	TABLEINFO=$BUILD/tools/tableinfo
	trap fleet_cleanup EXIT
	trap 'exit 130' INT TERM
	psmd_need "$PSMD" "$CTL" "$QUERY" "$TABLEINFO"
	if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
		echo "not ok - redis-server and redis-cli are not installed"
		exit 1
	fi
	mkdir -p "$T/redis" "$T/host" "$T/keys"
	[ -f "$T/policy.json" ] || fleet_policy
}

fleet_cleanup() {
	local n
	trap '' PIPE # a reader of the output gone must not stop the cleanup half way
	for n in "${!HOST_PID[@]}"; do
		host_stop "$n"
	done
	for n in "${!REDIS_PID[@]}"; do
		redis_kill "$n"
	done
	for n in "${!HOST_SHM[@]}"; do
		rm -f "/dev/shm${HOST_SHM[$n]}" "/dev/shm${HOST_SHM[$n]}".new-*
	done
	psmd_cleanup
}

# fleet_policy: $T/policy.json with no grants of its own (the tests' grants decide).
fleet_policy() {
	cat >"$T/policy.json" <<-EOF
	// $(basename "$0"): nothing is allowed but by grants.
	{ "roles": {}, "bindings": [], "services": { "sudo": "sudo:run" } }
	EOF
}

# wait_until SECONDS CMD...: polls CMD until it succeeds (0) or SECONDS pass (1); see wait_for.
wait_until() {
	wait_for "$@"
}

# ---- redis-server ------------------------------------------------------------------------

# redis_start NAME [ARG...]: a redis-server on 127.0.0.1 with its own dir, --save '' and
# --appendonly no, then ARGs (e.g. --appendonly yes); 0 once it answers PING (10 s).
# The first port is a free one (tried until one binds); a restart of NAME takes it again.
# The first redis started is FLEET_REDIS.  A restarted one is empty unless ARGs persist it.
redis_start() {
	local n=$1 try
	shift
	[ -z "${REDIS_PID[$n]:-}" ] || { echo "# redis $n is already running" >&2; return 1; }
	[ $# -eq 0 ] || REDIS_ARGS[$n]="$*"
	mkdir -p "$T/redis/$n"
	[ -n "$FLEET_REDIS" ] || FLEET_REDIS=$n
	if [ -n "${REDIS_PORT[$n]:-}" ]; then
		redis_try "$n" "${REDIS_PORT[$n]}" && return 0
		echo "# redis $n did not start again on port ${REDIS_PORT[$n]}:" >&2
		tail -n 5 "$T/redis/$n/redis.log" | sed 's/^/#   /' >&2
		return 1
	fi
	for try in $(seq 20); do
		redis_try "$n" $((20000 + (RANDOM * 32768 + RANDOM) % 40000)) && return 0
	done
	echo "# redis $n found no free port" >&2
	return 1
}

# redis_try NAME PORT: starts NAME on PORT; 0 when it answers, else it is stopped.
redis_try() {
	local n=$1 p=$2
	# shellcheck disable=SC2086 # REDIS_ARGS holds separate words
	redis-server --bind 127.0.0.1 --port "$p" --dir "$T/redis/$n" --save '' --appendonly no \
		--logfile "$T/redis/$n/redis.log" ${REDIS_ARGS[$n]:-} </dev/null >/dev/null 2>&1 &
	REDIS_PID[$n]=$!
	if wait_for 10 redis_up "$n" "$p"; then
		REDIS_PORT[$n]=$p
		return 0
	fi
	redis_kill "$n"
	return 1
}

# redis_up NAME PORT: NAME answers on PORT (its own pid there, not another server's).
redis_up() {
	kill -0 "${REDIS_PID[$1]}" 2>/dev/null || return 2
	redis-cli -h 127.0.0.1 -p "$2" INFO server 2>/dev/null | tr -d '\r' |
		grep -qx "process_id:${REDIS_PID[$1]}"
}

# redis_stop NAME: SIGTERM (nothing is saved unless its ARGs said so), waits for it.
redis_stop() {
	redis_signal "$1" TERM
}

# redis_kill NAME: SIGKILL, waits for it.
redis_kill() {
	redis_signal "$1" KILL
}

redis_signal() {
	local pid=${REDIS_PID[$1]:-}
	[ -n "$pid" ] || return 0
	kill -CONT "$pid" 2>/dev/null
	kill -"$2" "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	unset 'REDIS_PID[$1]'
}

# redis_pause NAME / redis_resume NAME: SIGSTOP / SIGCONT (a Redis that hangs).
redis_pause() {
	kill -STOP "${REDIS_PID[$1]}"
}

redis_resume() {
	kill -CONT "${REDIS_PID[$1]}"
}

# redis_cli NAME ARG...: redis-cli against NAME (raw output, no hints).
redis_cli() {
	local n=$1
	shift
	redis-cli -h 127.0.0.1 -p "${REDIS_PORT[$n]}" "$@"
}

# redis_url NAME: redis://127.0.0.1:PORT
redis_url() {
	echo "redis://127.0.0.1:${REDIS_PORT[$1]}"
}

# ---- psmd hosts -----------------------------------------------------------------------------

# host_start NAME [LABELS] [REDIS_MEMBERS] [CONF_MEMBERS]: writes $T/host/NAME/psmd.conf and
# starts psmd on it; 0 once its socket answers (10 s: psmd serves before Redis answers).
# LABELS: comma-separated ("web,prod"), "" none.  REDIS_MEMBERS: JSON members added to the
# redis object (e.g. '"signing_key": "/x"'); when they hold "url" or "sentinels", no url of
# a test redis is added.  The url is that of HOST_REDIS, else FLEET_REDIS.  HOST_REDIS=none:
# no redis object at all.  CONF_MEMBERS: more members of the top object.
host_start() {
	local n=$1
	mkdir -p "$T/host/$n"
	HOST_SHM[$n]=/psm-e2e-$FLEET_TAG-$$-$n
	host_conf "$n" "${2:-}" "${3:-}" "${4:-}" >"$T/host/$n/psmd.conf" || return 1
	host_run "$n"
}

# host_conf NAME LABELS REDIS_MEMBERS CONF_MEMBERS: the psmd.conf of host_start, on stdout.
host_conf() {
	local n=$1 labels="" more="" r=${HOST_REDIS:-$FLEET_REDIS} nl=$',\n  '
	[ -z "$2" ] || labels="\"${2//,/\", \"}\""
	[ -z "$4" ] || more="$nl$4"
	if [ "$r" != none ]; then
		case $3 in
		*'"url"'* | *'"sentinels"'*) more="$more$nl\"redis\": { $3 }" ;;
		*) more="$more$nl\"redis\": { \"url\": \"$(redis_url "$r")\"${3:+, $3} }" ;;
		esac
	fi
	cat <<-CONF
	// psmd.conf of host $n for $(basename "$0"): every path is temporary.
	{
	  "shm_name": "${HOST_SHM[$n]}",
	  "socket": "$T/host/$n/psmd.sock",
	  "state_dir": "$T/host/$n/state",
	  "policy": "$T/policy.json",
	  "table_group": "root",
	  "capacity": 4096,
	  "host_name": "$n",
	  "labels": [$labels]$more
	}
	CONF
}

# host_run NAME: psmd on the host's existing psmd.conf (log appended); 0 once it answers.
host_run() {
	local n=$1
	[ -z "${HOST_PID[$n]:-}" ] || { echo "# host $n is already running" >&2; return 1; }
	"$PSMD" -d -c "$T/host/$n/psmd.conf" </dev/null >>"$T/host/$n/psmd.log" 2>&1 &
	HOST_PID[$n]=$!
	if ! wait_for 10 host_up "$n"; then
		echo "# host $n did not answer on its socket; its log:" >&2
		tail -n 15 "$T/host/$n/psmd.log" | sed 's/^/#   /' >&2
		return 1
	fi
}

host_up() {
	kill -0 "${HOST_PID[$1]}" 2>/dev/null || return 2
	hctl "$1" stats >/dev/null 2>&1
}

# host_stop NAME: SIGTERM (SIGKILL after 5 s); HOST_RC is its exit status.
host_stop() {
	local pid=${HOST_PID[$1]:-}
	HOST_RC=
	[ -n "$pid" ] || return 0
	kill -CONT "$pid" 2>/dev/null
	stop_pid "$pid"
	HOST_RC=$STOP_RC
	unset 'HOST_PID[$1]'
}

# host_kill9 NAME: SIGKILL, waits for it.
host_kill9() {
	local pid=${HOST_PID[$1]:-}
	[ -n "$pid" ] || return 0
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	unset 'HOST_PID[$1]'
}

# host_restart NAME: host_stop, then host_run on the same psmd.conf.
host_restart() {
	host_stop "$1"
	host_run "$1"
}

# hctl NAME ARG...: psmctl against host NAME's socket.
hctl() {
	local n=$1
	shift
	"$CTL" -s "$T/host/$n/psmd.sock" "$@"
}

# hquery NAME ARG...: psm-query on host NAME's table.
hquery() {
	local n=$1
	shift
	"$QUERY" --shm "${HOST_SHM[$n]}" "$@"
}

# host_allows NAME USER PERM: host NAME's table allows USER PERM (psm-query check, exit 0).
host_allows() {
	hquery "$1" check "$2" "$3" >/dev/null 2>&1
}

# host_has NAME PRINCIPAL PATTERN: host NAME's table holds an active grant of PATTERN for
# PRINCIPAL (psm-query user: read as PAM reads the table).
host_has() {
	hquery "$1" --json user "$2" 2>/dev/null | grep -qF -- "\"principal\":\"$2\",\"pattern\":\"$3\""
}

# host_count NAME USER: how many active grants host NAME's table holds for USER and its groups.
host_count() {
	hquery "$1" user "$2" 2>/dev/null | wc -l
}

# host_holds NAME GRANT_ID: host NAME's state holds the active grant (psmctl grants lists it).
host_holds() {
	hctl "$1" grants 2>/dev/null | grep -qF -- "$2"
}

# host_lacks NAME GRANT_ID: psmctl grants on host NAME answers and does not list GRANT_ID.
host_lacks() {
	local out
	out=$(hctl "$1" grants 2>&1) && ! grep -qF -- "$2" <<<"$out"
}

# host_log NAME: the path of host NAME's log.  host_state NAME: its state_dir.
host_log() {
	echo "$T/host/$1/psmd.log"
}

host_state() {
	echo "$T/host/$1/state"
}

# host_log_has NAME REGEX: host NAME's log has a line matching the extended REGEX.
host_log_has() {
	grep -Eq -- "$2" "$T/host/$1/psmd.log" 2>/dev/null
}

# host_mark NAME: the size of host NAME's log now, for host_log_count.
host_mark() {
	file_size "$T/host/$1/psmd.log"
}

# host_log_count NAME OFFSET REGEX: lines of host NAME's log after byte OFFSET matching REGEX.
host_log_count() {
	tail -c +"$(($2 + 1))" "$T/host/$1/psmd.log" 2>/dev/null | grep -Ec -- "$3"
}

# host_resyncs NAME OFFSET: full resyncs host NAME logged after byte OFFSET of its log.
host_resyncs() {
	host_log_count "$1" "$2" '^psmd: fleet: full resync from '
}

# ---- keys -----------------------------------------------------------------------------------

# fleet_keygen NAME [SCOPE]: $T/keys/NAME.sk (psmctl keygen --name NAME); its public line
# goes to $T/keys/trusted, with " hosts=SCOPE" when given.  The redis members for a host
# signing with it and trusting every key so far: "$(fleet_keys NAME)".
fleet_keygen() {
	local line
	line=$("$CTL" keygen "$T/keys/$1.sk" --name "$1") || return 1
	printf '%s%s\n' "$line" "${2:+ hosts=$2}" >>"$T/keys/trusted"
	chmod 600 "$T/keys/trusted"
}

fleet_keys() {
	echo "\"signing_key\": \"$T/keys/$1.sk\", \"trusted_keys\": \"$T/keys/trusted\""
}

# ---- what the hosts hold -----------------------------------------------------------------

FLEET_FEED='psm:{fleet}:feed'	# the keys with the default key_prefix
FLEET_STATE='psm:{fleet}:state'
FLEET_SYNC_N=0

# host_denies NAME USER PERM: host NAME's table denies USER PERM (psm-query check exit 1;
# an unreadable table, exit 3, is not a deny).
host_denies() {
	hquery "$1" check "$2" "$3" >/dev/null 2>&1
	[ $? -eq 1 ]
}

# fleet_sync FROM TO...: a barrier.  Host FROM grants daemon a marker pattern for "*"; once
# every TO has it in its table, every TO has applied what FROM wrote before (one feed, in
# order).  1, with a diagnostic, when a TO lacks it after 20 s.
fleet_sync() {
	local from=$1 to pat
	shift
	FLEET_SYNC_N=$((FLEET_SYNC_N + 1))
	pat=sync:$from:$FLEET_SYNC_N
	hctl "$from" grant daemon "$pat" --hosts '*' >/dev/null || return 1
	for to in "$@"; do
		wait_for 20 host_has "$to" daemon "$pat" && continue
		echo "# fleet_sync: host $to lacks $from's marker $pat after 20 s" >&2
		return 1
	done
}

# fleet_cmd: psmctl has the fleet command (`psmctl fleet`).  skip NAME WHY: a TAP "ok"
# marked SKIP, for a check whose command is not built yet.
fleet_cmd() {
	"$CTL" help fleet >/dev/null 2>&1
}

skip() {
	pass "$1 # SKIP $2"
}

# fleet_figure NAME KEY: the number KEY of `psmctl --json fleet` on host NAME ("" when absent).
fleet_figure() {
	hctl "$1" --json fleet 2>/dev/null | grep -o "\"$2\":[0-9]*" | head -n 1 | cut -d: -f2
}

# state_of NAME GRANT_ID: the head line of the state hash's g:GRANT_ID in redis NAME
# ("<version> <tomb> <expiry> <key> <sig>"); "" when it holds none.
state_of() {
	redis_cli "$1" --raw HGET "$FLEET_STATE" "g:$2" 2>/dev/null | head -n 1
}

# state_tomb NAME GRANT_ID: the state hash of redis NAME holds GRANT_ID as a tombstone.
state_tomb() {
	[ "$(state_of "$1" "$2" | awk '{ print $2 }')" = 1 ]
}

# state_has NAME GRANT_ID: the state hash of redis NAME holds a record of GRANT_ID.
state_has() {
	[ "$(redis_cli "$1" HEXISTS "$FLEET_STATE" "g:$2" 2>/dev/null)" = 1 ]
}
