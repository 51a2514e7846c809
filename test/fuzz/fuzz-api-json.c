/* SPDX-License-Identifier: MIT */
/* libFuzzer target: HTTP API v1 entities, pages, PUT /units and PATCH /machines bodies. The checks
 * are in fuzz-checks.h, shared with test/unit/test-fuzz-regressions.c. */
#include <stddef.h>
#include <stdint.h>

#include "fuzz-checks.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        fuzz_check_api_json(data, size);
        return 0;
}
