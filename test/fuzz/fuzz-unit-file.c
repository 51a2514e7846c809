/* SPDX-License-Identifier: MIT */
/* libFuzzer target: unit files: parse, normalized serialization round trip, hash. The checks are in
 * fuzz-checks.h, shared with test/unit/test-fuzz-regressions.c. */
#include <stddef.h>
#include <stdint.h>

#include "fuzz-checks.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        fuzz_check_unit_file(data, size);
        return 0;
}
