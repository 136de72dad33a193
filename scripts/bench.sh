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

# One vCPU: under software emulation its thread then has a host core to
# itself, which takes most of the noise out (with two, the same run gave
# report costs of 2 and of 4 us from one run to the next).
export VM_CPUS=${VM_CPUS:-1}

# bench_vm CLOCK [QEMU options]: one boot, every workload; figures in
# $OUT/CLOCK/raw.
bench_vm() {
	local dir=$OUT/$1 t0=$SECONDS
	shift
	mkdir -p "$dir"
	cp "$OUT/env.sh" "$OUT/hbench" "$dir/"
	log "booting the benchmark kernel, $RUNS runs per workload (logs: $dir)"
	if ! VM_QEMU_OPTS="${VM_QEMU_OPTS:-}${1:+ $1}" "$TOP/scripts/vm.sh" "$dir" \
		"scripts/guest/bench.sh '$dir' $RUNS $ONLY" >"$dir/console.log" 2>&1 ||
		[ ! -f "$dir/status" ]; then
		tail -n 30 "$dir/console.log" >&2
		die "the benchmark did not complete (see $dir/console.log)"
	fi
	log "VM finished in $((SECONDS - t0)) s"
	grep '^bench:' "$dir/console.log" >&2 || true
}

# table RAW: min and median of each workload's figures per driver, then the
# ratio.
table() {
	awk '
	function sort(a, n,    i, j, t) {
		for (i = 2; i <= n; i++)
			for (j = i; j > 1 && a[j - 1] > a[j]; j--) {
				t = a[j]; a[j] = a[j - 1]; a[j - 1] = t
			}
	}
	function med(a, n) { return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
	{
		if (!($1 in seen)) { seen[$1] = 1; order[++nw] = $1 }
		k = $1 SUBSEP $2
		v[k, ++n[k]] = $3
	}
	END {
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
		printf "%-40s %21s %21s  %s\n", "workload", "C min/median",
			"Rust min/median", "ratio"
		for (w = 1; w <= nw; w++) {
			name = order[w]
			if (!((name SUBSEP "e1000") in n) && ((name SUBSEP "re1000") in n)) {
				# Rust only: e1000 has no health reporters.
				k = name SUBSEP "re1000"
				delete a
				for (i = 1; i <= n[k]; i++) a[i] = v[k, i]
				sort(a, n[k])
				printf "%-40s %21s %10.2f/%-10.2f (no C counterpart)\n",
					label[name], "-", a[1], med(a, n[k])
				continue
			}
			nic = name ~ /^tcp/
			for (d = 0; d < 2; d++) {
				if (nic)
					drv = d ? "re1000" : "e1000"
				else
					drv = d ? "rdevsim" : "netdevsim"
				cname[d] = drv
				k = name SUBSEP drv
				delete a
				for (i = 1; i <= n[k]; i++) a[i] = v[k, i]
				sort(a, n[k])
				lo[drv] = a[1]; mid[drv] = med(a, n[k])
			}
			c = cname[0]; r = cname[1]
			# The k-th figure of each driver comes from the same run,
			# where both were measured one after the other (or
			# interleaved): a slow spell of the emulator that lasts a
			# run moves both, and cancels out of their ratio.
			delete a
			m = n[name, c] < n[name, r] ? n[name, c] : n[name, r]
			for (i = 1; i <= m; i++) a[i] = v[name, r, i] / v[name, c, i]
			sort(a, m)
			printf "%-40s %10.2f/%-10.2f %10.2f/%-10.2f ratio %.3f",
				(name in label) ? label[name] : name,
				lo[c], mid[c], lo[r], mid[r], med(a, m)
			if (name ~ /^report_us/)
				printf "  (%.0f vs %.0f reports/s)",
					1e6 / mid["netdevsim"], 1e6 / mid["rdevsim"]
			if (nic)
				printf "  (%.0f vs %.0f Mbit/s)", 8589.934592 / mid["e1000"],
					8589.934592 / mid["re1000"]
			printf "\n"
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
	table "$OUT/$clock/raw"
done

# Module text: every executable section of the .ko.
text() { size -A "$1" | awk '$1 ~ /^\.text/ { s += $2 } END { print s }'; }
nsim=$(text "$BUILD/drivers/net/netdevsim/netdevsim.ko")
rdev=$(text "$(rdl_modules | grep '/rdevsim\.ko$')")
printf '%-40s %21s %21s  ratio %.3f (netdevsim also has netdevs, bpf, fib, ipsec ...)\n' \
	"module text (bytes)" "$nsim" "$rdev" "$(echo "$rdev $nsim" | awk '{ print $1 / $2 }')"
