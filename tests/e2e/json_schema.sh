#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tests/e2e/json_schema.sh - every JSON output of psm against etc/psm.schema.json: psmctl --json
# (each command, success and error), the export file (and an old version 1 export imported),
# psm-query --json, and psmd's audit lines.  TAP lines "ok - NAME" / "not ok - NAME".
# $BUILD (default build) holds psmd, psmctl, psm-query.  Everything lives in a temp dir and
# the table /psm-e2e-json-PID; only processes started here are stopped (by pid).  Needs
# root, python3 with jsonschema (python3-jsonschema), setpriv.
set -u
# shellcheck source=../lib/psmd.sh
. "$(dirname "$0")/../lib/psmd.sh"
psmd_env json
SCHEMA=etc/psm.schema.json
JCHECK="python3 tests/tools/json_check.py"

# ctl ARGS...: psmctl --json as root, output in $T/out (LAST_RC, LAST_OUT, LAST_ERR).
ctl() { run_capture "$CTL" -s "$SOCK" --json "$@"; }
# valid NAME KIND [FILE [--lines PREFIX]]: FILE (default $T/out) is one JSON object of
# $defs KIND (--lines: each of its lines that is PREFIX and an object is one).
valid() {
	local why
	if why=$($JCHECK "$SCHEMA" "$2" "${3:-$T/out}" "${@:4}" 2>&1); then
		pass "$1"
	else
		fail "$1" "$why" "output: $(head -c 2000 "${3:-$T/out}")"
	fi
}
# out_ok NAME KIND RC CMD...: CMD exits RC and prints one valid KIND object.
out_ok() {
	local name=$1 kind=$2 rc=$3
	shift 3
	run_capture "$@"
	if [ "$LAST_RC" -ne "$rc" ]; then
		fail "$name" "exit $LAST_RC (want $rc)" "stdout: $LAST_OUT" "stderr: $LAST_ERR"
		return
	fi
	valid "$name" "$kind"
}
# ctl_ok NAME KIND RC ARGS...: psmctl --json ARGS exits RC, prints one valid KIND object.
ctl_ok() { out_ok "$1" "$2" "$3" "$CTL" -s "$SOCK" --json "${@:4}"; }
# ctl_err NAME CODE RC ARGS...: an error object with that code and exit, its message the
# stderr line.
ctl_err() {
	local name=$1 code=$2 rc=$3
	shift 3
	ctl "$@"
	if [ "$LAST_RC" -eq "$rc" ] && $JCHECK "$SCHEMA" error "$T/out" 2>/dev/null &&
		python3 - "$T/out" "$code" "$rc" "$LAST_ERR" <<-'PY'; then
		import json, sys
		d = json.load(open(sys.argv[1]))["error"]
		sys.exit(0 if d["code"] == sys.argv[2] and d["exit"] == int(sys.argv[3])
		         and d["message"] == sys.argv[4] else 1)
		PY
		pass "$name"
	else
		fail "$name" "exit $LAST_RC (want $rc, code $code)" "stdout: $LAST_OUT" "stderr: $LAST_ERR"
	fi
}
jget() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval("d"+sys.argv[2]))' "$T/out" "$1"; }
psmd_need "$PSMD" "$CTL" "$QUERY"
python3 -c 'import jsonschema' 2>/dev/null || { echo "not ok - python3-jsonschema is not installed"; exit 1; }
chmod 0755 "$T"
cat >"$T/policy.json" <<-'POL'
{
  "roles": { "base": ["login:*"] },
  "bindings": [ { "user": "daemon", "roles": ["base"] } ],
  "deny": [ { "user": "daemon", "perms": ["login:ftp"] } ],
  "services": { "sudo": "sudo:run" },
  "session_ttl": "1h"
}
POL
psmd_conf "$T/psmd.conf" "$SHM" '"capacity": 64, "host_name": "json-host"'
check "psmd starts" psmd_start
valid "the schema itself is valid and has the error kind" error <(echo '{"ok":false,"error":{"code":"usage","exit":2,"message":"m"}}')

# ---- psmctl: grants and checks --------------------------------------------------------------
ctl_ok "grant --ttl --from" ctl_grant 0 grant daemon sudo:run --ttl 2h --reason INC-1 --from 10.0.0.0/8
G1=$(jget '["grant_id"]')
ctl_ok "grant --until" ctl_grant 0 grant daemon db:read --until "$(date -u -d '+3 hours' +%Y-%m-%dT%H:%M:%SZ)"
G2=$(jget '["grant_id"]')
ctl_ok "grant for good (not_after null)" ctl_grant 0 grant %root web:deploy
check "grant: not_after_unix is the time of not_after" test \
	"$(date -u -d "$(ctl grant daemon t:x --ttl 1h; jget '["not_after"]')" +%s)" = "$(jget '["not_after_unix"]')"
ctl_ok "grants" ctl_grants 0 grants
check "grants: from is an array, policy grants listed" python3 -c '
import json, sys
g = json.load(open(sys.argv[1]))["grants"]
assert any(x["from"] == ["10.0.0.0/8"] for x in g) and any(x["source"] == "policy" for x in g)' "$T/out"
ctl_ok "grants USER" ctl_grants 0 grants daemon
ctl_ok "check allowed" ctl_check 0 check daemon login:ssh
ctl_ok "check --explain: grant, binding, deny, none" ctl_check 1 check daemon sudo:run login:ssh login:ftp nope:x --explain
check "check --explain: rule kinds and the grant's fields" python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))["results"]
e = [x["explain"] for x in r]
assert [x["rule"] for x in e] == ["grant", "binding", "deny", "none"], e
assert e[0]["source"] == sys.argv[2] and e[0]["reason"] == "INC-1" and e[0]["from"] == ["10.0.0.0/8"]
assert e[0]["expires"].endswith("Z") and isinstance(e[0]["expires_unix"], int)' "$T/out" "$G1"

# ---- psmctl: sessions -----------------------------------------------------------------------
sleep 300 &
LEADER=$!
PIDS="$PIDS $LEADER"
SID=$(psmd_request "$SOCK" '{"op":"session_open","user":"daemon","service":"sshd","tty":"pts/7","rhost":"10.9.9.9","pid":'"$LEADER"',"audit":77}' |
	python3 -c 'import json,sys; print(json.load(sys.stdin)["session_id"])')
ctl_ok "sessions" ctl_sessions 0 sessions
ctl_ok "sessions USER --fleet" ctl_sessions 0 sessions daemon --fleet
ctl_ok "session show" ctl_session 0 session show "$SID"
ctl_ok "session extend" ctl_session 0 session extend "$SID" --ttl 2h

# ---- psmctl: export and import -------------------------------------------------------------
ctl_ok "export FILE --json" ctl_export 0 export "$T/export.json"
valid "the export file (version 2)" export "$T/export.json"
run_capture "$CTL" -s "$SOCK" export
valid "export to stdout is the export file" export
ctl_ok "import --dry-run of a version 2 export" ctl_import 0 import "$T/export.json" --dry-run
check "import --dry-run: every item already present, none refused" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["dry_run"] and all(s["reason"] == "already present" for s in d["skipped"]), d' "$T/out"
NA=$(($(date +%s) + 7200))
cat >"$T/v1.json" <<-V1
{"format": "psm-export", "version": 1, "sessions": [], "grants": [
 {"grant_id": "baaaaaaaaaaaaaaaaaaaaaaaaa", "principal": "daemon", "pattern": "old:fmt",
  "not_before": null, "not_after": $NA, "from": [], "hosts": [], "session": null,
  "reason": "v1", "issuer": "root", "source": "admin", "origin": "json-host",
  "version": "1", "created": $((NA - 7200))}]}
V1
ctl_ok "import of a version 1 export (integer times)" ctl_import 0 import "$T/v1.json"
check "the version 1 grant is in, with its time" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["imported"]["grants"] == 1, d' "$T/out"
ctl grants daemon
check "grants shows the imported grant's not_after_unix" python3 -c '
import json, sys
g = [x for x in json.load(open(sys.argv[1]))["grants"] if x["pattern"] == "old:fmt"]
assert g and g[0]["not_after_unix"] == int(sys.argv[2]), g' "$T/out" "$NA"
python3 - "$T/export.json" "$T/bad2.json" <<-'PY'
import json, sys
d = json.load(open(sys.argv[1]))
d["sessions"][0]["expires_unix"] += 1
json.dump(d, open(sys.argv[2], "w"))
PY
ctl_err "import: a time and its _unix that disagree" bad_input 2 import "$T/bad2.json" --dry-run

# ---- psmctl: the rest ----------------------------------------------------------------------
ctl_ok "revoke GRANT_ID" ctl_revoke 0 revoke "$G2"
ctl_ok "revoke USER PATTERN" ctl_revoke 0 revoke daemon sudo:run
ctl_ok "history (grants, revokes, sessions)" ctl_history 0 history
check "history has the revokes" python3 -c 'import json,sys; e=json.load(open(sys.argv[1]))["events"]; sys.exit(0 if sum(x["event"] == "revoke" for x in e) >= 2 else 1)' "$T/out"
ctl_ok "history USER --since" ctl_history 0 history daemon --since 1h
ctl_ok "cleanup" ctl_cleanup 0 cleanup
ctl_ok "stats" ctl_stats 0 stats
ctl_ok "health" ctl_health 0 health
ctl_ok "fleet (off)" ctl_fleet 0 fleet
ctl_ok "policy reload" ctl_policy 0 policy reload
ctl_ok "policy check" ctl_policy 0 policy check "$T/policy.json"
ctl_ok "recover" ctl_recover 0 recover
ctl_ok "metrics" ctl_metrics 0 metrics
ctl_ok "session kill" ctl_session_kill 0 session kill "$SID"
ctl_ok "keygen" ctl_keygen 0 keygen "$T/fleet.sk" --name json-host

# ---- psmctl: errors ---------------------------------------------------------------------------
ctl_err "error: unknown command (usage)" usage 2 frobnicate
ctl_err "error: bad option value (usage)" usage 2 grant daemon a:b --ttl 5x
ctl_err "error: no such grant (bad_input)" bad_input 2 revoke daemon nothing:here
ctl_err "error: psmd not running (unavailable)" unavailable 3 -s "$T/nosock" stats
run_capture setpriv --reuid 65534 --regid 65534 --clear-groups "$CTL" -s "$SOCK" --json grant nobody x:y
cp "$T/out" "$T/noperm.json"
check "error: not permitted (exit 4, code not_permitted)" test "$LAST_RC" -eq 4 -a \
	"$(jget '["error"]["code"]' 2>/dev/null)" = not_permitted
valid "error: not permitted is an error object" error "$T/noperm.json"

# ---- psm-query --json -------------------------------------------------------------------------
# q_ok NAME KIND RC ARGS...: psm-query --json ARGS exits RC, prints one valid KIND object.
q_ok() { out_ok "$1" "$2" "$3" "$QUERY" --shm "$SHM" --json "${@:4}"; }
"$CTL" -s "$SOCK" grant daemon q:run --ttl 1h --from 10.0.0.0/8,LOCAL >/dev/null
q_ok "psm-query check" query_check 0 check daemon login:ssh
q_ok "psm-query check --explain (grant)" query_check 0 check daemon q:run --explain
check "psm-query --explain: the grant's from is an array" test "$(jget '["explain"]["from"]')" = "['10.0.0.0/8', 'LOCAL']"
q_ok "psm-query check --explain (deny rule)" query_check 1 check daemon login:ftp --explain
q_ok "psm-query check --explain (nothing matched)" query_check 1 check daemon nope:x --explain
q_ok "psm-query user" query_user 0 user daemon
q_ok "psm-query sessions" query_sessions 0 sessions
run_capture "$QUERY" --shm "$SHM" check daemon --json
valid "psm-query usage error" error
run_capture "$QUERY" --shm /psm-e2e-json-none-$$ --json check daemon a:b
check "psm-query: no table is exit 3" test "$LAST_RC" -eq 3
valid "psm-query: no table is an error object" error

# ---- audit lines -------------------------------------------------------------------------------
check "audit: a line for a grant with ttl_s" grep -q '"op":"grant".*"ttl_s":7200' "$LOG"
check "audit: --until as until and until_unix" grep -q '"until":"[0-9T:-]*Z","until_unix":[0-9]*' "$LOG"
valid "audit: every line psmd wrote" audit "$LOG" --lines "psmd: "

# ---- the schema is strict: a renamed field or an integer time fails --------------------------
ctl grants daemon
sed 's/"not_after"/"expiry"/' "$T/out" >"$T/renamed.json"
check "schema: a renamed field fails" bash -c "! $JCHECK $SCHEMA ctl_grants $T/renamed.json 2>/dev/null"
sed -E 's/"created":"[^"]*"/"created":1796000000/' "$T/out" >"$T/inttime.json"
check "schema: a time as a bare integer fails" bash -c "! $JCHECK $SCHEMA ctl_grants $T/inttime.json 2>/dev/null"
tap_end
