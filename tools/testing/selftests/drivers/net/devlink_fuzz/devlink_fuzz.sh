#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Hostile user space: fuzz.py sends FUZZ_N (default 2000) mutated and valid
# devlink health requests, from seed FUZZ_SEED (default 1), to rdevsim (three
# instances of two ports, with failing ops, a slow recover, a failing recover
# and a 1 MiB dump), the sample and re1000 at once, while reports come in
# through debugfs and rdevsim instances come and go; first as root, then as
# an unprivileged user; then everything is torn down while it sends, and
# while a dump is being read. The kernel log is checked after every request.
# FUZZ_ARGS adds options of fuzz.py's (e.g. --show EMSGSIZE). RDEVSIM_KO,
# RUST_DEVLINK_HEALTH_KO and RE1000_KO name the modules.

KSFT_LIB=${KSFT_LIB:-$(dirname "$0")/../../..}
# shellcheck source=/dev/null
. "$KSFT_LIB/kselftest/ktap_helpers.sh"
DIR=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../rdevsim/lib.sh
. "$DIR/../rdevsim/lib.sh"
# shellcheck source=../lib/dump_hold.sh
. "$DIR/../lib/dump_hold.sh"

N=${FUZZ_N:-2000}
SEED=${FUZZ_SEED:-1}
DBG=/sys/kernel/debug/rdevsim
SAMPLE=/sys/kernel/debug/rust_devlink_health/report
TMP=$(mktemp -d)
# The instances fuzz.py makes and removes: 50 and 51.
CHURN=$CFG:50:2
PY=python3

cleanup() {
	local d
	for d in "$CFG"/*; do [ -d "$d" ] && rmdir "$d"; done 2>/dev/null
	grep -q '^rdevsim ' /proc/modules && rmmod rdevsim
	grep -q '^rust_devlink_health ' /proc/modules && rmmod rust_devlink_health
	grep -q '^re1000 ' /proc/modules && rmmod re1000
	rm -rf "$TMP"
}
trap cleanup EXIT

# Every reporter that reports through a debugfs write.
reports() {
	local i p
	for i in 1 2 3; do
		echo "$DBG/rdevsim$i/health/break_health"
		for p in 0 1; do echo "$DBG/rdevsim$i/ports/$p/health/break_health"; done
	done
	echo "$SAMPLE"
}

test_setup() {
	local i f
	rdevsim_load || return 1
	for i in 1 2 3; do rdevsim_new $i 2 || return 1; done
	rdevsim_new 4 0 || return 1
	insmod "${RUST_DEVLINK_HEALTH_KO:?}" && insmod "${RE1000_KO:?}" || return 1
	# A stored dump on each reporter that has one, to be kept unless cleared.
	for f in $(reports); do echo "before" >"$f" || return 1; done
	# Error paths and overlaps: ops that fail, a slow and a failing recover, and a dump
	# of many messages.
	echo 1 >"$DBG/rdevsim2/ports/1/health/fail_ops" &&
		echo 1 >"$DBG/rdevsim2/ports/0/health/fail_recover" &&
		echo 50 >"$DBG/rdevsim3/ports/0/health/recover_delay_ms" &&
		echo 1 >"$DBG/rdevsim3/health/fail_recover" &&
		echo 1048576 >"$DBG/rdevsim1/health/binary_len" || return 1
	# The YNL library and the spec where an unprivileged user reads them.
	mkdir -p "$TMP/tools/net/ynl/pyynl" "$TMP/Documentation/netlink/specs" &&
		cp -r "$KSRC/tools/net/ynl/pyynl/lib" "$TMP/tools/net/ynl/pyynl/" &&
		cp "$KSRC/Documentation/netlink/specs/devlink.yaml" \
			"$TMP/Documentation/netlink/specs/" &&
		cp "$DIR/fuzz.py" "$TMP/" && chmod -R a+rX "$TMP" || return 1
	ktap_print_msg "$(devlink -j health show | jq '[.health[][]] | length') reporters"
}

test_root() {
	local args=() f
	for f in $(reports); do args+=(--report "$f"); done
	# shellcheck disable=SC2086 # FUZZ_ARGS: more options, e.g. --show EMSGSIZE
	"$PY" "$TMP/fuzz.py" "$TMP" --seed "$SEED" -n "$N" --churn "$CHURN" \
		--splat-re "$SPLAT_RE" "${args[@]}" ${FUZZ_ARGS:-} 2>&1 | sed 's/^#*/#/'
	[ "${PIPESTATUS[0]}" = 0 ]
}

test_unprivileged() {
	setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all \
		"$PY" "$TMP/fuzz.py" "$TMP" --seed "$((SEED + 1))" -n "$((N / 3))" \
		--unprivileged 2>&1 | sed 's/^#*/#/'
	[ "${PIPESTATUS[0]}" = 0 ]
}

# Teardown while requests are in flight: with a dump show of rdevsim1's 1
# MiB dump held after its first message (lib/dump_hold.py) and the fuzzer
# sending, every instance is deleted and every module unloaded. The held
# dump then fails (EINVAL: its reporter is gone), and the fuzzer, stopped
# after, saw no splat.
test_teardown() {
	local line fpid i rc=0
	# A dump of 1 MiB, made by the dump show (the one stored at the set-up is
	# of the default 16 bytes, one message).
	devlink health dump clear faux/rdevsim1 reporter dummy || return 1
	hold_dump faux/rdevsim1 dummy || return 1
	"$PY" "$TMP/fuzz.py" "$TMP" --seed "$((SEED + 2))" -n 100000 --until "$TMP/stop" \
		--splat-re "$SPLAT_RE" >"$TMP/teardown" 2>&1 &
	fpid=$!
	# Once it sends (it has printed what it found).
	for _ in $(seq 300); do
		grep -q instances "$TMP/teardown" && break
		sleep 0.2
	done
	sleep 2
	for i in 1 2 3 4; do rdevsim_del $i || rc=1; done
	rmmod rdevsim && rmmod rust_devlink_health && rmmod re1000 || rc=1
	sleep 2
	touch "$TMP/stop"
	wait $fpid || { sed 's/^#*/#/' "$TMP/teardown"; rc=1; }
	line=$(release_dump)
	case $line in "rest "*" EINVAL") ;; *)
		ktap_print_msg "the held dump of an instance gone ended: ${line:-no answer}"
		rc=1 ;;
	esac
	[ -z "$(devlink dev show)" ] ||
		{ ktap_print_msg "left: $(devlink dev show | tr '\n' ' ')"; rc=1; }
	return $rc
}

ktap_print_header
[ "$(id -u)" = 0 ] || { ktap_skip_all "must be root"; exit "$KSFT_SKIP"; }
for cmd in devlink jq setpriv python3; do
	command -v $cmd >/dev/null || { ktap_skip_all "$cmd needed"; exit "$KSFT_SKIP"; }
done
mountpoint -q /sys/kernel/debug || mount -t debugfs none /sys/kernel/debug
SPLAT_RE=$("$DIR/../../../../../../scripts/splat.sh" --pattern)
ktap_set_plan 4
ktap_test_result "set-up: rdevsim, the sample and re1000, dumps stored" test_setup
ktap_test_result "fuzz as root: seed $SEED, $N requests, no splat, state consistent" test_root
ktap_test_result "fuzz unprivileged: EPERM for admin commands, nothing changed" \
	test_unprivileged
ktap_test_result "all removed and unloaded amid the fuzzer and a held 1 MiB dump" test_teardown
ktap_finished
