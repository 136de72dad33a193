#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The harness's self test: a splat must not go unnoticed. Loads rsplat,
# which warns once, and passes only when the harness's splat check
# (scripts/splat.sh) reports that warning in the kernel log. The load is
# marked ("rdl-test: expect-splat begin/end") so that the harness counts that
# one warning as expected; the test also checks that the marks leave out
# nothing else, and that splat.sh knows each report it has a pattern for by
# its first line, as the kernel prints it. RSPLAT_KO names the module file
# (make env).

KSFT_LIB=${KSFT_LIB:-$(dirname "$0")/../..}
# shellcheck source=/dev/null
. "$KSFT_LIB/kselftest/ktap_helpers.sh"
SPLAT=$(cd "$(dirname "$0")/../../../../.." && pwd)/scripts/splat.sh

ktap_print_header
[ "$(id -u)" = 0 ] || { ktap_skip_all "must be root"; exit "$KSFT_SKIP"; }
[ -n "${RSPLAT_KO:-}" ] && [ -f "$RSPLAT_KO" ] ||
	{ ktap_skip_all "rsplat.ko not built (RSPLAT_KO)"; exit "$KSFT_SKIP"; }
[ -x "$SPLAT" ] || { ktap_skip_all "no $SPLAT"; exit "$KSFT_SKIP"; }
ktap_set_plan 14

WIN=$(mktemp)
trap 'rm -f "$WIN"; rmmod rsplat 2>/dev/null' EXIT

# The kernel log from the last begin mark to the end mark after it.
window() {
	dmesg | awk '/rdl-test: expect-splat begin/ { buf = "" }
		{ buf = buf $0 "\n" }
		/rdl-test: expect-splat end/ { win = buf }
		END { printf "%s", win }'
}

load() {
	echo "rdl-test: expect-splat begin" >/dev/kmsg
	insmod "$RSPLAT_KO"
	local rc=$?
	echo "rdl-test: expect-splat end" >/dev/kmsg
	window >"$WIN"
	return $rc
}
ktap_test_result "rsplat loads (and warns)" load

# Exactly one warning from rsplat, and splat.sh reports it.
reported() {
	local out n
	out=$("$SPLAT" --all <"$WIN") && { ktap_print_msg "splat.sh saw no splat"; return 1; }
	n=$(grep -c -E '^WARNING: .*\[rsplat\]' <<<"$out")
	[ "$n" = 1 ] || { ktap_print_msg "splat.sh reported $n warnings from rsplat:"; \
		ktap_print_msg "$out"; return 1; }
}
ktap_test_result "splat.sh reports the warning" reported

# Within the marks, that warning (and only it) is expected: the harness's
# own check stays quiet on the window ...
quiet() {
	local out
	out=$("$SPLAT" <"$WIN") || { ktap_print_msg "reported: $out"; return 1; }
}
ktap_test_result "the marked warning is expected" quiet

# ... but not on the same lines without the marks, nor on a second warning
# of the same kind within them.
unmarked() {
	grep -v 'rdl-test: expect-splat' "$WIN" | "$SPLAT" >/dev/null && return 1
	sed '$d' "$WIN" |
		cat - <(sed -n '/WARNING: .*\[rsplat\]/,/end trace/p' "$WIN") <(tail -n 1 "$WIN") |
		"$SPLAT" >/dev/null && return 1
	return 0
}
ktap_test_result "an unmarked or second warning is reported" unmarked

ktap_test_result "rsplat unloads" rmmod rsplat

# The first line of each report that splat.sh knows by a pattern of its own
# (not by a WARNING or BUG line after it), as Linux 7.3 prints it, with
# sample values, must be reported. The lines are not written to the kernel
# log, where the harness would take them for real ones.
# report DESCRIPTION WORDS...: one such case, the line of WORDS (joined by
# spaces); ktap_test_result splits its command's arguments at spaces, so the
# line goes by its index in LINES.
LINES=()
reports() {
	printf '[   42.000000] %s\n' "${LINES[$1]}" | "$SPLAT" >/dev/null &&
		{ ktap_print_msg "splat.sh missed: ${LINES[$1]}"; return 1; }
	return 0
}
report() {
	LINES+=("${*:2}")
	ktap_test_result "splat.sh reports: $1" reports $((${#LINES[@]} - 1))
}
report "RCU CPU stall" "INFO: rcu_sched detected stalls on CPUs/tasks:"
report "RCU CPU stall, self-detected" "INFO: rcu_sched self-detected stall on CPU"
report "RCU Tasks stall" "INFO: rcu_tasks detected stalls on tasks:"
report "a netdev never released" \
	"unregister_netdevice: waiting for eth1 to become free. Usage count = 2"
report "a page pool never released" \
	"page_pool_release_retry() stalled pool shutdown: id 7, 1 inflight 60 sec"
report "bad page state" "BUG: Bad page state in process kworker/0:1  pfn:1048a"
report "DMA API misuse" "DMA-API: e1000 0000:00:03.0: device driver frees DMA memory" \
	"with wrong function [device address=0x0000000001234000] [size=2048 bytes]" \
	"[mapped as single] [unmapped as page]"
report "DMA API debugging out of memory" "DMA-API: debugging out of memory - disabling"

# But not the DMA API's lines at boot.
boot_quiet() {
	local out
	out=$(printf '[    0.943807] DMA-API: %s\n' "preallocated 65536 debug entries" \
		"debugging enabled by kernel config" | "$SPLAT") ||
		{ ktap_print_msg "reported: $out"; return 1; }
}
ktap_test_result "splat.sh passes the DMA API's lines at boot" boot_quiet
ktap_finished
