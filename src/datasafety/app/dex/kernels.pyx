# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Compiled passes over raw DEX bytes (Cython).

Every function here takes the DEX file as a ``uint8`` array (any contiguous
buffer of bytes) and works on table offsets; none allocates a Python object
per string, method or instruction. Every loop runs with the GIL released, so
the ``--jobs`` threads index DEX files in parallel.

Array bounds are not checked by the compiler (``boundscheck=False``): every
read is bounds-checked by hand, because the input is hostile: a bad offset
yields a flag, never a crash.

Format reference: https://source.android.com/docs/core/runtime/dex-format and
https://source.android.com/docs/core/runtime/dalvik-bytecode (instruction
formats and widths).
"""

import numpy as np

from libc.stdint cimport int8_t, int32_t, int64_t, uint8_t, uint64_t
from libc.stdlib cimport free, realloc
from libc.string cimport memcpy, memset

from datasafety.app.dex.dexbytes cimport _ptr, _u16, _u32, _uleb, _ulebs

# Reference kinds emitted by :func:`scan_code`.
REF_INVOKE = 0
REF_FIELD_READ = 1
REF_FIELD_WRITE = 2
REF_STRING = 3
REF_TYPE = 4

FNV_OFFSET = np.uint64(0xCBF29CE484222325)
FNV_PRIME = np.uint64(0x100000001B3)

cdef uint64_t _FNV_OFFSET = 0xCBF29CE484222325ULL
cdef uint64_t _FNV_PRIME = 0x100000001B3ULL


def _build_widths():
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


# ----------------------------------------------------------------- helpers

def _i64(a):
    return np.ascontiguousarray(a, dtype=np.int64)


def _u8(a):
    """A bool or uint8 array as contiguous uint8 (bool memoryviews are not supported)."""
    a = np.ascontiguousarray(a)
    if a.dtype == np.bool_:
        return a.view(np.uint8)
    return np.ascontiguousarray(a, dtype=np.uint8)


# ----------------------------------------------------------------- strings

def string_data_starts(const uint8_t[::1] buf, int64_t string_ids_off, int64_t count):
    """Offset of each string's MUTF-8 bytes (after the ULEB length); -1 when out of bounds."""
    cdef int64_t n = buf.shape[0]
    cdef const uint8_t* b = _ptr(buf)
    out = np.full(max(count, 0), -1, dtype=np.int64)
    cdef int64_t[::1] o = out
    cdef int64_t i, p, off, nxt, ignored
    with nogil:
        for i in range(count):
            p = string_ids_off + 4 * i
            if p < 0 or p + 4 > n:
                break
            off = _u32(b, p)
            if off >= n:
                continue
            nxt = _uleb(b, off, n, &ignored)
            if nxt >= 0:
                o[i] = nxt
    return out


def string_hashes(const uint8_t[::1] buf, starts, int64_t max_total):
    """FNV-1a 64 of each string's bytes (up to its NUL terminator); 0 for a missing string.

    ``max_total`` bounds the bytes read over all strings (hostile files point many
    ids into one huge unterminated string); strings past it hash to 0. Returns
    (hashes, number of strings left unhashed).
    """
    cdef const int64_t[::1] s = _i64(starts)
    cdef int64_t n = buf.shape[0]
    cdef const uint8_t* b = _ptr(buf)
    cdef Py_ssize_t m = s.shape[0]
    out = np.zeros(m, dtype=np.uint64)
    cdef uint64_t[::1] o = out
    cdef int64_t total = 0, skipped = 0, p
    cdef Py_ssize_t i
    cdef uint64_t h
    with nogil:
        for i in range(m):
            p = s[i]
            if p < 0:
                continue
            if total > max_total:
                skipped += 1
                continue
            h = _FNV_OFFSET
            while p < n and b[p] != 0:
                h = (h ^ b[p]) * _FNV_PRIME
                p += 1
                total += 1
            o[i] = h
    return out, skipped


cdef uint64_t _fnv1a_bytes(const uint8_t* p, Py_ssize_t length) noexcept nogil:
    cdef uint64_t h = _FNV_OFFSET
    cdef Py_ssize_t i
    for i in range(length):
        h = (h ^ p[i]) * _FNV_PRIME
    return h


def fnv1a_many(list raws):
    """FNV-1a 64 of each ``bytes`` in ``raws`` (the hash of :func:`string_hashes`), as uint64."""
    cdef Py_ssize_t m = len(raws), i
    out = np.empty(m, dtype=np.uint64)
    cdef uint64_t[::1] o = out
    cdef const uint8_t[::1] raw
    for i in range(m):
        raw = raws[i]
        o[i] = _fnv1a_bytes(_ptr(raw), raw.shape[0])
    return out


cdef inline int64_t _find_hash(const uint64_t* hashes, int64_t count, uint64_t h) noexcept nogil:
    """First position of ``h`` in the sorted ``hashes``; ``count`` when absent."""
    cdef int64_t lo = 0, hi = count, mid
    while lo < hi:
        mid = (lo + hi) >> 1
        if hashes[mid] < h:
            lo = mid + 1
        else:
            hi = mid
    if lo < count and hashes[lo] == h:
        return lo
    return count


cdef inline bint _string_equals(const uint8_t* b, int64_t n, int64_t p, const uint8_t* q, int64_t length) noexcept nogil:
    """The string at ``p`` (bytes up to its NUL terminator or the end of the file) equals ``q``."""
    cdef int64_t k
    if p < 0 or p + length > n:
        return False
    for k in range(length):
        if b[p + k] == 0 or b[p + k] != q[k]:
            return False
    return p + length == n or b[p + length] == 0


def match_strings(const uint8_t[::1] buf, starts, string_hashes, query_hashes, query_order, query_blob, query_offs, query_filter):
    """Indices of the strings equal to each query, by hash then bytes, without sorting the strings.

    Query ``j`` is ``query_blob[query_offs[j]:query_offs[j + 1]]``;
    ``query_hashes`` holds the FNV-1a 64 (:func:`string_hashes`) of every query,
    sorted, and ``query_order`` the query of each; ``query_filter`` (uint8,
    65536 entries) is 1 at the top 16 bits of each query hash. A string matches
    a query when its hash in ``string_hashes`` is the query's and its bytes are
    the query's. Returns CSR ``(ptr, items)`` (int64): the strings equal to
    query ``j`` are ``items[ptr[j]:ptr[j + 1]]``, ascending. Runs with the GIL released.
    """
    cdef const int64_t[::1] s = _i64(starts)
    cdef const uint64_t[::1] sh = np.ascontiguousarray(string_hashes, dtype=np.uint64)
    cdef const uint64_t[::1] qh = np.ascontiguousarray(query_hashes, dtype=np.uint64)
    cdef const int64_t[::1] qorder = _i64(query_order)
    cdef const uint8_t[::1] blob = _u8(query_blob)
    cdef const int64_t[::1] qoffs = _i64(query_offs)
    cdef const uint8_t[::1] filt = _u8(query_filter)
    cdef int64_t nq = qoffs.shape[0] - 1
    if nq < 0 or qh.shape[0] != nq or qorder.shape[0] != nq or filt.shape[0] != 65536 or sh.shape[0] < s.shape[0]:
        raise ValueError("match_strings: inconsistent query arrays")
    qo = np.asarray(qorder)
    qf = np.asarray(qoffs)
    if nq and (qo.min() < 0 or qo.max() >= nq or qf[0] < 0 or (np.diff(qf) < 0).any() or qf[nq] > blob.shape[0]):
        raise ValueError("match_strings: query offsets out of range")
    if nq == 0:
        return np.zeros(1, dtype=np.int64), np.zeros(0, dtype=np.int64)
    cdef int64_t n = buf.shape[0]
    cdef const uint8_t* b = _ptr(buf)
    cdef const uint8_t* q = _ptr(blob)
    cdef Py_ssize_t count = s.shape[0], i
    ptr_arr = np.zeros(nq + 1, dtype=np.int64)
    cdef int64_t[::1] ptr = ptr_arr
    cdef int64_t pos, j, total = 0
    cdef uint64_t h
    cdef int fill
    items_arr = None
    cdef int64_t[::1] items
    cdef int64_t[::1] nxt
    for fill in range(2):
        if fill:
            # ptr[j + 1] holds the count of query j: make it the CSR pointers, and ``nxt`` the write positions.
            np.cumsum(ptr_arr, out=ptr_arr)
            total = ptr_arr[nq]
            items_arr = np.empty(total, dtype=np.int64)
            if total == 0:
                break
            items = items_arr
            nxt = ptr_arr[:nq].copy()
        with nogil:
            for i in range(count):
                h = sh[i]
                if not filt[h >> 48]:
                    continue
                pos = _find_hash(&qh[0], nq, h)
                while pos < nq and qh[pos] == h:
                    j = qorder[pos]
                    if _string_equals(b, n, s[i], q + qoffs[j], qoffs[j + 1] - qoffs[j]):
                        if fill:
                            items[nxt[j]] = i
                            nxt[j] += 1
                        else:
                            ptr[j + 1] += 1
                    pos += 1
    return ptr_arr, items_arr


def strings_with_prefix(const uint8_t[::1] buf, starts, prefix):
    """Boolean mask of strings whose bytes start with ``prefix`` (uint8 array)."""
    cdef const int64_t[::1] s = _i64(starts)
    cdef const uint8_t[::1] pat = _u8(prefix)
    cdef int64_t n = buf.shape[0]
    cdef const uint8_t* b = _ptr(buf)
    cdef int64_t m = pat.shape[0]
    cdef Py_ssize_t count = s.shape[0], i
    out = np.zeros(count, dtype=np.bool_)
    cdef uint8_t[::1] o = out.view(np.uint8)
    cdef int64_t p, k
    cdef bint ok
    with nogil:
        for i in range(count):
            p = s[i]
            if p < 0 or p + m > n:
                continue
            ok = True
            for k in range(m):
                if b[p + k] != pat[k]:
                    ok = False
                    break
            o[i] = ok
    return out


def strings_containing(const uint8_t[::1] buf, starts, needle, int64_t max_total):
    """Boolean mask of strings whose bytes contain ``needle`` (uint8 array), case-sensitive.

    ``max_total`` bounds the bytes read over all strings, as in :func:`string_hashes`
    (hostile files point many ids into one huge unterminated string); strings past it
    are not searched. Returns (mask, number of strings left unsearched).
    """
    cdef const int64_t[::1] s = _i64(starts)
    cdef const uint8_t[::1] pat = _u8(needle)
    cdef int64_t n = buf.shape[0]
    cdef const uint8_t* b = _ptr(buf)
    cdef int64_t m = pat.shape[0]
    cdef Py_ssize_t count = s.shape[0], i
    out = np.zeros(count, dtype=np.bool_)
    if m == 0:
        return out, 0
    cdef uint8_t[::1] o = out.view(np.uint8)
    cdef uint8_t first = pat[0]
    cdef int64_t p, k, total = 0, skipped = 0
    cdef bint ok
    with nogil:
        for i in range(count):
            p = s[i]
            if p < 0:
                continue
            if total > max_total:
                skipped += 1
                continue
            while p + m <= n and b[p] != 0:
                if b[p] == first:
                    ok = True
                    for k in range(1, m):
                        if b[p + k] != pat[k]:
                            ok = False
                            break
                    if ok:
                        o[i] = 1
                        break
                p += 1
                total += 1
    return out, skipped


def descriptor_prefix_match(const uint8_t[::1] buf, starts, lengths_set, pattern_hashes, pattern_ids):
    """Longest pattern matching the start of each class descriptor.

    ``starts``: offset of each descriptor (``Lcom/foo/Bar;``). The leading ``L``
    is skipped, and ``/`` and ``$`` hash as ``.``, so patterns are dotted
    names (``com.foo.``). ``lengths_set``: bool array, True at each pattern
    length. ``pattern_hashes`` is sorted, ``pattern_ids`` aligned with it.
    Returns the matching pattern id per descriptor (int32), -1 for none.
    """
    cdef const int64_t[::1] s = _i64(starts)
    cdef const uint8_t[::1] lengths = _u8(lengths_set)
    cdef const uint64_t[::1] hashes = np.ascontiguousarray(pattern_hashes, dtype=np.uint64)
    cdef const int32_t[::1] ids = np.ascontiguousarray(pattern_ids, dtype=np.int32)
    if ids.shape[0] < hashes.shape[0]:
        raise ValueError("pattern_ids is shorter than pattern_hashes")
    cdef int64_t n = buf.shape[0]
    cdef const uint8_t* b = _ptr(buf)
    cdef int64_t maxlen = lengths.shape[0]
    cdef Py_ssize_t count = s.shape[0], i
    out = np.full(count, -1, dtype=np.int32)
    cdef int32_t[::1] o = out
    cdef int64_t npat = hashes.shape[0], lo
    cdef const uint64_t* hp = &hashes[0] if npat > 0 else NULL
    cdef int64_t p, length
    cdef uint8_t c
    cdef uint64_t h
    with nogil:
        for i in range(count):
            p = s[i]
            if p < 0 or p >= n or b[p] != 76:  # 'L'
                continue
            p += 1
            h = _FNV_OFFSET
            length = 0
            while p < n and b[p] != 0 and length < maxlen - 1:
                c = b[p]
                if c == 47 or c == 36:  # '/' or '$'
                    c = 46
                h = (h ^ c) * _FNV_PRIME
                length += 1
                p += 1
                if lengths[length]:
                    lo = _find_hash(hp, npat, h)
                    if lo < npat:
                        o[i] = ids[lo]
    return out


# -------------------------------------------------------------- class data

cdef inline int64_t _class_data_header(const uint8_t* b, int64_t off, int64_t n, int64_t* counts) noexcept nogil:
    """The four ULEB128 counts opening a ``class_data_item`` into ``counts`` (static fields,
    instance fields, direct methods, virtual methods). Returns the next offset, -1 when malformed."""
    cdef int j
    for j in range(4):
        counts[j] = 0
    if off < 0 or off >= n:
        return -1
    return _ulebs(b, off, n, counts, 4)


def parse_class_data(const uint8_t[::1] buf, class_data_offs, int64_t method_ids_size):
    """Walk every ``class_data_item``.

    Returns ``(class_row, method_idx, access_flags, code_off, bad)`` for every
    defined method (direct then virtual, in file order), and ``bad``: per class,
    1 when its class data was truncated or malformed, 2 when it was not read (or
    only partly read) because the class data read so far already exceeds the
    budget. The budget is twice the file's size in ULEB bytes, over both passes:
    the class data items of a valid DEX do not overlap, so it reads each byte at
    most once per pass; ``class_data_offs`` must not repeat an offset.
    """
    cdef const int64_t[::1] offs = _i64(class_data_offs)
    cdef int64_t n = buf.shape[0]
    cdef const uint8_t* b = _ptr(buf)
    cdef Py_ssize_t ncls = offs.shape[0], c
    bad_arr = np.zeros(ncls, dtype=np.uint8)
    cdef uint8_t[::1] bad = bad_arr
    cdef int64_t counts[4]
    cdef int64_t item[3]
    cdef int64_t total = 0, off, dm, vm, j, count, idx, k = 0
    cdef int64_t used = 0, budget = 2 * n, start, last
    cdef int group
    cdef bint over
    # Pass 1: count methods.
    with nogil:
        for c in range(ncls):
            off = offs[c]
            if off == 0:
                continue
            if used > budget:
                bad[c] = 2
                continue
            start = off
            off = _class_data_header(b, off, n, counts)
            if off < 0:
                bad[c] = 1
                continue
            used += off - start
            dm = counts[2]
            vm = counts[3]
            # A valid DEX defines each method id at most once: more definitions than ids is hostile.
            if dm + vm > method_ids_size or total + dm + vm > method_ids_size:
                bad[c] = 1
                continue
            total += dm + vm
    cls_arr = np.empty(total, dtype=np.int32)
    midx_arr = np.empty(total, dtype=np.int32)
    flags_arr = np.empty(total, dtype=np.int32)
    codes_arr = np.empty(total, dtype=np.int64)
    cdef int32_t[::1] cls = cls_arr
    cdef int32_t[::1] midx = midx_arr
    cdef int32_t[::1] flags = flags_arr
    cdef int64_t[::1] codes = codes_arr
    # Pass 2: fill.
    with nogil:
        for c in range(ncls):
            off = offs[c]
            if off == 0 or bad[c]:
                continue
            if used > budget:
                bad[c] = 2
                continue
            start = off
            off = _class_data_header(b, off, n, counts)
            last = off
            over = False
            j = 0
            while j < counts[0] + counts[1]:  # skip encoded fields: (field_idx_diff, access_flags)
                if used + (last - start) > budget:
                    over = True
                    break
                off = _ulebs(b, off, n, item, 2)  # field_idx_diff, access_flags
                if off < 0:
                    break
                last = off
                j += 1
            if over:
                bad[c] = 2
                used += last - start
                continue
            if off < 0:
                bad[c] = 1
                used += last - start
                continue
            for group in range(2):
                count = counts[2] if group == 0 else counts[3]
                idx = 0
                j = 0
                while j < count:
                    if used + (last - start) > budget:
                        over = True
                        break
                    off = _ulebs(b, off, n, item, 3)  # method_idx_diff, access_flags, code_off
                    if off < 0:
                        break
                    last = off
                    idx += item[0]
                    if k < total:
                        cls[k] = <int32_t>c
                        midx[k] = <int32_t>idx if idx < method_ids_size else -1
                        flags[k] = <int32_t>item[1]
                        codes[k] = item[2]
                        k += 1
                    j += 1
                if over:
                    bad[c] = 2
                    break
                if off < 0:
                    bad[c] = 1
                    break
            used += last - start
    return cls_arr[:k], midx_arr[:k], flags_arr[:k], codes_arr[:k], bad_arr


# -------------------------------------------------------------------- code

# Per opcode: the REF_* kind of the index it reads (-1: none), and which of the
# four ``limits`` bounds that index (method, field, string, type ids).
cdef int8_t _OP_KIND[256]
cdef int8_t _OP_TABLE[256]


def _build_op_tables():
    cdef int op
    for op in range(256):
        _OP_KIND[op] = -1
        _OP_TABLE[op] = 0
        if (0x6E <= op <= 0x72) or (0x74 <= op <= 0x78) or op == 0xFA or op == 0xFB:
            _OP_KIND[op] = REF_INVOKE  # invoke-kind, invoke-kind/range, invoke-polymorphic(/range)
            _OP_TABLE[op] = 0
        elif 0x52 <= op <= 0x6D:  # iget*/iput* (0x52-0x5f), sget*/sput* (0x60-0x6d)
            _OP_KIND[op] = REF_FIELD_READ if (op - 0x52 if op < 0x60 else op - 0x60) < 7 else REF_FIELD_WRITE
            _OP_TABLE[op] = 1
        elif op == 0x1A or op == 0x1B:  # const-string, const-string/jumbo
            _OP_KIND[op] = REF_STRING
            _OP_TABLE[op] = 2
        elif op == 0x1C or op == 0x22:  # const-class, new-instance
            _OP_KIND[op] = REF_TYPE
            _OP_TABLE[op] = 3


_build_op_tables()


cdef struct Refs:
    # Growable output of :func:`scan_code` (C heap, filled with the GIL released).
    uint8_t* kinds
    int64_t* targets
    int32_t* pcs
    int32_t* rows
    int64_t k
    int64_t cap


cdef bint _grow(Refs* r) noexcept nogil:
    """Double the capacity of ``r``. False when out of memory (``r`` stays valid)."""
    cdef int64_t cap = r.cap * 2 if r.cap > 0 else 4096
    cdef void* p
    p = realloc(r.kinds, cap * sizeof(uint8_t))
    if p == NULL:
        return False
    r.kinds = <uint8_t*>p
    p = realloc(r.targets, cap * sizeof(int64_t))
    if p == NULL:
        return False
    r.targets = <int64_t*>p
    p = realloc(r.pcs, cap * sizeof(int32_t))
    if p == NULL:
        return False
    r.pcs = <int32_t*>p
    p = realloc(r.rows, cap * sizeof(int32_t))
    if p == NULL:
        return False
    r.rows = <int32_t*>p
    r.cap = cap
    return True


cdef int _sweep(
    const uint8_t* b,
    int64_t n,
    int64_t code_off,
    const int32_t* widths,
    int32_t row,
    Refs* r,
    const int64_t* limits,
) noexcept nogil:
    """Linear sweep of one code item, appending its references to ``r``.

    ``limits``: (method_ids_size, field_ids_size, string_ids_size, type_ids_size).
    Returns the status: 0 = ok, 1 = truncated / out of bounds (the references
    before the bad instruction are kept), -1 = out of memory.
    """
    cdef int64_t insns_size, start, end, pc, p, ident, size, ew, width, w, target
    cdef int op, kind
    if code_off <= 0 or code_off + 16 > n:
        return 1
    insns_size = _u32(b, code_off + 12)
    start = code_off + 16
    end = start + 2 * insns_size
    if end > n:
        return 1
    pc = 0
    while pc < insns_size:
        p = start + 2 * pc
        op = b[p]
        if op == 0:
            ident = b[p + 1]
            if ident == 1 or ident == 2 or ident == 3:
                if p + 8 > end:
                    return 1
                if ident == 1:  # packed-switch-payload
                    size = _u16(b, p + 2)
                    width = size * 2 + 4
                elif ident == 2:  # sparse-switch-payload
                    size = _u16(b, p + 2)
                    width = size * 4 + 2
                else:  # fill-array-data-payload
                    ew = _u16(b, p + 2)
                    size = _u32(b, p + 4)
                    width = (size * ew + 1) // 2 + 4
                pc += width
                continue
            pc += 1
            continue
        w = widths[op]
        if pc + w > insns_size:
            return 1
        kind = _OP_KIND[op]
        if kind >= 0:
            # The index operand: 16 bits at p + 2 (32 bits for const-string/jumbo). OPCODE_WIDTHS
            # keeps it inside the instruction; this check only guards another width table.
            if op == 0x1B:
                if p + 6 > end:
                    return 1
                target = _u32(b, p + 2)
            else:
                if p + 4 > end:
                    return 1
                target = _u16(b, p + 2)
            if target < limits[_OP_TABLE[op]]:
                if r.k == r.cap and not _grow(r):
                    return -1
                r.kinds[r.k] = <uint8_t>kind
                r.targets[r.k] = target
                r.pcs[r.k] = <int32_t>pc
                r.rows[r.k] = row
                r.k += 1
        pc += w
    return 0


def scan_code(const uint8_t[::1] buf, code_offs, widths, limits):
    """One pass over every method body: invoke, field, const-string and type references.

    Returns ``(kind, target, pc, method_row, status)``: ``kind`` (uint8) is one of
    the ``REF_*`` constants, ``target`` (int64) the method / field / string / type
    index, ``pc`` (int32) the instruction offset in 16-bit units, ``method_row``
    (int32) the index into ``code_offs``; ``status`` (uint8) per method is 0 ok,
    1 truncated, 2 no code, 3 skipped (the bodies swept so far already exceed
    the file's size). Runs with the GIL released.
    """
    cdef const int64_t[::1] offs = _i64(code_offs)
    widths = np.ascontiguousarray(widths, dtype=np.int32)
    if widths.shape[0] < 256 or widths[:256].min() < 1:
        raise ValueError("widths: expected a 256-entry opcode width table (OPCODE_WIDTHS)")
    cdef const int32_t[::1] w = widths
    cdef const int64_t[::1] lim = _i64(limits)
    if lim.shape[0] < 4:
        raise ValueError("limits: expected 4 table sizes")
    cdef int64_t n = buf.shape[0]
    cdef const uint8_t* b = _ptr(buf)
    cdef Py_ssize_t m = offs.shape[0], i
    status_arr = np.zeros(m, dtype=np.uint8)
    cdef uint8_t[::1] status = status_arr
    cdef int64_t off, units_left
    cdef int st = 0
    cdef Refs r
    memset(&r, 0, sizeof(Refs))
    # Code items of a valid DEX do not overlap, so all bodies together are at most
    # the file's size: sweeping more than that means overlapping (hostile) items.
    units_left = n
    try:
        with nogil:
            for i in range(m):
                off = offs[i]
                if off == 0:
                    status[i] = 2
                    continue
                # Count only bodies that fit in the file (the units actually swept): a
                # truncated one is rejected by _sweep without reading it.
                if off > 0 and off + 16 <= n and off + 16 + 2 * _u32(b, off + 12) <= n:
                    units_left -= _u32(b, off + 12)
                if units_left < 0:
                    status[i] = 3
                    continue
                st = _sweep(b, n, off, &w[0], <int32_t>i, &r, &lim[0])
                if st < 0:
                    break
                status[i] = <uint8_t>st
        if st < 0:
            raise MemoryError("scan_code: out of memory")
        kinds = np.empty(r.k, dtype=np.uint8)
        targets = np.empty(r.k, dtype=np.int64)
        pcs = np.empty(r.k, dtype=np.int32)
        rows = np.empty(r.k, dtype=np.int32)
        if r.k:
            _copy_out(kinds, targets, pcs, rows, &r)
    finally:
        free(r.kinds)
        free(r.targets)
        free(r.pcs)
        free(r.rows)
    return kinds, targets, pcs, rows, status_arr


cdef void _copy_out(uint8_t[::1] kinds, int64_t[::1] targets, int32_t[::1] pcs, int32_t[::1] rows, Refs* r):
    with nogil:
        memcpy(&kinds[0], r.kinds, r.k * sizeof(uint8_t))
        memcpy(&targets[0], r.targets, r.k * sizeof(int64_t))
        memcpy(&pcs[0], r.pcs, r.k * sizeof(int32_t))
        memcpy(&rows[0], r.rows, r.k * sizeof(int32_t))
