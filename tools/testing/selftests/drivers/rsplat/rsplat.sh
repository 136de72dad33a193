#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The harness's self test: a splat must not go unnoticed. Loads rsplat,
# which warns once, and passes only when the harness's splat check
# (scripts/splat.sh) reports that warning in the kernel log. The load is
# marked ("rdl-test: expect-splat begin/end") so that the harness counts that
# one warning as expected; the test also checks that the marks leave out
# nothing else. RSPLAT_KO names the module file (make env).

KSFT_LIB=${KSFT_LIB:-$(dirname "$0")/../..}
# shellcheck source=/dev/null
. "$KSFT_LIB/kselftest/ktap_helpers.sh"
SPLAT=$(cd "$(dirname "$0")/../../../../.." && pwd)/scripts/splat.sh

ktap_print_header
[ "$(id -u)" = 0 ] || { ktap_skip_all "must be root"; exit "$KSFT_SKIP"; }
[ -n "${RSPLAT_KO:-}" ] && [ -f "$RSPLAT_KO" ] ||
	{ ktap_skip_all "rsplat.ko not built (RSPLAT_KO)"; exit "$KSFT_SKIP"; }
[ -x "$SPLAT" ] || { ktap_skip_all "no $SPLAT"; exit "$KSFT_SKIP"; }
ktap_set_plan 5

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
ktap_finished
