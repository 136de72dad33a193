#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Allocation failures at every allocation of a path, one path at a time.

usage: faults.py KSRC --sample-ko KO --ifname IF [--splat-re RE] [--only WALK]...

Each walk repeats one operation (a system call: a configfs or debugfs write,
a netlink request, a module load, an ioctl) with the Nth allocation of this
task made to fail (/proc/thread-self/fail-nth, which counts the slab and the
page allocator's calls, as failslab and fail_page_alloc are set up by the
caller), for N = 1, 2, ... until an operation makes fewer than N: then it
must succeed. After each round:
- a failed operation answered a memory errno and left nothing of itself (no
  instance, port, reporter, debugfs file, stored dump, module, up
  interface), and the counters of a failed report are those of one that
  was either made or not;
- a successful one left exactly what the fault-free run leaves, and what it
  answered (a dump, a diagnose) is byte for byte the fault-free answer;
- the kernel log shows no splat (else the walk and N are printed).
The walks: rdevsim's configfs folder and instance (devlink instance, two
ports, their reporters, debugfs), a report with its dump, dump show (made
and stored), diagnose, the sample's module load, and ip link set up of the
re1000 NIC IF (only the allocations made from re1000's code: its rings).
"""

import argparse
import collections
import ctypes
import errno
import fcntl
import os
import re
import socket
import struct
import sys
import time

from fuzz import NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST, Fuzzer, spec_family

CFG = "/sys/kernel/config/rdevsim"
DBG = "/sys/kernel/debug"
ID = 61
DEV = f"rdevsim{ID}"
HEALTH = f"{DBG}/rdevsim/{DEV}/health"
SAMPLE = "rust_devlink_health"
SAMPLE_DEV = "rust-devlink-sample"
# The errnos of an allocation that failed, as the kernel gives them: ENOBUFS
# from netlink.
MEMORY = {errno.ENOMEM, errno.ENOBUFS}
# faux_device_create() returns NULL whatever failed, which the kernel crate's
# faux::Registration::new() reports as ENODEV: the errno of the paths that
# make a faux device (rdevsim's instances, the sample's).
FAUX = MEMORY | {errno.ENODEV}
# DEVLINK_ATTR_HEALTH_REPORTER_STATE
HEALTHY = 0
ERROR = 1
# The report of an allocation that failed (warn_alloc()): its first line,
# then a stack dump up to its end.
ALLOC_REPORT = re.compile(r"page allocation failure: order:|vmalloc error: size")
ALLOC_REPORT_END = "</TASK>"
SIOCGIFFLAGS = 0x8913
SIOCSIFFLAGS = 0x8914
IFF_UP = 0x1
NR_FINIT_MODULE = 313
NR_DELETE_MODULE = 176
BIG = 1 << 30


class Failed(Exception):
    """A walk found something wrong; the run goes on to the next walk."""


class Faults:
    """The fault counter of this task, and the kernel log."""

    def __init__(self, splat_re):
        self.fd = os.open("/proc/thread-self/fail-nth", os.O_RDWR)
        self.splat = re.compile(splat_re) if splat_re else None
        self.kmsg = os.open("/dev/kmsg", os.O_RDONLY | os.O_NONBLOCK)
        os.lseek(self.kmsg, 0, os.SEEK_END)
        # Lines left of an allocation failure's report being skipped.
        self.in_report = 0

    def run(self, nth, op):
        """op() with its nth allocation failing: (its errno or 0, the count of
        allocations that were left before the nth, 0 once it failed)."""
        os.pwrite(self.fd, b"%d" % nth, 0)
        try:
            err = op()
        finally:
            left = int(os.pread(self.fd, 32, 0))
            os.pwrite(self.fd, b"0", 0)
        return err, left

    def splats(self):
        """The lines of the kernel log since the last call that start a splat. The
        report of a failed allocation (warn_alloc(), which dumps the stack) is what a
        fault is expected to make: skipped, as scripts/splat.sh skips it between the
        markers "rdl-test: expect-alloc-failures begin" and "... end"."""
        found = []
        while True:
            try:
                rec = os.read(self.kmsg, 8192).decode(errors="replace")
            except BlockingIOError:
                return found
            except OSError as e:
                if e.errno == errno.EPIPE:
                    continue
                raise
            text = rec.split(";", 1)[-1].strip()
            if self.in_report:
                self.in_report = 0 if ALLOC_REPORT_END in text else self.in_report - 1
            elif ALLOC_REPORT.search(text):
                self.in_report = 80
            elif self.splat and self.splat.search(text):
                found.append(text)


def syscall_errno(fn):
    """Runs fn(); the errno of the OSError it raises, or 0."""
    try:
        fn()
        return 0
    except OSError as e:
        return e.errno


def write_file(path, text):
    """An operation: one write() of `text` into `path`, opened beforehand."""
    fd = os.open(path, os.O_WRONLY)

    def op():
        try:
            return syscall_errno(lambda: os.write(fd, text))
        finally:
            os.close(fd)
    return op


def files_under(path):
    """Every file and folder under `path`, relative, sorted."""
    out = []
    for root, dirs, files in os.walk(path):
        for name in dirs + files:
            out.append(os.path.relpath(os.path.join(root, name), path))
    return sorted(out)


def module_text(module):
    """The lowest and the highest function address of `module`, the last rounded up to
    a page, as fault injection's stack filter takes them."""
    addrs = []
    with open("/proc/kallsyms", encoding="ascii") as f:
        for line in f:
            fields = line.split()
            if len(fields) == 4 and fields[3] == f"[{module}]" and fields[1] in "tT":
                addrs.append(int(fields[0], 16))
    if not addrs:
        raise Failed(f"no text of {module} in /proc/kallsyms")
    return min(addrs), (max(addrs) + 8192) & ~4095


def module_area():
    """Addresses above the kernel image's end: where x86-64 loads modules. A module's
    code is on the stack of an allocation there, whatever address it is loaded at."""
    with open("/proc/kallsyms", encoding="ascii") as f:
        for line in f:
            fields = line.split()
            if len(fields) == 3 and fields[2] == "_end":
                return int(fields[0], 16), (1 << 64) - 1
    raise Failed("no _end in /proc/kallsyms")


def only_within(text):
    """Only allocations with an address of `text` (start, end) on the stack count and
    fail from now on; all of them, for None."""
    start, end = text or (0, (1 << 64) - 1)
    for attr in ("failslab", "fail_page_alloc"):
        for knob, value in (("require-start", start), ("require-end", end),
                            ("stacktrace-depth", 32)):
            with open(f"{DBG}/{attr}/{knob}", "w", encoding="ascii") as f:
                f.write(f"{value}\n")


def debugfs_best_effort(seen, done):
    """Whether `seen` is `done` but for debugfs files missing: debugfs is best effort (a
    driver goes on without the files it could not make), the rest is not."""
    return seen[:-1] == done[:-1] and set(seen[-1]) < set(done[-1])


class Devlink:
    """Requests to devlink: those of a walk on raw netlink (nothing but the request's own
    system calls in the fault window), the observations through YNL."""

    def __init__(self, ksrc):
        self.ynl = spec_family(ksrc)
        self.nl = Fuzzer(self.ynl, None, None)

    def request(self, op, handle, name=None, dump=False):
        """An operation: one request of `op` for instance `handle` (bus, dev), of reporter
        `name`; the attributes of its replies go into the returned list."""
        attrs = [self.nl.put("bus-name", handle[0]), self.nl.put("dev-name", handle[1])]
        if name:
            attrs.append(self.nl.put("health-reporter-name", name))
        flags = NLM_F_REQUEST | (NLM_F_DUMP if dump else NLM_F_ACK)
        msg = self.nl.pack(self.nl.ops[op].req_value, attrs, flags)
        replies = []
        sock = self.nl.socket()

        def run():
            try:
                return self.nl.exchange(sock, msg, dump, replies=replies)
            except OSError as e:
                return e.errno
            finally:
                sock.close()
        return run, replies

    def state(self, dev):
        """What user space sees of instance `dev` (faux bus): whether it exists, its ports,
        its reporters with their state, counters and whether a dump is stored."""
        devs = [d["dev-name"] for d in self.ynl.dump("get", {}) if d["bus-name"] == "faux"]
        if dev not in devs:
            return None
        ports = sorted(p["port-index"] for p in self.ynl.dump("port-get", {})
                       if p["dev-name"] == dev)
        reps = {}
        for r in self.ynl.dump("health-reporter-get", {"bus-name": "faux", "dev-name": dev}):
            h = r["health-reporter"]
            reps[(r.get("port-index"), h["health-reporter-name"])] = (
                h["health-reporter-state"], h.get("health-reporter-err-count", 0),
                h.get("health-reporter-recover-count", 0),
                "health-reporter-dump-ts-ns" in h)
        return {"ports": ports, "reporters": reps}

    def do(self, op, dev, name):
        self.ynl.do(op, {"bus-name": "faux", "dev-name": dev, "health-reporter-name": name})


class Walker:
    """Runs the walks, prints what each found."""

    def __init__(self, args):
        self.args = args
        self.faults = Faults(args.splat_re)
        self.dl = Devlink(args.ksrc)
        self.libc = ctypes.CDLL(None, use_errno=True)
        self.total_rounds = 0
        self.sites = 0

    def walk(self, name, make, observe, undo, whole=None, failed_ok=None, done_ok=None,
             errnos=MEMORY):
        """Fails the 1st, 2nd, ... allocation of an operation in turn, until it makes fewer.

        make() prepares the operation (files opened, request built: no allocation of
        these counts), op(), which returns an errno (0: success); observe() what user
        space sees; undo() brings the system back to where op() started. After a failure,
        its errno must be one of `errnos`, and what is seen what was there before, or
        pass failed_ok(seen, done); after a success, what the fault-free run left (done),
        or pass done_ok(seen, done). whole(), if given, is what a successful op()
        answered: where it left `done`, the fault-free answer. A round that goes wrong
        is printed and the walk goes on, up to a few of them."""
        start = time.monotonic()
        before = observe()
        # How many allocations it makes: those a fault far away leaves.
        err, left = self.faults.run(BIG, make())
        calls = BIG - left
        if err:
            raise Failed(f"{name}: fails without a fault: {os.strerror(err)}")
        done = observe()
        answer = whole() if whole else None
        undo()
        if observe() != before:
            raise Failed(f"{name}: undone, it differs: {observe()} instead of {before}")
        problems = []
        failed = collections.Counter()
        nth = 0
        while True:
            nth += 1
            err, left = self.faults.run(nth, make())
            injected = left == 0
            seen = observe()
            where = f"{name}: allocation {nth} of {calls} failed"
            problem = None
            if not injected and err:
                problem = f"{name}: no fault at {nth}, and still {os.strerror(err)}"
            elif err:
                failed[errno.errorcode.get(err, str(err))] += 1
                if err not in errnos:
                    problem = f"{where}, answered {errno.errorcode.get(err, err)}"
                elif seen != before and not (failed_ok and failed_ok(seen, done)):
                    problem = f"{where} ({os.strerror(err)}), left {seen}"
            elif seen == done:
                if whole and whole() != answer:
                    problem = f"{where}, succeeded, but its answer differs"
            elif not (injected and done_ok and done_ok(seen, done)):
                problem = f"{where}, succeeded with {seen} instead of {done}"
            splats = self.faults.splats()
            if splats:
                problem = f"{where}: splat: {splats[0]}"
            if problem:
                print(f"# {problem}", flush=True)
                problems.append(problem)
                if len(problems) == 5:
                    raise Failed(f"{name}: stopped at 5 rounds gone wrong")
            undo()
            if observe() != before:
                raise Failed(f"{where}, and once undone: {observe()} instead of {before}")
            if not injected:
                break
        self.total_rounds += nth
        self.sites += nth - 1
        answered = ", ".join(f"{k} {v}" for k, v in sorted(failed.items()))
        print(f"# {name}: {calls} allocations, {nth - 1} failed in turn: "
              f"{answered or 'no errno'}, {nth - 1 - sum(failed.values())} succeeded anyway; "
              f"then whole; {time.monotonic() - start:.0f} s", flush=True)
        if problems:
            raise Failed(f"{name}: {len(problems)} rounds gone wrong")

    # rdevsim: the configfs folder and the instance.

    def rdevsim_dir(self):
        path = f"{CFG}/{ID}"
        self.walk("rdevsim configfs folder",
                  lambda: lambda: syscall_errno(lambda: os.mkdir(path)),
                  lambda: os.path.isdir(path),
                  lambda: os.path.isdir(path) and os.rmdir(path))

    def rdevsim_live(self):
        path = f"{CFG}/{ID}"
        os.mkdir(path)
        with open(f"{path}/ports", "w", encoding="ascii") as f:
            f.write("2\n")

        def observe():
            with open(f"{path}/live", encoding="ascii") as f:
                live = f.read().strip()
            return (live, self.dl.state(DEV), files_under(f"{DBG}/rdevsim/{DEV}"))

        def undo():
            with open(f"{path}/live", "w", encoding="ascii") as f:
                f.write("0\n")

        try:
            self.walk("rdevsim instance with two ports and their reporters",
                      lambda: write_file(f"{path}/live", b"1\n"), observe, undo,
                      done_ok=debugfs_best_effort, errnos=FAUX)
        finally:
            undo()

    def rdevsim_up(self):
        path = f"{CFG}/{ID}"
        if not os.path.isdir(path):
            os.mkdir(path)
        with open(f"{path}/live", "w", encoding="ascii") as f:
            f.write("1\n")
        with open(f"{HEALTH}/binary_pattern", "w", encoding="ascii") as f:
            f.write("Y\n")

    def reporter(self):
        """The dummy reporter: (state, errors, recoveries, dump stored)."""
        h = self.dl.ynl.do("health-reporter-get", {
            "bus-name": "faux", "dev-name": DEV,
            "health-reporter-name": "dummy"})["health-reporter"]
        return (h["health-reporter-state"], h.get("health-reporter-err-count", 0),
                h.get("health-reporter-recover-count", 0), "health-reporter-dump-ts-ns" in h)

    def stored(self):
        """The dummy reporter's state and its stored dump, as dump show gives it, or None."""
        state, _, _, dumped = self.reporter()
        return (state, tuple(self.dump_answer()) if dumped else None)

    def dump_answer(self):
        """The attributes of the replies of a fault-free dump show of `dummy`."""
        run, replies = self.dl.request("health-reporter-dump-get", ("faux", DEV), "dummy",
                                       dump=True)
        err = run()
        if err:
            raise Failed(f"dump show: {os.strerror(err)}")
        return replies

    def reset(self):
        """The dummy reporter healthy, without a stored dump."""
        if self.reporter()[0] != HEALTHY:
            self.dl.do("health-reporter-recover", DEV, "dummy")
        self.dl.do("health-reporter-dump-clear", DEV, "dummy")

    def report_with_dump(self):
        start = self.reporter()[1:3]
        undumped = 0

        # One whose dump failed still recovers: devlink goes on without the dump.
        def without_dump(seen, _):
            nonlocal undumped
            undumped += seen == (HEALTHY, None)
            return seen == (HEALTHY, None)
        # A report counts its error first: one that fails for want of memory in the
        # recover leaves the reporter in error (with the dump stored, or none if that
        # failed too).
        self.walk("a report, its dump stored",
                  lambda: write_file(f"{HEALTH}/break_health", b"fault\n"), self.stored,
                  self.reset,
                  failed_ok=lambda seen, done: seen in ((ERROR, None), (ERROR, done[1])),
                  done_ok=without_dump)
        print(f"# reports recovered without their dump, which failed: {undumped}")
        errors, recoveries = self.reporter()[1:3]
        if recoveries - start[1] > errors - start[0]:
            raise Failed(f"report: {recoveries - start[1]} recoveries of "
                         f"{errors - start[0]} errors")

    def dump_show(self, stored):
        name = "dump show of a stored dump" if stored else "dump show, the dump made"
        replies = []

        def make():
            nonlocal replies
            op, replies = self.dl.request("health-reporter-dump-get", ("faux", DEV), "dummy",
                                          dump=True)
            return op

        def undo():
            if not stored:
                self.reset()

        if stored:
            write_file(f"{HEALTH}/break_health", b"fault\n")()
        try:
            # A dump show that failed in sending may have stored the dump: whole.
            self.walk(name, make, self.stored, undo, whole=lambda: replies,
                      failed_ok=lambda seen, done: seen == done)
        finally:
            self.reset()

    def diagnose(self):
        replies = []

        def make():
            nonlocal replies
            op, replies = self.dl.request("health-reporter-diagnose", ("faux", DEV), "dummy")
            return op
        self.walk("diagnose", make, self.reporter, lambda: None, whole=lambda: replies)

    def rdevsim_down(self):
        with open(f"{CFG}/{ID}/live", "w", encoding="ascii") as f:
            f.write("0\n")
        os.rmdir(f"{CFG}/{ID}")

    # The sample's module.

    def sample_load(self):
        fd = os.open(self.args.sample_ko, os.O_RDONLY)
        # Only the allocations made with module code on the stack count: those of the
        # sample's init (the abstractions' generic code is compiled into the module),
        # not those of the module loader, which are many and none of ours.
        only_within(module_area())

        def observe():
            with open("/proc/modules", encoding="ascii") as f:
                loaded = any(line.split()[0] == SAMPLE for line in f)
            return (loaded, self.dl.state(SAMPLE_DEV), files_under(f"{DBG}/{SAMPLE}"))

        def run():
            if self.libc.syscall(NR_FINIT_MODULE, fd, b"", 0) == 0:
                return 0
            return ctypes.get_errno()

        def undo():
            if observe()[0] and self.libc.syscall(NR_DELETE_MODULE, SAMPLE.encode(),
                                                  os.O_NONBLOCK):
                raise Failed(f"rmmod {SAMPLE}: {os.strerror(ctypes.get_errno())}")
        try:
            self.walk("the sample's module load, its init's allocations", lambda: run,
                      observe, undo, done_ok=debugfs_best_effort, errnos=FAUX)
        finally:
            os.close(fd)
            only_within(None)

    # ip link set up.

    def link_up(self):
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        name = self.args.ifname.encode()
        # Only the allocations made with re1000's code on the stack count (its rings,
        # its buffers), not those of the stack's notifiers that follow.
        only_within(module_text("re1000"))

        def flags():
            req = struct.pack("16sH14x", name, 0)
            return struct.unpack_from("H", fcntl.ioctl(sock, SIOCGIFFLAGS, req), 16)[0]

        def set_flags(value):
            fcntl.ioctl(sock, SIOCSIFFLAGS, struct.pack("16sH14x", name, value))

        down = flags() & ~IFF_UP
        up = struct.pack("16sH14x", name, down | IFF_UP)

        def run():
            return syscall_errno(lambda: fcntl.ioctl(sock, SIOCSIFFLAGS, up))
        try:
            self.walk(f"ip link set {self.args.ifname} up, re1000's allocations",
                      lambda: run, lambda: bool(flags() & IFF_UP), lambda: set_flags(down))
        finally:
            set_flags(down)
            sock.close()
            only_within(None)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("ksrc")
    ap.add_argument("--sample-ko", required=True)
    ap.add_argument("--ifname", required=True)
    ap.add_argument("--splat-re")
    ap.add_argument("--only", action="append", default=[])
    args = ap.parse_args()
    w = Walker(args)
    # Each: its name, its steps, and what undoes the first step, whatever happened.
    walks = [
        ("rdevsim", [w.rdevsim_dir, w.rdevsim_live], None),
        ("report", [w.rdevsim_up, w.report_with_dump, lambda: w.dump_show(False),
                    lambda: w.dump_show(True), w.diagnose], w.rdevsim_down),
        ("sample", [w.sample_load], None),
        ("link", [w.link_up], None),
    ]
    bad = 0
    for name, steps, teardown in walks:
        if args.only and name not in args.only:
            continue
        try:
            for step in steps:
                step()
            print(f"walk {name} ok", flush=True)
        except Failed as e:
            print(f"# FAIL: {e}", flush=True)
            print(f"walk {name} failed", flush=True)
            bad += 1
        finally:
            if teardown:
                teardown()
    print(f"# {w.sites} allocation sites failed in turn, over {w.total_rounds} rounds")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
