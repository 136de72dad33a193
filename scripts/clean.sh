#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# make clean: remove our build products and test output. The cache (kernel
# source, kernel build, tools) stays; remove it by hand to start over.
set -euo pipefail
. "$(dirname "$0")/env.sh"
if [ -f "$BUILD/Makefile" ]; then
	# Our modules' objects, and those of in-tree builds of older checkouts.
	rdl_kbuild_modules -s clean
	kmake -s -C "$BUILD" M="$TOP" clean
fi
rm -rf "$TOP/out"
