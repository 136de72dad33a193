# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
# Sourced by the guest scripts. rdl_guest_devlink puts the devlink of 'make
# env' (DEVLINK: iproute2 of Linux 7.3, scripts/fetch-iproute2.sh) first in
# PATH, never the host's. Its tree, in the cache, is copied into a tmpfs of
# the guest: read from the host's file system (9p), its loader and libraries
# made each devlink take five times as long to start, and the cache is under
# root's home, which the tests' unprivileged users cannot enter. Without the
# tree, says why and fails.
rdl_guest_devlink() {
	local at=/tmp/rdl-iproute2 root=${DEVLINK%/bin/devlink}
	if [ ! -x "${DEVLINK:-}" ]; then
		echo "no iproute2 devlink at ${DEVLINK:-(DEVLINK unset)}: run 'make setup'"
		return 1
	fi
	if [ ! -x "$at/bin/devlink" ] &&
		! { mkdir -p "$at" && mount -t tmpfs -o mode=755 rdl-iproute2 "$at" &&
			mkdir -p "$at/usr/sbin" &&
			cp -a "$root/bin" "$at/" &&
			cp -a "$root/usr/lib" "$root/usr/lib64" "$at/usr/" &&
			cp -a "$root/usr/sbin/devlink" "$at/usr/sbin/"; }; then
		echo "cannot copy $root to $at"
		return 1
	fi
	export PATH="$at/bin:$PATH"
}
