# SPDX-License-Identifier: MIT
# psm - build, test, demo, bench and install.  `make help` lists the targets.

CC       ?= gcc
BUILD    ?= build
SAN      ?=
PREFIX   ?= /usr
DESTDIR  ?=
NPROC    := $(shell nproc 2>/dev/null || echo 1)
# Sub-makes run in parallel unless the caller chose its own -j.
JOBS      = $(if $(filter -j%,$(MAKEFLAGS)),,-j$(NPROC))
MULTIARCH := $(shell $(CC) -print-multiarch 2>/dev/null)
PAMDIR   ?= $(PREFIX)/lib/$(MULTIARCH)/security

WARN     := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
            -Wformat=2 -Wconversion -Wno-sign-conversion -Werror
CFLAGS   ?= -O2 -g
CFLAGS   += -std=c11 -D_GNU_SOURCE -fPIC -fstack-protector-strong -ffunction-sections -fdata-sections \
            $(WARN)
ifeq ($(FUZZ),1)
# make fuzz: clang, libFuzzer's coverage hooks in every object, ASan+UBSan that abort.
CFLAGS   += -O1 -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address,undefined \
            -fno-sanitize-recover=all
LDFLAGS  += -fsanitize=fuzzer,address,undefined
LTO      :=
else ifeq ($(SAN),1)
CFLAGS   += -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
LDFLAGS  += -fsanitize=address,undefined
LTO      :=
else
# Link-time optimization for what is installed and what make bench measures (the
# decision path crosses shmcache/policy/pam_psm: -15% instructions per check); the
# objects are fat, so the test binaries link their plain code, quickly.
CFLAGS   += -D_FORTIFY_SOURCE=2 -flto=auto -ffat-lto-objects
LTO      := -flto=auto
endif
LDFLAGS  += -Wl,-z,relro,-z,now -Wl,--as-needed -Wl,--gc-sections
LIBS     := -lcjson -lsodium -lhiredis -lpthread

# Debian packages: to build, and to run the tests (real libpam, sudo, sshd, Redis) and
# make bench (valgrind: callgrind and its valgrind/callgrind.h; strace: system call counts;
# python3-jsonschema: tests/e2e/json_schema.sh checks every JSON output against
# etc/psm.schema.json).
# (valgrind in DEB_BUILD: its headers, valgrind.h and callgrind.h, build the tests and bench.)
DEB_BUILD := gcc make libc6-dev pkg-config libpam0g-dev libsodium-dev libcjson-dev \
             libhiredis-dev libcmocka-dev libjsmn-dev valgrind
DEB_TEST  := libpam-wrapper libpamtest0-dev pamtester redis-server redis-sentinel redis-tools sudo strace \
             openssh-server openssh-client valgrind util-linux procps iproute2 python3 \
             clang-format man-db groff-base prometheus python3-jsonschema
# (man-db, groff-base: tests/e2e/manpages.sh renders every man page as lintian does;
#  prometheus: its promtool checks and unit-tests etc/prometheus/psm.rules.yml.)
# make fuzz: clang and its libFuzzer runtime (libclang_rt.fuzzer, a package of its own).
DEB_FUZZ  := clang libclang-rt-14-dev
# make deb and its test (tests/e2e/deb.sh): dpkg-buildpackage and dpkg-shlibdeps (dpkg-dev),
# dh and its helpers (debhelper), the package's checks (lintian), building as a user
# (fakeroot), the maintainer scripts' tools in the test's chroot (libpam-runtime:
# pam-auth-update; systemd: systemd-sysusers and deb-systemd-helper's systemctl).
DEB_PKG   := dpkg-dev debhelper lintian fakeroot libpam-runtime systemd

# make deb: the version psmctl --version reports, plus the commit (count and hash), so
# each commit's package upgrades the one before.  DEB_VERSION=... to choose another.
PSM_VERSION = $(shell sed -n 's/^\#define PSMCTL_VERSION "\(.*\)"/\1/p' psmd/psmctl/psmctl.h)
GIT_COUNT   = $(shell git rev-list --count HEAD 2>/dev/null)
GIT_HASH    = $(shell git rev-parse --short=10 HEAD 2>/dev/null)
DEB_VERSION ?= $(PSM_VERSION)$(if $(GIT_COUNT),+git$(GIT_COUNT).$(GIT_HASH))

# Sources by folder: each folder builds one thing, and sees the headers of the parts
# below it only (INC_*: a file that includes a header of a part above it does not build).
#   shmcache/        libshmcache.a  the table: writer, lock-free readers, the error type
#   policy/          libpolicy.a    policy, permissions, the decision, NSS, JSON helpers
#   psmd/persist/    libpersist.a   records, state, on-disk framing, journal, snapshots, HLC, ids
#   psmd/proto/      libproto.a     the admin protocol: requests, replies, the line format,
#                                   the socket client (psmctl and pam_psm)
#   psmd/fleet/      libfleet.a     fleet sync: keys, the signed feed envelope, Redis (hiredis)
#   psmd/            libpsmd.a      the daemon (main.c: the psmd program)
#   psmd/psmctl/     psmctl         the admin client
#   pam_psm/         pam_psm.so     the PAM module (pam_psm.c: its entry points)
#   psm-query/       psm-query      the read-only query tool
#   tests/unit|tools|bench|preload  one program (or .so) per file
SHM_SRC     := $(wildcard shmcache/*.c)
POLICY_SRC  := $(wildcard policy/*.c)
PERSIST_SRC := $(wildcard psmd/persist/*.c)
PROTO_SRC   := $(wildcard psmd/proto/*.c)
FLEET_SRC   := $(wildcard psmd/fleet/*.c)
PSMD_SRC    := $(filter-out psmd/main.c,$(wildcard psmd/*.c))
CTL_SRC     := $(wildcard psmd/psmctl/*.c)
PAMMOD_SRC  := $(filter-out pam_psm/pam_psm.c,$(wildcard pam_psm/*.c))
QUERY_SRC   := $(wildcard psm-query/*.c)
UNIT_SRC    := $(wildcard tests/unit/test_*.c)
TOOL_SRC    := $(wildcard tests/tools/*.c)
BENCH_SRC   := $(wildcard tests/bench/*.c)
PRELOAD_SRC := $(wildcard tests/preload/*.c)
FUZZ_SRC    := $(wildcard tests/fuzz/fuzz_*.c)
# The clients' objects but their main files: the argument parsers the fuzz harnesses call.
CLIENT_SRC  := $(filter-out psmd/psmctl/psmctl.c psm-query/psm_query.c,$(CTL_SRC) $(QUERY_SRC))

INC_SHM     := -Ishmcache
INC_POLICY  := $(INC_SHM) -Ipolicy
INC_PERSIST := $(INC_POLICY) -Ipsmd/persist
INC_PROTO   := $(INC_POLICY) -Ipsmd/proto
INC_FLEET   := $(INC_PERSIST) -Ipsmd/fleet
INC_PSMD    := $(INC_POLICY) -Ipsmd/persist -Ipsmd/proto -Ipsmd/fleet -Ipsmd
INC_CTL     := $(INC_POLICY) -Ipsmd/persist -Ipsmd/proto -Ipsmd/fleet -Ipsmd/psmctl
INC_PAM     := $(INC_POLICY) -Ipsmd/proto -Ipam_psm
INC_QUERY   := $(INC_POLICY) -Ipsmd/proto -Ipsm-query
INC_TESTS   := $(INC_PSMD) -Ipsmd/psmctl -Ipam_psm -Ipsm-query

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))

LIBSHM    := $(BUILD)/libshmcache.a
LIBPOLICY := $(BUILD)/libpolicy.a
LIBPERSIST := $(BUILD)/libpersist.a
LIBPROTO  := $(BUILD)/libproto.a
LIBFLEET  := $(BUILD)/libfleet.a
LIBPSMD   := $(BUILD)/libpsmd.a
LIBPAMMOD := $(BUILD)/libpammod.a
PAM_OBJ   := $(BUILD)/obj/pam_psm/pam_psm.o
PAM_SO    := $(BUILD)/pam_psm.so
PSMD      := $(BUILD)/psmd
PSMCTL    := $(if $(CTL_SRC),$(BUILD)/psmctl)
QUERY     := $(BUILD)/psm-query
UNIT_BIN  := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))
TOOL_BIN  := $(patsubst tests/tools/%.c,$(BUILD)/tools/%,$(TOOL_SRC))
BENCH_BIN := $(patsubst tests/bench/%.c,$(BUILD)/bench/%,$(BENCH_SRC))
PRELOAD_SO := $(patsubst tests/preload/%.c,$(BUILD)/tools/%.so,$(PRELOAD_SRC))
LIBCLIENT := $(BUILD)/libclient.a
# Each harness twice: with libFuzzer (make fuzz, FUZZ=1) and with tests/fuzz/replay.c (make test).
FUZZ_BIN  := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRC))
REPLAY_BIN := $(patsubst tests/fuzz/fuzz_%.c,$(BUILD)/fuzz/replay_%,$(FUZZ_SRC))
ALL_LIBS  := $(LIBPSMD) $(LIBFLEET) $(LIBPERSIST) $(LIBPROTO) $(LIBPAMMOD) $(LIBPOLICY) $(LIBSHM)

.PHONY: all check-deps deps deps-build deps-test deps-fuzz deps-deb deb bins uninstall fuzz fuzz-programs test unit asan e2e demo bench install clean help format FORCE
.DELETE_ON_ERROR:
# Objects are kept once built (a test object is not deleted and rebuilt on the next run).
.SECONDARY:

# Plain make builds only: it never runs apt, it names the missing packages (make deps).
all: check-deps
	@$(MAKE) --no-print-directory $(JOBS) programs

programs: $(PAM_SO) $(PSMD) $(PSMCTL) $(QUERY) $(UNIT_BIN) $(TOOL_BIN) $(BENCH_BIN) $(PRELOAD_SO) \
          $(REPLAY_BIN)

fuzz-programs: $(FUZZ_BIN)

help:
	@echo "make            build everything (names missing Debian packages: see make deps)"
	@echo "make deps       as root: install the Debian packages make, make test and make deb need"
	@echo "make test       unit tests, the same under ASan+UBSan, then real PAM/sudo/sshd tests"
	@echo "                and the package's install, upgrade and removal (tests/e2e/deb.sh)"
	@echo "make demo       psmd + real sudo in a private namespace: allow, deny, reload"
	@echo "make bench      the figures of README's Figures section, side by side"
	@echo "make deb        build-deb/psm_VERSION_ARCH.deb with dpkg-buildpackage, then lintian"
	@echo "make install    DESTDIR=... PREFIX=/usr (make uninstall, same variables, removes it)"
	@echo "make fuzz       SECONDS=N (60): each libFuzzer harness of tests/fuzz N seconds (clang)"
	@echo "make format     clang-format the C sources in place (make test checks it)"

# ---- Debian packages -------------------------------------------------------
# missing_debs PKGS: the shell command listing those of PKGS not installed.
missing_debs = for p in $(1); do \
	  dpkg-query -W -f='$${db:Status-Abbrev}' $$p 2>/dev/null | grep -q '^ii' || echo $$p; done

# need_debs PKGS: installs those of PKGS that are missing (as root), or says which and fails.
define need_debs
	@missing=$$($(call missing_debs,$(1))); \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" != 0 ]; then echo "psm: missing Debian packages:" $$missing "(run make deps as root to install them)"; exit 1; fi; \
	  echo "psm: installing Debian packages:" $$missing; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get install -y -q $$missing >/dev/null 2>&1 || \
	  { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q $$missing >/dev/null; } || \
	  { echo "psm: apt-get install failed for:" $$missing; exit 1; }; \
	fi
endef

check-deps:
	@missing=$$($(call missing_debs,$(DEB_BUILD))); \
	[ -z "$$missing" ] || { echo "psm: missing Debian packages:" $$missing \
	  "(make deps installs them, as root)"; exit 1; }

# make deps: every package make, make test and make deb need (make fuzz: deps-fuzz).
deps: deps-test

deps-build:
	$(call need_debs,$(DEB_BUILD))

deps-test: deps-build
	$(call need_debs,$(DEB_TEST) $(DEB_PKG))

deps-fuzz: deps-build
	$(call need_debs,$(DEB_FUZZ))

deps-deb: deps-build
	$(call need_debs,$(DEB_PKG))

# ---- objects and libraries ---------------------------------------------------
$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(INC) -MMD -MP -c $< -o $@

# Which headers each folder sees (the most specific pattern wins).
$(BUILD)/obj/shmcache/%.o:      INC := $(INC_SHM)
$(BUILD)/obj/policy/%.o:        INC := $(INC_POLICY)
$(BUILD)/obj/psmd/persist/%.o:  INC := $(INC_PERSIST)
$(BUILD)/obj/psmd/proto/%.o:    INC := $(INC_PROTO)
$(BUILD)/obj/psmd/fleet/%.o:    INC := $(INC_FLEET)
$(BUILD)/obj/psmd/%.o:          INC := $(INC_PSMD)
$(BUILD)/obj/psmd/psmctl/%.o:   INC := $(INC_CTL)
$(BUILD)/obj/pam_psm/%.o:       INC := $(INC_PAM)
$(BUILD)/obj/psm-query/%.o:     INC := $(INC_QUERY)
$(BUILD)/obj/tests/%.o:         INC := $(INC_TESTS)

# One archive per part.  Each also depends on a file naming its objects, rewritten only when
# that list changes, so a source added, moved or removed rebuilds the archive.
define archive
$(1): $(call obj,$(2)) $(1:.a=.objs)
$(1:.a=.objs): FORCE
	@mkdir -p $$(@D); echo '$(call obj,$(2))' | cmp -s - $$@ || echo '$(call obj,$(2))' >$$@
endef
$(eval $(call archive,$(LIBSHM),$(SHM_SRC)))
$(eval $(call archive,$(LIBPOLICY),$(POLICY_SRC)))
$(eval $(call archive,$(LIBPERSIST),$(PERSIST_SRC)))
$(eval $(call archive,$(LIBPROTO),$(PROTO_SRC)))
$(eval $(call archive,$(LIBFLEET),$(FLEET_SRC)))
$(eval $(call archive,$(LIBPSMD),$(PSMD_SRC)))
$(eval $(call archive,$(LIBPAMMOD),$(PAMMOD_SRC)))
$(eval $(call archive,$(LIBCLIENT),$(CLIENT_SRC)))
# $(AR) (make's default: ar) indexes the fat LTO objects through binutils' plugin
# directory; set AR=gcc-ar (or llvm-ar) where that is not so.
$(BUILD)/%.a:
	rm -f $@; $(AR) rcs $@ $(filter %.o,$^) $(if $(filter %.o,$^),,--)
FORCE:

# pam_psm.so: pam_psm.o (the pam_sm_* entry points) and what it needs of the module's
# other objects (libpammod.a, which the unit tests link too) and of the libraries: from
# libproto.a only the socket client (proto_client.o, libc only: no cJSON), so that the
# module's DT_NEEDED stays libpam + libc (--as-needed drops the $(LIBS) it does not use).
$(PAM_SO): $(PAM_OBJ) $(LIBPAMMOD) $(LIBPROTO) $(LIBPOLICY) $(LIBSHM) pam_psm/pam_psm.map
	$(CC) -shared $(LDFLAGS) $(LTO) -Wl,--version-script=pam_psm/pam_psm.map -Wl,--no-undefined \
	  -o $@ $(PAM_OBJ) $(LIBPAMMOD) $(LIBPROTO) $(LIBPOLICY) $(LIBSHM) $(LIBS) -lpam

# psm-query asks psmd's socket (libproto: the client and the reply parser) when the table is
# not readable by the caller; cJSON it links already through libpolicy.
$(QUERY): $(call obj,$(QUERY_SRC)) $(LIBPROTO) $(LIBPOLICY) $(LIBSHM)
	$(CC) $(LDFLAGS) $(LTO) -o $@ $(call obj,$(QUERY_SRC)) $(LIBPROTO) $(LIBPOLICY) $(LIBSHM) $(LIBS)

$(PSMD): $(BUILD)/obj/psmd/main.o $(LIBPSMD) $(LIBFLEET) $(LIBPERSIST) $(LIBPROTO) $(LIBPOLICY) $(LIBSHM)
	$(CC) $(LDFLAGS) $(LTO) -o $@ $< $(LIBPSMD) $(LIBFLEET) $(LIBPERSIST) $(LIBPROTO) $(LIBPOLICY) $(LIBSHM) $(LIBS)

# psmctl keygen writes fleet keys (libfleet's keys_secret.c, which writes through persist).
$(BUILD)/psmctl: $(call obj,$(CTL_SRC)) $(LIBFLEET) $(LIBPERSIST) $(LIBPROTO) $(LIBPOLICY) $(LIBSHM)
	$(CC) $(LDFLAGS) $(LTO) -o $@ $(call obj,$(CTL_SRC)) $(LIBFLEET) $(LIBPERSIST) $(LIBPROTO) $(LIBPOLICY) $(LIBSHM) $(LIBS)

$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(ALL_LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $< $(ALL_LIBS) $(LIBS) -lcmocka -lpam

$(BUILD)/tools/%: $(BUILD)/obj/tests/tools/%.o $(ALL_LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $< $(ALL_LIBS) $(LIBS) -lpam -ldl

$(BUILD)/bench/%: $(BUILD)/obj/tests/bench/%.o $(ALL_LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $(LTO) -o $@ $< $(ALL_LIBS) $(LIBS) -lpam -ldl

# Fuzz harnesses: with libFuzzer's main (FUZZ=1), or with the replay driver (make test).
FUZZ_LINK := $(LIBCLIENT) $(ALL_LIBS) $(LIBS) -lpam
$(BUILD)/fuzz/fuzz_%: $(BUILD)/obj/tests/fuzz/fuzz_%.o $(LIBCLIENT) $(ALL_LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $< $(FUZZ_LINK)

$(BUILD)/fuzz/replay_%: $(BUILD)/obj/tests/fuzz/fuzz_%.o $(BUILD)/obj/tests/fuzz/replay.o \
                        $(LIBCLIENT) $(ALL_LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $< $(BUILD)/obj/tests/fuzz/replay.o $(FUZZ_LINK)

# LD_PRELOAD shims for the end-to-end tests (fault injection): one .so per source.
$(BUILD)/tools/%.so: $(BUILD)/obj/tests/preload/%.o
	@mkdir -p $(dir $@)
	$(CC) -shared $(LDFLAGS) -o $@ $< -ldl

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

# ---- tests, demo, bench --------------------------------------------------------
# Quiet builds for the commands a user runs: the compiler lines go to BUILD/make.log,
# and its tail is shown when the build fails.
define quiet_build
	@mkdir -p $(1); echo "psm: building $(1) (log: $(1)/make.log)"; \
	$(MAKE) --no-print-directory $(JOBS) BUILD=$(1) $(2) programs >$(1)/make.log 2>&1 || \
	  { tail -n 40 $(1)/make.log; echo "psm: build failed, see $(1)/make.log"; exit 1; }
endef

test: deps-test
	$(call quiet_build,$(BUILD))
	$(call quiet_build,build-asan,SAN=1)
	@tests/run.sh $(BUILD) build-asan

unit: all
	@tests/run.sh --unit-only $(BUILD)

asan: deps-build
	@$(MAKE) --no-print-directory $(JOBS) BUILD=build-asan SAN=1 programs
	@tests/run.sh --unit-only build-asan

e2e: deps-test
	@$(MAKE) --no-print-directory $(JOBS) programs
	@tests/run.sh --e2e-only $(BUILD)

demo: deps-test
	$(call quiet_build,$(BUILD))
	@tests/demo.sh $(BUILD)

bench: deps-test
	$(call quiet_build,$(BUILD))
	@tests/bench/run.sh $(BUILD)

# Each harness SECONDS seconds on a copy of its corpus (new inputs: build-fuzz/corpus/NAME,
# crashes: build-fuzz/crash/NAME), one summary line each (crashes: those of this run).
SECONDS ?= 60
fuzz: deps-fuzz
	@mkdir -p build-fuzz; echo "psm: building build-fuzz (log: build-fuzz/make.log)"
	@$(MAKE) --no-print-directory $(JOBS) BUILD=build-fuzz CC=clang FUZZ=1 fuzz-programs \
	  >build-fuzz/make.log 2>&1 || { tail -n 40 build-fuzz/make.log; exit 1; }
	@tests/fuzz/run.sh build-fuzz $(SECONDS)

format: deps-test
	@git ls-files '*.c' '*.h' | xargs clang-format -i

# ---- install -------------------------------------------------------------------
# What make install puts where, as SOURCE:PATH pairs (PATH under DESTDIR); make uninstall
# removes exactly these.  Completion, alert rules and the JSON schema only when the tree
# has them.  PSMCTL in /usr/bin: it authorizes each request itself (psmctl(8)).
UNITDIR   ?= /lib/systemd/system
SHAREDIR   = $(PREFIX)/share
MAN_PAGES := $(shell find pam_psm psm-query psmd policy -name '*.[158]' 2>/dev/null)
INSTALL_MAP = $(PSMD):$(PREFIX)/sbin/psmd $(PSMCTL):$(PREFIX)/bin/psmctl \
  $(QUERY):$(PREFIX)/bin/psm-query $(PAM_SO):$(PAMDIR)/pam_psm.so \
  etc/pam-configs/psm:$(SHAREDIR)/pam-configs/psm etc/psmd.service:$(UNITDIR)/psmd.service \
  $(foreach m,$(MAN_PAGES),$(m):$(SHAREDIR)/man/man$(subst .,,$(suffix $(m)))/$(notdir $(m))) \
  $(foreach f,$(wildcard etc/pam.d/*),$(f):$(SHAREDIR)/doc/psm/examples/$(notdir $(f))) \
  $(foreach f,$(wildcard etc/completion/psmctl etc/completion/psm-query), \
    $(f):$(SHAREDIR)/bash-completion/completions/$(notdir $(f))) \
  $(foreach f,$(wildcard etc/prometheus/psm.rules.yml etc/psm.schema.json), \
    $(f):$(SHAREDIR)/psm/$(notdir $(f)))
# The configuration: installed when absent, removed by make uninstall when unchanged.
CONF_MAP  := etc/psmd.conf:/etc/psm/psmd.conf etc/policy.json:/etc/psm/policy.json
# Folders of psm's own that make uninstall removes when empty (deepest first).
OWN_DIRS   = /etc/psm/policy.d /etc/psm $(SHAREDIR)/doc/psm/examples $(SHAREDIR)/doc/psm \
  $(SHAREDIR)/psm

# What make install installs: the programs, not the tests.
bins: check-deps
	@$(MAKE) --no-print-directory $(JOBS) $(PAM_SO) $(PSMD) $(PSMCTL) $(QUERY)

install: bins
	@set -e; for m in $(INSTALL_MAP); do src=$${m%%:*}; dst=$(DESTDIR)$${m#*:}; \
	  case $$dst in */bin/*|*/sbin/*) mode=0755 ;; *) mode=0644 ;; esac; \
	  echo "install $$src $$dst"; install -D -m $$mode $$src $$dst; done
	install -d $(DESTDIR)/etc/psm/policy.d
	@set -e; for m in $(CONF_MAP); do dst=$(DESTDIR)$${m#*:}; \
	  if [ -e $$dst ]; then echo "keep $$dst"; else install -m 0644 $${m%%:*} $$dst; fi; done

uninstall:
	@for m in $(INSTALL_MAP); do dst=$(DESTDIR)$${m#*:}; \
	  [ ! -e $$dst ] || { echo "rm $$dst"; rm -f $$dst; }; done
	@for m in $(CONF_MAP); do dst=$(DESTDIR)$${m#*:}; [ -e $$dst ] || continue; \
	  if cmp -s $${m%%:*} $$dst; then echo "rm $$dst"; rm -f $$dst; \
	  else echo "keep $$dst (changed since make install)"; fi; done
	@for d in $(OWN_DIRS); do [ ! -d $(DESTDIR)$$d ] || rmdir --ignore-fail-on-non-empty $(DESTDIR)$$d; done

# ---- the Debian package ----------------------------------------------------------
# build-deb/src: the tree's files (git's tracked and untracked-but-not-ignored ones),
# etc/debian as debian/ and a changelog for DEB_VERSION; dpkg-buildpackage -b builds
# build-deb/psm_VERSION_ARCH.deb from it (debian/rules: make bins, make install).
DEB_DIR  ?= build-deb
DEB_DATE ?= $(shell git log -1 --format=%aD 2>/dev/null || date -R)
DEB_ARCH  = $(shell dpkg --print-architecture)
DEB_FILE  = $(DEB_DIR)/psm_$(DEB_VERSION)_$(DEB_ARCH).deb
# The files to stage: git's list in a checkout, every file elsewhere (an exported tree).
STAGE_LIST = if [ "$$(git rev-parse --show-toplevel 2>/dev/null)" = "$(CURDIR)" ]; then \
  git ls-files -z --cached --others --exclude-standard; \
  else find . -path './build*' -prune -o -type f -print0; fi

deb: deps-deb
	@rm -rf $(DEB_DIR)/src $(DEB_DIR)/psm_* $(DEB_DIR)/psm-dbgsym_*; mkdir -p $(DEB_DIR)/src
	@$(STAGE_LIST) | tar --null -T - --ignore-failed-read -cf - 2>/dev/null | tar -xf - -C $(DEB_DIR)/src
	@mv $(DEB_DIR)/src/etc/debian $(DEB_DIR)/src/debian
	@printf 'psm (%s) unstable; urgency=medium\n\n  * Built from the tree at %s.\n\n -- %s  %s\n' \
	  '$(DEB_VERSION)' '$(or $(GIT_HASH),an exported tree)' \
	  "$$(sed -n 's/^Maintainer: //p' $(DEB_DIR)/src/debian/control)" '$(DEB_DATE)' \
	  >$(DEB_DIR)/src/debian/changelog
	@echo "psm: building $(DEB_FILE) (log: $(DEB_DIR)/build.log)"
	@cd $(DEB_DIR)/src && DEB_BUILD_OPTIONS="parallel=$(NPROC) $(DEB_BUILD_OPTIONS)" \
	  dpkg-buildpackage -b -us -uc >../build.log 2>&1 || \
	  { tail -n 40 ../build.log; echo "psm: package build failed, see $(DEB_DIR)/build.log"; exit 1; }
	@ls -l $(DEB_FILE)
	@lintian --fail-on error,warning $(DEB_FILE) 2>/dev/null && echo "psm: lintian: no errors, no warnings"

clean:
	rm -rf build build-asan build-fuzz build-deb
