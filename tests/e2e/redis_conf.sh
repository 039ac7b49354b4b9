#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tests/e2e/redis_conf.sh - psmd -n and SIGHUP on the redis object: password_file checks, sentinels.
# TAP lines "ok - NAME" / "not ok - NAME"; $BUILD (default build) holds psmd and psmctl.
# Everything lives in a temp dir and the table /psm-e2e-rconf-PID; only the psmd started here is
# stopped (by pid).  No Redis is needed: psmd checks its redis config before it connects.
set -u
# shellcheck source=../lib/psmd.sh
. "$(dirname "$0")/../lib/psmd.sh"
psmd_env rconf
psmd_need "$PSMD" "$CTL"

cp etc/policy.json "$T/policy.json"
PW=$T/redis.pass
printf 'psm s3cret\n' >"$PW"
chmod 600 "$PW"

# conf FILE REDIS_MEMBERS: a psmd.conf whose redis object holds REDIS_MEMBERS.
conf() { psmd_conf "$1" "$SHM" "\"redis\": { $2 }"; }

# expect_n NAME CONF EXIT WANT: psmd -n on CONF exits EXIT, stderr is one line matching WANT (regex).
expect_n() {
	local err rc
	err=$("$PSMD" -n -c "$2" 2>&1 >/dev/null); rc=$?
	if [ $rc -eq "$3" ] && [[ "$err" =~ $4 ]] && [ "$(printf '%s' "$err" | wc -l)" -eq 0 ]; then
		pass "$1"
	else
		fail "$1" "exit $rc (want $3)" "got:  $err" "want: $4"
	fi
}

conf "$T/good.conf" "\"url\": \"redis://psm@127.0.0.1:6379/2\", \"password_file\": \"$PW\""
out=$("$PSMD" -n -c "$T/good.conf" 2>&1); rc=$?
check "psmd -n: password_file 0600 of root, user@ url: exit 0" test $rc -eq 0 -a "${out##*$'\n'}" = "configuration OK"

chmod 640 "$PW"
expect_n "psmd -n: password_file mode 0640: exit 2, names the file" "$T/good.conf" 2 \
	"^psmd: $T/good.conf: redis.password_file \"$PW\": mode 0640 lets group or others in \(chmod 600\)$"
chmod 600 "$PW"
ln -s "$PW" "$T/link.pass"
conf "$T/link.conf" "\"url\": \"redis://127.0.0.1\", \"password_file\": \"$T/link.pass\""
expect_n "psmd -n: password_file a symlink: exit 2" "$T/link.conf" 2 \
	"redis.password_file \"$T/link.pass\": is a symbolic link$"
conf "$T/none.conf" "\"url\": \"redis://127.0.0.1\", \"password_file\": \"$T/none\""
expect_n "psmd -n: password_file missing: exit 2" "$T/none.conf" 2 \
	"redis.password_file \"$T/none\": No such file or directory$"
if id nobody >/dev/null 2>&1; then
	cp "$PW" "$T/other.pass" && chown nobody "$T/other.pass"
	conf "$T/other.conf" "\"url\": \"redis://127.0.0.1\", \"password_file\": \"$T/other.pass\""
	expect_n "psmd -n: password_file of another user: exit 2" "$T/other.conf" 2 \
		"redis.password_file \"$T/other.pass\": owned by uid [0-9]+, not by root"
fi

conf "$T/sent.conf" "\"sentinels\": [\"127.0.0.1:26379\", \"s2\"], \"master_name\": \"psm\""
check "psmd -n: sentinels + master_name: exit 0" bash -c "'$PSMD' -n -c '$T/sent.conf' >/dev/null"
conf "$T/both.conf" "\"url\": \"redis://h\", \"sentinels\": [\"s:1\"], \"master_name\": \"m\""
expect_n "psmd -n: url and sentinels: exit 2, FILE:L:C" "$T/both.conf" 2 \
	"^psmd: $T/both.conf:[0-9]+:[0-9]+: redis.sentinels: goes without \"url\""
conf "$T/port.conf" "\"sentinels\": [\"s:99999\"], \"master_name\": \"m\""
expect_n "psmd -n: a sentinel's bad port: exit 2, FILE:L:C" "$T/port.conf" 2 \
	"^psmd: $T/port.conf:[0-9]+:[0-9]+: redis.sentinels: \"s:99999\" has a bad port$"
conf "$T/max.conf" "\"url\": \"redis://h\", \"max_reply\": 100"
expect_n "psmd -n: max_reply under 4096: exit 2, FILE:L:C" "$T/max.conf" 2 \
	"^psmd: $T/max.conf:[0-9]+:[0-9]+: max_reply: expected a whole number from 4096 to 67108864$"

# signing_key and trusted_keys: psmd -n reads them as the fleet part will (psmctl keygen's files).
"$CTL" keygen "$T/host.key" --name h1 >"$T/trusted" 2>&1 && chmod 600 "$T/trusted"
conf "$T/keys.conf" "\"url\": \"redis://h\", \"signing_key\": \"$T/host.key\", \"trusted_keys\": \"$T/trusted\""
out=$("$PSMD" -n -c "$T/keys.conf" 2>&1); rc=$?
check "psmd -n: keygen's key and its trusted_keys line: exit 0" test $rc -eq 0 -a "${out##*$'\n'}" = "configuration OK"
chmod 644 "$T/host.key"
expect_n "psmd -n: signing_key mode 0644: exit 2, names the file" "$T/keys.conf" 2 "^psmd: $T/keys.conf: .*$T/host.key"
chmod 600 "$T/host.key"
printf '# fleet keys\ned25519:not-base64 h2\n' >>"$T/trusted"
expect_n "psmd -n: a malformed trusted_keys line: exit 2, FILE:LINE:COL" "$T/keys.conf" 2 "^psmd: $T/keys.conf: $T/trusted:3:[0-9]+: "

# A reload whose password_file went bad keeps the running config and serving.
cp "$T/good.conf" "$T/psmd.conf"
if psmd_start; then
	chmod 644 "$PW"
	kill -HUP "$PSMD_PID"
	check "SIGHUP with a 0644 password_file: refused, the log names the file" \
		wait_for 10 has_line "$LOG" "reload failed.*redis.password_file \"$PW\": mode 0644"
	check "SIGHUP with a 0644 password_file: psmd still serves" bash -c "'$CTL' -s '$SOCK' stats >/dev/null"
else
	fail "psmd starts with a redis config" "$(tail -n 3 "$LOG")"
fi
tap_end
