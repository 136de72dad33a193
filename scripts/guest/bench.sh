#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Runs inside the VM for 'make bench': every workload on netdevsim and on
# rdevsim, RUNS times, the two in alternating order. One line per run goes
# to $OUT/raw ("<workload> <driver> <figure>", figures being times: lower
# is better); the host makes the table. A workload that fails (a write,
# a request, iperf3) stops the benchmark: its reason goes to $OUT/failed,
# and no figure of it to $OUT/raw.
set -eEuo pipefail
OUT=$1
RUNS=${2:-5}
ONLY=${3:-all}
FAILED=$OUT/failed
rm -f "$FAILED"

# fail WHAT: the benchmark stops, and the host fails with WHAT.
fail() {
	echo "bench: FAILED: $*" | tee -a "$FAILED" >&2
	exit 1
}
# A command that fails outside a check of its own stops the benchmark too.
trap 'fail "line $LINENO: $BASH_COMMAND"' ERR
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
# A second rdevsim instance, whose reports allocate as netdevsim's do
# (health/alloc_per_report): their ratio to netdevsim's is the cost of the
# abstraction, where rdevsim's (short texts kept in the report, the buffer of
# the recovered message reused) also counts the difference between designs.
RALLOC_DL=faux/rdevsim2
RALLOC_DFS=/sys/kernel/debug/rdevsim/rdevsim2/health
RALLOC_CFG=/sys/kernel/config/rdevsim/2

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
	# rdevsim already loaded
	rdevsim-alloc)
		mkdir "$RALLOC_CFG" && echo 1 >"$RALLOC_CFG/ports" &&
			echo 1 >"$RALLOC_CFG/live" && echo Y >"$RALLOC_DFS/alloc_per_report"
		;;
	esac
}

down() {
	case $1 in
	netdevsim) echo 1 >/sys/bus/netdevsim/del_device && rmmod netdevsim ;;
	rdevsim) rmdir "$RDEV_CFG" && rmmod rdevsim ;;
	rdevsim-alloc) rmdir "$RALLOC_CFG" ;;
	esac
}

dl() {
	case $1 in
	netdevsim) echo $NSIM_DL ;;
	rdevsim) echo $RDEV_DL ;;
	rdevsim-alloc) echo $RALLOC_DL ;;
	esac
}
dfs() {
	case $1 in
	netdevsim) echo $NSIM_DFS ;;
	rdevsim) echo $RDEV_DFS ;;
	rdevsim-alloc) echo $RALLOC_DFS ;;
	esac
}

# The value of KEY in hbench's "key=value ..." line.
field() { sed -n "s/.*\\<$1=\\([^ ]*\\).*/\\1/p"; }

# record WORKLOAD DRIVER FIGURE: only a figure (a time, so above zero) goes
# into the medians.
record() {
	[[ $3 =~ ^[0-9]+(\.[0-9]+)?$ && $3 =~ [1-9] ]] ||
		fail "$1 on $2: no figure ('$3')"
	echo "$1 $2 $3" >>"$RAW"
}

# order RUN DRIVER...: the drivers, the first of them moving to the end at
# each run: with two, netdevsim first on odd runs, rdevsim on even ones.
order() {
	local run=$1
	shift
	local -a d=("$@")
	local i n=${#d[@]}
	for ((i = 0; i < n; i++)); do
		echo "${d[(i + run - 1) % n]}"
	done
}

# each_run WORKLOAD FIGURE: RUNS runs of both drivers, FIGURE printing the
# figure of the driver it is given.
each_run() {
	local run d fig
	for run in $(seq "$RUNS"); do
		for d in $(order "$run" netdevsim rdevsim); do
			fig=$("$2" "$d") || fail "$1 on $d, run $run"
			record "$1" "$d" "$fig"
		done
	done
}

# each_set WORKLOAD FIGURES DRIVER...: RUNS runs, FIGURES measuring the
# drivers in one process, interleaved, and printing a figure per driver in
# the order they are given, a line each.
each_set() {
	local w=$1 f=$2 run i figs
	shift 2
	local -a d
	for run in $(seq "$RUNS"); do
		mapfile -t d < <(order "$run" "$@")
		figs=$("$f" "${d[@]}") || fail "$w (${d[*]}), run $run"
		for i in "${!d[@]}"; do
			record "$w" "${d[i]}" "$(echo "$figs" | sed -n "$((i + 1))p")"
		done
	done
}

# Module load and instance creation (one port each), then teardown.
load() {
	local out
	out=$(up "$1") || return 1
	down "$1" || return 1
	echo "$out" | field ms
}

# hbench fails (with a message of its own) when a write fails.
reports() {
	local d files=()
	for d in "$@"; do
		files+=("$(dfs "$d")/break_health")
	done
	"$HB" report "$REPORTS" "$ROUNDS" "${files[@]}" | field median_us
}

diagnose() { "$HB" diagnose dummy "$DIAGNOSES" "$(dl "$1")" "$(dl "$2")" | field median_us; }

dump() { "$HB" dump dummy "$DUMPS" "$(dl "$1")" "$(dl "$2")" | field median_ms; }

# The devlink health workloads: netdevsim against rdevsim.
health() {
	each_run load_ms load

	for d in netdevsim rdevsim rdevsim-alloc; do
		up "$d" >/dev/null || fail "$d: no instance"
		# The same start for all: no graceful period, nothing stored.
		devlink health set "$(dl "$d")" reporter dummy grace_period 0
	done

	for recover in true false; do
		for d in netdevsim rdevsim rdevsim-alloc; do
			devlink health set "$(dl "$d")" reporter dummy auto_recover $recover
		done
		each_set "report_us_auto_recover_$recover" reports \
			netdevsim rdevsim rdevsim-alloc
	done

	each_set diagnose_us diagnose netdevsim rdevsim

	for d in netdevsim rdevsim; do
		echo $((1 << 20)) >"$(dfs "$d")/binary_len"
	done
	each_set dump_1mib_ms dump netdevsim rdevsim

	for d in rdevsim-alloc netdevsim rdevsim; do
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

# profile DRIVER: the iperf3 client under perf (BENCH_PERF=1): samples of
# every CPU with call chains, tracepoint counts, interrupts, NAPI polls (and
# their work), transmissions per device, TCP and link counters and
# (BENCH_MMIO=1) the MMIO accesses QEMU traced, per GiB received, into
# $OUT/perf-DRIVER-N.*; prints iperf3's JSON. BENCH_PERF=counters: the same
# without perf (less disturbed).
PERF_N=0
# mmio_trace on|off: QEMU's MMIO trace events (BENCH_MMIO=1), over QMP.
mmio_trace() {
	local on=false i
	[ -n "${BENCH_MMIO:-}" ] || return 0
	[ "$1" = on ] && on=true
	rm -f "$OUT/qmp.rep"
	echo '{"execute": "trace-event-set-state", "arguments":' \
		"{\"name\": \"memory_region_ops_*\", \"enable\": $on}}" >"$OUT/qmp.new"
	mv "$OUT/qmp.new" "$OUT/qmp.req"
	for i in $(seq 100); do
		[ -f "$OUT/qmp.rep" ] && return 0
		sleep 0.1
	done
	echo "bench: QMP: no answer" >&2
}
profile() {
	local p d out at0=0 at1=0 ev
	PERF_N=$((PERF_N + 1))
	p=$OUT/perf-$1-$PERF_N
	# perf's data stays in the guest (a write to the shared folder is an
	# interrupt, which e1000's shared line sees too).
	d=/tmp/perf-$1-$PERF_N.data
	ev=irq:irq_handler_entry,irq:softirq_entry,napi:napi_poll,net:net_dev_xmit
	ev=$ev,net:netif_receive_skb,net:napi_gro_receive_entry,skb:consume_skb
	ev=$ev,skb:kfree_skb,kmem:kmalloc,kmem:kmem_cache_alloc,kmem:mm_page_alloc
	ev=$ev,kmem:kfree,kmem:kmem_cache_free
	cat /proc/interrupts >"$p.irq0"
	# Each NAPI poll's work, from the tracepoint, in the trace buffer.
	mountpoint -q /sys/kernel/tracing || mount -t tracefs none /sys/kernel/tracing
	echo 65536 >/sys/kernel/tracing/buffer_size_kb
	echo >/sys/kernel/tracing/trace
	echo 1 >/sys/kernel/tracing/events/napi/napi_poll/enable
	echo 1 >/sys/kernel/tracing/events/net/net_dev_xmit/enable
	ip netns exec bench1 nstat -n
	ip netns exec bench2 nstat -n
	mmio_trace on
	[ ! -f "$OUT/mmio.log" ] || at0=$(stat -c %s "$OUT/mmio.log")
	if [ "$BENCH_PERF" = counters ]; then
		# Without perf: the trace events and counters only.
		out=$(ip netns exec bench1 iperf3 -c 192.168.78.2 -t "$IPERF_S" -J 2>"$p.err")
	else
		out=$(perf stat -a -x, -o "$p.stat" -e "$ev" -- \
			perf record -q -a -g -e cpu-clock -o "$d" -- \
			ip netns exec bench1 iperf3 -c 192.168.78.2 -t "$IPERF_S" -J 2>"$p.err")
	fi
	echo 0 >/sys/kernel/tracing/events/napi/napi_poll/enable
	echo 0 >/sys/kernel/tracing/events/net/net_dev_xmit/enable
	{
		echo "== sender"; ip netns exec bench1 nstat
		echo "== receiver"; ip netns exec bench2 nstat
		# re1000 reads the device's error statistics (MPC: frames the device
		# missed for want of a buffer) only for a diagnosis.
		if [ "$1" = re1000 ]; then
			for dl in $(devlink dev | grep '^pci/'); do
				echo "== $dl"
				devlink health diagnose "$dl" reporter hw
			done
		fi
		for ns in bench1 bench2; do
			echo "== $ns"
			ip -n $ns -s -s link
			tc -n $ns -s qdisc
		done
	} >"$p.nstat" 2>&1
	mmio_trace off
	sleep 0.5
	[ ! -f "$OUT/mmio.log" ] || at1=$(stat -c %s "$OUT/mmio.log")
	cat /proc/interrupts >"$p.irq1"
	echo "$out"
	local bytes
	bytes=$(echo "$out" | jq '.end.sum_received.bytes' 2>/dev/null) || bytes=0
	{
		echo "driver $1 bytes $bytes"
		perf report -i "$d" --stdio --no-children --sort dso \
			2>/dev/null | grep -v '^#' | grep . | head -20
		perf report -i "$d" --stdio --no-children --sort sym \
			-g none 2>/dev/null | grep -v '^#' | grep . |
			head -80
	} >"$p.report"
	perf report -i "$d" --stdio --no-children --sort dso,sym \
		-g caller,0.5,callee 2>/dev/null >"$p.callgraph" || true
	{
		[ ! -f "$p.stat" ] || awk -F, -v b="$bytes" '$1 ~ /^[0-9]+$/ {
			printf "%-28s %12d %14.1f per GiB\n", $3, $1,
				$1 * 1073741824 / b }' "$p.stat"
		# Interrupts of the NICs (named after the interface, or re1000), per GiB.
		local nics='eth|ens|enp|e1000'
		paste <(grep -E "$nics" "$p.irq0") <(grep -E "$nics" "$p.irq1") |
			awk -v b="$bytes" '{ n = NF / 2; printf "irq %s: %d per GiB\n", $n,
				($(n + 2) - $2) * 1073741824 / b }'
		# NAPI polls: per device, count, work done, histogram of work.
		grep -o 'device .* work [0-9]* budget' /sys/kernel/tracing/trace |
			awk -v b="$bytes" '{
				for (i = 1; i <= NF; i++) {
					if ($i == "device") d = $(i + 1)
					if ($i == "work") w = $(i + 1)
				}
				n[d]++
				work[d] += w
				h[d, (w >= 64 ? 64 : w >= 16 ? 16 : w >= 4 ? 4 : w >= 1 ? 1 : 0)]++
			}
			END {
				for (d in n) {
					printf "napi %s: %d polls (%.0f per GiB),", d,
						n[d], n[d] * 1073741824 / b
					printf " work %.2f per poll;", work[d] / n[d]
					printf " work 0: %d, 1-3: %d, 4-15: %d,",
						h[d, 0], h[d, 1], h[d, 4]
					printf " 16-63: %d, 64: %d\n", h[d, 16], h[d, 64]
				}
			}'
		# Transmissions per device: count and mean length.
		grep -o 'net_dev_xmit: dev=[^ ]* skbaddr=[^ ]* len=[0-9]*' \
			/sys/kernel/tracing/trace |
			awk -v b="$bytes" '{
				split($2, d, "=")
				split($4, l, "=")
				n[d[2]]++
				s[d[2]] += l[2]
			}
			END {
				for (k in n)
					printf "xmit %s: %d (%.0f per GiB), mean len %.0f\n",
						k, n[k], n[k] * 1073741824 / b, s[k] / n[k]
			}'
		if [ "$at1" -gt "$at0" ]; then
			tail -c +"$((at0 + 1))" "$OUT/mmio.log" | head -c "$((at1 - at0))" |
				grep "e1000.*-mmio" |
				/usr/bin/python3 -c '
import sys, collections
b = int(sys.argv[1]); c = collections.Counter()
for line in sys.stdin:
	f = line.split()
	op = "write" if "ops_write" in f[0] else "read"
	c[op, int(f[f.index("addr") + 1], 16) & 0x1ffff] += 1
for (op, a), n in sorted(c.items()):
	print("mmio %s 0x%05x: %d (%.0f per GiB)" % (op, a, n, n * 2**30 / b))
' "$bytes"
		fi
	} >"$p.counts" 2>&1
}

tcp() {
	local out bps server
	nic_up "$1"
	ip netns exec bench2 iperf3 -s -1 >/dev/null 2>&1 &
	server=$!
	sleep 0.5
	if [ -n "${BENCH_PERF:-}" ]; then
		out=$(profile "$1") || true
	else
		out=$(ip netns exec bench1 iperf3 -c 192.168.78.2 -t "$IPERF_S" -J 2>&1) || true
	fi
	# A client that failed leaves the server waiting for one: stop it.
	kill "$server" 2>/dev/null
	wait "$server" || true
	nic_down "$1"
	bps=$(echo "$out" | jq '.end.sum_received.bits_per_second' 2>/dev/null)
	case $bps in
	'' | null | 0)
		echo "bench: $1: iperf3 failed: ${out:0:300}" >&2
		return 1
		;;
	*) awk -v b="$bps" 'BEGIN { printf "%.3f", 8 * 1073741824 / b }' ;;
	esac
}

if [ "$ONLY" != health ]; then
	for run in $(seq "$RUNS"); do
		for d in $(order "$run" e1000 re1000); do
			fig=$(tcp "$d") || fail "tcp_s_per_gib on $d, run $run"
			record tcp_s_per_gib "$d" "$fig"
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
	END {
		if (back) { printf "%.1f", (back - t0) * 1000; exit }
		print "bench: no reply after the injection" > "/dev/stderr"
		exit 1
	}' "$log"
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
	END {
		if (n) { printf "%.1f", sum * 1e6 / s; exit }
		print "bench: no run of the health watchdog traced" > "/dev/stderr"
		exit 1
	}' $tr/trace || return 1
	rmdir $tr
}

if [ "$ONLY" != health ]; then
	nic_up re1000
	# Repeats come faster than hw's graceful period (10 s) allows recoveries.
	devlink health set "pci/$(bench1_bdf)" reporter hw grace_period 0
	for run in $(seq "$RUNS"); do
		for fault in tx_stall bus_master mem_decode; do
			fig=$(fault_ms $fault) || fail "recover_${fault}_ms, run $run"
			record "recover_${fault}_ms" re1000 "$fig"
		done
	done
	fig=$(poll_us_per_s) || fail health_poll_us_per_s
	record health_poll_us_per_s re1000 "$fig"
	nic_down re1000
fi

echo "done" >"$OUT/status"
