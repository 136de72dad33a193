#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Loading rdevsim and making instances, for the rdevsim tests.
# RDEVSIM_KO names the module file; without it, modprobe finds rdevsim.

CFG=/sys/kernel/config/rdevsim

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
