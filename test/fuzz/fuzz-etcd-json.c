/* SPDX-License-Identifier: MIT */
/* libFuzzer target: etcd v3 gateway responses, the watch stream, base64 and request encoders. The
 * checks are in fuzz-checks.h, shared with test/unit/test-fuzz-regressions.c. */
#include <stddef.h>
#include <stdint.h>

#include "fuzz-checks.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        fuzz_check_etcd_json(data, size);
        return 0;
}
