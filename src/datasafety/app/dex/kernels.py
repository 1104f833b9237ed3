"""Compiled passes over raw DEX bytes (Numba).

Every function here takes the DEX file as a ``uint8`` array and works on table
offsets; none allocates a Python object per string, method or instruction.
All reads are bounds-checked by hand, because Numba does not check array
bounds and the input is hostile: a bad offset yields a flag, never a crash.

Format reference: https://source.android.com/docs/core/runtime/dex-format and
https://source.android.com/docs/core/runtime/dalvik-bytecode (instruction
formats and widths).
"""

from __future__ import annotations

import numpy as np
from numba import njit

# Reference kinds emitted by :func:`scan_code`.
REF_INVOKE = 0
REF_FIELD_READ = 1
REF_FIELD_WRITE = 2
REF_STRING = 3
REF_TYPE = 4

FNV_OFFSET = np.uint64(0xCBF29CE484222325)
FNV_PRIME = np.uint64(0x100000001B3)


def _build_widths() -> np.ndarray:
    """Width in 16-bit code units of each opcode (Dalvik bytecode table)."""
    w = np.ones(256, dtype=np.int32)
    two = [0x02, 0x05, 0x08, 0x13, 0x15, 0x16, 0x19, 0x1A, 0x1C, 0x1F, 0x20, 0x22, 0x23, 0x29, 0xFE, 0xFF]
    three = [0x03, 0x06, 0x09, 0x14, 0x17, 0x1B, 0x24, 0x25, 0x26, 0x2A, 0x2B, 0x2C]
    for op in two:
        w[op] = 2
    for op in three:
        w[op] = 3
    w[0x18] = 5  # const-wide
    w[0x2D:0x38] = 2  # cmp*, if-test
    w[0x38:0x3E] = 2  # if-testz
    w[0x44:0x6E] = 2  # aget/aput, iget/iput, sget/sput
    w[0x6E:0x73] = 3  # invoke-kind
    w[0x74:0x79] = 3  # invoke-kind/range
    w[0x90:0xB0] = 2  # binop
    w[0xD0:0xE3] = 2  # binop/lit16, binop/lit8
    w[0xFA] = 4  # invoke-polymorphic
    w[0xFB] = 4
    w[0xFC] = 3  # invoke-custom
    w[0xFD] = 3
    return w


OPCODE_WIDTHS = _build_widths()


@njit(cache=True, nogil=True)
def _u16(buf, off):
    return np.int64(buf[off]) | (np.int64(buf[off + 1]) << 8)


@njit(cache=True, nogil=True)
def _u32(buf, off):
    return (
        np.int64(buf[off])
        | (np.int64(buf[off + 1]) << 8)
        | (np.int64(buf[off + 2]) << 16)
        | (np.int64(buf[off + 3]) << 24)
    )


@njit(cache=True, nogil=True)
def _uleb(buf, off, n):
    """Decode a ULEB128 at ``off``. Returns (value, next offset); next = -1 when malformed."""
    result = np.int64(0)
    shift = 0
    while True:
        if off >= n or shift > 28:
            return np.int64(0), np.int64(-1)
        b = np.int64(buf[off])
        off += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return result, np.int64(off)
        shift += 7


@njit(cache=True, nogil=True)
def string_data_starts(buf, string_ids_off, count):
    """Offset of each string's MUTF-8 bytes (after the ULEB length); -1 when out of bounds."""
    n = buf.shape[0]
    out = np.full(count, -1, dtype=np.int64)
    for i in range(count):
        p = string_ids_off + 4 * i
        if p + 4 > n:
            break
        off = _u32(buf, p)
        if off >= n:
            continue
        _, nxt = _uleb(buf, off, n)
        if nxt >= 0:
            out[i] = nxt
    return out


@njit(cache=True, nogil=True)
def string_hashes(buf, starts, max_total):
    """FNV-1a 64 of each string's bytes (up to its NUL terminator); 0 for a missing string.

    ``max_total`` bounds the bytes read over all strings (hostile files point many
    ids into one huge unterminated string); strings past it hash to 0. Returns
    (hashes, number of strings left unhashed).
    """
    n = buf.shape[0]
    out = np.zeros(starts.shape[0], dtype=np.uint64)
    total = np.int64(0)
    skipped = 0
    for i in range(starts.shape[0]):
        p = starts[i]
        if p < 0:
            continue
        if total > max_total:
            skipped += 1
            continue
        h = FNV_OFFSET
        while p < n and buf[p] != 0:
            h = (h ^ np.uint64(buf[p])) * FNV_PRIME
            p += 1
            total += 1
        out[i] = h
    return out, skipped


@njit(cache=True, nogil=True)
def strings_with_prefix(buf, starts, prefix):
    """Boolean mask of strings whose bytes start with ``prefix`` (uint8 array)."""
    n = buf.shape[0]
    m = prefix.shape[0]
    out = np.zeros(starts.shape[0], dtype=np.bool_)
    for i in range(starts.shape[0]):
        p = starts[i]
        if p < 0 or p + m > n:
            continue
        ok = True
        for k in range(m):
            if buf[p + k] != prefix[k]:
                ok = False
                break
        out[i] = ok
    return out


@njit(cache=True, nogil=True)
def descriptor_prefix_match(buf, starts, lengths_set, pattern_hashes, pattern_ids):
    """Longest pattern matching the start of each class descriptor.

    ``starts``: offset of each descriptor (``Lcom/foo/Bar;``). The leading ``L``
    is skipped, and ``/`` and ``$`` hash as ``.``, so patterns are dotted
    names (``com.foo.``). ``lengths_set``: bool array, True at each pattern
    length. ``pattern_hashes`` is sorted, ``pattern_ids`` aligned with it.
    Returns the matching pattern id per descriptor, -1 for none.
    """
    n = buf.shape[0]
    maxlen = lengths_set.shape[0]
    out = np.full(starts.shape[0], -1, dtype=np.int32)
    npat = pattern_hashes.shape[0]
    for i in range(starts.shape[0]):
        p = starts[i]
        if p < 0 or p >= n or buf[p] != 76:  # 'L'
            continue
        p += 1
        h = FNV_OFFSET
        length = 0
        while p < n and buf[p] != 0 and length < maxlen - 1:
            c = buf[p]
            if c == 47 or c == 36:  # '/' or '$'
                c = 46
            h = (h ^ np.uint64(c)) * FNV_PRIME
            length += 1
            p += 1
            if lengths_set[length]:
                lo = 0
                hi = npat
                while lo < hi:
                    mid = (lo + hi) >> 1
                    if pattern_hashes[mid] < h:
                        lo = mid + 1
                    else:
                        hi = mid
                if lo < npat and pattern_hashes[lo] == h:
                    out[i] = pattern_ids[lo]
    return out


@njit(cache=True, nogil=True)
def _class_data_header(buf, off, n):
    """The four ULEB128 counts opening a ``class_data_item``: (static fields, instance
    fields, direct methods, virtual methods, next offset); next offset -1 when malformed."""
    counts = np.zeros(4, dtype=np.int64)
    if off >= n:
        return np.int64(0), np.int64(0), np.int64(0), np.int64(0), np.int64(-1)
    for i in range(4):
        counts[i], off = _uleb(buf, off, n)
        if off < 0:
            break
    return counts[0], counts[1], counts[2], counts[3], off


@njit(cache=True, nogil=True)
def parse_class_data(buf, class_data_offs, method_ids_size):
    """Walk every ``class_data_item``.

    Returns ``(class_row, method_idx, access_flags, code_off, bad)`` for every
    defined method (direct then virtual, in file order), and ``bad``: per class,
    1 when its class data was truncated or malformed.
    """
    n = buf.shape[0]
    ncls = class_data_offs.shape[0]
    bad = np.zeros(ncls, dtype=np.uint8)
    # Pass 1: count methods.
    total = 0
    for c in range(ncls):
        off = class_data_offs[c]
        if off == 0:
            continue
        sf, inf, dm, vm, off = _class_data_header(buf, off, n)
        if off < 0:
            bad[c] = 1
            continue
        # A valid DEX defines each method id at most once: more definitions than ids is hostile.
        if dm + vm > method_ids_size or total + dm + vm > method_ids_size:
            bad[c] = 1
            continue
        total += dm + vm
    cls = np.empty(total, dtype=np.int32)
    midx = np.empty(total, dtype=np.int32)
    flags = np.empty(total, dtype=np.int32)
    codes = np.empty(total, dtype=np.int64)
    k = 0
    for c in range(ncls):
        off = class_data_offs[c]
        if off == 0 or bad[c]:
            continue
        sf, inf, dm, vm, off = _class_data_header(buf, off, n)
        for _ in range(sf + inf):
            _, off = _uleb(buf, off, n)
            if off < 0:
                break
            _, off = _uleb(buf, off, n)
            if off < 0:
                break
        if off < 0:
            bad[c] = 1
            continue
        for group in range(2):
            count = dm if group == 0 else vm
            idx = np.int64(0)
            for _ in range(count):
                diff, off = _uleb(buf, off, n)
                if off < 0:
                    break
                af, off = _uleb(buf, off, n)
                if off < 0:
                    break
                co, off = _uleb(buf, off, n)
                if off < 0:
                    break
                idx += diff
                if k < total:
                    cls[k] = c
                    midx[k] = idx if idx < method_ids_size else -1
                    flags[k] = af
                    codes[k] = co
                    k += 1
            if off < 0:
                bad[c] = 1
                break
    return cls[:k], midx[:k], flags[:k], codes[:k], bad


@njit(cache=True, nogil=True)
def _sweep(buf, code_off, widths, emit, row, kinds, targets, pcs, rows, k, limits):
    """Linear sweep of one code item; counts (emit=False) or writes refs.

    ``limits``: (method_ids_size, field_ids_size, string_ids_size, type_ids_size).
    Returns (new k, status) where status 0 = ok, 1 = truncated / out of bounds.
    """
    n = buf.shape[0]
    if code_off <= 0 or code_off + 16 > n:
        return k, 1
    insns_size = _u32(buf, code_off + 12)
    start = code_off + 16
    end = start + 2 * insns_size
    if end > n:
        return k, 1
    pc = np.int64(0)
    while pc < insns_size:
        p = start + 2 * pc
        op = np.int64(buf[p])
        if op == 0:
            ident = np.int64(buf[p + 1])
            if ident == 1 or ident == 2 or ident == 3:
                if p + 8 > end:
                    return k, 1
                if ident == 1:  # packed-switch-payload
                    size = _u16(buf, p + 2)
                    width = size * 2 + 4
                elif ident == 2:  # sparse-switch-payload
                    size = _u16(buf, p + 2)
                    width = size * 4 + 2
                else:  # fill-array-data-payload
                    ew = _u16(buf, p + 2)
                    size = _u32(buf, p + 4)
                    width = (size * ew + 1) // 2 + 4
                pc += width
                continue
            pc += 1
            continue
        w = widths[op]
        if pc + w > insns_size:
            return k, 1
        kind = -1
        target = np.int64(-1)
        if (0x6E <= op <= 0x72) or (0x74 <= op <= 0x78) or op == 0xFA or op == 0xFB:
            kind = 0
            target = _u16(buf, p + 2)
            if target >= limits[0]:
                kind = -1
        elif 0x52 <= op <= 0x6D:
            rel = op - 0x52 if op < 0x60 else op - 0x60
            kind = 1 if rel < 7 else 2
            target = _u16(buf, p + 2)
            if target >= limits[1]:
                kind = -1
        elif op == 0x1A:
            kind = 3
            target = _u16(buf, p + 2)
            if target >= limits[2]:
                kind = -1
        elif op == 0x1B:
            kind = 3
            target = _u32(buf, p + 2)
            if target >= limits[2]:
                kind = -1
        elif op == 0x1C or op == 0x22:
            kind = 4
            target = _u16(buf, p + 2)
            if target >= limits[3]:
                kind = -1
        if kind >= 0:
            if emit:
                kinds[k] = kind
                targets[k] = target
                pcs[k] = pc
                rows[k] = row
            k += 1
        pc += w
    return k, 0


@njit(cache=True, nogil=True)
def scan_code(buf, code_offs, widths, limits):
    """One pass over every method body: invoke, field, const-string and type references.

    Returns ``(kind, target, pc, method_row, status)``: ``kind`` is one of the
    ``REF_*`` constants, ``target`` the method / field / string / type index,
    ``pc`` the instruction offset in 16-bit units, ``method_row`` the index
    into ``code_offs``; ``status`` per method is 0 ok, 1 truncated, 2 no code,
    3 skipped (the bodies swept so far already exceed the file's size).
    """
    m = code_offs.shape[0]
    status = np.zeros(m, dtype=np.uint8)
    dummy8 = np.empty(0, dtype=np.uint8)
    dummy32 = np.empty(0, dtype=np.int32)
    dummy64 = np.empty(0, dtype=np.int64)
    total = 0
    # Code items of a valid DEX do not overlap, so all bodies together are at most
    # the file's size: sweeping more than that means overlapping (hostile) items.
    units_left = np.int64(buf.shape[0])
    for i in range(m):
        if code_offs[i] == 0:
            status[i] = 2
            continue
        off = code_offs[i]
        if off > 0 and off + 16 <= buf.shape[0]:
            units_left -= _u32(buf, off + 12)
        if units_left < 0:
            status[i] = 3
            continue
        total, st = _sweep(buf, code_offs[i], widths, False, i, dummy8, dummy64, dummy32, dummy32, total, limits)
        status[i] = st
    kinds = np.empty(total, dtype=np.uint8)
    targets = np.empty(total, dtype=np.int64)
    pcs = np.empty(total, dtype=np.int32)
    rows = np.empty(total, dtype=np.int32)
    k = 0
    for i in range(m):
        if status[i] == 2 or status[i] == 3:
            continue
        k, st = _sweep(buf, code_offs[i], widths, True, i, kinds, targets, pcs, rows, k, limits)
    return kinds[:k], targets[:k], pcs[:k], rows[:k], status


@njit(cache=True, nogil=True)
def strings_containing(buf, starts, needle):
    """Boolean mask of strings whose bytes contain ``needle`` (uint8 array), case-sensitive."""
    n = buf.shape[0]
    m = needle.shape[0]
    out = np.zeros(starts.shape[0], dtype=np.bool_)
    if m == 0:
        return out
    first = needle[0]
    for i in range(starts.shape[0]):
        p = starts[i]
        if p < 0:
            continue
        while p + m <= n and buf[p] != 0:
            if buf[p] == first:
                ok = True
                for k in range(1, m):
                    if buf[p + k] != needle[k]:
                        ok = False
                        break
                if ok:
                    out[i] = True
                    break
            p += 1
    return out
