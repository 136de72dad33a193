#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# make patches-check: every patch of the series builds on its own, without a
# warning. The series ('make patches') is checked out commit by commit in a
# work tree of its own, and the parts it touches are built there with the
# configuration of the test kernel: the kernel crate (with its KUnit tests),
# the doctests, the Rust samples and, once added, the re1000 driver. Only what
# a commit changes is rebuilt.
set -euo pipefail
. "$(dirname "$0")/env.sh"

"$TOP/scripts/build.sh" kernel
"$TOP/scripts/patches.sh" "$TOP/out/patches" >/dev/null

repo=$CACHE/git/linux-$KVER.git
base=$(cat "$repo/rdl-base")
dir=$CACHE/patches-check
wt=$dir/linux-$KVER
bd=$dir/build-$KVER
mkdir -p "$wt" "$bd"
export GIT_DIR=$repo GIT_WORK_TREE=$wt GIT_INDEX_FILE=$dir/index

checkout() {
	git checkout -q -f --detach "$1"
}

[ -f "$bd/.config" ] || log "checking out $KVER in $wt (once)"

targets=(rust/kernel.o rust/doctests_kernel_generated.o samples/rust/)
# The reference driver of the second series, from its patch on.
re1000=drivers/net/ethernet/intel/re1000
fail=0
n=0
echo "TAP version 13"
commits=$(git rev-list --reverse "$base..refs/heads/rust-devlink")
echo "1..$(echo "$commits" | wc -l)"
for c in $commits; do
	n=$((n + 1))
	subject=$(git log -1 --format=%s "$c")
	checkout "$c"
	log=$bd/patch-$n.log
	# The test kernel's options, those a commit adds (the sample's, the
	# driver's, which the test kernel builds out of tree) included.
	cp "$BUILD/.config" "$bd/.config"
	echo "CONFIG_RE1000=m" >>"$bd/.config"
	t=("${targets[@]}")
	[ -d "$wt/$re1000" ] && t+=("$re1000/")
	if ! { kmake -C "$wt" O="$bd" olddefconfig &&
		kmake -C "$wt" O="$bd" -j"$(nproc)" "${t[@]}"; } >"$log" 2>&1; then
		echo "not ok $n $subject # build failed (log: $log)"
		grep -E -A8 '^(error|warning)' "$log" | head -n 40 | sed 's/^/#   /'
		fail=1
	elif grep -qE '^warning|: warning:' "$log"; then
		echo "not ok $n $subject # warnings (log: $log)"
		grep -E -A8 '^warning|: warning:' "$log" | head -n 40 | sed 's/^/#   /'
		fail=1
	else
		echo "ok $n $subject"
	fi
done
[ $fail = 0 ] || die "a patch of the series does not build cleanly"
