/* SPDX-License-Identifier: MIT */
/* libFuzzer target: registry keys and the JSON values stored under them. The checks are in
 * fuzz-checks.h, shared with test/unit/test-fuzz-regressions.c. */
#include <stddef.h>
#include <stdint.h>

#include "fuzz-checks.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        fuzz_check_registry(data, size);
        return 0;
}
