# SPDX-License-Identifier: GPL-2.0
# devlink health for Rust drivers. See README.md.
#
#   make test [T=name]   build, boot one VM, run every test (or those matching)
#   make demo            walk through devlink health in a VM
#   make bench           rdevsim against netdevsim on a non-debug kernel
#   make fuzz [FUZZ_N=n FUZZ_SEED=s]   a long devlink netlink fuzzing run
#   make env             where the tree, the build and the modules are
#   make patches [PATCH_DIR=dir]   the in-tree part as a patch series
#   make patches-check   every patch of the series builds, warning-free
#   make check           rustfmt, clippy, checkpatch, shellcheck, ruff, rustdoc, htmldocs
#
# KDIR=/path/to/linux uses that kernel tree instead of Debian's linux-source.
# KCC=gcc builds the kernel with gcc (no KASAN) instead of clang.

SHELL := /bin/bash
export KDIR T KCC FUZZ_N FUZZ_SEED FUZZ_ARGS

.PHONY: all setup prepare kernel modules test demo bench fuzz probe-walk env patches patches-check check clean

all: modules

setup:
	@scripts/setup.sh

prepare:
	@scripts/build.sh prepare

kernel:
	@scripts/build.sh kernel

modules:
	@scripts/build.sh all

test:
	@scripts/test.sh

demo:
	@scripts/demo.sh

bench:
	@scripts/bench.sh

fuzz:
	@scripts/fuzz.sh

probe-walk:
	@scripts/probe-walk.sh

env:
	@scripts/env.sh

patches:
	@scripts/patches.sh $(PATCH_DIR)

patches-check:
	@scripts/patches-check.sh

check:
	@scripts/check.sh

clean:
	@scripts/clean.sh
