#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Runs inside the VM: every selftest of ours (or those matching T), the
# kselftest way, one after the other, with the kernel log checked for splats
# after each, then a kmemleak scan. Results go to $OUT for the host:
#   results     one line per test: "<ok|not ok|skip> <name>[ # reason]"
#   logs/       each test's output
#   dmesg.txt   the whole kernel log
#   status      written last: the run completed
set -u
OUT=$1
T=${2:-}
TOP=$(cd "$(dirname "$0")/../.." && pwd)

# The tests find the modules (RSMOKE_KO, ...) and the kernel tree here.
set -a
# shellcheck source=/dev/null
. "$OUT/env.sh"
set +a
export KSFT_LIB=$KSRC/tools/testing/selftests
# QMP of the VM (scripts/vm.sh), for tests that unplug devices.
export RDL_QMP_DIR=$OUT

mountpoint -q /sys/kernel/debug || mount -t debugfs none /sys/kernel/debug
dmesg >"$OUT/boot-dmesg.txt"
: >"$OUT/results"

# Every leak counts, those of the KUnit tests and doctests at boot included.
KMEMLEAK=/sys/kernel/debug/kmemleak

mark() { echo "rdl-test: $*" >/dev/kmsg; }

# Kernel log since the last "rdl-test: begin" marker.
log_since_begin() {
	dmesg | awk '/rdl-test: begin /{buf=""; next} {buf=buf $0 "\n"} END{printf "%s", buf}'
}

# Every program of TEST_PROGS; those of TEST_PROGS_EXTENDED (meant to fail,
# such as the KASAN proof) only when T names one exactly.
tests() {
	local mk dir var prog
	find "$TOP/tools/testing/selftests" -name Makefile | sort | while read -r mk; do
		dir=$(dirname "$mk")
		dir=${dir#"$TOP"/tools/testing/selftests/}
		for var in TEST_PROGS TEST_PROGS_EXTENDED; do
			sed -n "s/^${var}[[:space:]]*[:+]*=[[:space:]]*//p" "$mk" | tr ' ' '\n' |
				while read -r prog; do
					[ -n "$prog" ] || continue
					if [ $var = TEST_PROGS ]; then
						case $dir/$prog in *"$T"*) echo "$dir/$prog" ;; esac
					elif [ "$T" = "$prog" ] || [ "$T" = "$dir/$prog" ]; then
						echo "$dir/$prog"
					fi
				done
		done
	done
}


for t in $(tests); do
	dir=$TOP/tools/testing/selftests/$(dirname "$t")
	timeout=$(sed -n 's/^timeout=//p' "$dir/settings" 2>/dev/null)
	echo "# selftests: $t"
	mark "begin $t"
	logf=$OUT/logs/$(echo "$t" | tr / _).log
	mkdir -p "$OUT/logs"
	(cd "$dir" && timeout "${timeout:-45}" "./$(basename "$t")") >"$logf" 2>&1
	rc=$?
	mark "end $t"
	sed 's/^/# /' "$logf"
	splat=$(log_since_begin | "$TOP/scripts/splat.sh" | head -n 1)
	if [ -n "$splat" ]; then
		echo "not ok $t # kernel splat: $splat" >>"$OUT/results"
	elif [ $rc = 0 ]; then
		echo "ok $t" >>"$OUT/results"
	elif [ $rc = 4 ]; then
		echo "skip $t" >>"$OUT/results"
	elif [ $rc = 124 ]; then
		echo "not ok $t # timeout after ${timeout:-45} s" >>"$OUT/results"
	else
		echo "not ok $t # exit status $rc" >>"$OUT/results"
	fi
	tail -n 1 "$OUT/results"
done

if [ -w "$KMEMLEAK" ]; then
	# kmemleak reports an object only when it is older than 5 s and was
	# not referenced during a scan.
	sleep 6
	echo scan >"$KMEMLEAK"
	echo scan >"$KMEMLEAK"
	cat "$KMEMLEAK" >"$OUT/kmemleak.txt"
	leak=$(grep -m1 'unreferenced object' "$OUT/kmemleak.txt")
	if [ -n "$leak" ]; then
		# The first frame that is not the allocator itself.
		at=$(sed -n '/backtrace/,/^unreferenced/p' "$OUT/kmemleak.txt" |
			grep -v -E 'backtrace|kmemleak|alloc|slab|unreferenced' |
			head -n 1 | tr -s ' ')
		echo "not ok kmemleak # ${leak%:}, allocated at${at}" >>"$OUT/results"
	else
		echo "ok kmemleak" >>"$OUT/results"
	fi
else
	echo "skip kmemleak # kernel without kmemleak" >>"$OUT/results"
fi

dmesg >"$OUT/dmesg.txt"
echo "done" >"$OUT/status"
