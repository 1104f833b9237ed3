# cython: language_level=3
"""Little-endian and ULEB128 readers over raw DEX bytes, shared by the compiled kernels
(``cimport``-ed; inline, so no module of its own at run time).

``b`` points at the DEX bytes; callers check that the bytes read are in bounds, except
:func:`_uleb`, which checks against ``n`` itself. Format:
https://source.android.com/docs/core/runtime/dex-format#leb128
"""

from libc.stdint cimport int64_t, uint8_t


cdef inline int64_t _u16(const uint8_t* b, int64_t off) noexcept nogil:
    return <int64_t>b[off] | (<int64_t>b[off + 1] << 8)


cdef inline int64_t _u32(const uint8_t* b, int64_t off) noexcept nogil:
    return (
        <int64_t>b[off]
        | (<int64_t>b[off + 1] << 8)
        | (<int64_t>b[off + 2] << 16)
        | (<int64_t>b[off + 3] << 24)
    )


cdef inline int64_t _uleb(const uint8_t* b, int64_t off, int64_t n, int64_t* value) noexcept nogil:
    """Decode a ULEB128 at ``off`` into ``value``. Returns the next offset; -1 (value 0) when malformed."""
    cdef int64_t result = 0
    cdef int64_t byte
    cdef int shift = 0
    while True:
        if off < 0 or off >= n or shift > 28:
            value[0] = 0
            return -1
        byte = b[off]
        off += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            value[0] = result
            return off
        shift += 7


cdef inline int64_t _ulebs(const uint8_t* b, int64_t off, int64_t n, int64_t* values, int count) noexcept nogil:
    """Decode ``count`` consecutive ULEB128s into ``values``. Returns the next offset; -1 when one is malformed."""
    cdef int j
    for j in range(count):
        off = _uleb(b, off, n, &values[j])
        if off < 0:
            return -1
    return off


cdef inline const uint8_t* _ptr(const uint8_t[::1] buf) noexcept nogil:
    return &buf[0] if buf.shape[0] > 0 else NULL
