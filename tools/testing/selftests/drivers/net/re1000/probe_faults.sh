#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The Rust e1000 driver (re1000) probing while allocations fail: QEMU's
# first e1000 NIC is bound again and again, with the Nth allocation of the
# binding task made to fail (/proc/self/fail-nth; failslab and
# fail_page_alloc, sleeping allocations and pages of any order included), N
# walking through every allocation that the probe makes: those with
# re1000's code on their stack (fault injection's stack filter), which are
# the probe's and what it calls; the driver core's own work around it is
# not re1000's to answer for. A bind makes about 500 of them, and each
# round takes about 3 s in the emulated VM: 'make test' fails every Nth
# of them, N such that the walk takes 24 rounds; PROBE_STRIDE=1 (make
# probe-walk) fails each one in turn. A bind either fails with
# ENOMEM (or ENOBUFS) and leaves nothing behind, or succeeds with the whole device (its
# interface, its devlink instance with both reporters, its debugfs knobs);
# user space never sees an interface that a failure then takes away (the
# network device is registered last), and nothing leaks or warns.
# RE1000_KO names the module file.

dir=$(dirname "$0")
KSFT_LIB=${KSFT_LIB:-$dir/../../..}
# shellcheck source=/dev/null
. "$KSFT_LIB/kselftest/ktap_helpers.sh"
# shellcheck source=lib.sh
. "$dir/lib.sh"

FS=/sys/kernel/debug/failslab
FP=/sys/kernel/debug/fail_page_alloc
DRV=/sys/bus/pci/drivers/re1000
MON=$(mktemp)
SAVED=$(mktemp)
BDF=
MONITOR=

# The knobs this test sets, in both fault types.
KNOBS="ignore-gfp-wait require-start require-end stacktrace-depth"

cleanup() {
	[ -z "$MONITOR" ] || kill "$MONITOR" 2>/dev/null
	local knob value
	# Back to what they were.
	while read -r knob value; do echo "$value" >"$knob"; done <"$SAVED"
	rm -f "$SAVED"
	ip link set lo group default 2>/dev/null
	rm -f "$MON"
	grep -q '^re1000 ' /proc/modules && rmmod re1000
}
trap cleanup EXIT

# bind N: binds the NIC with the Nth allocation of this task failing (a huge
# N: none fails); prints "ok" or the error, then the count of allocations
# that were left before the fault (fail-nth read back: 0 once injected).
# Everything in one process, as fail-nth is per task.
bind() {
	(
		exec 2>&1
		echo "$1" >/proc/self/fail-nth || exit 1
		if echo "$BDF" >$DRV/bind; then echo ok; fi
		read -r left </proc/self/fail-nth
		echo "left $left"
	)
}

# What the NIC has in the system: interface, devlink instance, reporters,
# debugfs folder, each "-" when absent.
traces() {
	local reps dbg
	reps=$(devlink -j health show 2>/dev/null |
		jq -r --arg h "pci/$BDF" '[.health[$h][]?.reporter] | sort | join(",")')
	dbg=$(ls -d "/sys/kernel/debug/re1000-$BDF" 2>/dev/null | wc -l)
	echo "if:$(ifname $MAC_A) dl:$(devlink dev show 2>/dev/null | grep -c "pci/$BDF")" \
		"reporters:${reps:--} debugfs:$dbg"
}

# mark N: waits until the link monitor printed everything up to now (lo put
# in group 1000 + N, as a marker).
mark() {
	ip link set lo group $((1000 + $1)) && wait_for 10 grep -q "group $((1000 + $1)) " "$MON"
}

# re1000's text, as the stack filter takes it ("START END"): its lowest
# function address and the page after its highest.
module_text() {
	local lo hi
	read -r lo hi < <(awk '$4 == "[re1000]" && ($2 == "t" || $2 == "T") { print $1 }' \
		/proc/kallsyms | sort | sed -n '1p;$p' | xargs)
	[ -n "$hi" ] || return 1
	printf '0x%x 0x%x\n' $((0x$lo)) $(((0x$hi + 8192) & ~4095))
}

test_setup() {
	local knob f text
	insmod "${RE1000_KO:?}" || return 1
	wait_for 5 has_if $MAC_A || return 1
	BDF=$(pci_addr $MAC_A) || { ktap_print_msg "no re1000 NIC with $MAC_A"; return 1; }
	text=$(module_text) || { ktap_print_msg "no text of re1000 in /proc/kallsyms"; return 1; }
	for f in $FS $FP; do
		for knob in $KNOBS $([ $f = $FP ] && echo min-order); do
			echo "$f/$knob $(cat "$f/$knob")" >>"$SAVED" || return 1
		done
		echo N >$f/ignore-gfp-wait && echo 32 >$f/stacktrace-depth &&
			echo "${text% *}" >$f/require-start && echo "${text#* }" >$f/require-end ||
			return 1
	done
	echo 0 >$FP/min-order && echo 0 >$FS/verbose && echo 0 >$FP/verbose || return 1
	ip -o monitor link >>"$MON" &
	MONITOR=$!
	# Until the monitor listens: markers it missed are not printed.
	local k
	for ((k = 1; k <= 50; k++)); do
		ip link set lo group $((900 + k)) || return 1
		sleep 0.2
		grep -q "group $((900 + k)) " "$MON" && break
	done
	[ $k -le 50 ] || { ktap_print_msg "the link monitor prints nothing"; return 1; }
	echo "$BDF" >$DRV/unbind && [ "$(traces)" = "if: dl:0 reporters:- debugfs:0" ]
}

# Every allocation of the probe failed in turn, until a bind makes fewer
# than N: a failed bind leaves no trace and the monitor saw no interface
# come (and go); a bind that succeeds has all of the device.
test_probe_faults() {
	local calls n out err left whole stride failed=0 round=0 nodebugfs=0
	# How many allocations a bind makes: those a fault far away leaves.
	out=$(bind 1000000)
	[ "${out%%$'\n'*}" = ok ] || { ktap_print_msg "bind: $out"; return 1; }
	calls=$((1000000 - ${out##*left }))
	echo "$BDF" >$DRV/unbind || return 1
	stride=${PROBE_STRIDE:-$(((calls + 23) / 24))}
	for ((n = 1; n <= calls + stride; n += stride)); do
		round=$((round + 1))
		: >"$MON"
		out=$(bind $n)
		left=${out##*left } err=${out%%$'\n'*}
		err=${err##*: }
		mark $n || { ktap_print_msg "monitor: no marker $n"; return 1; }
		case $err in
		ok)
			# Any interface name: udev may be renaming it meanwhile.
			whole=$(traces)
			whole=${whole#if:?* }
			# debugfs is best effort: a driver goes on without the
			# knobs it could not make (the fault was one of theirs).
			if [ "$whole" = "dl:1 reporters:hw,tx debugfs:0" ] && [ "$left" = 0 ]; then
				nodebugfs=$((nodebugfs + 1))
			elif [ "$whole" != "dl:1 reporters:hw,tx debugfs:1" ]; then
				ktap_print_msg "fault $n/$calls: bound, but $(traces)"
				return 1
			fi
			echo "$BDF" >$DRV/unbind || return 1
			;;
		# What the kernel answers for memory it cannot have (ENOBUFS: a sysctl
		# table a protocol registers; EBUSY: __request_region() cannot tell
		# a failed allocation from a conflict).
		"Cannot allocate memory" | "No buffer space available" | "Device or resource busy")
			failed=$((failed + 1))
			if [ "$(traces)" != "if: dl:0 reporters:- debugfs:0" ]; then
				ktap_print_msg "fault $n/$calls: failed, left $(traces)"
				return 1
			fi
			# No interface announced (a deletion alone is the stack's own
			# failure path: a protocol refused the device as it registered).
			if grep "$MAC_A" "$MON" | grep -qv '^Deleted '; then
				ktap_print_msg "fault $n of $calls: an interface came and went:"
				grep "$MAC_A" "$MON" | cut -c1-80 |
					while read -r l; do ktap_print_msg "$l"; done
				return 1
			fi
			;;
		*)
			ktap_print_msg "fault $n of $calls: bind: $err"
			return 1
			;;
		esac
		# Not injected: this bind made fewer allocations than the first.
		[ "${left:-0}" = 0 ] || break
	done
	ktap_print_msg "$calls allocations, $round faults (stride $stride)," \
		"$failed binds failed, $nodebugfs bound without their debugfs knobs"
	[ $failed -gt 0 ] || { ktap_print_msg "no bind failed"; return 1; }
	[ "${left:-0}" != 0 ] || { ktap_print_msg "the walk ended at a fault"; return 1; }
}

# Afterwards the NIC binds and works.
test_rebind() {
	echo "$BDF" >$DRV/bind && wait_for 5 has_if $MAC_A &&
		[ "$(traces)" = "if:$(ifname $MAC_A) dl:1 reporters:hw,tx debugfs:1" ]
}

ktap_print_header
preflight jq devlink ip
[ -e $FS/ignore-gfp-wait ] && [ -e $FP/ignore-gfp-wait ] && [ -e /proc/self/fail-nth ] ||
	{ ktap_skip_all "no failslab or fail_page_alloc"; exit "$KSFT_SKIP"; }
ktap_set_plan 3
for t in setup probe_faults rebind; do
	if "test_$t"; then ktap_test_pass "$t"; else ktap_test_fail "$t"; fi
done
ktap_finished
