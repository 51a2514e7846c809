/* SPDX-License-Identifier: MIT */
/* libFuzzer target: unit names and [X-Fleet] options of a parsed unit, with and without a unit
 * name. The checks are in fuzz-checks.h, shared with test/unit/test-fuzz-regressions.c. */
#include <stddef.h>
#include <stdint.h>

#include "fuzz-checks.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        fuzz_check_xfleet(data, size);
        return 0;
}
