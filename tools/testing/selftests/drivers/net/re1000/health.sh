#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# devlink health on the Rust e1000 driver (re1000), with QEMU's two e1000
# NICs joined by a hub, one in each of two network namespaces: the devlink
# instance, its info and port, the 'tx' and 'hw' reporters, and faults
# injected into the device through debugfs while traffic flows (a stopped
# transmit unit, bus mastering off, a recovery that fails), each found by the
# driver's watchdog, reported (counters, state, trace event, 'devlink mon
# health'), dumped and recovered, traffic resuming. RE1000_KO names the module
# file.

dir=$(dirname "$0")
KSFT_LIB=${KSFT_LIB:-$dir/../../..}
# shellcheck source=/dev/null
. "$KSFT_LIB/kselftest/ktap_helpers.sh"
# shellcheck source=../lib/expect.sh
. "$dir/../lib/expect.sh"
# shellcheck source=lib.sh
. "$dir/lib.sh"

TR=/sys/kernel/tracing/instances/re1000_health
MON=$(mktemp)
DBG=/sys/kernel/debug/re1000
BDF_A=
BDF_B=

cleanup() {
	[ -z "${FLOOD:-}" ] || kill "$FLOOD" 2>/dev/null
	[ -z "${MON_PID:-}" ] || kill "$MON_PID" 2>/dev/null
	ip netns del $NS_A 2>/dev/null
	ip netns del $NS_B 2>/dev/null
	rm -f "$MON" "$FLOOD_LOG"
	[ ! -d "$TR" ] || { echo 0 >"$TR/tracing_on"; rmdir "$TR"; } 2>/dev/null
	grep -q '^re1000 ' /proc/modules && rmmod re1000
}
trap cleanup EXIT


# until REPORTER-HANDLE NAME JQ-FILTER: wait up to 10 s for the filter to hold.
until_reporter() {
	local end=$((SECONDS + 10)) json
	while :; do
		json=$(reporter "$1" "$2")
		jq -e "$3" >/dev/null <<<"$json" && return 0
		[ $SECONDS -lt $end ] || break
		sleep 0.2
	done
	ktap_print_msg "not ($3) in: $json"
	return 1
}

trace_on() {
	[ -d $TR ] || mkdir $TR || return 1
	echo >$TR/trace
	echo 1 >$TR/events/devlink/devlink_health_report/enable &&
		echo 1 >$TR/events/devlink/devlink_health_reporter_state_update/enable
}

mon_on() {
	devlink mon health >"$MON" 2>&1 &
	MON_PID=$!
	sleep 0.3
}

mon_off() {
	kill "$MON_PID" 2>/dev/null
	wait "$MON_PID" 2>/dev/null
	MON_PID=
}

test_load() {
	insmod "${RE1000_KO:?}" || return 1
	wait_for 5 has_if $MAC_A && wait_for 5 has_if $MAC_B || return 1
	BDF_A=$(pci_addr $MAC_A) && BDF_B=$(pci_addr $MAC_B) || return 1
	expect "[.dev | keys[]] | index(\"pci/$BDF_A\") != null and
		index(\"pci/$BDF_B\") != null" "$(devlink -j dev show)"
}

test_info() {
	expect ".info[\"pci/$BDF_A\"] | .driver == \"re1000\" and
		.serial_number == \"$MAC_A\" and .versions.fixed[\"asic.id\"] == \"82540EM\" and
		(.versions.stored[\"fw.eeprom\"] | test(\"^[0-9]+\\\\.[0-9]+-[0-9]+$\"))" \
		"$(devlink -j dev info pci/$BDF_A)" &&
		expect ".info[\"pci/$BDF_B\"].serial_number == \"$MAC_B\"" \
			"$(devlink -j dev info pci/$BDF_B)"
}

# The port is physical, of type Ethernet, with the interface as its netdev.
test_port() {
	local dev name
	dev=$(ifname $MAC_A)
	name=$(cat "/sys/class/net/$dev/phys_port_name")
	expect ".port[\"pci/$BDF_A/0\"] | .type == \"eth\" and .flavour == \"physical\" and
		.netdev == \"$dev\"" "$(devlink -j port show pci/$BDF_A/0)" &&
		[ "$name" = p0 ] || { ktap_print_msg "phys_port_name: $name"; return 1; }
}

test_reporters() {
	ip netns add $NS_A && ip netns add $NS_B &&
		place_both && pings 10 || return 1
	expect '.state == "healthy" and .grace_period == 10000 and .auto_recover and
		.auto_dump and .error == 0' "$(reporter pci/$BDF_A hw)" &&
		expect '.state == "healthy" and .grace_period == 1000 and .auto_recover and
			.auto_dump and .error == 0' "$(reporter pci/$BDF_A/0 tx)" &&
		expect "[.health | to_entries[] | select(.key | startswith(\"pci/$BDF_A\"))
			| .value[].reporter] | sort == [\"hw\", \"tx\"]" "$(devlink -j health show)"
}

test_diagnose() {
	expect '.link_up and .speed == 1000 and .duplex == "full" and .bus_master and
		.resets == 0 and .crc_errors == 0' \
		"$(devlink -j health diagnose pci/$BDF_A reporter hw)" &&
		expect '.up and (.queue_stopped | not) and .tctl_en and .tx_resets == 0 and
			.head == .tail' "$(devlink -j health diagnose pci/$BDF_A/0 reporter tx)"
}

# The dump of a reporter with no dump stored is the live state.
test_live_dump() {
	devlink health dump clear pci/$BDF_A reporter hw &&
		expect '.bus_master and .registers.TCTL > 0 and (.registers.STATUS % 4) >= 2 and
			(has("cause") | not)' \
			"$(devlink -j health dump show pci/$BDF_A reporter hw)" &&
		devlink health dump clear pci/$BDF_A reporter hw &&
		expect '.ring.tctl_en and (.ring.descriptors | length) == 5' \
			"$(devlink -j health dump show pci/$BDF_A/0 reporter tx)" &&
		devlink health dump clear pci/$BDF_A/0 reporter tx
}

# Stops the transmit unit of A while pings flow: the watchdog reports the
# stall, the ring is reset, pings flow again; the dump holds what the
# watchdog saw.
test_tx_stall() {
	local sent got
	trace_on && mon_on || return 1
	flood
	echo 1 >$DBG-$BDF_A/stall_tx || { unflood >/dev/null; mon_off; return 1; }
	until_reporter pci/$BDF_A/0 tx '.error == 1 and .recover == 1 and .state == "healthy"'
	local rc=$?
	sleep 1
	read -r sent got <<<"$(unflood)"
	mon_off
	[ $rc = 0 ] || return 1
	ktap_print_msg "tx stall: $((sent - got)) of $sent pings (10 ms apart) lost"
	grep -q "devlink_health_report: .*dev_name=$BDF_A .*reporter_name=tx: TX ring stalled" \
		$TR/trace || { ktap_print_msg "trace: $(cat $TR/trace)"; return 1; }
	grep -q "reporter tx" "$MON" && grep -q "state error" "$MON" &&
		grep -q "state healthy" "$MON" || { ktap_print_msg "mon: $(cat "$MON")"; return 1; }
	expect '.cause == "no progress" and .stuck_ms >= 1000 and .ring.pending > 0 and
		(.ring.tctl_en | not) and .ring.head != .ring.tail' \
		"$(devlink -j health dump show pci/$BDF_A/0 reporter tx)" &&
		expect '.tx_resets == 1 and .tctl_en' \
			"$(devlink -j health diagnose pci/$BDF_A/0 reporter tx)" &&
		[ $((sent - got)) -lt $((sent / 2)) ] && pings 20
}

# With auto_recover off the ring stays stalled, in error, until a manual
# recover; the stack's transmit timeout (the queue stopped by byte queue
# limits) is seen meanwhile.
test_tx_manual() {
	local timeouts
	devlink health set pci/$BDF_A/0 reporter tx auto_recover false || return 1
	devlink health dump clear pci/$BDF_A/0 reporter tx
	timeouts=$(devlink -j health diagnose pci/$BDF_A/0 reporter tx | jq .tx_timeouts)
	flood
	echo 1 >$DBG-$BDF_A/stall_tx || { unflood >/dev/null; return 1; }
	until_reporter pci/$BDF_A/0 tx '.error == 2 and .state == "error"' ||
		{ unflood >/dev/null; return 1; }
	# The queue fills, stops, and the stack times it out after 5 s.
	local end=$((SECONDS + 15))
	until expect ".tx_timeouts > $timeouts" \
		"$(devlink -j health diagnose pci/$BDF_A/0 reporter tx)" >/dev/null 2>&1; do
		[ $SECONDS -lt $end ] ||
			{ unflood >/dev/null; ktap_print_msg "no transmit timeout"; return 1; }
		sleep 0.5
	done
	unflood >/dev/null
	expect '.state == "error" and .recover == 1' "$(reporter pci/$BDF_A/0 tx)" &&
		expect '.pending > 0 and (.tctl_en | not)' \
			"$(devlink -j health diagnose pci/$BDF_A/0 reporter tx)" || return 1
	devlink health recover pci/$BDF_A/0 reporter tx &&
		expect '.state == "healthy" and .recover == 2' "$(reporter pci/$BDF_A/0 tx)" &&
		devlink health set pci/$BDF_A/0 reporter tx auto_recover true && pings 20
}

# hw_fault KNOB WHAT FILTER: while pings flow, writes 0 to A's knob KNOB
# (WHAT names it), waits for A's 'hw' reporter to match FILTER and for the
# link, prints the pings lost, and checks that the recovery set the knob's
# bit again.
hw_fault() {
	local sent got
	flood
	echo 0 >"$DBG-$BDF_A/$1" || { unflood >/dev/null; return 1; }
	until_reporter pci/$BDF_A hw "$3" || { unflood >/dev/null; return 1; }
	wait_for 10 carrier $NS_A eth0
	sleep 1
	read -r sent got <<<"$(unflood)"
	ktap_print_msg "$2: $((sent - got)) of $sent pings (10 ms apart) lost"
	[ "$(cat "$DBG-$BDF_A/$1")" = 1 ]
}

# Bus mastering off: no more DMA; the watchdog reports 'hw', whose recovery
# resets the device and enables it again.
test_bus_master() {
	devlink health dump clear pci/$BDF_A reporter hw
	hw_fault bus_master "bus mastering off" \
		'.error == 1 and .recover == 1 and .state == "healthy"' || return 1
	grep -q "devlink_health_report: .*dev_name=$BDF_A .*reporter_name=hw: bus mastering" \
		$TR/trace || { ktap_print_msg "trace: $(grep hw $TR/trace)"; return 1; }
	expect '.cause == "bus mastering disabled" and (.bus_master | not) and
		.registers.TCTL > 0' "$(devlink -j health dump show pci/$BDF_A reporter hw)" &&
		expect '.resets == 1 and .bus_master and .link_up' \
			"$(devlink -j health diagnose pci/$BDF_A reporter hw)" && pings 20
}

# 'devlink health test' makes an event that goes the way of a real one.
test_hw_test() {
	devlink health dump clear pci/$BDF_B reporter hw &&
		devlink health test pci/$BDF_B reporter hw || return 1
	until_reporter pci/$BDF_B hw '.error == 1 and .recover == 1 and .state == "healthy"' &&
		expect '.cause == "test event"' \
			"$(devlink -j health dump show pci/$BDF_B reporter hw)" &&
		wait_for 10 carrier $NS_B eth0 && pings 10
}

# A recovery made to fail leaves the reporter in error (automatic or manual);
# the next one works. The graceful period is set to 0 so that the event
# right after the previous test's is recovered.
test_fail_recover() {
	devlink health set pci/$BDF_B reporter hw grace_period 0 &&
		expect '.grace_period == 0' "$(reporter pci/$BDF_B hw)" || return 1
	echo 1 >$DBG-$BDF_B/fail_recover && [ "$(cat $DBG-$BDF_B/fail_recover)" = Y ] &&
		devlink health test pci/$BDF_B reporter hw &&
		until_reporter pci/$BDF_B hw \
			'.error == 2 and .recover == 1 and .state == "error"' &&
		[ "$(cat $DBG-$BDF_B/fail_recover)" = N ] || return 1
	echo y >$DBG-$BDF_B/fail_recover &&
		fails "recover set to fail by fault injection" \
			devlink health recover pci/$BDF_B reporter hw &&
		expect '.state == "error" and .recover == 1' "$(reporter pci/$BDF_B hw)" &&
		devlink health recover pci/$BDF_B reporter hw &&
		expect '.state == "healthy" and .recover == 2' "$(reporter pci/$BDF_B hw)" &&
		devlink health set pci/$BDF_B reporter hw grace_period 10000 &&
		wait_for 10 carrier $NS_B eth0 && pings 10
}

# Bad writes to the knobs fail with EINVAL and change nothing: no report, the
# stored dump kept.
test_bad_input() {
	local before
	before=$(devlink -j health dump show pci/$BDF_A reporter hw) || return 1
	fails "Invalid argument" bash -c "echo maybe >$DBG-$BDF_A/bus_master" &&
		fails "Invalid argument" bash -c "echo 0 >$DBG-$BDF_A/stall_tx" &&
		fails "Invalid argument" bash -c "echo yesyesyesyes >$DBG-$BDF_A/fail_recover" ||
		return 1
	sleep 1.5
	[ "$(cat $DBG-$BDF_A/bus_master)" = 1 ] && [ "$(cat $DBG-$BDF_A/fail_recover)" = N ] &&
		expect '.error == 1' "$(reporter pci/$BDF_A hw)" &&
		[ "$(devlink -j health dump show pci/$BDF_A reporter hw)" = "$before" ] &&
		fails "Operation not supported" devlink health test pci/$BDF_A/0 reporter tx &&
		fails "Invalid argument" devlink health diagnose pci/$BDF_A/0 reporter nope
}

# The dump stored by the bus mastering fault goes: what 'dump show' gives
# next is the live state, with no cause (iproute2 6.1 prints no dump_ts to
# look at instead).
test_dump_clear() {
	expect '.cause == "bus mastering disabled"' \
		"$(devlink -j health dump show pci/$BDF_A reporter hw)" &&
		devlink health dump clear pci/$BDF_A reporter hw &&
		expect '(has("cause") | not) and .bus_master' \
			"$(devlink -j health dump show pci/$BDF_A reporter hw)" &&
		devlink health dump clear pci/$BDF_A reporter hw
}

# Memory decoding of A is turned off while pings flow: the device no longer
# answers at its registers (QEMU reads zero there), the watchdog finds
# reception off on a running interface and reports 'hw', whose recovery
# turns decoding on and sets the device up again. The graceful period is set
# to 0 for the time of the test, as 'hw' recovered A a few seconds ago.
test_mem_decode() {
	devlink health set pci/$BDF_A reporter hw grace_period 0 || return 1
	hw_fault mem_decode "memory decoding off" \
		'.error == 2 and .recover == 2 and .state == "healthy"' || return 1
	expect '.cause == "device lost its configuration" and .registers.RCTL == 0 and
		.registers.CTRL == 0' "$(devlink -j health dump show pci/$BDF_A reporter hw)" &&
		expect '.resets == 2 and .link_up' \
			"$(devlink -j health diagnose pci/$BDF_A reporter hw)" &&
		devlink health set pci/$BDF_A reporter hw grace_period 10000 && pings 20
}

# qmp COMMAND: has the VM's monitor run a QMP command (JSON); fails on an
# error answer.
qmp() {
	rm -f "$RDL_QMP_DIR/qmp.rep"
	# One command per line; the file appears whole.
	echo "$1" | tr '\n\t' '  ' >"$RDL_QMP_DIR/qmp.new" &&
		mv "$RDL_QMP_DIR/qmp.new" "$RDL_QMP_DIR/qmp.req"
	wait_for 15 test -f "$RDL_QMP_DIR/qmp.rep" || { ktap_print_msg "QMP: no answer"; return 1; }
	! grep -q '"error"' "$RDL_QMP_DIR/qmp.rep" ||
		{ ktap_print_msg "QMP: $(cat "$RDL_QMP_DIR/qmp.rep")"; return 1; }
}

# The device of A is unplugged from its PCIe slot (QMP device_del; the
# guest unbinds the driver and ejects the device) while pings flow: the
# driver lets go of it without a splat (RDL_QMP_DIR: where scripts/vm.sh
# passes QMP commands on), its devlink instance and knobs go
# with it, and B keeps working; the removal waits for a recover held in the
# driver's op, which then fails (the device is going), and a dump show still
# being read meanwhile ends once read on. Plugged back, the device is probed
# again.
test_hot_unplug() {
	local rc held_rc=0
	hold_dump pci/$BDF_A/0 tx || return 1
	hold_recover "$BDF_A" || { release_dump >/dev/null; return 1; }
	flood
	qmp '{"execute": "device_del", "arguments": {"id": "nic1"}}' ||
		{ unflood >/dev/null; let_go_recover; release_dump >/dev/null; return 1; }
	teardown_waits || held_rc=1
	released_recover_fails || held_rc=1
	wait_for 20 test ! -e "/sys/bus/pci/devices/$BDF_A"
	rc=$?
	unflood >/dev/null
	released_dump_ends || held_rc=1
	[ $rc = 0 ] || { ktap_print_msg "$BDF_A still there"; return 1; }
	[ ! -e "$DBG-$BDF_A" ] && ! devlink dev show | grep -q "pci/$BDF_A" &&
		[ -z "$(ifname $MAC_A $NS_A)" ] || return 1
	expect '.state == "healthy"' "$(reporter pci/$BDF_B hw)" || return 1
	# Plugged back once QEMU is done with the removal (the ID is free again).
	wait_for 20 qmp '{"execute": "device_add", "arguments": {"driver": "e1000",
		"id": "nic1", "bus": "rp1", "netdev": "n1", "mac": "'$MAC_A'"}}' >/dev/null ||
		{ ktap_print_msg "QMP: $(cat "$RDL_QMP_DIR/qmp.rep")"; return 1; }
	if ! wait_for 20 has_if $MAC_A; then
		ktap_print_msg "not probed again: $(dmesg | tail -n 5)"
		return 1
	fi
	BDF_A=$(pci_addr $MAC_A) || return 1
	expect '.state == "healthy" and .error == 0' "$(reporter pci/$BDF_A hw)" &&
		place $MAC_A $NS_A $IP_A && pings 10 && [ $held_rc = 0 ]
}

# Unloading while a stall is being found and recovered.
test_unload_busy() {
	local errors rc
	# Recovered by hand only: the unload meets the ring stuck, whatever the timing.
	devlink health set pci/$BDF_A/0 reporter tx auto_recover false || return 1
	errors=$(reporter pci/$BDF_A/0 tx | jq .error)
	flood
	echo 1 >$DBG-$BDF_A/stall_tx || { unflood >/dev/null; return 1; }
	until_reporter pci/$BDF_A/0 tx ".error == $((errors + 1)) and .state == \"error\"" &&
		expect '.pending > 0' "$(devlink -j health diagnose pci/$BDF_A/0 reporter tx)" ||
		{ unflood >/dev/null; return 1; }
	rmmod re1000
	rc=$?
	unflood >/dev/null
	[ $rc = 0 ] && [ -z "$(ls -d $DBG-* 2>/dev/null)" ] &&
		[ -z "$(devlink dev show | grep pci/)" ]
}

ktap_print_header
preflight ip jq ping devlink
ktap_set_plan 16
run_test "load: a devlink instance per NIC" test_load
run_test "dev info: driver, serial from the MAC, EEPROM version" test_info
run_test "port: physical, Ethernet, linked to the interface" test_port
run_test "reporters hw and tx, healthy, with their periods" test_reporters
run_test "diagnose: live link and ring state" test_diagnose
run_test "dump with none stored: the live state" test_live_dump
run_test "TX stall: reported, traced, notified, dumped, recovered" test_tx_stall
run_test "TX stall, auto_recover off: error until a manual recover" test_tx_manual
run_test "bus mastering off: hw reported, device reset" test_bus_master
run_test "devlink health test: the same flow" test_hw_test
run_test "fail_recover: the next recovery fails, then works" test_fail_recover
run_test "bad knob input: EINVAL, nothing changed" test_bad_input
run_test "dump clear" test_dump_clear
run_test "memory decoding off: hw reported, device set up again" test_mem_decode
if [ -n "${RDL_QMP_DIR:-}" ]; then
	run_test "PCI hot-unplug amid traffic, a dump read and a recover held, plugged back" \
		test_hot_unplug
else
	ktap_test_skip "PCI hot-unplug: no QMP (RDL_QMP_DIR), not in the test VM"
fi
run_test "unload during a stall" test_unload_busy
ktap_finished
