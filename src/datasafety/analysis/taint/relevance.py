"""Which calls the flow analysis follows into the callee.

Following every call of a reachable method through the support library and
every SDK would cost minutes per app; most of those calls cannot matter. A
call into app code is analysed when

- an argument carries taint: for the app's own code, taint anywhere in the
  objects reachable from it; for SDK code, taint in the value itself or in
  the library contents it holds (an SDK cannot read the fields of the app's
  classes by name, so an activity whose fields hold taint does not make
  every SDK call it takes part in relevant), or
- the callee is within a few calls of a *seed* (distance in the reversed
  call graph): for the app's own code (:data:`APP_DEPTH`), a method that
  calls a source, registers a callback with the framework, or reads an
  incoming intent; for SDK code (:data:`LIBRARY_DEPTH`), a method that calls
  a source. The app's own code within :data:`ALIAS_DEPTH` calls of a store of
  an object reference into a field (``iput-object``: constructors, setters)
  is followed too, since those stores build the aliasing later flows travel
  through (an inner class's ``this$0``, a singleton kept in a static field). Seeds are added during the analysis: once taint reaches a static
  field or a field of a published object, the methods that read a field of
  that name become seeds (:meth:`Relevance.taint_reached_field`).

Any other call is treated like an unknown library call. Distances come from
one compiled breadth-first search over the reversed call graph.
"""

from __future__ import annotations

import numpy as np

from datasafety.analysis.callgraph import CallGraph
from datasafety.analysis.graph_kernels import distances as _distances
from datasafety.analysis.taint.values import deep_taint
from datasafety.app.dex import kernels
from datasafety.app.dex.index import fnv1a

APP_DEPTH = 8
LIBRARY_DEPTH = 2
ALIAS_DEPTH = 2
IPUT_OBJECT = 0x5B
SPUT_OBJECT = 0x69
UNREACHABLE = np.iinfo(np.int32).max
ICC_READS = ("getIntent", "getExtras")
DISTINCTIVE_NAME_LENGTH = 12


def _descriptor(dotted_name: str) -> str:
    return "L" + dotted_name.replace(".", "/") + ";"


def _subclasses(supertypes: dict[str, tuple[str, ...]]) -> dict[str, set[str]]:
    """Framework class -> the framework classes below it (reverse of ``supertypes``), itself included."""
    below: dict[str, set[str]] = {}
    for cls in set(supertypes) | {t for ts in supertypes.values() for t in ts}:
        todo = [cls]
        seen = set()
        while todo:
            c = todo.pop()
            if c in seen:
                continue
            seen.add(c)
            todo.extend(supertypes.get(c, ()))
        for sup in seen:
            below.setdefault(sup, set()).add(cls)
    return below


def seed_calls(library, sources_only: bool = False) -> tuple[set[tuple[str, str]], set[str]]:
    """Calls that make the calling method a seed: (class descriptor, name) pairs, and distinctive names.

    Sources and callback registrations are matched by class (the declared class
    or a framework subclass of it); names that cannot be mistaken
    (``registerReceiver``, ``requestLocationUpdates``, ``getIntent``,
    ``getStringExtra``, ...) also when called on an app class that inherits them.
    """
    below = _subclasses(library.fk.supertypes)
    pairs: set[tuple[str, str]] = set()
    names: set[str] = set()
    for cls, name in library.sources:
        for c in below.get(cls, {cls}):
            pairs.add((_descriptor(c), name))
    if sources_only:
        return pairs, names
    for cls, entries in library.summaries.items():
        for pattern, effects in entries:
            if pattern.endswith("*"):
                continue
            registers = any(len(e) == 3 and (e[0] == "reg" or e[0].endswith((".cb", ".cb[method]"))) for e in effects)
            reads_icc = any(len(e) == 1 and e[0] in ("icc:get_intent", "prefs:get") for e in effects) or any(
                len(e) == 3 and ".key[" in e[2] and cls.endswith("Intent") for e in effects
            )
            if registers or reads_icc:
                for c in below.get(cls, {cls}):
                    pairs.add((_descriptor(c), pattern))
                if len(pattern) >= DISTINCTIVE_NAME_LENGTH or pattern.endswith("Extra"):
                    names.add(pattern)
    names.update(ICC_READS)
    return pairs, names


def seed_methods(cg: CallGraph, pairs: set[tuple[str, str]], names: set[str], extra_strings: list[str]) -> np.ndarray:
    """Methods making one of the seed calls, or loading a string starting with one of ``extra_strings``."""
    pair_keys = np.array(sorted({_pair_key(fnv1a(c.encode("utf-8")), fnv1a(n.encode("utf-8"))) for c, n in pairs}), dtype=np.uint64)
    name_keys = np.array(sorted({fnv1a(n.encode("utf-8")) for n in names}), dtype=np.uint64)
    out: list[np.ndarray] = []
    for d, dex in enumerate(cg.app.dex):
        if not len(dex.ref_kind) or not len(dex.string_hashes):
            continue
        top = max(len(dex.string_hashes) - 1, 0)
        name_h = dex.string_hashes[np.clip(dex.method_name, 0, top)]
        class_h = dex.string_hashes[np.clip(dex.type_desc[np.clip(dex.method_class, 0, max(len(dex.type_desc) - 1, 0))], 0, top)] if len(dex.type_desc) else np.zeros(len(name_h), np.uint64)
        with np.errstate(over="ignore"):
            keys = _pair_key(class_h, name_h)
        wanted = np.isin(keys, pair_keys) | np.isin(name_h, name_keys)
        inv = dex.ref_kind == kernels.REF_INVOKE
        sel = np.zeros(len(dex.ref_kind), dtype=bool)
        sel[inv] = wanted[dex.ref_target[inv].astype(np.int64)]
        if extra_strings:
            strings = np.zeros(len(dex.string_starts), dtype=bool)
            for prefix in extra_strings:
                strings[dex.strings_with_prefix(prefix)] = True
            st = dex.ref_kind == kernels.REF_STRING
            sel[st] |= strings[dex.ref_target[st].astype(np.int64)]
        gms = cg.gm_of_row[d][dex.ref_row[sel].astype(np.int64)]
        out.append(gms[gms >= 0])
    return np.unique(np.concatenate(out)) if out else np.zeros(0, dtype=np.int64)


def _pair_key(class_hash, name_hash):
    with np.errstate(over="ignore"):
        return (np.uint64(class_hash) * np.uint64(0x100000001B3)) ^ np.uint64(name_hash)


def reversed_edges(cg: CallGraph) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(target -> sets containing it) and (set -> calling methods), both as CSR."""
    n = cg.method_count
    nsets = len(cg.set_ptr) - 1
    sizes = np.diff(cg.set_ptr)
    set_of_entry = np.repeat(np.arange(nsets, dtype=np.int64), sizes)
    order = np.argsort(cg.set_target, kind="stable")
    target_ptr = np.zeros(n + 1, dtype=np.int64)
    if len(cg.set_target):
        np.cumsum(np.bincount(cg.set_target, minlength=n), out=target_ptr[1:])
    target_sets = set_of_entry[order]
    ok = cg.cs_set >= 0
    sets = cg.cs_set[ok]
    callers = cg.cs_caller[ok]
    corder = np.argsort(sets, kind="stable")
    set_ptr = np.zeros(nsets + 1, dtype=np.int64)
    if len(sets):
        np.cumsum(np.bincount(sets, minlength=nsets), out=set_ptr[1:])
    return target_ptr, target_sets, set_ptr, callers[corder].astype(np.int64)


class Relevance:
    def __init__(self, cg: CallGraph, library, first_party: np.ndarray, string_seeds: list[str]):
        self.first_party = first_party
        rev = reversed_edges(cg)
        app_seeds = seed_methods(cg, *seed_calls(library), string_seeds)
        lib_seeds = seed_methods(cg, *seed_calls(library, sources_only=True), string_seeds)
        self.app_dist = _distances(app_seeds.astype(np.int64), *rev, np.int32(APP_DEPTH))
        self.lib_dist = _distances(lib_seeds.astype(np.int64), *rev, np.int32(LIBRARY_DEPTH))
        self.alias_dist = _distances(object_stores(cg).astype(np.int64), *rev, np.int32(ALIAS_DEPTH))
        self._rev = rev
        self._readers = field_readers(cg)
        self._tainted_fields: set[int] = set()
        self.epoch = 0
        """Incremented when seeds are added: memoised results computed before may have skipped calls."""

    def taint_reached_field(self, name: str) -> None:
        """Taint was written to a static field or a published object's field called ``name``."""
        h = fnv1a(name.encode("utf-8"))
        if h in self._tainted_fields:
            return
        self._tainted_fields.add(h)
        keys, gms = self._readers
        lo, hi = np.searchsorted(keys, np.uint64(h), side="left"), np.searchsorted(keys, np.uint64(h), side="right")
        if hi <= lo:
            return
        dist = _distances(np.unique(gms[lo:hi]), *self._rev, np.int32(APP_DEPTH))
        self.app_dist = np.minimum(self.app_dist, dist)
        self.lib_dist = np.minimum(self.lib_dist, np.where(dist <= LIBRARY_DEPTH, dist, self.lib_dist))
        self.epoch += 1

    def near_seed(self, gm: int) -> bool:
        if self.first_party[gm]:
            return int(self.app_dist[gm]) <= APP_DEPTH or int(self.alias_dist[gm]) <= ALIAS_DEPTH
        return int(self.lib_dist[gm]) <= LIBRARY_DEPTH

    def relevant(self, engine, gm: int, params: list, heap) -> bool:
        if self.near_seed(gm):
            return True
        if self.first_party[gm]:
            return any(p is not None and (p.taint or (p.objs and deep_taint(heap, p, 3))) for p in params)
        return any(p is not None and (p.taint or (p.objs and library_taint(engine, heap, p))) for p in params)

    def clinit_relevant(self, gm: int) -> bool:  # noqa: D102
        return bool(self.first_party[gm]) or self.near_seed(gm)


def library_taint(engine, heap, value) -> bool:
    """Taint in the library contents (``@...`` cells, array elements) of the objects ``value`` points to."""
    for o in value.objs:
        for k, w in engine.cells(heap, o).items():
            if w.taint and (k.startswith("@") or k.startswith("[")) and not k.startswith("@cb"):
                return True
    return False


def field_readers(cg: CallGraph) -> tuple[np.ndarray, np.ndarray]:
    """(field-name hashes, method ids) of every field read, sorted by hash."""
    keys: list[np.ndarray] = []
    gms: list[np.ndarray] = []
    for d, dex in enumerate(cg.app.dex):
        if not len(dex.ref_kind) or not len(dex.string_hashes):
            continue
        sel = dex.ref_kind == kernels.REF_FIELD_READ
        fields = dex.ref_target[sel].astype(np.int64)
        names = dex.field_name[np.clip(fields, 0, max(len(dex.field_name) - 1, 0))] if len(dex.field_name) else np.zeros(0, np.int64)
        keys.append(dex.string_hashes[np.clip(names, 0, len(dex.string_hashes) - 1)])
        gms.append(cg.gm_of_row[d][dex.ref_row[sel].astype(np.int64)])
    if not keys:
        return np.zeros(0, np.uint64), np.zeros(0, np.int64)
    k = np.concatenate(keys)
    g = np.concatenate(gms)
    ok = g >= 0
    k, g = k[ok], g[ok]
    order = np.argsort(k, kind="stable")
    return k[order], g[order]


PRIMITIVE_ARRAYS = ("[Z", "[B", "[C", "[S", "[I", "[J", "[F", "[D")


def object_stores(cg: CallGraph) -> np.ndarray:
    """Methods that store an object reference into a field (``iput-object``, ``sput-object``: setters,
    constructors, singleton getters). Stores of primitive arrays (coverage probes such as JaCoCo's
    ``$jacocoData``) are left out: no object is reached through them."""
    primitive = np.array([fnv1a(t.encode("utf-8")) for t in PRIMITIVE_ARRAYS], dtype=np.uint64)
    out: list[np.ndarray] = []
    for d, dex in enumerate(cg.app.dex):
        if not len(dex.ref_kind) or not len(dex.string_hashes) or not len(dex.type_desc):
            continue
        sel = np.nonzero(dex.ref_kind == kernels.REF_FIELD_WRITE)[0]
        at = dex.def_code_off[dex.ref_row[sel].astype(np.int64)] + 16 + 2 * dex.ref_pc[sel].astype(np.int64)
        ops = dex.buf[np.clip(at, 0, max(len(dex.buf) - 1, 0))]
        fields = dex.ref_target[sel].astype(np.int64)
        ftype = dex.field_type[np.clip(fields, 0, max(len(dex.field_type) - 1, 0))] if len(dex.field_type) else np.zeros(len(fields), np.int64)
        type_hash = dex.string_hashes[np.clip(dex.type_desc[np.clip(ftype, 0, len(dex.type_desc) - 1)], 0, len(dex.string_hashes) - 1)]
        keep = ((ops == IPUT_OBJECT) | (ops == SPUT_OBJECT)) & ~np.isin(type_hash, primitive)
        rows = dex.ref_row[sel[keep]].astype(np.int64)
        gms = cg.gm_of_row[d][rows]
        out.append(gms[gms >= 0])
    return np.unique(np.concatenate(out)) if out else np.zeros(0, dtype=np.int64)
