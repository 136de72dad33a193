# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash disable=SC2034
# The compiler that builds the kernel and our modules. Sourced by env.sh.
#
# KCC=gcc: the host's gcc.
# KCC=clang (needed for KASAN with Rust: 7.3 has 'RUST depends on !KASAN ||
# CC_IS_CLANG', and clang >= 17): the host's clang when it is new enough,
# otherwise Debian trixie's clang-19 in a root file system in the cache,
# made once with debootstrap; builds then run inside it (chroot) with the
# host's Rust toolchain and the cache bind-mounted at the same paths.
# The benchmark kernel (RDL_PROFILE=bench) takes the clang whose LLVM is
# rustc's (the host's, or Debian's in the same root): only then can the C
# helpers be inlined into Rust (CONFIG_RUST_INLINE_HELPERS), as in a
# production build, and a call through a helper cost what it costs C.
#
# Sets TC_DESC (what builds, for the build key and the logs), TC_CC (the C
# compiler's name), TC_LLVM (the LLVM= make argument, empty for gcc) and
# TC_ROOT (the root file system, or empty when the host's tools build).

TC_LLVM_MIN=17
TC_ROOT_LLVM=19
TC_ROOT_SUITE=trixie
TC_ROOT_PKGS="make flex bison bc libelf-dev libssl-dev python3 cpio kmod perl
	xz-utils"
# The LLVM packages of version $1.
tc_llvm_pkgs() { echo "clang-$1 lld-$1 llvm-$1 libclang-$1-dev"; }

rdl_toolchain() {
	TC_LLVM=
	TC_ROOT=
	export LIBCLANG_PATH
	LIBCLANG_PATH=$(rdl_venv_libclang)
	case ${KCC:-clang} in
	gcc)
		TC_CC=gcc
		TC_DESC="$(gcc --version 2>/dev/null | head -n 1)"
		return
		;;
	clang) ;;
	*) die "KCC=$KCC: say gcc or clang" ;;
	esac
	local s v want suffixes
	want=
	if [ "${RDL_PROFILE:-test}" = bench ]; then
		want=$(rustc --version --verbose 2>/dev/null |
			sed -n 's/^LLVM version: \([0-9]*\).*/\1/p')
	fi
	# The host's clang (of rustc's LLVM for the bench kernel, new enough
	# otherwise), or Debian's in the root.
	if [ -n "$want" ]; then
		suffixes=("" "-$want")
		TC_ROOT_LLVM=$want
	else
		suffixes=("" -21 -20 -19 -18 -17)
	fi
	for s in "${suffixes[@]}"; do
		v=$("clang$s" -dumpversion 2>/dev/null) || continue
		if [ -n "$want" ]; then
			[ "${v%%.*}" = "$want" ] || continue
		else
			[ "${v%%.*}" -ge $TC_LLVM_MIN ] || continue
		fi
		command -v "ld.lld$s" >/dev/null || continue
		command -v "llvm-ar$s" >/dev/null || continue
		TC_LLVM=${s:-1}
		TC_CC=clang$s
		TC_DESC="clang $v (host)"
		# bindgen's libclang must match the compiler.
		LIBCLANG_PATH=$("llvm-config$s" --libdir 2>/dev/null || rdl_venv_libclang)
		return
	done
	TC_LLVM=-$TC_ROOT_LLVM
	TC_CC=clang-$TC_ROOT_LLVM
	TC_ROOT=$CACHE/llvm-root
	TC_DESC="clang-$TC_ROOT_LLVM (Debian $TC_ROOT_SUITE root)"
}

# Make the root file system once: debootstrap, then the toolchain inside;
# then add the LLVM of another version when a build asks for it.
tc_provision() {
	[ -n "$TC_ROOT" ] || return 0
	if [ -f "$TC_ROOT/.rdl-ready" ]; then
		tc_provision_llvm
		return
	fi
	command -v debootstrap >/dev/null ||
		die "no clang >= $TC_LLVM_MIN here, and no debootstrap to provision one:" \
			"apt-get install debootstrap (or clang, lld, llvm >= $TC_LLVM_MIN)"
	local mirror
	mirror=$(rdl_debian_mirror)
	log "provisioning Debian $TC_ROOT_SUITE with clang-$TC_ROOT_LLVM in $TC_ROOT (once)"
	rm -rf "$TC_ROOT"
	quiet "debootstrap $TC_ROOT_SUITE" "$CACHE/logs/debootstrap.log" \
		debootstrap --variant=minbase "$TC_ROOT_SUITE" "$TC_ROOT" "$mirror"
	cp /etc/resolv.conf "$TC_ROOT/etc/resolv.conf"
	tc_mount
	# shellcheck disable=SC2086,SC2046
	quiet "apt-get install in $TC_ROOT" "$CACHE/logs/llvm-root-apt.log" \
		chroot "$TC_ROOT" env DEBIAN_FRONTEND=noninteractive \
		apt-get install -y --no-install-recommends $TC_ROOT_PKGS \
		$(tc_llvm_pkgs "$TC_ROOT_LLVM")
	chroot "$TC_ROOT" apt-get clean
	tc_umount
	touch "$TC_ROOT/.rdl-ready"
}

tc_provision_llvm() {
	[ -x "$TC_ROOT/usr/bin/clang-$TC_ROOT_LLVM" ] && return 0
	log "adding clang-$TC_ROOT_LLVM to $TC_ROOT (once)"
	tc_mount
	quiet "apt-get update in $TC_ROOT" "$CACHE/logs/llvm-root-apt.log" \
		chroot "$TC_ROOT" apt-get update
	# shellcheck disable=SC2046
	quiet "apt-get install in $TC_ROOT" "$CACHE/logs/llvm-root-apt.log" \
		chroot "$TC_ROOT" env DEBIAN_FRONTEND=noninteractive \
		apt-get install -y --no-install-recommends $(tc_llvm_pkgs "$TC_ROOT_LLVM")
	chroot "$TC_ROOT" apt-get clean
	tc_umount
}

TC_MOUNTS=()

# Bind $1 at the same path inside the root, read-only unless $2 is rw.
tc_bind() {
	local dst=$TC_ROOT$1
	[ -e "$1" ] || return 0
	mkdir -p "$dst"
	mount --bind "$1" "$dst"
	TC_MOUNTS+=("$dst")
	[ "${2:-ro}" = rw ] || mount -o remount,bind,ro "$dst"
}

# One process tree at a time uses the root: another's unmounting would pull
# the mounts from under this one's compilers (rustc failed renaming its
# output with EXDEV when 'make demo' ran beside 'make bench'). The lock is
# held until the process that took it exits; its children see TC_LOCK and
# run inside it.
tc_lock() {
	[ -z "${TC_LOCK:-}" ] || return 0
	exec {TC_LOCK}>"$TC_ROOT.lock"
	export TC_LOCK
	if ! flock -n "$TC_LOCK"; then
		log "waiting for another build that uses $TC_ROOT"
		flock "$TC_LOCK"
	fi
}

tc_mount() {
	[ -n "$TC_ROOT" ] && [ ${#TC_MOUNTS[@]} = 0 ] || return 0
	tc_lock
	trap tc_umount EXIT
	trap 'tc_umount; exit 130' INT TERM
	mount -t proc none "$TC_ROOT/proc" && TC_MOUNTS+=("$TC_ROOT/proc")
	mount -t sysfs none "$TC_ROOT/sys" && TC_MOUNTS+=("$TC_ROOT/sys")
	tc_bind /dev rw
	tc_bind /dev/pts rw
	tc_bind "$HOME/.rustup"
	tc_bind "$HOME/.cargo"
	tc_bind "$CACHE" rw
	tc_bind "$TOP" rw
	[ -z "${KDIR:-}" ] || tc_bind "$PRISTINE"
}

tc_umount() {
	local i
	for ((i = ${#TC_MOUNTS[@]} - 1; i >= 0; i--)); do
		umount -l "${TC_MOUNTS[i]}" 2>/dev/null || true
	done
	TC_MOUNTS=()
}

# Run a command with the kernel's toolchain, in the current directory.
tc_run() {
	if [ -z "$TC_ROOT" ]; then
		"$@"
		return
	fi
	tc_mount
	chroot "$TC_ROOT" /usr/bin/env -i HOME="$HOME" TERM=dumb \
		PATH="$HOME/.cargo/bin:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin" \
		RUSTUP_HOME="$HOME/.rustup" CARGO_HOME="$HOME/.cargo" \
		LIBCLANG_PATH="/usr/lib/llvm-$TC_ROOT_LLVM/lib" \
		/bin/sh -c 'cd "$1" && shift && exec "$@"' sh "$PWD" "$@"
}

# make with the kernel's toolchain.
kmake() {
	tc_run make ${TC_LLVM:+LLVM=$TC_LLVM} "$@"
}
