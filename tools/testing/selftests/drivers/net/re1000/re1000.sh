#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The Rust e1000 driver (re1000) on QEMU's two e1000 NICs, joined by a hub:
# one NIC in each of two network namespaces, link, ping, a TCP transfer whose
# checksum matches on both sides (with and without the offloads), the
# counters of 'ip -s link' against what was sent, down/up, and unbind/rebind
# and rmmod/insmod while traffic flows, a dump show is being read and a
# recover waits in the driver's op (the removal waits for it, and it then
# finds the device going), traffic resuming after. RE1000_KO names the
# module file.

KSFT_LIB=${KSFT_LIB:-$(dirname "$0")/../../..}
# shellcheck source=/dev/null
. "$KSFT_LIB/kselftest/ktap_helpers.sh"
# shellcheck source=../lib/expect.sh
. "$(dirname "$0")/../lib/expect.sh"
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

DIR=$(dirname "$0")
DRV=/sys/bus/pci/drivers/re1000
PORT_SMALL=7077
TMP=$(mktemp -d)
TRACE=/sys/kernel/tracing/instances/re1000

cleanup() {
	[ -z "${FLOOD:-}" ] || kill "$FLOOD" 2>/dev/null
	ip netns del $NS_A 2>/dev/null
	ip netns del $NS_B 2>/dev/null
	rm -rf "$TMP" "$FLOOD_LOG"
	[ ! -d "$TRACE" ] || { echo 0 >"$TRACE/tracing_on"; rmdir "$TRACE"; } 2>/dev/null
}
trap cleanup EXIT

load() { insmod "${RE1000_KO:?}"; }


test_load() {
	load || return 1
	wait_for 5 has_if $MAC_A && wait_for 5 has_if $MAC_B &&
		[ "$(find "$DRV" -maxdepth 1 -name '0000:*' | wc -l)" = 2 ]
}

test_ethtool() {
	local dev info
	dev=$(ifname $MAC_A)
	info=$(ethtool -i "$dev") || return 1
	case $info in
	*"driver: re1000"*"bus-info: 0000:"*) ;;
	*) ktap_print_msg "ethtool -i: $info"; return 1 ;;
	esac
}

test_link() {
	ip netns add $NS_A && ip netns add $NS_B && place_both || return 1
	ip netns exec $NS_A ethtool eth0 | grep -q "Speed: 1000Mb/s" ||
		{ ktap_print_msg "$(ip netns exec $NS_A ethtool eth0)"; return 1; }
}

test_ping() { pings 50; }

# Sends 4 MiB of random data from A to B over TCP; the checksums must match.
transfer() {
	local port=5001 sum_a sum_b
	head -c $((4 << 20)) /dev/urandom >"$TMP/sent" || return 1
	ip netns exec $NS_B socat -u TCP-LISTEN:$port,reuseaddr OPEN:"$TMP/received",creat,trunc &
	local server=$!
	sleep 0.5
	ip netns exec $NS_A socat -u OPEN:"$TMP/sent" TCP:$IP_B:$port ||
		{ kill $server; return 1; }
	wait $server || return 1
	sum_a=$(sha256sum <"$TMP/sent") && sum_b=$(sha256sum <"$TMP/received") || return 1
	if [ "$sum_a" != "$sum_b" ]; then
		ktap_print_msg "sent $(stat -c %s "$TMP/sent") bytes," \
			"received $(stat -c %s "$TMP/received")"
		return 1
	fi
}

# Packets to segment that the stack hands to a driver, counted by the
# net_dev_start_xmit trace event in a tracing instance of our own; run with
# "start" before and "count" after.
gso_packets() {
	case $1 in
	start)
		[ -d $TRACE ] || mkdir $TRACE || return 1
		echo 'gso_size > 0' >$TRACE/events/net/net_dev_start_xmit/filter &&
			echo 1 >$TRACE/events/net/net_dev_start_xmit/enable && echo >$TRACE/trace
		;;
	count)
		echo 0 >$TRACE/events/net/net_dev_start_xmit/enable
		grep -c 'net_dev_start_xmit:' $TRACE/trace
		;;
	esac
}

offload() { ip netns exec $NS_A ethtool -k eth0 | awk -v f="$1:" '$1 == f { print $2 }'; }

# With its offloads (scatter-gather, checksums, TCP segmentation), the driver
# is handed packets of up to 64 KiB to segment.
test_tcp() {
	local feature n
	for feature in scatter-gather tx-checksum-ip-generic tcp-segmentation-offload; do
		[ "$(offload $feature)" = on ] ||
			{ ktap_print_msg "$feature: $(offload $feature)"; return 1; }
	done
	gso_packets start || return 1
	transfer || return 1
	n=$(gso_packets count)
	[ "$n" -gt 0 ] || { ktap_print_msg "no packet to segment was sent"; return 1; }
}

# Without them, the stack segments and checksums, and the transfer still works.
test_tcp_no_offload() {
	local n
	ip netns exec $NS_A ethtool -K eth0 tso off tx off sg off >/dev/null || return 1
	gso_packets start || return 1
	transfer || return 1
	n=$(gso_packets count)
	ip netns exec $NS_A ethtool -K eth0 tso on tx on sg on >/dev/null || return 1
	[ "$n" = 0 ] || { ktap_print_msg "$n packets to segment with TSO off"; return 1; }
	[ "$(offload tcp-segmentation-offload)" = on ] && pings 10
}

# quiet 1|0: A and B send nothing of their own (1: IPv6 off, static
# neighbours, so no router solicitation, MLD report or ARP crosses), or do
# again (0).
quiet() {
	local ns
	for ns in $NS_A $NS_B; do
		ipv6_off $ns "$1" || return 1
	done
	if [ "$1" = 1 ]; then
		ip -n $NS_A neigh replace $IP_B lladdr $MAC_B dev eth0 nud permanent &&
			ip -n $NS_B neigh replace $IP_A lladdr $MAC_A dev eth0 nud permanent
	else
		ip -n $NS_A neigh del $IP_B dev eth0 && ip -n $NS_B neigh del $IP_A dev eth0
	fi
}

# The counters move by exactly what was sent: COUNT pings of SIZE bytes
# each way, and nothing else crosses meanwhile.
test_counters() {
	local n=100 size=1000 a_tx a_txb b_rx b_rxb a_rx
	quiet 1 || return 1
	a_tx=$(counter $NS_A tx_packets) a_txb=$(counter $NS_A tx_bytes)
	b_rx=$(counter $NS_B rx_packets) b_rxb=$(counter $NS_B rx_bytes)
	a_rx=$(counter $NS_A rx_packets)
	if ! ip netns exec $NS_A ping -q -c $n -i 0.02 -s $size $IP_B >/dev/null; then
		quiet 0
		return 1
	fi
	local d_tx=$(($(counter $NS_A tx_packets) - a_tx))
	local d_txb=$(($(counter $NS_A tx_bytes) - a_txb))
	local d_rx=$(($(counter $NS_B rx_packets) - b_rx))
	local d_rxb=$(($(counter $NS_B rx_bytes) - b_rxb))
	local d_back=$(($(counter $NS_A rx_packets) - a_rx))
	quiet 0 || return 1
	# Each request and each reply is a frame of size + 42 bytes (ICMP, IP and
	# Ethernet headers; the CRC is not counted).
	local frame=$((size + 42))
	if [ $d_tx -ne $n ] || [ $d_rx -ne $n ] || [ $d_back -ne $n ] ||
		[ $d_txb -ne $((n * frame)) ] || [ $d_rxb -ne $((n * frame)) ]; then
		ktap_print_msg "A sent $d_tx frames ($d_txb bytes), B received $d_rx ($d_rxb)," \
			"A received $d_back, for $n requests of $frame bytes"
		return 1
	fi
}

# A receiver that does not read for a moment (busy, or not scheduled) keeps
# small datagrams in its socket's receive buffer, of a size set for
# datagrams copied out of the device's 2 KiB buffers into ones of their
# size (the C driver's copybreak): 150 of 18 bytes fit in the default
# buffer, where it holds about 80 in the buffers they were received in.
test_small_held() {
	local n=150 b_rx hold each got dropped
	quiet 1 || return 1
	b_rx=$(counter $NS_B rx_packets)
	coproc HOLD { ip netns exec $NS_B python3 "$DIR/datagrams.py" hold $PORT_SMALL $n; }
	read -r -t 10 -u "${HOLD[0]}" hold && [ "$hold" = bound ] &&
		ip netns exec $NS_A python3 "$DIR/datagrams.py" send $IP_B $PORT_SMALL $n &&
		wait_for 10 arrived $NS_B $((b_rx + n)) &&
		echo go >&"${HOLD[1]}" &&
		read -r -t 10 -u "${HOLD[0]}" each && read -r -t 10 -u "${HOLD[0]}" got dropped
	kill "$HOLD_PID" 2>/dev/null
	wait "$HOLD_PID"
	quiet 0 || return 1
	ktap_print_msg "$each bytes of receive memory a datagram"
	[ "$got" = $n ] || {
		ktap_print_msg "B received ${got:-?} of $n datagrams, dropped ${dropped:-?}"
		return 1
	}
}

# arrived NS N: eth0 in namespace NS counts N frames received, or more.
arrived() { [ "$(counter "$1" rx_packets)" -ge "$2" ]; }

test_down_up() {
	ip -n $NS_A link set eth0 down && ip -n $NS_A link set eth0 up &&
		wait_for 10 carrier $NS_A eth0 && pings 10
}


test_rebind() {
	local bdf rc=0 unbind
	bdf=$(bdf_of $NS_A)
	[ -n "$bdf" ] || return 1
	hold_dump "pci/$bdf" hw || return 1
	hold_recover "$bdf" || { release_dump >/dev/null; return 1; }
	flood
	sleep 1
	echo "$bdf" >$DRV/unbind &
	unbind=$!
	teardown_waits || rc=1
	released_recover_fails || rc=1
	wait $unbind || { ktap_print_msg "unbind failed"; rc=1; }
	released_dump_ends || rc=1
	echo "$bdf" >$DRV/bind || { unflood >/dev/null; return 1; }
	unflood >/dev/null
	# The new interface comes up in the initial namespace.
	wait_for 5 has_if $MAC_A && place $MAC_A $NS_A $IP_A && pings 20 && [ $rc = 0 ]
}

test_reload() {
	local rc=0 bdf unload
	bdf=$(bdf_of $NS_B)
	[ -n "$bdf" ] || return 1
	hold_dump "pci/$bdf/0" tx || return 1
	hold_recover "$bdf" || { release_dump >/dev/null; return 1; }
	flood
	sleep 1
	rmmod re1000 &
	unload=$!
	teardown_waits || rc=1
	released_recover_fails || rc=1
	wait $unload || { ktap_print_msg "rmmod failed"; rc=1; }
	unflood >/dev/null
	released_dump_ends || rc=1
	[ -z "$(ifname $MAC_A $NS_A)" ] || return 1
	load && wait_for 5 has_if $MAC_A && wait_for 5 has_if $MAC_B &&
		place_both && pings 20 && [ $rc = 0 ]
}

test_unload() {
	rmmod re1000 && [ ! -e $DRV ]
}

ktap_print_header
preflight ip jq ping socat ethtool sha256sum python3
ktap_set_plan 12
run_test "load: both NICs bound, two interfaces" test_load
run_test "ethtool -i: driver and bus" test_ethtool
run_test "one NIC per namespace, link up at 1000 Mb/s" test_link
run_test "ping: no loss" test_ping
run_test "TCP transfer of 4 MiB with TSO, same checksum on both sides" test_tcp
run_test "TCP transfer of 4 MiB, offloads off, same checksum" test_tcp_no_offload
run_test "counters of ip -s link match what was sent" test_counters
run_test "small datagrams: 150 held by a receiver that does not read" test_small_held
run_test "down and up, traffic again" test_down_up
run_test "unbind and rebind amid traffic, a dump read and a recover held, traffic again" test_rebind
run_test "rmmod and insmod amid traffic, a dump read and a recover held, traffic again" test_reload
run_test "unload" test_unload
ktap_finished
