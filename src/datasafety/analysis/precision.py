"""Precise or approximate: evidence from the arguments a location call site builds.

Decodes the caller method's instructions on demand (one method, never the
whole app) and looks for what fixes the grain of the request, in the same
method:

- provider strings: ``"gps"`` (``LocationManager.GPS_PROVIDER``, documented as
  needing FINE) is precise; ``"network"`` alone is approximate.
  https://developer.android.com/reference/android/location/LocationManager#GPS_PROVIDER
- Play services priorities set with an int constant: ``PRIORITY_HIGH_ACCURACY``
  = 100 is precise; 102 (balanced), 104 (low power), 105 (passive) are not.
  https://developers.google.com/android/reference/com/google/android/gms/location/Priority
- ``Granularity``: ``GRANULARITY_FINE`` = 2 is precise, ``GRANULARITY_COARSE`` = 1
  is approximate.
  https://developers.google.com/android/reference/com/google/android/gms/location/Granularity
- ``Criteria.setAccuracy(ACCURACY_FINE=1 | ACCURACY_COARSE=2)``.
  https://developer.android.com/reference/android/location/Criteria

This is method-level evidence: a request built in another method is reported
as ``unspecified``, and then the call site counts for both grains.
"""

from __future__ import annotations

import numpy as np

from datasafety.app.dex import kernels
from datasafety.app.dex.index import DexIndex

LOCATION_TYPES = {"precise_location", "approximate_location"}

PRIORITY_SETTERS = {
    ("Lcom/google/android/gms/location/LocationRequest;", "setPriority"),
    ("Lcom/google/android/gms/location/LocationRequest$Builder;", "setPriority"),
    ("Lcom/google/android/gms/location/LocationRequest$Builder;", "<init>"),
    ("Lcom/google/android/gms/location/CurrentLocationRequest$Builder;", "setPriority"),
    ("Landroid/location/LocationRequest$Builder;", "setQuality"),
}
GRANULARITY_SETTERS = {
    ("Lcom/google/android/gms/location/LocationRequest$Builder;", "setGranularity"),
    ("Lcom/google/android/gms/location/CurrentLocationRequest$Builder;", "setGranularity"),
    ("Lcom/google/android/gms/location/LastLocationRequest$Builder;", "setGranularity"),
}
CRITERIA_SETTERS = {("Landroid/location/Criteria;", "setAccuracy")}


def int_constants(units: np.ndarray) -> set[int]:
    """Values loaded by ``const/4``, ``const/16`` and ``const`` in a code-unit array."""
    values: set[int] = set()
    pc = 0
    n = len(units)
    widths = kernels.OPCODE_WIDTHS
    while pc < n:
        unit = int(units[pc])
        op = unit & 0xFF
        if op == 0 and (unit >> 8) in (1, 2, 3):
            if pc + 3 >= n:
                break
            ident = unit >> 8
            if ident == 1:
                pc += int(units[pc + 1]) * 2 + 4
            elif ident == 2:
                pc += int(units[pc + 1]) * 4 + 2
            else:
                size = int(units[pc + 2]) | (int(units[pc + 3]) << 16)
                pc += (size * int(units[pc + 1]) + 1) // 2 + 4
            continue
        if op == 0x12:
            v = (unit >> 12) & 0xF
            values.add(v - 16 if v >= 8 else v)
        elif op == 0x13 and pc + 1 < n:
            v = int(units[pc + 1])
            values.add(v - 65536 if v >= 32768 else v)
        elif op == 0x14 and pc + 2 < n:
            v = int(units[pc + 1]) | (int(units[pc + 2]) << 16)
            values.add(v - (1 << 32) if v >= (1 << 31) else v)
        pc += int(widths[op])
    return values


def _row_refs(dex: DexIndex, row: int) -> tuple[np.ndarray, np.ndarray]:
    lo = np.searchsorted(dex.ref_row, row, side="left")
    hi = np.searchsorted(dex.ref_row, row, side="right")
    return dex.ref_kind[lo:hi], dex.ref_target[lo:hi]


def location_precision(dex: DexIndex, row: int) -> tuple[str, str]:
    """(``precise`` | ``approximate`` | ``unspecified``, evidence text) for a caller method row."""
    kinds, targets = _row_refs(dex, row)
    strings = {dex.string(int(t)) for t in targets[kinds == kernels.REF_STRING]}
    invoked = set()
    for t in targets[kinds == kernels.REF_INVOKE]:
        cls = dex.type_name(int(dex.method_class[int(t)]))
        invoked.add((cls, dex.string(int(dex.method_name[int(t)]))))
    precise: list[str] = []
    approximate: list[str] = []
    if "gps" in strings:
        precise.append('provider "gps" (GPS_PROVIDER)')
    if "network" in strings and "gps" not in strings:
        approximate.append('provider "network" (NETWORK_PROVIDER)')
    needs_ints = invoked & (PRIORITY_SETTERS | GRANULARITY_SETTERS | CRITERIA_SETTERS)
    if needs_ints:
        consts = int_constants(dex.code_units(row))
        if invoked & PRIORITY_SETTERS:
            if 100 in consts:
                precise.append("priority 100 (PRIORITY_HIGH_ACCURACY)")
            elif consts & {102, 104}:
                approximate.append("priority %d (balanced / low power)" % min(consts & {102, 104}))
        if invoked & GRANULARITY_SETTERS:
            if 2 in consts:
                precise.append("granularity 2 (GRANULARITY_FINE)")
            elif 1 in consts:
                approximate.append("granularity 1 (GRANULARITY_COARSE)")
        if invoked & CRITERIA_SETTERS:
            if 1 in consts:
                precise.append("Criteria accuracy 1 (ACCURACY_FINE)")
            elif 2 in consts:
                approximate.append("Criteria accuracy 2 (ACCURACY_COARSE)")
    if precise and not approximate:
        return "precise", "; ".join(precise)
    if approximate and not precise:
        return "approximate", "; ".join(approximate)
    if precise and approximate:
        return "unspecified", "; ".join(precise + approximate)
    return "unspecified", ""
