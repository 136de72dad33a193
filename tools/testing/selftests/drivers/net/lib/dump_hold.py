#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""A devlink health dump held in the middle, for teardown tests.

usage: dump_hold.py BUS/DEV[/PORT] REPORTER

Starts a dump show of the reporter (devlink stores the dump if none is), reads
its first message only, prints "held N" (N: the bytes read), and waits for a
line on its standard input. Meanwhile the caller tears the device down. Then
it reads the rest and prints "rest MESSAGES END": END is "done" for a dump
that ended whole, or the errno name that ended it. A dump that fits in its
first message prints "whole" instead of "held", and exits.

Raw generic netlink with the uapi numbers, no YNL: it starts in a moment in a
slow VM. Small reads keep the kernel's messages small (it sizes them by the
largest read so far), so that a dump of a few KiB spans several.
"""

import errno
import socket
import struct
import sys

NETLINK_GENERIC = 16
GENL_ID_CTRL = 0x10
CTRL_CMD_GETFAMILY = 3
CTRL_ATTR_FAMILY_ID = 1
CTRL_ATTR_FAMILY_NAME = 2
NLM_F_REQUEST = 0x1
NLM_F_DUMP = 0x300
NLMSG_ERROR = 2
NLMSG_DONE = 3
# include/uapi/linux/devlink.h
DEVLINK_CMD_HEALTH_REPORTER_DUMP_GET = 56
DEVLINK_ATTR_BUS_NAME = 1
DEVLINK_ATTR_DEV_NAME = 2
DEVLINK_ATTR_PORT_INDEX = 3
DEVLINK_ATTR_HEALTH_REPORTER_NAME = 115
READ = 4096


def attr(kind, payload):
    data = struct.pack("HH", 4 + len(payload), kind) + payload
    return data + b"\0" * (-len(data) % 4)


def message(family, cmd, flags, seq, attrs):
    body = struct.pack("BBxx", cmd, 1) + b"".join(attrs)
    return struct.pack("IHHII", 16 + len(body), family, flags, seq, 0) + body


def messages(data):
    """(type, payload) of each netlink message in `data`."""
    off = 0
    while off + 16 <= len(data):
        length, kind = struct.unpack_from("IH", data, off)
        yield kind, data[off + 16:off + length]
        off += (length + 3) & ~3


def family_id(sock):
    # No ack asked: it would wait in the socket, and pass for the dump's end.
    sock.send(message(GENL_ID_CTRL, CTRL_CMD_GETFAMILY, NLM_F_REQUEST, 1,
                      [attr(CTRL_ATTR_FAMILY_NAME, b"devlink\0")]))
    for kind, payload in messages(sock.recv(READ)):
        if kind == NLMSG_ERROR:
            sys.exit(f"dump_hold: no devlink family: errno {-struct.unpack_from('i', payload)[0]}")
        off = 4
        while off + 4 <= len(payload):
            length, akind = struct.unpack_from("HH", payload, off)
            if akind == CTRL_ATTR_FAMILY_ID:
                return struct.unpack_from("H", payload, off + 4)[0]
            off += (length + 3) & ~3
    sys.exit("dump_hold: no family id")


def end_of(data):
    """None while the dump goes on; "done", or the errno name, once it ended."""
    for kind, payload in messages(data):
        if kind in (NLMSG_DONE, NLMSG_ERROR):
            err = -struct.unpack_from("i", payload)[0] if len(payload) >= 4 else 0
            return errno.errorcode.get(err, str(err)) if err else "done"
    return None


def main():
    handle, reporter = sys.argv[1], sys.argv[2]
    parts = handle.split("/")
    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_GENERIC)
    sock.settimeout(30)
    family = family_id(sock)
    attrs = [attr(DEVLINK_ATTR_BUS_NAME, parts[0].encode() + b"\0"),
             attr(DEVLINK_ATTR_DEV_NAME, parts[1].encode() + b"\0")]
    if len(parts) > 2:
        attrs.append(attr(DEVLINK_ATTR_PORT_INDEX, struct.pack("I", int(parts[2]))))
    attrs.append(attr(DEVLINK_ATTR_HEALTH_REPORTER_NAME, reporter.encode() + b"\0"))
    sock.send(message(family, DEVLINK_CMD_HEALTH_REPORTER_DUMP_GET,
                      NLM_F_REQUEST | NLM_F_DUMP, 2, attrs))
    first = sock.recv(READ)
    end = end_of(first)
    if end:
        print(f"whole {len(first)} {end}", flush=True)
        return 0
    print(f"held {len(first)}", flush=True)
    sys.stdin.readline()
    count = 0
    while not end:
        data = sock.recv(READ)
        count += sum(1 for _ in messages(data))
        end = end_of(data)
    print(f"rest {count} {end}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
