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
	rdevsim_load && rdevsim_new $ID 2
}

test_trace_report() {
	trace_on || return 1
	brk "traced break" || return 1
	grep -q "devlink_health_report: $EV reporter_name=dummy: traced break" "$TR/trace" ||
		{ ktap_print_msg "no report event: $(grep devlink "$TR/trace")"; return 1; }
}

# The notifications of 'devlink mon health', one line per message:
# "HANDLE REPORTER STATE ERRORS RECOVERIES". iproute2 prints a message's
# handle only when it differs from the previous message's, and starts each
# message after the first with a space. One process: this runs often.
MON=/tmp/rdevsim-mon.$$
mon_lines() {
	awk 'function out(w) {
			if (m == "") return
			gsub(/[ \t]+/, " ", m)
			sub(/^ ?\[[^]]*\] ?/, "", m)
			split(m, w, " ")
			if (w[1] ~ /:$/) {
				h = substr(w[1], 1, length(w[1]) - 1)
				m = substr(m, length(w[1]) + 2)
			}
			split(m, w, " ")
			if (w[1] == "reporter" && w[3] == "state" &&
			    w[5] == "error" && w[7] == "recover")
				print h, w[2], w[4], w[6], w[8]
			else
				print h, m
		}
		/^ *\[/ { out(); m = $0; next } { m = m " " $0 } END { out() }' "$MON"
}

# Markers: each write sets the state of instance $MARK_ID's port reporter to
# the other one, which devlink notifies once. A marker seen in the
# monitor's output means that every notification made before it was read:
# they are sent in order on the one socket, from the writer's own context.
# MON_LINES: the monitor's lines when the last marker was seen.
MARK_ID=6
MARKS=0
MARK_STATE=healthy
MON_LINES=
# mark [TENTHS]: a marker, waited for TENTHS tenths of a second (50).
mark() {
	MARK_STATE=$([ $MARK_STATE = healthy ] && echo error || echo healthy)
	echo $MARK_STATE >/sys/kernel/debug/rdevsim/rdevsim$MARK_ID/ports/0/health/state ||
		return 1
	for _ in $(seq "${1:-50}"); do
		MON_LINES=$(mon_lines)
		if [ "$(grep -c "^faux/rdevsim$MARK_ID/" <<<"$MON_LINES")" -gt $MARKS ]; then
			MARKS=$((MARKS + 1))
			return 0
		fi
		sleep 0.1
	done
	ktap_print_msg "marker $((MARKS + 1)) not seen; so far: $(tr '\n' '|' <<<"$MON_LINES")"
	return 1
}

# Starts the monitor (unbuffered: each message is in the file once printed),
# and waits until it listens: markers until one is seen.
mon_start() {
	local _
	stdbuf -o0 devlink mon health >"$MON" 2>&1 &
	MON_PID=$!
	sleep 0.5
	for _ in 1 2 3 4 5; do
		mark 20 >/dev/null && return 0
		MON_LINES=$(mon_lines)
		MARKS=$(grep -c "^faux/rdevsim$MARK_ID/" <<<"$MON_LINES")
	done
	ktap_print_msg "devlink mon health shows no marker: $(tr '\n' '|' <"$MON")"
	return 1
}

mon_stop() {
	kill "$MON_PID" 2>/dev/null
	wait "$MON_PID" 2>/dev/null
	rm -f "$MON"
}

# notified EXPECTED COMMAND...: the command succeeds, and devlink notifies
# exactly EXPECTED ("HANDLE REPORTER STATE ERRORS RECOVERIES" lines, in
# order; empty: nothing).
notified() {
	local want=$1 start got
	shift
	start=$(wc -l <<<"$MON_LINES")
	"$@" || { ktap_print_msg "'$*' failed"; return 1; }
	mark || return 1
	got=$(tail -n +$((start + 1)) <<<"$MON_LINES" | grep -v "^faux/rdevsim$MARK_ID/")
	[ "$got" = "$want" ] && return 0
	ktap_print_msg "'$*' notified:"
	ktap_print_msg "${got:-(nothing)}"
	ktap_print_msg "instead of:"
	ktap_print_msg "${want:-(nothing)}"
	return 1
}

# The error and recovery counts of reporter $2 of handle $1: "ERRORS RECOVERIES".
counts() {
	devlink -j health show "$1" reporter "$2" | jq -r '.health[][] | "\(.error) \(.recover)"'
}

# Each event that changes a reporter's state is notified once, with the
# reporter's handle (a port's reporter: with the port; port 1, as iproute2
# 6.1 prints port 0's under the device's handle), name, state and counts; a
# request that changes no state is not notified.
test_mon() {
	# shellcheck disable=SC2034 # P1: used by the steps, which are eval'd
	local P1=/sys/kernel/debug/rdevsim/rdevsim$ID/ports/1/health
	local D=$DL P=$DL/1 e r pe pr rc=0
	rdevsim_new $MARK_ID 1 && mon_start || return 1
	read -r e r <<<"$(counts "$D" dummy)"
	read -r pe pr <<<"$(counts "$P" link)"
	# Each step's commands, and exactly what they notify: settings, a
	# recovery of a healthy reporter and a state set again are not notified.
	# A report, recovered at once: error, then healthy.
	notified "$D dummy error $((e + 1)) $r
$D dummy healthy $((e + 1)) $((r + 1))" brk "watched break" &&
		# Not recovered: error only; the recovery by hand: healthy, once.
		notified "$D dummy error $((e + 2)) $((r + 1))" eval \
			'devlink health set "$D" reporter dummy auto_recover false && brk "left"' &&
		notified "$D dummy healthy $((e + 2)) $((r + 2))" eval \
			'devlink health recover "$D" reporter dummy &&
			devlink health recover "$D" reporter dummy' &&
		# A port's reporter: its state set without a report, once per change.
		notified "$P link error $pe $pr" eval \
			'devlink health set "$D" reporter dummy auto_recover true &&
			echo error >"$P1/state" && echo error >"$P1/state"' &&
		# A recovery the driver made by itself is counted, not notified.
		notified "$P link healthy $pe $pr" eval \
			'echo healthy >"$P1/state" && echo recovered >"$P1/state"' &&
		# A failing recovery: error only, and it stays.
		notified "$P link error $((pe + 1)) $((pr + 1))" eval \
			'echo 1 >"$P1/fail_recover" && brk_port "$P1" failing' &&
		notified "$P link healthy $((pe + 1)) $((pr + 2))" eval \
			'echo 0 >"$P1/fail_recover" && devlink health recover "$P" reporter link' &&
		# Within the graceful period after that recovery: error only.
		notified "$P link error $((pe + 2)) $((pr + 2))" eval \
			'devlink health set "$P" reporter link grace_period 600000 &&
			brk_port "$P1" "in grace"' &&
		notified "$P link healthy $((pe + 2)) $((pr + 3))" eval \
			'devlink health recover "$P" reporter link &&
			devlink health set "$P" reporter link grace_period 0' || rc=1
	mon_stop
	rdevsim_del $MARK_ID || rc=1
	return $rc
}

# brk_port KNOBS MESSAGE: a report on a port's reporter; fails if its
# recovery did (or was not tried), which the tests here expect.
brk_port() { ! echo "$2" >"$1/break_health" 2>/dev/null; }

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
	devlink health set "$DL" reporter dummy grace_period 2500 burst_period 500 &&
		expect '.health[][] | .grace_period == 2500 and .burst_period == 500' \
			"$(reporter)" || return 1
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
ktap_test_result "devlink mon health: each state change notified once, with its port" test_mon
ktap_test_result "one stored dump: the first report's" test_one_stored_dump
ktap_test_result "auto_dump off: nothing stored" test_auto_dump_off
ktap_test_result "burst, then graceful period, over time (aborts traced)" test_periods_over_time
ktap_test_result "state set without a report, traced" test_state_update
ktap_test_result "clean up" test_cleanup
ktap_finished
