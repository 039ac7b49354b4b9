#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tests/e2e/keygen.sh - psmctl keygen: a 0600 secret key file, never over an existing one, and a
# public line that loads as trusted_keys and verifies the key's signatures (build/tools/fleet_keys);
# as root and as an unprivileged user.  No daemon.  TAP lines.  Needs root and setpriv.
set -u
# shellcheck source=../lib/psmd.sh
. "$(dirname "$0")/../lib/psmd.sh"
psmd_env keygen
KEYS=$BUILD/tools/fleet_keys
psmd_need "$CTL" "$KEYS"
LINE_RE='^ed25519:[A-Za-z0-9+/]{43}= '

# one_line_error NAME RC REGEX: the last run exited RC with one stderr line matching REGEX.
one_line_error() {
	local name=$1 rc=$2 re=$3
	if [ "$LAST_RC" -eq "$rc" ] && [ "$(printf '%s\n' "$LAST_ERR" | grep -c '')" -eq 1 ] &&
		printf '%s' "$LAST_ERR" | grep -Eq -- "^psmctl: keygen: $re"; then
		pass "$name"
	else
		fail "$name" "exit $LAST_RC (want $rc)" "stderr: $LAST_ERR"
	fi
}

# ---- a key for h1, and its line as trusted_keys ---------------------------------------
run_capture "$CTL" -s "$T/no-daemon.sock" keygen "$T/h1.sk" --name h1
if [ "$LAST_RC" -eq 0 ] && [ "$(printf '%s\n' "$LAST_OUT" | grep -c '')" -eq 1 ] &&
	printf '%s' "$LAST_OUT" | grep -Eq "${LINE_RE}h1\$"; then
	pass "keygen prints one trusted_keys line named h1 (no daemon)"
else
	fail "keygen prints one trusted_keys line named h1 (no daemon)" "exit $LAST_RC" \
		"stdout: $LAST_OUT" "stderr: $LAST_ERR"
fi
H1_LINE=$LAST_OUT
check "the key file is 0600, owned by root" \
	test "$(stat -c '%a %u' "$T/h1.sk" 2>/dev/null)" = "600 0"
check "the key file is one ed25519-secret line named h1" \
	grep -Eqx 'ed25519-secret:[A-Za-z0-9+/]{86}== h1' "$T/h1.sk"
printf '# fleet keys\n%s hosts=web,db-01\n' "$H1_LINE" >"$T/trusted"
run_capture "$KEYS" "$T/trusted" "$T/h1.sk"
if [ "$LAST_RC" -eq 0 ] && printf '%s\n' "$LAST_OUT" | grep -qx 'h1 hosts=web,db-01' &&
	printf '%s\n' "$LAST_OUT" | grep -qx 'signed by h1: applied'; then
	pass "the line loads as trusted_keys and verifies what the secret key signs"
else
	fail "the line loads as trusted_keys and verifies what the secret key signs" \
		"exit $LAST_RC" "stdout: $LAST_OUT" "stderr: $LAST_ERR"
fi

# ---- never over an existing file --------------------------------------------------------
cp -p "$T/h1.sk" "$T/h1.copy"
expect_rc "a second keygen to the same file exits 2" 2 "$CTL" keygen "$T/h1.sk" --name h1
one_line_error "... with a one-line error" 2 ".*/h1\.sk: already exists"
check "... and leaves the file as it was" cmp -s "$T/h1.sk" "$T/h1.copy"
check "... and the trusted line still verifies it" \
	bash -c "'$KEYS' '$T/trusted' '$T/h1.sk' >/dev/null"
ln -s "$T/elsewhere.sk" "$T/link.sk"
expect_rc "keygen through a symlink exits 2" 2 "$CTL" keygen "$T/link.sk" --name h1
check "... and creates nothing at its target" test ! -e "$T/elsewhere.sk"

# ---- another key, names, usage ----------------------------------------------------------
run_capture bash -c "umask 000; exec '$CTL' keygen '$T/h2.sk' --name=h2"
check "keygen under umask 000 still makes a 0600 file" \
	test "$(stat -c '%a' "$T/h2.sk" 2>/dev/null)" = 600
run_capture "$KEYS" "$T/trusted" "$T/h2.sk"
check "a key not in trusted_keys is untrusted" \
	test "$LAST_RC" -eq 1 -a "$LAST_OUT" != "${LAST_OUT%signed by h2: untrusted}"
if grep -Eqx '[A-Za-z0-9._-]{1,63}' <<<"$(hostname)"; then
	run_capture "$CTL" keygen "$T/host.sk"
	check "without --name the line is named after this host" \
		grep -Eq "${LINE_RE}$(hostname)\$" "$T/out"
fi
expect_rc "a bad --name exits 2" 2 "$CTL" keygen "$T/bad.sk" --name 'web 1'
one_line_error "... naming the bad character" 2 "key name: bad character 0x20 at 4"
check "... and writes no file" test ! -e "$T/bad.sk"
expect_rc "keygen without FILE exits 2" 2 "$CTL" keygen --name h1
one_line_error "... with its usage" 2 "missing argument \(usage: psmctl keygen FILE"
expect_rc "keygen with an unknown option exits 2" 2 "$CTL" keygen "$T/x.sk" --force
check "psmctl --help lists keygen" bash -c "'$CTL' --help | grep -q '^  keygen FILE \[--name NAME\]'"
check "psmctl help keygen" bash -c "'$CTL' help keygen | grep -q 'usage: .* keygen FILE'"

# ---- an unprivileged user, in a directory of theirs -------------------------------------
chmod 711 "$T"
mkdir "$T/u" && chown nobody: "$T/u"
as_nobody() { setpriv --reuid nobody --regid nogroup --clear-groups "$@"; }
run_capture as_nobody "$CTL" keygen "$T/u/n.sk" --name n1
if [ "$LAST_RC" -eq 0 ] && [ "$(stat -c '%a %U' "$T/u/n.sk" 2>/dev/null)" = "600 nobody" ]; then
	pass "keygen as nobody writes a 0600 file of theirs"
else
	fail "keygen as nobody writes a 0600 file of theirs" "exit $LAST_RC" "stderr: $LAST_ERR"
fi
printf '%s\n' "$LAST_OUT" >"$T/u/trusted" && chown nobody: "$T/u/trusted"
run_capture as_nobody "$KEYS" "$T/u/trusted" "$T/u/n.sk"
check "... whose line verifies its signatures (loaded as that user)" \
	test "$LAST_RC" -eq 0 -a "$LAST_OUT" != "${LAST_OUT%signed by n1: applied}"
run_capture "$KEYS" "$T/u/trusted" "$T/u/n.sk"
check "root does not load a secret key owned by nobody" \
	test "$LAST_RC" -eq 2 -a "$LAST_ERR" != "${LAST_ERR%owned by uid 65534, not by root or uid 0}"
expect_rc "nobody cannot write a key where they may not" 4 as_nobody "$CTL" keygen "$T/n.sk"

tap_end
