#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Boot the built kernel with virtme-ng over the host's root file system and
# run one command in it as root:
#   vm.sh OUTDIR COMMAND
# OUTDIR is writable from the guest; everything else is read-only there.
# The VM has two e1000 NICs on a hub (see below); extra QEMU devices come
# from VM_QEMU_OPTS, extra kernel command line from VM_APPEND; VM_CPUS sets
# the number of vCPUs (default 2), VM_TIMEOUT the time limit in seconds
# (default 2400; written to OUTDIR/vm-timeout for the guest). There is never
# a QEMU user-mode network: no guest traffic leaves the VM. Software
# emulation is used unless KVM was seen to work on this host (nested KVM is
# broken on some: "failed to set MSR").
# The exit status is the command's.
set -euo pipefail
. "$(dirname "$0")/env.sh"

out=$1
cmd=$2
[ -f "$IMAGE" ] || die "no kernel image at $IMAGE: run 'make kernel' first"
mkdir -p "$out"

# Boot the kernel under KVM once, without a root file system: a kernel that
# gets as far as looking for its root proves KVM works. The answer holds
# until the host reboots.
kvm_works() {
	local probe=$CACHE/kvm-probe boot_id
	boot_id=$(cat /proc/sys/kernel/random/boot_id)
	if [ "$(sed -n 1p "$probe" 2>/dev/null)" != "$boot_id" ]; then
		local verdict=no
		if [ -w /dev/kvm ] &&
			timeout 20 qemu-system-x86_64 -accel kvm -cpu host -m 512 -nographic \
				-no-reboot -kernel "$IMAGE" -append "console=ttyS0 panic=-1" \
				</dev/null 2>&1 |
			grep -q -m1 -E 'VFS: Unable to mount root|No working init'; then
			verdict=yes
		fi
		printf '%s\n%s\n' "$boot_id" "$verdict" >"$probe"
	fi
	[ "$(sed -n 2p "$probe")" = yes ]
}

accel=(--disable-kvm)
if [ "${VM_KVM:-auto}" != no ] && kvm_works; then
	accel=()
fi

# Without KASAN (gcc kernels), slub_debug gives red zones, poisoning and
# sanity checks on every slab. panic_on_warn stays off so that the run goes
# on and every splat is collected.
# A large log buffer: the boot log alone (Rust doctests) is 90 KB, and the
# per-test splat check reads the log back.
append="log_buf_len=8M ${VM_APPEND:-}"
# Four-level paging: the emulated CPU offers LA57, and with five levels a
# KASAN kernel can report a wild access when an interrupt arrives while
# identify_cpu() has cleared the boot CPU's feature bits (LA57 among them),
# which moves the KASAN shadow bounds for that instant (seen once in about a
# dozen boots, at 0.003 s, in handle_edge_irq()).
append="no5lvl $append"
# Two e1000 NICs joined by a QEMU hub, for the Rust NIC driver: their traffic
# stays inside QEMU. udev would bind them to the C e1000 module, which is
# kept for an explicit insmod (its peer figures in 'make bench'). The first
# sits in a PCIe root port, where it can be unplugged (QMP device_del of
# nic1); the QMP socket is qmp.sock in OUTDIR.
nics="-device pcie-root-port,id=rp1,bus=pcie.0,chassis=1,slot=1"
nics="$nics -netdev hubport,id=n1,hubid=0"
nics="$nics -device e1000,id=nic1,bus=rp1,netdev=n1,mac=52:54:00:00:00:01"
nics="$nics -netdev hubport,id=n2,hubid=0 -device e1000,id=nic2,netdev=n2,mac=52:54:00:00:00:02"
nics="$nics -qmp unix:$out/qmp.sock,server=on,wait=off"
append="modprobe.blacklist=e1000 $append"
# The benchmark kernel runs as production kernels do.
if [ "$RDL_PROFILE" = test ] && ! grep -q '^CONFIG_KASAN=y' "$BUILD/.config"; then
	append="slub_debug=FZPU $append"
fi

# QMP for the guest: it writes commands (JSON, one per line) to
# OUTDIR/qmp.req (whole: written under another name, then renamed); the
# answers, and the events seen meanwhile, come back in OUTDIR/qmp.rep.
qmp_agent() {
	while sleep 0.2; do
		[ -f "$out/qmp.req" ] || continue
		mv "$out/qmp.req" "$out/qmp.run"
		python3 "$TOP/scripts/qmp.py" "$out/qmp.sock" <"$out/qmp.run" \
			>"$out/qmp.tmp" 2>&1 || echo '{"error": "qmp.py failed"}' >>"$out/qmp.tmp"
		mv "$out/qmp.tmp" "$out/qmp.rep"
	done
}
rm -f "$out"/qmp.*
qmp_agent &
agent=$!
trap 'kill $agent 2>/dev/null' EXIT

# The guest cuts its tests' timeouts to fit (scripts/guest/run-tests.sh).
limit=${VM_TIMEOUT:-2400}
echo "$limit" >"$out/vm-timeout"
set +e
timeout "$limit" vng --run "$IMAGE" --user root "${accel[@]}" \
	--disable-microvm --cpus "${VM_CPUS:-2}" --memory "${VM_MEMORY:-2G}" \
	--rwdir "$out" --cwd "$TOP" --append "$append" \
	--qemu-opts="$nics${VM_QEMU_OPTS:+ $VM_QEMU_OPTS}" \
	--exec "$cmd" </dev/null
rc=$?
set -e
[ $rc = 124 ] && echo "error: the VM did not finish within $limit s" >&2
exit $rc
