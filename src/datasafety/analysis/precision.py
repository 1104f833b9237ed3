"""Precise or approximate: evidence from the arguments a location call site passes.

Decodes the caller method's instructions on demand (one method, never the
whole app) and follows constants into argument registers (a linear sweep:
the last constant written to a register before the instruction, ignoring
branches):

- the provider argument of a ``LocationManager`` call: ``"gps"``
  (``GPS_PROVIDER``, documented as needing FINE) is precise; ``"network"`` is
  approximate; ``"passive"`` / ``"fused"`` say nothing.
  https://developer.android.com/reference/android/location/LocationManager#GPS_PROVIDER
- the int argument of Play services priority setters called in the same
  method: ``PRIORITY_HIGH_ACCURACY`` = 100 is precise; 102 (balanced), 104
  (low power) are approximate.
  https://developers.google.com/android/reference/com/google/android/gms/location/Priority
- ``setGranularity``: ``GRANULARITY_FINE`` = 2 precise, ``GRANULARITY_COARSE`` = 1 approximate.
  https://developers.google.com/android/reference/com/google/android/gms/location/Granularity
- ``Criteria.setAccuracy``: ``ACCURACY_FINE`` = 1 precise, ``ACCURACY_COARSE`` = 2 approximate.
  https://developer.android.com/reference/android/location/Criteria

A request built in another method is ``unspecified``: the call site then
counts for both grains.
"""

from __future__ import annotations

import numpy as np

from datasafety.app.dex import kernels
from datasafety.app.dex.index import DexIndex

LOCATION_TYPES = {"precise_location", "approximate_location"}

# (class descriptor, method name) -> index of the int argument among the invoke's registers.
INT_SETTERS = {
    ("Lcom/google/android/gms/location/LocationRequest;", "setPriority"): ("priority", 1),
    ("Lcom/google/android/gms/location/LocationRequest$Builder;", "setPriority"): ("priority", 1),
    ("Lcom/google/android/gms/location/LocationRequest$Builder;", "<init>"): ("priority", 1),
    ("Lcom/google/android/gms/location/CurrentLocationRequest$Builder;", "setPriority"): ("priority", 1),
    ("Landroid/location/LocationRequest$Builder;", "setQuality"): ("quality", 1),
    ("Lcom/google/android/gms/location/LocationRequest$Builder;", "setGranularity"): ("granularity", 1),
    ("Lcom/google/android/gms/location/CurrentLocationRequest$Builder;", "setGranularity"): ("granularity", 1),
    ("Lcom/google/android/gms/location/LastLocationRequest$Builder;", "setGranularity"): ("granularity", 1),
    ("Landroid/location/Criteria;", "setAccuracy"): ("criteria", 1),
}
PRECISE_INTS = {"priority": {100: "priority 100 (PRIORITY_HIGH_ACCURACY)"},
                "quality": {100: "quality 100 (QUALITY_HIGH_ACCURACY)"},
                "granularity": {2: "granularity 2 (GRANULARITY_FINE)"},
                "criteria": {1: "Criteria accuracy 1 (ACCURACY_FINE)"}}
APPROXIMATE_INTS = {"priority": {102: "priority 102 (balanced power)", 104: "priority 104 (low power)"},
                    "quality": {102: "quality 102 (balanced power)", 104: "quality 104 (low power)"},
                    "granularity": {1: "granularity 1 (GRANULARITY_COARSE)"},
                    "criteria": {2: "Criteria accuracy 2 (ACCURACY_COARSE)"}}

_INVOKE = set(range(0x6E, 0x73)) | set(range(0x74, 0x79))
_DEST_A = {0x01, 0x04, 0x07, 0x12, 0x20, 0x21, 0x23} | set(range(0x52, 0x59)) | set(range(0x7B, 0x90)) | set(range(0xB0, 0xD8))
_DEST_AA = {0x02, 0x05, 0x08, 0x0A, 0x0B, 0x0C, 0x0D, 0x22, 0xFE, 0xFF} | set(range(0x13, 0x1D)) | set(range(0x2D, 0x32)) \
    | set(range(0x44, 0x4B)) | set(range(0x60, 0x67)) | set(range(0x90, 0xB0)) | set(range(0xD8, 0xE3))


def _signed(value: int, bits: int) -> int:
    return value - (1 << bits) if value >= (1 << (bits - 1)) else value


def _instructions(units: np.ndarray):
    """Yield (pc, opcode) for each instruction, skipping switch / array payloads."""
    pc = 0
    n = len(units)
    widths = kernels.OPCODE_WIDTHS
    while pc < n:
        unit = int(units[pc])
        op = unit & 0xFF
        if op == 0 and (unit >> 8) in (1, 2, 3):
            if pc + 3 >= n:
                return
            ident = unit >> 8
            if ident == 1:
                pc += int(units[pc + 1]) * 2 + 4
            elif ident == 2:
                pc += int(units[pc + 1]) * 4 + 2
            else:
                size = int(units[pc + 2]) | (int(units[pc + 3]) << 16)
                pc += (size * int(units[pc + 1]) + 1) // 2 + 4
            continue
        width = int(widths[op])
        if pc + width > n:
            return
        yield pc, op
        pc += width


def invoke_registers(units: np.ndarray, pc: int) -> list[int]:
    """Argument registers of the invoke instruction at ``pc`` (receiver first for instance calls)."""
    unit = int(units[pc])
    op = unit & 0xFF
    if 0x6E <= op <= 0x72:
        count = unit >> 12
        g = (unit >> 8) & 0xF
        packed = int(units[pc + 2])
        regs = [packed & 0xF, (packed >> 4) & 0xF, (packed >> 8) & 0xF, (packed >> 12) & 0xF, g]
        return regs[:count]
    if 0x74 <= op <= 0x78:
        count = unit >> 8
        first = int(units[pc + 2])
        return list(range(first, first + count))
    return []


def constants_before(units: np.ndarray, dex: DexIndex, stop_pc: int) -> dict[int, int | str]:
    """Register -> constant (int, or decoded string) as last written before ``stop_pc``, in code order."""
    regs: dict[int, int | str] = {}
    for pc, op in _instructions(units):
        if pc >= stop_pc:
            break
        unit = int(units[pc])
        a, aa = (unit >> 8) & 0xF, unit >> 8
        if op == 0x12:
            regs[a] = _signed(unit >> 12, 4)
        elif op == 0x13:
            regs[aa] = _signed(int(units[pc + 1]), 16)
        elif op == 0x14:
            regs[aa] = _signed(int(units[pc + 1]) | (int(units[pc + 2]) << 16), 32)
        elif op == 0x15:
            regs[aa] = _signed(int(units[pc + 1]) << 16, 32)
        elif op == 0x1A:
            regs[aa] = dex.string(int(units[pc + 1]))
        elif op == 0x1B:
            regs[aa] = dex.string(int(units[pc + 1]) | (int(units[pc + 2]) << 16))
        elif op in (0x01, 0x04, 0x07):
            src = unit >> 12
            if src in regs:
                regs[a] = regs[src]
            else:
                regs.pop(a, None)
        elif op in (0x02, 0x05, 0x08):
            src = int(units[pc + 1])
            if src in regs:
                regs[aa] = regs[src]
            else:
                regs.pop(aa, None)
        elif op in (0x03, 0x06, 0x09):
            regs.pop(int(units[pc + 1]), None)
        elif op in _DEST_A:
            regs.pop(a, None)
        elif op in _DEST_AA and op != 0x1F:
            regs.pop(aa, None)
    return regs


def location_precision(dex: DexIndex, row: int, pc: int, method_idx: int | None) -> tuple[str, str]:
    """(``precise`` | ``approximate`` | ``unspecified``, evidence) for the call at ``pc`` in method ``row``.

    ``method_idx``: the called method id (None for field / string call sites).
    """
    units = dex.code_units(row)
    if not len(units) or pc >= len(units):
        return "unspecified", ""
    precise: list[str] = []
    approximate: list[str] = []
    if method_idx is not None:
        cls = dex.type_name(int(dex.method_class[method_idx]))
        proto = dex.proto_descriptor(int(dex.method_proto[method_idx]))
        if cls == "Landroid/location/LocationManager;" and proto.startswith("(Ljava/lang/String;"):
            regs = invoke_registers(units, pc)
            if len(regs) >= 2:
                provider = constants_before(units, dex, pc).get(regs[1])
                if provider == "gps":
                    return "precise", 'provider "gps" (GPS_PROVIDER)'
                if provider == "network":
                    return "approximate", 'provider "network" (NETWORK_PROVIDER)'
                if isinstance(provider, str):
                    return "unspecified", f'provider "{provider}"'

    # Request builders called in the same method, with the constant they are given.
    lo = np.searchsorted(dex.ref_row, row, side="left")
    hi = np.searchsorted(dex.ref_row, row, side="right")
    kinds, targets, pcs = dex.ref_kind[lo:hi], dex.ref_target[lo:hi], dex.ref_pc[lo:hi]
    for target, call_pc in zip(targets[kinds == kernels.REF_INVOKE], pcs[kinds == kernels.REF_INVOKE]):
        key = (dex.type_name(int(dex.method_class[int(target)])), dex.string(int(dex.method_name[int(target)])))
        setter = INT_SETTERS.get(key)
        if setter is None:
            continue
        kind, arg = setter
        regs = invoke_registers(units, int(call_pc))
        if len(regs) <= arg:
            continue
        value = constants_before(units, dex, int(call_pc)).get(regs[arg])
        if value in PRECISE_INTS[kind]:
            precise.append(PRECISE_INTS[kind][value])
        elif value in APPROXIMATE_INTS[kind]:
            approximate.append(APPROXIMATE_INTS[kind][value])
    precise = sorted(set(precise))
    approximate = sorted(set(approximate))
    if precise and not approximate:
        return "precise", "; ".join(precise)
    if approximate and not precise:
        return "approximate", "; ".join(approximate)
    if precise and approximate:
        return "unspecified", "; ".join(precise + approximate)
    return "unspecified", ""
