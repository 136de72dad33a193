#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Small UDP datagrams, a receiver that leaves them queued for a while, and
a stream of large ones.

    datagrams.py send ADDR PORT COUNT
    datagrams.py hold PORT COUNT
    datagrams.py blast ADDR PORT

send: sends COUNT datagrams of 18 bytes ("rdl-small NNNNNNN\\n") to ADDR:PORT.

hold: binds PORT with the default receive buffer and prints "bound"; reads
nothing until a line comes on its standard input, then prints what the
socket held for a datagram ("BYTES" of its receive memory, each) and reads
until every one of the COUNT is either read or known dropped for want of
room, or none comes for 2 s. Prints "RECEIVED DROPPED", the
received counted once each.

blast: sends datagrams of 44 segments of 1400 bytes each (UDP GSO: the
stack makes 44 frames of one send) to ADDR:PORT as fast as the stack takes
them, until killed; a full queue (ENOBUFS) is not an error.
"""

import errno
import socket
import struct
import sys

SO_MEMINFO = 55
SOL_UDP = 17
UDP_SEGMENT = 103
SEGMENT = 1400


def send(addr, port, count):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for i in range(count):
            sock.sendto(b"rdl-small %07d\n" % i, (addr, port))


def meminfo(sock):
    """The socket's receive memory and its drops (SK_MEMINFO_RMEM_ALLOC, _DROPS)."""
    info = struct.unpack("9I", sock.getsockopt(socket.SOL_SOCKET, SO_MEMINFO, 36))
    return info[0], info[8]


def hold(port, count):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("0.0.0.0", port))
        print("bound", flush=True)
        sys.stdin.readline()
        rmem, dropped = meminfo(sock)
        print(rmem // max(1, count - dropped), flush=True)
        sock.settimeout(2)
        seen = set()
        while len(seen) + dropped < count:
            try:
                seen.add(sock.recv(64))
            except socket.timeout:
                break
            dropped = meminfo(sock)[1]
        print(len(seen), dropped, flush=True)


def blast(addr, port):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.setsockopt(SOL_UDP, UDP_SEGMENT, SEGMENT)
        payload = bytes(SEGMENT * 44)
        while True:
            try:
                sock.sendto(payload, (addr, port))
            except OSError as e:
                if e.errno != errno.ENOBUFS:
                    raise


def main():
    if sys.argv[1] == "send":
        send(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    elif sys.argv[1] == "blast":
        blast(sys.argv[2], int(sys.argv[3]))
    else:
        hold(int(sys.argv[2]), int(sys.argv[3]))


if __name__ == "__main__":
    main()
