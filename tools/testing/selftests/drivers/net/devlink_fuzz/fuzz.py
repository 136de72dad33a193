#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""A bounded, seeded fuzzer of devlink health requests, in one process.

usage: fuzz.py KSRC --seed S -n N [--report PATH]... [--churn CFG:FIRST:COUNT]
               [--splat-re RE] [--unprivileged] [--until FILE]

Builds requests from the devlink YAML spec of the kernel tree KSRC for the
health commands (and GET, PORT_GET, INFO_GET), for every instance, port and
reporter it finds at the start, and sends them mutated (attributes missing,
duplicated, truncated, oversized, of the wrong size, boundary values,
unknown attributes, wrong names, ports that do not exist, corrupt headers),
mixed with valid ones, and dumps started and abandoned after their first
message. Meanwhile one thread writes a report into each --report file (a
debugfs file of a driver that reports an error on write) and another makes
and removes rdevsim instances COUNT ids from FIRST in the configfs folder
CFG. The same seed gives the same requests.

After each request the kernel log is read: on a line matching --splat-re,
the request is printed in hex (a reproducer) and the run stops, failing.

Then it checks what a user relies on: every instance still answers; a
reporter's stored dump is the same unless a request that cleared it
succeeded; error and recovery counts only grew, recoveries never beyond
errors. Prints the requests sent and, per command, the errnos seen.

With --unprivileged (run as a user without CAP_NET_ADMIN), every command
the spec marks admin-perm must fail with EPERM, and nothing may change.

With --until FILE, it sends until FILE exists, and checks nothing but the
kernel log: the caller tears the instances down meanwhile.
"""

import argparse
import collections
import errno
import hashlib
import os
import random
import re
import socket
import struct
import sys
import threading
import time

NETLINK_GENERIC = 16
SOL_NETLINK = 270
NETLINK_CAP_ACK = 10
NETLINK_EXT_ACK = 11
NLM_F_REQUEST = 0x1
NLM_F_ACK = 0x4
NLM_F_DUMP = 0x300
NLMSG_ERROR = 2
NLMSG_DONE = 3
NLA_F_NESTED = 0x8000
SO_RCVBUFFORCE = 33

COMMANDS = [
    "get", "port-get", "info-get", "health-reporter-get", "health-reporter-set",
    "health-reporter-recover", "health-reporter-diagnose", "health-reporter-dump-get",
    "health-reporter-dump-clear", "health-reporter-test",
]
# How often each is asked for: the health commands most.
WEIGHTS = [1, 1, 1, 3, 4, 3, 3, 3, 3, 3]
INT_SIZES = {"u8": 1, "u16": 2, "u32": 4, "u64": 8, "uint": 8}
U64_EDGES = [0, 1, 2**31, 2**32 - 1, 2**32, 2**63 - 1, 2**63, 2**64 - 2, 2**64 - 1]


def spec_family(ksrc):
    """The devlink spec, through the kernel tree's YNL library."""
    sys.path.append(f"{ksrc}/tools/net/ynl/pyynl")
    # pylint: disable=import-outside-toplevel
    from lib import YnlFamily
    return YnlFamily(f"{ksrc}/Documentation/netlink/specs/devlink.yaml", schema="")


class Splat(Exception):
    """The kernel log showed a splat: the run stops."""


class Target:
    """A reporter (or an instance, for name None) that requests may name."""

    def __init__(self, bus, dev, port, name):
        self.bus, self.dev, self.port, self.name = bus, dev, port, name

    def key(self):
        return (self.bus, self.dev, self.port, self.name)


class Fuzzer:
    """Builds, mutates and sends requests; counts what comes back."""

    def __init__(self, ynl, rng, splat_re):
        self.ynl = ynl
        self.rng = rng
        self.splat = re.compile(splat_re) if splat_re else None
        self.family = ynl.nlproto.family_id
        attrs = ynl.attr_sets["devlink"].attrs
        self.attr = {name: (a.value, a.type) for name, a in attrs.items()}
        self.max_attr = max(a.value for a in attrs.values())
        self.ops = {name: ynl.ops[name] for name in COMMANDS}
        self.sock = self.socket()
        self.rbuf = bytearray(1 << 20)
        self.seq = 0
        self.sent = 0
        # Of every request sent: the same seed sends the same.
        self.digest = hashlib.sha256()
        self.errnos = collections.defaultdict(collections.Counter)
        # The first request of each command that got each answer, in hex.
        self.first = {}
        # The reporters that successful dump clears named (None: any).
        self.cleared = {}
        if self.splat:
            self.kmsg = os.open("/dev/kmsg", os.O_RDONLY | os.O_NONBLOCK)
            os.lseek(self.kmsg, 0, os.SEEK_END)

    @staticmethod
    def socket():
        sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_GENERIC)
        sock.setsockopt(SOL_NETLINK, NETLINK_CAP_ACK, 1)
        sock.setsockopt(SOL_NETLINK, NETLINK_EXT_ACK, 1)
        try:
            # A diagnose sends its whole reply before the first read: 1 MiB of data
            # overruns the default buffer (ENOBUFS), as it would iproute2's.
            sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 8 << 20)
        except PermissionError:
            pass
        sock.settimeout(30)
        return sock

    # Attributes: lists of (type, payload), packed last.

    def put(self, name, value):
        kind = self.attr[name][1]
        if kind == "string":
            return (self.attr[name][0], value.encode() + b"\0")
        return (self.attr[name][0], value.to_bytes(INT_SIZES[kind], "little"))

    def valid(self, op, t):
        """The attributes of a well-formed request for `op` to target `t`."""
        attrs = [self.put("bus-name", t.bus), self.put("dev-name", t.dev)]
        if op in ("get", "info-get"):
            return attrs
        if op == "port-get":
            return attrs + [self.put("port-index", t.port if t.port is not None else 0)]
        if t.port is not None:
            attrs.append(self.put("port-index", t.port))
        if op == "health-reporter-get" and t.name is None:
            return attrs
        attrs.append(self.put("health-reporter-name", t.name or "x"))
        if op == "health-reporter-set":
            r = self.rng
            for name in ("health-reporter-graceful-period", "health-reporter-burst-period"):
                if r.random() < 0.5:
                    attrs.append(self.put(name, r.choice([0, 0, 1, 10, 500, 2**32, 2**64 - 1])))
            for name in ("health-reporter-auto-recover", "health-reporter-auto-dump"):
                if r.random() < 0.5:
                    attrs.append(self.put(name, r.choice([0, 1, 1, 2, 255])))
        return attrs

    def mutate(self, attrs):
        """One mutation of the attribute list, in place; its name."""
        r = self.rng
        kind = r.choice(["drop", "dup", "truncate", "oversize", "resize", "edge", "unknown",
                         "names", "port", "longname", "flip"])
        if kind == "drop" and attrs:
            attrs.pop(r.randrange(len(attrs)))
        elif kind == "dup" and attrs:
            a = r.choice(attrs)
            attrs.insert(r.randrange(len(attrs) + 1), (a[0], a[1][:r.randrange(len(a[1]) + 1)]
                                                         if r.random() < 0.5 else a[1]))
        elif kind == "truncate" and attrs:
            i = r.randrange(len(attrs))
            attrs[i] = (attrs[i][0], attrs[i][1][:r.randrange(len(attrs[i][1]) + 1)])
        elif kind == "oversize" and attrs:
            i = r.randrange(len(attrs))
            attrs[i] = (attrs[i][0], attrs[i][1] + r.randbytes(r.choice([1, 3, 8, 100])))
        elif kind == "resize" and attrs:
            i = r.randrange(len(attrs))
            attrs[i] = (attrs[i][0], r.randbytes(r.choice([0, 1, 2, 4, 8, 16])))
        elif kind == "edge":
            name = r.choice(["port-index", "health-reporter-graceful-period",
                             "health-reporter-burst-period", "health-reporter-auto-recover",
                             "health-reporter-auto-dump", "index"])
            size = INT_SIZES[self.attr[name][1]]
            value = r.choice(U64_EDGES) % (1 << (8 * size))
            width = r.choice([size, size, 1, 2, 4, 8, 9])
            raw = value.to_bytes(16, "little")[:width]
            attrs.append((self.attr[name][0], raw))
        elif kind == "unknown":
            kind_attr = r.choice([0, self.max_attr + 1, self.max_attr + 100, 0x7fff,
                                  r.randrange(1, self.max_attr + 1)])
            flags = NLA_F_NESTED if r.random() < 0.3 else 0
            attrs.insert(r.randrange(len(attrs) + 1),
                         (kind_attr | flags, r.randbytes(r.choice([0, 1, 4, 8, 33]))))
        elif kind == "names":
            name = r.choice(["bus-name", "dev-name"])
            text = r.choice(["", "pci", "faux", "rdevsim", "netdevsim", "x" * 64,
                             "0000:00:99.9", "rdevsim999", "../..", "a\0b"])
            attrs = [a for a in attrs if a[0] != self.attr[name][0]]
            attrs.insert(r.randrange(len(attrs) + 1), (self.attr[name][0], text.encode() + b"\0"))
        elif kind == "port":
            # Ports that do not exist (the instances have two at most): valid ones are the
            # well-formed requests' (and would clear the witnesses' dumps, see main()).
            port = r.choice([2, 7, 0xffff, 0x10000, 2**31, 2**32 - 1])
            attrs.append(self.put("port-index", port))
        elif kind == "longname":
            attrs.append((self.attr["health-reporter-name"][0],
                          b"r" * r.choice([15, 16, 64, 255, 256, 4000]) + b"\0"))
        elif kind == "flip":
            return kind, True
        return kind, False

    def pack(self, cmd, attrs, flags, flip=False):
        body = b""
        for kind, payload in attrs:
            body += struct.pack("HH", 4 + len(payload), kind) + payload
            body += b"\0" * (-len(body) % 4)
        if flip and body:
            b = bytearray(body)
            for _ in range(self.rng.choice([1, 2, 4])):
                b[self.rng.randrange(len(b))] ^= 1 << self.rng.randrange(8)
            body = bytes(b)
        self.seq += 1
        genl = struct.pack("BBxx", cmd, self.rng.choice([1, 1, 1, 0, 2]) if flip else 1)
        return struct.pack("IHHII", 16 + len(genl) + len(body), self.family,
                           flags, self.seq, 0) + genl + body

    def exchange(self, sock, msg, dump, abandon=False, replies=None):
        """Sends `msg`; the errno the kernel answers (0 for success). The attributes of
        each reply go into the list `replies`, if given.

        A request is answered by its ack (NLMSG_ERROR), after its replies: for diagnose,
        a multipart reply ended by NLMSG_DONE. A dump ends with NLMSG_DONE, or an error."""
        seq = struct.unpack_from("I", msg, 8)[0]
        sock.send(msg)
        while True:
            # Into a buffer made once: no memory mapped for each answer (faults.py counts
            # the allocations of this task).
            data = memoryview(self.rbuf)[:sock.recv_into(self.rbuf)]
            off = 0
            while off + 16 <= len(data):
                length, kind, _, nseq, _ = struct.unpack_from("IHHII", data, off)
                if length < 16:
                    return -1
                if nseq != seq:
                    raise RuntimeError(f"an answer to request {nseq} came for {seq}")
                if kind == NLMSG_ERROR:
                    err = -struct.unpack_from("i", data, off + 16)[0]
                    if err or not dump:
                        return err
                if kind == NLMSG_DONE and dump:
                    return -struct.unpack_from("i", data, off + 16)[0] if length >= 20 else 0
                if replies is not None and kind not in (NLMSG_ERROR, NLMSG_DONE):
                    replies.append(bytes(data[off + 20:off + length]))
                off += (length + 3) & ~3
            if dump and abandon:
                return 0

    def request(self, op, targets, clearable):
        """Sends one request for `op`: valid, or mutated; records what came back. A dump
        clear names one of `clearable`."""
        r = self.rng
        spec = self.ops[op]
        t = r.choice(clearable if op == "health-reporter-dump-clear" else targets)
        attrs = self.valid(op, t)
        mutations = [] if r.random() < 0.5 else [
            self.mutate(attrs) for _ in range(r.choice([1, 1, 2, 3]))]
        flip = any(f for _, f in mutations)
        dump = op == "health-reporter-dump-get" or (
            op in ("port-get", "health-reporter-get") and r.random() < 0.3)
        flags = NLM_F_REQUEST | (NLM_F_DUMP if dump else NLM_F_ACK)
        msg = self.pack(spec.req_value, attrs, flags, flip)
        abandon = dump and r.random() < 0.3
        sock = self.socket() if abandon else self.sock
        try:
            err = self.exchange(sock, msg, dump, abandon)
        except (socket.timeout, OSError) as e:
            # What is left of its answer may still come: the next request gets a socket
            # of its own. ENOBUFS: the socket overran, some of the answer was dropped.
            if isinstance(e, socket.timeout):
                err = "timeout"
            elif e.errno == errno.ENOBUFS:
                err = "overrun"
            else:
                raise
            if not abandon:
                self.sock.close()
                self.sock = self.socket()
        finally:
            if abandon:
                sock.close()
        self.sent += 1
        self.digest.update(msg)
        self.first.setdefault((op, err), msg.hex())
        self.errnos[op][err if isinstance(err, str) else (errno.errorcode.get(err, err)
                                                          if err else "ok")] += 1
        if op == "health-reporter-dump-clear" and err == 0:
            self.cleared.setdefault(self.parsed_target(msg), (self.sent, msg.hex()))
        self.check_log(msg, op)
        return err

    def parsed_target(self, msg):
        """The reporter a request names, as the kernel reads the bytes sent: an attribute's
        last copy counts; None where it cannot be told (any instance, when the request
        has an index, which may name one)."""
        last = {}
        off = 20
        while off + 4 <= len(msg):
            length, kind = struct.unpack_from("HH", msg, off)
            # As nla_ok(): the rest, after an attribute that does not fit, is ignored.
            if length < 4 or length > len(msg) - off:
                break
            last[kind & 0x3fff] = msg[off + 4:off + length]
            off += (length + 3) & ~3

        def text(name):
            v = last.get(self.attr[name][0])
            return v.split(b"\0")[0].decode(errors="replace") if v and b"\0" in v else None
        port = last.get(self.attr["port-index"][0])
        port = int.from_bytes(port[:4], "little") if port and len(port) >= 4 else None
        if self.attr["index"][0] in last:
            return (None, None, port, text("health-reporter-name"))
        return (text("bus-name"), text("dev-name"), port, text("health-reporter-name"))

    def check_log(self, msg, op):
        if not self.splat:
            return
        while True:
            try:
                rec = os.read(self.kmsg, 8192).decode(errors="replace")
            except BlockingIOError:
                return
            except OSError as e:
                if e.errno == errno.EPIPE:  # overwritten records: read on
                    continue
                raise
            text = rec.split(";", 1)[-1]
            if self.splat.search(text):
                print(f"# splat after request {self.sent} ({op}): {text.strip()}")
                print(f"# reproducer (send on a NETLINK_GENERIC socket): {msg.hex()}")
                raise Splat()


def snapshot(ynl):
    """Every reporter: its error and recovery counts and its dump's time."""
    state = {}
    for rep in ynl.dump("health-reporter-get", {}):
        h = rep["health-reporter"]
        key = (rep["bus-name"], rep["dev-name"], rep.get("port-index"),
               h["health-reporter-name"])
        state[key] = (h.get("health-reporter-err-count", 0),
                      h.get("health-reporter-recover-count", 0),
                      h.get("health-reporter-dump-ts-ns"))
    return state


def reporter_thread(paths, stop):
    """Reports an error through each debugfs file, in turn, until `stop`."""
    i = 0
    while not stop.is_set() and paths:
        path = paths[i % len(paths)]
        try:
            with open(path, "w", encoding="ascii") as f:
                f.write(f"fuzz {i}\n")
        except OSError:
            pass
        i += 1
        time.sleep(0.01)


def churn_thread(spec, stop):
    """Makes and removes rdevsim instances, in turn, until `stop`."""
    cfg, first, count = spec.rsplit(":", 2)
    i = 0
    while not stop.is_set():
        d = f"{cfg}/{int(first) + i % int(count)}"
        try:
            if os.path.isdir(d):
                os.rmdir(d)
            else:
                os.mkdir(d)
                with open(f"{d}/ports", "w", encoding="ascii") as f:
                    f.write("2\n")
                with open(f"{d}/live", "w", encoding="ascii") as f:
                    f.write("1\n")
        except OSError:
            pass
        i += 1
        time.sleep(0.02)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("ksrc")
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("-n", type=int, required=True)
    ap.add_argument("--report", action="append", default=[])
    ap.add_argument("--churn")
    ap.add_argument("--splat-re")
    ap.add_argument("--unprivileged", action="store_true")
    ap.add_argument("--until", metavar="FILE",
                    help="send until FILE exists (at most -n), then stop without the checks: "
                    "the instances are being torn down meanwhile")
    ap.add_argument("--show", action="append", default=[],
                    help="print the first request that got this errno (e.g. EMSGSIZE)")
    args = ap.parse_args()

    print(f"# seed {args.seed}, {args.n} requests", flush=True)
    ynl = spec_family(args.ksrc)
    rng = random.Random(args.seed)
    fuzz = Fuzzer(ynl, rng, args.splat_re)
    churn_prefix = None
    if args.churn:
        cfg, first, count = args.churn.rsplit(":", 2)
        churn_prefix = {f"rdevsim{int(first) + i}" for i in range(int(count))}
    before = snapshot(ynl)
    instances = sorted({(k[0], k[1]) for k in before} |
                       {(d["bus-name"], d["dev-name"]) for d in ynl.dump("get", {})})
    instances = [i for i in instances if not churn_prefix or i[1] not in churn_prefix]
    # Sorted, so that a seed always picks the same.
    targets = [Target(*k) for k in sorted(before, key=str)
               if not churn_prefix or k[1] not in churn_prefix]
    targets += [Target(b, d, None, None) for b, d in instances]
    targets += [Target(b, d, 9, "ghost") for b, d in instances[:1]]
    if churn_prefix:
        targets += [Target("faux", d, None, "dummy") for d in sorted(churn_prefix)]
    # Every other reporter with a stored dump is a witness: no well-formed request
    # clears its dump, which must stay the same whatever else it is asked.
    dumped = [t.key() for t in targets if t.key() in before and before[t.key()][2]]
    witness = set(dumped[::2])
    clearable = [t for t in targets if t.key() not in witness]
    print(f"# {len(instances)} instances, {len(before)} reporters, "
          f"{len(witness)} with a dump no valid request clears", flush=True)

    stop = threading.Event()
    threads = []
    if not args.unprivileged:
        threads.append(threading.Thread(target=reporter_thread, args=(args.report, stop)))
        if args.churn:
            threads.append(threading.Thread(target=churn_thread, args=(args.churn, stop)))
    for t in threads:
        t.start()
    try:
        for _ in range(args.n):
            if args.until and os.path.exists(args.until):
                break
            fuzz.request(rng.choices(COMMANDS, WEIGHTS)[0], targets, clearable)
    except Splat:
        return 1
    finally:
        stop.set()
        for t in threads:
            t.join()
        if args.churn:
            cfg = args.churn.rsplit(":", 2)[0]
            for d in churn_prefix:
                if os.path.isdir(f"{cfg}/{d[len('rdevsim'):]}"):
                    os.rmdir(f"{cfg}/{d[len('rdevsim'):]}")

    print(f"# {fuzz.sent} requests sent, sha256 {fuzz.digest.hexdigest()[:16]}")
    for op in COMMANDS:
        seen = ", ".join(f"{k} {v}" for k, v in sorted(fuzz.errnos[op].items(), key=str))
        print(f"#   {op}: {seen}")
        for name in args.show:
            code = getattr(errno, name, None)
            if (op, code) in fuzz.first:
                print(f"#     first {name}: {fuzz.first[(op, code)]}")
    if args.until:
        return 0
    return check(ynl, fuzz, before, instances, witness, args.unprivileged)


def check(ynl, fuzz, before, instances, witness, unprivileged):
    """What must hold after the run; prints each failure; the exit status."""
    bad = []
    kept = 0
    for bus, dev in instances:
        try:
            ynl.do("get", {"bus-name": bus, "dev-name": dev})
        except Exception as e:  # pylint: disable=broad-except
            bad.append(f"{bus}/{dev} no longer answers: {e}")
    after = snapshot(ynl)
    for key, (err0, rec0, ts0) in before.items():
        if key not in after:
            bad.append(f"reporter {key} is gone")
            continue
        err1, rec1, ts1 = after[key]
        if err1 < err0 or rec1 < rec0:
            bad.append(f"reporter {key}: counts went back, {err0}/{rec0} -> {err1}/{rec1}")
        if rec1 > err1:
            bad.append(f"reporter {key}: {rec1} recoveries of {err1} errors")
        cleared = [(n, c) for c, n in fuzz.cleared.items()
                   if all(x is None or x == y for x, y in zip(c, key))]
        if ts0 is not None and ts1 != ts0 and not cleared:
            bad.append(f"reporter {key}: its dump changed ({ts0} -> {ts1}) uncleared")
        elif key in witness and not cleared:
            kept += 1
        elif key in witness:
            (n, raw), named = min(cleared)
            print(f"# witness {key} cleared by request {n}, naming {named}: {raw}")
        if unprivileged and after[key] != before[key]:
            bad.append(f"reporter {key} changed: {before[key]} -> {after[key]}")
    if unprivileged:
        for op in COMMANDS:
            if "admin-perm" not in (fuzz.ops[op].yaml.get("flags") or []):
                continue
            other = {k: v for k, v in fuzz.errnos[op].items() if k != "EPERM"}
            if other:
                bad.append(f"{op} as an unprivileged user: {other}, not only EPERM")
    print(f"# {kept} of {len(witness)} witness dumps uncleared and unchanged")
    for line in bad:
        print(f"# FAIL: {line}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
