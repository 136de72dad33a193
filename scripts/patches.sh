#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# make patches [PATCH_DIR=dir]: the in-tree part (series/) as a
# 'git format-patch' series with a cover letter, against the pristine tree of
# the kernel version in use. It applies with 'git am' to that tree.
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

head=$("$TOP/scripts/series.sh" commits "$repo" "$base")
git --git-dir="$repo" update-ref refs/heads/rust-devlink "$head"

rm -rf "$dest"
mkdir -p "$dest"
git --git-dir="$repo" format-patch -q --cover-letter --base="$base" -o "$dest" "$base..$head"

# Fill in the cover letter from series/cover-letter.
cover=$(ls "$dest"/0000-cover-letter.patch)
subject=$(head -n 1 "$TOP/series/cover-letter")
tail -n +3 "$TOP/series/cover-letter" >"$dest/.blurb"
sed -i -e "s|\*\*\* SUBJECT HERE \*\*\*|$subject|" \
	-e "/\*\*\* BLURB HERE \*\*\*/{r $dest/.blurb
d}" "$cover"
rm -f "$dest/.blurb"
ls "$dest"
