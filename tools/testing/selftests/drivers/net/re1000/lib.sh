#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# What the re1000 tests share (sourced after ktap_helpers.sh): QEMU's two
# e1000 NICs, one moved to each of two network namespaces, and pings
# between them.

MAC_A=52:54:00:00:00:01
MAC_B=52:54:00:00:00:02
IP_A=192.168.77.1
IP_B=192.168.77.2
NS_A=re1000a
NS_B=re1000b

# The interface with MAC $1 in namespace $2 (empty: the initial one).
ifname() {
	ip ${2:+-n "$2"} -j link show | jq -r ".[] | select(.address == \"$1\") | .ifname"
}

# Whether there is an interface with MAC $1 (in namespace $2): a command of
# its own, for wait_for, which expands its arguments once.
has_if() { [ -n "$(ifname "$@")" ]; }

# wait_for SECONDS COMMAND...: until the command succeeds.
wait_for() {
	local end=$((SECONDS + $1))
	shift
	until "$@"; do
		[ $SECONDS -lt $end ] || return 1
		sleep 0.2
	done
}

# hold_dump and release_dump.
# shellcheck source=../lib/dump_hold.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/dump_hold.sh"

# released_dump_ends: the dump held by hold_dump, read on once its device
# is gone, ends: whole (re1000's dumps, of 2 to 3 KiB, fit in the first
# message of a dump, so devlink had made all of the answer before the
# teardown; it is read from the socket afterwards), or with EINVAL (the
# reporter gone when devlink made the rest).
released_dump_ends() {
	local end
	end=$(release_dump)
	case $end in "rest "*" done" | "rest "*" EINVAL") return 0 ;; esac
	ktap_print_msg "the held dump of a device gone ended: ${end:-no answer}"
	return 1
}

# hold_recover BDF: a 'devlink health recover' of the device's hw reporter
# that waits in re1000's recover op (the recover_hold knob), where it holds
# the devlink instance lock, until let_go_recover; in the background, one at
# a time. devlink calls the op only for a reporter in error: a test event,
# left unrecovered, puts it there first.
hold_recover() {
	RECOVER_KNOBS=/sys/kernel/debug/re1000-$1
	RECOVER_OUT=$(mktemp)
	if ! devlink health set "pci/$1" reporter hw auto_recover false ||
		! devlink health test "pci/$1" reporter hw ||
		! wait_for 10 in_error "pci/$1" hw; then
		ktap_print_msg "hw of $1 not in error: $(reporter "pci/$1" hw)"
		return 1
	fi
	echo 1 >"$RECOVER_KNOBS/recover_hold" || return 1
	devlink health recover "pci/$1" reporter hw >"$RECOVER_OUT" 2>&1 &
	RECOVER_PID=$!
	wait_for 10 reads "$RECOVER_KNOBS/recovering" 1 && return 0
	ktap_print_msg "the recover of pci/$1 hw never waited in the op"
	let_go_recover
	return 1
}

in_error() { [ "$(reporter "$1" "$2" | jq -r .state)" = error ]; }

reads() { [ "$(cat "$1" 2>/dev/null)" = "$2" ]; }

# let_go_recover: clears the hold (the knobs are there as long as the
# devlink instance, which waits for the recover to end), waits for the
# recover, and sets RECOVER_END to its exit status and output, on one line.
# Not in a command substitution: the recover is a child of this shell.
let_go_recover() {
	local rc
	echo 0 >"$RECOVER_KNOBS/recover_hold" 2>/dev/null
	wait "$RECOVER_PID"
	rc=$?
	RECOVER_END="$rc $(tr '\n' ' ' <"$RECOVER_OUT")"
	rm -f "$RECOVER_OUT"
}

# teardown_waits: the task that removes the device (unbind, rmmod or the
# hotplug thread) waits for the held recover to leave the instance lock,
# in devlink_unregister(), with the device's knobs and instance still there.
teardown_waits() {
	local end=$((SECONDS + 10))
	until grep -qs -w devlink_unregister /proc/[0-9]*/stack; do
		if [ $SECONDS -ge $end ]; then
			ktap_print_msg "no task waits in devlink_unregister()"
			return 1
		fi
		sleep 0.2
	done
}

# released_recover_fails: the held recover, let go with its device being
# removed, ends with the driver's answer to that (ENODEV and its message)
# rather than resetting a device on its way out.
released_recover_fails() {
	let_go_recover
	case $RECOVER_END in "1 "*"re1000: the device is gone"*"No such device"*) return 0 ;; esac
	ktap_print_msg "the held recover ended: $RECOVER_END"
	return 1
}

# carrier NS DEV: DEV in namespace NS (empty: the initial one) is up.
carrier() {
	[ "$(ip ${1:+-n "$1"} -j link show "$2" | jq -r '.[0].operstate')" = UP ]
}

# Moves the NIC with MAC $1 into namespace $2 with address $3, and brings it up.
place() {
	local dev
	dev=$(ifname "$1")
	if [ -z "$dev" ]; then
		ktap_print_msg "no interface with MAC $1"
		return 1
	fi
	ip link set "$dev" netns "$2" && ip -n "$2" link set "$dev" name eth0 &&
		ip -n "$2" addr add "$3/24" dev eth0 && ip -n "$2" link set eth0 up || return 1
	wait_for 10 carrier "$2" eth0 || { ktap_print_msg "$1: no link in $2"; return 1; }
}

place_both() { place $MAC_A $NS_A $IP_A && place $MAC_B $NS_B $IP_B; }

# ping COUNT: from A to B, no loss.
pings() {
	local out
	out=$(ip netns exec $NS_A ping -q -c "$1" -i 0.05 -W 2 $IP_B 2>&1)
	case $out in
	*" 0% packet loss"*) ;;
	*) ktap_print_msg "ping: $out"; return 1 ;;
	esac
}

# Pings from A to B in the background, every 10 ms, until unflood, which
# prints how many were sent and how many answered ("SENT ANSWERED").
FLOOD_LOG=$(mktemp)
flood() {
	ip netns exec $NS_A ping -i 0.01 -W 1 $IP_B >"$FLOOD_LOG" 2>&1 &
	FLOOD=$!
	sleep 0.5
}

unflood() {
	kill -INT "$FLOOD" 2>/dev/null
	wait "$FLOOD" 2>/dev/null
	FLOOD=
	sed -n 's/^\([0-9]*\) packets transmitted, \([0-9]*\) received.*/\1 \2/p' "$FLOOD_LOG"
}

# The counter $2 (rx_packets, rx_missed_errors ...) of eth0 in namespace $1.
counter() { ip -n "$1" -s -s -j link show eth0 | jq ".[0].stats64.${2%%_*}.${2#*_}"; }

# Bytes that the byte queue limits count in flight on the interface with MAC
# $1, in whichever namespace it is; nothing if there is no such interface.
inflight() {
	local ns
	for ns in "" $NS_A $NS_B; do
		[ -z "$ns" ] || [ -e "/run/netns/$ns" ] || continue
		# One process per namespace, reading sysfs with shell builtins.
		${ns:+ip netns exec "$ns"} bash -c '
			for d in /sys/class/net/*; do
				read -r mac <"$d/address" 2>/dev/null || continue
				[ "$mac" = "$1" ] || continue
				read -r n <"$d/queues/tx-0/byte_queue_limits/inflight" && echo "$n"
				exit 0
			done
			exit 1' bash "$1" && return
	done
}

# Nothing in flight on either NIC's interface: every packet handed to a
# device was completed or forgotten with its ring, as the queue limits must
# see it, or the queue stalls for good (or dql's BUG_ON fires). One process
# per namespace for both NICs: this runs after every test.
settled() {
	local ns n
	for ns in "" $NS_A $NS_B; do
		[ -z "$ns" ] || [ -e "/run/netns/$ns" ] || continue
		# shellcheck disable=SC2016 # expanded by the inner bash
		while read -r _ n; do
			[ "$n" = 0 ] || return 1
		done < <(${ns:+ip netns exec "$ns"} bash -c '
			for d in /sys/class/net/*; do
				read -r mac <"$d/address" 2>/dev/null || continue
				[ "$mac" = "$1" ] || [ "$mac" = "$2" ] || continue
				read -r n <"$d/queues/tx-0/byte_queue_limits/inflight" &&
					echo "$mac $n"
			done' bash $MAC_A $MAC_B)
	done
}

check_settled() {
	wait_for 5 settled || {
		ktap_print_msg "in flight once idle: A $(inflight $MAC_A), B $(inflight $MAC_B)"
		return 1
	}
}

settled_after() { "$@" && check_settled; }

# run_test DESCRIPTION TEST...: a KTAP test result, of the test followed by
# the check that nothing is in flight once idle, for every re1000 test.
run_test() { ktap_test_result "$1" settled_after "${@:2}"; }

# The reporter $2 of devlink handle $1, as JSON.
reporter() { devlink -j health show "$1" reporter "$2" | jq ".health[][0]"; }

# The recoveries of reporter $2 of $1 reached $3.
recovered() { [ "$(reporter "$1" "$2" | jq .recover)" -ge "$3" ]; }

# pci_addr MAC: the PCI address of the NIC with this MAC bound to re1000,
# found through the driver's devices: udev renames a new interface some
# seconds after it appears, and a path through /sys/class/net/NAME may be
# gone by the time it is read. Waits up to 5 s for it.
pci_addr() {
	local a end=$((SECONDS + 5))
	while :; do
		for a in /sys/bus/pci/drivers/re1000/*/net/*/address; do
			if [ "$(cat "$a" 2>/dev/null)" = "$1" ]; then
				a=${a%/net/*}
				echo "${a##*/}"
				return 0
			fi
		done
		[ $SECONDS -lt $end ] || return 1
		sleep 0.2
	done
}

# The PCI address of eth0 in namespace $1.
bdf_of() { basename "$(ip netns exec "$1" readlink -f /sys/class/net/eth0/device)"; }

# ipv6_off NS 1|0: IPv6 on eth0 of namespace NS off (1) or on again (0).
ipv6_off() {
	ip netns exec "$1" sh -c "echo $2 >/proc/sys/net/ipv6/conf/eth0/disable_ipv6"
}

# preflight CMD...: skips the whole test unless run as root with every CMD,
# and with the C e1000 driver, which binds the same NICs, not loaded.
preflight() {
	local cmd
	[ "$(id -u)" = 0 ] || { ktap_skip_all "must be root"; exit "$KSFT_SKIP"; }
	for cmd in "$@"; do
		command -v "$cmd" >/dev/null || { ktap_skip_all "$cmd needed"; exit "$KSFT_SKIP"; }
	done
	if grep -q '^e1000 ' /proc/modules; then
		ktap_skip_all "the C e1000 driver is loaded"
		exit "$KSFT_SKIP"
	fi
}
