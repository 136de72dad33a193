#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Loading rdevsim and making instances, for the rdevsim tests.
# RDEVSIM_KO names the module file; without it, modprobe finds rdevsim.

CFG=/sys/kernel/config/rdevsim

# What every rdevsim test starts with: root, devlink and jq (or a skip);
# 'rdevsim_test_start ynl': and the YNL client (see rdevsim_ynl).
rdevsim_test_start() {
	[ "$(id -u)" = 0 ] || { ktap_skip_all "must be root"; exit "$KSFT_SKIP"; }
	command -v devlink >/dev/null && command -v jq >/dev/null ||
		{ ktap_skip_all "devlink and jq needed"; exit "$KSFT_SKIP"; }
	[ "${1:-}" = ynl ] || return 0
	rdevsim_ynl_start || exit 1
	trap rdevsim_ynl_stop EXIT
}

rdevsim_load() {
	mountpoint -q /sys/kernel/debug || mount -t debugfs none /sys/kernel/debug
	mountpoint -q /sys/kernel/config || mount -t configfs none /sys/kernel/config
	if [ -n "${RDEVSIM_KO:-}" ]; then
		insmod "$RDEVSIM_KO"
	else
		modprobe rdevsim
	fi
}

# rdevsim_new ID PORTS [GRACEFUL_MS [BURST_MS]]
rdevsim_new() {
	mkdir "$CFG/$1" &&
		echo "$2" >"$CFG/$1/ports" &&
		echo "${3:-0}" >"$CFG/$1/graceful_period" &&
		echo "${4:-0}" >"$CFG/$1/burst_period" &&
		echo 1 >"$CFG/$1/live"
}

# The kernel tree's YNL client, for what devlink does not send or show (dump
# timestamps in nanoseconds, malformed requests), as one process for the
# whole test: Python takes half a minute to start in the test VM.
# rdevsim_ynl_start in the test's main shell, then rdevsim_ynl do|dump
# OPERATION JSON prints the reply (JSON), or the error on standard error and
# fails.
RDEVSIM_LIB_DIR=$(dirname "${BASH_SOURCE[0]}")

rdevsim_ynl_start() {
	YNL_DIR=$(mktemp -d)
	mkfifo "$YNL_DIR/req" "$YNL_DIR/rep" || return 1
	"$PYTHON" "$RDEVSIM_LIB_DIR/ynl_pipe.py" "$KSRC" \
		"$KSRC/Documentation/netlink/specs/devlink.yaml" \
		<"$YNL_DIR/req" >"$YNL_DIR/rep" &
	YNL_PID=$!
	exec {YNL_W}>"$YNL_DIR/req" {YNL_R}<"$YNL_DIR/rep"
}

rdevsim_ynl_stop() {
	[ -n "${YNL_PID:-}" ] || return 0
	exec {YNL_W}>&- {YNL_R}<&-
	wait "$YNL_PID"
	rm -rf "$YNL_DIR"
	YNL_PID=
}

rdevsim_ynl() {
	local status reply
	[ -n "${YNL_PID:-}" ] || { echo "rdevsim_ynl: rdevsim_ynl_start first" >&2; return 1; }
	echo "$1 $2 $(tr '\n' ' ' <<<"$3")" >&"$YNL_W"
	read -r status reply <&"$YNL_R" || { echo "rdevsim_ynl: the client is gone" >&2; return 1; }
	if [ "$status" = ok ]; then
		echo "$reply"
	else
		echo "$reply" >&2
		return 1
	fi
}

rdevsim_del() {
	rmdir "$CFG/$1"
}

# Every instance, then the module.
rdevsim_unload() {
	local d
	for d in "$CFG"/*/; do
		[ -d "$d" ] && rmdir "$d"
	done
	rmmod rdevsim
}
