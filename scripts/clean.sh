#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# make clean: remove our build products and test output. The cache (kernel
# source, kernel build, tools) stays; remove it by hand to start over.
set -euo pipefail
. "$(dirname "$0")/env.sh"
[ -f "$BUILD/Makefile" ] && kmake -s -C "$BUILD" M="$TOP" clean
rm -rf "$TOP/out"
