#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The receive filter of the Rust e1000 driver (re1000), seen from the wire,
# with QEMU's two e1000 NICs joined by a hub, one in each of two network
# namespaces: IPv6 with global and link-local addresses (neighbour discovery
# goes to solicited-node multicast groups, which the NIC drops unless they
# are in its multicast table); frames to a multicast group received once the
# group is joined and only then; every multicast frame with allmulticast;
# every frame with promiscuous mode; the filter kept across a device reset.
# Frames are counted exactly: A sends frames of a type nothing answers, with
# IPv6 off meanwhile, so that nothing else crosses the hub. RE1000_KO names
# the module file.

dir=$(dirname "$0")
KSFT_LIB=${KSFT_LIB:-$dir/../../..}
# shellcheck source=/dev/null
. "$KSFT_LIB/kselftest/ktap_helpers.sh"
# shellcheck source=lib.sh
. "$dir/lib.sh"

IP6_A=fd00:77::1
IP6_B=fd00:77::2
# Two IPv4 multicast groups (239.1.2.3 and 239.1.2.4) whose addresses hash to
# different bits of the multicast table, and a unicast address nobody has.
GROUP=01:00:5e:01:02:03
GROUP2=01:00:5e:01:02:04
NOBODY=02:00:00:00:00:99
# Frames sent per check.
N=20

cleanup() {
	ip netns del $NS_A 2>/dev/null
	ip netns del $NS_B 2>/dev/null
	grep -q '^re1000 ' /proc/modules && rmmod re1000
}
trap cleanup EXIT



# Whether eth0 of namespace $1 has a link-local address out of duplicate
# address detection.
ll_ready() {
	ip -n "$1" -6 -j addr show dev eth0 | jq -e '[.[].addr_info[]? |
		select(.scope == "link" and (.tentative | not))] | length == 1' >/dev/null
}

ll_of() {
	ip -n "$1" -6 -j addr show dev eth0 |
		jq -r '.[].addr_info[]? | select(.scope == "link") | .local'
}

# frames DST EXPECTED: A sends $N frames to DST, then one broadcast frame;
# B must count EXPECTED of the $N, and the broadcast one. The broadcast frame
# comes last through the hub and the ring: once B counts it, it has counted
# every frame before it; counted again a moment later, nothing more came.
frames() {
	local before want got
	before=$(counter $NS_B rx_packets)
	want=$((before + $2 + 1))
	ip netns exec $NS_A python3 "$dir/frames.py" eth0 "$1:$N" ff:ff:ff:ff:ff:ff:1 || return 1
	wait_for 5 test "$(counter $NS_B rx_packets)" -ge $want
	sleep 0.3
	got=$(($(counter $NS_B rx_packets) - before - 1))
	[ "$got" = "$2" ] ||
		{ ktap_print_msg "to $1: B received $got of $N frames, not $2"; return 1; }
}

test_load() {
	insmod "${RE1000_KO:?}" || return 1
	wait_for 5 has_if $MAC_A && wait_for 5 has_if $MAC_B || return 1
	ip netns add $NS_A && ip netns add $NS_B && place_both || return 1
	ip -n $NS_A addr add $IP6_A/64 dev eth0 nodad &&
		ip -n $NS_B addr add $IP6_B/64 dev eth0 nodad &&
		wait_for 5 ll_ready $NS_A && wait_for 5 ll_ready $NS_B && return 0
	ktap_print_msg "A: $(ip -n $NS_A -6 -j addr show dev eth0)"
	ktap_print_msg "B: $(ip -n $NS_B -6 -j addr show dev eth0)"
	return 1
}

# Neighbour discovery resolves each address through its solicited-node
# multicast group: without the group in B's multicast table, no answer.
test_ipv6() {
	local out ll_a
	out=$(ip netns exec $NS_A ping -6 -q -c 10 -i 0.05 -W 2 $IP6_B 2>&1)
	case $out in
	*" 0% packet loss"*) ;;
	*) ktap_print_msg "ping $IP6_B: $out"; return 1 ;;
	esac
	ll_a=$(ll_of $NS_A)
	out=$(ip netns exec $NS_B ping -6 -q -c 10 -i 0.05 -W 2 "$ll_a%eth0" 2>&1)
	case $out in
	*" 0% packet loss"*) ;;
	*) ktap_print_msg "ping $ll_a: $out"; return 1 ;;
	esac
}

test_quiet() {
	ipv6_off $NS_A 1 && ipv6_off $NS_B 1 && sleep 0.5 &&
		frames ff:ff:ff:ff:ff:ff $N && frames $MAC_B $N
}

test_not_joined() {
	frames $GROUP 0 && frames $NOBODY 0
}

test_joined() {
	ip -n $NS_B maddr add $GROUP dev eth0 || return 1
	frames $GROUP $N && frames $GROUP2 0 || return 1
	ip -n $NS_B maddr del $GROUP dev eth0 && frames $GROUP 0
}

test_allmulti() {
	ip -n $NS_B link set eth0 allmulticast on || return 1
	frames $GROUP2 $N && frames $NOBODY 0 || return 1
	ip -n $NS_B link set eth0 allmulticast off && frames $GROUP2 0
}

test_promisc() {
	ip -n $NS_B link set eth0 promisc on || return 1
	frames $NOBODY $N && frames $GROUP $N || return 1
	ip -n $NS_B link set eth0 promisc off && frames $NOBODY 0
}

# A recovery of hw resets B's device and sets reception up again, with the
# filter the stack asked for before (nothing asks again): a group joined and
# promiscuous mode. (QEMU keeps the multicast table across CTRL.RST; RCTL is
# written anew.)
test_after_reset() {
	local bdf
	bdf=$(bdf_of $NS_B)
	ip -n $NS_B maddr add $GROUP dev eth0 && ip -n $NS_B link set eth0 promisc on &&
		devlink health recover "pci/$bdf" reporter hw &&
		wait_for 10 carrier $NS_B eth0 || return 1
	frames $NOBODY $N && frames $GROUP $N || return 1
	ip -n $NS_B link set eth0 promisc off && frames $NOBODY 0 &&
		ip -n $NS_B maddr del $GROUP dev eth0 && ipv6_off $NS_A 0 && ipv6_off $NS_B 0
}

test_unload() {
	ip netns del $NS_A && ip netns del $NS_B && rmmod re1000
}

ktap_print_header
preflight ip jq ping python3 devlink
ktap_set_plan 9
run_test "load, one NIC per namespace, IPv4 and IPv6 addresses" test_load
run_test "IPv6: global and link-local addresses, neighbours resolved" test_ipv6
run_test "IPv6 off: only what A sends crosses, broadcast and unicast" test_quiet
run_test "multicast not joined, unicast to another MAC: dropped" test_not_joined
run_test "multicast joined: received, other groups not, left: dropped" test_joined
run_test "allmulticast: every group, no other unicast" test_allmulti
run_test "promiscuous: every frame, then no more" test_promisc
run_test "filter kept across a device reset: group, promiscuous" test_after_reset
run_test "unload" test_unload
ktap_finished
