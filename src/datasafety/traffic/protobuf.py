"""Schema-less Protocol Buffers wire-format reader.

Wire format: https://protobuf.dev/programming-guides/encoding/ — each record is a varint
key ``(field_number << 3) | wire_type`` followed by a varint (type 0), 8 bytes (type 1),
a varint length and that many bytes (type 2) or 4 bytes (type 5). Groups (types 3 and 4)
are deprecated and treated as "not protobuf".

Without a schema a length-delimited record can be a string, bytes or a nested message;
:func:`parse_message` reads it as text when it is printable UTF-8, else as a nested message
when the bytes parse completely, else it drops it as opaque bytes.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass

MAX_FIELDS = 5000
MAX_DEPTH = 8


@dataclass(frozen=True, slots=True)
class ProtoValue:
    """One scalar found in a message."""

    path: str
    """Dotted field numbers from the outermost message, e.g. ``"1.3"``."""
    kind: str
    """``varint``, ``double``, ``fixed32``, ``string``."""
    text: str
    """The value as text: decimal integer, shortest float repr, or the string itself."""
    message: int
    """Id of the message (within one parse) holding the value; siblings share it."""


class _NotProtobuf(Exception):
    pass


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    result = 0
    shift = 0
    while True:
        if pos >= len(data) or shift > 63:
            raise _NotProtobuf
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def _text(raw: bytes) -> str | None:
    if not raw:
        return ""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if all(ch.isprintable() or ch in "\r\n\t" for ch in text):
        return text
    return None


def parse_message(data: bytes) -> list[ProtoValue] | None:
    """All scalars of ``data`` read as a protobuf message, or None when it is not one.

    A message must parse to its last byte with valid keys and lengths; an empty input
    is not a message.
    """
    if not data:
        return None
    out: list[ProtoValue] = []
    counter = [0]
    try:
        _parse(data, "", 0, out, counter)
    except (_NotProtobuf, RecursionError):
        return None
    return out or None


def _parse(data: bytes, prefix: str, depth: int, out: list[ProtoValue], counter: list[int]) -> None:
    if depth > MAX_DEPTH:
        raise _NotProtobuf
    message = counter[0]
    counter[0] += 1
    pos = 0
    end = len(data)
    while pos < end:
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if number < 1 or number > (1 << 29) - 1:
            raise _NotProtobuf
        path = f"{prefix}{number}"
        if wire == 0:
            value, pos = _varint(data, pos)
            out.append(ProtoValue(path, "varint", str(value), message))
        elif wire == 1:
            if pos + 8 > end:
                raise _NotProtobuf
            (number_d,) = struct.unpack_from("<d", data, pos)
            pos += 8
            if math.isfinite(number_d):
                out.append(ProtoValue(path, "double", repr(number_d), message))
        elif wire == 5:
            if pos + 4 > end:
                raise _NotProtobuf
            (number_i,) = struct.unpack_from("<I", data, pos)
            pos += 4
            out.append(ProtoValue(path, "fixed32", str(number_i), message))
        elif wire == 2:
            length, pos = _varint(data, pos)
            if pos + length > end:
                raise _NotProtobuf
            chunk = data[pos : pos + length]
            pos += length
            text = _text(chunk)
            if text is not None:
                out.append(ProtoValue(path, "string", text, message))
            else:
                mark = len(out)
                try:
                    _parse(chunk, path + ".", depth + 1, out, counter)
                except _NotProtobuf:
                    del out[mark:]
        else:
            raise _NotProtobuf
        if len(out) > MAX_FIELDS:
            raise _NotProtobuf
