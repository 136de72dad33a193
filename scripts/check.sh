#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# make check: the lints a patch must pass before it is sent.
#  - the series describes every in-tree file
#  - rustfmt (the kernel's .rustfmt.toml) on all Rust code
#  - the kernel crate (with our in-tree part) is clippy-clean
#  - our modules build warning-free with W=1 and CLIPPY=1
#  - what must not compile does not (scripts/build-fail/)
#  - checkpatch.pl on C, headers, scripts and the generated patch series
#  - shellcheck (warnings and errors) on scripts, ruff on Python
#  - rustdoc of the kernel crate: intra-doc and srctree/ links resolve
#  - the networking docs with ours, as 'make htmldocs SPHINXDIRS=networking'
#    builds them, warning-free
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

# Python as NIPA reads the selftests': ruff's pyflakes and pycodestyle rules,
# with the kernel's line length.
step "ruff"
py=$(git ls-files '*.py')
if [ -z "$py" ] || ruff check -q --no-cache --line-length 100 --select E,F,W $py; then
	ok
else
	bad
fi

# The kernel crate's documentation, where broken intra-doc links show.
step "rustdoc"
if kmake -C "$TREE" O="$BUILD" -j"$(nproc)" rustdoc >"$BUILD/rustdoc.log" 2>&1 &&
	! grep -E '(warning|error)(\[[^]]*\])?:' "$BUILD/rustdoc.log"; then
	ok
else
	bad
	grep -E -A8 '(warning|error)(\[[^]]*\])?:' "$BUILD/rustdoc.log" | head -n 60
fi

# The networking documentation, ours included, built as the kernel builds
# it: 'make htmldocs SPHINXDIRS=networking' with the venv's Sphinx (so the
# host's make, not the toolchain's), in an output directory of its own in
# the cache (docs/), with the jobs make gives it. From scratch: Sphinx warns
# about a page only when it reads it, and leaves the output of a page that
# is gone. Every warning fails but these, which the pristine 7.3.4 tree
# gives there too (each pattern one line of the log, paths relative to the
# tree):
docs_known=(
	# graphviz is optional (tools/docs/sphinx-pre-install): without it,
	# graphs are shown as their source.
	'^WARNING: dot\(1\) not found, for better output quality install graphviz '
	# kernel-doc of upstream headers.
	"^WARNING: include/net/page_pool/types\.h:105 Excess struct member '(fast|slow)' "
	# Docutils 0.22 refuses the section titles of a DOC: block in a
	# kernel-doc directive (0.21 dropped them silently).
	'^Documentation/networking/kapi:107: include/net/net_shaper\.h:(75|88): ERROR: A level 3 '
	# Duplicate entries in Documentation/ABI, which a page of networking
	# includes whole: sysfs-driver-hid-lenovo-go and -lenovo-go-s.
	'^WARNING: /sys/bus/usb/devices/.*/(os_mode|touchpad/enabled)(_index)? is defined 2 times: '
	# Targets outside SPHINXDIRS: the generated netlink specs and labels
	# of other folders exist only in a build of the whole Documentation.
	"^Documentation/networking/index\.rst:8: WARNING: toctree .* 'netlink/specs/index' "
	"^Documentation/networking/index\.rst:4: WARNING: undefined label: 'netdev-faq' "
	"^Documentation/networking/devlink/devlink-port\.rst:380: WARNING: .* 'auxiliary_bus' "
)
step "htmldocs (networking)"
t0=$SECONDS
docs=$CACHE/docs/${TREE##*/}
rm -rf "$docs"
mkdir -p "$docs"
# Sphinx colours its warnings when CI=true or FORCE_COLOR is set, even into
# a file; NO_COLOR wins over both, and the sed below strips what is left.
NO_COLOR=1 make -C "$TREE" O="$docs" SPHINXDIRS=networking -j"$(nproc)" htmldocs \
	>"$docs/htmldocs.log" 2>&1 && docs_rc=0 || docs_rc=$?
docs_bad=$docs/htmldocs.bad
sed -e "s|$TREE/||g" -e 's/\x1b\[[0-9;]*m//g' "$docs/htmldocs.log" |
	grep -E '(WARNING|ERROR|CRITICAL|SEVERE)' |
	grep -v -E "${docs_known[@]/#/-e}" >"$docs_bad" || true
# Each of our pages that the series lays in the tree must have become a page
# of the output. Those it does not (rdevsim.rst: the module is out of tree)
# are checked by Docutils alone, as a reST viewer renders them.
for f in $(git ls-files '*.rst'); do
	html=${f#Documentation/}
	html=$docs/Documentation/output/${html%.rst}.html
	if [ ! -f "$TREE/$f" ]; then
		docutils --exit-status=warning "$f" /dev/null >>"$docs_bad" 2>&1 ||
			echo "$f: Docutils failed" >>"$docs_bad"
	elif [ ! -f "$html" ]; then
		echo "$f: not built (SPHINXDIRS=networking)" >>"$docs_bad"
	fi
done
if [ "$docs_rc" = 0 ] && [ ! -s "$docs_bad" ]; then
	echo "ok ($((SECONDS - t0)) s)"
else
	bad
	[ "$docs_rc" = 0 ] || tail -n 20 "$docs/htmldocs.log"
	cat "$docs_bad"
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
