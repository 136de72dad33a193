#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# make demo: build, boot a VM and walk through devlink health.
set -euo pipefail
. "$(dirname "$0")/env.sh"

OUT=$TOP/out/demo
"$TOP/scripts/build.sh" all
rm -rf "$OUT"
mkdir -p "$OUT"
rdl_print_env >"$OUT/env.sh"
log "booting the VM (about 30 s under software emulation)"
"$TOP/scripts/vm.sh" "$OUT" "scripts/guest/demo.sh '$OUT'"
