"""Decoding one method's Dalvik bytecode into a small register IR, on demand.

Only the methods an analysis visits are decoded (never the whole app). Each
instruction becomes an :class:`Insn` with its operands spelled out; the
method's exception handlers become :class:`TryBlock` values. Malformed code
(truncated instructions, offsets out of range) ends the decoding early and
sets :attr:`MethodCode.truncated`; it never raises.

Formats and opcodes: https://source.android.com/docs/core/runtime/dalvik-bytecode
and https://source.android.com/docs/core/runtime/instruction-formats; code item
layout (``tries``, ``encoded_catch_handler_list``):
https://source.android.com/docs/core/runtime/dex-format#code-item
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

import numpy as np

from datasafety.app.dex import kernels
from datasafety.app.dex.index import DexIndex

# Instruction families (``Insn.kind``).
NOP = 0
MOVE = 1            # a <- b
MOVE_RESULT = 2     # a <- last invoke result / filled-new-array
MOVE_EXCEPTION = 3  # a <- caught exception
RETURN = 4          # return a (a = -1 for return-void)
CONST = 5           # a <- lit
CONST_STRING = 6    # a <- string idx
CONST_CLASS = 7     # a <- class literal of type idx
MONITOR = 8
CHECK_CAST = 9      # a (type idx)
INSTANCE_OF = 10    # a <- b instanceof idx
ARRAY_LENGTH = 11   # a <- length(b)
NEW_INSTANCE = 12   # a <- new idx
NEW_ARRAY = 13      # a <- new idx[b]
FILLED_NEW_ARRAY = 14  # result <- {args} of type idx
FILL_ARRAY_DATA = 15   # a[] <- constants
THROW = 16          # throw a
GOTO = 17           # targets[0]
SWITCH = 18         # on a; keys, targets
CMP = 19            # a <- cmp(b, c)
IF = 20             # if a <op> b goto targets[0]   (op: eq ne lt ge gt le)
IFZ = 21            # if a <op> 0 goto targets[0]
AGET = 22           # a <- b[c]
APUT = 23           # b[c] <- a
IGET = 24           # a <- b.field(idx)
IPUT = 25           # b.field(idx) <- a
SGET = 26           # a <- static field idx
SPUT = 27           # static field idx <- a
INVOKE = 28         # invoke method idx with args; sub = invoke kind (0 virtual .. 4 interface, 5 other)
UNOP = 29           # a <- op b
BINOP = 30          # a <- b op c
BINOP_LIT = 31      # a <- b op lit
UNKNOWN = 32

IF_OPS = ("eq", "ne", "lt", "ge", "gt", "le")
# Binary operators in opcode order (binop, binop/2addr share the same order of 11 int ops).
INT_BINOPS = ("add", "sub", "mul", "div", "rem", "and", "or", "xor", "shl", "shr", "ushr")
LIT16_OPS = ("add", "rsub", "mul", "div", "rem", "and", "or", "xor")
LIT8_OPS = LIT16_OPS + ("shl", "shr", "ushr")


@dataclass(slots=True)
class Insn:
    pc: int
    op: int
    """Raw opcode byte."""
    kind: int
    """Family (module constants)."""
    width: int
    a: int = -1
    b: int = -1
    c: int = -1
    idx: int = -1
    """Method / field / string / type index, per family."""
    lit: int = 0
    sub: str | int = ""
    """Operator name for IF/IFZ/BINOP/UNOP, invoke kind for INVOKE, wide flag for moves."""
    args: tuple[int, ...] = ()
    targets: tuple[int, ...] = ()
    keys: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class TryBlock:
    start: int
    end: int
    """Covers pcs ``start <= pc < end``."""
    handlers: tuple[tuple[int, int], ...]
    """(caught type index or -1 for catch-all, handler pc)."""


@dataclass
class MethodCode:
    registers: int
    ins: int
    """Parameter registers (the last ``ins`` registers; ``this`` first for instance methods)."""
    insns: list[Insn]
    at: dict[int, int]
    """pc -> position in ``insns``."""
    tries: tuple[TryBlock, ...] = ()
    truncated: bool = False
    _succ: dict[int, tuple[int, ...]] = field(default_factory=dict)

    def successors(self, i: int) -> tuple[int, ...]:
        """Positions that may follow instruction ``i`` in normal flow (no exceptions)."""
        cached = self._succ.get(i)
        if cached is not None:
            return cached
        insn = self.insns[i]
        out: list[int] = []
        fall = i + 1 if i + 1 < len(self.insns) else -1
        k = insn.kind
        if k in (RETURN, THROW):
            pass
        elif k == GOTO:
            out.extend(self._pos(t) for t in insn.targets)
        elif k in (IF, IFZ, SWITCH):
            out.extend(self._pos(t) for t in insn.targets)
            out.append(fall)
        else:
            out.append(fall)
        result = tuple(sorted({p for p in out if p >= 0}))
        self._succ[i] = result
        return result

    def handlers_for(self, pc: int) -> tuple[tuple[int, int], ...]:
        """(caught type idx or -1, handler position) for an instruction at ``pc``."""
        out: list[tuple[int, int]] = []
        for block in self.tries:
            if block.start <= pc < block.end:
                for type_idx, addr in block.handlers:
                    pos = self._pos(addr)
                    if pos >= 0:
                        out.append((type_idx, pos))
        return tuple(out)

    def _pos(self, pc: int) -> int:
        return self.at.get(pc, -1)


def _s8(v: int) -> int:
    return v - 256 if v >= 128 else v


def _s16(v: int) -> int:
    return v - 65536 if v >= 32768 else v


def _s32(v: int) -> int:
    return v - (1 << 32) if v >= (1 << 31) else v


def _uleb(data: bytes, off: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if off >= len(data) or shift > 35:
            raise ValueError("uleb128 out of range")
        b = data[off]
        off += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return result, off
        shift += 7


def _sleb(data: bytes, off: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if off >= len(data) or shift > 35:
            raise ValueError("sleb128 out of range")
        b = data[off]
        off += 1
        result |= (b & 0x7F) << shift
        shift += 7
        if b < 0x80:
            if b & 0x40:
                result -= 1 << shift
            return result, off


def _tries(dex: DexIndex, code_off: int, insns_size: int, tries_size: int) -> tuple[TryBlock, ...]:
    data = dex.data
    off = code_off + 16 + 2 * insns_size
    if tries_size and insns_size % 2:
        off += 2
    list_off = off + 8 * tries_size
    if list_off > len(data):
        return ()
    blocks = []
    for i in range(tries_size):
        start, count, handler_off = struct.unpack_from("<IHH", data, off + 8 * i)
        try:
            p = list_off + handler_off
            size, p = _sleb(data, p)
            handlers: list[tuple[int, int]] = []
            for _ in range(min(abs(size), 4096)):
                type_idx, p = _uleb(data, p)
                addr, p = _uleb(data, p)
                handlers.append((type_idx, addr))
            if size <= 0:
                addr, p = _uleb(data, p)
                handlers.append((-1, addr))
        except ValueError:
            continue
        blocks.append(TryBlock(start, start + count, tuple(handlers)))
    return tuple(blocks)


def decode_method(dex: DexIndex, row: int) -> MethodCode | None:
    """Decode defined method ``row`` of ``dex``. None when it has no code (abstract, native)."""
    off = int(dex.def_code_off[row])
    data = dex.data
    if off <= 0 or off + 16 > len(data):
        return None
    registers, ins, _outs, tries_size, _debug, insns_size = struct.unpack_from("<HHHHII", data, off)
    units = dex.code_units(row)
    insns, at, truncated = decode_units(units)
    tries = ()
    if tries_size:
        try:
            tries = _tries(dex, off, insns_size, tries_size)
        except struct.error:
            truncated = True
    return MethodCode(registers=registers, ins=ins, insns=insns, at=at, tries=tries, truncated=truncated or not len(units) and insns_size > 0)


def decode_units(units: np.ndarray) -> tuple[list[Insn], dict[int, int], bool]:
    """Decode 16-bit code units into instructions. Returns (insns, pc -> position, truncated)."""
    u = units.tolist()
    n = len(u)
    widths = kernels.OPCODE_WIDTHS
    insns: list[Insn] = []
    at: dict[int, int] = {}
    pc = 0
    truncated = False
    while pc < n:
        unit = u[pc]
        op = unit & 0xFF
        if op == 0 and (unit >> 8) in (1, 2, 3):
            # Payload pseudo-instructions: skipped (read by their switch / fill-array-data).
            if pc + 3 >= n:
                break
            ident = unit >> 8
            if ident == 1:
                pc += u[pc + 1] * 2 + 4
            elif ident == 2:
                pc += u[pc + 1] * 4 + 2
            else:
                size = u[pc + 2] | (u[pc + 3] << 16)
                pc += (size * u[pc + 1] + 1) // 2 + 4
            continue
        w = int(widths[op])
        if pc + w > n:
            truncated = True
            break
        insn = _decode_one(u, pc, op, w, n)
        if insn is None:
            truncated = True
            break
        at[pc] = len(insns)
        insns.append(insn)
        pc += w
    return insns, at, truncated


def _decode_one(u: list[int], pc: int, op: int, w: int, n: int) -> Insn | None:
    unit = u[pc]
    aa = unit >> 8
    a4 = (unit >> 8) & 0xF
    b4 = unit >> 12
    u1 = u[pc + 1] if w > 1 else 0
    u2 = u[pc + 2] if w > 2 else 0
    if op == 0x00:
        return Insn(pc, op, NOP, w)
    if op in (0x01, 0x04, 0x07):
        return Insn(pc, op, MOVE, w, a=a4, b=b4, sub="wide" if op == 0x04 else "")
    if op in (0x02, 0x05, 0x08):
        return Insn(pc, op, MOVE, w, a=aa, b=u1, sub="wide" if op == 0x05 else "")
    if op in (0x03, 0x06, 0x09):
        return Insn(pc, op, MOVE, w, a=u1, b=u2, sub="wide" if op == 0x06 else "")
    if 0x0A <= op <= 0x0C:
        return Insn(pc, op, MOVE_RESULT, w, a=aa)
    if op == 0x0D:
        return Insn(pc, op, MOVE_EXCEPTION, w, a=aa)
    if op == 0x0E:
        return Insn(pc, op, RETURN, w, a=-1)
    if 0x0F <= op <= 0x11:
        return Insn(pc, op, RETURN, w, a=aa)
    if op == 0x12:
        return Insn(pc, op, CONST, w, a=a4, lit=b4 - 16 if b4 >= 8 else b4)
    if op == 0x13:
        return Insn(pc, op, CONST, w, a=aa, lit=_s16(u1))
    if op == 0x14:
        return Insn(pc, op, CONST, w, a=aa, lit=_s32(u1 | (u2 << 16)))
    if op == 0x15:
        return Insn(pc, op, CONST, w, a=aa, lit=_s32(u1 << 16))
    if op == 0x16:
        return Insn(pc, op, CONST, w, a=aa, lit=_s16(u1), sub="wide")
    if op == 0x17:
        return Insn(pc, op, CONST, w, a=aa, lit=_s32(u1 | (u2 << 16)), sub="wide")
    if op == 0x18:
        v = u1 | (u2 << 16) | (u[pc + 3] << 32) | (u[pc + 4] << 48)
        return Insn(pc, op, CONST, w, a=aa, lit=v - (1 << 64) if v >= (1 << 63) else v, sub="wide")
    if op == 0x19:
        v = u1 << 48
        return Insn(pc, op, CONST, w, a=aa, lit=v - (1 << 64) if v >= (1 << 63) else v, sub="wide")
    if op == 0x1A:
        return Insn(pc, op, CONST_STRING, w, a=aa, idx=u1)
    if op == 0x1B:
        return Insn(pc, op, CONST_STRING, w, a=aa, idx=u1 | (u2 << 16))
    if op == 0x1C:
        return Insn(pc, op, CONST_CLASS, w, a=aa, idx=u1)
    if op in (0x1D, 0x1E):
        return Insn(pc, op, MONITOR, w, a=aa)
    if op == 0x1F:
        return Insn(pc, op, CHECK_CAST, w, a=aa, idx=u1)
    if op == 0x20:
        return Insn(pc, op, INSTANCE_OF, w, a=a4, b=b4, idx=u1)
    if op == 0x21:
        return Insn(pc, op, ARRAY_LENGTH, w, a=a4, b=b4)
    if op == 0x22:
        return Insn(pc, op, NEW_INSTANCE, w, a=aa, idx=u1)
    if op == 0x23:
        return Insn(pc, op, NEW_ARRAY, w, a=a4, b=b4, idx=u1)
    if op == 0x24:
        count = b4
        regs = (u2 & 0xF, (u2 >> 4) & 0xF, (u2 >> 8) & 0xF, (u2 >> 12) & 0xF, a4)[:count]
        return Insn(pc, op, FILLED_NEW_ARRAY, w, idx=u1, args=regs)
    if op == 0x25:
        return Insn(pc, op, FILLED_NEW_ARRAY, w, idx=u1, args=tuple(range(u2, u2 + aa)))
    if op == 0x26:
        return Insn(pc, op, FILL_ARRAY_DATA, w, a=aa, targets=(pc + _s32(u1 | (u2 << 16)),))
    if op == 0x27:
        return Insn(pc, op, THROW, w, a=aa)
    if op == 0x28:
        return Insn(pc, op, GOTO, w, targets=(pc + _s8(aa),))
    if op == 0x29:
        return Insn(pc, op, GOTO, w, targets=(pc + _s16(u1),))
    if op == 0x2A:
        return Insn(pc, op, GOTO, w, targets=(pc + _s32(u1 | (u2 << 16)),))
    if op in (0x2B, 0x2C):
        payload = pc + _s32(u1 | (u2 << 16))
        keys, targets = _switch_payload(u, payload, pc, op == 0x2B)
        return Insn(pc, op, SWITCH, w, a=aa, keys=keys, targets=targets)
    if 0x2D <= op <= 0x31:
        return Insn(pc, op, CMP, w, a=aa, b=u1 & 0xFF, c=u1 >> 8)
    if 0x32 <= op <= 0x37:
        return Insn(pc, op, IF, w, a=a4, b=b4, sub=IF_OPS[op - 0x32], targets=(pc + _s16(u1),))
    if 0x38 <= op <= 0x3D:
        return Insn(pc, op, IFZ, w, a=aa, sub=IF_OPS[op - 0x38], targets=(pc + _s16(u1),))
    if 0x44 <= op <= 0x4A:
        return Insn(pc, op, AGET, w, a=aa, b=u1 & 0xFF, c=u1 >> 8, sub="wide" if op == 0x45 else "")
    if 0x4B <= op <= 0x51:
        return Insn(pc, op, APUT, w, a=aa, b=u1 & 0xFF, c=u1 >> 8, sub="wide" if op == 0x4C else "")
    if 0x52 <= op <= 0x58:
        return Insn(pc, op, IGET, w, a=a4, b=b4, idx=u1, sub="wide" if op == 0x53 else "")
    if 0x59 <= op <= 0x5F:
        return Insn(pc, op, IPUT, w, a=a4, b=b4, idx=u1, sub="wide" if op == 0x5A else "")
    if 0x60 <= op <= 0x66:
        return Insn(pc, op, SGET, w, a=aa, idx=u1, sub="wide" if op == 0x61 else "")
    if 0x67 <= op <= 0x6D:
        return Insn(pc, op, SPUT, w, a=aa, idx=u1, sub="wide" if op == 0x68 else "")
    if 0x6E <= op <= 0x72:
        count = b4
        regs = (u2 & 0xF, (u2 >> 4) & 0xF, (u2 >> 8) & 0xF, (u2 >> 12) & 0xF, a4)[:count]
        return Insn(pc, op, INVOKE, w, idx=u1, sub=op - 0x6E, args=regs)
    if 0x74 <= op <= 0x78:
        return Insn(pc, op, INVOKE, w, idx=u1, sub=op - 0x74, args=tuple(range(u2, u2 + aa)))
    if op in (0xFA, 0xFC):
        count = b4
        regs = (u2 & 0xF, (u2 >> 4) & 0xF, (u2 >> 8) & 0xF, (u2 >> 12) & 0xF, a4)[:count]
        return Insn(pc, op, INVOKE, w, idx=u1 if op == 0xFA else -1, sub=5, args=regs)
    if op in (0xFB, 0xFD):
        return Insn(pc, op, INVOKE, w, idx=u1 if op == 0xFB else -1, sub=5, args=tuple(range(u2, u2 + aa)))
    if 0x7B <= op <= 0x8F:
        return Insn(pc, op, UNOP, w, a=a4, b=b4, sub=op)
    if 0x90 <= op <= 0xAF:
        return Insn(pc, op, BINOP, w, a=aa, b=u1 & 0xFF, c=u1 >> 8, sub=_binop_name(op - 0x90))
    if 0xB0 <= op <= 0xCF:
        return Insn(pc, op, BINOP, w, a=a4, b=a4, c=b4, sub=_binop_name(op - 0xB0))
    if 0xD0 <= op <= 0xD7:
        return Insn(pc, op, BINOP_LIT, w, a=a4, b=b4, lit=_s16(u1), sub=LIT16_OPS[op - 0xD0])
    if 0xD8 <= op <= 0xE2:
        return Insn(pc, op, BINOP_LIT, w, a=aa, b=u1 & 0xFF, lit=_s8(u1 >> 8), sub=LIT8_OPS[op - 0xD8])
    if op in (0xFE, 0xFF):
        return Insn(pc, op, CONST, w, a=aa, lit=0, sub="handle")
    return Insn(pc, op, UNKNOWN, w)


def _binop_name(rel: int) -> str:
    """Binary ops come in groups: int (11), long (11), float (5), double (5)."""
    if rel < 11:
        return INT_BINOPS[rel]
    if rel < 22:
        return "long-" + INT_BINOPS[rel - 11]
    if rel < 27:
        return "float-" + INT_BINOPS[rel - 22]
    return "double-" + INT_BINOPS[rel - 27]


def _switch_payload(u: list[int], payload: int, pc: int, packed: bool) -> tuple[tuple[int, ...], tuple[int, ...]]:
    n = len(u)
    if payload < 0 or payload + 2 > n:
        return (), ()
    size = u[payload + 1]
    if packed:
        if payload + 4 + 2 * size > n:
            return (), ()
        first = _s32(u[payload + 2] | (u[payload + 3] << 16))
        keys = tuple(first + i for i in range(size))
        base = payload + 4
        targets = tuple(pc + _s32(u[base + 2 * i] | (u[base + 2 * i + 1] << 16)) for i in range(size))
        return keys, targets
    if payload + 2 + 4 * size > n:
        return (), ()
    base = payload + 2
    keys = tuple(_s32(u[base + 2 * i] | (u[base + 2 * i + 1] << 16)) for i in range(size))
    tbase = base + 2 * size
    targets = tuple(pc + _s32(u[tbase + 2 * i] | (u[tbase + 2 * i + 1] << 16)) for i in range(size))
    return keys, targets


def fill_array_values(units: np.ndarray, payload_pc: int) -> list[int]:
    """Element values of a ``fill-array-data-payload`` (integers), [] when malformed."""
    n = len(units)
    if payload_pc < 0 or payload_pc + 4 > n or int(units[payload_pc]) != 0x0300:
        return []
    width = int(units[payload_pc + 1])
    size = int(units[payload_pc + 2]) | (int(units[payload_pc + 3]) << 16)
    if width not in (1, 2, 4, 8) or size > 65536 or payload_pc + 4 + (size * width + 1) // 2 > n:
        return []
    raw = units[payload_pc + 4 : payload_pc + 4 + (size * width + 1) // 2].astype("<u2").tobytes()
    fmt = {1: "b", 2: "h", 4: "i", 8: "q"}[width]
    return list(struct.unpack_from(f"<{size}{fmt}", raw, 0))
