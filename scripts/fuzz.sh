#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# make fuzz: a long run of the devlink netlink fuzzer (the selftest
# drivers/net/devlink_fuzz) on the test kernel, and nothing else:
#   FUZZ_N      requests of the privileged pass (default 20000; the
#               unprivileged pass sends a third as many)
#   FUZZ_SEED   the seed (default: a random one, printed; the same seed
#               sends the same requests)
# The test's timeout and the VM's limit grow with FUZZ_N.
set -euo pipefail
. "$(dirname "$0")/env.sh"

export FUZZ_N=${FUZZ_N:-20000}
export FUZZ_SEED=${FUZZ_SEED:-$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')}
case $FUZZ_N$FUZZ_SEED in *[!0-9]*) die "FUZZ_N and FUZZ_SEED are decimal numbers" ;; esac
# A request takes about 10 ms under emulation with KASAN; twice that, and the set-up.
export RDL_TEST_TIMEOUT=$((300 + FUZZ_N / 40))
export VM_TIMEOUT=$((RDL_TEST_TIMEOUT + 600))
log "fuzzing with seed $FUZZ_SEED, $FUZZ_N requests (test timeout $RDL_TEST_TIMEOUT s)"
T=drivers/net/devlink_fuzz/devlink_fuzz.sh exec "$TOP/scripts/test.sh"
