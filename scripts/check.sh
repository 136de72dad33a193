#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# make check: the lints a patch must pass before it is sent.
#  - the series describes every in-tree file
#  - rustfmt (the kernel's .rustfmt.toml) on all Rust code
#  - the kernel crate (with our in-tree part) is clippy-clean
#  - our modules build warning-free with W=1 and CLIPPY=1
#  - what must not compile does not (scripts/build-fail/)
#  - checkpatch.pl on C, headers, scripts and the generated patch series
#  - shellcheck (warnings and errors) on scripts
set -euo pipefail
. "$(dirname "$0")/env.sh"

"$TOP/scripts/build.sh" kernel
fail=0
step() { printf '%-40s' "$1"; }
ok() { echo ok; }
bad() { echo "FAILED"; fail=1; }

cd "$TOP"
step "series"
if "$TOP/scripts/series.sh" check; then ok; else bad; fi

step "rustfmt"
rs=$(git ls-files '*.rs')
if [ -z "$rs" ] || rustfmt --check --config-path "$TREE/.rustfmt.toml" --edition 2021 $rs; then
	ok
else
	bad
fi

step "clippy (our modules), W=1"
rdl_kbuild_modules -s clean >/dev/null
if rdl_kbuild_modules W=1 CLIPPY=1 -j"$(nproc)" modules >"$BUILD/clippy.log" 2>&1 &&
	! grep -E '(warning|error)(\[[^]]*\])?:' "$BUILD/clippy.log"; then
	ok
else
	bad
	grep -E -A8 '(warning|error)(\[[^]]*\])?:' "$BUILD/clippy.log" | head -n 60
fi

# What must not compile: modules that would be unsound if they built.
step "build-fail"
if "$TOP/scripts/build-fail.sh" >"$BUILD/build-fail.log" 2>&1; then
	ok
else
	bad
	cat "$BUILD/build-fail.log"
fi

cp_opts=(--no-tree --strict --quiet --show-types --ignore SPDX_LICENSE_TAG)
step "checkpatch (files)"
files=$(git ls-files '*.c' '*.h' '*.sh' 'Kbuild' '*/Kbuild' 'scripts/*' | sort -u)
if "$TREE/scripts/checkpatch.pl" "${cp_opts[@]}" -f $files; then ok; else bad; fi

# The cover letter is no patch. FILE_PATH_CHANGES asks every patch that adds
# a file to touch MAINTAINERS; the fmsg patch adds the entry that covers the
# files the later ones add. UNKNOWN_COMMIT_ID: the pristine tree the series is
# made on has no history, so the commit a Fixes: tag names cannot be found in
# it (the tag was checked against the upstream history).
step "checkpatch (series)"
pd=$(mktemp -d)
if "$TOP/scripts/patches.sh" "$pd" >/dev/null && rm "$pd"/*/*0000-cover-letter.patch &&
	"$TREE/scripts/checkpatch.pl" --no-tree --strict --quiet --show-types \
		--ignore FILE_PATH_CHANGES,UNKNOWN_COMMIT_ID "$pd"/*/*.patch; then
	ok
else
	bad
fi
rm -rf "$pd"

step "shellcheck"
scripts=$(git ls-files '*.sh' 'scripts/*' | grep -v -E '\.(c|py|rs)$' | sort -u)
if shellcheck -S warning -x -e SC1090,SC1091 $scripts; then ok; else bad; fi

# The kernel crate's documentation, where broken intra-doc links show.
step "rustdoc"
if kmake -C "$TREE" O="$BUILD" -j"$(nproc)" rustdoc >"$BUILD/rustdoc.log" 2>&1 &&
	! grep -E '(warning|error)(\[[^]]*\])?:' "$BUILD/rustdoc.log"; then
	ok
else
	bad
	grep -E -A8 '(warning|error)(\[[^]]*\])?:' "$BUILD/rustdoc.log" | head -n 60
fi

# Last: clippy-driver's kernel crate differs in its symbol hashes from the
# one vmlinux exports, so the normal build is restored right after.
step "clippy (kernel crate, samples)"
if kmake -C "$TREE" O="$BUILD" CLIPPY=1 -j"$(nproc)" rust/kernel.o \
	samples/rust/rust_devlink_health.o \
	>"$BUILD/clippy-kernel.log" 2>&1 &&
	! grep -E '(warning|error)(\[[^]]*\])?:' "$BUILD/clippy-kernel.log"; then
	ok
else
	bad
	grep -E -A8 '(warning|error)(\[[^]]*\])?:' "$BUILD/clippy-kernel.log" | head -n 60
fi

log "restoring the normal build"
"$TOP/scripts/build.sh" all 2>/dev/null

[ $fail = 0 ] || die "lints failed (see above)"
echo "all lints pass"
