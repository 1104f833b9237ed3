"""Whole-app call graph over the merged multi-DEX namespace (class-hierarchy dispatch).

Ids in a DEX file are local to it, so everything is keyed by hashes of
descriptors (FNV-1a of the MUTF-8 bytes, :attr:`DexIndex.string_hashes`):

- type key: hash of the descriptor (``Lcom/foo/Bar;``); all type keys of all
  DEX files, de-duplicated and sorted, give the global *type id* (``gid``).
- sub-signature key (``subsig``): name hash mixed with the proto key (return
  and parameter type keys), so ``run()V`` in one DEX equals ``run()V`` in another.
- a defined method (a kept method row of some DEX) gets a global method id
  (``gm``): DEX files in order, rows in order.

Dispatch (https://source.android.com/docs/core/runtime/dalvik-bytecode, invoke-kind):

- ``invoke-static``, ``invoke-direct``, ``invoke-super``: the method the
  reference resolves to, walking up the superclass chain from its class.
- ``invoke-virtual``, ``invoke-interface``: class-hierarchy analysis, every
  ``resolve(X, subsig)`` for the non-abstract classes ``X`` below the
  reference's class (subclasses and implementors, transitively). Each target
  is kept with its receiver class ``X`` so that reachability can keep only
  classes that are instantiated (rapid type analysis).

Everything is numpy arrays built by vectorised code and compiled kernels
(:mod:`datasafety.analysis.graph_kernels`) with hand-written bounds checks;
no Python object per method or per call site.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np

from datasafety.analysis.graph_kernels import cha_targets, proto_keys, resolve_many, subtype_mask, type_lists
from datasafety.app.dex import kernels
from datasafety.app.dex.index import DexIndex, dotted
from datasafety.app.model import AppModel

ACC_PRIVATE = 0x2
ACC_STATIC = 0x8
ACC_NATIVE = 0x100
ACC_INTERFACE = 0x200
ACC_ABSTRACT = 0x400
ACC_CONSTRUCTOR = 0x10000
NO_INDEX = 0xFFFFFFFF

# Invoke kinds (low opcode bits of invoke-kind / invoke-kind/range).
INVOKE_VIRTUAL = 0
INVOKE_SUPER = 1
INVOKE_DIRECT = 2
INVOKE_STATIC = 3
INVOKE_INTERFACE = 4
INVOKE_OTHER = 5  # invoke-polymorphic / invoke-custom: not resolved

MIX = np.uint64(0x9E3779B97F4A7C15)


def _mix_np(h: np.ndarray, x: np.ndarray) -> np.ndarray:
    """boost::hash_combine on uint64 arrays; wraps exactly like the compiled :func:`graph_kernels.mix`."""
    with np.errstate(over="ignore"):
        return h ^ (x + MIX + (h << np.uint64(6)) + (h >> np.uint64(2)))


@dataclass
class CallGraph:
    """The app's classes, methods and call sites as global numpy tables.

    Types (index = ``gid``): ``type_keys`` (sorted uint64), ``type_origin``
    (DEX number and local type id of one occurrence, for names), ``type_super``
    (gid of the superclass, -1 when the class is not defined in the app),
    ``type_class`` (1 when an app class defines it, ``type_interface`` /
    ``type_concrete``), ``child_ptr``/``children`` (direct subclasses and
    implementors), ``iface_ptr``/``ifaces`` (direct interfaces).

    Methods (index = ``gm``): ``m_dex``, ``m_row``, ``m_type``, ``m_subsig``,
    ``m_name`` (name hash), ``m_flags``, ``m_code``; per DEX ``gm_of_row[d]``
    maps a method row to its ``gm`` (-1 when the row's class is shadowed).

    Call sites (sorted by caller): ``cs_caller``, ``cs_pc``, ``cs_kind`` and a
    target set ``cs_set``: ``set_ptr``, ``set_recv``, ``set_target``
    (receiver type, target method; receiver -1 for exact calls).
    ``mcs_ptr`` gives the call sites of method ``gm``.

    Per method, also the types it instantiates (``new-instance``, ``const-class``)
    and the classes whose static initialiser it triggers: ``mnew_ptr``/``mnew``,
    ``mclinit_ptr``/``mclinit``.
    """

    app: AppModel
    type_keys: np.ndarray
    type_origin: np.ndarray
    type_super: np.ndarray
    type_class: np.ndarray
    type_interface: np.ndarray
    type_concrete: np.ndarray
    child_ptr: np.ndarray
    children: np.ndarray
    iface_ptr: np.ndarray
    ifaces: np.ndarray
    m_dex: np.ndarray
    m_row: np.ndarray
    m_type: np.ndarray
    m_subsig: np.ndarray
    m_name: np.ndarray
    m_flags: np.ndarray
    m_code: np.ndarray
    gm_of_row: list[np.ndarray]
    dex_type_gid: list[np.ndarray]
    dex_mref_type: list[np.ndarray]
    dex_mref_subsig: list[np.ndarray]
    dex_fref_type: list[np.ndarray]
    sorted_types: np.ndarray
    sorted_subsigs: np.ndarray
    sorted_order: np.ndarray
    cs_caller: np.ndarray
    cs_pc: np.ndarray
    cs_kind: np.ndarray
    cs_set: np.ndarray
    mcs_ptr: np.ndarray
    set_ptr: np.ndarray
    set_recv: np.ndarray
    set_target: np.ndarray
    mnew_ptr: np.ndarray
    mnew: np.ndarray
    mclinit_ptr: np.ndarray
    mclinit: np.ndarray
    clinit_of_type: np.ndarray
    dex_set_of_ref: list[np.ndarray]
    """Per DEX, target set id of each entry of the reference table (-1 for non-invokes)."""
    _gid_memo: dict[str, int] = field(default_factory=dict, repr=False, compare=False)
    """:meth:`type_gid` results (the flow analysis asks for the same descriptors again and again)."""
    step_budget: int = -1
    """Steps allowed to each hierarchy walk over all types (:func:`graph_kernels.cha_targets`,
    :func:`graph_kernels.callback_methods`), proportional to the app's DEX bytes (-1: none)."""
    truncated: list[str] = field(default_factory=list, repr=False, compare=False)
    """What was cut short by a size limit on hostile input (one message each); the pipeline
    reports each as a ``call_graph_capped`` anomaly and lists the stage in ``incomplete``."""

    @property
    def method_count(self) -> int:
        return len(self.m_dex)

    # ------------------------------------------------------------------ names
    def type_descriptor(self, gid: int) -> str:
        if gid < 0 or gid >= len(self.type_origin):
            return ""
        d, t = self.type_origin[gid]
        return self.app.dex[int(d)].type_name(int(t))

    def type_gid(self, descriptor: str) -> int:
        """Global type id of a descriptor (``Lcom/foo/Bar;``), -1 when no DEX mentions it."""
        gid = self._gid_memo.get(descriptor)
        if gid is None:
            from datasafety.app.dex.index import fnv1a

            key = np.uint64(fnv1a(descriptor.encode("utf-8")))
            i = int(np.searchsorted(self.type_keys, key))
            gid = i if i < len(self.type_keys) and self.type_keys[i] == key else -1
            self._gid_memo[descriptor] = gid
        return gid

    def method_parts(self, gm: int) -> tuple[str, str, str]:
        """(class descriptor, name, proto descriptor) of global method ``gm``."""
        dex = self.app.dex[int(self.m_dex[gm])]
        midx = int(dex.def_method[int(self.m_row[gm])])
        if midx < 0:
            return dex.type_name(int(dex.class_type[int(dex.def_class[int(self.m_row[gm])])])), "?", ""
        return dex.method_ref(midx)

    def method_label(self, gm: int) -> str:
        """``com.foo.Bar.method(Ljava/lang/String;)V``."""
        cls, name, proto = self.method_parts(gm)
        return f"{dotted(cls)}.{name}{proto}"

    def dex_of(self, gm: int) -> DexIndex:
        return self.app.dex[int(self.m_dex[gm])]

    # --------------------------------------------------------------- dispatch
    def resolve(self, gid: int, subsig: int) -> int:
        """Method found walking up from class ``gid`` (-1: not defined in the app)."""
        if gid < 0:
            return -1
        out = resolve_many(
            self.type_super, self.sorted_types, self.sorted_subsigs, self.sorted_order,
            np.array([gid], dtype=np.int64), np.array([subsig], dtype=np.uint64),
        )
        return int(out[0])

    def supertypes(self, gid: int) -> list[int]:
        """``gid`` and all its supertypes (superclasses and interfaces), nearest first."""
        seen: list[int] = []
        seen_set: set[int] = set()
        todo = deque([gid])
        while todo:
            t = todo.popleft()
            if t < 0 or t in seen_set:
                continue
            seen.append(t)
            seen_set.add(t)
            todo.append(int(self.type_super[t]))
            todo.extend(int(x) for x in self.ifaces[self.iface_ptr[t] : self.iface_ptr[t + 1]])
        return seen

    def is_subtype(self, gid: int, of: int) -> bool:
        return of in self.supertypes(gid)

    def subtypes(self, gid: int) -> np.ndarray:
        """Bool per type id: ``gid`` or one of its subclasses / implementors."""
        return subtype_mask(self.child_ptr, self.children, np.int64(gid))

    def call_sites_of(self, gm: int) -> range:
        return range(int(self.mcs_ptr[gm]), int(self.mcs_ptr[gm + 1]))

    def targets_of_set(self, set_id: int) -> tuple[np.ndarray, np.ndarray]:
        """(receiver types, target methods) of a target set."""
        lo, hi = int(self.set_ptr[set_id]), int(self.set_ptr[set_id + 1])
        return self.set_recv[lo:hi], self.set_target[lo:hi]

    def methods_of_type(self, gid: int) -> np.ndarray:
        """Global ids of the methods class ``gid`` defines."""
        lo = int(np.searchsorted(self.sorted_types, gid, side="left"))
        hi = int(np.searchsorted(self.sorted_types, gid, side="right"))
        return np.sort(self.sorted_order[lo:hi])


def _type_keys(dex: DexIndex) -> np.ndarray:
    if not len(dex.type_desc):
        return np.zeros(0, dtype=np.uint64)
    desc = np.clip(dex.type_desc, 0, max(len(dex.string_hashes) - 1, 0))
    keys = dex.string_hashes[desc] if len(dex.string_hashes) else np.zeros(len(desc), np.uint64)
    bad = (dex.type_desc < 0) | (dex.type_desc >= len(dex.string_hashes))
    return np.where(bad, np.uint64(0), keys)


def _lookup(values: np.ndarray, table: np.ndarray) -> np.ndarray:
    """Index of each value in sorted ``table`` (-1 when absent)."""
    if not len(table):
        return np.full(len(values), -1, dtype=np.int64)
    pos = np.searchsorted(table, values)
    pos = np.clip(pos, 0, len(table) - 1)
    return np.where(table[pos] == values, pos, -1).astype(np.int64)


def _safe_take(arr: np.ndarray, idx: np.ndarray, default) -> np.ndarray:
    ok = (idx >= 0) & (idx < len(arr))
    out = np.full(len(idx), default, dtype=arr.dtype if len(arr) else np.int64)
    if len(arr):
        out[ok] = arr[idx[ok]]
    return out


def _csr(keys: np.ndarray, values: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Group ``values`` by ``keys`` (0..n-1) into CSR, stable."""
    order = np.argsort(keys, kind="stable")
    counts = np.bincount(keys, minlength=n) if len(keys) else np.zeros(n, dtype=np.int64)
    ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(counts, out=ptr[1:])
    return ptr, values[order]


# Limits against hostile DEX files (a valid file never reaches them). Distinct type_lists do
# not overlap in a valid file and an item takes 2 bytes, so all of them hold at most
# len(buf) // 2 items; a proto_id takes 12 bytes, so len(buf) parameters (plus a margin) is far
# above any real app; a class_def takes 32 bytes, so len(buf) // 4 interface edges is 8 per
# class even in a file of class_defs only (each edge costs about 100 bytes of tables).
_WORK_MARGIN = 1 << 20
_EDGE_MARGIN = 1 << 16
_CHA_PAIRS_PER_METHOD = 16
_CHA_PAIRS_MIN = 1 << 20
_STEPS_PER_DEX_BYTE = 64
_STEPS_MIN = 50_000_000


def _read_type_lists(buf: np.ndarray, offs: np.ndarray, ntl: int, status: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each distinct ``type_list`` offset read once: ``(ptr, items, list_of)``, list ``list_of[i]`` for ``offs[i]``.

    The items of a list are de-duplicated (first occurrence kept, order unchanged).
    """
    uoffs, inv = np.unique(offs.astype(np.int64), return_inverse=True)
    ptr, items = type_lists(buf, uoffs, np.int64(ntl), np.int64(len(buf) // 2), status)
    lid = np.repeat(np.arange(len(uoffs), dtype=np.int64), np.diff(ptr))
    if len(items) > 1:
        order = np.lexsort((np.arange(len(items)), items, lid))
        same = (lid[order][1:] == lid[order][:-1]) & (items[order][1:] == items[order][:-1])
        if same.any():
            keep = np.ones(len(items), dtype=np.bool_)
            keep[order[1:][same]] = False
            items = items[keep]
            ptr = np.zeros(len(uoffs) + 1, dtype=np.int64)
            np.cumsum(np.bincount(lid[keep], minlength=len(uoffs)), out=ptr[1:])
    return ptr, items, inv.reshape(-1).astype(np.int64)


def build_call_graph(app: AppModel) -> CallGraph:
    """Build the call graph of the whole (merged) app. Deterministic; no name is decoded."""
    # ------------------------------------------------------------- type ids
    local_keys = [_type_keys(d) for d in app.dex]
    all_keys = np.concatenate(local_keys) if local_keys else np.zeros(0, np.uint64)
    type_keys, first = np.unique(all_keys, return_index=True)
    starts = np.cumsum([0] + [len(k) for k in local_keys])
    origin_dex = np.searchsorted(starts, first, side="right") - 1
    type_origin = np.stack([origin_dex, first - starts[origin_dex]], axis=1).astype(np.int64) if len(first) else np.zeros((0, 2), np.int64)
    ntypes = len(type_keys)
    dex_type_gid = [_lookup(k, type_keys) for k in local_keys]

    type_super = np.full(ntypes, -1, dtype=np.int64)
    type_class = np.zeros(ntypes, dtype=np.bool_)
    type_interface = np.zeros(ntypes, dtype=np.bool_)
    type_abstract = np.zeros(ntypes, dtype=np.bool_)
    iface_src: list[np.ndarray] = []
    iface_dst: list[np.ndarray] = []
    dex_mref_type: list[np.ndarray] = []
    dex_mref_subsig: list[np.ndarray] = []
    dex_fref_type: list[np.ndarray] = []
    m_parts: dict[str, list[np.ndarray]] = {k: [] for k in ("dex", "row", "type", "subsig", "name", "flags", "code")}
    gm_of_row: list[np.ndarray] = []
    next_gm = 0
    truncated: list[str] = []
    for d, dex in enumerate(app.dex):
        gids = dex_type_gid[d]
        ntl = len(dex.type_desc)
        kept = app.class_kept[d] if d < len(app.class_kept) else np.ones(len(dex.class_type), bool)
        # classes (kept definitions only)
        cls_gid = _safe_take(gids, dex.class_type, -1)
        sup_local = np.where(dex.class_super == NO_INDEX, -1, dex.class_super)
        sup_gid = _safe_take(gids, sup_local, -1)
        rows = np.nonzero(kept & (cls_gid >= 0))[0]
        type_class[cls_gid[rows]] = True
        type_super[cls_gid[rows]] = sup_gid[rows]
        type_interface[cls_gid[rows]] = (dex.class_flags[rows] & ACC_INTERFACE) != 0
        type_abstract[cls_gid[rows]] = (dex.class_flags[rows] & (ACC_ABSTRACT | ACC_INTERFACE)) != 0
        status = np.zeros(1, dtype=np.uint8)
        lptr, litems, list_of = _read_type_lists(dex.buf, dex.class_interfaces_off[rows], ntl, status)
        counts = np.diff(lptr)[list_of]
        max_edges = len(dex.buf) // 4 + _EDGE_MARGIN
        if counts.sum() > max_edges:
            counts = np.where(np.cumsum(counts) <= max_edges, counts, 0)
            status[0] = 1
        if status[0]:
            truncated.append(f"DEX {d}: the classes' interface lists hold more entries than the file can; "
                             "the classes past the limit keep no interfaces")
        src = np.repeat(cls_gid[rows], counts)
        first = np.cumsum(counts) - counts
        at = np.arange(int(counts.sum()), dtype=np.int64) - np.repeat(first - lptr[:-1][list_of], counts)
        dst = _safe_take(gids, litems[at], -1)
        ok = dst >= 0
        iface_src.append(src[ok])
        iface_dst.append(dst[ok])
        # protos -> keys
        status = np.zeros(1, dtype=np.uint8)
        uoffs, pinv = np.unique(dex.proto_params_off.astype(np.int64), return_inverse=True)
        pptr, pitems = type_lists(dex.buf, uoffs, np.int64(ntl), np.int64(len(dex.buf) // 2), status)
        ret_keys = _safe_take(local_keys[d], dex.proto_return, np.uint64(0)).astype(np.uint64)
        pkeys = proto_keys(ret_keys, pptr, pitems, local_keys[d], pinv.reshape(-1).astype(np.int64),
                           np.int64(len(dex.buf) + _WORK_MARGIN), status)
        if status[0]:
            truncated.append(f"DEX {d}: the protos' parameter lists hold more entries than the file can; "
                             "methods past the limit have an unknown signature")
        # method ids -> (class gid, subsig)
        name_h = _safe_take(dex.string_hashes, dex.method_name, np.uint64(0)).astype(np.uint64)
        subsig = _mix_np(name_h, _safe_take(pkeys, dex.method_proto, np.uint64(0)).astype(np.uint64))
        dex_mref_type.append(_safe_take(gids, dex.method_class, -1))
        dex_mref_subsig.append(subsig)
        dex_fref_type.append(_safe_take(gids, dex.field_class, -1))
        # defined methods
        krow = app.kept_rows(d) if len(dex.def_class) else np.zeros(0, bool)
        midx = dex.def_method.astype(np.int64)
        valid = krow & (midx >= 0)
        rows_m = np.nonzero(valid)[0]
        gmap = np.full(len(dex.def_class), -1, dtype=np.int64)
        gmap[rows_m] = next_gm + np.arange(len(rows_m))
        next_gm += len(rows_m)
        gm_of_row.append(gmap)
        m_parts["dex"].append(np.full(len(rows_m), d, dtype=np.int64))
        m_parts["row"].append(rows_m.astype(np.int64))
        m_parts["type"].append(_safe_take(cls_gid, dex.def_class[rows_m].astype(np.int64), -1))
        m_parts["subsig"].append(subsig[midx[rows_m]])
        m_parts["name"].append(name_h[midx[rows_m]])
        m_parts["flags"].append(dex.def_flags[rows_m].astype(np.int64))
        m_parts["code"].append(dex.def_code_off[rows_m] > 0)

    def cat(key: str, dtype) -> np.ndarray:
        parts = m_parts[key]
        return np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype=dtype)

    m_dex, m_row, m_type = cat("dex", np.int64), cat("row", np.int64), cat("type", np.int64)
    m_subsig, m_name = cat("subsig", np.uint64), cat("name", np.uint64)
    m_flags, m_code = cat("flags", np.int64), cat("code", np.bool_)

    isrc = np.concatenate(iface_src) if iface_src else np.zeros(0, np.int64)
    idst = np.concatenate(iface_dst) if iface_dst else np.zeros(0, np.int64)
    iface_ptr, ifaces = _csr(isrc, idst, ntypes)
    # children: subclass -> superclass edges and implementor -> interface edges, inverted
    sub = np.nonzero(type_class & (type_super >= 0))[0]
    ch_parent = np.concatenate([type_super[sub], idst])
    ch_child = np.concatenate([sub, isrc])
    child_ptr, children = _csr(ch_parent.astype(np.int64), ch_child.astype(np.int64), ntypes)
    type_concrete = type_class & ~type_abstract

    order = np.lexsort((m_subsig, m_type))
    sorted_types = m_type[order]
    sorted_subsigs = m_subsig[order]
    sorted_order = order.astype(np.int64)

    # static initialisers
    clinit_of_type = np.full(ntypes, -1, dtype=np.int64)
    from datasafety.app.dex.index import fnv1a

    clinit_name = np.uint64(fnv1a(b"<clinit>"))
    cl = np.nonzero(m_name == clinit_name)[0]
    clinit_of_type[m_type[cl]] = cl

    # ------------------------------------------------------------ call sites
    cs_parts: dict[str, list[np.ndarray]] = {k: [] for k in ("caller", "pc", "kind", "qtype", "qsub", "dex", "ref")}
    new_parts: list[tuple[np.ndarray, np.ndarray]] = []
    clinit_parts: list[tuple[np.ndarray, np.ndarray]] = []
    for d, dex in enumerate(app.dex):
        if not len(dex.ref_kind):
            continue
        gmap = gm_of_row[d]
        caller = gmap[dex.ref_row.astype(np.int64)]
        live = caller >= 0
        inv = np.nonzero(live & (dex.ref_kind == kernels.REF_INVOKE))[0]
        code_at = dex.def_code_off[dex.ref_row[inv].astype(np.int64)] + 16 + 2 * dex.ref_pc[inv].astype(np.int64)
        ops = dex.buf[np.clip(code_at, 0, len(dex.buf) - 1)].astype(np.int64)
        kind = np.where((ops >= 0x6E) & (ops <= 0x72), ops - 0x6E, np.where((ops >= 0x74) & (ops <= 0x78), ops - 0x74, INVOKE_OTHER))
        mref = dex.ref_target[inv].astype(np.int64)
        qtype = dex_mref_type[d][mref]
        qsub = dex_mref_subsig[d][mref]
        cs_parts["caller"].append(caller[inv])
        cs_parts["pc"].append(dex.ref_pc[inv].astype(np.int32))
        cs_parts["kind"].append(kind.astype(np.int8))
        cs_parts["qtype"].append(qtype)
        cs_parts["qsub"].append(qsub)
        cs_parts["dex"].append(np.full(len(inv), d, dtype=np.int64))
        cs_parts["ref"].append(inv.astype(np.int64))
        # instantiated / class-literal types
        ty = np.nonzero(live & (dex.ref_kind == kernels.REF_TYPE))[0]
        new_parts.append((caller[ty], _safe_take(dex_type_gid[d], dex.ref_target[ty].astype(np.int64), -1)))
        # static initialiser triggers: static invokes, new-instance, static field access
        fld = np.nonzero(live & ((dex.ref_kind == kernels.REF_FIELD_READ) | (dex.ref_kind == kernels.REF_FIELD_WRITE)))[0]
        f_at = dex.def_code_off[dex.ref_row[fld].astype(np.int64)] + 16 + 2 * dex.ref_pc[fld].astype(np.int64)
        f_ops = dex.buf[np.clip(f_at, 0, len(dex.buf) - 1)].astype(np.int64)
        static_f = fld[(f_ops >= 0x60) & (f_ops <= 0x6D)]
        st_inv = inv[kind == INVOKE_STATIC]
        clinit_parts.append((
            np.concatenate([caller[static_f], caller[st_inv], caller[ty]]),
            np.concatenate([
                dex_fref_type[d][dex.ref_target[static_f].astype(np.int64)],
                dex_mref_type[d][dex.ref_target[st_inv].astype(np.int64)],
                _safe_take(dex_type_gid[d], dex.ref_target[ty].astype(np.int64), -1),
            ]),
        ))

    def cat_cs(key: str, dtype=np.int64) -> np.ndarray:
        parts = cs_parts[key]
        return np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype=dtype)

    cs_caller, cs_pc, cs_kind = cat_cs("caller"), cat_cs("pc", np.int32), cat_cs("kind", np.int8)
    qtype, qsub = cat_cs("qtype"), cat_cs("qsub", np.uint64)
    cs_dex, cs_ref = cat_cs("dex"), cat_cs("ref")

    # Target sets: one per distinct (kind class, type, subsig); exact calls resolve once.
    exact = (cs_kind == INVOKE_STATIC) | (cs_kind == INVOKE_DIRECT) | (cs_kind == INVOKE_SUPER)
    virtual = (cs_kind == INVOKE_VIRTUAL) | (cs_kind == INVOKE_INTERFACE)
    cs_set = np.full(len(cs_caller), -1, dtype=np.int64)
    set_ptr_parts = [np.zeros(1, dtype=np.int64)]
    set_recv_parts: list[np.ndarray] = []
    set_target_parts: list[np.ndarray] = []
    nsets = 0
    total = 0
    dex_bytes = sum(len(dex.buf) for dex in app.dex)
    step_budget = _STEPS_MIN + _STEPS_PER_DEX_BYTE * dex_bytes
    max_pairs = _CHA_PAIRS_MIN + _CHA_PAIRS_PER_METHOD * len(m_dex)
    for mask, is_exact in ((exact, True), (virtual, False)):
        idx = np.nonzero(mask)[0]
        if not len(idx):
            continue
        pairs = np.stack([qtype[idx].astype(np.uint64), qsub[idx]], axis=1)
        uniq, inverse = np.unique(pairs, axis=0, return_inverse=True)
        inverse = inverse.reshape(-1)
        ut = uniq[:, 0].astype(np.int64)
        us = uniq[:, 1].astype(np.uint64)
        # np.unique turns -1 into a large uint64: restore
        ut = np.where(ut >= ntypes, -1, ut)
        if is_exact:
            res = resolve_many(type_super, sorted_types, sorted_subsigs, sorted_order, ut, us)
            has = res >= 0
            has[has] = m_code[res[has]]
            counts = has.astype(np.int64)
            recv = np.full(int(has.sum()), -1, dtype=np.int64)
            targ = res[has]
            ptr = np.zeros(len(ut) + 1, dtype=np.int64)
            np.cumsum(counts, out=ptr[1:])
        else:
            status = np.zeros(1, dtype=np.uint8)
            ptr, recv, targ = cha_targets(
                type_super, type_concrete, child_ptr, children, sorted_types, sorted_subsigs, sorted_order, m_code, ut, us,
                np.int64(max_pairs), np.int64(step_budget), status,
            )
            if status[0] == 1:
                truncated.append(f"class-hierarchy dispatch stopped at {max_pairs} (receiver, target) pairs, the limit for "
                                 f"{len(m_dex)} methods; later virtual calls have no targets")
            elif status[0] == 2:
                truncated.append(f"class-hierarchy dispatch stopped after {step_budget} steps, the limit for {dex_bytes} "
                                 "DEX bytes; later virtual calls have no targets")
        cs_set[idx] = nsets + inverse
        set_ptr_parts.append(ptr[1:] + total)
        set_recv_parts.append(recv)
        set_target_parts.append(targ)
        nsets += len(ut)
        total += int(ptr[-1])
    set_ptr = np.concatenate(set_ptr_parts)
    set_recv = np.concatenate(set_recv_parts) if set_recv_parts else np.zeros(0, np.int64)
    set_target = np.concatenate(set_target_parts) if set_target_parts else np.zeros(0, np.int64)

    nm = len(m_dex)
    mcs_ptr = np.zeros(nm + 1, dtype=np.int64)
    if len(cs_caller):
        np.cumsum(np.bincount(cs_caller, minlength=nm), out=mcs_ptr[1:])
    # cs arrays are sorted by caller already (DEX order, then row order, then pc)
    dex_set_of_ref = []
    for d, dex in enumerate(app.dex):
        arr = np.full(len(dex.ref_kind), -1, dtype=np.int32)
        sel = cs_dex == d
        arr[cs_ref[sel]] = cs_set[sel]
        dex_set_of_ref.append(arr)

    def group(parts: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
        if not parts:
            return np.zeros(nm + 1, dtype=np.int64), np.zeros(0, dtype=np.int64)
        keys = np.concatenate([p[0] for p in parts]).astype(np.int64)
        vals = np.concatenate([p[1] for p in parts]).astype(np.int64)
        ok = (keys >= 0) & (vals >= 0)
        return _csr(keys[ok], vals[ok], nm)

    mnew_ptr, mnew = group(new_parts)
    mclinit_ptr, mclinit = group(clinit_parts)
    return CallGraph(
        app=app,
        type_keys=type_keys,
        type_origin=type_origin,
        type_super=type_super,
        type_class=type_class,
        type_interface=type_interface,
        type_concrete=type_concrete,
        child_ptr=child_ptr,
        children=children,
        iface_ptr=iface_ptr,
        ifaces=ifaces,
        m_dex=m_dex,
        m_row=m_row,
        m_type=m_type,
        m_subsig=m_subsig,
        m_name=m_name,
        m_flags=m_flags,
        m_code=m_code,
        gm_of_row=gm_of_row,
        dex_type_gid=dex_type_gid,
        dex_mref_type=dex_mref_type,
        dex_mref_subsig=dex_mref_subsig,
        dex_fref_type=dex_fref_type,
        sorted_types=sorted_types,
        sorted_subsigs=sorted_subsigs,
        sorted_order=sorted_order,
        cs_caller=cs_caller,
        cs_pc=cs_pc,
        cs_kind=cs_kind,
        cs_set=cs_set,
        mcs_ptr=mcs_ptr,
        set_ptr=set_ptr,
        set_recv=set_recv,
        set_target=set_target,
        mnew_ptr=mnew_ptr,
        mnew=mnew,
        mclinit_ptr=mclinit_ptr,
        mclinit=mclinit,
        clinit_of_type=clinit_of_type,
        dex_set_of_ref=dex_set_of_ref,
        step_budget=step_budget,
        truncated=truncated,
    )


def subsig_key(name: str, proto: str, cg: CallGraph) -> int | None:
    """Sub-signature key of ``name`` + ``proto`` (descriptor form), or None when a type is unknown."""
    from datasafety.app.dex.index import fnv1a

    ret_start = proto.rfind(")")
    params = _split_descriptors(proto[1:ret_start])
    ret = proto[ret_start + 1 :]
    h = np.uint64(fnv1a(ret.encode("utf-8")))
    with np.errstate(over="ignore"):
        for p in params:
            h = _mix_np(np.array([h], np.uint64), np.array([fnv1a(p.encode("utf-8"))], np.uint64))[0]
        h = _mix_np(np.array([h], np.uint64), np.array([len(params)], np.uint64))[0]
        return int(_mix_np(np.array([fnv1a(name.encode("utf-8"))], np.uint64), np.array([h], np.uint64))[0])


def _split_descriptors(text: str) -> list[str]:
    out = []
    i = 0
    while i < len(text):
        j = i
        while j < len(text) and text[j] == "[":
            j += 1
        if j < len(text) and text[j] == "L":
            j = text.index(";", j)
        out.append(text[i : j + 1])
        i = j + 1
    return out
