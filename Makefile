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
            $(WARN) -Ishmcache -Ipolicy -Ipsmd -Ipsmd/fleet -Ipam_psm
ifeq ($(SAN),1)
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

# Debian packages: to build, and to run the tests (real libpam, sudo, sshd, Redis).
DEB_BUILD := gcc make libc6-dev pkg-config libpam0g-dev libsodium-dev libcjson-dev \
             libhiredis-dev libcmocka-dev
DEB_TEST  := libpam-wrapper libpamtest0-dev pamtester redis-server redis-sentinel redis-tools sudo \
             openssh-server openssh-client valgrind util-linux procps iproute2 python3

# Sources by part: one library per concern, thin programs on top.
SHM_SRC    := $(wildcard shmcache/*.c)
POLICY_SRC := $(wildcard policy/*.c)
PROTO_SRC  := $(wildcard psmd/proto*.c)
CTL_SRC    := $(wildcard psmd/psmctl*.c)
PSMD_SRC   := $(filter-out psmd/main.c $(PROTO_SRC) $(CTL_SRC),$(wildcard psmd/*.c)) $(wildcard psmd/fleet/*.c)
PAMMOD_SRC := $(filter-out pam_psm/pam_psm.c,$(wildcard pam_psm/pam_*.c))
QUERY_SRC  := $(wildcard pam_psm/psm_query*.c)
PAMCOM_SRC := $(filter-out $(PAMMOD_SRC) $(QUERY_SRC),$(wildcard pam_psm/*.c))
UNIT_SRC   := $(wildcard tests/unit/test_*.c)
TOOL_SRC   := $(wildcard tests/tools/*.c)
BENCH_SRC  := $(wildcard tests/bench/*.c)
PRELOAD_SRC := $(wildcard tests/preload/*.c)

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))

LIBSHM    := $(BUILD)/libshmcache.a
LIBPOLICY := $(BUILD)/libpolicy.a
LIBPROTO  := $(BUILD)/libproto.a
LIBPSMD   := $(BUILD)/libpsmd.a
LIBPAMCOM := $(BUILD)/libpamcommon.a
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
ALL_LIBS  := $(LIBPSMD) $(LIBPROTO) $(LIBPAMMOD) $(LIBPAMCOM) $(LIBPOLICY) $(LIBSHM)

.PHONY: all deps deps-test test unit asan e2e demo bench install clean help FORCE
.DELETE_ON_ERROR:

all: deps
	@$(MAKE) --no-print-directory $(JOBS) programs

programs: $(PAM_SO) $(PSMD) $(PSMCTL) $(QUERY) $(UNIT_BIN) $(TOOL_BIN) $(BENCH_BIN) $(PRELOAD_SO)

help:
	@echo "make            build everything (installs missing Debian build packages as root)"
	@echo "make test       unit tests, the same under ASan+UBSan, then real PAM/sudo/sshd tests"
	@echo "make demo       psmd + real sudo in a private namespace: allow, deny, reload"
	@echo "make bench      figures of SPEC section 12, side by side"
	@echo "make install    DESTDIR=... PREFIX=/usr"

# ---- Debian packages -------------------------------------------------------
define need_debs
	@missing=$$(for p in $(1); do \
	  dpkg-query -W -f='$${db:Status-Abbrev}' $$p 2>/dev/null | grep -q '^ii' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" != 0 ]; then echo "psm: missing Debian packages:" $$missing "(run make as root to install them)"; exit 1; fi; \
	  echo "psm: installing Debian packages:" $$missing; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get install -y -q $$missing >/dev/null 2>&1 || \
	  { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q $$missing >/dev/null; } || \
	  { echo "psm: apt-get install failed for:" $$missing; exit 1; }; \
	fi
endef

deps:
	$(call need_debs,$(DEB_BUILD))

deps-test: deps
	$(call need_debs,$(DEB_TEST))

# ---- objects and libraries ---------------------------------------------------
$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

# One archive per part.  Each also depends on a file naming its objects, rewritten only when
# that list changes, so a source added, moved or removed rebuilds the archive.
define archive
$(1): $(call obj,$(2)) $(1:.a=.objs)
$(1:.a=.objs): FORCE
	@mkdir -p $$(@D); echo '$(call obj,$(2))' | cmp -s - $$@ || echo '$(call obj,$(2))' >$$@
endef
$(eval $(call archive,$(LIBSHM),$(SHM_SRC)))
$(eval $(call archive,$(LIBPOLICY),$(POLICY_SRC)))
$(eval $(call archive,$(LIBPROTO),$(PROTO_SRC)))
$(eval $(call archive,$(LIBPSMD),$(PSMD_SRC)))
$(eval $(call archive,$(LIBPAMCOM),$(PAMCOM_SRC)))
$(eval $(call archive,$(LIBPAMMOD),$(PAMMOD_SRC)))
$(BUILD)/%.a:
	rm -f $@; gcc-ar rcs $@ $(filter %.o,$^) $(if $(filter %.o,$^),,--)
FORCE:

# pam_psm.so: pam_psm.o (the pam_sm_* entry points) and what it needs of the module's
# other objects (libpammod.a, which the unit tests link too) and of the libraries.
$(PAM_SO): $(PAM_OBJ) $(LIBPAMMOD) $(LIBPAMCOM) $(LIBPOLICY) $(LIBSHM) pam_psm/pam_psm.map
	$(CC) -shared $(LDFLAGS) $(LTO) -Wl,--version-script=pam_psm/pam_psm.map -Wl,--no-undefined \
	  -o $@ $(PAM_OBJ) $(LIBPAMMOD) $(LIBPAMCOM) $(LIBPOLICY) $(LIBSHM) $(LIBS) -lpam

$(QUERY): $(call obj,$(QUERY_SRC)) $(LIBPAMCOM) $(LIBPOLICY) $(LIBSHM)
	$(CC) $(LDFLAGS) $(LTO) -o $@ $(call obj,$(QUERY_SRC)) $(LIBPAMCOM) $(LIBPOLICY) $(LIBSHM) $(LIBS)

$(PSMD): $(BUILD)/obj/psmd/main.o $(LIBPSMD) $(LIBPROTO) $(LIBPOLICY) $(LIBSHM)
	$(CC) $(LDFLAGS) $(LTO) -o $@ $< $(LIBPSMD) $(LIBPROTO) $(LIBPOLICY) $(LIBSHM) $(LIBS)

$(BUILD)/psmctl: $(call obj,$(CTL_SRC)) $(LIBPROTO) $(LIBPOLICY) $(LIBSHM)
	$(CC) $(LDFLAGS) $(LTO) -o $@ $(call obj,$(CTL_SRC)) $(LIBPROTO) $(LIBPOLICY) $(LIBSHM) $(LIBS)

$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(ALL_LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $< $(ALL_LIBS) $(LIBS) -lcmocka -lpam

$(BUILD)/tools/%: $(BUILD)/obj/tests/tools/%.o $(ALL_LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $< $(ALL_LIBS) $(LIBS) -lpam -ldl

$(BUILD)/bench/%: $(BUILD)/obj/tests/bench/%.o $(ALL_LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $(LTO) -o $@ $< $(ALL_LIBS) $(LIBS) -lpam -ldl

# LD_PRELOAD shims for the end-to-end tests (fault injection): one .so per source.
$(BUILD)/tools/%.so: $(BUILD)/obj/tests/preload/%.o
	@mkdir -p $(dir $@)
	$(CC) -shared $(LDFLAGS) -o $@ $< -ldl

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

# ---- tests, demo, bench --------------------------------------------------------
test: deps-test
	@$(MAKE) --no-print-directory $(JOBS) programs
	@$(MAKE) --no-print-directory $(JOBS) BUILD=build-asan SAN=1 programs
	@tests/run.sh $(BUILD) build-asan

unit: all
	@tests/run.sh --unit-only $(BUILD)

asan: deps
	@$(MAKE) --no-print-directory $(JOBS) BUILD=build-asan SAN=1 programs
	@tests/run.sh --unit-only build-asan

e2e: deps-test
	@$(MAKE) --no-print-directory $(JOBS) programs
	@tests/run.sh --e2e-only $(BUILD)

demo: deps-test
	@echo "psm: building (make -s programs)"; $(MAKE) --no-print-directory $(JOBS) -s programs
	@tests/demo.sh $(BUILD)

bench: deps-test
	@echo "psm: building (make -s programs)"; $(MAKE) --no-print-directory $(JOBS) -s programs
	@tests/bench/run.sh $(BUILD)

# ---- install -------------------------------------------------------------------
install: all
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PAMDIR) \
	  $(DESTDIR)/etc/psm/policy.d $(DESTDIR)$(PREFIX)/share/pam-configs \
	  $(DESTDIR)/lib/systemd/system $(DESTDIR)$(PREFIX)/share/man/man1 \
	  $(DESTDIR)$(PREFIX)/share/man/man5 $(DESTDIR)$(PREFIX)/share/man/man8 \
	  $(DESTDIR)$(PREFIX)/share/doc/psm/examples
	install -m 0755 $(PSMD) $(PSMCTL) $(DESTDIR)$(PREFIX)/sbin/
	install -m 0755 $(QUERY) $(DESTDIR)$(PREFIX)/bin/
	install -m 0644 $(PAM_SO) $(DESTDIR)$(PAMDIR)/
	test -e $(DESTDIR)/etc/psm/psmd.conf || install -m 0644 etc/psmd.conf $(DESTDIR)/etc/psm/
	test -e $(DESTDIR)/etc/psm/policy.json || install -m 0644 etc/policy.json $(DESTDIR)/etc/psm/
	install -m 0644 etc/pam-configs/psm $(DESTDIR)$(PREFIX)/share/pam-configs/psm
	install -m 0644 etc/psmd.service $(DESTDIR)/lib/systemd/system/
	install -m 0644 etc/pam.d/* $(DESTDIR)$(PREFIX)/share/doc/psm/examples/
	for m in $$(find pam_psm psmd policy -name '*.[158]'); do \
	  s=$${m##*.}; install -m 0644 $$m $(DESTDIR)$(PREFIX)/share/man/man$$s/; done

clean:
	rm -rf build build-asan
