#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Runs inside the VM: every selftest of ours (or those matching T), the
# kselftest way, one after the other, with the kernel log checked for splats
# and the modules checked for any a test left loaded after each, then a
# kmemleak scan. Results go to $OUT for the host:
#   results     one line per test: "<ok|not ok|skip> <name>[ # reason]"
#   logs/       each test's output
#   dmesg.txt   the whole kernel log
#   status      written last: the run completed
#   run-tests.sh OUT [T]
# On the host, 'run-tests.sh --timeouts [T]' lists the tests with their
# timeouts ("<test> <seconds>"), and does nothing else.
set -u

TOP=$(cd "$(dirname "$0")/../.." && pwd)
# A test gets SIGTERM at its timeout (settings, 45 s by default as in
# kselftest), its process group SIGKILL KILL_AFTER seconds later (timeout -k,
# which dies of that SIGKILL too). A process of the group still there REAP_S
# seconds after that is stuck in the kernel: the test is reported as hung,
# with the stacks, and the process is left behind.
KILL_AFTER=10
REAP_S=5

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

# The timeout of test $1, from its folder's settings, or RDL_TEST_TIMEOUT
# (make fuzz) for every test.
test_timeout() {
	local to
	to=$(sed -n 's/^timeout=//p' "$TOP/tools/testing/selftests/$(dirname "$1")/settings" \
		2>/dev/null)
	echo "${RDL_TEST_TIMEOUT:-${to:-45}}"
}

if [ "${1:-}" = --timeouts ]; then
	T=${2:-}
	for t in $(tests); do echo "$t $(test_timeout "$t")"; done
	exit 0
fi

OUT=$1
T=${2:-}

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

# Every test runs iproute2 of Linux 7.3's devlink, never the host's: without
# it, nothing runs.
# shellcheck source=scripts/guest/devlink.sh
. "$TOP/scripts/guest/devlink.sh"
if ! rdl_guest_devlink >"$OUT/devlink-version"; then
	echo "not ok devlink # $(cat "$OUT/devlink-version")" >>"$OUT/results"
	tail -n 1 "$OUT/results"
	echo "done" >"$OUT/status"
	exit 0
fi
devlink -V >"$OUT/devlink-version" 2>&1
# And Python from a tmpfs (see there why): the tests' python3 and PYTHON.
# shellcheck source=scripts/guest/python.sh
. "$TOP/scripts/guest/python.sh"
if ! rdl_guest_python "$OUT/python.tar" >"$OUT/python-version" 2>&1; then
	echo "not ok python # $(cat "$OUT/python-version")" >>"$OUT/results"
	tail -n 1 "$OUT/results"
	echo "done" >"$OUT/status"
	exit 0
fi
python3 -V >"$OUT/python-version" 2>&1
echo "# $(cat "$OUT/devlink-version"); $(cat "$OUT/python-version"), from a tmpfs"

# Every leak counts, those of the KUnit tests and doctests at boot included.
KMEMLEAK=/sys/kernel/debug/kmemleak
# Scanned once, after the tests (below): the automatic scan every ten
# minutes walks all memory, under KASAN, while the tests run.
if [ -e "$KMEMLEAK" ]; then echo scan=off >"$KMEMLEAK"; fi

# The VM is killed at its time limit (scripts/vm.sh writes it to vm-timeout,
# counted from before the boot). Each test's timeout is cut to what is left
# of it, keeping RESERVE_S seconds for the kmemleak scan and the log copy
# and a test's kill and reap time, so that the run always gets that far.
RESERVE_S=120
vm_limit=$(cat "$OUT/vm-timeout" 2>/dev/null || echo 2400)
uptime_s() { cut -d. -f1 /proc/uptime; }

mark() { echo "rdl-test: $*" >/dev/kmsg; }

# The loaded modules, the last loaded first (a module before those it uses).
loaded() { cut -d' ' -f1 /proc/modules; }

# Kernel log since the last "rdl-test: begin" marker.
log_since_begin() {
	dmesg | awk '/rdl-test: begin /{buf=""; next} {buf=buf $0 "\n"} END{printf "%s", buf}'
}

# Where the processes of a hung test are stuck: each process of its process
# group (timeout(1) leads one), then every task in uninterruptible sleep (what
# sysrq w shows; the test kernel has no sysrq), with its kernel stack. Shell
# builtins only, but for the stacks: a process costs tens of milliseconds to
# start under emulation.
stuck_stacks() {
	local pgid=$1 d stat rest state pgrp comm wchan
	for d in /proc/[0-9]*/task/[0-9]*; do
		read -r stat <"$d/stat" 2>/dev/null || continue
		rest=${stat##*) }
		read -r state _ pgrp _ <<<"$rest"
		[ "$pgrp" = "$pgid" ] || [ "$state" = D ] || continue
		read -r comm <"$d/comm" 2>/dev/null
		read -r wchan <"$d/wchan" 2>/dev/null
		echo "# task ${d##*/} ($comm), state $state, pgrp $pgrp, wchan $wchan"
		sed 's/^/#   /' "$d/stack" 2>/dev/null
	done
	if [ -w /proc/sysrq-trigger ]; then echo w >/proc/sysrq-trigger; fi
}

# Whether a process of group $1 is alive (zombies are not).
group_alive() {
	ps -e -o pgid=,stat= | awk -v g="$1" '$1 == g && $2 !~ /^Z/ { n++ } END { exit !n }'
}

# Runs test $1 with timeout $2, output to $3; prints its status: the exit
# status, or "hung" when a process of it could not be killed.
run_one() {
	local t=$1 to=$2 logf=$3 pid timer done_pid rc i
	(cd "$TOP/tools/testing/selftests/$(dirname "$t")" &&
		exec timeout -k "$KILL_AFTER" "$to" "./$(basename "$t")") </dev/null >"$logf" 2>&1 &
	pid=$!
	# In case timeout(1) itself cannot finish.
	sleep $((to + KILL_AFTER + REAP_S)) >/dev/null 2>&1 &
	timer=$!
	wait -n -p done_pid "$pid" "$timer"
	rc=$?
	if [ "$done_pid" = "$pid" ]; then
		kill "$timer" 2>/dev/null
		wait "$timer" 2>/dev/null
		case $rc in 124 | 137) ;; *) echo "$rc"; return ;; esac
		for ((i = 0; i < REAP_S * 2; i++)); do
			group_alive "$pid" || break
			sleep 0.5
		done
		group_alive "$pid" || { echo "$rc"; return; }
	fi
	stuck_stacks "$pid" >>"$logf"
	kill -KILL -- "-$pid" 2>/dev/null
	echo hung
}

for t in $(tests); do
	timeout=$(test_timeout "$t")
	left=$((vm_limit - RESERVE_S - KILL_AFTER - REAP_S - $(uptime_s)))
	if [ "$left" -lt 10 ]; then
		echo "not ok $t # not run: ${left} s left of the VM's time limit" >>"$OUT/results"
		tail -n 1 "$OUT/results"
		continue
	fi
	[ "$timeout" -le "$left" ] || timeout=$left
	echo "# selftests: $t"
	mods=$(loaded)
	mark "begin $t"
	logf=$OUT/logs/$(echo "$t" | tr / _).log
	mkdir -p "$OUT/logs"
	t0=$SECONDS
	rc=$(run_one "$t" "$timeout" "$logf")
	mark "end $t"
	sed 's/^/# /' "$logf"
	# What each test costs of the VM's time budget.
	echo "# $t: $((SECONDS - t0)) s"
	splat=$(log_since_begin | "$TOP/scripts/splat.sh" | head -n 1)
	# A module the test loaded and left loaded fails it (a test cleans up
	# after itself, on failure too); it is unloaded here, so that the next
	# test starts as this one did.
	leftover=$(loaded | grep -vxF -f <(echo "$mods") | xargs)
	for m in $leftover; do rmmod "$m" 2>/dev/null; done
	if [ "$rc" = hung ]; then
		echo "not ok $t # hung: still there ${REAP_S} s after its timeout ($timeout s)" \
			"and SIGKILL ${KILL_AFTER} s later, stacks in its log" >>"$OUT/results"
	elif [ -n "$splat" ]; then
		echo "not ok $t # kernel splat: $splat" >>"$OUT/results"
	elif [ -n "$leftover" ]; then
		echo "not ok $t # left loaded: $leftover" >>"$OUT/results"
	elif [ "$rc" = 0 ]; then
		# A test that passes with skipped cases has skipped.
		skipped=$(grep -m1 -E '^(ok [0-9]+ .*# SKIP|1\.\.0 # SKIP)' "$logf")
		if [ -n "$skipped" ]; then
			echo "skip $t # skipped: ${skipped#ok }" >>"$OUT/results"
		else
			echo "ok $t" >>"$OUT/results"
		fi
	elif [ "$rc" = 4 ]; then
		reason=$(sed -n 's/^1\.\.0 # SKIP *//p' "$logf" | head -n 1)
		echo "skip $t # ${reason:-exit status 4}" >>"$OUT/results"
	elif [ "$rc" = 124 ]; then
		echo "not ok $t # timeout after $timeout s" >>"$OUT/results"
	elif [ "$rc" = 137 ]; then
		echo "not ok $t # timeout after $timeout s, SIGTERM ignored: killed" \
			>>"$OUT/results"
	else
		echo "not ok $t # exit status $rc" >>"$OUT/results"
	fi
	tail -n 1 "$OUT/results"
done

# kmemleak reports an object only when it is older than 5 s and was not
# referenced during a scan. A scan that fails, or kmemleak having turned
# itself off (it says so in the kernel log; scans then fail with EPERM), is
# a failure: no scan, no proof that nothing leaked.
if [ -e "$KMEMLEAK" ]; then
	sleep 6
	scan_err=$({ echo scan >"$KMEMLEAK" && echo scan >"$KMEMLEAK"; } 2>&1) ||
		scan_err=${scan_err:-failed}
	off=$(dmesg | grep -m1 -E 'kmemleak: (Kernel memory leak detector|Kmemleak) disabled')
	cat "$KMEMLEAK" >"$OUT/kmemleak.txt"
	leak=$(grep -m1 'unreferenced object' "$OUT/kmemleak.txt")
	if [ -n "$off$scan_err" ]; then
		off=${off:+ turned off: ${off#\[*\] };}
		echo "not ok kmemleak #$off${scan_err:+ scan: ${scan_err##*: }}" >>"$OUT/results"
	elif [ -n "$leak" ]; then
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
exit 0
