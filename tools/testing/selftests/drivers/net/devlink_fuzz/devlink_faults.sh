#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Allocations failing, one at a time, at every allocation of each path a
# user takes (faults.py): rdevsim's instance with its ports and reporters, a
# report with its dump, dump show, diagnose, the sample's module load, and
# ip link set up of a re1000 NIC (the allocations made from re1000's code).
# The faults come from failslab and fail_page_alloc through the test task's
# fail-nth, so nothing else fails.
# RDEVSIM_KO, RUST_DEVLINK_HEALTH_KO and RE1000_KO name the modules.

KSFT_LIB=${KSFT_LIB:-$(dirname "$0")/../../..}
# shellcheck source=/dev/null
. "$KSFT_LIB/kselftest/ktap_helpers.sh"
DIR=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../rdevsim/lib.sh
. "$DIR/../rdevsim/lib.sh"

DBG=/sys/kernel/debug
SLAB=$DBG/failslab
PAGE=$DBG/fail_page_alloc
OUT=$(mktemp)
PY=python3
# Knob values to restore: "FILE VALUE" lines.
SAVED=$(mktemp)
IFNAME=

# knob FILE VALUE: sets a fault injection knob, its old value kept.
knob() {
	echo "$1 $(cat "$1")" >>"$SAVED" && echo "$2" >"$1"
}

cleanup() {
	local f v d
	while read -r f v; do echo "$v" >"$f"; done <"$SAVED"
	for d in "$CFG"/*; do
		[ -d "$d" ] || continue
		echo 0 >"$d/live" 2>/dev/null
		rmdir "$d"
	done
	grep -q '^rdevsim ' /proc/modules && rmmod rdevsim
	grep -q '^rust_devlink_health ' /proc/modules && rmmod rust_devlink_health
	grep -q '^re1000 ' /proc/modules && rmmod re1000
	rm -f "$OUT" "$SAVED"
}
trap cleanup EXIT

test_setup() {
	local d drv
	rdevsim_load && insmod "${RE1000_KO:?}" || return 1
	# A NIC's interface, once udev has renamed it (if it does, within 10 s):
	# not under a name that goes away in the middle of the walks.
	for _ in $(seq 50); do
		for d in /sys/class/net/*; do
			drv=$(readlink -f "$d/device/driver" 2>/dev/null) || continue
			[ "${drv##*/}" = re1000 ] || continue
			IFNAME=${d##*/}
			[ "$(cat "$d/name_assign_type" 2>/dev/null)" != 1 ] && break 2
		done
		sleep 0.2
	done
	[ -n "$IFNAME" ] || { ktap_print_msg "no re1000 interface"; return 1; }
	# The walk of ip link set up counts re1000's allocations only (its rings);
	# IPv6's address configuration at each up would only cost time.
	echo 1 >"/proc/sys/net/ipv6/conf/$IFNAME/disable_ipv6" || return 1
	# Every allocation that may sleep counts too, and pages of any order; user
	# pages (highmem) do not: the walker's own page faults must not fail.
	knob $SLAB/ignore-gfp-wait N && knob $SLAB/verbose 0 &&
		knob $PAGE/ignore-gfp-wait N && knob $PAGE/ignore-gfp-highmem Y &&
		knob $PAGE/min-order 0 && knob $PAGE/verbose 0
}

# The kernel reports some failed allocations with a stack dump: expected
# between these markers (see scripts/splat.sh), and skipped by faults.py.
test_walks() {
	echo "rdl-test: expect-alloc-failures begin" >/dev/kmsg
	"$PY" "$DIR/faults.py" "$KSRC" --sample-ko "${RUST_DEVLINK_HEALTH_KO:?}" \
		--ifname "$IFNAME" --splat-re "$SPLAT_RE" >"$OUT" 2>&1
	echo "rdl-test: expect-alloc-failures end" >/dev/kmsg
	grep -v '^walk ' "$OUT" | sed 's/^#*/#/'
}

# walk NAME: the walk NAME passed.
walk() { grep -qx "walk $1 ok" "$OUT"; }

test_unload() {
	rmmod rdevsim && rmmod re1000 || return 1
	[ -z "$(devlink dev show)" ] ||
		{ ktap_print_msg "left: $(devlink dev show | tr '\n' ' ')"; return 1; }
}

ktap_print_header
[ "$(id -u)" = 0 ] || { ktap_skip_all "must be root"; exit "$KSFT_SKIP"; }
for cmd in devlink python3; do
	command -v $cmd >/dev/null || { ktap_skip_all "$cmd needed"; exit "$KSFT_SKIP"; }
done
mountpoint -q $DBG || mount -t debugfs none $DBG
[ -e $SLAB/ignore-gfp-wait ] && [ -e $PAGE/min-order ] && [ -e /proc/self/fail-nth ] ||
	{ ktap_skip_all "no failslab and fail_page_alloc"; exit "$KSFT_SKIP"; }
SPLAT_RE=$("$DIR/../../../../../../scripts/splat.sh" --pattern)
ktap_set_plan 6
if ! test_setup; then
	ktap_test_fail "set-up: rdevsim, re1000, faults of this task only"
	ktap_exit_fail_msg "no walk without the set-up"
fi
ktap_test_pass "set-up: rdevsim, re1000, faults of this task only"
test_walks
ktap_test_result "rdevsim instance: ENOMEM and nothing, or all of it" walk rdevsim
ktap_test_result "report with dump, dump show, diagnose: no half dump, same answers" \
	walk report
ktap_test_result "sample module load: ENOMEM and nothing, or all of it" walk sample
ktap_test_result "ip link set up: ENOMEM and down, or up" walk link
ktap_test_result "modules unloaded, no instance left" test_unload
ktap_finished
