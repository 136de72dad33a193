#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Lay the in-tree part (the patches described under series/) onto a working
# copy of the pristine kernel tree.
#
#   overlay.sh PRISTINE TREE
#
# TREE starts as a hard-linked copy of PRISTINE. Files are only ever replaced
# (written to a temporary name and renamed), so the pristine tree is never
# modified, and only files whose content changes are replaced, so unchanged
# files keep their timestamps and an incremental build rebuilds only what
# changed. Files laid by an earlier run and no longer part of the overlay are
# put back to their pristine content (with a new timestamp) or removed.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

pristine=$1
tree=$2
state=$tree/.rdl-overlay

if [ ! -f "$tree/.rdl-tree" ]; then
	log "making the working tree $tree"
	rm -rf "$tree"
	mkdir -p "$(dirname "$tree")"
	cp -al "$pristine" "$tree.tmp"
	echo "$pristine" >"$tree.tmp/.rdl-tree"
	mv "$tree.tmp" "$tree"
fi

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
"$TOP/scripts/series.sh" stage "$pristine" "$stage"

# Replace $2 by $1 unless they are equal already.
replace() {
	if ! cmp -s "$1" "$2"; then
		mkdir -p "$(dirname "$2")"
		cp "$1" "$2.rdl-tmp"
		mv -f "$2.rdl-tmp" "$2"
		echo "  laid $3"
	fi
}

(cd "$stage" && find . -type f | sed 's|^\./||' | sort) >"$stage.list"
while read -r p; do
	replace "$stage/$p" "$tree/$p" "$p"
done <"$stage.list"

if [ -f "$state" ]; then
	comm -23 <(sort "$state") "$stage.list" | while read -r p; do
		if [ -f "$pristine/$p" ]; then
			replace "$pristine/$p" "$tree/$p" "$p (pristine)"
		else
			rm -f "$tree/$p"
			echo "  removed $p"
		fi
	done
fi
mv "$stage.list" "$state"
