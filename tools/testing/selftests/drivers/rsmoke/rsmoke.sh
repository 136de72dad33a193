#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The out-of-tree Rust module path: rsmoke loads with a parameter, serves a
# debugfs counter that refuses malformed writes with EINVAL, and unloads.
# RSMOKE_KO names the module file; without it, modprobe finds rsmoke.

KSFT_LIB=${KSFT_LIB:-$(dirname "$0")/../..}
# shellcheck source=/dev/null
. "$KSFT_LIB/kselftest/ktap_helpers.sh"

DFS=/sys/kernel/debug/rsmoke
COUNTER=$DFS/counter

load() {
	if [ -n "${RSMOKE_KO:-}" ]; then
		insmod "$RSMOKE_KO" "$@"
	else
		modprobe rsmoke "$@"
	fi
}

unload() {
	rmmod rsmoke
}

# Kernel log lines written since the last call of mark.
mark() { MARK=$(dmesg | wc -l); }
since_mark() { dmesg | tail -n +$((MARK + 1)); }

check_counter() {
	local want=$1 got
	got=$(cat "$COUNTER")
	[ "$got" = "$want" ] || { ktap_print_msg "counter is '$got', want '$want'"; return 1; }
}

# A write that must fail with EINVAL and leave the counter unchanged.
check_refused() {
	local input=$1 before err
	before=$(cat "$COUNTER")
	if err=$(printf '%s' "$input" 2>&1 >"$COUNTER"); then
		ktap_print_msg "write '$input' was accepted"
		return 1
	fi
	case $err in
	*"Invalid argument"*) ;;
	*) ktap_print_msg "write '$input' failed with '$err', want EINVAL"; return 1 ;;
	esac
	check_counter "$before"
}

test_load_default() {
	mark
	load || return 1
	since_mark | grep -q 'rsmoke: loaded, counter 0$' ||
		{ ktap_print_msg "no load message"; return 1; }
	check_counter 0
}

test_write() {
	echo 7 >"$COUNTER" && check_counter 7 &&
		echo 4294967295 >"$COUNTER" && check_counter 4294967295 &&
		echo " 12 " >"$COUNTER" && check_counter 12
}

test_refuse() {
	check_refused abc && check_refused -1 && check_refused 4294967296 &&
		check_refused "1 2" && check_refused "$(printf '%030d' 1)"
}

test_unload() {
	mark
	unload || return 1
	since_mark | grep -q 'rsmoke: unloaded, counter 12$' ||
		{ ktap_print_msg "no unload message"; return 1; }
	[ ! -e "$DFS" ] || { ktap_print_msg "$DFS still exists"; return 1; }
}

test_param() {
	mark
	load initial=41 || return 1
	check_counter 41 || { unload; return 1; }
	unload && since_mark | grep -q 'rsmoke: unloaded, counter 41$'
}

test_bad_param() {
	if load initial=nope 2>/dev/null; then
		unload
		ktap_print_msg "initial=nope was accepted"
		return 1
	fi
	[ ! -e "$DFS" ]
}

ktap_print_header
[ "$(id -u)" = 0 ] || { ktap_skip_all "must be root"; exit "$KSFT_SKIP"; }
mountpoint -q /sys/kernel/debug || mount -t debugfs none /sys/kernel/debug
ktap_set_plan 6
ktap_test_result "load with default parameters" test_load_default
ktap_test_result "write valid values" test_write
ktap_test_result "refuse malformed values with EINVAL" test_refuse
ktap_test_result "unload" test_unload
ktap_test_result "initial= module parameter" test_param
ktap_test_result "refuse a malformed module parameter" test_bad_param
ktap_finished
