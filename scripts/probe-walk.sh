#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# make probe-walk: re1000's probe with each of its allocations failed in
# turn (the selftest drivers/net/re1000/probe_faults.sh with PROBE_STRIDE=1,
# alone), where 'make test' fails every Nth: about 500 binds, 3 s each in
# the emulated VM.
set -euo pipefail
. "$(dirname "$0")/env.sh"

export PROBE_STRIDE=1
export RDL_TEST_TIMEOUT=3600
export VM_TIMEOUT=$((RDL_TEST_TIMEOUT + 600))
log "re1000's probe, every allocation failed in turn (test timeout $RDL_TEST_TIMEOUT s)"
T=drivers/net/re1000/probe_faults.sh exec "$TOP/scripts/test.sh"
