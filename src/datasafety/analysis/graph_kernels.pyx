# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Compiled kernels of the analysis stage: call-graph construction, dispatch and graph searches.

- DEX ``type_list`` reading and proto / sub-signature hashing (:func:`type_lists`,
  :func:`proto_keys`, :func:`mix`), for :mod:`datasafety.analysis.callgraph`;
- method resolution up the superclass chain and class-hierarchy dispatch
  (:func:`resolve_many`, :func:`cha_targets`), subtypes of a type (:func:`subtype_mask`);
- callback methods of instantiated classes (:func:`callback_methods`, for
  :mod:`datasafety.analysis.entry_points`);
- the reachability search (:func:`bfs`, for :mod:`datasafety.analysis.reachability`)
  and the distances in the reversed call graph (:func:`distances`, for
  :mod:`datasafety.analysis.taint.relevance`).

Arguments are 1-D C-contiguous numpy arrays of fixed dtypes (int64 ids and
CSR pointers, uint64 hashes, bool masks seen as bytes, the DEX file as
read-only uint8);
results are new numpy arrays (``bfs`` also marks ``inst`` in place). Every
loop runs with the GIL released. The arrays derive from untrusted DEX files:
every index read from one is checked before use, so bad input gives empty or
partial results, never a crash. Hashes use unsigned 64-bit arithmetic, which
wraps exactly as numpy's (``callgraph._mix_np`` is the numpy twin of :func:`mix`).
"""

from libc.stdint cimport int32_t, int64_t, uint8_t, uint64_t
from libc.stdlib cimport calloc, free, malloc, realloc

from datasafety.app.dex.dexbytes cimport _ptr, _u16, _u32

import numpy as np

cdef uint64_t MIX = 0x9E3779B97F4A7C15ULL


# ---------------------------------------------------------------- helpers
cdef inline uint64_t _mix(uint64_t h, uint64_t x) noexcept nogil:
    """boost::hash_combine on 64 bits."""
    return h ^ (x + MIX + (h << 6) + (h >> 2))


cdef inline int64_t _push_unseen(int64_t* stack, int64_t top, int64_t nstack, int64_t* stamp, int64_t ntypes,
                                 int64_t t, int64_t mark) noexcept nogil:
    """Push type ``t`` for a depth-first walk unless it is out of range, already stamped with
    ``mark`` in this walk, or the stack is full. Returns the new stack top."""
    if 0 <= t < ntypes and stamp[t] != mark and top < nstack:
        stamp[t] = mark
        stack[top] = t
        return top + 1
    return top


cdef inline int64_t _lower_bound(const int64_t[::1] a, int64_t v) noexcept nogil:
    """First index ``i`` with ``a[i] >= v`` (``np.searchsorted(a, v)``)."""
    cdef int64_t lo = 0, hi = a.shape[0], mid
    while lo < hi:
        mid = (lo + hi) >> 1
        if a[mid] < v:
            lo = mid + 1
        else:
            hi = mid
    return lo


cdef inline int64_t _find(const int64_t[::1] sorted_types, const uint64_t[::1] sorted_subsigs, const int64_t[::1] order,
                          int64_t t, uint64_t s) noexcept nogil:
    """Global method id defined by class type ``t`` with sub-signature ``s``, or -1."""
    cdef int64_t lo = 0, hi = sorted_types.shape[0], mid
    while lo < hi:
        mid = (lo + hi) >> 1
        if sorted_types[mid] < t or (sorted_types[mid] == t and sorted_subsigs[mid] < s):
            lo = mid + 1
        else:
            hi = mid
    if lo < sorted_types.shape[0] and sorted_types[lo] == t and sorted_subsigs[lo] == s:
        return order[lo]
    return -1


cdef inline int64_t _resolve_up(const int64_t[::1] type_super, const int64_t[::1] sorted_types, const uint64_t[::1] sorted_subsigs,
                                const int64_t[::1] order, int64_t t, uint64_t s) noexcept nogil:
    """First definition of ``s`` walking up the superclass chain from type ``t`` (-1: none in the app)."""
    cdef int64_t work = 0
    return _resolve_up_n(type_super, sorted_types, sorted_subsigs, order, t, s, &work)


cdef inline int64_t _resolve_up_n(const int64_t[::1] type_super, const int64_t[::1] sorted_types, const uint64_t[::1] sorted_subsigs,
                                  const int64_t[::1] order, int64_t t, uint64_t s, int64_t* work) noexcept nogil:
    """:func:`_resolve_up`, adding the number of classes it looked at to ``work[0]``."""
    cdef int64_t steps = 0, gm
    cdef int64_t ntypes = type_super.shape[0]
    while t >= 0 and steps < 256:
        work[0] += 1
        gm = _find(sorted_types, sorted_subsigs, order, t, s)
        if gm >= 0:
            return gm
        if t >= ntypes:
            return -1
        t = type_super[t]
        steps += 1
    return -1


cdef inline bint _grow(int64_t** a, int64_t** b, int64_t** c, int64_t* cap) noexcept nogil:
    """Double the capacity of the growable buffers ``a``, ``b`` (and ``c`` when not NULL); False when out of memory."""
    cdef int64_t new_cap = cap[0] * 2
    cdef int64_t* p = <int64_t*>realloc(a[0], new_cap * sizeof(int64_t))
    if p == NULL:
        return False
    a[0] = p
    p = <int64_t*>realloc(b[0], new_cap * sizeof(int64_t))
    if p == NULL:
        return False
    b[0] = p
    if c != NULL:
        p = <int64_t*>realloc(c[0], new_cap * sizeof(int64_t))
        if p == NULL:
            return False
        c[0] = p
    cap[0] = new_cap
    return True


cdef _copy_out(int64_t* src, int64_t k):
    out = np.empty(k, dtype=np.int64)
    cdef int64_t[::1] o = out
    cdef int64_t i
    with nogil:
        for i in range(k):
            o[i] = src[i]
    return out


cdef int64_t* _scratch(int64_t n) except NULL:
    """Uninitialised buffer of ``n`` int64 (freed by the caller)."""
    cdef int64_t* p = <int64_t*>malloc(max(n, 1) * sizeof(int64_t))
    if p == NULL:
        raise MemoryError()
    return p


cdef _check_sorted(const int64_t[::1] sorted_types, const uint64_t[::1] sorted_subsigs, const int64_t[::1] order):
    if sorted_subsigs.shape[0] < sorted_types.shape[0] or order.shape[0] < sorted_types.shape[0]:
        raise ValueError("method tables of different lengths")


# ------------------------------------------------------------- call graph
def mix(h, x):
    """``_mix`` for Python callers (tests): boost::hash_combine of two uint64 values."""
    return _mix(<uint64_t>h, <uint64_t>x)


def type_lists(const uint8_t[::1] buf, const int64_t[::1] offs, int64_t ntypes, int64_t max_items=-1, uint8_t[::1] status=None):
    """Read the ``type_list`` at each offset (0 = empty list).

    Returns CSR ``(ptr, items)``: the type ids of list ``i`` are
    ``items[ptr[i]:ptr[i + 1]]``; ids ``>= ntypes`` and lists that run past the
    end of the file are dropped. With ``max_items >= 0``, lists that would take
    the total past ``max_items`` are read as empty and ``status[0]`` is set to 1
    (the caller reports it). Callers pass each distinct offset once.
    """
    cdef int64_t n = buf.shape[0]
    cdef const uint8_t* b = _ptr(buf)
    cdef int64_t m = offs.shape[0]
    cdef int64_t i, j, off, s, size, cnt, k
    cdef bint cut = False
    ptr_a = np.zeros(m + 1, dtype=np.int64)
    cdef int64_t[::1] ptr = ptr_a
    with nogil:
        for i in range(m):
            off = offs[i]
            size = 0
            if off > 0 and off + 4 <= n:
                s = _u32(b, off)
                if off + 4 + 2 * s <= n:
                    size = s
            if max_items >= 0 and ptr[i] + size > max_items:
                size = 0
                cut = True
            ptr[i + 1] = ptr[i] + size
    if cut and status is not None and status.shape[0] > 0:
        status[0] = 1
    items_a = np.empty(ptr[m], dtype=np.int64)
    cdef int64_t[::1] items = items_a
    with nogil:
        k = 0
        for i in range(m):
            cnt = ptr[i + 1] - ptr[i]
            off = offs[i]
            for j in range(cnt):
                items[k] = _u16(b, off + 4 + 2 * j)
                k += 1
        for j in range(items.shape[0]):
            if items[j] >= ntypes:
                items[j] = -1
    return ptr_a, items_a


def proto_keys(const uint64_t[::1] ret_keys, const int64_t[::1] ptr, const int64_t[::1] items, const uint64_t[::1] type_keys,
               const int64_t[::1] list_of=None, int64_t max_work=-1, uint8_t[::1] status=None):
    """Key of each proto: the return type key mixed with each parameter type key.

    Proto ``i`` has the parameter list ``list_of[i]`` of the CSR ``(ptr, items)``
    (without ``list_of``: list ``i``). With ``max_work >= 0``, once the parameters
    mixed in total would pass ``max_work`` the remaining protos get key 0
    (unknown) and ``status[0]`` is set to 1.
    """
    cdef int64_t m = ret_keys.shape[0]
    cdef int64_t nkeys = type_keys.shape[0]
    cdef int64_t nitems = items.shape[0]
    cdef int64_t nlists = ptr.shape[0] - 1
    cdef int64_t i, j, t, l, lo, hi, work = 0
    cdef bint has_map = list_of is not None
    cdef bint cut = False
    cdef uint64_t h
    if has_map:
        if list_of.shape[0] < m:
            raise ValueError("proto_keys: list_of shorter than ret_keys")
    elif ptr.shape[0] < m + 1:
        raise ValueError("proto_keys: ptr shorter than ret_keys + 1")
    out_a = np.empty(m, dtype=np.uint64)
    cdef uint64_t[::1] out = out_a
    with nogil:
        for i in range(m):
            l = list_of[i] if has_map else i
            if l < 0 or l >= nlists or cut:
                out[i] = 0
                continue
            lo = ptr[l]
            hi = ptr[l + 1]
            if max_work >= 0 and work + (hi - lo) > max_work:
                cut = True
                out[i] = 0
                continue
            work += hi - lo
            h = ret_keys[i]
            for j in range(max(lo, 0), min(hi, nitems)):
                t = items[j]
                h = _mix(h, type_keys[t] if 0 <= t < nkeys else 0)
            out[i] = _mix(h, <uint64_t>(hi - lo))
    if cut and status is not None and status.shape[0] > 0:
        status[0] = 1
    return out_a


def resolve_many(const int64_t[::1] type_super, const int64_t[::1] sorted_types, const uint64_t[::1] sorted_subsigs,
                 const int64_t[::1] order, const int64_t[::1] ts, const uint64_t[::1] ss):
    """Per query ``i``: the method ``ss[i]`` resolves to from class ``ts[i]`` upwards (-1: none in the app)."""
    cdef int64_t n = ts.shape[0]
    cdef int64_t i
    if ss.shape[0] < n:
        raise ValueError("resolve_many: fewer sub-signatures than types")
    _check_sorted(sorted_types, sorted_subsigs, order)
    out_a = np.empty(n, dtype=np.int64)
    cdef int64_t[::1] out = out_a
    with nogil:
        for i in range(n):
            out[i] = _resolve_up(type_super, sorted_types, sorted_subsigs, order, ts[i], ss[i]) if ts[i] >= 0 else -1
    return out_a


def cha_targets(const int64_t[::1] type_super, const uint8_t[::1] type_concrete, const int64_t[::1] child_ptr,
                const int64_t[::1] children, const int64_t[::1] sorted_types, const uint64_t[::1] sorted_subsigs,
                const int64_t[::1] order, const uint8_t[::1] m_code, const int64_t[::1] qtypes, const uint64_t[::1] qsubsigs,
                int64_t max_pairs=-1, int64_t max_steps=-1, uint8_t[::1] status=None):
    """Class-hierarchy targets of virtual calls ``(qtypes[i], qsubsigs[i])``.

    Returns CSR ``(ptr, recv, target)``: for query ``i`` the pairs
    ``(receiver class type, target method)`` in ``ptr[i]:ptr[i + 1]``; only
    targets with code. ``type_concrete`` marks instantiable app classes.
    Limits (``-1``: none): at most ``max_pairs`` pairs, and at most ``max_steps``
    classes visited or looked at while resolving, over all queries. When one is
    reached the search stops, the remaining queries get no pairs and
    ``status[0]`` is set to 1 (pairs) or 2 (steps).
    """
    cdef int64_t ntypes = type_super.shape[0]
    cdef int64_t nq = qtypes.shape[0]
    cdef int64_t nm = m_code.shape[0]
    if qsubsigs.shape[0] < nq:
        raise ValueError("cha_targets: fewer sub-signatures than types")
    _check_sorted(sorted_types, sorted_subsigs, order)
    if type_concrete.shape[0] < ntypes or child_ptr.shape[0] < ntypes + 1:
        raise ValueError("cha_targets: type tables of different lengths")
    ptr_a = np.zeros(nq + 1, dtype=np.int64)
    cdef int64_t[::1] ptr = ptr_a
    cdef int64_t cap = max(16, nq * 2)
    cdef int64_t* recv = <int64_t*>malloc(cap * sizeof(int64_t))
    cdef int64_t* targ = <int64_t*>malloc(cap * sizeof(int64_t))
    cdef int64_t* stamp = <int64_t*>malloc(max(ntypes, 1) * sizeof(int64_t))
    cdef int64_t* stack = <int64_t*>malloc((ntypes + 1) * sizeof(int64_t))
    cdef int64_t k = 0, q, t0, t, top, gm, j, c, work = 0
    cdef int64_t nstack = ntypes + 1
    cdef int64_t nchildren = children.shape[0]
    cdef uint64_t s
    cdef int cut = 0
    cdef bint oom = recv == NULL or targ == NULL or stamp == NULL or stack == NULL
    try:
        with nogil:
            if not oom:
                for t in range(ntypes):
                    stamp[t] = -1
            q = 0
            while q < nq and not oom and cut == 0:
                t0 = qtypes[q]
                s = qsubsigs[q]
                if t0 < 0 or t0 >= ntypes:
                    ptr[q + 1] = k
                    q += 1
                    continue
                top = 0
                stack[top] = t0
                top += 1
                stamp[t0] = q
                while top > 0:
                    top -= 1
                    t = stack[top]
                    work += 1
                    if max_steps >= 0 and work > max_steps:
                        cut = 2
                        break
                    if type_concrete[t]:
                        gm = _resolve_up_n(type_super, sorted_types, sorted_subsigs, order, t, s, &work)
                        if 0 <= gm < nm and m_code[gm]:
                            if max_pairs >= 0 and k >= max_pairs:
                                cut = 1
                                break
                            if k >= cap and not _grow(&recv, &targ, NULL, &cap):
                                oom = True
                                break
                            recv[k] = t
                            targ[k] = gm
                            k += 1
                    for j in range(max(child_ptr[t], 0), min(child_ptr[t + 1], nchildren)):
                        top = _push_unseen(stack, top, nstack, stamp, ntypes, children[j], q)
                ptr[q + 1] = k
                q += 1
            while q < nq:
                ptr[q + 1] = k
                q += 1
        if oom:
            raise MemoryError()
        if cut and status is not None and status.shape[0] > 0:
            status[0] = cut
        return ptr_a, _copy_out(recv, k), _copy_out(targ, k)
    finally:
        free(recv)
        free(targ)
        free(stamp)
        free(stack)


def subtype_mask(const int64_t[::1] child_ptr, const int64_t[::1] children, int64_t root):
    """Bool per type: ``root`` or a (transitive) subclass or implementor of it."""
    cdef int64_t n = child_ptr.shape[0] - 1
    out_a = np.zeros(max(n, 0), dtype=np.bool_)
    if root < 0 or root >= n:
        return out_a
    cdef uint8_t[::1] out = out_a
    cdef int64_t* stack = _scratch(n + 1)
    cdef int64_t top = 0, t, j, c
    cdef int64_t nchildren = children.shape[0]
    try:
        with nogil:
            stack[top] = root
            top += 1
            out[root] = 1
            while top > 0:
                top -= 1
                t = stack[top]
                for j in range(max(child_ptr[t], 0), min(child_ptr[t + 1], nchildren)):
                    c = children[j]
                    if 0 <= c < n and not out[c]:
                        out[c] = 1
                        stack[top] = c
                        top += 1
    finally:
        free(stack)
    return out_a


# ----------------------------------------------------------- entry points
def callback_methods(const uint8_t[::1] inst, const uint8_t[::1] type_class, const int64_t[::1] type_super,
                     const int64_t[::1] iface_ptr, const int64_t[::1] ifaces, const int64_t[::1] cb_of_type,
                     const int64_t[::1] cb_name_ptr, const uint64_t[::1] cb_names, const uint8_t[::1] framework_other,
                     const uint8_t[::1] component_base, int64_t object_gid, const int64_t[::1] sorted_types,
                     const int64_t[::1] sorted_order, const uint64_t[::1] m_name, const int64_t[::1] m_flags,
                     const uint8_t[::1] m_code, const uint8_t[::1] m_on, int64_t max_steps=-1, uint8_t[::1] status=None):
    """For each instantiated app class: the methods the framework calls back.

    ``cb_of_type[t]``: index of the callback entry for framework type ``t`` (-1
    none); its method-name hashes are ``cb_names[cb_name_ptr[i]:cb_name_ptr[i + 1]]``.
    ``framework_other[t]``: ``t`` is a framework type without a callback entry.
    ``component_base[t]``: activities, services, providers and the application
    extend ``t``: they are started from the manifest only, never as callbacks.
    Returns (method ids, callback index or -1 for the ``on...`` rule, receiver class).
    With ``max_steps >= 0``: at most that many classes visited or looked at in
    total; when reached, the classes not finished give nothing and ``status[0]``
    is set to 2.
    """
    cdef int64_t ntypes = type_super.shape[0]
    cdef int64_t nm = sorted_types.shape[0]
    cdef int64_t nmeth = m_name.shape[0]
    cdef int64_t ncb = cb_name_ptr.shape[0] - 1
    cdef int64_t nnames = cb_names.shape[0]
    cdef int64_t nifaces = ifaces.shape[0]
    if (inst.shape[0] < ntypes or type_class.shape[0] < ntypes or framework_other.shape[0] < ntypes
            or component_base.shape[0] < ntypes or cb_of_type.shape[0] < ntypes or iface_ptr.shape[0] < ntypes + 1):
        raise ValueError("callback_methods: type tables of different lengths")
    if (sorted_order.shape[0] < nm or m_flags.shape[0] < nmeth or m_code.shape[0] < nmeth or m_on.shape[0] < nmeth):
        raise ValueError("callback_methods: method tables of different lengths")
    cdef int64_t nstack = ntypes + 1
    cdef int64_t cap = 64, k = 0
    cdef int64_t* out_m = <int64_t*>malloc(cap * sizeof(int64_t))
    cdef int64_t* out_cb = <int64_t*>malloc(cap * sizeof(int64_t))
    cdef int64_t* out_t = <int64_t*>malloc(cap * sizeof(int64_t))
    cdef int64_t* stamp = <int64_t*>malloc(max(ntypes, 1) * sizeof(int64_t))
    cdef int64_t* stack = <int64_t*>malloc(nstack * sizeof(int64_t))
    cdef bint oom = out_m == NULL or out_cb == NULL or out_t == NULL or stamp == NULL or stack == NULL
    cdef int64_t t, top, start, s, c, j, u, steps, kk, g, work = 0
    cdef uint64_t h
    cdef bint other, is_component, found, cut = False
    try:
        with nogil:
            if not oom:
                for t in range(ntypes):
                    stamp[t] = -1
            t = 0
            while t < ntypes and not oom and not cut:
                if not inst[t] or not type_class[t]:
                    t += 1
                    continue
                # supertypes of t (DFS over superclass and interface edges)
                top = 0
                stack[top] = t
                top += 1
                stamp[t] = t
                other = False
                is_component = False
                start = k
                while top > 0 and not oom and not cut:
                    top -= 1
                    s = stack[top]
                    work += 1
                    if max_steps >= 0 and work > max_steps:
                        cut = True
                        break
                    if component_base[s]:
                        is_component = True
                    c = cb_of_type[s]
                    if 0 <= c < ncb:
                        for j in range(max(cb_name_ptr[c], 0), min(cb_name_ptr[c + 1], nnames)):
                            h = cb_names[j]
                            # nearest app class (from t upwards) defining an instance method named h
                            u = t
                            steps = 0
                            found = False
                            while 0 <= u < ntypes and steps < 256 and not found:
                                work += 1
                                if max_steps >= 0 and work > max_steps:
                                    cut = True
                                    break
                                kk = _lower_bound(sorted_types, u)
                                while kk < nm and sorted_types[kk] == u:
                                    g = sorted_order[kk]
                                    if 0 <= g < nmeth and m_name[g] == h and (m_flags[g] & 0x8) == 0 and m_code[g]:
                                        if k >= cap and not _grow(&out_m, &out_cb, &out_t, &cap):
                                            oom = True
                                            break
                                        out_m[k] = g
                                        out_cb[k] = c
                                        out_t[k] = t
                                        k += 1
                                        found = True
                                    kk += 1
                                if oom:
                                    break
                                u = type_super[u]
                                steps += 1
                            if oom or cut:
                                break
                    elif c < 0 and framework_other[s] and s != object_gid:
                        other = True
                    top = _push_unseen(stack, top, nstack, stamp, ntypes, type_super[s], t)
                    for j in range(max(iface_ptr[s], 0), min(iface_ptr[s + 1], nifaces)):
                        top = _push_unseen(stack, top, nstack, stamp, ntypes, ifaces[j], t)
                if max_steps >= 0 and work > max_steps:
                    cut = True
                if oom:
                    break
                if cut:
                    k = start
                    break
                if is_component:
                    k = start
                    t += 1
                    continue
                if other:
                    # on... methods declared by t and its app superclasses
                    u = t
                    steps = 0
                    while 0 <= u < ntypes and type_class[u] and steps < 256:
                        work += 1
                        kk = _lower_bound(sorted_types, u)
                        while kk < nm and sorted_types[kk] == u:
                            g = sorted_order[kk]
                            if 0 <= g < nmeth and m_on[g] and (m_flags[g] & (0x8 | 0x2 | 0x10000)) == 0 and m_code[g]:
                                if k >= cap and not _grow(&out_m, &out_cb, &out_t, &cap):
                                    oom = True
                                    break
                                out_m[k] = g
                                out_cb[k] = -1
                                out_t[k] = t
                                k += 1
                            kk += 1
                        if oom:
                            break
                        u = type_super[u]
                        steps += 1
                t += 1
        if oom:
            raise MemoryError()
        if cut and status is not None and status.shape[0] > 0:
            status[0] = 2
        return _copy_out(out_m, k), _copy_out(out_cb, k), _copy_out(out_t, k)
    finally:
        free(out_m)
        free(out_cb)
        free(out_t)
        free(stamp)
        free(stack)


# ------------------------------------------------------------ reachability
def bfs(const int64_t[::1] roots, uint8_t[::1] inst, const int64_t[::1] mcs_ptr, const int64_t[::1] cs_set, const int32_t[::1] cs_pc,
        const int64_t[::1] set_ptr, const int64_t[::1] set_recv, const int64_t[::1] set_target, const int64_t[::1] mnew_ptr,
        const int64_t[::1] mnew, const int64_t[::1] mclinit_ptr, const int64_t[::1] mclinit, const int64_t[::1] clinit_of_type):
    """Breadth-first search from ``roots``; marks types created by reached code in ``inst`` (in place).

    Returns ``(parent, parent_pc)``: per method the caller that reached it
    first (-1 for a root, -2 when unreached) and the call's pc (-1 for a root
    or a static initialiser).
    """
    cdef int64_t n = mcs_ptr.shape[0] - 1
    cdef int64_t ntypes = inst.shape[0]
    cdef int64_t nsets = set_ptr.shape[0] - 1
    cdef int64_t ncs = cs_set.shape[0]
    if n < 0 or nsets < 0:
        raise ValueError("bfs: empty CSR pointer array")
    if (mnew_ptr.shape[0] < n + 1 or mclinit_ptr.shape[0] < n + 1 or cs_pc.shape[0] < ncs
            or set_recv.shape[0] < set_target.shape[0] or clinit_of_type.shape[0] < ntypes):
        raise ValueError("bfs: call graph tables of different lengths")
    parent_a = np.full(n, -2, dtype=np.int64)
    parent_pc_a = np.full(n, -1, dtype=np.int64)
    cdef int64_t[::1] parent = parent_a
    cdef int64_t[::1] parent_pc = parent_pc_a
    cdef int64_t* queue = _scratch(n + 1)
    cdef int64_t head = 0, tail = 0, i, r, m, j, t, c, cs, s
    cdef int64_t nmnew = mnew.shape[0], nmclinit = mclinit.shape[0], ntarg = set_target.shape[0]
    try:
        with nogil:
            for i in range(roots.shape[0]):
                r = roots[i]
                if 0 <= r < n and parent[r] == -2:
                    parent[r] = -1
                    queue[tail] = r
                    tail += 1
            while head < tail:
                m = queue[head]
                head += 1
                for j in range(max(mnew_ptr[m], 0), min(mnew_ptr[m + 1], nmnew)):
                    t = mnew[j]
                    if 0 <= t < ntypes:
                        inst[t] = 1
                for j in range(max(mclinit_ptr[m], 0), min(mclinit_ptr[m + 1], nmclinit)):
                    t = mclinit[j]
                    if 0 <= t < ntypes:
                        c = clinit_of_type[t]
                        if 0 <= c < n and parent[c] == -2:
                            parent[c] = m
                            parent_pc[c] = -1
                            queue[tail] = c
                            tail += 1
                for cs in range(max(mcs_ptr[m], 0), min(mcs_ptr[m + 1], ncs)):
                    s = cs_set[cs]
                    if s < 0 or s >= nsets:
                        continue
                    for j in range(max(set_ptr[s], 0), min(set_ptr[s + 1], ntarg)):
                        r = set_recv[j]
                        if r >= 0 and (r >= ntypes or not inst[r]):
                            continue
                        t = set_target[j]
                        if 0 <= t < n and parent[t] == -2:
                            parent[t] = m
                            parent_pc[t] = cs_pc[cs]
                            queue[tail] = t
                            tail += 1
    finally:
        free(queue)
    return parent_a, parent_pc_a


# --------------------------------------------------------------- relevance
def distances(const int64_t[::1] seeds, const int64_t[::1] target_ptr, const int64_t[::1] target_sets,
              const int64_t[::1] set_ptr, const int64_t[::1] set_callers, int32_t limit):
    """Breadth-first distance from any seed to its callers, transitively, up to ``limit``.

    The reversed call graph is walked through target sets (a virtual call's set is shared by
    all its call sites): method -> sets containing it -> methods calling through each set.
    Each set is expanded once, so the cost is linear in the call graph's size.
    Returns int32 distances (int32 max: farther than ``limit`` or never).
    """
    cdef int64_t n = target_ptr.shape[0] - 1
    cdef int64_t nsets = set_ptr.shape[0] - 1
    if n < 0 or nsets < 0:
        raise ValueError("distances: empty CSR pointer array")
    dist_a = np.full(n, np.iinfo(np.int32).max, dtype=np.int32)
    cdef int32_t[::1] dist = dist_a
    cdef uint8_t* seen_set = <uint8_t*>calloc(max(nsets, 1), 1)
    if seen_set == NULL:
        raise MemoryError()
    cdef int64_t* queue = <int64_t*>malloc((n + 1) * sizeof(int64_t))
    if queue == NULL:
        free(seen_set)
        raise MemoryError()
    cdef int64_t head = 0, tail = 0, i, s, m, j, st, kk, c
    cdef int64_t nts = target_sets.shape[0], ncallers = set_callers.shape[0]
    try:
        with nogil:
            for i in range(seeds.shape[0]):
                s = seeds[i]
                if 0 <= s < n and dist[s] != 0:
                    dist[s] = 0
                    queue[tail] = s
                    tail += 1
            while head < tail:
                m = queue[head]
                head += 1
                if dist[m] >= limit:
                    continue
                for j in range(max(target_ptr[m], 0), min(target_ptr[m + 1], nts)):
                    st = target_sets[j]
                    if st < 0 or st >= nsets or seen_set[st]:
                        continue
                    seen_set[st] = 1
                    for kk in range(max(set_ptr[st], 0), min(set_ptr[st + 1], ncallers)):
                        c = set_callers[kk]
                        if 0 <= c < n and dist[c] > dist[m] + 1 and tail <= n:
                            dist[c] = dist[m] + 1
                            queue[tail] = c
                            tail += 1
    finally:
        free(seen_set)
        free(queue)
    return dist_a
