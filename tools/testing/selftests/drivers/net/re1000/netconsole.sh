#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# netconsole over the Rust e1000 driver (re1000): netpoll calls the driver's
# transmit path with interrupts disabled, from whatever context printed, and
# polls the device to make room; the driver's transmit ring is under the
# device's transmit lock, which netpoll knows. Every kernel message of the
# test reaches the other NIC, also while A's transmit ring is kept full and
# its receive path busy, and between resets of the transmit ring (stalls
# recovered), with no kernel warning (a lock of the driver's taken with
# bottom halves disabled on that path warns in __local_bh_enable_ip()). NIC A
# stays in the initial namespace, where netconsole looks for its device; B is
# in a namespace of its own. RE1000_KO and NETCONSOLE_KO name the module
# files.

dir=$(dirname "$0")
KSFT_LIB=${KSFT_LIB:-$dir/../../..}
# shellcheck source=/dev/null
. "$KSFT_LIB/kselftest/ktap_helpers.sh"
# shellcheck source=../lib/expect.sh
. "$dir/../lib/expect.sh"
# shellcheck source=lib.sh
. "$dir/lib.sh"

TMP=$(mktemp -d)
PRINTK=$(cut -f1 /proc/sys/kernel/printk)
CFS=/sys/kernel/config
TARGET=$CFS/netconsole/rdl
PORT=6666
DEV_A=
BDF_A=
# Addresses on the link that no NIC has: A's frames to VOID_A have a MAC
# address that no NIC has (B's receive filter drops them before they take a
# receive buffer), B's frames to VOID_B have A's MAC address and an address
# that A does not have (A's stack drops them, answering nothing).
VOID_A=192.168.77.99
VOID_B=192.168.77.98
MAC_VOID=02:00:00:00:00:99
BLAST_A=
BLAST_B=

cleanup() {
	[ -z "${RECV:-}" ] || kill "$RECV" 2>/dev/null
	[ -z "$BLAST_A" ] || kill "$BLAST_A" 2>/dev/null
	[ -z "$BLAST_B" ] || kill "$BLAST_B" 2>/dev/null
	if [ -d $TARGET ]; then
		echo 0 >$TARGET/enabled
		rmdir $TARGET
	fi
	grep -q '^netconsole ' /proc/modules && rmmod netconsole
	echo "$PRINTK" >/proc/sys/kernel/printk
	ip netns del $NS_B 2>/dev/null
	rm -rf "$TMP" "$FLOOD_LOG"
	grep -q '^re1000 ' /proc/modules && rmmod re1000
}
trap cleanup EXIT

test_load() {
	insmod "${RE1000_KO:?}" || return 1
	wait_for 5 has_if $MAC_A && wait_for 5 has_if $MAC_B || return 1
	DEV_A=$(ifname $MAC_A)
	BDF_A=$(basename "$(readlink -f "/sys/class/net/$DEV_A/device")")
	ip addr add $IP_A/24 dev "$DEV_A" && ip link set "$DEV_A" up &&
		wait_for 10 carrier "" "$DEV_A" || return 1
	ip netns add $NS_B && place $MAC_B $NS_B $IP_B || return 1
	ping -q -c 5 -i 0.1 -W 2 $IP_B >/dev/null
}

test_target() {
	mountpoint -q $CFS || mount -t configfs none $CFS || return 1
	insmod "${NETCONSOLE_KO:?}" && mkdir $TARGET || return 1
	echo "$DEV_A" >$TARGET/dev_name && echo $IP_A >$TARGET/local_ip &&
		echo $IP_B >$TARGET/remote_ip && echo $MAC_B >$TARGET/remote_mac &&
		echo $PORT >$TARGET/remote_port && echo 1 >$TARGET/enabled || return 1
	ip netns exec $NS_B socat -u UDP4-RECV:$PORT - >"$TMP/got" &
	RECV=$!
	wait_for 10 bound || { ktap_print_msg "socat: not listening"; return 1; }
	# Consoles print kernel errors (the VM boots with loglevel=1: emergencies only).
	echo 4 >/proc/sys/kernel/printk
	messages 1 50
}

bound() { ip netns exec $NS_B ss -Huln "sport = :$PORT" | grep -q .; }

# A transmit stall of A, found by the watchdog and recovered by a ring reset;
# pings keep packets pending in the stuck ring, whatever the stream does.
stall() {
	local n ping rc=0
	n=$(reporter "pci/$BDF_A/0" tx | jq .recover)
	ping -q -i 0.02 -w 20 $IP_B >/dev/null 2>&1 &
	ping=$!
	echo 1 >"/sys/kernel/debug/re1000-$BDF_A/stall_tx" &&
		wait_for 15 recovered "pci/$BDF_A/0" tx $((n + 1)) ||
		{ ktap_print_msg "stall not recovered: $(reporter "pci/$BDF_A/0" tx)"; rc=1; }
	kill "$ping" 2>/dev/null
	wait "$ping"
	return $rc
}

# messages FIRST LAST: prints "rdl-nc N" for N from FIRST to LAST as kernel
# errors (any console prints them), and waits until B received each once.
messages() {
	local i
	for i in $(seq "$1" "$2"); do
		echo "<3>rdl-nc $i" >/dev/kmsg
	done
	wait_for 20 received "$1" "$2" || {
		ktap_print_msg "messages $1 to $2: $(count "$1" "$2") received, of $(($2 - $1 + 1))"
		# A datagram that reached B and was dropped by its socket, told apart from one lost.
		ktap_print_msg "B: $(ip netns exec $NS_B nstat -az UdpInDatagrams UdpRcvbufErrors |
			awk 'NR > 1 { printf "%s %s ", $1, $2 }')"
		# Lost on the way: on B's receive ring (missed: no receive buffer), or in
		# A's transmit ring at a reset (a stall found again: more resets than rounds).
		ktap_print_msg "B: $(ip -n $NS_B -j -s -s link show eth0 |
			jq -c '.[0].stats64.rx | {packets, dropped, missed_errors, errors}')"
		ktap_print_msg "A's tx reporter: $(reporter "pci/$BDF_A/0" tx |
			jq -c '{error, recover}')"
		return 1
	}
}

# How many of the messages FIRST to LAST B received, each counted once.
count() {
	grep -o 'rdl-nc [0-9]*' "$TMP/got" | awk -v a="$1" -v b="$2" \
		'$2 >= a && $2 <= b && !seen[$2]++ { n++ } END { print n + 0 }'
}

received() { [ "$(count "$1" "$2")" = $(($2 - $1 + 1)) ]; }

# Messages while A's transmit ring is kept full (netpoll meets a stopped
# queue and a transmit lock taken by start_xmit and the poll on the other
# CPU) and its receive path busy, each round after a ring reset. (What is in
# the ring at a reset is dropped, messages included: the rounds come after.)
# The load goes to addresses that no NIC has (VOID_A, VOID_B): a stream to B
# would fill B's receive ring too, where the emulated NIC drops frames for
# want of a buffer (missed) whenever B's poll falls behind, messages
# included, which says nothing of A.
test_under_load() {
	local i rc
	devlink health set "pci/$BDF_A/0" reporter tx grace_period 0 &&
		ip neigh replace $VOID_A lladdr $MAC_VOID dev "$DEV_A" nud permanent &&
		ip -n $NS_B neigh replace $VOID_B lladdr $MAC_A dev eth0 nud permanent || return 1
	python3 "$dir/datagrams.py" blast $VOID_A 9 &
	BLAST_A=$!
	ip netns exec $NS_B python3 "$dir/datagrams.py" blast $VOID_B 9 &
	BLAST_B=$!
	sleep 1
	rc=0
	for i in 0 1 2; do
		stall && messages $((100 + i * 200)) $((199 + i * 200)) || { rc=1; break; }
	done
	kill "$BLAST_A" "$BLAST_B" 2>/dev/null
	wait "$BLAST_A" "$BLAST_B"
	BLAST_A=
	BLAST_B=
	# Told: what the NICs received, and missed for want of a buffer.
	ktap_print_msg "received, missed: A $(ip -j -s -s link show "$DEV_A" |
		jq -c '.[0].stats64.rx | [.packets, .missed_errors]'), B $(ip -n $NS_B -j -s -s \
		link show eth0 | jq -c '.[0].stats64.rx | [.packets, .missed_errors]')"
	[ $rc = 0 ] && expect '.recover >= 3' "$(reporter "pci/$BDF_A/0" tx)" &&
		devlink health set "pci/$BDF_A/0" reporter tx grace_period 1000 &&
		messages 1000 1049
}

test_unload() {
	echo 0 >$TARGET/enabled && rmdir $TARGET && rmmod netconsole &&
		ip netns del $NS_B && rmmod re1000
}

ktap_print_header
preflight ip jq socat python3 devlink
[ -e "${NETCONSOLE_KO:-}" ] || { ktap_skip_all "no netconsole module"; exit "$KSFT_SKIP"; }
ktap_set_plan 4
run_test "load: A in the initial namespace, B in its own" test_load
run_test "netconsole target on A: every message reaches B" test_target
run_test "messages with A's rings busy both ways and ring resets: every one" test_under_load
run_test "unload" test_unload
ktap_finished
