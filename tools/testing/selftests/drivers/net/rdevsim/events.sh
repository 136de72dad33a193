#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# What devlink tells about rdevsim's reports over time: trace events, 'devlink
# mon health' notifications, auto_dump off, the one stored dump, and the
# burst and graceful periods at work.

dir=$(dirname "$0")
KSFT_LIB=${KSFT_LIB:-$dir/../../..}
# shellcheck source=/dev/null
. "$KSFT_LIB/kselftest/ktap_helpers.sh"
# shellcheck source=../lib/expect.sh
. "$dir/../lib/expect.sh"
# shellcheck source=lib.sh
. "$dir/lib.sh"

ID=5
DL=faux/rdevsim$ID
H=/sys/kernel/debug/rdevsim/rdevsim$ID/health
TR=/sys/kernel/tracing
# How the trace events name our reporters.
EV="bus_name=faux dev_name=rdevsim$ID driver_name=faux_driver"

reporter() { devlink -j health show "$DL" reporter dummy; }
brk() { echo "$1" >"$H/break_health"; }

ynl_set() {
	rdevsim_ynl "do" health-reporter-set \
		"{\"bus-name\":\"faux\",\"dev-name\":\"rdevsim$ID\",$1,
		  \"health-reporter-name\":\"dummy\"}" >/dev/null
}

trace_on() {
	mountpoint -q "$TR" || mount -t tracefs none "$TR"
	: >"$TR/trace"
	echo 1 >"$TR/events/devlink/devlink_health_report/enable" &&
		echo 1 >"$TR/events/devlink/devlink_health_recover_aborted/enable"
}

trace_off() {
	echo 0 >"$TR/events/devlink/enable"
}

test_setup() {
	rdevsim_load && rdevsim_new $ID 1
}

test_trace_report() {
	trace_on || return 1
	brk "traced break" || return 1
	grep -q "devlink_health_report: $EV reporter_name=dummy: traced break" "$TR/trace" ||
		{ ktap_print_msg "no report event: $(grep devlink "$TR/trace")"; return 1; }
}

test_mon() {
	local mon out=/tmp/rdevsim-mon.$$ rc=0
	devlink mon health >"$out" 2>&1 &
	mon=$!
	sleep 0.5
	brk "watched break"
	sleep 0.5
	kill $mon
	wait $mon 2>/dev/null
	# The report (error state) and the recovery (healthy) are notified.
	grep -q "reporter dummy" "$out" && grep -q "state error" "$out" &&
		grep -q "state healthy" "$out" || rc=1
	[ $rc = 0 ] || ktap_print_msg "devlink mon health: $(cat "$out")"
	rm -f "$out"
	return $rc
}

test_one_stored_dump() {
	devlink health dump clear "$DL" reporter dummy && brk "kept" && brk "not kept" &&
		expect '.break_message == "kept"' \
			"$(devlink -j health dump show "$DL" reporter dummy)"
}

test_auto_dump_off() {
	local rc=0
	devlink health dump clear "$DL" reporter dummy &&
		devlink health set "$DL" reporter dummy auto_dump false && brk "undumped" &&
		expect '.health[][] | .auto_dump == false and (has("last_dump_date") | not)' \
			"$(reporter)" &&
		# With nothing stored, 'dump show' makes a dump now, without a context.
		expect 'has("break_message") | not' \
			"$(devlink -j health dump show "$DL" reporter dummy)" ||
		rc=1
	# Restored whatever the result, which is the assertions' (not the restore's).
	devlink health set "$DL" reporter dummy auto_dump true || rc=1
	return $rc
}

# Milliseconds since $1, an $EPOCHREALTIME.
ms_since() {
	local now=$EPOCHREALTIME
	echo $(((${now//[.,]/} - ${1//[.,]/}) / 1000))
}

# Graceful period 2500 ms with a 500 ms burst: errors within the burst that
# a recovery starts are recovered, then the graceful period cancels recovery
# (the reporter stays in error), until a recovery by hand starts a new burst.
# The test times the windows too: a round in which the VM stalled past one
# (software emulation does, now and then) proves nothing and is run again,
# up to three times; the kernel is judged only where the times are clear.
test_periods_over_time() {
	local try before start rc
	local aborted="devlink_health_recover_aborted: $EV reporter_name=dummy"
	ynl_set '"health-reporter-graceful-period":2500,"health-reporter-burst-period":500' ||
		return 1
	for try in 1 2 3; do
		# A round that stalled may have left the reporter in error.
		devlink health recover "$DL" reporter dummy || return 1
		# Past the windows of the earlier recoveries, counted with these periods.
		sleep 3.2
		before=$(jq '.health[][].recover' <<<"$(reporter)")
		# Only this round's events: a stalled round may have traced an abort.
		: >"$TR/trace"
		start=$EPOCHREALTIME
		if ! { brk "burst 1" && brk "burst 2"; } 2>/dev/null; then
			[ "$(ms_since "$start")" -gt 450 ] && continue
			ktap_print_msg "a report within the burst was not recovered"
			return 1
		fi
		# Nothing slow here (a devlink or jq process takes a good part of a
		# second to start under emulation): the counts are read afterwards.
		sleep 0.6
		brk "in grace" 2>/dev/null
		rc=$?
		if [ "$(ms_since "$start")" -gt 2950 ]; then
			ktap_print_msg "round $try: the VM stalled past the graceful period"
			continue
		fi
		if [ $rc = 0 ]; then
			ktap_print_msg "a report in the graceful period was recovered"
			return 1
		fi
		expect ".health[][] | .state == \"error\" and .recover == $((before + 2))" \
			"$(reporter)" &&
			grep -q "$aborted" "$TR/trace" || return 1
		devlink health recover "$DL" reporter dummy && brk "new burst" &&
			expect ".health[][] | .state == \"healthy\"
				and .recover == $((before + 4))" "$(reporter)"
		return
	done
	ktap_print_msg "every round stalled"
	return 1
}

test_state_update() {
	local P0=/sys/kernel/debug/rdevsim/rdevsim$ID/ports/0/health
	echo 1 >"$TR/events/devlink/devlink_health_reporter_state_update/enable" &&
		echo error >"$P0/state" || return 1
	expect '.health[][] | .state == "error" and .error == 0' \
		"$(devlink -j health show "$DL/0" reporter link)" &&
		grep -q "reporter_state_update: $EV reporter_name=link: new_state=1" \
			"$TR/trace" &&
		echo healthy >"$P0/state" &&
		expect '.health[][] | .state == "healthy"' \
			"$(devlink -j health show "$DL/0" reporter link)" &&
		! printf 'sick' >"$P0/state" 2>/dev/null
}

test_cleanup() {
	trace_off
	rdevsim_unload
}

ktap_print_header
rdevsim_test_start
ktap_set_plan 8
ktap_test_result "instance $ID" test_setup
ktap_test_result "report trace event" test_trace_report
ktap_test_result "devlink mon health notifications" test_mon
ktap_test_result "one stored dump: the first report's" test_one_stored_dump
ktap_test_result "auto_dump off: nothing stored" test_auto_dump_off
ktap_test_result "burst, then graceful period, over time (aborts traced)" test_periods_over_time
ktap_test_result "state set without a report, traced" test_state_update
ktap_test_result "clean up" test_cleanup
ktap_finished
