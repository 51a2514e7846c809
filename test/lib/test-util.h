/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Glue for Check-based test binaries: FLEET_TEST_MAIN(make_suite) runs one suite with
 * CK_NORMAL output, whose "Checks: N, Failures: F, Errors: E" line test/run-tests.sh sums.
 */

#include <check.h>
#include <stdlib.h>

#define FLEET_TEST_MAIN(suite_fn)                                                                  \
        int main(void) {                                                                           \
                Suite *_s_ = suite_fn();                                                           \
                SRunner *_sr_ = srunner_create(_s_);                                               \
                int _failed_;                                                                      \
                srunner_run_all(_sr_, CK_NORMAL);                                                  \
                _failed_ = srunner_ntests_failed(_sr_);                                            \
                srunner_free(_sr_);                                                                \
                return _failed_ == 0 ? EXIT_SUCCESS : EXIT_FAILURE;                                \
        }
