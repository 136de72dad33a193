#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# A bounded concurrent stress of rdevsim: for STRESS_SECONDS (default 20),
# reports, recoveries (some slow, some failing), dumps, dump clears,
# diagnoses and settings run at once on two instances and their ports, while
# a third instance is created and deleted over and over, with requests and
# reports in flight on it. It passes when everything stops in time, the
# counters add up, and the kernel log shows no splat (which the harness
# checks).

dir=$(dirname "$0")
KSFT_LIB=${KSFT_LIB:-$dir/../../..}
# shellcheck source=/dev/null
. "$KSFT_LIB/kselftest/ktap_helpers.sh"
# shellcheck source=lib.sh
. "$dir/lib.sh"

SECONDS_LEFT=${STRESS_SECONDS:-20}
D=/sys/kernel/debug/rdevsim

# Runs "$@" over and over until the deadline; counts the successful runs in
# file $1.
loop() {
	local count=$1 n=0
	shift
	while [ "$(date +%s)" -lt "$DEADLINE" ]; do
		"$@" >/dev/null 2>&1 && n=$((n + 1))
	done
	echo $n >"$count"
}

# An instance made and deleted with work in flight: a report whose recover
# sleeps, and a test event queued, when the delete comes.
churn() {
	rdevsim_new 9 2 && echo 30 >$D/rdevsim9/ports/0/health/recover_delay_ms || return 1
	echo x >$D/rdevsim9/ports/0/health/break_health &
	devlink health test faux/rdevsim9/1 reporter link
	rdevsim_del 9
	wait
}

# Requests on the churned instance, which come and go under them.
on_churned() {
	devlink health dump show faux/rdevsim9/1 reporter link &&
		devlink health diagnose faux/rdevsim9 reporter dummy &&
		devlink health recover faux/rdevsim9/0 reporter link
}

test_setup() {
	rdevsim_load && rdevsim_new 7 2 && rdevsim_new 8 1 &&
		echo 20 >$D/rdevsim7/ports/0/health/recover_delay_ms
}

test_stress() {
	local tmp pids=() f total=0 reports
	tmp=$(mktemp -d)
	DEADLINE=$(($(date +%s) + SECONDS_LEFT))
	loop "$tmp/r7" sh -c "echo a > $D/rdevsim7/health/break_health" &
	pids+=($!)
	loop "$tmp/r7p0" sh -c "echo b > $D/rdevsim7/ports/0/health/break_health" &
	pids+=($!)
	loop "$tmp/r8p0" sh -c "echo c > $D/rdevsim8/ports/0/health/break_health" &
	pids+=($!)
	loop "$tmp/rec" devlink health recover faux/rdevsim7 reporter dummy &
	pids+=($!)
	loop "$tmp/test" devlink health test faux/rdevsim7/1 reporter link &
	pids+=($!)
	loop "$tmp/dump" sh -c "devlink health dump show faux/rdevsim7/0 reporter link &&
		devlink health dump clear faux/rdevsim7/0 reporter link" &
	pids+=($!)
	loop "$tmp/diag" sh -c "devlink health diagnose faux/rdevsim7 reporter dummy &&
		devlink health diagnose faux/rdevsim8/0 reporter link" &
	pids+=($!)
	loop "$tmp/set" sh -c "devlink health set faux/rdevsim7 reporter dummy grace_period 0 &&
		devlink health set faux/rdevsim7 reporter dummy auto_dump false &&
		devlink health set faux/rdevsim7 reporter dummy auto_dump true" &
	pids+=($!)
	loop "$tmp/fail" sh -c "echo Y > $D/rdevsim8/health/fail_recover &&
		echo d > $D/rdevsim8/health/break_health;
		echo N > $D/rdevsim8/health/fail_recover" &
	pids+=($!)
	loop "$tmp/churn" churn &
	pids+=($!)
	loop "$tmp/on_churned" on_churned &
	pids+=($!)
	for p in "${pids[@]}"; do
		wait "$p"
	done
	for f in "$tmp"/*; do
		ktap_print_msg "$(basename "$f"): $(cat "$f")"
		total=$((total + $(cat "$f")))
	done
	# Every successful write to break_health is a report counted by devlink.
	reports=$(devlink -j health show faux/rdevsim7/0 reporter link | jq '.health[][].error')
	[ "$reports" -ge "$(cat "$tmp/r7p0")" ] ||
		{ ktap_print_msg "link of rdevsim7/0 counted $reports errors"; return 1; }
	rm -rf "$tmp"
	[ "$total" -gt 0 ]
}

test_still_working() {
	echo 0 >$D/rdevsim7/ports/0/health/recover_delay_ms &&
		echo N >$D/rdevsim8/health/fail_recover &&
		devlink health recover faux/rdevsim7 reporter dummy &&
		devlink health recover faux/rdevsim8 reporter dummy &&
		devlink health set faux/rdevsim8 reporter dummy grace_period 0 &&
		echo fine >$D/rdevsim8/health/break_health &&
		[ "$(devlink -j health show faux/rdevsim8 reporter dummy |
			jq -r '.health[][].state')" = healthy ]
}

test_cleanup() {
	rdevsim_unload && [ ! -e $D ]
}

ktap_print_header
[ "$(id -u)" = 0 ] || { ktap_skip_all "must be root"; exit "$KSFT_SKIP"; }
ktap_set_plan 4
ktap_test_result "instances 7 and 8" test_setup
ktap_test_result "${SECONDS_LEFT} s of everything at once" test_stress
ktap_test_result "still working afterwards" test_still_working
ktap_test_result "clean up" test_cleanup
ktap_finished
