#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Download Debian's linux-source-7.3 once into the cache and unpack it as the
# pristine tree. The system's apt configuration is left alone: a private apt
# state in the cache names the suite that carries the package.
# Prints the pristine tree's path.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

A=$CACHE/apt
SUITE=trixie-backports
PKG=linux-source-$KSERIES

deb=$(ls "$CACHE"/src/"${PKG}"_*.deb 2>/dev/null | sort -V | tail -n 1 || true)
if [ -z "$deb" ]; then
	mkdir -p "$CACHE/src"
	rdl_apt_state "$A" "$SUITE"
	log "downloading $PKG from $SUITE"
	quiet "apt-get update ($SUITE)" "$CACHE/logs/apt-src-update.log" \
		apt-get "${APT_OPTS[@]}" update
	(cd "$CACHE/src" && quiet "apt-get download $PKG" "$CACHE/logs/apt-src-download.log" \
		apt-get "${APT_OPTS[@]}" download "$PKG")
	deb=$(ls "$CACHE"/src/"${PKG}"_*.deb | sort -V | tail -n 1)
fi

# The Debian version (7.3.4-1~bpo13+1) is recorded next to the tree.
dver=$(dpkg-deb -f "$deb" Version)
kver=${dver%%-*}
pristine=$CACHE/src/linux-$kver
if [ ! -f "$pristine/.rdl-pristine" ]; then
	log "unpacking $PKG $dver"
	rm -rf "$pristine" "$pristine.tmp"
	mkdir -p "$pristine.tmp"
	dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$pristine.tmp" --wildcards "*/$PKG.tar.xz"
	tar -xJf "$pristine.tmp/usr/src/$PKG.tar.xz" -C "$pristine.tmp"
	mv "$pristine.tmp/$PKG" "$pristine"
	rm -rf "$pristine.tmp"
	echo "$dver" >"$pristine/.rdl-pristine"
fi
echo "$pristine"
