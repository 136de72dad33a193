#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The guest's Python, packed for a tmpfs:
#   guest-python.sh TARBALL
# The tests run Python in the VM (YNL, the kselftest library, helpers). Read
# from the host's file system (9p), a Python starts in 8 s and imports the
# kselftest library with YNL in 24 s more: every lookup and read is a 9p
# round trip under software emulation, and the kernel tree's modules are
# compiled at each start (the guest cannot write their byte code). So the
# venv's interpreter, the modules the tests import and the kernel tree's
# YNL, specs and kselftest library (compiled) go into one tarball
# (guest-python.py), which scripts/guest/python.sh unpacks into a tmpfs.
set -euo pipefail
. "$(dirname "$0")/env.sh"

[ -x "$VENV/bin/python3" ] || die "no venv at $VENV: run 'make setup'"
"$VENV/bin/python3" "$TOP/scripts/guest-python.py" "$TREE" \
	"$TOP/tools/testing/selftests" "$1"
