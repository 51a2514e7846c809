/* SPDX-License-Identifier: MIT */
#pragma once

/* The discovery document of GET /fleet/v1/discovery (reference 9.9): fleet's schema/v1.json,
 * byte for byte, NUL-terminated. Pure data. */
extern const char api_discovery_json[];
