#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# rdevsim beyond netdevsim's tests: the configfs control interface and its
# refusals, ports, dev info, per-instance default periods, the dummy dump
# whole (netdevsim's stops after test_nest), bounded knobs that leave the
# stored dump alone, several instances, permissions, and unloading.

dir=$(dirname "$0")
KSFT_LIB=${KSFT_LIB:-$dir/../../..}
# shellcheck source=/dev/null
. "$KSFT_LIB/kselftest/ktap_helpers.sh"
# shellcheck source=../lib/expect.sh
. "$dir/../lib/expect.sh"
# shellcheck source=lib.sh
. "$dir/lib.sh"

H=/sys/kernel/debug/rdevsim/rdevsim1/health

write() { printf '%b' "$1" >"$2"; }

reporter() { devlink -j health show faux/rdevsim1 reporter "$1"; }
dump() { devlink -j health dump show faux/rdevsim1 reporter dummy; }
diagnose() { devlink -j health diagnose faux/rdevsim1 reporter dummy; }

ynl_reporter() {
	rdevsim_ynl "do" health-reporter-get \
		"{\"bus-name\":\"faux\",\"dev-name\":\"rdevsim$1\",\"health-reporter-name\":\"$2\"}"
}

test_load() {
	rdevsim_load && [ -d "$CFG" ]
}

test_bad_names() {
	local n
	for n in abc -1 01 +1 0x10 4294967296 ''; do
		[ -n "$n" ] || continue
		fails "Invalid argument" mkdir "$CFG/$n" || return 1
	done
	[ -z "$(ls "$CFG")" ]
}

test_bad_settings() {
	mkdir "$CFG/1" || return 1
	fails "Invalid argument" write 33 "$CFG/1/ports" &&
		fails "Invalid argument" write abc "$CFG/1/ports" &&
		fails "Invalid argument" write -1 "$CFG/1/graceful_period" &&
		fails "Invalid argument" write 4294967296 "$CFG/1/burst_period" &&
		fails "Invalid argument" write maybe "$CFG/1/live" &&
		[ "$(cat "$CFG/1/ports")" = 1 ] && [ "$(cat "$CFG/1/graceful_period")" = 0 ] &&
		[ "$(cat "$CFG/1/live")" = 0 ]
}

test_burst_needs_graceful() {
	echo 100 >"$CFG/1/burst_period" || return 1
	fails "Invalid argument" write 1 "$CFG/1/live" &&
		[ "$(cat "$CFG/1/live")" = 0 ] &&
		expect '.dev | has("faux/rdevsim1") | not' "$(devlink -j dev show)"
}

test_live() {
	echo 2 >"$CFG/1/ports" && echo 500 >"$CFG/1/graceful_period" &&
		echo 1 >"$CFG/1/live" || return 1
	[ "$(cat "$CFG/1/live")" = 1 ] &&
		expect '.dev | has("faux/rdevsim1")' "$(devlink -j dev show)" &&
		expect '.port | keys == ["faux/rdevsim1/0", "faux/rdevsim1/1"]' \
			"$(devlink -j port show)" &&
		expect '.port[] | .flavour == "physical"' \
			"$(devlink -j port show faux/rdevsim1/1)" &&
		expect '.info["faux/rdevsim1"] | .serial_number == "1"
			and .versions.running["fw.mgmt"] == "10.20.30"' \
			"$(devlink -j dev info faux/rdevsim1)"
}

test_busy() {
	fails "busy" write 3 "$CFG/1/ports" &&
		fails "busy" write 1 "$CFG/1/live" &&
		[ "$(cat "$CFG/1/ports")" = 2 ]
}

test_periods() {
	expect '.health[][] | .grace_period == 500' "$(reporter dummy)" &&
		expect '.health[][] | has("grace_period") | not' "$(reporter empty)" &&
		expect '.["health-reporter"]["health-reporter-burst-period"] == 100' \
			"$(ynl_reporter 1 dummy)"
}

test_whole_dump() {
	echo 8 >"$H/binary_len" && echo "first break" >"$H/break_health" || return 1
	expect '.break_message == "first break" and (.test_binary | length) == 8
		and .test_nest == {"nested_test_bool": false, "nested_test_u8": 0}
		and .test_u32_array == [range(10)]
		and ([.test_array_of_objects[].in_array_nested_test_u8] == [range(10)])' "$(dump)"
}

test_bad_knobs() {
	local before
	before=$(dump)
	fails "Invalid argument" write 1048577 "$H/binary_len" &&
		fails "Invalid argument" write abc "$H/binary_len" &&
		fails "Invalid argument" write '\n' "$H/binary_len" &&
		fails "Invalid argument" write maybe "$H/fail_recover" &&
		fails "Invalid argument" write "$(printf 'x%.0s' {1..4097})" "$H/break_health" &&
		[ "$(cat "$H/binary_len")" = 8 ] && [ "$(cat "$H/fail_recover")" = N ] &&
		expect '.health[][] | .error == 1' "$(reporter dummy)" &&
		[ "$(dump)" = "$before" ]
}

test_fail_recover_message() {
	local ok=0
	# No graceful period: the report is recovered, and the recovery fails.
	devlink health set faux/rdevsim1 reporter dummy grace_period 0 &&
		echo Y >"$H/fail_recover" || return 1
	fails "Invalid argument" write "second\n" "$H/break_health" &&
		expect '.health[][] | .state == "error" and .error == 2 and .recover == 1' \
			"$(reporter dummy)" &&
		fails "rdevsim: User setup the recover to fail for testing purposes" \
			devlink health recover faux/rdevsim1 reporter dummy || ok=1
	echo N >"$H/fail_recover" &&
		devlink health recover faux/rdevsim1 reporter dummy &&
		devlink health set faux/rdevsim1 reporter dummy grace_period 500 || return 1
	[ $ok = 0 ] &&
		expect '.health[][] | .state == "healthy" and .recover == 2' "$(reporter dummy)"
}

P1=/sys/kernel/debug/rdevsim/rdevsim1/ports/1/health
port_reporter() { devlink -j health show faux/rdevsim1/1 reporter link; }

test_port_reporter() {
	expect '.health[][] | .reporter == "link" and .state == "healthy" and .error == 0
		and .auto_recover and .auto_dump' "$(port_reporter)" &&
		echo "port down" >"$P1/break_health" &&
		expect '.health[][] | .error == 1 and .recover == 1' "$(port_reporter)" &&
		expect '.port == 1 and .break_message == "port down" and .recoveries == 0' \
			"$(devlink -j health dump show faux/rdevsim1/1 reporter link)" &&
		expect '.port == 1 and .recoveries == 1
			and .recovered_break_message == "port down"' \
			"$(devlink -j health diagnose faux/rdevsim1/1 reporter link)" &&
		# Port 0's reporter is another one.
		expect '.health[][] | .error == 0' \
			"$(devlink -j health show faux/rdevsim1/0 reporter link)" &&
		fails "Invalid argument" write 10001 "$P1/recover_delay_ms" &&
		[ "$(cat "$P1/recover_delay_ms")" = 0 ]
}

# 'devlink health test' on a port reporter: the op queues a fake event, which
# a work item reports as a real one (counted, dumped, recovered).
test_test_op() {
	local before
	devlink health dump clear faux/rdevsim1/1 reporter link || return 1
	before=$(port_reporter | jq '.health[][].error')
	devlink health test faux/rdevsim1/1 reporter link || return 1
	for _ in $(seq 50); do
		[ "$(port_reporter | jq '.health[][].error')" -gt "$before" ] && break
		sleep 0.1
	done
	expect ".health[][] | .error == $((before + 1)) and .recover == $((before + 1))
		and .state == \"healthy\"" "$(port_reporter)" &&
		expect '.break_message == "test event"' \
			"$(devlink -j health dump show faux/rdevsim1/1 reporter link)"
}

# A slow recover holds the instance lock: user requests wait for it, and
# none of them fails or warns.
test_slow_recover() {
	local pid rc=0 before
	before=$(port_reporter | jq '.health[][].error')
	echo 500 >"$P1/recover_delay_ms" || return 1
	echo "slow" >"$P1/break_health" &
	pid=$!
	sleep 0.1
	devlink health diagnose faux/rdevsim1 reporter dummy >/dev/null &&
		devlink health show faux/rdevsim1/1 reporter link >/dev/null &&
		devlink health dump show faux/rdevsim1/0 reporter link >/dev/null || rc=1
	wait $pid || rc=1
	echo 0 >"$P1/recover_delay_ms"
	[ $rc = 0 ] && expect ".health[][] | .error == $((before + 1))
		and .recover == $((before + 1))" "$(port_reporter)"
}

# Deleting an instance while a recover sleeps in it waits for the recover.
test_delete_busy() {
	local pid
	rdevsim_new 3 1 || return 1
	echo 1000 >/sys/kernel/debug/rdevsim/rdevsim3/ports/0/health/recover_delay_ms || return 1
	echo "busy" >/sys/kernel/debug/rdevsim/rdevsim3/ports/0/health/break_health &
	pid=$!
	sleep 0.2
	rdevsim_del 3 || return 1
	wait $pid
	expect '.dev | has("faux/rdevsim3") | not' "$(devlink -j dev show)"
}

# What the netlink side refuses, as for netdevsim: ops a reporter lacks, an
# unknown reporter, a graceful period on a reporter that cannot recover.
test_netlink_refusals() {
	fails "Operation not supported" devlink health test faux/rdevsim1 reporter dummy &&
		fails "Operation not supported" \
			devlink health set faux/rdevsim1 reporter empty grace_period 10 &&
		fails "Invalid argument" devlink health show faux/rdevsim1 reporter nosuch &&
		fails "Invalid argument" devlink health recover faux/rdevsim1/1 reporter dummy &&
		expect '.health[][] | has("grace_period") | not' "$(reporter empty)"
}

test_instances() {
	rdevsim_new 2 0 || return 1
	expect '.dev | has("faux/rdevsim1") and has("faux/rdevsim2")' "$(devlink -j dev show)" &&
		rdevsim_del 2 &&
		expect '.dev | has("faux/rdevsim1") and (has("faux/rdevsim2") | not)' \
			"$(devlink -j dev show)" &&
		[ ! -e /sys/kernel/debug/rdevsim/rdevsim2 ]
}

test_unprivileged() {
	local nobody=(setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all)
	fails "Permission denied" "${nobody[@]}" sh -c "echo x > $H/break_health" &&
		fails "ermission denied" "${nobody[@]}" sh -c "echo 3 > $CFG/1/ports" &&
		fails "Operation not permitted" "${nobody[@]}" \
			devlink health recover faux/rdevsim1 reporter dummy &&
		fails "Operation not permitted" "${nobody[@]}" \
			devlink health set faux/rdevsim1 reporter dummy grace_period 1 &&
		expect '.health[][] | .error == 2 and .grace_period == 500' "$(reporter dummy)"
}

# A report's text, as the stored dump shows it: on both sides of the 64
# bytes an event keeps in itself, one trailing newline dropped, cut at a
# NUL. A page is reported too, but no fmsg item holds it: the core fails
# the dump (EMSGSIZE) and stores none, so a dump show makes one anew,
# without a report's text.
test_break_texts() {
	local n text errors recovers
	# Nine reports, counted from where the counters are: the test runs once
	# per mode, after tests that report too.
	devlink health set faux/rdevsim1 reporter dummy grace_period 0 &&
		errors=$(reporter dummy | jq -e '.health[][].error') &&
		recovers=$(reporter dummy | jq -e '.health[][].recover') || return 1
	for n in 1 62 63 64 65 3000; do
		text=$(printf 'b%.0s' $(seq $n))
		devlink health dump clear faux/rdevsim1 reporter dummy &&
			printf '%s' "$text" >"$H/break_health" &&
			expect ".break_message == \"$text\"" "$(dump)" || return 1
	done
	devlink health dump clear faux/rdevsim1 reporter dummy &&
		printf '%s\n' "$text" >"$H/break_health" &&
		expect ".break_message == \"$text\"" "$(dump)" &&
		devlink health dump clear faux/rdevsim1 reporter dummy &&
		printf 'cut\0here\n' >"$H/break_health" &&
		expect '.break_message == "cut"' "$(dump)" &&
		devlink health dump clear faux/rdevsim1 reporter dummy &&
		printf 'b%.0s' $(seq 4096) >"$H/break_health" &&
		expect ".health[][] | .error == $((errors + 9)) and .recover == $((recovers + 9))
			and (has(\"last_dump_date\") | not)" "$(reporter dummy)" &&
		expect 'has("break_message") | not' "$(dump)"
}

# alloc_per_report (make bench's like-for-like mode: reports allocate as
# netdevsim's do): the same texts, and the message diagnose shows after
# each recovery, short and long.
test_alloc_per_report() {
	local ok=0 long
	long=$(printf 'k%.0s' $(seq 100))
	[ "$(cat "$H/alloc_per_report")" = N ] && echo Y >"$H/alloc_per_report" || return 1
	[ "$(cat "$H/alloc_per_report")" = Y ] && test_break_texts &&
		echo "kept" >"$H/break_health" &&
		expect '.recovered_break_message == "kept"' "$(diagnose)" &&
		echo "$long" >"$H/break_health" &&
		expect ".recovered_break_message == \"$long\"" "$(diagnose)" &&
		echo "short" >"$H/break_health" &&
		expect '.recovered_break_message == "short"' "$(diagnose)" || ok=1
	echo N >"$H/alloc_per_report" && [ $ok = 0 ]
}

test_unload() {
	fails "in use" rmmod rdevsim &&
		rdevsim_unload &&
		expect '.dev | has("faux/rdevsim1") | not' "$(devlink -j dev show)" &&
		[ ! -e "$CFG" ] && [ ! -e /sys/kernel/debug/rdevsim ]
}

ktap_print_header
rdevsim_test_start
ktap_set_plan 20
ktap_test_result "load: configfs folder" test_load
ktap_test_result "instance names other than decimal IDs refused" test_bad_names
ktap_test_result "malformed and out-of-range settings refused" test_bad_settings
ktap_test_result "a burst period without a graceful period refused" test_burst_needs_graceful
ktap_test_result "live: instance, ports, dev info" test_live
ktap_test_result "settings of a live instance: EBUSY" test_busy
ktap_test_result "per-instance default periods" test_periods
ktap_test_result "the dummy dump whole, arrays included" test_whole_dump
ktap_test_result "bad knob writes refused, stored dump intact" test_bad_knobs
ktap_test_result "failing recover: its message reaches devlink" test_fail_recover_message
ktap_test_result "port reporters: report, dump, diagnose, bounded knob" test_port_reporter
ktap_test_result "test op: a fake event reported by a work item" test_test_op
ktap_test_result "a slow recover and user requests meet" test_slow_recover
ktap_test_result "instance deleted while a recover sleeps" test_delete_busy
ktap_test_result "netlink refusals: absent ops, unknown reporters" test_netlink_refusals
ktap_test_result "two instances, one deleted" test_instances
ktap_test_result "unprivileged users change and trigger nothing" test_unprivileged
ktap_test_result "report texts: short, long, cut at a NUL; a page has no dump" test_break_texts
ktap_test_result "alloc_per_report: the same texts, the recovered message kept" \
	test_alloc_per_report
ktap_test_result "unload: refused while instances exist, then clean" test_unload
ktap_finished
