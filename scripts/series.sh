#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The in-tree part as patch series. Each directory series/N-name/ is one
# series, posted on its own and applied in name order, each on top of the
# ones before it; its cover-letter has the subject line, a blank line and the
# text of its cover letter; 'tree' (net, net-next) and 'reroll' (its
# version, when not 2) are optional (patches.sh). Each directory
# series/N-name/NNNN-slug/ is one patch of it:
#   message   the commit message (subject line, blank line, body)
#   files     paths of files this patch adds, taken whole from the repository;
#             a line "SOURCE PATH" takes the file at SOURCE of the repository
#             (an out-of-tree module under src/) to PATH of the tree
#   *.diff    edits to files of the tree (or of earlier patches), applied in
#             name order with 'git apply'
#
#   series.sh check                     every in-tree file belongs to a patch
#   series.sh stage PRISTINE DIR        write every file the series touches,
#                                       at its final content, under DIR
#   series.sh commits REPO BASE         add one commit per patch on top of
#                                       BASE in git repository REPO, print
#                                       each series' name and last commit
set -euo pipefail
. "$(dirname "$0")/lib.sh"

S=$TOP/series
# Directories of the repository that mirror the kernel tree's in-tree part.
INTREE="rust include samples Documentation/networking/devlink/devlink-health-rust.rst
	Documentation/networking/devlink/re1000.rst"

serieses() { find "$S" -mindepth 1 -maxdepth 1 -type d | sort; }
# The patch directories of series $1, or of every series, in order.
patches() {
	local sr
	for sr in ${1:-$(serieses)}; do
		find "$sr" -mindepth 1 -maxdepth 1 -type d | sort
	done
}
# The lines of the files list of patch $1: "PATH" or "SOURCE PATH".
file_lines() { [ -f "$1/files" ] && grep -v '^[[:space:]]*\(#\|$\)' "$1/files" || true; }
# The tree paths that patch $1 adds whole.
files_of() { file_lines "$1" | awk '{ print $NF }'; }
# "SOURCE PATH" for each file that patch $1 adds whole.
sources_of() { file_lines "$1" | awk '{ print $1, $NF }'; }
diffs_of() { find "$1" -maxdepth 1 -name '*.diff' | sort; }
diff_targets() { sed -n 's|^+++ b/||p' "$1"; }
# Whether every file diff $1 edits is added whole by some patch.
all_claimed() {
	local f p
	for f in $(diff_targets "$1"); do
		for p in $(patches); do files_of "$p"; done | grep -qxF "$f" || return 1
	done
}

check() {
	local claimed p f bad=0
	claimed=$(for p in $(patches); do files_of "$p"; done | sort)
	if dup=$(echo "$claimed" | uniq -d) && [ -n "$dup" ]; then
		die "in more than one series patch: $dup"
	fi
	for f in $(for p in $(patches); do sources_of "$p"; done | cut -d' ' -f1); do
		[ -f "$TOP/$f" ] || { echo "series: $f is listed but missing" >&2; bad=1; }
	done
	for f in $(cd "$TOP" && git ls-files $INTREE 2>/dev/null || true); do
		echo "$claimed" | grep -qxF "$f" ||
			{ echo "series: $f belongs to no patch (see series/*/files)" >&2; bad=1; }
	done
	for p in $(patches); do
		[ -s "$p/message" ] || { echo "series: $p has no message" >&2; bad=1; }
	done
	for p in $(serieses); do
		[ -s "$p/cover-letter" ] || { echo "series: $p has no cover-letter" >&2; bad=1; }
	done
	[ $bad = 0 ] || die "the series does not describe the in-tree part"
}

# Apply patch directory $1 onto the files under $2, fetching the files its
# diffs touch from $3 (the pristine tree) on first use.
apply_one() {
	local p=$1 dir=$2 base=$3 f d src
	while read -r src f; do
		[ -n "$f" ] || continue
		mkdir -p "$dir/$(dirname "$f")"
		cp "$TOP/$src" "$dir/$f"
	done <<<"$(sources_of "$p")"
	for d in $(diffs_of "$p"); do
		for f in $(diff_targets "$d"); do
			if [ ! -e "$dir/$f" ] && [ -f "$base/$f" ]; then
				mkdir -p "$dir/$(dirname "$f")"
				cp "$base/$f" "$dir/$f"
			fi
		done
		# A tree that already carries the series (KDIR=a tree made with
		# 'git am' of 'make patches') is taken as it is, and so is a diff
		# to a file that a later patch adds whole.
		if (cd "$dir" && git apply --check "$d" 2>/dev/null); then
			(cd "$dir" && git apply --whitespace=error-all "$d")
		elif ! (cd "$dir" && git apply --reverse --check "$d" 2>/dev/null) &&
			! all_claimed "$d"; then
			die "series: $d does not apply to this kernel tree"
		fi
	done
}

stage() {
	local p
	check
	for p in $(patches); do
		apply_one "$p" "$2" "$1"
	done
}

commits() {
	local repo=$1 head p idx tmp tree f d
	head=$(git -C "$repo" rev-parse "$2^{commit}")
	idx=$(mktemp)
	tmp=$(mktemp -d)
	check
	GIT_INDEX_FILE=$idx git -C "$repo" read-tree "$head"
	for sr in $(serieses); do
		for p in $(patches "$sr"); do
			while read -r src f; do
				[ -n "$f" ] || continue
				GIT_INDEX_FILE=$idx git -C "$repo" update-index --add --cacheinfo \
					"100644,$(git -C "$repo" hash-object -w "$TOP/$src"),$f"
			done <<<"$(sources_of "$p")"
			for d in $(diffs_of "$p"); do
				GIT_INDEX_FILE=$idx git -C "$repo" apply --cached "$d" ||
					die "series: $d does not apply"
			done
			tree=$(GIT_INDEX_FILE=$idx git -C "$repo" write-tree)
			head=$(git -C "$repo" commit-tree "$tree" -p "$head" -F "$p/message")
		done
		echo "$(basename "$sr") $head"
	done
	rm -rf "$idx" "$tmp"
}

cmd=$1
shift
case $cmd in
check) check ;;
stage) stage "$@" ;;
commits) commits "$@" ;;
*) die "series.sh: unknown command $cmd" ;;
esac
