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
#
# Each run of each operation is recorded with its outcome, and each must end
# as the design says: reports counted and recovered exactly once each,
# requests on live instances never refused, the reports of a reporter that
# cannot recover cancelled with ECANCELED after the first, requests on the
# churned instance done or refused as the instance goes, nothing else.

dir=$(dirname "$0")
KSFT_LIB=${KSFT_LIB:-$dir/../../..}
# shellcheck source=/dev/null
. "$KSFT_LIB/kselftest/ktap_helpers.sh"
# shellcheck source=../lib/expect.sh
. "$dir/../lib/expect.sh"
# shellcheck source=lib.sh
. "$dir/lib.sh"

SECONDS_LEFT=${STRESS_SECONDS:-20}
D=/sys/kernel/debug/rdevsim
OUTCOMES=

# brk TEXT FILE: one write of TEXT to a break_health FILE, a report.
brk() { echo "$1" >"$2"; }

# outcome COMMAND...: runs it; prints "ok", or the error it ends with: the
# text after the last ": " of its last line of error output ("Invalid
# argument" from both 'devlink' and a write by bash).
outcome() {
	local err
	if err=$("$@" 2>&1 >/dev/null); then
		echo ok
	else
		err=${err##*$'\n'}
		echo "${err##*: }"
	fi
}

# loop NAME COMMAND...: runs it over and over until the deadline, one
# outcome a line in $OUTCOMES/NAME.
loop() {
	local name=$1
	shift
	while [ "$(date +%s)" -lt "$DEADLINE" ]; do
		outcome "$@"
	done >"$OUTCOMES/$name"
}

# count NAME OUTCOME: how many runs of NAME ended so.
count() { grep -cxF "$2" "$OUTCOMES/$1" || true; }

# only NAME OUTCOME...: every run of NAME ended with one of these.
only() {
	local name=$1 bad
	shift
	bad=$(grep -vxF "$(printf '%s\n' "$@")" "$OUTCOMES/$name" | sort | uniq -c)
	if [ -n "$bad" ]; then
		ktap_print_msg "$name: unexpected outcomes: $(xargs <<<"$bad")"
		return 1
	fi
}

# counters HANDLE REPORTER ERRORS RECOVERIES STATE: devlink's counters and
# state of that reporter are these.
counters() {
	expect ".health[][] | .error == $3 and .recover == $4 and .state == \"$5\"" \
		"$(devlink -j health show "$1" reporter "$2")" ||
		{ ktap_print_msg "^ $1 $2: want $3 errors, $4 recoveries, $5"; return 1; }
}

# An instance made and deleted with work in flight: a report whose recover
# sleeps, and a test event queued, when the delete comes. The report's write
# ends as the delete lets it: reported (ok), refused as the instance goes
# (ENODEV), or its knob gone (EIO once removed under an open file, ENOENT
# before the open).
churn() {
	local pid rc=0
	rdevsim_new 9 2 && echo 30 >$D/rdevsim9/ports/0/health/recover_delay_ms || rc=1
	outcome brk x $D/rdevsim9/ports/0/health/break_health >>"$OUTCOMES/churn_report" &
	pid=$!
	devlink health test faux/rdevsim9/1 reporter link || rc=1
	rdevsim_del 9 || rc=1
	wait $pid
	return $rc
}

# Requests on the churned instance, which come and go under them: each
# succeeds, or finds no instance: ENODEV, but EINVAL for a dump (its first
# part finds no reporter, or a later part none any more).
on_churned() {
	devlink health dump show faux/rdevsim9/1 reporter link &&
		devlink health diagnose faux/rdevsim9 reporter dummy &&
		devlink health recover faux/rdevsim9/0 reporter link
}

# Instance 7: dummy (no graceful period), its recoveries also asked for by
# hand; port 0 recovers in 20 ms and is dumped meanwhile; port 1 gets test
# events. Instance 8: dummy fails its recoveries; port 0 is diagnosed
# meanwhile.
test_setup() {
	rdevsim_load && rdevsim_new 7 2 && rdevsim_new 8 1 &&
		echo 20 >$D/rdevsim7/ports/0/health/recover_delay_ms &&
		echo Y >$D/rdevsim8/health/fail_recover
}

# Each reporter's reports come from one loop: devlink counts them exactly
# (its error counter is not atomic: two reporting at once may lose one).
test_stress() {
	local name n rc=0
	OUTCOMES=$(mktemp -d)
	: >"$OUTCOMES/churn_report"
	DEADLINE=$(($(date +%s) + SECONDS_LEFT))
	loop r7 brk a $D/rdevsim7/health/break_health &
	loop r7p0 brk b $D/rdevsim7/ports/0/health/break_health &
	loop r8p0 brk c $D/rdevsim8/ports/0/health/break_health &
	loop r8 brk d $D/rdevsim8/health/break_health &
	loop rec devlink health recover faux/rdevsim7 reporter dummy &
	loop test devlink health test faux/rdevsim7/1 reporter link &
	loop dump sh -c "devlink health dump show faux/rdevsim7/0 reporter link &&
		devlink health dump clear faux/rdevsim7/0 reporter link" &
	loop diag sh -c "devlink health diagnose faux/rdevsim7 reporter dummy &&
		devlink health diagnose faux/rdevsim8/0 reporter link" &
	loop set sh -c "devlink health set faux/rdevsim7 reporter dummy grace_period 0 &&
		devlink health set faux/rdevsim7 reporter dummy auto_dump false &&
		devlink health set faux/rdevsim7 reporter dummy auto_dump true" &
	loop instances churn &
	loop on_churned on_churned &
	# Every loop's status is its redirection's: the outcomes say the rest.
	for n in $(jobs -p); do
		wait "$n" || { ktap_print_msg "a loop failed"; return 1; }
	done
	for name in "$OUTCOMES"/*; do
		ktap_print_msg "$(basename "$name"): $(sort "$name" | uniq -c | xargs)"
	done
	# What never fails: reports recovered at once (a recover by hand in
	# between makes the report's own a no-op, never an error), requests on
	# live instances, and instances made and deleted. Every check runs, so
	# that a failure shows all it breaks.
	for name in r7 r7p0 r8p0 rec test dump diag set instances; do
		only $name ok || rc=1
		[ "$(count $name ok)" -gt 0 ] || { ktap_print_msg "$name: never ok"; rc=1; }
	done
	# Instance 8's dummy: the first report's recovery fails (EINVAL), and
	# nothing recovers it after, so every later report is cancelled.
	only r8 "Operation canceled" "Invalid argument" || rc=1
	[ "$(count r8 "Invalid argument")" = 1 ] || {
		ktap_print_msg "r8: EINVAL $(count r8 "Invalid argument") times, not once"
		rc=1
	}
	only on_churned ok "No such device" "Invalid argument" || rc=1
	only churn_report ok "No such device" "Input/output error" \
		"No such file or directory" || rc=1
	# Every report counted once and recovered once.
	n=$(count r7 ok)
	counters faux/rdevsim7 dummy "$n" "$n" healthy || rc=1
	n=$(count r7p0 ok)
	counters faux/rdevsim7/0 link "$n" "$n" healthy || rc=1
	n=$(count r8p0 ok)
	counters faux/rdevsim8/0 link "$n" "$n" healthy || rc=1
	n=$(wc -l <"$OUTCOMES/r8")
	counters faux/rdevsim8 dummy "$n" 0 error || rc=1
	test_events_reported "$(count test ok)" || rc=1
	return $rc
}

# Test events: each request queues one unless one is pending already, so
# the link of rdevsim7/1 counts at least one and at most one per request,
# each recovered. The last may still be in flight: wait for the counters to
# agree.
test_events_reported() {
	local requests=$1 show
	for _ in $(seq 50); do
		show=$(devlink -j health show faux/rdevsim7/1 reporter link)
		jq -e '.health[][] | .error == .recover' <<<"$show" >/dev/null && break
		sleep 0.1
	done
	expect ".health[][] | .error >= 1 and .error <= $requests and .error == .recover
		and .state == \"healthy\"" "$show"
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
	rm -rf "$OUTCOMES"
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
