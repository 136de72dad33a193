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
	expect '.health[][] | .grace_period == 500 and .burst_period == 100' \
		"$(reporter dummy)" &&
		expect '.health[][] | (has("grace_period") or has("burst_period")) | not' \
			"$(reporter empty)"
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

# until_reads FILE VALUE: waits (10 s at most, by the clock: a pass of the
# loop costs far more than its sleep under emulation) until FILE reads VALUE.
until_reads() {
	local end=$((SECONDS + 10)) v
	while :; do
		read -r v <"$1" && [ "$v" = "$2" ] && return 0
		[ $SECONDS -lt $end ] || break
		sleep 0.05
	done
	ktap_print_msg "$1 reads $(cat "$1"), not $2"
	return 1
}

# blocked_in PID FUNCTION: waits (10 s at most, by the clock) until task PID
# sleeps in the kernel with FUNCTION on its stack.
blocked_in() {
	local end=$((SECONDS + 10))
	while :; do
		grep -q "$2" "/proc/$1/stack" 2>/dev/null && return 0
		[ $SECONDS -lt $end ] || break
		sleep 0.05
	done
	ktap_print_msg "task $1 never slept in $2: $(xargs <"/proc/$1/stack" 2>&1)"
	return 1
}

# A recover held (recover_hold) keeps the instance lock: a request that comes
# meanwhile is seen waiting for it (in devlink's pre_doit), and runs after it
# (its diagnose counts the recovery); the report and the request succeed.
test_slow_recover() {
	local pid dpid rc=0 before errors out
	out=$(mktemp)
	before=$(devlink -j health diagnose faux/rdevsim1/1 reporter link | jq .recoveries)
	errors=$(port_reporter | jq '.health[][].error')
	echo Y >"$P1/recover_hold" || return 1
	echo "slow" >"$P1/break_health" &
	pid=$!
	until_reads "$P1/recovering" 1 || rc=1
	devlink -j health diagnose faux/rdevsim1/1 reporter link >"$out" &
	dpid=$!
	[ $rc = 0 ] && blocked_in $dpid devlink_nl_pre_doit || rc=1
	[ "$(cat "$P1/recovering")" = 1 ] || { ktap_print_msg "the recover ended early"; rc=1; }
	echo N >"$P1/recover_hold"
	wait $pid || { ktap_print_msg "the slow report failed"; rc=1; }
	wait $dpid || { ktap_print_msg "the diagnose failed"; rc=1; }
	[ $rc = 0 ] &&
		expect ".recoveries == $((before + 1)) and .recovered_break_message == \"slow\"" \
			"$(cat "$out")" &&
		expect ".health[][] | .error == $((errors + 1)) and .recover == $((errors + 1))" \
			"$(port_reporter)"
	rc=$?
	rm -f "$out"
	return $rc
}

P3=/sys/kernel/debug/rdevsim/rdevsim3/ports/0/health

# delete_held PID: with a recover of instance 3's port 0 held and PID (a
# report or a request) in it, the instance is deleted: the delete waits for
# the recover, rmmod is refused meanwhile, and once the recover is let go
# both end well and the instance is gone.
delete_held() {
	local pid=$1 dpid rc=0
	until_reads "$P3/recovering" 1 || rc=1
	rmdir "$CFG/3" &
	dpid=$!
	[ $rc = 0 ] && blocked_in $dpid configfs_rmdir || rc=1
	fails "in use" rmmod rdevsim || rc=1
	echo N >"$P3/recover_hold" || rc=1
	wait "$pid" || { ktap_print_msg "the report or request in the recover failed"; rc=1; }
	wait $dpid || { ktap_print_msg "the delete failed"; rc=1; }
	[ $rc = 0 ] && expect '.dev | has("faux/rdevsim3") | not' "$(devlink -j dev show)" &&
		[ ! -e /sys/kernel/debug/rdevsim/rdevsim3 ]
}

# Deleting an instance while a report's recover runs in it.
test_delete_busy() {
	rdevsim_new 3 1 && echo Y >"$P3/recover_hold" || return 1
	echo "busy" >"$P3/break_health" &
	delete_held $!
}

# Deleting an instance while a netlink request (devlink health recover) is
# inside its recover op.
test_delete_in_request() {
	rdevsim_new 3 1 &&
		devlink health set faux/rdevsim3/0 reporter link auto_recover false &&
		echo "down" >"$P3/break_health" && echo Y >"$P3/recover_hold" || return 1
	devlink health recover faux/rdevsim3/0 reporter link &
	delete_held $!
}

# Deleting an instance in the middle of a dump of 1 MiB of binary: devlink
# prints as the dump comes (3 MB of hex), so, its output not read, it stops
# in a pipe write between two messages of the dump. The rest of the dump
# finds no instance: devlink fails (EINVAL), rather than printing part of a
# dump as if whole. (Not with -j: iproute2 6.1 then aborts, its JSON left
# open.)
test_delete_mid_dump() {
	local dir pid fd rc=0
	rdevsim_new 3 0 &&
		echo 1048576 >/sys/kernel/debug/rdevsim/rdevsim3/health/binary_len || return 1
	dir=$(mktemp -d) && mkfifo "$dir/out" || return 1
	devlink health dump show faux/rdevsim3 reporter dummy >"$dir/out" 2>"$dir/err" &
	pid=$!
	exec {fd}<"$dir/out"
	head -c 4096 <&$fd >/dev/null
	blocked_in $pid pipe_write || rc=1
	rdevsim_del 3 || rc=1
	cat <&$fd >/dev/null
	exec {fd}<&-
	if wait $pid; then
		ktap_print_msg "the dump of a deleted instance succeeded"
		rc=1
	fi
	grep -q "Invalid argument" "$dir/err" ||
		{ ktap_print_msg "devlink: $(cat "$dir/err")"; rc=1; }
	rm -rf "$dir"
	[ $rc = 0 ] && expect '.dev | has("faux/rdevsim3") | not' "$(devlink -j dev show)"
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

# Instance 6, one port, for what follows.
DL6=faux/rdevsim6
H6=/sys/kernel/debug/rdevsim/rdevsim6/health
P6=/sys/kernel/debug/rdevsim/rdevsim6/ports/0/health
link6() { devlink -j health show $DL6/0 reporter link; }

# A recovery the driver makes by itself (Reporter::recovery_done, then the
# state set healthy: the 'recovered' state knob) is counted, and starts the
# graceful period as one by the core does: the next report is cancelled.
test_recovery_done() {
	rdevsim_new 6 1 &&
		devlink health set $DL6/0 reporter link grace_period 60000 &&
		echo error >"$P6/state" &&
		expect '.health[][] | .state == "error" and .error == 0 and .recover == 0' \
			"$(link6)" &&
		echo recovered >"$P6/state" &&
		expect '.health[][] | .state == "healthy" and .error == 0 and .recover == 1' \
			"$(link6)" &&
		fails "Operation canceled" write "in grace\n" "$P6/break_health" &&
		expect '.health[][] | .state == "error" and .error == 1 and .recover == 1' \
			"$(link6)" &&
		# Without a graceful period, a report is recovered again.
		devlink health set $DL6/0 reporter link grace_period 0 &&
		echo recovered >"$P6/state" && echo "after" >"$P6/break_health" &&
		expect '.health[][] | .state == "healthy" and .error == 2 and .recover == 3' \
			"$(link6)"
}

# fails_with ERRNO_TEXT MESSAGE COMMAND...: the command fails with both the
# errno's text and the extack message.
fails_with() {
	local errno=$1 msg=$2
	shift 2
	fails "$errno" "$@" && fails "$msg" "$@"
}

# An op that fails: its errno and its extack message reach the user, the
# reporter's state and counters stay, and a failing dump stores nothing
# (neither from 'dump show' nor from a report, which still recovers).
test_op_errors() {
	local before e r
	devlink health dump clear $DL6/0 reporter link && before=$(link6) &&
		read -r e r < <(jq -r '.health[][] | "\(.error) \(.recover)"' <<<"$before") &&
		fails "Invalid argument" write 8 "$P6/fail_ops" &&
		echo 1 >"$P6/fail_ops" &&
		fails_with "Input/output error" "rdevsim: dump set to fail" \
			devlink health dump show $DL6/0 reporter link &&
		expect '.health[][] | has("last_dump_date") | not' "$(link6)" &&
		[ "$(link6)" = "$before" ] &&
		echo "undumped" >"$P6/break_health" &&
		expect ".health[][] | .state == \"healthy\" and .error == $((e + 1)) and
			.recover == $((r + 1)) and (has(\"last_dump_date\") | not)" "$(link6)" ||
		return 1
	before=$(link6)
	echo 2 >"$P6/fail_ops" &&
		fails_with "No data available" "rdevsim: diagnose set to fail" \
			devlink health diagnose $DL6/0 reporter link &&
		echo 4 >"$P6/fail_ops" &&
		fails_with "Device or resource busy" "rdevsim: test set to fail" \
			devlink health test $DL6/0 reporter link &&
		[ "$(link6)" = "$before" ] &&
		echo 0 >"$P6/fail_ops" &&
		devlink health dump show $DL6/0 reporter link >/dev/null &&
		expect '.health[][] | has("last_dump_date")' "$(link6)"
}

# A dump of 1 MiB of binary spans many netlink messages; its bytes, in a
# known pattern (binary_pattern), arrive whole and in order.
# same_binary FILE LEN: the test_binary of the JSON in FILE is the LEN bytes
# of binary_pattern Y.
same_binary() {
	"${PYTHON:-python3}" - "$1" "$2" <<-'EOF'
	import json
	import sys

	def flat(v):
	    return [x for i in v for x in flat(i)] if isinstance(v, list) else [v]

	got = flat(json.load(open(sys.argv[1]))["test_binary"])
	want = [(i % 251 + i // 65536) % 256 for i in range(int(sys.argv[2]))]
	if got != want:
	    bad = next((i for i, (a, b) in enumerate(zip(got, want)) if a != b), None)
	    print(f"# {len(got)} bytes, first difference at {bad}")
	    sys.exit(1)
	EOF
}

test_large_dump() {
	local out rc
	out=$(mktemp)
	echo Y >"$H6/binary_pattern" && echo 1048576 >"$H6/binary_len" &&
		devlink -j health dump show $DL6 reporter dummy >"$out" || return 1
	same_binary "$out" 1048576
	rc=$?
	rm -f "$out"
	echo N >"$H6/binary_pattern" && echo 16 >"$H6/binary_len" && return $rc
}

# Diagnose replies are smaller messages than dumps: each item of the binary
# data, of the longest size the core makes, must fit in one (it did not:
# "Message too long" from 3748 bytes on).
test_large_diagnose() {
	local out rc
	out=$(mktemp)
	echo Y >"$H6/binary_pattern" && echo 65536 >"$H6/binary_len" || return 1
	if devlink -j health diagnose $DL6 reporter dummy >"$out"; then
		same_binary "$out" 65536
		rc=$?
	else
		rc=1
	fi
	rm -f "$out"
	echo N >"$H6/binary_pattern" && echo 16 >"$H6/binary_len" && return $rc
}

# ynl6 OPERATION JSON-MEMBERS: a request about instance 6.
ynl6() {
	rdevsim_ynl "do" "$1" "{\"bus-name\":\"faux\",\"dev-name\":\"rdevsim6\"$2}"
}

# What netlink refuses or takes at the edges: periods near u64::MAX (taken
# and read back whole; the longest graceful period cancels the next
# report), a missing or over-long reporter name, an attribute the request
# does not take (ignored), a port that does not exist.
test_netlink_edges() {
	# Literals: bash's arithmetic is signed 64-bit.
	local max=18446744073709551615 max1=18446744073709551614 long reply
	long=$(printf 'n%.0s' {1..300})
	# Read back as text: jq's numbers are doubles, which do not tell these
	# two apart.
	ynl6 health-reporter-set \
		",\"health-reporter-name\":\"dummy\",\"health-reporter-graceful-period\":$max,
		\"health-reporter-burst-period\":$max1" >/dev/null || return 1
	reply=$(ynl6 health-reporter-get ',"health-reporter-name":"dummy"') || return 1
	case $reply in *"\"health-reporter-graceful-period\": $max"[,\}]*) ;; *)
		ktap_print_msg "graceful period not read back: $reply"; return 1 ;;
	esac
	case $reply in *"\"health-reporter-burst-period\": $max1"[,\}]*) ;; *)
		ktap_print_msg "burst period not read back: $reply"; return 1 ;;
	esac
	fails "Invalid argument" ynl6 health-reporter-get "" &&
		fails "Invalid argument" \
			ynl6 health-reporter-get ",\"health-reporter-name\":\"$long\"" &&
		fails "Invalid argument" ynl6 health-reporter-get \
			',"health-reporter-name":"link","port-index":4294967295' || return 1
	# An attribute of the family that this request does not take is
	# ignored (the op does not validate strictly): the same reply.
	[ "$(ynl6 health-reporter-get ',"health-reporter-name":"dummy","sb-index":0')" = \
		"$reply" ] || { ktap_print_msg "an unknown attribute changed the reply"; return 1; }
	ynl6 health-reporter-set \
		',"health-reporter-name":"dummy","health-reporter-burst-period":0' >/dev/null &&
		echo "first" >"$H6/break_health" &&
		fails "Operation canceled" write "second\n" "$H6/break_health" &&
		devlink health set $DL6 reporter dummy grace_period 0 &&
		devlink health recover $DL6 reporter dummy
}

test_unload() {
	fails "in use" rmmod rdevsim &&
		rdevsim_unload &&
		expect '.dev | has("faux/rdevsim1") | not' "$(devlink -j dev show)" &&
		[ ! -e "$CFG" ] && [ ! -e /sys/kernel/debug/rdevsim ]
}

ktap_print_header
rdevsim_test_start ynl
ktap_set_plan 27
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
ktap_test_result "a request waits for a recover in progress" test_slow_recover
ktap_test_result "instance deleted while a report's recover runs" test_delete_busy
ktap_test_result "instance deleted while a recover request runs" test_delete_in_request
ktap_test_result "instance deleted in the middle of a large dump" test_delete_mid_dump
ktap_test_result "netlink refusals: absent ops, unknown reporters" test_netlink_refusals
ktap_test_result "two instances, one deleted" test_instances
ktap_test_result "unprivileged users change and trigger nothing" test_unprivileged
ktap_test_result "report texts: short, long, cut at a NUL; a page has no dump" test_break_texts
ktap_test_result "alloc_per_report: the same texts, the recovered message kept" \
	test_alloc_per_report
ktap_test_result "recovery done by the driver: counted, graceful period" test_recovery_done
ktap_test_result "failing dump, diagnose, test: errno, message, no dump" test_op_errors
ktap_test_result "1 MiB dump over many messages, checked byte by byte" test_large_dump
ktap_test_result "64 KiB diagnose over many messages, checked byte by byte" test_large_diagnose
ktap_test_result "netlink edges: u64::MAX periods, names, attributes" test_netlink_edges
ktap_test_result "unload: refused while instances exist, then clean" test_unload
ktap_finished
