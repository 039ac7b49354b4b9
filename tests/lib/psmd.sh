# SPDX-License-Identifier: MIT
# tests/lib/psmd.sh - a psmd of its own for the end-to-end tests outside a namespace (sourced).
# shellcheck shell=bash disable=SC2034 # the variables are for the callers
#
#   . "$(dirname "$0")/../lib/psmd.sh"; psmd_env TAG
# sets BUILD (default build), PSMD, CTL, QUERY, the table SHM=/psm-e2e-TAG-PID, a temp dir
# T=/tmp/psm-e2e-TAG.XXXXXX, LOG=$T/psmd.log, SOCK=$T/psmd.sock, PSMD_PID and PIDS, and
# on exit stops PIDS and PSMD_PID (by pid), removes the table and T (KEEP=1 keeps T).
# Sources tests/lib/tap.sh.

# shellcheck source=tap.sh
. "$(dirname "${BASH_SOURCE[0]}")/tap.sh"

psmd_env() {
	cd "$(dirname "$0")/../.." || exit 1
	BUILD=${BUILD:-build}
	PSMD=${PSMD:-$BUILD/psmd}
	CTL=$BUILD/psmctl
	QUERY=$BUILD/psm-query
	SHM=/psm-e2e-$1-$$
	T=$(mktemp -d "/tmp/psm-e2e-$1.XXXXXX") || exit 1
	LOG=$T/psmd.log
	SOCK=$T/psmd.sock
	PSMD_PID=""
	PIDS=""
	trap psmd_cleanup EXIT
}

psmd_cleanup() {
	local p
	for p in $PIDS $PSMD_PID; do
		kill -CONT "$p" 2>/dev/null
		kill -TERM "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
	rm -f "/dev/shm$SHM" "/dev/shm$SHM".new-* "/dev/shm$SHM-renamed"
	[ -n "${KEEP:-}" ] || rm -rf "$T"
}

# psmd_need FILE...: each FILE is an executable, or the script ends with "not ok".
psmd_need() {
	local f
	for f in "$@"; do
		[ -x "$f" ] || { echo "not ok - $f is not built"; exit 1; }
	done
}

# psmd_conf FILE SHM_NAME [MEMBERS]: a psmd.conf with every path under $T (socket $SOCK)
# and table_group root, then MEMBERS (JSON object members, e.g. '"capacity": 64').
psmd_conf() {
	cat >"$1" <<-CONF
	// psmd.conf for $(basename "$0"): every path is temporary.
	{
	  "shm_name": "$2",
	  "socket": "$SOCK",
	  "state_dir": "$T/state",
	  "policy": "$T/policy.json",
	  "table_group": "root"${3:+,
	  $3}
	}
	CONF
}

# psmd_start: psmd -d on $T/psmd.conf logging to $LOG; 0 once it answers on $SOCK (10 s).
psmd_start() {
	"$PSMD" -d -c "$T/psmd.conf" >>"$LOG" 2>&1 &
	PSMD_PID=$!
	wait_for 10 "$CTL" -s "$SOCK" stats >/dev/null 2>&1
}

psmd_stop() {
	kill -TERM "$PSMD_PID" 2>/dev/null && wait "$PSMD_PID" 2>/dev/null
	PSMD_PID=""
}

# psmd_request SOCKET LINE: sends one request line to psmd's socket on a fresh connection
# (no psmctl in between, e.g. a session_open); prints the reply line.
psmd_request() {
	python3 - "$1" "$2" <<-'PY'
	import socket, sys
	s = socket.socket(socket.AF_UNIX)
	s.connect(sys.argv[1])
	s.sendall(sys.argv[2].encode() + b"\n")
	print(s.makefile().readline().strip())
	PY
}
