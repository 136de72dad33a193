#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# A devlink health dump show held after its first message (dump_hold.py, a
# coprocess), for tests that tear a device down while a dump is being read;
# one at a time (sourced after ktap_helpers.sh).

DUMP_HOLD_DIR=$(dirname "${BASH_SOURCE[0]}")

# hold_dump HANDLE REPORTER: starts a dump show of the reporter and reads
# its first message only; fails, with what it got, if the dump did not stop
# there within 60 s.
hold_dump() {
	local line
	coproc HOLD { python3 "$DUMP_HOLD_DIR/dump_hold.py" "$@" 2>&1; }
	read -r -t 60 line <&"${HOLD[0]}"
	[ "${line%% *}" = held ] && return 0
	ktap_print_msg "dump of $*: ${line:-no answer}"
	release_dump >/dev/null
	return 1
}

# release_dump: reads the rest of the held dump and prints how it ended:
# "rest MESSAGES END", END being "done" (whole) or the errno's name.
release_dump() {
	local line
	echo >&"${HOLD[1]}"
	read -r -t 60 line <&"${HOLD[0]}"
	wait "$HOLD_PID"
	echo "$line"
}
