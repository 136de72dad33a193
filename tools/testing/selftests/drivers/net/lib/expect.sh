#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Assertions for KTAP tests that drive devlink (sourced after ktap_helpers.sh).

# expect FILTER JSON: the jq filter must hold for the JSON; prints the JSON
# otherwise.
expect() {
	jq -e "$1" >/dev/null <<<"$2" && return 0
	ktap_print_msg "not ($1) in: ${2:0:600}"
	return 1
}

# fails ERROR COMMAND...: the command must fail with that error message.
fails() {
	local want=$1 err
	shift
	if err=$("$@" 2>&1); then
		ktap_print_msg "'$*' succeeded"
		return 1
	fi
	case $err in
	*"$want"*) ;;
	*) ktap_print_msg "'$*' failed with '$err', want '$want'"; return 1 ;;
	esac
}
