#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""One YNL client for a whole test, since Python starts slowly in the test VM.

usage: ynl_pipe.py KSRC SPEC

Reads requests, one per line: "do|dump OPERATION JSON"; answers each on one
line: "ok JSON" (the reply) or "error MESSAGE" (the kernel's error and
extack, or why the request is malformed).
"""

import json
import struct
import sys

sys.path.append(f"{sys.argv[1]}/tools/net/ynl/pyynl")
# pylint: disable=wrong-import-position
from lib import NlError, YnlFamily  # noqa: E402


def answer(ynl, line):
    """The answer line to one request line."""
    try:
        mode, op, text = line.split(" ", 2)
        attrs = json.loads(text)
        if mode == "do":
            reply = ynl.do(op, attrs)
        elif mode == "dump":
            reply = ynl.dump(op, attrs)
        else:
            return f"error bad mode '{mode}'"
        return "ok " + json.dumps(reply, default=str)
    except NlError as err:
        return "error " + str(err).replace("\n", " ")
    except (ValueError, KeyError, TypeError, struct.error) as err:
        return f"error bad request: {err!r}"


def main():
    """Answers requests until standard input closes."""
    ynl = YnlFamily(sys.argv[2], schema="")
    while True:
        line = sys.stdin.readline()
        if not line:
            break
        print(answer(ynl, line.rstrip("\n")), flush=True)


if __name__ == "__main__":
    main()
