# SPDX-License-Identifier: MIT
# fleet-c: plain Makefile. Sources are found by wildcard, so adding a file needs no edit here.
#   make                 build everything under build/
#   make check           install missing Debian packages (make deps), build, run all test tiers
#   make unit|integration|e2e   one tier
#   make SANITIZE=address,undefined check-unit check-integration   sanitized build in build/san
#   make e2e-faults-san  the fault-injection e2e tests (07NN, 0504) against an ASan+UBSan build
#   make valgrind        unit tier under valgrind
#   make install PREFIX=/usr/local DESTDIR=
#   make demo | bench | clean | format | format-check | analyze | check-headers | check-deps

CC ?= gcc
PREFIX ?= /usr/local
DESTDIR ?=
VERSION := $(shell cat VERSION 2>/dev/null || echo 0.0.0)

ifneq ($(SANITIZE),)
BUILD ?= build/san
SANFLAGS := -fsanitize=$(SANITIZE) -fno-sanitize-recover=all -fno-omit-frame-pointer
OPT ?= -O1
else
BUILD ?= build
SANFLAGS :=
OPT ?= -O2
endif

PKGS_IO := libsystemd libcurl libmicrohttpd gnutls
PKGS_PURE := jansson nettle
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS_IO) $(PKGS_PURE) check 2>/dev/null)
# One TLS stack, GnuTLS (libmicrohttpd's): libcurl's GnuTLS flavour and nettle's SHA-1, no
# OpenSSL (docs/performance.md). With libcurl4-gnutls-dev, -lcurl is that flavour. With
# libcurl4-openssl-dev installed instead (the two conflict), the GnuTLS runtime
# (libcurl3-gnutls) is linked by name: one API, the same headers. tools/deps.sh accepts both.
CURL_BACKENDS := $(shell curl-config --ssl-backends 2>/dev/null)
CURL_GNUTLS_RUNTIME := $(wildcard /usr/lib/*/libcurl-gnutls.so.4)
LIBS_CURL = $(if $(and $(findstring OpenSSL,$(CURL_BACKENDS)),$(CURL_GNUTLS_RUNTIME)),\
	-l:libcurl-gnutls.so.4,$(shell pkg-config --libs libcurl))
LIBS_PURE = $(shell pkg-config --libs $(PKGS_PURE))
LIBS_ALL = $(shell pkg-config --libs $(filter-out libcurl,$(PKGS_IO)) $(PKGS_PURE)) $(LIBS_CURL)
# fleetctl: no libmicrohttpd. libsystemd for sd-event, which runs common/'s etcd client for the
# etcd driver.
LIBS_FLEETCTL = $(LIBS_CURL) $(shell pkg-config --libs libsystemd) $(LIBS_PURE)
LIBS_CHECK = $(shell pkg-config --libs check)

WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	-Wold-style-definition -Wpointer-arith -Wwrite-strings -Wformat=2 -Wundef -Wvla \
	-Wdate-time -Wimplicit-fallthrough -Wno-unused-parameter -Wno-missing-field-initializers
ifeq ($(findstring clang,$(shell $(CC) --version 2>/dev/null | head -1)),)
WARN += -Wjump-misses-init
endif
FORTIFY := $(if $(filter -O2 -O3,$(OPT)),-D_FORTIFY_SOURCE=2,)

CFLAGS ?= -g $(OPT)
BASE_CFLAGS = -std=gnu11 -D_GNU_SOURCE $(WARN) $(FORTIFY) -fno-common -fstack-protector-strong \
	$(SANFLAGS) -DFLEET_VERSION='"$(VERSION)"' $(PKG_CFLAGS) $(CFLAGS) -MMD -MP
ALL_LDFLAGS = $(SANFLAGS) $(LDFLAGS)

# Each component is compiled with only the include paths it may use (mk/deps.table says why):
# a forbidden #include "agent.h" in the engine does not compile. `make check-deps` catches the
# includes that spell a path ("../agent/agent.h").
INC_common := -Icommon
INC_engine := -Iengine -Iengine/scheduler -Icommon
INC_agent := -Iagent -Icommon
INC_api := -Iapi -Icommon
INC_fleetctl := -Ifleetctl -Icommon
INC_fleetd := -Ifleetd -Iengine -Iengine/scheduler -Iagent -Iapi -Icommon
INC_test := $(INC_fleetd) -Ifleetctl -Itest/lib
INC_bench := $(INC_test)
component = $(firstword $(subst /, ,$(1)))
ALL_CFLAGS = $(BASE_CFLAGS) $(INC_$(call component,$<))

src = $(sort $(wildcard $(1)/*.c $(1)/*/*.c))
obj = $(patsubst %.c,$(BUILD)/%.o,$(1))

COMMON_OBJ := $(call obj,$(call src,common))
ENGINE_OBJ := $(call obj,$(call src,engine))
AGENT_OBJ := $(call obj,$(call src,agent))
API_OBJ := $(call obj,$(call src,api))
FLEETD_OBJ := $(call obj,$(call src,fleetd))
FLEETCTL_MAIN_OBJ := $(call obj,fleetctl/main.c)
FLEETCTL_OBJ := $(filter-out $(FLEETCTL_MAIN_OBJ),$(call obj,$(call src,fleetctl)))
TESTLIB_OBJ := $(call obj,$(call src,test/lib))

LIBCOMMON := $(BUILD)/libcommon.a
LIBENGINE := $(BUILD)/libengine.a
LIBAGENT := $(BUILD)/libagent.a
LIBAPI := $(BUILD)/libapi.a
LIBFLEETCTL := $(BUILD)/libfleetctl.a
LIBTEST := $(BUILD)/libtest.a
# What each binary links: fleetd the daemon's components, fleetctl only its own code and common.
FLEETD_ARCHIVES := $(LIBAPI) $(LIBENGINE) $(LIBAGENT) $(LIBCOMMON)
FLEETCTL_ARCHIVES := $(LIBFLEETCTL) $(LIBCOMMON)
ARCHIVES := $(LIBFLEETCTL) $(FLEETD_ARCHIVES)

PROGRAMS := $(BUILD)/bin/fleetd $(BUILD)/bin/fleetctl
UNIT_TESTS := $(patsubst test/unit/%.c,$(BUILD)/test/unit/%,$(wildcard test/unit/test-*.c))
INTEG_TESTS := $(patsubst test/integration/%.c,$(BUILD)/test/integration/%,\
	$(wildcard test/integration/test-*.c))
SYSTEMD_TESTS := $(patsubst test/systemd/%.c,$(BUILD)/test/systemd/%,\
	$(wildcard test/systemd/test-*.c))
BENCHES := $(patsubst bench/%.c,$(BUILD)/bench/%,$(wildcard bench/bench-*.c))

.PRECIOUS: $(BUILD)/%.o $(BUILD)/test/unit/%.o $(BUILD)/test/integration/%.o $(BUILD)/test/systemd/%.o $(BUILD)/bench/%.o
.PHONY: all deps check check-run unit integration e2e check-unit check-integration check-e2e e2e-faults-san \
	valgrind install clean demo bench format format-check analyze check-headers check-deps tests

all: $(PROGRAMS) tests $(BENCHES)
tests: $(UNIT_TESTS) $(INTEG_TESTS) $(SYSTEMD_TESTS)

deps:
	@tools/deps.sh

ifeq ($(V),1)
Q :=
else
Q := @
endif

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(LIBCOMMON): $(COMMON_OBJ)
$(LIBENGINE): $(ENGINE_OBJ)
$(LIBAGENT): $(AGENT_OBJ)
$(LIBAPI): $(API_OBJ)
$(LIBFLEETCTL): $(FLEETCTL_OBJ)
$(LIBTEST): $(TESTLIB_OBJ)
$(BUILD)/lib%.a:
	@mkdir -p $(dir $@)
	@rm -f $@
	$(Q)$(AR) rcs $@ $^ $(if $^,,$(BUILD)/.empty.o)

$(BUILD)/.empty.o:
	@mkdir -p $(dir $@)
	echo 'extern int fleet_empty_archive_member; int fleet_empty_archive_member;' | \
		$(CC) -x c -c -o $@ -

$(LIBCOMMON) $(LIBENGINE) $(LIBAGENT) $(LIBAPI) $(LIBFLEETCTL) $(LIBTEST): | $(BUILD)/.empty.o

$(BUILD)/bin/fleetd: $(FLEETD_OBJ) $(FLEETD_ARCHIVES)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $(FLEETD_OBJ) $(FLEETD_ARCHIVES) $(LIBS_ALL)

$(BUILD)/bin/fleetctl: $(FLEETCTL_MAIN_OBJ) $(FLEETCTL_ARCHIVES)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $(FLEETCTL_MAIN_OBJ) $(FLEETCTL_ARCHIVES) $(LIBS_FLEETCTL)

# Unit tests link without libsystemd, libcurl and libmicrohttpd: a pure module that calls
# into them fails to link, which is the point.
$(BUILD)/test/unit/%: $(BUILD)/test/unit/%.o $(ARCHIVES)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $< $(ARCHIVES) $(LIBS_PURE) $(LIBS_CHECK)

$(BUILD)/test/integration/%: $(BUILD)/test/integration/%.o $(LIBTEST) $(ARCHIVES)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $< $(LIBTEST) $(ARCHIVES) $(LIBS_ALL) $(LIBS_CHECK)

# Run inside simulated machines by the e2e tier (they need a real systemd).
$(BUILD)/test/systemd/%: $(BUILD)/test/systemd/%.o $(LIBTEST) $(ARCHIVES)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $< $(LIBTEST) $(ARCHIVES) $(LIBS_ALL) $(LIBS_CHECK)

$(BUILD)/bench/%: $(BUILD)/bench/%.o $(LIBTEST) $(ARCHIVES)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $< $(LIBTEST) $(ARCHIVES) $(LIBS_ALL)

# --- tests -------------------------------------------------------------------------------
# make check: deps first (a fresh machine has none), then a fresh make that can see them.
check: deps
	@$(MAKE) --no-print-directory check-run

check-run: all
	@BUILD=$(BUILD) test/run-tests.sh unit integration e2e

unit check-unit: $(UNIT_TESTS)
	@BUILD=$(BUILD) test/run-tests.sh unit

integration check-integration: $(INTEG_TESTS) $(PROGRAMS)
	@BUILD=$(BUILD) test/run-tests.sh integration

e2e check-e2e: all
	@BUILD=$(BUILD) test/run-tests.sh e2e

# The fault-injection e2e tests (test/e2e/07NN, and 0504) against fleetd and fleetctl built with
# ASan and UBSan in build/san; every machine's journal is searched for sanitizer reports
# (tools/e2e-sanitize.sh). Takes as long as those tests: about 10 minutes.
e2e-faults-san:
	@$(MAKE) --no-print-directory SANITIZE=address,undefined BUILD=build/san \
		build/san/bin/fleetd build/san/bin/fleetctl
	@BUILD=build/san tools/e2e-sanitize.sh

valgrind: $(UNIT_TESTS)
	@BUILD=$(BUILD) FLEET_TEST_WRAPPER="valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect --error-exitcode=99" \
		CK_FORK=no test/run-tests.sh unit

demo: deps
	@$(MAKE) --no-print-directory all
	@BUILD=$(BUILD) tools/demo.sh

bench: deps
	@$(MAKE) --no-print-directory all
	@BUILD=$(BUILD) tools/bench.sh

install: $(PROGRAMS)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)/lib/systemd/system
	$(if $(PROGRAMS),install -m 0755 $(PROGRAMS) $(DESTDIR)$(PREFIX)/bin/)
	$(if $(wildcard units/fleet.service),\
		sed 's|@BINDIR@|$(PREFIX)/bin|g' units/fleet.service > $(DESTDIR)/lib/systemd/system/fleet.service)
	$(if $(wildcard units/fleet.socket),install -m 0644 units/fleet.socket $(DESTDIR)/lib/systemd/system/)

clean:
	rm -rf build

C_FILES = $(shell git ls-files '*.c' '*.h' 2>/dev/null)
format:
	clang-format -i $(C_FILES)
format-check:
	clang-format --dry-run -Werror $(C_FILES)
# _cleanup_ variables look like leaks to cppcheck: those two checks are left to ASan/valgrind.
analyze:
	cppcheck --enable=warning,performance,portability --std=c11 --inline-suppr \
		--suppress=memleak --suppress=resourceLeak --suppress=unknownMacro \
		--error-exitcode=1 -q -Icommon common engine agent api fleetd fleetctl
# Every #include follows the allowed component edges of mk/deps.table (docs/architecture.md).
check-deps:
	@tools/check-deps.sh

check-headers:
	@for h in $(wildcard common/*.h engine/*.h engine/*/*.h agent/*.h api/*.h fleetd/*.h fleetctl/*.h); do \
		c=$${h%%/*}; case $$c in \
		common) inc="$(INC_common)";; engine) inc="$(INC_engine)";; agent) inc="$(INC_agent)";; \
		api) inc="$(INC_api)";; fleetctl) inc="$(INC_fleetctl)";; *) inc="$(INC_fleetd)";; esac; \
		echo "#include \"$$h\"" | $(CC) $(BASE_CFLAGS) $$inc -MF /dev/null -x c -fsyntax-only -I. - || exit 1; \
	done; echo "headers ok"

include mk/fuzz.mk
include mk/ui.mk
-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
