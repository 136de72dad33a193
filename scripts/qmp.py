#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Runs QMP commands against a QEMU monitor socket.

    qmp.py SOCKET < COMMANDS

COMMANDS holds one JSON command per line. Each is sent once the previous one
is answered; the answers, and the events seen meanwhile, are printed one per
line. The exit status is 1 if an answer is an error.
"""

import json
import socket
import sys


def main():
    sock = socket.socket(socket.AF_UNIX)
    sock.settimeout(60)
    sock.connect(sys.argv[1])
    stream = sock.makefile("rw")
    failed = False

    def answer():
        while True:
            line = stream.readline()
            if not line:
                raise EOFError("QMP closed the connection")
            print(line.rstrip(), flush=True)
            msg = json.loads(line)
            if "return" in msg or "error" in msg:
                return msg

    print(stream.readline().rstrip(), flush=True)
    commands = [{"execute": "qmp_capabilities"}]
    commands += [json.loads(line) for line in sys.stdin if line.strip()]
    for command in commands:
        stream.write(json.dumps(command) + "\n")
        stream.flush()
        failed |= "error" in answer()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
