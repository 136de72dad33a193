#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# What must not compile. Each scripts/build-fail/NAME.rs is a module that
# safe code could write if an abstraction were unsound; it must fail to build
# against the kernel, with the error its '// expect:' line names (kernel
# doctests run as KUnit, so a compile_fail doctest would check nothing).
#
#   build-fail.sh         every case; prints a line per case, fails if any
#                         case builds or fails for another reason
set -euo pipefail
. "$(dirname "$0")/env.sh"

fail=0
for c in "$TOP"/scripts/build-fail/*.rs; do
	name=$(basename "$c" .rs)
	expect=$(sed -n 's|^// expect: ||p' "$c")
	[ -n "$expect" ] || die "build-fail: $c has no '// expect:' line"
	d=$BUILD/build-fail/$name
	rm -rf "$d"
	mkdir -p "$d"
	cp "$c" "$d/"
	echo "obj-m := $name.o" >"$d/Kbuild"
	if kmake -C "$BUILD" M="$d" modules >"$d/build.log" 2>&1; then
		echo "build-fail: $name builds, but must not" >&2
		fail=1
	elif ! grep -qF -- "$expect" "$d/build.log"; then
		echo "build-fail: $name fails, but not with $expect:" >&2
		grep -E -A6 '^error' "$d/build.log" | head -n 30 >&2
		fail=1
	else
		echo "build-fail: $name: $(grep -m1 -F -- "$expect" "$d/build.log")"
	fi
done
exit $fail
