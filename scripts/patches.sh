#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# make patches [PATCH_DIR=dir]: the in-tree part (series/) as 'git
# format-patch' series with cover letters, one directory per series, against
# the pristine tree of the kernel version in use. They apply with 'git am',
# in order, to that tree.
set -euo pipefail
. "$(dirname "$0")/env.sh"

dest=${1:-$TOP/out/patches}
rdl_source

# A git repository whose work tree is the pristine source, made once.
repo=$CACHE/git/linux-$KVER.git
if [ ! -f "$repo/rdl-base" ]; then
	log "recording the pristine $KVER tree in git (once; a minute or two)"
	rm -rf "$repo"
	git init -q --bare "$repo"
	export GIT_DIR=$repo GIT_WORK_TREE=$PRISTINE
	git add -A -f -- . ':!.rdl-pristine'
	GIT_AUTHOR_NAME=Linux GIT_AUTHOR_EMAIL=linux@kernel.invalid \
		GIT_COMMITTER_NAME=Linux GIT_COMMITTER_EMAIL=linux@kernel.invalid \
		git commit -q -m "Linux $KVER"
	git rev-parse HEAD >"$repo/rdl-base"
	unset GIT_DIR GIT_WORK_TREE
fi
base=$(cat "$repo/rdl-base")

# The patches are ours: author them as the user of this repository.
name=$(git -C "$TOP" config user.name || echo "rust-devlink developers")
email=$(git -C "$TOP" config user.email || echo "rust-devlink@localhost")
export GIT_AUTHOR_NAME=$name GIT_AUTHOR_EMAIL=$email
export GIT_COMMITTER_NAME=$name GIT_COMMITTER_EMAIL=$email

# The version of a series on the list (v1 of the first two was posted as one
# series), unless series/NAME/reroll says otherwise (1: never posted); the
# subject prefix is PATCH, or the tree (net, net-next) of series/NAME/tree.
REROLL=2
heads=$("$TOP/scripts/series.sh" commits "$repo" "$base")
rm -rf "$dest"
mkdir -p "$dest"
# One directory per series, each a 'git format-patch' series on top of the
# ones before it (its base-commit says which).
from=$base
while read -r name head; do
	out=$dest/$name
	mkdir -p "$out"
	reroll=$(cat "$TOP/series/$name/reroll" 2>/dev/null || echo "$REROLL")
	tree=$(cat "$TOP/series/$name/tree" 2>/dev/null || true)
	version=()
	[ "$reroll" = 1 ] || version=(--reroll-count="$reroll")
	git --git-dir="$repo" format-patch -q --cover-letter "${version[@]}" \
		--subject-prefix="PATCH${tree:+ $tree}" --base="$from" -o "$out" "$from..$head"
	# Fill in the cover letter from series/NAME/cover-letter.
	cover=$(ls "$out"/*0000-cover-letter.patch)
	letter=$TOP/series/$name/cover-letter
	subject=$(head -n 1 "$letter")
	tail -n +3 "$letter" >"$out/.blurb"
	sed -i -e "s|\*\*\* SUBJECT HERE \*\*\*|$subject|" \
		-e "/\*\*\* BLURB HERE \*\*\*/{r $out/.blurb
d}" "$cover"
	rm -f "$out/.blurb"
	from=$head
done <<<"$heads"
git --git-dir="$repo" update-ref refs/heads/rust-devlink "$from"
(cd "$dest" && ls -d ./*/*)
