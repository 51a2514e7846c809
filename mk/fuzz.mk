# SPDX-License-Identifier: MIT
# Fuzzing with libFuzzer (docs/fuzzing.md). Included by the top-level Makefile.
#   make fuzz          build every target in build/fuzz/ and run each for FUZZ_SECONDS (60)
#   make fuzz-short    seed 1, FUZZ_SHORT_RUNS (50000) runs each (at most FUZZ_SHORT_SECONDS): CI
#   make fuzz-build    only build
#   make fuzz FUZZ_TARGETS=unit-file FUZZ_SECONDS=600    one target, longer
# The targets are test/fuzz/fuzz-<name>.c; the pure sources they exercise are compiled again
# here with clang and -fsanitize=fuzzer-no-link,address,undefined (the gcc objects in build/
# carry no coverage instrumentation). New interesting inputs go to build/fuzz/corpus/<name>/;
# the committed seeds (test/fuzz/corpus/) and regression inputs (test/fuzz/regressions/) are
# only read. Crash inputs are saved in build/fuzz/artifacts/<name>/.

FUZZ_CC ?= clang
FUZZ_SECONDS ?= 60
# CI's pass is reproducible: a fixed seed and a fixed number of runs per target (the time is
# only a cap), so the same tree finds the same things every time.
FUZZ_SHORT_SECONDS ?= 30
FUZZ_SHORT_RUNS ?= 50000
FUZZ_DIR := build/fuzz
FUZZ_TARGETS ?= unit-file xfleet glob config etcd-json registry api-json

# Every common/ and api/ source, in two archives like the unit tests link them: the linker
# takes only the objects the checks reach (the pure ones; the unit tier proves they need no
# I/O library), so a new dependency between modules needs no edit here.
FUZZ_COMMON_OBJ := $(patsubst %.c,$(FUZZ_DIR)/obj/%.o,$(sort $(wildcard common/*.c)))
FUZZ_API_OBJ := $(patsubst %.c,$(FUZZ_DIR)/obj/%.o,$(sort $(wildcard api/*.c)))
FUZZ_LIBS := $(FUZZ_DIR)/libapi.a $(FUZZ_DIR)/libcommon.a
FUZZ_BINS := $(patsubst %,$(FUZZ_DIR)/fuzz-%,$(FUZZ_TARGETS))

FUZZ_SANITIZE := address,undefined
FUZZ_CFLAGS = -std=gnu11 -D_GNU_SOURCE -g -O1 -fno-omit-frame-pointer \
	$(filter-out -Wjump-misses-init,$(WARN)) -fno-common \
	-fsanitize=fuzzer-no-link,$(FUZZ_SANITIZE) -fno-sanitize-recover=all \
	-Icommon -Iapi -DFLEET_VERSION='"$(VERSION)"' $(PKG_CFLAGS) $(FUZZ_EXTRA_CFLAGS) -MMD -MP

.PHONY: fuzz fuzz-short fuzz-build
.PRECIOUS: $(FUZZ_DIR)/obj/%.o

fuzz-build: $(FUZZ_BINS)

fuzz: fuzz-build
	@FUZZ_DIR=$(FUZZ_DIR) test/fuzz/run-fuzz.sh $(FUZZ_SECONDS) $(FUZZ_TARGETS)

fuzz-short: fuzz-build
	@FUZZ_DIR=$(FUZZ_DIR) FUZZ_ARGS="-seed=1 -runs=$(FUZZ_SHORT_RUNS) $(FUZZ_ARGS)" \
		test/fuzz/run-fuzz.sh $(FUZZ_SHORT_SECONDS) $(FUZZ_TARGETS)

$(FUZZ_DIR)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  FUZZCC  $<")
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -c -o $@ $<

$(FUZZ_DIR)/libcommon.a: $(FUZZ_COMMON_OBJ)
$(FUZZ_DIR)/libapi.a: $(FUZZ_API_OBJ)
$(FUZZ_LIBS):
	@rm -f $@
	$(Q)$(AR) rcs $@ $^

$(FUZZ_DIR)/fuzz-%: $(FUZZ_DIR)/obj/test/fuzz/fuzz-%.o $(FUZZ_LIBS)
	@$(if $(Q),echo "  FUZZLD  $@")
	$(Q)$(FUZZ_CC) -fsanitize=fuzzer,$(FUZZ_SANITIZE) -o $@ $^ $(LIBS_PURE)

-include $(wildcard $(FUZZ_DIR)/obj/*/*.d $(FUZZ_DIR)/obj/*/*/*.d)
