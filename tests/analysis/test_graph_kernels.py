"""The compiled graph kernels: hashing agrees with numpy, results on small graphs, and hostile input never crashes."""

from __future__ import annotations

import numpy as np

from datasafety.analysis import graph_kernels as g
from datasafety.analysis.callgraph import _mix_np

I64 = np.int64


def test_mix_wraps_like_numpy():
    rng = np.random.default_rng(0)
    h = rng.integers(0, 2**64 - 1, 200, dtype=np.uint64, endpoint=True)
    x = rng.integers(0, 2**64 - 1, 200, dtype=np.uint64, endpoint=True)
    h[0] = x[0] = np.uint64(2**64 - 1)
    expect = _mix_np(h, x)
    assert [g.mix(int(a), int(b)) for a, b in zip(h, x)] == [int(v) for v in expect]


def test_type_lists_drop_bad_ids_and_lists_past_the_end():
    # list at 4: size 2, ids 1 and 7 (7 >= ntypes); list at 12: size 100, runs past the end; offset 0: empty
    buf = np.array([0, 0, 0, 0, 2, 0, 0, 0, 1, 0, 7, 0, 100, 0, 0, 0, 3, 0], dtype=np.uint8)
    buf.flags.writeable = False
    ptr, items = g.type_lists(buf, np.array([4, 0, 12, -5, 2**40], dtype=I64), I64(5))
    assert ptr.tolist() == [0, 2, 2, 2, 2, 2]
    assert items.tolist() == [1, -1]


def test_proto_keys_mix_return_params_and_count():
    keys = np.array([11, 22, 33], dtype=np.uint64)
    out = g.proto_keys(np.array([5], dtype=np.uint64), np.array([0, 2], dtype=I64), np.array([2, -1], dtype=I64), keys)
    h = _mix_np(np.array([5], np.uint64), np.array([33], np.uint64))
    h = _mix_np(h, np.array([0], np.uint64))
    assert out.dtype == np.uint64 and int(out[0]) == int(_mix_np(h, np.array([2], np.uint64))[0])


def _hierarchy():
    # 0 <- 1 <- 2, 0 <- 3; methods: (type 0, sig 7) = gm 0, (type 2, sig 7) = gm 1
    type_super = np.array([-1, 0, 1, 0], dtype=I64)
    child_ptr = np.array([0, 2, 3, 3, 3], dtype=I64)
    children = np.array([1, 3, 2], dtype=I64)
    sorted_types = np.array([0, 2], dtype=I64)
    sorted_subsigs = np.array([7, 7], dtype=np.uint64)
    order = np.array([0, 1], dtype=I64)
    return type_super, child_ptr, children, sorted_types, sorted_subsigs, order


def test_resolution_and_class_hierarchy_dispatch():
    type_super, child_ptr, children, st, ss, order = _hierarchy()
    res = g.resolve_many(type_super, st, ss, order, np.array([2, 1, 3, -1, 99], dtype=I64), np.array([7, 7, 7, 7, 7], dtype=np.uint64))
    assert res.tolist() == [1, 0, 0, -1, -1]
    concrete = np.array([False, True, True, True])
    code = np.array([True, True])
    ptr, recv, targ = g.cha_targets(type_super, concrete, child_ptr, children, st, ss, order, code,
                                    np.array([0, 99], dtype=I64), np.array([7, 7], dtype=np.uint64))
    assert ptr.tolist() == [0, 3, 3]
    assert sorted(zip(recv.tolist(), targ.tolist())) == [(1, 0), (2, 1), (3, 0)]
    assert g.subtype_mask(child_ptr, children, I64(1)).tolist() == [False, True, True, False]
    assert g.subtype_mask(child_ptr, children, I64(-3)).tolist() == [False] * 4


def test_bfs_and_distances_on_a_chain():
    # methods 0 -> 1 -> 2 (call sites 0 and 1, exact target sets 0 and 1); method 1 creates type 0
    mcs_ptr = np.array([0, 1, 2, 2], dtype=I64)
    cs_set = np.array([0, 1], dtype=I64)
    cs_pc = np.array([4, 9], dtype=np.int32)
    set_ptr = np.array([0, 1, 2], dtype=I64)
    inst = np.zeros(2, dtype=bool)
    parent, pc = g.bfs(np.array([0, 0, 17], dtype=I64), inst, mcs_ptr, cs_set, cs_pc, set_ptr, np.array([-1, -1], dtype=I64),
                       np.array([1, 2], dtype=I64), np.array([0, 0, 1, 1], dtype=I64), np.array([0], dtype=I64),
                       np.zeros(4, dtype=I64), np.zeros(0, dtype=I64), np.full(2, -1, dtype=I64))
    assert parent.tolist() == [-1, 0, 1] and pc.tolist() == [-1, 4, 9] and inst.tolist() == [True, False]
    # reversed: method 2 is in set 1 (called by 1), method 1 in set 0 (called by 0)
    dist = g.distances(np.array([2], dtype=I64), np.array([0, 0, 1, 2], dtype=I64), np.array([0, 1], dtype=I64),
                       set_ptr, np.array([0, 1], dtype=I64), np.int32(1))
    assert dist.dtype == np.int32 and dist.tolist() == [np.iinfo(np.int32).max, 1, 0]


def test_hostile_indices_do_not_crash():
    """Wild ids and inconsistent CSR pointers (as a corrupt DEX could produce) give results, not crashes."""
    rng = np.random.default_rng(1)
    for _ in range(300):
        nt, nm = int(rng.integers(0, 20)), int(rng.integers(0, 20))

        def idx(n, m):
            a = rng.integers(-2, max(m, 1) + 2, n, dtype=I64)
            a[rng.random(n) < 0.1] = 2**62
            return a

        buf = rng.integers(0, 256, int(rng.integers(0, 64)), dtype=np.uint8)
        ptr, items = g.type_lists(buf, idx(8, len(buf)), I64(nt))
        g.proto_keys(rng.integers(0, 9, 8).astype(np.uint64), idx(9, len(items)), items, np.ones(nt, np.uint64))
        ts, cp, ch = idx(nt, nt), idx(nt + 1, 2 * nt), idx(2 * nt, nt)
        st, ss, order = np.sort(idx(nm, nt)), rng.integers(0, 3, nm).astype(np.uint64), idx(nm, nm)
        code, conc = rng.random(nm) < 0.5, rng.random(nt) < 0.5
        q, qs = idx(6, nt), rng.integers(0, 3, 6).astype(np.uint64)
        g.resolve_many(ts, st, ss, order, q, qs)
        g.cha_targets(ts, conc, cp, ch, st, ss, order, code, q, qs)
        g.subtype_mask(cp, ch, I64(rng.integers(-1, nt + 1)))
        inst = rng.random(nt) < 0.5
        g.callback_methods(inst, conc, ts, idx(nt + 1, 2 * nt), idx(2 * nt, nt), idx(nt, 3), idx(4, 6),
                           rng.integers(0, 3, 6).astype(np.uint64), conc, ~conc, I64(0), st, order,
                           rng.integers(0, 3, nm).astype(np.uint64), rng.integers(0, 0x20000, nm), code, code)
        ncs, nsets = int(rng.integers(0, 30)), int(rng.integers(0, 10))
        set_ptr = idx(nsets + 1, 30)
        g.bfs(idx(4, nm), inst, idx(nm + 1, ncs), idx(ncs, nsets), rng.integers(0, 50, ncs).astype(np.int32), set_ptr,
              idx(30, nt), idx(30, nm), idx(nm + 1, 5), idx(5, nt), idx(nm + 1, 5), idx(5, nt), idx(nt, nm))
        g.distances(idx(3, nm), idx(nm + 1, 30), idx(30, nsets), set_ptr, idx(30, nm), np.int32(3))
