#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# From nothing to a built kernel and our modules:
#   build.sh [prepare|kernel|modules|all]
# prepare: tools, kernel source, working tree with the in-tree part, config.
# kernel:  prepare, then build the kernel image and its modules.
# modules / all: kernel, then our out-of-tree modules.
set -euo pipefail
. "$(dirname "$0")/env.sh"

what=${1:-all}
JOBS=${JOBS:-$(($(nproc) + 1))}

"$TOP/scripts/setup.sh"
rdl_toolchain
rdl_source
"$TOP/scripts/overlay.sh" "$PRISTINE" "$TREE"
tc_provision

# Every option a fragment asks for must be in the final .config: Kconfig
# drops what it cannot satisfy without a word.
verify_config() {
	local bad=0 line opt val have
	while read -r line; do
		case $line in
		CONFIG_*=*)
			opt=${line%%=*}
			val=${line#*=}
			;;
		"# CONFIG_"*" is not set")
			opt=${line#\# }
			opt=${opt%% *}
			val=n
			;;
		*) continue ;;
		esac
		have=$(grep "^$opt=" "$BUILD/.config" | cut -d= -f2- || true)
		if [ "$have" != "$val" ] && ! { [ "$val" = n ] && [ -z "$have" ]; }; then
			echo "config: $opt=$val was asked for, the kernel has ${have:-n}" >&2
			bad=1
		fi
	done <"$BUILD/rdl.config"
	if ! grep -q '^CONFIG_RUST=y' "$BUILD/.config"; then
		kmake -s -C "$TREE" O="$BUILD" rustavailable >&2 || true
	fi
	[ $bad = 0 ] || die "requested kernel options did not survive olddefconfig (see above)"
}

# virtme-ng's minimal configuration (what its guest needs: 9p, virtio,
# serial console ...), then our fragments, then olddefconfig; the same as
# 'virtme-configkernel --allnoconfig --custom', but with the kernel's own
# toolchain, which decides what Kconfig offers (RUST, KASAN).
configure() {
	[ -f "$BUILD/.rdl-configured" ] && return
	log "configuring $KVER in $BUILD ($TC_DESC)"
	mkdir -p "$BUILD"
	rdl_fragments | xargs cat >"$BUILD/rdl.config"
	(cd "$TREE" && virtme-configkernel --dry-run --allnoconfig) >"$BUILD/virtme.config" ||
		die "virtme-configkernel failed"
	quiet "make allnoconfig" "$BUILD/config.log" kmake -C "$TREE" O="$BUILD" allnoconfig
	# No debug info keeps the build small: splats are symbolised from kallsyms.
	cat "$BUILD/virtme.config" "$BUILD/rdl.config" - >>"$BUILD/.config" <<-EOT
		# CONFIG_DEBUG_INFO_DWARF_TOOLCHAIN_DEFAULT is not set
		CONFIG_DEBUG_INFO_NONE=y
	EOT
	quiet "make olddefconfig" "$BUILD/config.log" kmake -C "$TREE" O="$BUILD" olddefconfig
	verify_config
	touch "$BUILD/.rdl-configured"
}

build_kernel() {
	log "building the kernel in $BUILD (log: $BUILD/build.log)"
	local t0=$SECONDS
	quiet "kernel build" "$BUILD/build.log" \
		kmake -C "$TREE" O="$BUILD" -j"$JOBS" bzImage modules
	if grep -E '(warning|error):' "$BUILD/build.log" >"$BUILD/warnings.log"; then
		log "kernel build warnings: $BUILD/warnings.log"
	fi
	log "kernel built in $((SECONDS - t0)) s"
}

# Modules must be built by the compiler that built their kernel.
check_compiler() {
	local kernel_cc ours
	kernel_cc=$(sed -n 's/^CONFIG_CC_VERSION_TEXT="\(.*\)"$/\1/p' "$BUILD/.config")
	ours=$(tc_run "$TC_CC" --version | head -n 1)
	[ "$kernel_cc" = "$ours" ] ||
		die "kernel built by '$kernel_cc', modules would be by '$ours':" \
			"mixing compilers is refused"
}

build_modules() {
	check_compiler
	log "building our modules"
	# Objects of an earlier in-tree build: Kbuild refuses MO= beside them.
	if [ -f "$TOP/modules.order" ]; then
		kmake -s -C "$BUILD" M="$TOP" clean
	fi
	quiet "module build" "$BUILD/modules.log" \
		rdl_kbuild_modules W=1 -j"$JOBS" \
		${RDL_KASAN_PROOF:+RDL_KASAN_PROOF=$RDL_KASAN_PROOF} modules
	if grep -E '(warning|error):' "$BUILD/modules.log" >&2; then
		die "our modules build with warnings (see above); they must build warning-free"
	fi
}

# Build directories of configurations not used for two weeks go.
prune_builds() {
	local d
	touch "$BUILD/.rdl-used"
	for d in "$CACHE"/build/*/; do
		d=${d%/}
		[ "$d" != "$BUILD" ] || continue
		if [ -z "$(find "$d/.rdl-used" -mtime -14 2>/dev/null)" ]; then
			log "removing the unused build $d"
			rm -rf "$d"
		fi
	done
}

configure
prune_builds
[ "$what" = prepare ] && exit 0
build_kernel
[ "$what" = kernel ] && exit 0
build_modules
