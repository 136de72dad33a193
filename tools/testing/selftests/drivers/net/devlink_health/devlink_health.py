#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""devlink health, the same tests on every driver with health reporters.

The drivers: netdevsim (C), rdevsim (netdevsim's reporters in Rust, on
kernel::devlink) and the Rust sample. Each is a Target: how its instance is
made and removed, its reporters with the ops each has, and how a test makes
a reporter report an error (a debugfs write). The tests speak devlink's
netlink through YNL (the kernel tree's DevlinkFamily): the reporters and
their attributes, reports with their counts, states and stored dumps,
recover, diagnose, dump show and clear, test, the graceful and burst
periods, auto_recover and auto_dump, errors with their extack messages, and
the notifications of the "config" multicast group.

Environment: NETDEVSIM_KO, RDEVSIM_KO, RUST_DEVLINK_HEALTH_KO name the
module files (else modprobe finds them); PY_KSRC or KSRC the kernel tree
whose tools/testing/selftests/drivers/net/lib/py this imports.
"""

import errno
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.environ.get("PY_KSRC") or os.environ.get("KSRC", "."),
                                "tools/testing/selftests/drivers/net"))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../lib"))
# pylint: disable=wrong-import-position,import-error
from lib.py import (KsftNamedVariant, NlError, ksft_eq, ksft_exit,  # noqa: E402
                    ksft_in, ksft_not_in, ksft_raises, ksft_run, ksft_true, ksft_variants)
from health_ynl import HealthDevlink  # noqa: E402

DEBUGFS = "/sys/kernel/debug"
HOUR_MS = 3600 * 1000
HEALTHY, ERROR = 0, 1


class Rep:
    """A reporter of a target: its name, port, ops, and debugfs knobs."""

    def __init__(self, name, ops, port=None, report=None, fail_recover=None):
        self.name = name
        self.ops = set(ops)
        self.port = port
        self.report_path = report
        self.fail_recover = fail_recover
        self.target = None

    def ident(self):
        """The attributes that name it in a request."""
        ident = dict(self.target.handle, **{"health-reporter-name": self.name})
        if self.port is not None:
            ident["port-index"] = self.port
        return ident

    def __str__(self):
        return f"{self.target.name}_{self.name}" + ("" if self.port is None else f"_{self.port}")


class Target:
    """A driver under test: load it, make its instance, remove both."""

    name = module = ko_var = None

    def __init__(self, dev, reps):
        self.handle = {"bus-name": dev.split("/")[0], "dev-name": dev.split("/")[1]}
        self.reps = reps
        for rep in reps:
            rep.target = self
        self.loaded_here = False

    def load(self):
        """Loads the module unless it is loaded."""
        with open("/proc/modules", encoding="ascii") as f:
            if any(line.split()[0] == self.module for line in f):
                return
        ko = os.environ.get(self.ko_var)
        subprocess.run(["insmod", ko] if ko else ["modprobe", self.module], check=True)
        self.loaded_here = True

    def unload(self):
        """Unloads the module if this test loaded it."""
        if self.loaded_here:
            subprocess.run(["rmmod", self.module], check=True)

    def create(self):
        """Makes the instance."""

    def remove(self):
        """Removes the instance."""


def write(path, text):
    """Writes text to a file in one write(2); raises OSError as it fails.
    (A buffered file would write again at close, after a failed write.)"""
    fd = os.open(path, os.O_WRONLY)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)


class Netdevsim(Target):
    """netdevsim, the C reference: 'empty' and 'dummy' on the instance."""

    name, module, ko_var = "netdevsim", "netdevsim", "NETDEVSIM_KO"
    ID = 97

    def __init__(self):
        h = f"{DEBUGFS}/netdevsim/netdevsim{self.ID}/health"
        super().__init__(f"netdevsim/netdevsim{self.ID}", [
            Rep("empty", ["dump", "diagnose"]),
            Rep("dummy", ["recover", "dump", "diagnose"], report=f"{h}/break_health",
                fail_recover=f"{h}/fail_recover"),
        ])

    def create(self):
        write("/sys/bus/netdevsim/new_device", f"{self.ID} 0")

    def remove(self):
        write("/sys/bus/netdevsim/del_device", f"{self.ID}")


class Rdevsim(Target):
    """rdevsim: netdevsim's two, and 'link' on each port (with a test op)."""

    name, module, ko_var = "rdevsim", "rdevsim", "RDEVSIM_KO"
    ID = 98
    CFG = "/sys/kernel/config/rdevsim"

    def __init__(self):
        d = f"{DEBUGFS}/rdevsim/rdevsim{self.ID}"
        super().__init__(f"faux/rdevsim{self.ID}", [
            Rep("empty", ["dump", "diagnose"]),
            Rep("dummy", ["recover", "dump", "diagnose"], report=f"{d}/health/break_health",
                fail_recover=f"{d}/health/fail_recover"),
        ] + [Rep("link", ["recover", "dump", "diagnose", "test"], port=p,
                 report=f"{d}/ports/{p}/health/break_health",
                 fail_recover=f"{d}/ports/{p}/health/fail_recover") for p in (0, 1)])

    def create(self):
        if not os.path.ismount("/sys/kernel/config"):
            subprocess.run(["mount", "-t", "configfs", "none", "/sys/kernel/config"], check=True)
        os.mkdir(f"{self.CFG}/{self.ID}")
        write(f"{self.CFG}/{self.ID}/ports", "2")
        write(f"{self.CFG}/{self.ID}/live", "1")

    def remove(self):
        os.rmdir(f"{self.CFG}/{self.ID}")


class Sample(Target):
    """The Rust sample: 'sample' with recover, dump, diagnose; 'pcie' with none."""

    name, module, ko_var = "sample", "rust_devlink_health", "RUST_DEVLINK_HEALTH_KO"

    def __init__(self):
        d = f"{DEBUGFS}/rust_devlink_health"
        super().__init__("faux/rust-devlink-sample", [
            Rep("sample", ["recover", "dump", "diagnose"], report=f"{d}/report"),
            Rep("pcie", [], report=f"{d}/pcie_error"),
        ])


TARGETS = [Netdevsim(), Rdevsim(), Sample()]
DL = None  # the YNL client


def reps(*need, knob=None):
    """Variants: the reporters of every target with these ops (and knob)."""
    return [KsftNamedVariant(str(r), r) for t in TARGETS for r in t.reps
            if set(need) <= r.ops and r.report_path and (knob is None or getattr(r, knob))]


def get(rep):
    """The reporter's attributes, as devlink answers a get."""
    return DL.do("health-reporter-get", rep.ident())["health-reporter"]


def report(rep, text):
    """Makes the reporter report an error. A report that devlink did not
    recover (ECANCELED, or the recovery's error) may fail the write: the
    tests look at the counts and the state, not at the write."""
    try:
        write(rep.report_path, text + "\n")
    except OSError:
        pass


def dump(rep):
    """The stored dump (made now if none is stored), decoded."""
    return DL.fmsg("health-reporter-dump-get", rep.ident())


def reset(rep):
    """Back to the defaults, healthy, no stored dump."""
    if "recover" in rep.ops:
        DL.do("health-reporter-set", dict(rep.ident(), **{
            "health-reporter-graceful-period": 0, "health-reporter-auto-recover": 1}))
        if rep.fail_recover:
            write(rep.fail_recover, "0")
        if get(rep)["health-reporter-state"] != HEALTHY:
            DL.do("health-reporter-recover", rep.ident())
    if "dump" in rep.ops:
        DL.do("health-reporter-set", dict(rep.ident(), **{"health-reporter-auto-dump": 1}))
        DL.do("health-reporter-dump-clear", rep.ident())


def counts(rep):
    """Errors and recoveries so far."""
    h = get(rep)
    return h["health-reporter-err-count"], h["health-reporter-recover-count"]


def contains(tree, text):
    """Whether a decoded fmsg holds the string somewhere."""
    if isinstance(tree, dict):
        return any(contains(v, text) for v in tree.values())
    if isinstance(tree, list):
        return any(contains(v, text) for v in tree)
    return tree == text


def check_reporters(target):
    """Every reporter listed, healthy and unused, auto_* as its ops say."""
    seen = {}
    for r in DL.dump("health-reporter-get", dict(target.handle)):
        h = r["health-reporter"]
        seen[(h["health-reporter-name"], r.get("port-index"))] = h
    ksft_eq(sorted(seen, key=str), sorted(((r.name, r.port) for r in target.reps), key=str))
    for rep in target.reps:
        h = seen.get((rep.name, rep.port), {})
        ksft_eq(h.get("health-reporter-state"), HEALTHY, f"{rep}: state")
        ksft_eq((h.get("health-reporter-err-count"), h.get("health-reporter-recover-count")),
                (0, 0), f"{rep}: counts")
        # What needs an op the reporter lacks is not shown at all.
        recover = 1 if "recover" in rep.ops else None
        ksft_eq(h.get("health-reporter-auto-recover"), recover, f"{rep}: auto_recover")
        ksft_eq(h.get("health-reporter-auto-dump"), 1 if "dump" in rep.ops else None,
                f"{rep}: auto_dump")
        ksft_eq((h.get("health-reporter-graceful-period"), h.get("health-reporter-burst-period")),
                (recover and 0, recover and 0), f"{rep}: periods")
        ksft_not_in("health-reporter-dump-ts-ns", h, f"{rep}: a dump stored")


@ksft_variants([KsftNamedVariant(t.name, t) for t in TARGETS])
def reporters(target):
    """The instance's reporters and their attributes, before any report."""
    check_reporters(target)


@ksft_variants(reps())
def report_counted(rep):
    """A report: counted, then recovered and its dump stored, as the ops allow."""
    reset(rep)
    err, rec = counts(rep)
    report(rep, "first failure")
    h = get(rep)
    ksft_eq(h["health-reporter-err-count"], err + 1)
    if "recover" in rep.ops:
        ksft_eq((h["health-reporter-recover-count"], h["health-reporter-state"]),
                (rec + 1, HEALTHY), "recovered")
    else:
        ksft_eq((h["health-reporter-recover-count"], h["health-reporter-state"]),
                (rec, ERROR), "no recover op: still in error")
        with ksft_raises(NlError) as e:
            DL.do("health-reporter-recover", rep.ident())
        ksft_eq(e.exception.error, errno.EOPNOTSUPP)
    if "dump" in rep.ops:
        ksft_in("health-reporter-dump-ts-ns", h, "a dump stored")
        ksft_true(contains(dump(rep), "first failure"), "the dump has the report's context")
    else:
        ksft_not_in("health-reporter-dump-ts-ns", h)
        with ksft_raises(NlError) as e:
            dump(rep)
        ksft_eq(e.exception.error, errno.EOPNOTSUPP)


@ksft_variants(reps("dump"))
def dump_kept_then_cleared(rep):
    """The first report's dump stays until cleared; then a dump of now."""
    reset(rep)
    report(rep, "first")
    ts = get(rep)["health-reporter-dump-ts-ns"]
    report(rep, "second")
    ksft_eq(get(rep)["health-reporter-dump-ts-ns"], ts, "the stored dump replaced")
    d = dump(rep)
    ksft_true(contains(d, "first") and not contains(d, "second"), f"dump: {d}")
    DL.do("health-reporter-dump-clear", rep.ident())
    ksft_not_in("health-reporter-dump-ts-ns", get(rep), "cleared")
    d = dump(rep)
    ksft_true(not contains(d, "first") and not contains(d, "second"), f"dump of now: {d}")
    ksft_in("health-reporter-dump-ts-ns", get(rep), "the dump asked for is stored")


@ksft_variants(reps("dump"))
def auto_dump_off(rep):
    """auto_dump off: a report stores nothing."""
    reset(rep)
    DL.do("health-reporter-set", dict(rep.ident(), **{"health-reporter-auto-dump": 0}))
    ksft_eq(get(rep)["health-reporter-auto-dump"], 0)
    err, _ = counts(rep)
    report(rep, "not dumped")
    h = get(rep)
    ksft_eq(h["health-reporter-err-count"], err + 1)
    ksft_not_in("health-reporter-dump-ts-ns", h, "a dump stored")
    reset(rep)


@ksft_variants(reps("recover"))
def auto_recover_off(rep):
    """auto_recover off: the reporter stays in error until recovered by hand."""
    reset(rep)
    DL.do("health-reporter-set", dict(rep.ident(), **{"health-reporter-auto-recover": 0}))
    err, rec = counts(rep)
    report(rep, "left in error")
    h = get(rep)
    ksft_eq((h["health-reporter-err-count"], h["health-reporter-recover-count"],
             h["health-reporter-state"]), (err + 1, rec, ERROR))
    DL.do("health-reporter-recover", rep.ident())
    ksft_eq((counts(rep), get(rep)["health-reporter-state"]), ((err + 1, rec + 1), HEALTHY))
    # A healthy reporter is not recovered again.
    DL.do("health-reporter-recover", rep.ident())
    ksft_eq(counts(rep), (err + 1, rec + 1), "a healthy reporter recovered")
    reset(rep)


@ksft_variants(reps("recover"))
def periods(rep):
    """A graceful period cancels recoveries after one; a burst period
    before it lets them through. An hour each: no timing in the test."""
    reset(rep)
    report(rep, "starts the period")
    ident = rep.ident()
    DL.do("health-reporter-set", dict(ident, **{"health-reporter-graceful-period": HOUR_MS}))
    err, rec = counts(rep)
    report(rep, "within the graceful period")
    ksft_eq((counts(rep), get(rep)["health-reporter-state"]), ((err + 1, rec), ERROR),
            "recovered within the graceful period")
    # By hand, it recovers; that recovery starts a burst.
    DL.do("health-reporter-set", dict(ident, **{"health-reporter-burst-period": HOUR_MS}))
    DL.do("health-reporter-recover", ident)
    report(rep, "burst 1")
    report(rep, "burst 2")
    h = get(rep)
    ksft_eq((h["health-reporter-err-count"], h["health-reporter-recover-count"],
             h["health-reporter-state"]), (err + 3, rec + 3, HEALTHY), "within the burst")
    ksft_eq((h["health-reporter-graceful-period"], h["health-reporter-burst-period"]),
            (HOUR_MS, HOUR_MS))
    # No graceful period, no burst period.
    DL.do("health-reporter-set", dict(ident, **{"health-reporter-graceful-period": 0}))
    ksft_eq(get(rep)["health-reporter-burst-period"], 0, "burst period kept")
    reset(rep)


@ksft_variants(reps("recover", knob="fail_recover"))
def recover_fails(rep):
    """A failing recovery: its errno and message reach the user; still in error."""
    reset(rep)
    write(rep.fail_recover, "1")
    err, rec = counts(rep)
    report(rep, "cannot recover")
    ksft_eq((counts(rep), get(rep)["health-reporter-state"]), ((err + 1, rec), ERROR))
    with ksft_raises(NlError) as e:
        DL.do("health-reporter-recover", rep.ident())
    ksft_eq(e.exception.error, errno.EINVAL)
    ksft_in("recover to fail", (e.exception.nl_msg.extack or {}).get("msg", ""))
    ksft_eq((counts(rep), get(rep)["health-reporter-state"]), ((err + 1, rec), ERROR))
    reset(rep)


@ksft_variants([KsftNamedVariant(str(r), r) for t in TARGETS for r in t.reps])
def ops_absent(rep):
    """What a reporter lacks answers EOPNOTSUPP, and its settings too."""
    ident = rep.ident()
    refused = []
    if "diagnose" not in rep.ops:
        refused.append(("health-reporter-diagnose", ident))
    if "test" not in rep.ops:
        refused.append(("health-reporter-test", ident))
    if "recover" not in rep.ops:
        for attr in ("graceful-period", "auto-recover", "burst-period"):
            refused.append(("health-reporter-set",
                            dict(ident, **{f"health-reporter-{attr}": 1})))
    if "dump" not in rep.ops:
        refused.append(("health-reporter-set", dict(ident, **{"health-reporter-auto-dump": 0})))
    for op, attrs in refused:
        with ksft_raises(NlError) as e:
            DL.do(op, attrs)
        ksft_eq(e.exception.error, errno.EOPNOTSUPP, f"{op} {attrs}")
    if "diagnose" in rep.ops:
        ksft_true(isinstance(DL.fmsg("health-reporter-diagnose", ident, dump=False), dict))


@ksft_variants([KsftNamedVariant(t.name, t) for t in TARGETS])
def bad_requests(target):
    """Unknown reporters (an instance's asked of a port among them), and a
    burst period without a graceful period."""
    for attrs, err in [
            (dict(target.handle, **{"health-reporter-name": "no-such"}), errno.EINVAL),
            (dict(target.handle), errno.EINVAL)]:
        for op in ("health-reporter-get", "health-reporter-recover",
                   "health-reporter-diagnose", "health-reporter-dump-clear"):
            with ksft_raises(NlError) as e:
                DL.do(op, attrs)
            ksft_eq(e.exception.error, err, f"{op} {attrs}")
    # A port's reporters are looked up on the port only.
    on_instance = [r.name for r in target.reps if r.port is None]
    for port in sorted({r.port for r in target.reps if r.port is not None}):
        for name in on_instance:
            with ksft_raises(NlError) as e:
                DL.do("health-reporter-get", dict(target.handle, **{
                    "port-index": port, "health-reporter-name": name}))
            ksft_eq(e.exception.error, errno.EINVAL, f"{name} on port {port}")
    for rep in target.reps:
        if "recover" not in rep.ops:
            continue
        reset(rep)
        with ksft_raises(NlError) as e:
            DL.do("health-reporter-set", dict(rep.ident(), **{
                "health-reporter-burst-period": 1000}))
        ksft_eq(e.exception.error, errno.EINVAL)
        ksft_in("without a grace period", (e.exception.nl_msg.extack or {}).get("msg", ""))
        ksft_eq(get(rep)["health-reporter-burst-period"], 0, f"{rep}: burst period set")


@ksft_variants(reps("test"))
def test_op(rep):
    """The test op reports an error (from the driver's work queue)."""
    reset(rep)
    err, rec = counts(rep)
    DL.do("health-reporter-test", rep.ident())
    end = time.monotonic() + 10
    while counts(rep) != (err + 1, rec + 1) and time.monotonic() < end:
        time.sleep(0.1)
    ksft_eq((counts(rep), get(rep)["health-reporter-state"]), ((err + 1, rec + 1), HEALTHY),
            "the test event reported and recovered within 10 s")
    ksft_true(contains(dump(rep), "test event"), "the dump has the test event")


def notified(rep, action):
    """The notifications that the action makes: (state, errors, recoveries)
    each, with their reporter and port checked."""
    DL.check_ntf()
    DL.async_msg_queue.queue.clear()
    action()
    # devlink notifies from the context that changes the state, so by the
    # time the action returned, its messages were queued on the socket.
    DL.check_ntf()
    out = []
    while not DL.async_msg_queue.empty():
        msg = DL.async_msg_queue.get()["msg"]
        h = msg["health-reporter"]
        ksft_eq((msg["bus-name"], msg["dev-name"], msg.get("port-index"),
                 h["health-reporter-name"]),
                (*rep.target.handle.values(), rep.port, rep.name), "whose notification")
        out.append((h["health-reporter-state"], h["health-reporter-err-count"],
                    h["health-reporter-recover-count"]))
    return out


@ksft_variants(reps("recover"))
def notifications(rep):
    """One notification per change of state, never for settings or dumps."""
    reset(rep)
    e, r = counts(rep)
    ksft_eq(notified(rep, lambda: report(rep, "recovered")),
            [(ERROR, e + 1, r), (HEALTHY, e + 1, r + 1)], "report, recovered")
    ident = rep.ident()
    ksft_eq(notified(rep, lambda: DL.do("health-reporter-set", dict(ident, **{
        "health-reporter-auto-recover": 0}))), [], "set")
    ksft_eq(notified(rep, lambda: report(rep, "not recovered")),
            [(ERROR, e + 2, r + 1)], "report, auto_recover off")
    ksft_eq(notified(rep, lambda: report(rep, "again")),
            [(ERROR, e + 3, r + 1)], "report while in error")
    ksft_eq(notified(rep, lambda: DL.do("health-reporter-recover", ident)),
            [(HEALTHY, e + 3, r + 2)], "recover")
    ksft_eq(notified(rep, lambda: DL.do("health-reporter-recover", ident)), [],
            "recover when healthy")
    ksft_eq(notified(rep, lambda: (DL.do("health-reporter-dump-clear", ident),
                                   dump(rep))), [], "dump")
    reset(rep)


def main():
    """Every target loaded and made, the tests, then all removed."""
    global DL  # pylint: disable=global-statement
    made = []
    try:
        for t in TARGETS:
            t.load()
            t.create()
            made.append(t)
        DL = HealthDevlink()
        DL.ntf_subscribe("config")
        ksft_run([reporters, report_counted, dump_kept_then_cleared, auto_dump_off,
                  auto_recover_off, periods, recover_fails, ops_absent, bad_requests,
                  test_op, notifications])
    finally:
        for t in reversed(made):
            t.remove()
        for t in reversed(TARGETS):
            t.unload()
    ksft_exit()


if __name__ == "__main__":
    main()
