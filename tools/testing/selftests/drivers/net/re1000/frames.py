#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Sends Ethernet frames that no protocol of the stack answers.

    frames.py IFACE DST:COUNT...

sends, in order, COUNT minimal frames of EtherType 0x88b5 (IEEE 802 local
experimental) from IFACE to each MAC address DST, for a test that counts how
many of them the other NIC's receive filter lets through.
"""

import socket
import sys

ETH_P_LOCAL_EXP1 = 0x88B5


def main():
    with socket.socket(socket.AF_PACKET, socket.SOCK_RAW) as sock:
        sock.bind((sys.argv[1], 0))
        src = sock.getsockname()[4]
        for arg in sys.argv[2:]:
            dst, count = arg.rsplit(":", 1)
            frame = bytes.fromhex(dst.replace(":", "")) + src
            frame += ETH_P_LOCAL_EXP1.to_bytes(2, "big") + bytes(46)
            for _ in range(int(count)):
                sock.send(frame)


if __name__ == "__main__":
    main()
