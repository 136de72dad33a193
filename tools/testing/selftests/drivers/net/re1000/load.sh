#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The Rust e1000 driver (re1000) while its rings are busy, with QEMU's two
# e1000 NICs joined by a hub, one in each of two network namespaces: devlink
# health recoveries of 'tx' (a transmit ring reset) and 'hw' (a device reset)
# again and again while a TCP stream saturates the link both ways, with the
# interface taken down and up and its offloads changed meanwhile; the stream
# survives, the byte queue limits settle (nothing in flight once idle), every
# recovery is counted. Then a receive ring that allocation failures emptied
# (fault injection: failslab and fail_page_alloc, only for allocations made
# by re1000's code): no frame can reach it to raise an interrupt, and the
# driver's watchdog has it refilled. RE1000_KO names the module file.

dir=$(dirname "$0")
KSFT_LIB=${KSFT_LIB:-$dir/../../..}
# shellcheck source=/dev/null
. "$KSFT_LIB/kselftest/ktap_helpers.sh"
# shellcheck source=../lib/expect.sh
. "$dir/../lib/expect.sh"
# shellcheck source=lib.sh
. "$dir/lib.sh"

TMP=$(mktemp -d)
FI=/sys/kernel/debug
DBG=/sys/kernel/debug/re1000
BDF_A=
BDF_B=

cleanup() {
	[ -z "${IPERF:-}" ] || kill "$IPERF" 2>/dev/null
	fault_off 2>/dev/null
	ip netns del $NS_A 2>/dev/null
	ip netns del $NS_B 2>/dev/null
	rm -rf "$TMP" "$FLOOD_LOG"
	grep -q '^re1000 ' /proc/modules && rmmod re1000
}
trap cleanup EXIT


test_load() {
	insmod "${RE1000_KO:?}" || return 1
	wait_for 5 has_if $MAC_A && wait_for 5 has_if $MAC_B || return 1
	ip netns add $NS_A && ip netns add $NS_B && place_both && pings 10 || return 1
	BDF_A=$(bdf_of $NS_A) BDF_B=$(bdf_of $NS_B)
	check_settled
}

# A TCP stream both ways for $1 seconds (iperf3 --bidir), in the background.
stream() {
	ip netns exec $NS_B iperf3 -s -1 -D -I "$TMP/server.pid" >/dev/null || return 1
	sleep 0.5
	ip netns exec $NS_A iperf3 -c $IP_B -t "$1" --bidir -J >"$TMP/iperf.json" 2>&1 &
	IPERF=$!
	STREAM_END=$((SECONDS + $1))
	sleep 1
}

# Waits for the stream; it must have ended well, with data both ways.
stream_end() {
	wait "$IPERF"
	local rc=$?
	IPERF=
	if [ $rc != 0 ]; then
		ktap_print_msg "iperf3: $(jq -r .error "$TMP/iperf.json" 2>/dev/null)"
		return 1
	fi
	expect '.end.sum_sent.bytes > 0 and .end.sum_received.bytes > 0 and
		.end.sum_sent_bidir_reverse.bytes > 0 and
		.end.sum_received_bidir_reverse.bytes > 0' "$(cat "$TMP/iperf.json")"
}

# hw_events HANDLE FROM COUNT: COUNT test events on the hw reporter of
# HANDLE (devlink health test, reported by the watchdog within 500 ms), each
# recovered (a device reset) before the next; FROM: the recoveries before.
hw_events() {
	local i
	for ((i = 1; i <= $3; i++)); do
		devlink health test "$1" reporter hw && wait_for 10 recovered "$1" hw $(($2 + i)) ||
			{ ktap_print_msg "$1: test event $i not recovered"; return 1; }
	done
}

# tx_stalls FROM COUNT: COUNT transmit stalls of A (fault injection), each
# found by the watchdog within a second or two and recovered (a transmit
# ring reset) before the next; FROM: the recoveries before. A stall is found
# only if A has something to send: run while the stream does.
tx_stalls() {
	local i
	for ((i = 1; i <= $2; i++)); do
		echo 1 >$DBG-$BDF_A/stall_tx &&
			wait_for 10 recovered pci/$BDF_A/0 tx $(($1 + i)) ||
			{ ktap_print_msg "stall $i not recovered"; return 1; }
	done
}

# The recoveries of each reporter before a test, "tx_a hw_a hw_b".
recoveries() {
	echo "$(reporter pci/$BDF_A/0 tx | jq .recover) $(reporter pci/$BDF_A hw | jq .recover)" \
		"$(reporter pci/$BDF_B hw | jq .recover)"
}

# grace HW TX: the graceful periods of the hw reporters and of A's tx
# reporter (10000 and 1000 ms otherwise); 0 for a test, so that every report
# is recovered however soon it follows the previous recovery.
grace() {
	devlink health set pci/$BDF_A reporter hw grace_period "$1" &&
		devlink health set pci/$BDF_B reporter hw grace_period "$1" &&
		devlink health set pci/$BDF_A/0 reporter tx grace_period "$2"
}

# Device resets of both sides and transmit ring resets of A while a TCP
# stream saturates the link both ways; each one counted by its reporter.
test_recover_busy() {
	local tx_a hw_a hw_b
	read -r tx_a hw_a hw_b <<<"$(recoveries)"
	# Long enough for the resets with room to spare (they take 15 to 25 s
	# under emulation): the check below fails a round they outlast.
	grace 0 0 && stream 45 || return 1
	local begin=$SECONDS
	if ! tx_stalls "$tx_a" 2 || ! hw_events pci/$BDF_A "$hw_a" 3 ||
		! hw_events pci/$BDF_B "$hw_b" 3; then
		wait "$IPERF"
		IPERF=
		return 1
	fi
	ktap_print_msg "the resets took $((SECONDS - begin)) s of the 45 s stream"
	if [ $SECONDS -ge "$STREAM_END" ]; then
		ktap_print_msg "the stream ended before the resets did: not under load"
		wait "$IPERF"
		IPERF=
		return 1
	fi
	stream_end || return 1
	expect ".recover == $((tx_a + 2))" "$(reporter pci/$BDF_A/0 tx)" &&
		expect ".recover == $((hw_a + 3)) and .state == \"healthy\"" \
			"$(reporter pci/$BDF_A hw)" &&
		expect ".recover == $((hw_b + 3))" "$(reporter pci/$BDF_B hw)" &&
		check_settled && pings 10
}

# offloads on|off: A's scatter-gather, checksum offload and TSO.
offloads() { ip netns exec $NS_A ethtool -K eth0 tso "$1" sg "$1" tx "$1" >/dev/null; }

# Down and up, and offloads off and on, while the stream runs and device
# resets go on.
test_down_up_busy() {
	local tx_a hw_a hw_b i rec
	read -r tx_a hw_a hw_b <<<"$(recoveries)"
	stream 20 || return 1
	hw_events pci/$BDF_B "$hw_b" 6 &
	rec=$!
	for i in 1 2 3; do
		offloads off && sleep 0.5 && offloads on &&
			ip -n $NS_A link set eth0 down && sleep 0.2 &&
			ip -n $NS_A link set eth0 up && wait_for 10 carrier $NS_A eth0 ||
			{ wait $rec; wait "$IPERF"; IPERF=; return 1; }
		sleep 1
	done
	wait $rec || { wait "$IPERF"; IPERF=; return 1; }
	stream_end && grace 10000 1000 && check_settled && pings 10
}

# fault_on START END: allocations whose call stack is within [START, END)
# fail, all of them, from now on (failslab and fail_page_alloc, silently).
fault_on() {
	local f
	for f in failslab fail_page_alloc; do
		echo "$1" >$FI/$f/require-start && echo "$2" >$FI/$f/require-end &&
			echo 32 >$FI/$f/stacktrace-depth && echo 0 >$FI/$f/verbose &&
			echo 1 >$FI/$f/interval && echo -1 >$FI/$f/times &&
			echo 100 >$FI/$f/probability || return 1
	done
}

fault_off() {
	echo 0 >$FI/failslab/probability && echo 0 >$FI/fail_page_alloc/probability
}

# The text of module re1000: its lowest and highest function addresses, the
# last rounded up to a page.
module_text() {
	awk '$4 == "[re1000]" && ($2 == "t" || $2 == "T") { print $1 }' /proc/kallsyms |
		sort | sed -n '1p;$p' | {
		read -r lo && read -r hi && printf '0x%s 0x%x\n' "$lo" $(((0x$hi + 8192) & ~4095))
	}
}

# B's receive buffers are allocated by its poll, from re1000's code: made to
# fail, B's ring runs empty as A floods it, and B drops everything that
# follows, with no interrupt to come. The faults off again, the watchdog's
# kick has the poll refill the ring, and traffic resumes. The frames that the
# device dropped for want of a buffer (its clear-on-read MPC, gathered by the
# watchdog) reach B's statistics without a diagnosis asking for them.
test_rx_refill() {
	local range dropped missed
	range=$(module_text)
	[ -n "$range" ] || { ktap_print_msg "no text of re1000 in /proc/kallsyms"; return 1; }
	dropped=$(counter $NS_B rx_dropped)
	missed=$(counter $NS_B rx_missed_errors)
	# shellcheck disable=SC2086
	fault_on $range || { ktap_print_msg "fault injection not set up"; return 1; }
	# More frames than B's ring holds (256), nothing answered.
	ip netns exec $NS_A python3 "$dir/frames.py" eth0 ff:ff:ff:ff:ff:ff:600
	sleep 1
	fault_off || return 1
	local now
	now=$(counter $NS_B rx_dropped)
	if [ "$now" -le "$dropped" ]; then
		ktap_print_msg "no receive buffer allocation failed (rx_dropped $now)"
		return 1
	fi
	# More than a watchdog period (0.5 s) after the last drop, and no diagnosis
	# in between.
	now=$(counter $NS_B rx_missed_errors)
	if [ "$now" -le "$missed" ]; then
		ktap_print_msg "B's missed frames not in its statistics (missed_errors $now)"
		return 1
	fi
	ktap_print_msg "B's device missed $((now - missed)) frames"
	pings 10 && check_settled
}

test_unload() {
	ip netns del $NS_A && ip netns del $NS_B && rmmod re1000
}

ktap_print_header
preflight ip jq ping iperf3 ethtool python3 devlink
ktap_set_plan 5
run_test "load, one NIC per namespace, nothing in flight" test_load
run_test "tx and hw recovered again and again under a TCP stream both ways" \
	test_recover_busy
run_test "down/up and offloads changed while device resets run under load" \
	test_down_up_busy
run_test "receive ring emptied by allocation failures: refilled, traffic resumes" \
	test_rx_refill
run_test "unload" test_unload
ktap_finished
