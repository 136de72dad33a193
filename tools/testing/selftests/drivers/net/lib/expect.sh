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

# ktap_test_result DESCRIPTION COMMAND...: kselftest's, which this replaces,
# and the time a test took when it was 3 s or more: what it costs of the
# VM's time budget.
ktap_test_result() {
	local description=$1 t0=$SECONDS
	shift
	if "$@"; then
		ktap_test_pass "$description"
	else
		ktap_test_fail "$description"
	fi
	[ $((SECONDS - t0)) -lt 3 ] || ktap_print_msg "$((SECONDS - t0)) s"
}
