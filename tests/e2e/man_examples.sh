#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tests/e2e/man_examples.sh - psmctl(8)'s EXAMPLES are real output: every "# COMMAND" line of
# the section is run, in order, against a real psmd (socket /run/psm/psmd.sock, table /psm,
# host web-01) and its output (stdout and stderr) compared with the lines under it on the page,
# after ids, times, durations and large numbers are normalized (in any line order: listings
# need not be sorted).  UPDATE=1 writes the real
# output (and the real ids in the commands) into the page instead.
# Runs as root in a private mount namespace (tests/lib/ns.sh) with the users alice and bob and
# the group ops (bob); /etc/psm/ and /root/ in the commands are directories under $T.
# TAP lines "ok - NAME" / "not ok - NAME"; BUILD=dir (default build).
# shellcheck disable=SC2317,SC2034 # functions are called through ns_main; NS_* are for ns.sh
set -u
# shellcheck source=../lib/ns.sh
. "$(dirname "$0")/../lib/ns.sh"
NS_USERS="alice:61031 bob:61032"
NS_GROUPS="psm-all:61000 ops:61130:bob"
PAGE=$(cd "$(dirname "$0")/../.." && pwd)/psmd/psmctl/psmctl.8

write_files() {
	mkdir -p /run/psm "$T/etc/psm/keys" "$T/root"
	cat >"$T/etc/psm/policy.json" <<-'EOF'
	// man_examples policy: three roles, two bindings, one deny rule.
	{
	  "roles": { "admin": ["*"], "ops": ["login:*", "sudo:run"], "dev": ["login:ssh"] },
	  "bindings": [
	    { "group": "ops", "roles": ["ops"] },
	    { "user": "alice", "roles": ["dev"], "from": ["192.0.2.0/24"] }
	  ],
	  "deny": [ { "user": "bob", "perms": ["sudo:cmd:/bin/sh"] } ],
	  "services": { "sshd": "login:ssh", "sudo": "sudo:run" }
	}
	EOF
	write_conf psmd.conf /psm /run/psm/psmd.sock state
	write_conf new.conf /psm-new /run/psm/new.sock new-state
}

# write_conf FILE TABLE SOCKET STATE_DIR: $T/FILE, a psmd.conf for the host web-01.
write_conf() {
	mkdir -m 700 "$T/$4"
	cat >"$T/$1" <<-EOF
	// man_examples psmd.conf: the default socket and table, inside a private namespace.
	{
	  "shm_name": "$2",
	  "socket": "$3",
	  "state_dir": "$T/$4",
	  "policy": "$T/etc/psm/policy.json",
	  "table_group": "root",
	  "host_name": "web-01"
	}
	EOF
}

# start_new_psmd: the second psmd, on /run/psm/new.sock (the examples import into it).
start_new_psmd() {
	"$PSMD" -c "$T/new.conf" -d </dev/null >>"$T/new.log" 2>&1 &
	ns_track $!
	wait_for 10 test -S /run/psm/new.sock
}

# open_session PID: alice's ssh login from 10.1.2.3, led by PID.
open_session() {
	local req='"op":"session_open","user":"alice","service":"sshd","tty":"pts/0"'
	psmd_request /run/psm/psmd.sock "{$req,\"rhost\":\"10.1.2.3\",\"pid\":$1}" |
		grep -q '"ok": *true'
}

# run_examples PAGE T: runs the examples (see the top of this file); one line per command,
# "ok|not ok<TAB>NAME<TAB>DIAGNOSTIC" (\n in DIAGNOSTIC for a new line).
run_examples() {
	python3 - "$@" <<-'PY'
	import os, re, subprocess, sys

	page_path, tmp = sys.argv[1], sys.argv[2]
	update = os.environ.get("UPDATE") == "1"
	ID = re.compile(r"\b[a-z2-7]{26}\b")
	NORM = [(re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d(?::\d\d)?(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d| ?UTC)?"),
	         "TIME"),
	        (re.compile(r"\b(?:\d+[wdhms])+\b"), "DUR"),
	        (re.compile(r"\b\d+ (?:week|day|hour|minute|second)s?\b"), "DUR"),
	        (re.compile(r"DUR(?:,? (?:and )?DUR)+"), "DUR"),
	        (re.compile(r"ed25519:[A-Za-z0-9+/]{43}="), "ed25519:KEY"),
	        (re.compile(r"\b(pid|uid|generation) \d+"), r"\1 N"),
	        (re.compile(r"\b\d{3,}\b"), "N")]
	PATHS = [("/etc/psm/", tmp + "/etc/psm/"), ("/root/", tmp + "/root/")]


	def unroff(s):
	    return re.sub(r"\\(-|e|&|\(aq)", lambda m: {"-": "-", "e": "\\", "&": ""}.get(m[1], "'"), s)


	def roff(s):
	    s = s.rstrip().replace("\\", "\\e").replace("-", "\\-")
	    return "\\&" + s if s[:1] in (".", "'") else s


	class Ids:
	    """ids numbered in order of first appearance, so two runs' ids can be compared."""
	    def __init__(self):
	        self.seen = []

	    def note(self, text):
	        for i in ID.findall(text):
	            if i not in self.seen:
	                self.seen.append(i)

	    def norm(self, line):
	        self.note(line)
	        line = ID.sub(lambda m: "ID%d" % self.seen.index(m[0]), line)
	        for rx, to in NORM:
	            line = rx.sub(to, line)
	        return " ".join(line.split())


	def parse(lines):
	    """The EXAMPLES section's commands: [index of the command line, [output line indexes]]."""
	    start = lines.index(".SH EXAMPLES")
	    end = next(i for i in range(start + 1, len(lines)) if lines[i].startswith(".SH "))
	    cmds, in_nf = [], False
	    for i in range(start, end):
	        t = unroff(lines[i])
	        if lines[i] in (".nf", ".fi"):
	            in_nf = lines[i] == ".nf"
	        elif in_nf and t.startswith("# "):
	            cmds.append([i, []])
	        elif in_nf and cmds:
	            cmds[-1][1].append(i)
	    return cmds


	def run(cmd, status):
	    for a, b in PATHS:
	        cmd = cmd.replace(a, b)
	    p = subprocess.run(["bash", "-c", "(exit %d); %s" % (status, cmd)], cwd=tmp, stdin=subprocess.DEVNULL,
	                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
	    out = p.stdout.decode("utf-8", "replace")
	    for a, b in PATHS:
	        out = out.replace(b, a)
	    return p.returncode, out.splitlines()


	def main():
	    lines = open(page_path).read().split("\n")
	    cmds = parse(lines)
	    page_ids, real_ids, status, new = Ids(), Ids(), 0, {}
	    if not cmds:
	        print("not ok\tpsmctl(8) EXAMPLES has commands\tno \"# COMMAND\" line in .nf blocks")
	    for ci, outs in cmds:
	        cmd = unroff(lines[ci])[2:]
	        page_ids.note(cmd)
	        for pid in ID.findall(cmd):
	            n = page_ids.seen.index(pid)
	            real = real_ids.seen[n] if n < len(real_ids.seen) else None
	            if real is None:
	                print("not ok\texample: %s\tid %s is not in an earlier output" % (cmd, pid))
	                return
	            cmd = cmd.replace(pid, real)
	        real_ids.note(cmd)
	        status, out = run(cmd, status)
	        want = [page_ids.norm(unroff(lines[i])) for i in outs]
	        got = [real_ids.norm(o) for o in out]
	        name = "example: " + unroff(lines[ci])[2:]
	        if sorted(want) == sorted(got) or update:
	            print("ok\t" + name + ("\t(updated)" if update else ""))
	        else:
	            print("not ok\t%s\tthe page (normalized):\\n  %s\\nthe real run (normalized):\\n  %s"
	                  % (name, "\\n  ".join(want), "\\n  ".join(got)))
	        new[ci] = ["# " + roff(cmd)] + [roff(o) for o in out]
	    if update:
	        write(lines, cmds, new)


	def write(lines, cmds, new):
	    skip = {i for _, outs in cmds for i in outs}
	    res = []
	    for i, l in enumerate(lines):
	        if i in new:
	            res.extend(new[i])
	        elif i not in skip:
	            res.append(l)
	    with open(page_path + ".new", "w") as f:
	        f.write("\n".join(res))
	    os.replace(page_path + ".new", page_path)


	main()
	PY
}

scenario() {
	PSM_SHM=/psm
	write_files
	start_psmd || { fail "psmd starts"; return 1; }
	check "a second psmd starts" start_new_psmd
	sleep 600 &
	ns_track $!
	check "a session to list and kill" open_session $!
	PATH="$BUILD:$PATH" run_examples "$PAGE" "$T" >"$T/results" ||
		fail "the examples ran" "$(tail -n 5 "$T/results")"
	while IFS=$'\t' read -r verdict name diag; do
		if [ "$verdict" = ok ]; then pass "$name"; else fail "$name" "$(printf '%b' "$diag")"; fi
	done <"$T/results"
}

ns_main scenario python3
