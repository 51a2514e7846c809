#!/bin/bash
# SPDX-License-Identifier: MIT
echo "make bench: not yet available"
