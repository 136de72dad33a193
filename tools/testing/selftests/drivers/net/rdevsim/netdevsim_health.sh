#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# shellcheck disable=SC2034 # read by the sourced library and the tests taken
#
# netdevsim's own devlink health tests, taken from the kernel tree's
# tools/testing/selftests/drivers/net/netdevsim/devlink.sh as they are, run
# against rdevsim: only the names differ (device handle, debugfs folder, and
# the driver name, which for a faux device is the faux bus driver's), and
# 'local dump=$(...)' is split, so that the check after it sees the status of
# 'devlink health dump show' rather than that of 'local', and the dump stored
# earlier is cleared before the show after binary_len is set to 8192, so that
# the show takes an 8192-byte dump (upstream fix:
# series/0001-selftests-netdevsim-check-devlink-health-dump-show.patch).

dir=$(dirname "$0")
KSFT_LIB=${KSFT_LIB:-$dir/../../..}
NSIM_TESTS=$KSFT_LIB/drivers/net/netdevsim/devlink.sh
lib_dir=$KSFT_LIB/net/forwarding

ALL_TESTS="dev_info_test empty_reporter_test dummy_reporter_test"
NUM_NETIFS=0
REQUIRE_MZ=no
# shellcheck source=/dev/null
source "$lib_dir/lib.sh"
# shellcheck source=lib.sh
source "$dir/lib.sh"

BUS_ADDR=10
PORT_COUNT=4
DEV_NAME=rdevsim$BUS_ADDR
DEBUGFS_DIR=/sys/kernel/debug/rdevsim/$DEV_NAME/
DL_HANDLE=faux/$DEV_NAME

# The test functions, names changed.
tests=$(sed -n -e '/^info_get()$/,/^}$/p' -e '/^dev_info_test()$/,/^}$/p' \
	-e '/^empty_reporter_test()$/,/^}$/p' -e '/^check_reporter_info()$/,/^}$/p' \
	-e '/^dummy_reporter_test()$/,/^}$/p' "$NSIM_TESTS" |
	sed -e 's/\[ "$driver" == "netdevsim" \]/[ "$driver" == "faux_driver" ]/' \
		-e 's/^\(\t*\)local dump=\$(/\1local dump; dump=$(/' \
		-e '/binary len to 8192"$/a\\tdevlink health dump clear $DL_HANDLE reporter dummy')
[ "$(grep -c '^[a-z_]*()$' <<<"$tests")" = 5 ] &&
	[ "$(grep -c 'local dump; dump=' <<<"$tests")" = 2 ] &&
	[ "$(grep -c 'dump clear $DL_HANDLE' <<<"$tests")" = 3 ] ||
	{ echo "netdevsim's health tests not found in $NSIM_TESTS"; exit 1; }
eval "$tests"

setup_prepare()
{
	rdevsim_load && rdevsim_new $BUS_ADDR $PORT_COUNT
}

cleanup()
{
	pre_cleanup
	rdevsim_unload
}

trap cleanup EXIT

setup_prepare || exit 1

tests_run

exit "$EXIT_STATUS"
