#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Runs inside the VM for 'make bench': every workload on netdevsim and on
# rdevsim, RUNS times, the two in alternating order. One line per run goes
# to $OUT/raw ("<workload> <driver> <figure>", figures being times: lower
# is better); the host makes the table.
set -euo pipefail
OUT=$1
RUNS=${2:-5}
ONLY=${3:-all}
set -a
# shellcheck source=/dev/null
. "$OUT/env.sh"
set +a

HB=$OUT/hbench
# Reports: ROUNDS rounds of REPORTS reports to each driver, the drivers
# taking turns.
REPORTS=${BENCH_REPORTS:-1000}
ROUNDS=${BENCH_ROUNDS:-21}
DIAGNOSES=${BENCH_DIAGNOSES:-1000}
DUMPS=${BENCH_DUMPS:-10}
RAW=$OUT/raw
: >"$RAW"

mountpoint -q /sys/kernel/debug || mount -t debugfs none /sys/kernel/debug
mountpoint -q /sys/kernel/config || mount -t configfs none /sys/kernel/config

NSIM_DL=netdevsim/netdevsim1
NSIM_DFS=/sys/kernel/debug/netdevsim/netdevsim1/health
RDEV_DL=faux/rdevsim1
RDEV_DFS=/sys/kernel/debug/rdevsim/rdevsim1/health
RDEV_CFG=/sys/kernel/config/rdevsim/1

# Modules netdevsim needs that are modules in this kernel, loaded once for
# good so that its load time is its own.
for dep in $(modinfo -F depends "$NETDEVSIM_KO" | tr , ' '); do
	grep -q "^$dep " /proc/modules ||
		insmod "$(find "$KBUILD" -name "$dep.ko" | head -n 1)"
done

up() {
	case $1 in
	netdevsim) "$HB" load "$NETDEVSIM_KO" "write:/sys/bus/netdevsim/new_device=1 1" ;;
	rdevsim)
		"$HB" load "$RDEVSIM_KO" "mkdir:$RDEV_CFG" "write:$RDEV_CFG/ports=1" \
			"write:$RDEV_CFG/live=1"
		;;
	esac
}

down() {
	case $1 in
	netdevsim) echo 1 >/sys/bus/netdevsim/del_device && rmmod netdevsim ;;
	rdevsim) rmdir "$RDEV_CFG" && rmmod rdevsim ;;
	esac
}

dl() { case $1 in netdevsim) echo $NSIM_DL ;; *) echo $RDEV_DL ;; esac; }
dfs() { case $1 in netdevsim) echo $NSIM_DFS ;; *) echo $RDEV_DFS ;; esac; }

# The value of KEY in hbench's "key=value ..." line.
field() { sed -n "s/.*\\<$1=\\([^ ]*\\).*/\\1/p"; }

record() { echo "$1 $2 $3" >>"$RAW"; }

# Both drivers, netdevsim first on odd runs, rdevsim first on even ones.
order() { if [ $(($1 % 2)) = 1 ]; then echo netdevsim rdevsim; else echo rdevsim netdevsim; fi; }

# each_run WORKLOAD FIGURE: RUNS runs of both drivers, FIGURE printing the
# figure of the driver it is given.
each_run() {
	local run d
	for run in $(seq "$RUNS"); do
		for d in $(order "$run"); do
			record "$1" "$d" "$("$2" "$d")"
		done
	done
}

# each_pair WORKLOAD FIGURES: RUNS runs, FIGURES measuring both drivers in
# one process, interleaved, and printing a figure per driver in the order
# they are given, a line each.
each_pair() {
	local run a b figs
	for run in $(seq "$RUNS"); do
		read -r a b <<<"$(order "$run")"
		figs=$("$2" "$a" "$b")
		record "$1" "$a" "$(echo "$figs" | sed -n 1p)"
		record "$1" "$b" "$(echo "$figs" | sed -n 2p)"
	done
}

# Module load and instance creation (one port each), then teardown.
load() {
	local ms
	ms=$(up "$1" | field ms)
	down "$1"
	echo "$ms"
}

reports() {
	local out
	out=$("$HB" report "$REPORTS" "$ROUNDS" "$(dfs "$1")/break_health" \
		"$(dfs "$2")/break_health")
	echo "$out" | grep -qv 'errors=0$' && echo "bench: failed reports: $out" >&2
	echo "$out" | field median_us
}

diagnose() { "$HB" diagnose dummy "$DIAGNOSES" "$(dl "$1")" "$(dl "$2")" | field median_us; }

dump() { "$HB" dump dummy "$DUMPS" "$(dl "$1")" "$(dl "$2")" | field median_ms; }

# The devlink health workloads: netdevsim against rdevsim.
health() {
	each_run load_ms load

	for d in netdevsim rdevsim; do
		up "$d" >/dev/null
		# The same start for both: no graceful period, nothing stored.
		devlink health set "$(dl "$d")" reporter dummy grace_period 0
	done

	for recover in true false; do
		for d in netdevsim rdevsim; do
			devlink health set "$(dl "$d")" reporter dummy auto_recover $recover
		done
		each_pair "report_us_auto_recover_$recover" reports
	done

	each_pair diagnose_us diagnose

	for d in netdevsim rdevsim; do
		echo $((1 << 20)) >"$(dfs "$d")/binary_len"
	done
	each_pair dump_1mib_ms dump

	for d in netdevsim rdevsim; do
		down "$d"
	done
}
[ "$ONLY" = nic ] || health

# The NICs: TCP throughput from one e1000 to the other, each in a network
# namespace of its own, with the C e1000 driver and with re1000, loaded one
# after the other in the same boot. The figure is seconds per GiB (a time,
# as every figure here), from iperf3's receiver side.
IPERF_S=${BENCH_IPERF_S:-5}
nic_up() {
	local mod=$1 ko dev ns ip i state
	case $mod in
	e1000) ko=$E1000_KO ;;
	re1000) ko=$RE1000_KO ;;
	esac
	insmod "$ko"
	for i in 1 2; do
		ns=bench$i ip=192.168.78.$i
		ip netns add $ns
		dev=
		for _ in $(seq 50); do
			dev=$(ip -j link show |
				jq -r ".[] | select(.address == \"52:54:00:00:00:0$i\") | .ifname")
			[ -z "$dev" ] || break
			sleep 0.1
		done
		ip link set "$dev" netns $ns
		ip -n $ns addr add $ip/24 dev "$dev"
		ip -n $ns link set "$dev" up
		ip -n $ns link set lo up
		for _ in $(seq 100); do
			state=$(ip -n $ns -j link show "$dev" | jq -r '.[0].operstate')
			[ "$state" = UP ] && break
			sleep 0.1
		done
	done
	# The first frames after a (re)start of reception are held back a while by QEMU.
	ip netns exec bench1 ping -q -c 3 -w 10 192.168.78.2 >/dev/null || true
}

nic_down() {
	ip netns del bench1
	ip netns del bench2
	rmmod "$1"
}

tcp() {
	local out bps
	nic_up "$1"
	ip netns exec bench2 iperf3 -s -1 >/dev/null 2>&1 &
	sleep 0.5
	out=$(ip netns exec bench1 iperf3 -c 192.168.78.2 -t "$IPERF_S" -J 2>&1) || true
	wait || true
	nic_down "$1"
	bps=$(echo "$out" | jq '.end.sum_received.bits_per_second' 2>/dev/null)
	case $bps in
	'' | null | 0) echo "bench: $1: iperf3 failed: ${out:0:300}" >&2; echo nan ;;
	*) awk -v b="$bps" 'BEGIN { printf "%.3f", 8 * 1073741824 / b }' ;;
	esac
}

nic_order() { if [ $(($1 % 2)) = 1 ]; then echo e1000 re1000; else echo re1000 e1000; fi; }
if [ "$ONLY" != health ]; then
	for run in $(seq "$RUNS"); do
		for d in $(nic_order "$run"); do
			record tcp_s_per_gib "$d" "$(tcp "$d")"
		done
	done
fi

# re1000's health (no C counterpart: e1000 has no health reporters).
# Fault to recovery: a fault (TX stall, bus mastering off, memory decoding
# off) is injected through debugfs while A pings B
# every 2 ms; the figure is the time from the injection to the reply that
# ends the longest silence after it (ping -D stamps replies).
reporter_recoveries() {
	devlink -j health show "$1" reporter "$2" | jq '.health[][0].recover'
}

# The PCI address of the NIC in namespace bench1.
bench1_bdf() {
	local dev
	dev=$(ip -n bench1 -j link show |
		jq -r '.[] | select(.address == "52:54:00:00:00:01") | .ifname')
	basename "$(ip netns exec bench1 readlink -f "/sys/class/net/$dev/device")"
}

fault_ms() {
	local fault=$1 bdf knob value handle name before t0 ping log=$OUT/ping.log
	bdf=$(bench1_bdf)
	case $fault in
	tx_stall) knob=stall_tx value=1 handle=pci/$bdf/0 name=tx ;;
	bus_master) knob=bus_master value=0 handle=pci/$bdf name=hw ;;
	mem_decode) knob=mem_decode value=0 handle=pci/$bdf name=hw ;;
	esac
	before=$(reporter_recoveries "$handle" $name)
	ip netns exec bench1 ping -D -i 0.002 -W 5 192.168.78.2 >"$log" 2>&1 &
	ping=$!
	sleep 1
	t0=$EPOCHREALTIME
	echo $value >/sys/kernel/debug/re1000-"$bdf"/$knob
	for _ in $(seq 200); do
		[ "$(reporter_recoveries "$handle" $name)" -gt "$before" ] && break
		sleep 0.05
	done
	sleep 1
	kill -INT $ping
	wait $ping || true
	# Traffic is back at the reply that ends the longest silence after the injection.
	awk -v t0="$t0" '
	BEGIN { prev = t0 }
	/^\[[0-9.]*\] .* time=/ {
		ts = substr($1, 2, length($1) - 2)
		if (ts <= t0) next
		if (ts - prev > gap) { gap = ts - prev; back = ts }
		prev = ts
	}
	END { if (back) printf "%.1f", (back - t0) * 1000; else print "nan" }' "$log"
}

# CPU time of the health watchdog per second, interfaces up and idle: the
# watchdog's work item runs, as timed by the workqueue trace events, over
# POLL_S seconds.
POLL_S=${BENCH_POLL_S:-10}
poll_us_per_s() {
	local tr=/sys/kernel/tracing/instances/rdl_poll
	mkdir -p $tr
	echo 1 >$tr/events/workqueue/workqueue_execute_start/enable
	echo 1 >$tr/events/workqueue/workqueue_execute_end/enable
	echo >$tr/trace
	sleep "$POLL_S"
	echo 0 >$tr/tracing_on
	# Start and end name the work item; the watchdog's function is re1000's.
	awk -v s="$POLL_S" '
	function stamp(ev,    i, t) {
		for (i = 2; i <= NF; i++)
			if ($i == ev) { t = $(i - 1); sub(/:$/, "", t); return t }
	}
	function work(    w) {
		w = $0; sub(/.*work struct /, "", w); sub(/[: ].*/, "", w); return w
	}
	/workqueue_execute_start:/ && /re1000/ { start[work()] = stamp("workqueue_execute_start:") }
	/workqueue_execute_end:/ {
		w = work()
		if (w in start) {
			sum += stamp("workqueue_execute_end:") - start[w]; n++; delete start[w]
		}
	}
	END { if (n) printf "%.1f", sum * 1e6 / s; else print "nan" }' $tr/trace
	rmdir $tr
}

if [ "$ONLY" != health ]; then
	nic_up re1000
	# Repeats come faster than hw's graceful period (10 s) allows recoveries.
	devlink health set "pci/$(bench1_bdf)" reporter hw grace_period 0
	for run in $(seq "$RUNS"); do
		for fault in tx_stall bus_master mem_decode; do
			record "recover_${fault}_ms" re1000 "$(fault_ms $fault)"
		done
	done
	record health_poll_us_per_s re1000 "$(poll_us_per_s)"
	nic_down re1000
fi

echo "done" >"$OUT/status"
