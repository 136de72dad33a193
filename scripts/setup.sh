#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Install what building and booting the test kernel needs. Every step is
# skipped when already satisfied, so a second run does no network work.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/toolchain.sh"

# A package is wanted when its command (or, for libraries, its header) is
# missing, so a removed binary is brought back too.
APT_NEEDS="make:make gcc:gcc flex:flex bison:bison bc:bc cpio:cpio depmod:kmod
	udevadm:udev qemu-system-x86_64:qemu-system-x86 jq:jq ping:iputils-ping
	devlink:iproute2 xz:xz-utils git:git rsync:rsync perl:perl shellcheck:shellcheck
	ethtool:ethtool socat:socat iperf3:iperf3
	/usr/include/libelf.h:libelf-dev /usr/include/openssl/ssl.h:libssl-dev"

mkdir -p "$CACHE/logs"

# Without a host clang new enough for the kernel, one is provisioned with
# debootstrap (see toolchain.sh).
rdl_toolchain
[ -z "$TC_ROOT" ] || APT_NEEDS="$APT_NEEDS debootstrap:debootstrap"

missing=()
for need in $APT_NEEDS; do
	what=${need%%:*}
	case $what in
	/*) [ -e "$what" ] && continue ;;
	*) command -v "$what" >/dev/null && continue ;;
	esac
	missing+=("${need#*:}")
done
# Debian's python3 makes virtual environments only with python3-venv.
python3 -c 'import ensurepip' 2>/dev/null || missing+=(python3-venv)
if [ ${#missing[@]} -gt 0 ]; then
	command -v apt-get >/dev/null ||
		die "missing packages: ${missing[*]} (install them with your package manager)"
	[ "$(id -u)" = 0 ] ||
		die "missing packages: ${missing[*]}: run 'sudo apt-get install ${missing[*]}'"
	log "apt-get install ${missing[*]}"
	quiet "apt-get update" "$CACHE/logs/apt-update.log" apt-get update
	quiet "apt-get install ${missing[*]}" "$CACHE/logs/apt-install.log" \
		env DEBIAN_FRONTEND=noninteractive apt-get install -y --reinstall \
		--no-install-recommends "${missing[@]}"
fi

command -v rustup >/dev/null ||
	die "rustup not found: install Rust with rustup (the kernel needs rustc >= 1.85)"
if ! rustup component list --installed 2>/dev/null | grep -q '^rust-src'; then
	log "rustup component add rust-src"
	quiet "rustup component add rust-src" "$CACHE/logs/rustup.log" \
		rustup component add rust-src
fi

if [ "$(bindgen --version 2>/dev/null)" != "bindgen $BINDGEN_VERSION" ]; then
	log "cargo install bindgen-cli $BINDGEN_VERSION"
	quiet "cargo install bindgen-cli" "$CACHE/logs/bindgen.log" \
		cargo install --locked --force bindgen-cli --version "$BINDGEN_VERSION"
fi

want="libclang==$LIBCLANG_VERSION virtme-ng==$VIRTME_NG_VERSION PyYAML==$PYYAML_VERSION"
want="$want Sphinx==$SPHINX_VERSION alabaster==$ALABASTER_VERSION docutils==$DOCUTILS_VERSION"
want="$want ruff==$RUFF_VERSION"
if [ "$(cat "$VENV/.stamp" 2>/dev/null)" != "$want" ]; then
	log "python venv: $want"
	# A working venv gets the new pins installed into it rather than being
	# made again: a test run elsewhere may be using its virtme-ng meanwhile.
	if ! "$VENV/bin/python3" -c '' 2>/dev/null; then
		rm -rf "$VENV"
		# The venv comes first in PATH: look python3 up again now that it
		# is gone.
		hash -r
		python3 -m venv "$VENV" || die "python3 -m venv failed: install python3-venv"
	fi
	# shellcheck disable=SC2086
	quiet "pip install $want" "$CACHE/logs/pip.log" \
		"$VENV/bin/pip" install --disable-pip-version-check $want
	echo "$want" >"$VENV/.stamp"
fi

# The tests' devlink (iproute2 $IPROUTE2_VERSION), once.
"$(dirname "$0")/fetch-iproute2.sh" >/dev/null
