# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash disable=SC2034
# Shared settings for the build scripts. Sourced, never run.

# The cache lives outside the work tree so that fresh clones (CI) and later
# sessions reuse the toolchain, the kernel source and the kernel build.
CACHE=${RDL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rust-devlink}
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

KSERIES=7.3
BINDGEN_VERSION=0.73.2
LIBCLANG_VERSION=18.1.1
VIRTME_NG_VERSION=1.42
PYYAML_VERSION=6.0.2
# The documentation build (make check): the kernel tree's
# Documentation/sphinx/requirements.txt names alabaster, Sphinx and pyyaml
# without versions, i.e. the newest; pinned to what pip installed from it
# (7.3.4's) on Python 3.11, with docutils, which makes most reST warnings.
SPHINX_VERSION=9.0.4
ALABASTER_VERSION=1.0.0
DOCUTILS_VERSION=0.22.4
# The Python linter of make check.
RUFF_VERSION=0.14.0
# The tests' devlink: iproute2 of Linux 7.3's time, Debian sid's, in the cache
# with its own loader and libraries (fetch-iproute2.sh); DEVLINK runs it.
IPROUTE2_VERSION=7.3.0
IPROUTE2_ROOT=$CACHE/iproute2-$IPROUTE2_VERSION
DEVLINK=$IPROUTE2_ROOT/bin/devlink

VENV=$CACHE/venv
export PATH="$VENV/bin:$HOME/.cargo/bin:$PATH"

# bindgen's libclang (for gcc-built kernels): PyPI's self-contained one in the
# venv. Looked up when needed, since the venv may not exist yet.
rdl_venv_libclang() {
	local d
	for d in "$VENV"/lib/python3*/site-packages/clang/native; do
		if [ -d "$d" ]; then echo "$d"; fi
	done
}

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# One clear line, then stop.
die() {
	printf 'error: %s\n' "$*" >&2
	exit 1
}

# Run a noisy step with its output in a log file; on failure show the tail
# of the log and the one line that says what went wrong.
quiet() {
	local what=$1 logf=$2
	shift 2
	if ! "$@" >"$logf" 2>&1; then
		tail -n 20 "$logf" >&2
		die "$what failed (full log: $logf)"
	fi
}

# The Debian mirror this machine's apt uses (deb822 or one-line sources).
rdl_debian_mirror() {
	local m
	m=$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -n 1)
	[ -n "$m" ] || m=$(awk '/^deb /{print $2; exit}' /etc/apt/sources.list 2>/dev/null)
	[ -n "$m" ] || die "no Debian mirror found in the apt configuration"
	echo "$m"
}

# rdl_apt_state DIR SUITE: a private apt state in DIR whose only source is
# SUITE on this machine's mirror, the system's apt configuration left alone;
# sets APT_OPTS to the apt-get/apt-cache options that use it.
rdl_apt_state() {
	local kr=/usr/share/keyrings/debian-archive-keyring.gpg mirror
	[ -r "$kr" ] || die "$kr missing: install debian-archive-keyring"
	mirror=$(rdl_debian_mirror)
	mkdir -p "$1/lists/partial" "$1/cache/archives/partial"
	echo "deb [signed-by=$kr] $mirror $2 main" >"$1/sources.list"
	APT_OPTS=(-o Dir::Etc::SourceList="$1/sources.list" -o Dir::Etc::SourceParts=/dev/null
		-o Dir::State::Lists="$1/lists" -o Dir::Cache="$1/cache"
		-o Dir::State::Status=/var/lib/dpkg/status)
}
