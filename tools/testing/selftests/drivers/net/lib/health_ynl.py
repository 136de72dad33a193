# SPDX-License-Identifier: GPL-2.0
"""devlink health through YNL: what the devlink spec of 7.3 does not say.

- A formatted message (fmsg: dump, diagnose) is a stream of attributes
  whose value attribute takes the type named by the attribute before it,
  and whose nesting spans the messages of a dump; the spec lists no value
  attribute. fmsg() reads the stream of every message and decodes it into
  dicts and lists, as iproute2 prints it, and fails on unbalanced nesting.
- diagnose answers with a multi-part reply, which the spec does not
  describe (no reply for the operation): fmsg() reads it too.
- Health notifications (the "config" group) come with the recover command,
  which has no reply either: they are decoded with the reporter's
  attributes and queued as YNL queues notifications (check_ntf()).

Import it after lib.py (the kernel tree's drivers/net/lib/py) is importable.
"""

import struct

# pylint: disable=import-error
from lib.py import DevlinkFamily, Netlink, NlError

# enum devlink_var_attr_type (include/uapi/linux/devlink.h)
FMSG_U8, FMSG_U16, FMSG_U32, FMSG_U64 = 1, 2, 3, 4
FMSG_FLAG, FMSG_STRING, FMSG_BINARY = 6, 10, 11
SCALARS = {FMSG_U8: "u8", FMSG_U16: "u16", FMSG_U32: "u32", FMSG_U64: "u64"}


class FmsgError(Exception):
    """An fmsg stream that does not decode."""


class _Pair:
    """An open pair: the name its value goes under, in its object."""

    def __init__(self, obj):
        if not isinstance(obj, dict):
            raise FmsgError("a pair outside an object")
        self.obj = obj
        self.name = None


def _place(top, value, replace=False):
    if isinstance(top, list):
        if replace:
            top[-1] = value
        else:
            top.append(value)
    elif isinstance(top, _Pair) and top.name is not None:
        top.obj[top.name] = value
    else:
        raise FmsgError(f"a value {value!r} outside a pair or an array")


class _Done:  # pylint: disable=too-few-public-methods
    """A DONE without payload."""

    def __init__(self, seq):
        self.nl_seq, self.nl_type = seq, Netlink.NLMSG_DONE
        self.error, self.done, self.extack = 0, 1, None


class HealthDevlink(DevlinkFamily):
    """DevlinkFamily, with fmsg(), health notifications and ids by name."""

    def __init__(self):
        super().__init__()
        self.ids = {a.name: a.value for a in self.attr_sets["devlink"].attrs.values()}
        self.data_id = self.ids["fmsg-obj-value-type"] + 1  # DEVLINK_ATTR_FMSG_OBJ_VALUE_DATA
        recover = self.ops["health-reporter-recover"]
        self.rsp_by_value[recover.req_value] = recover
        self.async_msg_ids.add(recover.req_value)

    def _decode(self, attrs, space, outer_attrs=None):
        # The items of an fmsg stay raw: a stream, decoded by fmsg().
        if space == "dl-fmsg":
            return {"items": [(a.type, a) for a in attrs]}
        return super()._decode(attrs, space, outer_attrs)

    def fmsg(self, op_name, attrs, dump=True):
        """The fmsg of a dump-get (dump) or a diagnose (not dump), decoded.
        Raises NlError as the request fails."""
        op = self.ops[op_name]
        seq = 1 + (getattr(self, "_fmsg_seq", 0) % 1000)
        self._fmsg_seq = seq  # pylint: disable=attribute-defined-outside-init
        flags = [Netlink.NLM_F_DUMP] if dump else []
        self.sock.send(self._encode_message(op, attrs, flags, seq), 0)
        items = []
        while True:
            reply, _ = self._recvmsg()
            for nl_msg in self._msgs(reply):
                if nl_msg.nl_seq != seq:
                    self._maybe_ntf(nl_msg)
                    continue
                if nl_msg.error:
                    if nl_msg.extack:
                        nl_msg.annotate_extack(op.attr_set)
                    raise NlError(nl_msg)
                # A dump ends at its DONE; a do at its ACK, after the DONE
                # of its multi-part reply.
                if nl_msg.nl_type == Netlink.NLMSG_ERROR or (dump and nl_msg.done):
                    return self.decode_fmsg(items)
                if nl_msg.nl_type == Netlink.NLMSG_DONE:
                    continue
                msg = self.nlproto.decode(self, nl_msg, op)
                decoded = self._decode(msg.raw_attrs, "devlink")
                items += decoded.get("fmsg", {}).get("items", [])

    @staticmethod
    def _msgs(reply):
        """The messages of a read. The DONE that ends a multi-part reply to
        a request (not a dump) has no payload, which YNL's NlMsg expects."""
        # pylint: disable=import-outside-toplevel,import-error
        from net.ynl.pyynl.lib.ynl import NlMsg
        offset = 0
        while offset < len(reply):
            length, kind, _, seq, _ = struct.unpack_from("IHHII", reply, offset)
            if kind == Netlink.NLMSG_DONE and length < 20:
                yield _Done(seq)
            else:
                yield NlMsg(reply, offset)
            offset += max(length, 16)

    def _maybe_ntf(self, nl_msg):
        if nl_msg.nl_type in (Netlink.NLMSG_ERROR, Netlink.NLMSG_DONE):
            return
        decoded = self.nlproto.decode(self, nl_msg, None)
        if decoded.cmd() in self.async_msg_ids:
            self.handle_ntf(decoded)

    def decode_fmsg(self, items):
        """The fmsg items of a reply, as nested dicts and lists."""
        ids = self.ids
        root, stack, vtype = None, [], None
        for kind, attr in items:
            if kind in (ids["fmsg-obj-nest-start"], ids["fmsg-arr-nest-start"]):
                new = {} if kind == ids["fmsg-obj-nest-start"] else []
                if stack:
                    _place(stack[-1], new)
                elif root is None:
                    root = new
                else:
                    raise FmsgError("a second outermost object")
                stack.append(new)
            elif kind == ids["fmsg-pair-nest-start"]:
                if not stack:
                    raise FmsgError("a pair outside the outermost object")
                stack.append(_Pair(stack[-1]))
            elif kind == ids["fmsg-nest-end"]:
                if not stack:
                    raise FmsgError("a nest ended that never started")
                stack.pop()
            elif kind == ids["fmsg-obj-name"]:
                if not stack or not isinstance(stack[-1], _Pair):
                    raise FmsgError("a name outside a pair")
                stack[-1].name = attr.raw.rstrip(b"\0").decode("utf-8", "replace")
            elif kind == ids["fmsg-obj-value-type"]:
                vtype = attr.as_scalar("u8")
                if vtype == FMSG_FLAG:  # false has no data attribute
                    _place(stack[-1], False)
            elif kind == self.data_id:
                if vtype in SCALARS:
                    _place(stack[-1], attr.as_scalar(SCALARS[vtype]))
                elif vtype == FMSG_FLAG:
                    _place(stack[-1], True, replace=True)
                elif vtype == FMSG_STRING:
                    _place(stack[-1], attr.raw.rstrip(b"\0").decode("utf-8", "replace"))
                elif vtype == FMSG_BINARY:
                    _place(stack[-1], bytes(attr.raw))
                else:
                    raise FmsgError(f"value of unknown type {vtype}")
            else:
                raise FmsgError(f"attribute {kind} in an fmsg")
        if stack:
            raise FmsgError(f"{len(stack)} nests never ended")
        return root


__all__ = ["HealthDevlink", "FmsgError", "NlError"]
