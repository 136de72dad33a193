# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
# Sourced by the guest scripts. rdl_guest_python unpacks the Python that
# scripts/guest-python.sh packed (the tarball TARBALL) into a tmpfs and puts
# it first in PATH as python3, and in PYTHON: from the host's file system
# (9p) a Python takes 8 s to start and 25 s more to import the kselftest
# library with YNL; from the tmpfs, 3 and 3. The tarball is read in large
# blocks: 9p pays a round trip per read. PY_KSRC is the kernel tree's Python there:
# YNL, the netlink specs and the kselftest library of net/ and drivers/net/
# (import it as upstream's tests do, 'from lib.py import ...' with
# PY_KSRC/tools/testing/selftests/drivers/net in sys.path). Without the
# tarball, says why and fails.
rdl_guest_python() {
	local tarball=$1 at=/tmp/rdl-python
	if [ ! -f "$tarball" ]; then
		echo "no guest Python at $tarball (scripts/guest-python.sh)"
		return 1
	fi
	if [ ! -x "$at/bin/python3" ] &&
		! { mkdir -p "$at" && mount -t tmpfs -o mode=755 rdl-python "$at" &&
			dd if="$tarball" bs=4M status=none | tar -C "$at" -x; }; then
		echo "cannot unpack $tarball into $at"
		return 1
	fi
	export PYTHONHOME=$at PYTHONPATH=$at/site
	export LD_LIBRARY_PATH=$at/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
	export PATH="$at/bin:$PATH" PYTHON=$at/bin/python3 PY_KSRC=$at/ksrc
}
