#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Loads rkasan_oob, which writes one byte past a heap allocation from Rust.
# The test itself passes when the module loads; on a KASAN kernel the report
# in the kernel log must then turn the run red. Run it explicitly:
#   make test T=rkasan_oob.sh

KSFT_LIB=${KSFT_LIB:-$(dirname "$0")/../..}
# shellcheck source=/dev/null
. "$KSFT_LIB/kselftest/ktap_helpers.sh"

ktap_print_header
[ -n "${RKASAN_OOB_KO:-}" ] && [ -f "$RKASAN_OOB_KO" ] ||
	{ ktap_skip_all "rkasan_oob.ko not built (RDL_KASAN_PROOF=m)"; exit "$KSFT_SKIP"; }
ktap_set_plan 1
ktap_test_result "load rkasan_oob" insmod "$RKASAN_OOB_KO"
rmmod rkasan_oob 2>/dev/null
ktap_finished
