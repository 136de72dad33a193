#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Download Debian's iproute2 $IPROUTE2_VERSION once into the cache, with the
# libraries its devlink needs (sid's iproute2 wants a newer glibc than the
# host's), and make a devlink that runs it through its own dynamic loader:
# the tests then speak to the kernel with the devlink of a Linux 7.3 user.
# The system's apt configuration is left alone: a private apt state in the
# cache names the suite, as for the kernel source (fetch-source.sh).
# Prints the path of that devlink ($DEVLINK of 'make env').
set -euo pipefail
. "$(dirname "$0")/lib.sh"

A=$CACHE/apt-sid
SUITE=sid
# devlink's libraries (NEEDED: libmnl, libcap, libc, libm), the loader's.
PKGS="iproute2 libc6 libmnl0 libcap2"
R=$IPROUTE2_ROOT

if [ -f "$R/.rdl-iproute2" ] && [ -x "$DEVLINK" ]; then
	echo "$DEVLINK"
	exit 0
fi

mkdir -p "$CACHE/logs"
rdl_apt_state "$A" "$SUITE"
log "downloading iproute2 $IPROUTE2_VERSION from $SUITE"
quiet "apt-get update ($SUITE)" "$CACHE/logs/apt-sid-update.log" apt-get "${APT_OPTS[@]}" update
# The Debian revision of $IPROUTE2_VERSION that the suite carries.
dver=$(apt-cache "${APT_OPTS[@]}" madison iproute2 | awk -F' *[|] *' -v v="$IPROUTE2_VERSION" \
	'index($2, v "-") == 1 { print $2; exit }')
[ -n "$dver" ] || die "$SUITE no longer carries iproute2 $IPROUTE2_VERSION" \
	"($(apt-cache "${APT_OPTS[@]}" madison iproute2 | awk -F' *[|] *' '{ print $2 }' | xargs))"

rm -rf "$R" "$R.tmp"
mkdir -p "$R.tmp/debs" "$R.tmp/bin"
want=()
for p in $PKGS; do
	if [ "$p" = iproute2 ]; then want+=("iproute2=$dver"); else want+=("$p"); fi
done
(cd "$R.tmp/debs" && quiet "apt-get download ${want[*]}" "$CACHE/logs/apt-sid-download.log" \
	apt-get "${APT_OPTS[@]}" download "${want[@]}")
for deb in "$R.tmp"/debs/*.deb; do
	dpkg-deb -x "$deb" "$R.tmp"
done
libs=$R/usr/lib/x86_64-linux-gnu
ld=$R/usr/lib64/ld-linux-x86-64.so.2
# The tree found from the wrapper's own path, so that it works wherever it
# is (the guest copies it into a tmpfs, scripts/guest/devlink.sh).
cat >"$R.tmp/bin/devlink" <<EOF
#!/bin/sh
# iproute2 $dver's devlink (Debian $SUITE), through its own loader and libraries.
R=\${0%/bin/*}
exec "\$R/usr/lib64/ld-linux-x86-64.so.2" --library-path "\$R/usr/lib/x86_64-linux-gnu" \\
	"\$R/usr/sbin/devlink" "\$@"
EOF
chmod +x "$R.tmp/bin/devlink"
mv "$R.tmp" "$R"

# Every library from the download, none of the host's; and the version.
if ! deps=$("$ld" --library-path "$libs" --list "$R/usr/sbin/devlink"); then
	die "iproute2 $dver: devlink does not load: $deps"
fi
host=$(echo "$deps" | grep '=>' | grep -v -F "=> $R/" || true)
[ -z "$host" ] || die "iproute2 $dver: devlink loads host libraries: $(echo "$host" | xargs)"
v=$("$DEVLINK" -V)
[ "$v" = "devlink utility, iproute2-$IPROUTE2_VERSION" ] || die "$DEVLINK -V says: $v"
(cd "$R/debs" && ls) >"$R/.rdl-iproute2"
log "iproute2 $dver: $v"
echo "$DEVLINK"
