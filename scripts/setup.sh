#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Install what building and booting the test kernel needs. Every step is
# skipped when already satisfied, so a second run does no network work.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/toolchain.sh"

APT_PKGS="make gcc flex bison bc libelf-dev libssl-dev cpio kmod udev
	qemu-system-x86 jq iputils-ping iproute2 python3-venv xz-utils git
	rsync perl"

mkdir -p "$CACHE/logs"

# Without a host clang new enough for the kernel, one is provisioned with
# debootstrap (see toolchain.sh).
rdl_toolchain
[ -z "$TC_ROOT" ] || APT_PKGS="$APT_PKGS debootstrap"

missing=()
for p in $APT_PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
		missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	command -v apt-get >/dev/null ||
		die "missing packages: ${missing[*]} (install them with your distribution's package manager)"
	[ "$(id -u)" = 0 ] ||
		die "missing packages: ${missing[*]}: run 'sudo apt-get install ${missing[*]}'"
	log "apt-get install ${missing[*]}"
	quiet "apt-get update" "$CACHE/logs/apt-update.log" apt-get update
	quiet "apt-get install ${missing[*]}" "$CACHE/logs/apt-install.log" \
		env DEBIAN_FRONTEND=noninteractive apt-get install -y \
		--no-install-recommends "${missing[@]}"
fi

command -v rustup >/dev/null ||
	die "rustup not found: install Rust with rustup (the kernel needs rustc >= 1.85 and rust-src)"
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
if [ "$(cat "$VENV/.stamp" 2>/dev/null)" != "$want" ]; then
	log "python venv: $want"
	rm -rf "$VENV"
	python3 -m venv "$VENV" || die "python3 -m venv failed: install python3-venv"
	# shellcheck disable=SC2086
	quiet "pip install $want" "$CACHE/logs/pip.log" \
		"$VENV/bin/pip" install --disable-pip-version-check $want
	echo "$want" >"$VENV/.stamp"
fi
