/* SPDX-License-Identifier: MIT */
/* libFuzzer target: Go path.Match patterns (Conflicts, Replaces) against names. The checks are in
 * fuzz-checks.h, shared with test/unit/test-fuzz-regressions.c. */
#include <stddef.h>
#include <stdint.h>

#include "fuzz-checks.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        fuzz_check_glob(data, size);
        return 0;
}
