#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tests/bench/run.sh - `make bench`: the figures of README "Figures", peers side by side, in one table.
#
# Usage: tests/bench/run.sh [BUILD]      (default build; run as root, after `make programs`)
#   BENCH_REPEATS=N (default 5) repeats of every figure.
#   BENCH_STEPS="pam counts ..." runs only the steps named (table instr redis pam counts
#   psm-query sudo sshd grants bytes sign fleet); the others' rows say n/a.
#
# Method.  Every figure is measured BENCH_REPEATS times in this one run, the
# peers next to psm (same machine, same minute), and the table shows the
# min and the median over the repeats; the goal and PASS/MISS use the min
# (noise only ever slows a run down; for a rate, grants/s, the min is the
# slowest repeat, the stricter reading), and ratios are taken between the
# mins (the median column: between the medians).  Instruction and system
# call counts are exact, measured once.  Timings never decide the exit status: it is 0 unless a step
# crashed or gave a wrong answer (its log is then named).  Each program's own
# method is the comment at its top:
#   row 1, 2, 7  build/bench/bench_table   eval_check() on a shm_view of tables built with
#                                          the writer API; same key at 10^3 records, random
#                                          keys at 10^3 and 10^6; shm_info bytes per record
#   row 3        build/bench/bench_redis   SISMEMBER through hiredis to a redis-server this
#                                          script starts (loopback TCP on a free port, and a
#                                          Unix socket), stopped by pid
#   row 4        build/bench/bench_pam     pam_start_confdir -> pam_acct_mgmt -> pam_end with
#                                          stacks written to a temp confdir: pam_permit,
#                                          pam_psm (table from a ~300-binding policy by
#                                          bench_mktable, psmd's compile path), pam_access
#                                          with 1000 rules; getpwnam_r + getgrouplist;
#                                          dlopen+dlclose of pam_permit.so / pam_psm.so alone;
#                                          pam_psm's table work alone (no NSS), and its
#                                          system calls alone, replayed (the floor); the specs
#                                          take turns call by call (paired)
#   row 1        valgrind --tool=callgrind build/bench/bench_table -I 10000: instructions of
#                                          one warm same-key check (callgrind's total over
#                                          10000 checks between two client requests, / 10000)
#   row 4        callgrind and strace -f -c of build/bench/bench_pam doing 1 and then 11
#                                          decisions of a spec: (count at 11 - count at 1) / 10
#                                          is one warm decision's instructions and system
#                                          calls; pam_psm's own = pam_psm stack - pam_permit
#                                          stack - NSS pair, the system calls listed by name
#   row 5        tests/bench/sudo.sh       real `sudo -n true` in a private namespace
#                                          (tests/lib/ns.sh): two pam.d/sudo files take turns
#                                          run by run, REPEATS rounds of 100 runs a side; ratio
#                                          of medians per round; the goal: + pam_psm / +
#                                          `pam_succeed_if.so uid >= 0` (a stock module that
#                                          loads and asks NSS); peers: + pam_psm / stock, +
#                                          pam_permit, + pam_succeed_if / stock; pam_psm with a
#                                          policy without the group deny (own grant decides) /
#                                          with it, and that one / + pam_succeed_if; pam_psm
#                                          with NSS files only / host's NSS
#   row 5        tests/bench/sshd.sh       real ssh key logins running `true` to a private
#                                          sshd (tests/lib/sshd.sh), pam.d/sshd with and
#                                          without the pam_psm account line taking turns
#                                          login by login; ratio of medians per round
#   row 6        build/bench/bench_exec    psm-query check as a whole process, next to
#                                          /bin/true (the fork/exec floor), and again with a
#                                          files-only nsswitch.conf (unshare -m, bind mount)
#   row 7, 8     build/bench/bench_grants  a real psmd (state_dir under $T, on the disk):
#                                          N=20000 grant requests written on one connection
#                                          without waiting, replies read as they come
#                                          (durable: each reply follows the journal fsync);
#                                          then fresh psmds (capacity 30000) filled with
#                                          20000 grants / sessions: shm_info bytes per record
#   row 8        build/bench/bench_exec    `psmctl grant` as a whole process (100 a repeat)
#   row 9        build/bench/bench_sign    Ed25519 verify of one signed feed entry (a ~400-byte
#                                          grant record, 64 trusted keys)
#   row 9        tests/bench/fleet.sh      a redis-server on a free loopback port and psmd hosts
#                                          (tests/lib/fleet.sh, signing keys on): XADD -> XREAD
#                                          floor; 1000 grants then 1000 revokes on host a, one
#                                          at a time, from a's reply to b's table (reader API,
#                                          in-process: build/bench/bench_fleet); 20000 grants
#                                          pipelined on a, changes/s into b's table; b stopped
#                                          while a makes 100000 grants, then its catch-up time
#                                          from its start; 20 hosts: h01 -> the 19 others
# shellcheck disable=SC2317 # functions are called through step and trap
set -u
cd "$(dirname "$0")/../.." || exit 2
BUILD=$(cd "${1:-build}" 2>/dev/null && pwd) || { echo "run.sh: no build dir ${1:-build}" >&2; exit 2; }
REPEATS=${BENCH_REPEATS:-5}
[ "$(id -u)" = 0 ] || { echo "run.sh: must run as root (sudo row, table ownership)" >&2; exit 2; }

T=$(mktemp -d /tmp/psm-bench.XXXXXX) || exit 2
chmod 755 "$T"
SHM=/psm-bench-$$
SAMPLES=$T/samples
PAMDIR=/lib/$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)/security
PIDS=""
FAILED=""
: >"$SAMPLES"

cleanup() {
	local pid
	for pid in $PIDS $(cat "$T/redis.pid" 2>/dev/null); do stop_pid "$pid"; done
	rm -f "/dev/shm$SHM"
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# stop_pid PID: SIGTERM, wait up to 5 s, then SIGKILL.
stop_pid() {
	local i
	kill -TERM "$1" 2>/dev/null || return 0
	for i in $(seq 100); do
		kill -0 "$1" 2>/dev/null || return 0
		sleep 0.05
	done
	kill -KILL "$1" 2>/dev/null
}

# step NAME CMD...: runs CMD, appends its S lines to $SAMPLES, keeps its stderr in a log.
step() {
	local name=$1 log=$T/step-$1.log rc
	shift
	case " ${BENCH_STEPS:-$name} " in *" $name "*) ;; *) return 0 ;; esac
	printf '  %-12s ' "$name" >&2
	"$@" 2>"$log" | grep '^S ' >>"$SAMPLES"
	rc=("${PIPESTATUS[@]}")
	if [ "${rc[0]}" -eq 0 ] && [ "${rc[1]}" -eq 0 ]; then
		echo "done" >&2
		grep -v '^bench_mktable: [0-9]* bindings' "$log" | head -n 5 | sed 's/^/      note: /' >&2
	else
		[ "${rc[0]}" -eq 0 ] && echo "FAILED (no figures printed)" >&2
		[ "${rc[0]}" -ne 0 ] && echo "FAILED (exit status ${rc[0]})" >&2
		sed 's/^/      /' "$log" | tail -n 20 >&2
		FAILED="$FAILED $name"
		cp "$log" "/tmp/psm-bench-$name.log" 2>/dev/null
	fi
}

# wait_file_has FILE REGEX SECONDS
wait_file_has() {
	local i
	for i in $(seq $(($3 * 20))); do
		grep -Eq -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}

# free_port: a loopback port nothing answers on (redis_start fails if it is taken meanwhile).
free_port() {
	local p _
	for _ in $(seq 50); do
		p=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return 0
		fi
	done
	return 1
}

# ---- row 3: Redis --------------------------------------------------------------------------

redis_start() {
	REDIS_PORT=$(free_port) || return 1
	redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --unixsocket "$T/redis.sock" \
		--unixsocketperm 700 --save '' --appendonly no --daemonize yes \
		--pidfile "$T/redis.pid" --dir "$T" --logfile "$T/redis.log" \
		>"$T/redis.start.log" 2>&1 || { cat "$T/redis.start.log" >&2; return 1; }
	wait_file_has "$T/redis.pid" '^[0-9]+' 10 || return 1
	REDIS_PID=$(cat "$T/redis.pid")
	PIDS="$PIDS $REDIS_PID"
	local i
	for i in $(seq 200); do [ -S "$T/redis.sock" ] && return 0; sleep 0.05; done
	return 1
}

bench_fleet() {
	BUILD="$BUILD" BENCH_REPEATS="$REPEATS" bash tests/bench/fleet.sh
}

bench_redis() {
	redis_start || { cat "$T/redis.log" >&2; return 1; }
	"$BUILD/bench/bench_redis" -p "$REDIS_PORT" -k redis.tcp -r "$REPEATS" -n 10000 &&
		"$BUILD/bench/bench_redis" -s "$T/redis.sock" -k redis.unix -r "$REPEATS" -n 10000
	local rc=$?
	stop_pid "$REDIS_PID"
	return "$rc"
}

# ---- rows 4 and 6: the policy, the table, the PAM stacks ---------------------------------------

# write_policy [with-group-deny]: a policy of ~300 bindings on stdout: the bench user "daemon"
# and psm-alice (sudo.sh) may sudo:run; a %nogroup deny on sudo:* makes pam_psm resolve their
# groups (the NSS pair is in the goal); without it their own grants decide, and group grants
# on sudo:cmd:* need no group lookup.
write_policy() {
	local i
	{
		echo '// bench policy: ~300 bindings, a few deny rules, written by tests/bench/run.sh'
		echo '{ "roles": { "ops": ["sudo:run", "login:*"], "dev": ["login:ssh", "pam:sshd"],'
		echo '    "cmds": ["sudo:cmd:/usr/bin/systemctl", "sudo:cmd:/usr/bin/journalctl"] },'
		echo '  "bindings": ['
		echo '    { "user": "daemon", "roles": ["ops"] },'
		echo '    { "user": "psm-alice", "roles": ["ops"] },'
		echo '    { "group": "daemon", "roles": ["cmds"] },'
		echo '    { "group": "psm-ops", "roles": ["cmds"] },'
		for i in $(seq -w 1 296); do
			case $((10#$i % 3)) in
			0) echo "    { \"user\": \"bench-u$i\", \"roles\": [\"ops\"], \"from\": [\"10.0.0.0/8\", \"LOCAL\"] }," ;;
			1) echo "    { \"user\": \"bench-u$i\", \"roles\": [\"dev\"] }," ;;
			2) echo "    { \"user\": \"bench-u$i\", \"perms\": [\"sudo:cmd:/usr/bin/apt\"], \"reason\": \"INC-$i\" }," ;;
			esac
		done
		echo '    { "user": "bench-u999", "roles": ["dev"] } ],'
		echo '  "deny": [ { "user": "bench-u001", "perms": ["sudo:*"] }'
		[ "${1:-}" != with-group-deny ] ||
			echo '            , { "group": "nogroup", "perms": ["sudo:*"] }'
		echo '  ],'
		echo '  "services": { "bench-psm": "sudo:run", "sudo": "sudo:run", "sshd": "login:ssh" },'
		echo '  "break_glass": { "users": ["root"] } }'
	}
}

# 1000 pam_access rules; the bench user matches only the last one, so all are read.
write_access_conf() {
	local i
	{
		echo '# pam_access bench: 999 rules for other users and groups, then ours'
		for i in $(seq -w 1 999); do
			case $((10#$i % 3)) in
			0) echo "+ : bench-u$i : 10.$((10#$i % 250)).0.0/16 LOCAL" ;;
			1) echo "- : bench-u$i : ALL" ;;
			2) echo "+ : (bench-g$i) : .corp.example" ;;
			esac
		done
		echo '+ : daemon : ALL'
	} >"$T/access.conf"
}

# nsswitch.conf with passwd/group/shadow from files only (bound over /etc's in a namespace).
write_nsswitch_files() {
	sed -E 's/^(passwd|group|shadow|gshadow):.*/\1: files/' /etc/nsswitch.conf >"$T/nsswitch.files"
}

write_confdir() {
	mkdir -p "$T/pam"
	echo 'account required pam_deny.so' >"$T/pam/other"
	echo 'account required pam_permit.so' >"$T/pam/bench-permit"
	echo "account required $BUILD/pam_psm.so shm=$SHM" >"$T/pam/bench-psm"
	echo "account required pam_access.so accessfile=$T/access.conf" >"$T/pam/bench-access"
}

table_start() {
	"$BUILD/bench/bench_mktable" -H "$SHM" "$T/policy.json" >"$T/mktable.out" 2>"$T/mktable.err" &
	MKTABLE_PID=$!
	PIDS="$PIDS $MKTABLE_PID"
	wait_file_has "$T/mktable.out" '^ready' 10 || { cat "$T/mktable.err" >&2; return 1; }
}

bench_pam() {
	"$BUILD/bench/bench_pam" -d "$T/pam" -u daemon -r "$REPEATS" -n 2000 -t 1 \
		nss bench-permit bench-psm "dlopen:$PAMDIR/pam_permit.so" "dlopen:$BUILD/pam_psm.so" \
		"table:$SHM:login:ssh" "floor:$SHM:login:ssh" &&
		"$BUILD/bench/bench_pam" -d "$T/pam" -u daemon -r "$REPEATS" -n 5 -t 1 bench-access
}

# ---- rows 1 and 4: exact counts (callgrind instructions, strace system calls) ------------------

# callgrind_total FILE: the instructions callgrind counted.
callgrind_total() {
	awk '/^(summary|totals):/ { print $2; exit }' "$1"
}

bench_instr() {
	local n=10000 total
	valgrind -q --tool=callgrind --collect-atstart=no --callgrind-out-file="$T/cg.same" \
		"$BUILD/bench/bench_table" -I "$n" >&2 || return 1
	total=$(callgrind_total "$T/cg.same")
	[ -n "$total" ] || return 1
	echo "S table.same.instr $((total / n))"
}

# pam_count TOOL SPEC N: runs bench_pam with N decisions of SPEC under TOOL (callgrind or
# strace); the counts file is $T/count.TOOL.SPEC.N.
pam_count() {
	local out=$T/count.$1.${2//[\/:]/_}.$3
	local cmd=("$BUILD/bench/bench_pam" -d "$T/pam" -u daemon -r 1 -n "$3" -t 100 "$2")
	if [ "$1" = callgrind ]; then
		valgrind -q --tool=callgrind --callgrind-out-file="$out" "${cmd[@]}" >/dev/null
	else
		strace -f -c -o "$out" "${cmd[@]}" >/dev/null
	fi
}

# syscalls_by_name FILE: "name calls" lines of an strace -c summary.
syscalls_by_name() {
	awk '$NF != "total" && $NF != "syscall" && $4 ~ /^[0-9]+$/ { print $NF, $4 }' "$1"
}

# One warm decision of each spec: (count at 11 decisions - count at 1) / 10.
bench_counts() {
	local spec key a b
	for spec in bench-permit bench-psm nss; do
		key=${spec#bench-}
		pam_count callgrind "$spec" 1 && pam_count callgrind "$spec" 11 || return 1
		a=$(callgrind_total "$T/count.callgrind.$spec.1")
		b=$(callgrind_total "$T/count.callgrind.$spec.11")
		echo "S instr.$key $(((b - a) / 10))"
		pam_count strace "$spec" 1 && pam_count strace "$spec" 11 || return 1
		a=$(awk '$NF == "total" { print $4 }' "$T/count.strace.$spec.1")
		b=$(awk '$NF == "total" { print $4 }' "$T/count.strace.$spec.11")
		echo "S sys.$key $(((b - a) / 10))"
	done
	# pam_psm's own system calls by name (psm - permit - NSS pair), for the notes
	for spec in bench-permit bench-psm nss; do
		syscalls_by_name "$T/count.strace.$spec.11" | sed "s/^/$spec 1 /"
		syscalls_by_name "$T/count.strace.$spec.1" | sed "s/^/$spec -1 /"
	done | awk '{ own[$3] += ($1 == "bench-psm" ? 1 : -1) * $2 * $4 }
		END { for (k in own) if (own[k] != 0) printf "%s %g\n", k, own[k] / 10 }' |
		sort -k2,2gr >"$T/psm-own-syscalls"
}

bench_query() {
	local _
	for _ in $(seq "$REPEATS"); do
		"$BUILD/bench/bench_exec" -k exec.true -r 1 -n 200 -- /bin/true || return 1
		"$BUILD/bench/bench_exec" -k query -r 1 -n 200 -- \
			"$BUILD/psm-query" --shm "$SHM" check daemon sudo:run || return 1
		# the same with passwd/group "files" only, in a private mount namespace
		unshare -m sh -c 'mount --bind "$1" /etc/nsswitch.conf && shift && exec "$@"' sh \
			"$T/nsswitch.files" "$BUILD/bench/bench_exec" -k query.files -r 1 -n 200 -- \
			"$BUILD/psm-query" --shm "$SHM" check daemon sudo:run || return 1
	done
	"$BUILD/bench/bench_exec" -k query.denied -e 1 -r 1 -n 1 -- \
		"$BUILD/psm-query" --shm "$SHM" check bench-u001 sudo:run >/dev/null
}

bench_sudo() {
	BUILD="$BUILD" BENCH_POLICY="$T/policy.json" BENCH_POLICY_OWN="$T/policy-own.json" \
		BENCH_REPEATS="$REPEATS" BENCH_SUDO_RUNS=100 \
		BENCH_NSSWITCH_FILES="$T/nsswitch.files" NS_SHM_PREFIX=/psm-bench-sudo bash tests/bench/sudo.sh
}

bench_sshd() {
	BUILD="$BUILD" BENCH_POLICY="$T/policy.json" BENCH_REPEATS="$REPEATS" BENCH_SSHD_RUNS=20 \
		NS_SHM_PREFIX=/psm-bench-sshd bash tests/bench/sshd.sh
}

# ---- rows 7 and 8: psmd's admin socket -----------------------------------------------------------

write_psmd_policy() {
	cat >"$T/psmd-policy.json" <<-'EOF'
	// bench psmd policy: the grants under test come through the socket.
	{ "roles": { "ops": ["sudo:run"] }, "bindings": [ { "user": "daemon", "roles": ["ops"] } ],
	  "services": { "sudo": "sudo:run" } }
	EOF
}

# psmd_start NAME CAPACITY: a psmd with its own config, table $SHM-NAME, socket and state dir
# under $T/psmd-NAME (on the disk); waits until its socket answers.  Sets PSMD_PID, PSMD_SOCK.
psmd_start() {
	local dir=$T/psmd-$1 i
	mkdir -p "$dir/state"
	PSMD_SOCK=$dir/psmd.sock
	cat >"$dir/psmd.conf" <<-EOF
	{ "shm_name": "$SHM-$1", "socket": "$PSMD_SOCK", "state_dir": "$dir/state",
	  "policy": "$T/psmd-policy.json", "table_group": "root", "capacity": $2 }
	EOF
	"$BUILD/psmd" -c "$dir/psmd.conf" </dev/null >"$dir/psmd.log" 2>&1 &
	PSMD_PID=$!
	PIDS="$PIDS $PSMD_PID"
	for i in $(seq 200); do
		"$BUILD/psmctl" -s "$PSMD_SOCK" stats >/dev/null 2>&1 && return 0
		kill -0 "$PSMD_PID" 2>/dev/null || break
		sleep 0.05
	done
	cat "$dir/psmd.log" >&2
	return 1
}

psmd_stop() {
	stop_pid "$PSMD_PID"
	rm -f "/dev/shm$SHM-$1"
}

bench_grants() {
	local rc _
	psmd_start pipe 150000 || return 1
	"$BUILD/bench/bench_grants" -s "$PSMD_SOCK" -k grants.pipe -r "$REPEATS" -n 20000
	rc=$?
	for _ in $(seq "$REPEATS"); do
		[ "$rc" -eq 0 ] || break
		"$BUILD/bench/bench_exec" -k ctl.grant -r 1 -n 100 -- \
			"$BUILD/psmctl" -s "$PSMD_SOCK" grant daemon bench:ctl --ttl 1h --reason bench
		rc=$?
	done
	psmd_stop pipe
	return "$rc"
}

# Bytes per grant and per session: a fresh psmd each, 20000 of them in a 30000 table.
bench_bytes() {
	local kind rc=0
	for kind in grant session; do
		psmd_start "bytes-$kind" 30000 || return 1
		"$BUILD/bench/bench_grants" -s "$PSMD_SOCK" -b "$kind" -k "bytes.$kind.fill" -r 1 \
			-n 20000 -u daemon -t "$SHM-bytes-$kind" || rc=1
		psmd_stop "bytes-$kind"
	done
	return "$rc"
}

# ---- the table ----------------------------------------------------------------------------------

# stats: "key min median" for every key of $SAMPLES.
stats() {
	sort -k2,2 -k3,3g "$SAMPLES" | awk '
		function flush() { if (n) print k, v[1], (n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2) }
		$2 != k { flush(); k = $2; n = 0 }
		{ v[++n] = $3 }
		END { flush() }'
}

# render: reads "key min median" lines, then the row specs below, prints the table.
render() {
	awk -v repeats="$REPEATS" -v failed="$FAILED" '
	function fmt(v, u) {
		if (v == "") return "n/a"
		if (u == "ns") {
			if (v < 10000) return sprintf("%.0f ns", v)
			if (v < 1e6) return sprintf("%.1f us", v / 1e3)
			if (v < 1e9) return sprintf("%.2f ms", v / 1e6)
			return sprintf("%.2f s", v / 1e9)
		}
		if (u == "x") return v < 10 ? sprintf("%.3fx", v) : sprintf("%.0fx", v)
		if (u == "B") return sprintf("%.0f B", v)
		if (u == "/s") return sprintf("%.0f/s", v)
		return sprintf("%.0f", v)
	}
	function val(expr, col,    a, n, i, x, y) {
		# expr: KEY | KEY/KEY | KEY-KEY-KEY (ns)
		if (index(expr, "/")) {
			split(expr, a, "/"); x = val(a[1], col); y = val(a[2], col)
			return (x == "" || y == "" || y == 0) ? "" : x / y
		}
		if (index(expr, "~")) {
			n = split(expr, a, "~"); x = val(a[1], col)
			for (i = 2; i <= n; i++) { y = val(a[i], col); if (x == "" || y == "") return ""; x -= y }
			return x
		}
		return (expr in stat) ? stat[expr, col] : ""
	}
	FILENAME == ARGV[1] { stat[$1]; stat[$1, 1] = $2; stat[$1, 2] = $3; next }
	/^#/ || NF == 0 { next }
	{
		split($0, f, "|")
		row = f[1]; label = f[2]; expr = f[3]; u = f[4]; op = f[5]; goal = f[6]
		if (expr == "-") {
			printf " %-2s %-58s %11s %11s  %-12s %s\n", row, label, "-", "-", "-", "later issue"; next
		}
		mn = val(expr, 1); md = val(expr, 2)
		verdict = "peer"
		if (op != "") verdict = (mn == "") ? "n/a" : ((op == "<=" ? mn <= goal : mn >= goal) ? "PASS" : "MISS")
		g = (op == "") ? "-" : op " " fmt(goal, u)
		printf " %-2s %-58s %11s %11s  %-12s %s\n", row, label, fmt(mn, u), fmt(md, u), g, verdict
	}' <(stats) - <<'EOF'
# row|label|expression|unit|goal op|goal
1|table check, same key, warm: p50 (batches of 64)|table.same.p50|ns|<=|150
1|table check, same key, warm: p99 (per check, incl. timer)|table.same.p99|ns|<=|1000
1|  (one CLOCK_MONOTONIC read, in each per-check p99)|timer.p50|ns||
1|table check, same key, warm: instructions (callgrind)|table.same.instr||<=|1000
2|random keys, 10^3 records: p50 (batches of 64)|table.rand3.p50|ns||
2|random keys, 10^3 records: p99 (per check, incl. timer)|table.rand3.p99|ns||
2|random keys, 10^6 records: p50 (batches of 64)|table.rand6.p50|ns|<=|1000
2|random keys, 10^6 records: p99 (per check, incl. timer)|table.rand6.p99|ns||
3|Redis SISMEMBER via hiredis, loopback TCP: p50|redis.tcp.p50|ns||
3|Redis SISMEMBER via hiredis, loopback TCP: p99|redis.tcp.p99|ns||
3|Redis SISMEMBER via hiredis, Unix socket: p50|redis.unix.p50|ns||
3|ratio Redis TCP p50 / table check same key p50|redis.tcp.p50/table.same.p50|x|>=|300
3|ratio Redis TCP p50 / random key at 10^6 p50|redis.tcp.p50/table.rand6.p50|x||
4|PAM decision, stack pam_permit: p50|pam.bench-permit.p50|ns||
4|getpwnam_r + getgrouplist alone (NSS pair): p50|nss.p50|ns||
4|PAM decision, stack pam_psm (~300-binding policy): p50|pam.bench-psm.p50|ns||
4|PAM decision, stack pam_psm: p99|pam.bench-psm.p99|ns||
4|pam_psm - (pam_permit + NSS pair)|pam.bench-psm.p50~pam.bench-permit.p50~nss.p50|ns|<=|10000
4|  instructions: pam_permit stack (callgrind)|instr.permit|||
4|  instructions: NSS pair (callgrind)|instr.nss|||
4|  instructions: pam_psm stack (callgrind)|instr.psm|||
4|  instructions: pam_psm - (pam_permit + NSS pair)|instr.psm~instr.permit~instr.nss|||
4|  system calls: pam_permit stack (strace -c)|sys.permit|||
4|  system calls: NSS pair (strace -c)|sys.nss|||
4|  system calls: pam_psm stack (strace -c)|sys.psm|||
4|  system calls: pam_psm - (pam_permit + NSS pair)|sys.psm~sys.permit~sys.nss|||
4|  module load alone: dlopen+dlclose pam_permit.so: p50|dlopen.pam_permit.so.p50|ns||
4|  module load alone: dlopen+dlclose pam_psm.so: p50|dlopen.pam_psm.so.p50|ns||
4|  table work alone: open+pread+decide+close, no NSS: p50|table.p50|ns|<=|6000
4|  the same system calls alone (open, fstat, its preads, close): p50|table.floor.p50|ns||
4|  table work - its system calls (psm's code)|table.p50~table.floor.p50|ns||
4|PAM decision, stack pam_access, 1000 rules: p50|pam.bench-access.p50|ns||
4|ratio pam_access / pam_psm|pam.bench-access.p50/pam.bench-psm.p50|x|>=|1000
5|sudo -n true, + pam_succeed_if uid>=0 line: p50 of 100 runs|sudo.succeed_if_stack.p50|ns||
5|sudo -n true, + pam_psm account line: p50 of 100 runs|sudo.psm.p50|ns||
5|ratio sudo + pam_psm / + pam_succeed_if (run by run)|sudo.ratio|x|<=|1.01
5|  peer: + pam_psm / stock pam.d/sudo|sudo.stock.ratio|x||
5|  peer: + pam_permit line (already loaded) / stock|sudo.permit.ratio|x||
5|  peer: + pam_succeed_if line (not yet loaded) / stock|sudo.succeed_if.ratio|x||
5|  pam_psm: no group deny (no group lookup) / with one|sudo.own.ratio|x||
5|  pam_psm without group deny / + pam_succeed_if|sudo.own_succeed_if.ratio|x||
5|  sudo+pam_psm: NSS "files" only / host nsswitch.conf|sudo.files.ratio|x||
5|ssh login (key, `true`), stock pam.d/sshd: p50 of 20|sshd.plain.p50|ns||
5|ssh login, + pam_psm account line: p50 of 20|sshd.psm.p50|ns||
5|ratio ssh login with pam_psm / without (run by run)|sshd.ratio|x|<=|1.01
6|fork/exec/wait of /bin/true (floor): p50 of 200|exec.true.p50|ns||
6|psm-query check, whole process: p50 of 200|query.p50|ns|<=|2000000
6|psm-query check, whole process: p99 of 200|query.p99|ns||
6|  the same, NSS "files" only (namespace): p50 of 200|query.files.p50|ns||
7|table bytes per record, 10^6 records (total_size/records)|bytes.total_per_record|B|<=|512
7|  arena bytes per record (arena_used/records)|bytes.arena_per_record|B||
7|table bytes per grant via psmd (total_size/records)|bytes.grant.total_per_record|B|<=|512
7|  arena bytes per grant (arena_used growth / grants)|bytes.grant.arena_per_record|B||
7|table bytes per session via psmd (total_size/records)|bytes.session.total_per_record|B|<=|512
7|  arena bytes per session (arena_used growth / sessions)|bytes.session.arena_per_record|B||
8|admin socket: durable grants/s, one connection, pipelined|grants.pipe.per_s|/s|>=|50000
8|psmctl grant, whole process: p50 of 100|ctl.grant.p50|ns||
8|psmctl grant, whole process: p99 of 100|ctl.grant.p99|ns||
9|fleet floor: XADD -> XREAD BLOCK, loopback: p50|fleet.floor.p50|ns||
9|fleet floor: XADD -> XREAD BLOCK, loopback: p99|fleet.floor.p99|ns||
9|fleet: grant on a, in b's table, from a's reply: p50|fleet.2.grant.p50|ns||
9|fleet: grant on a, in b's table, from a's reply: p99|fleet.2.grant.p99|ns|<=|5000000
9|fleet: revoke on a, gone from b's table: p50|fleet.2.revoke.p50|ns||
9|fleet: revoke on a, gone from b's table: p99|fleet.2.revoke.p99|ns|<=|5000000
9|  (a's own reply to a grant, durable: p50)|fleet.2.ack.p50|ns||
9|fleet, 20 hosts: grant in the 19 other tables: p99|fleet.20.grant.p99|ns|<=|20000000
9|fleet, 20 hosts: revoke in the 19 other tables: p99|fleet.20.revoke.p99|ns|<=|20000000
9|fleet: changes/s through the feed (20000 pipelined, into b's table)|fleet.rate.per_s|/s|>=|10000
9|fleet: catch-up of 100,000 missed changes (from psmd's start)|fleet.catchup|ns|<=|5000000000
9|  (of which: until the restarted psmd served its table)|fleet.catchup.served|ns||
9|signature verify, one feed entry: p50|sign.verify.p50|ns||
9|signature verify, one feed entry: p99|sign.verify.p99|ns|<=|100000
EOF
}

# ---- main ---------------------------------------------------------------------------------------

for p in bench/bench_table bench/bench_redis bench/bench_pam bench/bench_exec bench/bench_mktable \
	bench/bench_grants bench/bench_sign bench/bench_fleet tools/tableinfo pam_psm.so psm-query psmd \
	psmctl; do
	[ -e "$BUILD/$p" ] || { echo "run.sh: $BUILD/$p is missing: run make programs" >&2; exit 2; }
done
echo "psm bench: $REPEATS repeats of every figure (about 17 minutes at 5, 9 of them the fleet)" >&2
write_policy with-group-deny >"$T/policy.json"
write_policy >"$T/policy-own.json"
write_psmd_policy
write_access_conf
write_confdir
write_nsswitch_files
step table "$BUILD/bench/bench_table" -r "$REPEATS"
step instr bench_instr
step redis bench_redis
if table_start; then
	step pam bench_pam
	step counts bench_counts
	step psm-query bench_query
	stop_pid "$MKTABLE_PID"
else
	FAILED="$FAILED bench_mktable"
fi
step sudo bench_sudo
step sshd bench_sshd
step grants bench_grants
step bytes bench_bytes
step sign "$BUILD/bench/bench_sign" -r "$REPEATS"
step fleet bench_fleet

echo
echo 'psm bench - the figures of README "Figures", peers side by side in one run'
echo "$(date -u +%Y-%m-%dT%H:%M:%SZ), $(uname -r), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(nproc) CPUs"
echo "min / median over $REPEATS repeats; goal and verdict on the min; timings never fail the run"
echo
printf ' %-2s %-58s %11s %11s  %-12s %s\n' '#' figure min median goal verdict
render
cat <<'NOTES'

Table checks: p50 = median over batches of 64 checks, divided by 64; p99 = per-check samples,
each including one CLOCK_MONOTONIC read (shown in row 1).  Ratios use mins (median column:
medians); sudo's and ssh's two stacks take turns run by run, their ratio is per round (the
min column: the most favourable round; the median column: the typical one).
Instructions (callgrind) and system calls (strace -f -c): one warm decision, exact, measured
once.  PAM rows: user "daemon", a temp confdir (other = pam_deny),
pam_psm's table built by bench_mktable from a ~300-binding policy (capacity 100000), NSS as
/etc/nsswitch.conf says (the rows marked "files only": passwd/group/shadow from files, in a
private mount namespace).  Rows 7-8 via psmd: psmd as root without -d, state_dir on the disk
(every reply follows its journal fsync; group commit), policy with one binding; bytes per
grant/session: a fresh psmd (capacity 30000) holding 20000 of them.  Row 9: psmd hosts on
this machine, one loopback redis-server, records signed and verified; propagation is polled
with a 20 us sleep between rounds (that bounds its resolution).
NOTES
if [ -s "$T/psm-own-syscalls" ]; then
	echo "pam_psm's own system calls in one decision (pam_psm - pam_permit - NSS pair):" \
		"$(awk '{ printf "%s%s %s", (NR > 1 ? ", " : ""), $1, $2 }' "$T/psm-own-syscalls")"
fi
if [ -n "$FAILED" ]; then
	echo "FAILED steps:$FAILED (logs: /tmp/psm-bench-<step>.log)"
	exit 1
fi
exit 0
