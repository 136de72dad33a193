#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# make bench: rdevsim against netdevsim, its C reference, on a kernel without
# the debug detectors of the test kernel (config/bench.config). Builds that
# kernel (cached like the test kernel), boots it, runs every workload
# BENCH_RUNS times (default 5) with both drivers loaded side by side, and
# prints min and median of each driver and the ratio of the medians,
# rdevsim/netdevsim, of times (lower is better). Under software emulation it
# boots twice: wall-clock time, then a guest clock counting instructions.
# BENCH_ONLY=health or BENCH_ONLY=nic runs only those workloads.
set -euo pipefail
export RDL_PROFILE=bench
. "$(dirname "$0")/env.sh"

RUNS=${BENCH_RUNS:-5}
ONLY=${BENCH_ONLY:-all}
case $ONLY in
all | health | nic) ;;
*) die "BENCH_ONLY=$ONLY: 'health' or 'nic'" ;;
esac
OUT=${OUT:-$TOP/out/bench}

"$TOP/scripts/build.sh" all
rm -rf "$OUT"
mkdir -p "$OUT"
# The timing client runs in the guest, which shares the host's libraries.
cc -O2 -Wall -Wextra -Werror -o "$OUT/hbench" "$TOP/scripts/bench/hbench.c" ||
	die "the benchmark client does not build (a C compiler is needed)"
rdl_print_env >"$OUT/env.sh"
# Profiling of the NIC workload (BENCH_PERF=1, or BENCH_PERF=counters
# without perf; see scripts/guest/bench.sh), and with BENCH_MMIO=1 QEMU's
# trace of every MMIO access, switched on by the guest over QMP around each
# client and counted per register (it slows the emulator: for a profile,
# not for the figures).
echo "BENCH_PERF=${BENCH_PERF:-}" >>"$OUT/env.sh"
echo "BENCH_IPERF_S=${BENCH_IPERF_S:-5}" >>"$OUT/env.sh"
echo "BENCH_MMIO=${BENCH_MMIO:-}" >>"$OUT/env.sh"

# One vCPU: under software emulation its thread then has a host core to
# itself, which takes most of the noise out (with two, the same run gave
# report costs of 2 and of 4 us from one run to the next).
export VM_CPUS=${VM_CPUS:-1}

# bench_vm CLOCK [QEMU options]: one boot, every workload; figures in
# $OUT/CLOCK/raw.
bench_vm() {
	local clock=$1 dir=$OUT/$1 t0=$SECONDS
	shift
	mkdir -p "$dir"
	cp "$OUT/env.sh" "$OUT/hbench" "$dir/"
	log "booting the benchmark kernel, $RUNS runs per workload (logs: $dir)"
	local trace=
	[ -z "${BENCH_MMIO:-}" ] ||
		trace=" -trace file=$dir/mmio.log"
	if ! VM_QEMU_OPTS="${VM_QEMU_OPTS:-}${1:+ $1}$trace" "$TOP/scripts/vm.sh" "$dir" \
		"scripts/guest/bench.sh '$dir' $RUNS $ONLY" >"$dir/console.log" 2>&1 ||
		[ ! -f "$dir/status" ]; then
		if [ -s "$dir/failed" ]; then
			# What the workload said, then what failed.
			grep '^\(bench\|hbench\):' "$dir/console.log" >&2 || true
			die "a workload failed ($clock clock):" \
				"$(head -n 1 "$dir/failed" | sed 's/^bench: FAILED: //')"
		fi
		tail -n 30 "$dir/console.log" >&2
		die "the benchmark did not complete (see $dir/console.log)"
	fi
	log "VM finished in $((SECONDS - t0)) s"
	grep '^bench:' "$dir/console.log" >&2 || true
}

# table RAW: min and median of each workload's figures per driver, then the
# ratio. A line that is no figure, or a driver with fewer figures than its
# peer, fails it.
table() {
	awk '
	function sort(a, n,    i, j, t) {
		for (i = 2; i <= n; i++)
			for (j = i; j > 1 && a[j - 1] > a[j]; j--) {
				t = a[j]; a[j] = a[j - 1]; a[j - 1] = t
			}
	}
	function med(a, n) { return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
	# Min and median of the figures of driver d in workload w.
	function stats(w, d,    k, i) {
		k = w SUBSEP d
		delete a
		for (i = 1; i <= n[k]; i++) a[i] = v[k, i]
		sort(a, n[k])
		lo[d] = a[1]; mid[d] = med(a, n[k])
	}
	# The k-th figure of each driver comes from the same run, where both
	# were measured one after the other (or interleaved): a slow spell of
	# the emulator that lasts a run moves both, and cancels out of their
	# ratio.
	function ratio(w, c, r,    i, m) {
		delete a
		m = n[w, c]
		for (i = 1; i <= m; i++) a[i] = v[w, r, i] / v[w, c, i]
		sort(a, m)
		return med(a, m)
	}
	function fail(msg) {
		printf "bench: %s\n", msg > "/dev/stderr"
		bad = 1
		exit 1
	}
	NF != 3 || $3 !~ /^[0-9]+(\.[0-9]+)?$/ || $3 + 0 <= 0 {
		fail(sprintf("not a figure, line %d of %s: %s", FNR, FILENAME, $0))
	}
	{
		if (!($1 in seen)) { seen[$1] = 1; order[++nw] = $1 }
		k = $1 SUBSEP $2
		if (!(k in n)) drivers[$1] = drivers[$1] " " $2
		v[k, ++n[k]] = $3
	}
	END {
		if (bad) exit 1
		label["load_ms"] = "module load + instance create (ms)"
		label["report_us_auto_recover_true"] = "report, auto-recover on (us/report)"
		label["report_us_auto_recover_false"] = "report, auto-recover off (us/report)"
		label["diagnose_us"] = "diagnose latency, median of many (us)"
		label["dump_1mib_ms"] = "dump show, 1 MiB binary_len (ms)"
		label["tcp_s_per_gib"] = "NIC: TCP, one e1000 to the other (s/GiB)"
		label["recover_tx_stall_ms"] = "re1000 TX stall -> traffic again (ms)"
		label["recover_bus_master_ms"] = "re1000 DMA off -> traffic again (ms)"
		label["recover_mem_decode_ms"] = "re1000 MMIO off -> traffic again (ms)"
		label["health_poll_us_per_s"] = "re1000 health poll CPU (us per s)"
		# Where a workload has two Rust figures, a line each.
		sub_label["rdevsim-alloc"] = "  like for like: the abstraction'\''s cost"
		sub_label["rdevsim"] = "  the drivers as they are"
		printf "%-40s %21s %21s  %s\n", "workload", "C min/median",
			"Rust min/median", "ratio"
		for (w = 1; w <= nw; w++) {
			name = order[w]
			title = (name in label) ? label[name] : name
			nd = split(drivers[name], ds, " ")
			c = ""; nr = 0
			for (i = 1; i <= nd; i++)
				if (ds[i] == "netdevsim" || ds[i] == "e1000")
					c = ds[i]
			# The like-for-like figure first.
			for (i = 1; i <= nd; i++)
				if (ds[i] == "rdevsim-alloc") rust[++nr] = ds[i]
			for (i = 1; i <= nd; i++)
				if (ds[i] != c && ds[i] != "rdevsim-alloc") rust[++nr] = ds[i]
			if (c == "") {
				# Rust only: e1000 has no health reporters.
				stats(name, rust[1])
				printf "%-40s %21s %10.2f/%-10.2f (no C counterpart)\n",
					title, "-", lo[rust[1]], mid[rust[1]]
				continue
			}
			stats(name, c)
			for (i = 1; i <= nr; i++) {
				stats(name, rust[i])
				if (n[name, rust[i]] != n[name, c])
					fail(sprintf("%s: %d figures of %s, %d of %s", name,
						n[name, c], c, n[name, rust[i]], rust[i]))
			}
			if (name == "load_ms") {
				printf "%-40s %10.2f/%-10.2f %10.2f/%-10.2f no ratio (see below)\n",
					title, lo[c], mid[c], lo[rust[1]], mid[rust[1]]
				continue
			}
			if (nr > 1)
				print title
			for (i = 1; i <= nr; i++) {
				r = rust[i]
				printf "%-40s %10.2f/%-10.2f %10.2f/%-10.2f ratio %.3f",
					(nr > 1 ? sub_label[r] : title), lo[c], mid[c], lo[r],
					mid[r], ratio(name, c, r)
				if (name ~ /^report_us/)
					printf "  (%.0f vs %.0f reports/s)", 1e6 / mid[c],
						1e6 / mid[r]
				if (name ~ /^tcp/)
					printf "  (%.0f vs %.0f Mbit/s)", 8589.934592 / mid[c],
						8589.934592 / mid[r]
				printf "\n"
			}
		}
	}' "$1"
}

bench_vm wall
clocks=wall
# Under software emulation, wall time measures the emulator as much as the
# code: TCG turns every return and indirect branch into a lookup of the
# next translated block, so that code making more calls pays several times
# what hardware charges.
# A second boot then runs with a guest clock that counts instructions
# (QEMU's -icount shift=0: 1 ns per instruction), deterministic and free of
# the emulator's costs, though blind to caches and pipelines.
tcg=
if [ "${VM_KVM:-auto}" = no ] || [ "$(sed -n 2p "$CACHE/kvm-probe" 2>/dev/null)" != yes ]; then
	tcg=1
	bench_vm instructions "-icount shift=0"
	clocks="wall instructions"
fi

cc=$(sed -n 's/^CONFIG_CC_VERSION_TEXT="\(.*\)"$/\1/p' "$BUILD/.config")
echo "# $KVER, $cc, ${tcg:+VM under software emulation (TCG), }one vCPU"
echo "# $RUNS runs per workload; min / median of the runs; ratio = median over the runs of" \
	"Rust / C in the same run (rdevsim / netdevsim, re1000 / e1000)"
for clock in $clocks; do
	case $clock in
	wall)
		note=
		[ -z "$tcg" ] || note=" (under TCG: absolute figures are slow,"
		[ -z "$tcg" ] || note="$note and calls cost more than on hardware)"
		echo "## wall-clock time$note"
		;;
	instructions)
		echo "## guest clock counting instructions (QEMU -icount shift=0):" \
			"1 ns = 1 instruction executed"
		;;
	esac
	table "$OUT/$clock/raw" || die "no table of the $clock clock's figures"
done
[ "$ONLY" != nic ] || exit 0

# Module text: every executable section of the .ko.
text() { size -A "$1" | awk '$1 ~ /^\.text/ { s += $2 } END { print s }'; }
nsim=$(text "$BUILD/drivers/net/netdevsim/netdevsim.ko")
rdev=$(text "$(rdl_modules | grep '/rdevsim\.ko$')")
printf '%-40s %21s %21s  no ratio (see below)\n' "module text (bytes)" "$nsim" "$rdev"
cat <<EOF
Reports like for like: a second rdevsim instance, with health/alloc_per_report
set, allocates at each report what netdevsim does (memdup_user_nul() for the
text, kfree() and kstrdup() for the message kept at recovery); their ratio is
the cost of kernel::devlink and Rust. As they are: rdevsim keeps short texts
in the report and reuses the buffer of the message kept.
No ratio for module load + instance create, nor for module text: they
compare different drivers. netdevsim's new_device also registers resources,
parameters, a region, traps, FIB notifiers, BPF, psample, hwstats and a
netdev per port, and its module has all of that; rdevsim's makes a devlink
instance, its two reporters and a port.
EOF
