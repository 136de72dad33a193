#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The kernel::devlink sample, seen from user space: the instance and its
# info, a health reporter's state and counters through reports, the stored
# dump carrying the context of the first report, diagnose, dump clear, an
# absent op, a reporter without any op, malformed writes, and unloading.
# RUST_DEVLINK_HEALTH_KO names the module file; without it, modprobe finds it.

KSFT_LIB=${KSFT_LIB:-$(dirname "$0")/../../..}
# shellcheck source=/dev/null
. "$KSFT_LIB/kselftest/ktap_helpers.sh"
# shellcheck source=../lib/expect.sh
. "$(dirname "$0")/../lib/expect.sh"

DL=faux/rust-devlink-sample
DFS=/sys/kernel/debug/rust_devlink_health
REPORT=$DFS/report

load() {
	if [ -n "${RUST_DEVLINK_HEALTH_KO:-}" ]; then
		insmod "$RUST_DEVLINK_HEALTH_KO"
	else
		modprobe rust_devlink_health
	fi
}

# A test that fails part way leaves nothing behind for the next selftest.
cleanup() {
	if grep -q '^rust_devlink_health ' /proc/modules; then
		rmmod rust_devlink_health
	fi
}
trap cleanup EXIT

reporter() { devlink -j health show "$DL" reporter sample; }
# The reporter's object in 'devlink health show' output.
R='.health[][]'

test_load() {
	load || return 1
	expect ".dev | has(\"$DL\")" "$(devlink -j dev show)"
}

test_info() {
	local info
	info=$(devlink -j dev info "$DL") || return 1
	expect ".info[\"$DL\"].serial_number == \"RDL-SAMPLE-0001\"" "$info" &&
		expect ".info[\"$DL\"].versions.running.fw == \"1.0.0\"" "$info"
}

test_initial_state() {
	expect "$R | .state == \"healthy\" and .error == 0 and .recover == 0
		and .grace_period == 0 and .burst_period == 0 and .auto_recover and .auto_dump" \
		"$(reporter)"
}

test_report_recovers() {
	echo "firmware hang" >"$REPORT" || return 1
	expect "$R | .state == \"healthy\" and .error == 1 and .recover == 1" "$(reporter)" &&
		expect '.event.seq == 1 and .event.message == "firmware hang"' \
			"$(devlink -j health dump show "$DL" reporter sample)"
}

test_dump_kept() {
	echo "second" >"$REPORT" || return 1
	expect "$R | .error == 2 and .recover == 2" "$(reporter)" &&
		expect '.event.seq == 1 and .event.message == "firmware hang"' \
			"$(devlink -j health dump show "$DL" reporter sample)"
}

test_diagnose() {
	expect '.events == 2 and .recoveries == 2' \
		"$(devlink -j health diagnose "$DL" reporter sample)"
}

test_dump_clear() {
	devlink health dump clear "$DL" reporter sample || return 1
	# With no dump stored, the op runs without a context.
	expect '.events == 2 and (has("event") | not)' \
		"$(devlink -j health dump show "$DL" reporter sample)"
}

# write TEXT [FILE]: TEXT with backslash escapes, to FILE (the sample's report).
write() { printf '%b' "$1" >"${2:-$REPORT}"; }

test_absent_op() {
	fails "Operation not supported" devlink health test "$DL" reporter sample
}

# 'pcie' has no op: its reports are counted and leave it in error (nothing
# recovers it), and every request for an op is refused and changes nothing.
# (A recover request on a healthy reporter succeeds, with or without the op:
# there is nothing to recover.)
test_no_ops() {
	local op NOTSUP="Operation not supported"
	expect "$R | .state == \"healthy\" and .error == 0 and (has(\"auto_dump\") | not)
		and (has(\"auto_recover\") | not)" \
		"$(devlink -j health show "$DL" reporter pcie)" &&
		echo "correctable error" >"$DFS/pcie_error" &&
		echo "correctable error" >"$DFS/pcie_error" || return 1
	for op in recover diagnose "dump show" "dump clear" test; do
		# shellcheck disable=SC2086 # "dump show" is two words
		fails "$NOTSUP" devlink health $op "$DL" reporter pcie || return 1
	done
	fails "$NOTSUP" devlink health set "$DL" reporter pcie grace_period 10 &&
		fails "$NOTSUP" devlink health set "$DL" reporter pcie burst_period 10 &&
		fails "$NOTSUP" devlink health set "$DL" reporter pcie auto_recover true &&
		fails "$NOTSUP" devlink health set "$DL" reporter pcie auto_dump true &&
		fails "Invalid argument" write '\n' "$DFS/pcie_error" &&
		expect "$R | .state == \"error\" and .error == 2 and .recover == 0
			and (has(\"last_dump_date\") | not) and (has(\"grace_period\") | not)
			and (has(\"burst_period\") | not)" \
			"$(devlink -j health show "$DL" reporter pcie)"
}

test_unknown_reporter() {
	fails "Invalid argument" devlink health show "$DL" reporter nosuch
}

# A write (of $1 with backslash escapes) that must fail with EINVAL.
refused() {
	fails "Invalid argument" write "$1"
}

test_refuse() {
	refused '\n' && refused 'a\0b' && refused "$(printf 'x%.0s' {1..65})" &&
		expect "$R | .error == 2 and .recover == 2" "$(reporter)"
}

test_unload() {
	rmmod rust_devlink_health || return 1
	expect ".dev | has(\"$DL\") | not" "$(devlink -j dev show)" &&
		[ ! -e "$DFS" ]
}

ktap_print_header
[ "$(id -u)" = 0 ] || { ktap_skip_all "must be root"; exit "$KSFT_SKIP"; }
command -v devlink >/dev/null && command -v jq >/dev/null ||
	{ ktap_skip_all "devlink and jq needed"; exit "$KSFT_SKIP"; }
mountpoint -q /sys/kernel/debug || mount -t debugfs none /sys/kernel/debug
ktap_set_plan 12
ktap_test_result "load: instance $DL" test_load
ktap_test_result "dev info: serial and running version" test_info
ktap_test_result "reporter healthy, no errors, auto recover and dump" test_initial_state
ktap_test_result "report: counted, dumped with its context, recovered" test_report_recovers
ktap_test_result "second report: counted, first dump kept" test_dump_kept
ktap_test_result "diagnose" test_diagnose
ktap_test_result "dump clear, then a dump without context" test_dump_clear
ktap_test_result "test without a test op: EOPNOTSUPP" test_absent_op
ktap_test_result "a reporter without ops: EOPNOTSUPP, reports counted" test_no_ops
ktap_test_result "unknown reporter refused" test_unknown_reporter
ktap_test_result "malformed reports refused with EINVAL" test_refuse
ktap_test_result "unload" test_unload
ktap_finished
