#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Where everything is. Sourced by the other scripts; run, it prints the
# assignments that 'make env' documents (one NAME=value per line).
#
# The kernel source is Debian's linux-source-7.3 unless KDIR names a tree of
# the user's. Either way the build works on a copy (TREE) that carries the
# in-tree part; the source itself is never modified. The build directory is
# keyed by the kernel version and a hash of everything that decides the
# configuration, so changing a fragment never wipes another build.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/toolchain.sh"

# Which kernel: 'test' (every debug detector, KASAN with clang) or 'bench'
# (the same kernel without them, for 'make bench').
RDL_PROFILE=${RDL_PROFILE:-test}
case $RDL_PROFILE in
test | bench) ;;
*) die "RDL_PROFILE=$RDL_PROFILE: 'test' or 'bench'" ;;
esac

# The configuration fragments, in merge order.
rdl_fragments() {
	echo "$TOP/config/vm.config"
	if [ "$RDL_PROFILE" = bench ]; then
		echo "$TOP/config/bench.config"
	else
		echo "$TOP/config/debug.config"
		[ -z "$TC_LLVM" ] || echo "$TOP/config/kasan.config"
	fi
	if [ -d "$TOP/tools/testing/selftests" ]; then
		find "$TOP/tools/testing/selftests" -name config -type f | sort
	fi
}

rdl_locate() {
	if [ -n "${KDIR:-}" ]; then
		[ -f "$KDIR/Makefile" ] || die "KDIR=$KDIR is not a kernel source tree"
		PRISTINE=$(cd "$KDIR" && pwd)
		KVER=$(make -s -C "$PRISTINE" kernelversion 2>/dev/null) ||
			die "KDIR=$KDIR: 'make kernelversion' failed"
		TREE=$CACHE/tree/kdir-$(echo "$PRISTINE" | sha256sum | cut -c1-12)
	else
		PRISTINE=$(ls -d "$CACHE"/src/linux-"$KSERIES".* 2>/dev/null |
			sort -V | tail -n 1 || true)
		[ -n "$PRISTINE" ] || PRISTINE=$CACHE/src/linux-$KSERIES.x
		KVER=${PRISTINE##*/linux-}
		TREE=$CACHE/tree/linux-$KVER
	fi
	local key
	key=$( {
		# The options asked for, not the comments and order of the
		# fragments: a selftest folder repeating an option already asked
		# for keeps the build.
		rdl_fragments | xargs cat |
			grep -E '^(CONFIG_\w+=|# CONFIG_\w+ is not set)' | sort -u
		echo "virtme-ng $VIRTME_NG_VERSION"
		echo "$TC_DESC"
		# A tree of the user's gets a build directory of its own.
		[ -z "${KDIR:-}" ] || echo "kdir $PRISTINE"
		rustc --version 2>/dev/null
		echo "bindgen $BINDGEN_VERSION"
	} | sha256sum | cut -c1-12)
	BUILD=$CACHE/build/$KVER-$key
	IMAGE=$BUILD/arch/x86/boot/bzImage
}

# The kernel source, downloaded first unless KDIR names the user's tree.
rdl_source() {
	if [ -z "${KDIR:-}" ]; then
		"$TOP/scripts/fetch-source.sh" >/dev/null
		rdl_locate
	fi
}

# Our modules are built in the build directory (Kbuild's MO=), so that the
# objects of one kernel are never taken for another's, and the work tree
# stays clean.
rdl_modules_out() {
	echo "$BUILD/rdl-modules"
}

# Kbuild on our modules: rdl_kbuild_modules [make arguments...]
rdl_kbuild_modules() {
	kmake -C "$BUILD" M="$TOP" MO="$(rdl_modules_out)" "$@"
}

# Our modules: every .ko that the top-level Kbuild can build.
rdl_modules() {
	local d out
	out=$(rdl_modules_out)
	sed -n 's|^obj-\S*\s*+=\s*||p' "$TOP/Kbuild" | while read -r d; do
		sed -n 's|^obj-m[[:space:]]*+=[[:space:]]*\(.*\)\.o|\1|p' "$TOP/$d/Kbuild" |
			while read -r m; do echo "$out/${d%/}/$m.ko"; done
	done
}

rdl_print_env() {
	local ko name
	rdl_locate
	echo "KSRC=$TREE"
	echo "KBUILD=$BUILD"
	echo "KIMAGE=$IMAGE"
	echo "KVERSION=$KVER"
	# For the kernel tree's YNL client (tools/net/ynl/pyynl/cli.py --no-schema).
	echo "PYTHON=$VENV/bin/python3"
	# iproute2 $IPROUTE2_VERSION's devlink, first in the guest's PATH.
	echo "DEVLINK=$DEVLINK"
	echo "NETDEVSIM_KO=$BUILD/drivers/net/netdevsim/netdevsim.ko"
	echo "E1000_KO=$BUILD/drivers/net/ethernet/intel/e1000/e1000.ko"
	echo "NETCONSOLE_KO=$BUILD/drivers/net/netconsole.ko"
	echo "RUST_DEVLINK_HEALTH_KO=$BUILD/samples/rust/rust_devlink_health.ko"
	for ko in $(rdl_modules); do
		name=$(basename "$ko" .ko | tr 'a-z-' 'A-Z_')
		echo "${name}_KO=$ko"
	done
}

rdl_toolchain
rdl_locate
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	rdl_print_env
fi
