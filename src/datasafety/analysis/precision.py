"""Precise or approximate: evidence from the arguments a location call site passes.

Decodes the caller method's instructions on demand with the taint stage's
decoder (:func:`datasafety.analysis.taint.ir.decode_method`; one method, never the
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

from datasafety.analysis.taint import ir
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

# Instruction families that write their ``a`` register (ir.Insn.a) with a value we do not track.
_WRITES_A = {
    ir.MOVE_RESULT, ir.MOVE_EXCEPTION, ir.CONST_CLASS, ir.INSTANCE_OF, ir.ARRAY_LENGTH, ir.NEW_INSTANCE,
    ir.NEW_ARRAY, ir.CMP, ir.AGET, ir.IGET, ir.SGET, ir.UNOP, ir.BINOP, ir.BINOP_LIT,
}


def constants_before(code: ir.MethodCode, dex: DexIndex, stop_pc: int) -> dict[int, int | str]:
    """Register -> constant (int, or decoded string) as last written before ``stop_pc``, in code order."""
    regs: dict[int, int | str] = {}
    for insn in code.insns:
        if insn.pc >= stop_pc:
            break
        if insn.kind == ir.CONST and insn.sub != "wide":
            regs[insn.a] = insn.lit
        elif insn.kind == ir.CONST_STRING:
            regs[insn.a] = dex.string(insn.idx)
        elif insn.kind == ir.MOVE and insn.op not in (0x03, 0x06, 0x09) and insn.b in regs:
            regs[insn.a] = regs[insn.b]
        elif insn.kind in _WRITES_A or insn.kind in (ir.MOVE, ir.CONST):
            regs.pop(insn.a, None)
    return regs


def _invoke_args(code: ir.MethodCode, pc: int) -> tuple[int, ...]:
    """Argument registers of the invoke at ``pc`` (receiver first for instance calls)."""
    position = code.at.get(pc)
    if position is None or code.insns[position].kind != ir.INVOKE:
        return ()
    return code.insns[position].args


def location_precision(dex: DexIndex, row: int, pc: int, method_idx: int | None) -> tuple[str, str]:
    """(``precise`` | ``approximate`` | ``unspecified``, evidence) for the call at ``pc`` in method ``row``.

    ``method_idx``: the called method id (None for field / string call sites).
    """
    code = ir.decode_method(dex, row)
    if code is None or pc not in code.at:
        return "unspecified", ""
    precise: list[str] = []
    approximate: list[str] = []
    if method_idx is not None:
        cls = dex.type_name(int(dex.method_class[method_idx]))
        proto = dex.proto_descriptor(int(dex.method_proto[method_idx]))
        if cls == "Landroid/location/LocationManager;" and proto.startswith("(Ljava/lang/String;"):
            regs = _invoke_args(code, pc)
            if len(regs) >= 2:
                provider = constants_before(code, dex, pc).get(regs[1])
                if provider == "gps":
                    return "precise", 'provider "gps" (GPS_PROVIDER)'
                if provider == "network":
                    return "approximate", 'provider "network" (NETWORK_PROVIDER)'
                if isinstance(provider, str):
                    return "unspecified", f'provider "{provider}"'

    # Request builders called in the same method, with the constant they are given.
    kinds, targets, pcs = dex.row_refs(row)
    for target, call_pc in zip(targets[kinds == kernels.REF_INVOKE], pcs[kinds == kernels.REF_INVOKE]):
        key = (dex.type_name(int(dex.method_class[int(target)])), dex.string(int(dex.method_name[int(target)])))
        setter = INT_SETTERS.get(key)
        if setter is None:
            continue
        kind, arg = setter
        regs = _invoke_args(code, int(call_pc))
        if len(regs) <= arg:
            continue
        value = constants_before(code, dex, int(call_pc)).get(regs[arg])
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
