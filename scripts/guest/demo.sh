#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Runs inside the VM: the devlink health story, command by command.
# The device is rdevsim, the Rust counterpart of netdevsim, followed by the
# kernel::devlink sample.
set -u
OUT=$1
set -a
# shellcheck source=/dev/null
. "$OUT/env.sh"
set +a
# iproute2 of Linux 7.3's devlink, as in the tests.
# shellcheck source=scripts/guest/devlink.sh
. "$(dirname "$0")/devlink.sh"
rdl_guest_devlink >&2 || exit 1

say() { printf '\n\033[1m# %s\033[0m\n' "$*"; }

# Show a shell command, then run it. iproute2 6.1 says "kernel answers:
# Success" after some commands; that line is noise here.
run() {
	printf '$ %s\n' "$1"
	sh -c "$1" 2>&1 | { grep -v '^kernel answers: Success' || true; }
	return "${PIPESTATUS[0]}"
}

DEV=faux/rdevsim10
DFS=/sys/kernel/debug/rdevsim/rdevsim10/health
CFG=/sys/kernel/config/rdevsim
mountpoint -q /sys/kernel/debug || mount -t debugfs none /sys/kernel/debug
mountpoint -q /sys/kernel/config || mount -t configfs none /sys/kernel/config

say "Load rdevsim (Rust, after netdevsim) and create device 10 with two ports"
run "insmod $RDEVSIM_KO" || exit 1
run "mkdir $CFG/10 && echo 2 > $CFG/10/ports && echo 1 > $CFG/10/live" || exit 1
run "devlink dev"
run "devlink dev info $DEV"
run "devlink port"

say "Each device has health reporters, one per kind of error; ports have their own"
run "devlink health show"

say "Watch health events in the background"
devlink mon health >"$OUT/mon.txt" 2>&1 &
mon=$!
sleep 1

say "The driver detects an error and reports it (here: a debugfs knob)"
run "echo 'firmware stopped answering' > $DFS/break_health"
run "devlink health show $DEV reporter dummy"

say "The report stored a dump of the device state at the time of the error"
run "devlink health dump show $DEV reporter dummy"

say "diagnose shows the live state; recovery was automatic (auto_recover true)"
run "devlink health diagnose $DEV reporter dummy"

say "With auto_recover off, the reporter stays in error until recovered by hand"
run "devlink health set $DEV reporter dummy auto_recover false"
run "devlink health dump clear $DEV reporter dummy"
run "echo 'link flapped' > $DFS/break_health"
run "devlink health show $DEV reporter dummy"

say "A recover that fails tells the user why, and the error stays"
run "echo Y > $DFS/fail_recover"
run "devlink health recover $DEV reporter dummy"
run "devlink -j -p health show $DEV reporter dummy"

say "Recovered by hand"
run "echo N > $DFS/fail_recover"
run "devlink health recover $DEV reporter dummy"
run "devlink health show $DEV reporter dummy"

say "Health events seen by 'devlink mon health'"
kill $mon
wait $mon 2>/dev/null
cat "$OUT/mon.txt"

say "A port reporter: the dump names the port and carries the report's message"
run "echo 'carrier lost' > /sys/kernel/debug/rdevsim/rdevsim10/ports/1/health/break_health"
run "devlink health show $DEV/1 reporter link"
run "devlink health dump show $DEV/1 reporter link"

say "Clean up"
run "rmdir $CFG/10"
run "rmmod rdevsim"

RDEV=faux/rust-devlink-sample
RDFS=/sys/kernel/debug/rust_devlink_health
say "kernel::devlink's own sample: a faux device with two reporters"
run "insmod $RUST_DEVLINK_HEALTH_KO" || exit 1
run "devlink dev info $RDEV"
run "devlink health show $RDEV reporter sample"

say "The sample reports what is written to debugfs; its dump keeps that context"
run "echo 'firmware hang' > $RDFS/report"
run "devlink health show $RDEV reporter sample"
run "devlink health dump show $RDEV reporter sample"
run "devlink health diagnose $RDEV reporter sample"

say "An op the reporter does not implement: EOPNOTSUPP, as for a C driver"
run "devlink health test $RDEV reporter sample"

say "A reporter with no op at all: devlink counts its errors, and that is all"
run "echo 'correctable error' > $RDFS/pcie_error"
run "devlink health show $RDEV reporter pcie"
run "devlink health diagnose $RDEV reporter pcie"
run "rmmod rust_devlink_health"

# The Rust e1000 driver: a real (emulated) NIC, whose faults come from the
# device. NIC A goes to namespace a, B to b; A pings B throughout.
say "re1000, the Rust e1000 driver: a devlink instance per NIC, its port linked to the interface"
run "insmod $RE1000_KO" || exit 1
sleep 1
nic() { ip -j link show | jq -r ".[] | select(.address == \"$1\") | .ifname"; }
A=$(nic 52:54:00:00:00:01)
B=$(nic 52:54:00:00:00:02)
BDF=$(basename "$(readlink -f "/sys/class/net/$A/device")")
run "devlink dev info pci/$BDF"
run "devlink port show pci/$BDF/0"
ip netns add a && ip netns add b
ip link set "$B" netns b && ip -n b addr add 192.168.77.2/24 dev "$B" && ip -n b link set "$B" up
ip link set "$A" netns a && ip -n a addr add 192.168.77.1/24 dev "$A" && ip -n a link set "$A" up
sleep 3
run "devlink health show pci/$BDF reporter hw"
run "devlink health show pci/$BDF/0 reporter tx"

say "A ping runs; the transmit unit of A is stopped (debugfs: TCTL.EN cleared)"
ip netns exec a ping -i 0.05 192.168.77.2 >"$OUT/ping.txt" 2>&1 &
ping=$!
sleep 2
run "echo 1 > /sys/kernel/debug/re1000-$BDF/stall_tx"
sleep 3

say "The driver's watchdog found the stall and reported it; devlink recovered it"
run "devlink health show pci/$BDF/0 reporter tx"
say "The dump: what the watchdog saw (TCTL.EN off, the device's head stuck)"
run "devlink health dump show pci/$BDF/0 reporter tx"
run "devlink health diagnose pci/$BDF/0 reporter tx"
sleep 1
kill -INT $ping
wait $ping 2>/dev/null
say "The ping went through the stall: what it lost"
tail -n 2 "$OUT/ping.txt"
ip netns del a
ip netns del b
run "rmmod re1000"
say "Done"
