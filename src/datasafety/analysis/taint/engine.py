"""Inter-procedural flow analysis: calls in value contexts, library effects, sources, sinks, ICC.

A call to app code is analysed once per *context*: the callee, the abstract
values of its arguments and the part of the heap reachable from them
(value contexts, Padhye & Khedker, SOAP 2013). The result is memoised; the
callee's heap replaces the caller's cells it could reach. A call whose callee
is irrelevant to flows (no tainted argument, and no source, callback
registration or intent read within a few calls of it, see :mod:`relevance`)
is not analysed: it behaves like an unknown library call. Calls to the
framework apply the summaries of ``framework_model.json`` (or a default:
the result carries the data of the receiver and the arguments).

Global, flow-insensitive stores link what the per-component analyses cannot
see directly: static fields, the cells of objects reachable from them or
from the Application object (*published* objects), intents delivered to each
component, shared preferences. :mod:`lifecycle` re-runs the components until
these stores stop growing.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from datasafety.analysis.callgraph import (
    ACC_STATIC,
    INVOKE_DIRECT,
    INVOKE_INTERFACE,
    INVOKE_STATIC,
    INVOKE_SUPER,
    INVOKE_VIRTUAL,
    CallGraph,
    _split_descriptors,
)
from datasafety.analysis.feasible import Feasibility
from datasafety.analysis.taint import ir
from datasafety.analysis.taint.interpreter import Summary, interpret
from datasafety.analysis.taint.library import Library, Match, SourceMatch
from datasafety.app.dex.index import dotted
from datasafety.analysis.taint.values import (
    EMPTY,
    Cell,
    significant,
    NONE,
    Heap,
    Val,
    const_str,
    deep_strs,
    deep_taint,
    freeze,
    heap_get,
    heap_join,
    heap_put,
    join,
    project,
    reachable_objects,
    taint_only,
)
from datasafety.budget import current_rss_mb

MAX_CALL_DEPTH = 24
WORK_PER_SECOND = 40_000
"""Instructions interpreted per second of flow budget. The budget is counted in work, not wall-clock
time, so a budget-cut report is the same on every run and machine. On the development machine the
analysis interprets 23,000 to 61,000 instructions per second depending on the app. A wall-clock
limit of :data:`WALL_CLOCK_FACTOR` times the budget stops pathological runs."""
WALL_CLOCK_FACTOR = 3.0
MAX_CONTEXTS_PER_METHOD = 16
MAX_TARGETS = 16
MAX_UNKNOWN_RECEIVER_TARGETS = 3
TICKS_PER_CHECK = 256
WIDE = ("J", "D")


class BudgetExhausted(Exception):
    """The flow budget ran out; the flows found so far are kept."""


@dataclass(frozen=True)
class ObjInfo:
    """An abstract object: one per allocation site (or framework result, component, inbox ...)."""

    kind: str
    """``alloc``, ``ret`` (a framework result), ``component``, ``inbox``, ``result``, ``param``, ``registry``, ``application``, ``reflect``."""
    gid: int
    """Type id of its class in the call graph, -1 when unknown."""
    desc: str
    """Type descriptor (``Lcom/foo/Bar;``)."""
    site: tuple
    """Key it was created for, e.g. ``("alloc", method, pc)`` or ``("component", name)``."""


@dataclass
class SourceLabel:
    """A taint label: data from one source site."""

    gm: int
    pc: int
    match: SourceMatch
    stack: tuple[int, ...]
    """Analysis call stack when the label was created (for the flow's path)."""


@dataclass
class FlowRecord:
    """A flow found so far: a label reached a sink call."""

    label: int
    sink_gm: int
    sink_pc: int
    api: str
    kind: str
    destinations: set[str] = field(default_factory=set)
    path: tuple[int, ...] = ()


@dataclass
class MethodRef:
    """A method reference of an invoke instruction, resolved once (per DEX, method id and invoke kind)."""

    class_desc: str
    name: str
    proto: str
    params: tuple[str, ...]
    ret: str
    static: bool
    kind: int
    gid: int
    subsig: int
    match: Match
    exact: int
    """Target of static/direct/super calls (-1: framework or unknown)."""
    set_id: int
    """-1 until the class-hierarchy targets have been computed (then -2)."""
    _cha_targets: list = field(default_factory=list)


def _looks_like_destination(text: str) -> bool:
    """A URL with a host, or a host name such as ``api.example.com``."""
    t = text.strip().lower()
    if "://" in t:
        host = t.split("://", 1)[1].split("/")[0].split(":")[0].split("@")[-1]
        return _is_host(host)
    if not t or " " in t or t.startswith("/") or len(t) < 4:
        return False
    return _is_host(t.split("/")[0].split(":")[0])


def _is_host(host: str) -> bool:
    parts = host.split(".")
    if host == "localhost":
        return True
    if len(parts) == 4 and all(p.isdigit() and int(p) < 256 for p in parts):
        return True
    return len(parts) >= 2 and all(parts) and parts[-1].isalpha() and 2 <= len(parts[-1]) <= 6


class Engine:
    """State of one flow analysis run (see module docstring)."""

    def __init__(self, cg: CallGraph, reachability, library: Library, relevance, seconds: float | None,
                 password_ids: frozenset[int], first_party, callback_methods, memory_mb: float | None = None):
        self.cg = cg
        self.reach = reachability
        self.lib = library
        self.relevance = relevance
        self.work_limit = int(seconds * WORK_PER_SECOND) if seconds is not None else None
        self.deadline = time.monotonic() + seconds * WALL_CLOCK_FACTOR if seconds is not None else None
        self.work = 0
        self.memory_mb = memory_mb
        """Resident memory ceiling of the process in MB (``--memory-budget``); None = unlimited."""
        self.stopped_by = ""
        """``time`` or ``memory`` once the analysis was cut short."""
        self.password_ids = password_ids
        self.first_party = first_party
        self.callback_methods_of = callback_methods
        self.feasibility: Feasibility = reachability.feasibility
        self.objs: list[ObjInfo] = []
        self._obj_index: dict[tuple, int] = {}
        self.statics: dict[str, Val] = {}
        self.published: Heap = {}
        self.inbox_cells: dict[str, dict] = {}
        self.prefs: dict[str, Val] = {}
        self.binders: dict[str, Val] = {}
        """What each service's ``onBind`` returns."""
        self.files: dict[str, Val] = {}
        """What the app writes to its files, by file name (``*`` when the name is not a constant)."""
        self.prefs_read: set[str] = set()
        """Preference keys the app reads (``@key:*`` when a key is not a constant)."""
        self.pending_stores: list[tuple] = []
        self.result_requesters: set[str] = set()
        self.pending_results: list[tuple] = []
        self.version = 0
        self.memo: dict[tuple, Summary] = {}
        self.contexts: dict[int, int] = {}
        self.stack: list[int] = []
        self.labels: list[SourceLabel] = []
        self._label_index: dict[tuple, int] = {}
        self.flows: dict[tuple, FlowRecord] = {}
        self.clinit_done: set[int] = set()
        self.component = None
        self.component_names: dict[str, object] = {}
        self._ticks = 0
        self._codes: dict[int, object] = {}
        self._leaders: dict[int, frozenset] = {}
        self._layouts: dict[int, tuple] = {}
        self._mrefs: dict[tuple, MethodRef] = {}
        self._fields: dict[tuple, str] = {}
        self._types: dict[tuple, str] = {}
        self._protos: dict[int, tuple] = {}
        self.analysed_methods: set[int] = set()
        self.round = 0
        self._global_reads: list[bool] = []
        self._entry_cache: dict[tuple, list[int]] = {}
        self.last_return: Val | None = None
        self.icc = None
        self.chained_callbacks: dict[str, str] = {}
        self.callback_class: dict[int, str] = {}
        self.saved_state_methods: dict[str, tuple[str, ...]] = {}
        self._field_keys: np.ndarray | None = None
        self._static_class: dict[tuple[str, str], str] = {}
        self.callback_sources: dict = {}

    # ------------------------------------------------------------ budget
    def tick(self) -> None:
        """Called once per basic block; raises :class:`BudgetExhausted` when the work budget is spent,
        or (checked every :data:`TICKS_PER_CHECK` blocks) the wall clock or the memory ceiling is passed."""
        self._ticks += 1
        if self.work_limit is not None and self.work > self.work_limit:
            self.stopped_by = "time"
            raise BudgetExhausted()
        if self._ticks % TICKS_PER_CHECK:
            return
        if self.deadline is not None and time.monotonic() > self.deadline:
            self.stopped_by = "time"
            raise BudgetExhausted()
        if self.memory_mb is not None and current_rss_mb() >= self.memory_mb:
            self.stopped_by = "memory"
            raise BudgetExhausted()

    # ----------------------------------------------------------- objects
    def obj(self, key: tuple, desc: str, kind: str) -> int:
        o = self._obj_index.get(key)
        if o is None:
            o = len(self.objs)
            gid = self.cg.type_gid(desc) if desc.startswith("L") else -1
            self.objs.append(ObjInfo(kind, gid, desc, key))
            self._obj_index[key] = o
        return o

    def alloc(self, gm: int, pc: int, desc: str) -> Val:
        return Val(objs=frozenset((self.obj(("alloc", gm, pc), desc, "alloc"),)))

    def external(self, key: tuple, desc: str) -> Val:
        return Val(objs=frozenset((self.obj(key, desc, "ret"),)))

    # ------------------------------------------------------ method facts
    def dex_no(self, gm: int) -> int:
        return int(self.cg.m_dex[gm])

    def code(self, gm: int):
        if gm not in self._codes:
            self._codes[gm] = ir.decode_method(self.cg.dex_of(gm), int(self.cg.m_row[gm]))
        return self._codes[gm]

    def feasible(self, gm: int):
        return self.feasibility.feasible_pcs(gm)

    def leaders(self, gm: int) -> frozenset:
        if gm not in self._leaders:
            code = self.code(gm)
            out = {0}
            for i, insn in enumerate(code.insns):
                if insn.kind in (ir.GOTO, ir.IF, ir.IFZ, ir.SWITCH, ir.RETURN, ir.THROW):
                    out.add(i + 1)
                    out.update(code.at.get(t, -1) for t in insn.targets)
            for block in code.tries:
                for _t, addr in block.handlers:
                    out.add(code.at.get(addr, -1))
            out.discard(-1)
            self._leaders[gm] = frozenset(out)
        return self._leaders[gm]

    def proto_of(self, gm: int) -> tuple[str, tuple[str, ...], str, bool]:
        """(name, parameter descriptors, return descriptor, static) of a defined method."""
        if gm not in self._protos:
            cls, name, proto = self.cg.method_parts(gm)
            end = proto.rfind(")")
            params = tuple(_split_descriptors(proto[1:end])) if end > 0 else ()
            self._protos[gm] = (name, params, proto[end + 1 :], bool(self.cg.m_flags[gm] & ACC_STATIC))
        return self._protos[gm]

    def param_layout(self, gm: int, code, params: list) -> list[tuple[int, Val | None]]:
        _, descs, _, static = self.proto_of(gm)
        reg = code.registers - code.ins
        out = []
        kinds = ([] if static else ["L"]) + list(descs)
        for i, desc in enumerate(kinds):
            out.append((reg, params[i] if i < len(params) else NONE))
            reg += 2 if desc in WIDE else 1
        return out

    def field_name(self, dex_no: int, idx: int) -> str:
        key = (dex_no, idx)
        if key not in self._fields:
            dex = self.cg.app.dex[dex_no]
            self._fields[key] = dex.string(int(dex.field_name[idx])) if 0 <= idx < len(dex.field_name) else "?"
        return self._fields[key]

    def static_key(self, dex_no: int, idx: int) -> tuple[str, str]:
        """(declaring class, name) of a static field reference.

        A reference may name a subclass of the declaring class (``Sub.count`` for a
        field of ``Base``); the declaring class is taken as the highest app class of
        the chain that some field reference names with this field name.
        """
        dex = self.cg.app.dex[dex_no]
        if not 0 <= idx < len(dex.field_class):
            return "?", "?"
        cls, name = dex.type_name(int(dex.field_class[idx])), self.field_name(dex_no, idx)
        key = (cls, name)
        found = self._static_class.get(key)
        if found is None:
            found = self._declaring_class(cls, name)
            self._static_class[key] = found
        return found, name

    def _declaring_class(self, cls: str, name: str) -> str:
        from datasafety.app.dex.index import fnv1a

        if self._field_keys is None:
            parts = []
            for dex in self.cg.app.dex:
                if not len(dex.field_class) or not len(dex.string_hashes):
                    continue
                top = len(dex.string_hashes) - 1
                ch = dex.string_hashes[np.clip(dex.type_desc[np.clip(dex.field_class, 0, max(len(dex.type_desc) - 1, 0))], 0, top)]
                nh = dex.string_hashes[np.clip(dex.field_name, 0, top)]
                with np.errstate(over="ignore"):
                    parts.append(ch * np.uint64(0x100000001B3) ^ nh)
            self._field_keys = np.unique(np.concatenate(parts)) if parts else np.zeros(0, np.uint64)
        nh = np.uint64(fnv1a(name.encode("utf-8")))
        best = cls
        gid = self.cg.type_gid(cls)
        steps = 0
        while gid >= 0 and self.cg.type_class[gid] and steps < 64:
            desc = self.cg.type_descriptor(gid)
            with np.errstate(over="ignore"):
                k = np.uint64(fnv1a(desc.encode("utf-8"))) * np.uint64(0x100000001B3) ^ nh
            i = int(np.searchsorted(self._field_keys, k))
            if i < len(self._field_keys) and self._field_keys[i] == k:
                best = desc
            gid = int(self.cg.type_super[gid])
            steps += 1
        return best

    def type_desc(self, dex_no: int, idx: int) -> str:
        key = (dex_no, idx)
        if key not in self._types:
            self._types[key] = self.cg.app.dex[dex_no].type_name(idx)
        return self._types[key]

    def mref(self, dex_no: int, idx: int, kind: int) -> MethodRef | None:
        key = (dex_no, idx, kind)
        ref = self._mrefs.get(key)
        if ref is not None or key in self._mrefs:
            return ref
        dex = self.cg.app.dex[dex_no]
        if idx < 0 or idx >= len(dex.method_class):
            self._mrefs[key] = None
            return None
        cls, name, proto = dex.method_ref(idx)
        end = proto.rfind(")")
        params = tuple(_split_descriptors(proto[1:end])) if end > 0 else ()
        gid = int(self.cg.dex_mref_type[dex_no][idx])
        subsig = int(self.cg.dex_mref_subsig[dex_no][idx])
        exact = -1
        if kind in (INVOKE_STATIC, INVOKE_DIRECT, INVOKE_SUPER) and gid >= 0:
            t = self.cg.resolve(gid, subsig)
            exact = t if t >= 0 and self.cg.m_code[t] else -1
        ref = MethodRef(
            class_desc=cls, name=name, proto=proto, params=params, ret=proto[end + 1 :], static=kind == INVOKE_STATIC,
            kind=kind, gid=gid, subsig=subsig, match=self.lib.match(cls, name), exact=exact, set_id=-1,
        )
        self._mrefs[key] = ref
        return ref

    # ------------------------------------------------------------ labels
    def source_label(self, gm: int, pc: int, match: SourceMatch) -> int:
        key = (gm, pc, match.key)
        label = self._label_index.get(key)
        if label is None:
            label = len(self.labels)
            self.labels.append(SourceLabel(gm, pc, match, tuple(self.stack)))
            self._label_index[key] = label
        return label

    def callback_label(self, gm: int, source) -> int:
        """Label for data a framework callback delivers in a parameter (the source site is the callback, pc 0)."""
        match = SourceMatch(key=source.id, api=f"{source.class_name}.{source.method}", data_types=source.data_types)
        saved = self.stack
        self.stack = [gm]
        try:
            return self.source_label(gm, 0, match)
        finally:
            self.stack = saved

    def const_string(self, gm: int, dex_no: int, insn: ir.Insn) -> Val:
        text = self.cg.app.dex[dex_no].string(insn.idx)
        value = const_str(text)
        match = self.lib.string_source(text) if text.startswith("content:") else None
        if match is not None:
            value = value.with_taint(frozenset((self.source_label(gm, insn.pc, match),)))
        return value

    def class_literal(self, dex_no: int, idx: int) -> Val:
        return Val(strs=frozenset((dotted(self.type_desc(dex_no, idx)),)), exact=True)

    # ------------------------------------------------------ heap access
    def heap_write(self, heap: Heap, obj: int, name: str, value: Val | None, strong: bool) -> None:
        value = value if value is not None else NONE
        heap_put(heap, obj, name, value, strong)
        if obj in self.published:
            old = heap_get(self.published, obj, name)
            if heap_put(self.published, obj, name, value, False):
                if significant(old, heap_get(self.published, obj, name)):
                    self.version += 1
                self._publish_from(heap, value.objs)
            if value.taint and not name.startswith(("@", "[")):
                self.relevance.taint_reached_field(name)

    def read_global(self) -> None:
        """The current call's result depends on a global store (it is re-analysed in the next round)."""
        if self._global_reads:
            self._global_reads[-1] = True

    def cell(self, heap: Heap, obj: int, name: str) -> Val | None:
        v = heap_get(heap, obj, name)
        if obj in self.published:
            self.read_global()
            v = join(v, heap_get(self.published, obj, name))
        return v

    def cells(self, heap: Heap, obj: int) -> dict:
        local = heap.get(obj) or {}
        if obj not in self.published:
            return local
        self.read_global()
        merged = dict(self.published.get(obj) or {})
        for k, v in local.items():
            merged[k] = join(merged.get(k), v)
        return merged

    def field_read(self, heap: Heap, ref: Val | None, name: str) -> Val:
        """A field of the objects ``ref`` points to. A public field of a framework object
        (``PointF.x``, ``Message.obj``) that no code of the app wrote holds what the object was
        built from (its library contents)."""
        if ref is None or not ref.objs:
            return NONE
        out = None
        for o in ref.objs:
            v = self.cell(heap, o, name)
            if v is None:
                info = self.objs[o]
                if not (info.gid >= 0 and self.cg.type_class[info.gid]):
                    v = self.cell(heap, o, "@content")
                    v = taint_only(v) if v is not None and not v.objs else v
            out = join(out, v)
        return out if out is not None else NONE

    def field_write(self, heap: Heap, ref: Val | None, name: str, value: Val | None) -> None:
        if ref is None or not ref.objs:
            return
        strong = len(ref.objs) == 1
        for o in ref.objs:
            self.heap_write(heap, o, name, value, strong)

    def keyed_read(self, heap: Heap, objs, prefix: str, keys, wildcard: str, out: Val | None = None) -> Val | None:
        """Join, over ``objs``, of the cells ``prefix + key`` for each of ``keys`` and the ``wildcard``
        cell; with ``keys`` None (key unknown), of every cell whose name starts with ``prefix``.
        Array elements (``[n]``) and map entries (``@key:k``) are read this way."""
        for o in objs:
            cells = self.cells(heap, o)
            if keys is not None:
                for key in keys:
                    out = join(out, cells.get(prefix + key))
                out = join(out, cells.get(wildcard))
            else:
                for name, value in cells.items():
                    if name.startswith(prefix):
                        out = join(out, value)
        return out

    def array_read(self, heap: Heap, arr: Val | None, idx: Val | None) -> Val:
        if arr is None:
            return NONE
        n = idx.num if idx is not None else None
        out = self.keyed_read(heap, arr.objs, "[", None if n is None else (f"{n}]",), "[*]",
                              taint_only(arr) if arr.taint else None)
        if idx is not None and idx.taint:
            out = join(out, taint_only(idx))
        return out if out is not None else NONE

    def may_be_out_of_bounds(self, heap: Heap, arr: Val | None, idx: Val | None) -> bool:
        """False only when the index is a constant within the (constant) length of every array."""
        if arr is None or not arr.objs or idx is None or idx.num is None:
            return True
        for o in arr.objs:
            length = self.cell(heap, o, "@length")
            if length is None or length.num is None or not 0 <= idx.num < length.num:
                return True
        return False

    def array_write(self, heap: Heap, arr: Val | None, idx: Val | None, value: Val | None) -> None:
        if arr is None or not arr.objs:
            return
        n = idx.num if idx is not None else None
        name = f"[{n}]" if n is not None else "[*]"
        strong = len(arr.objs) == 1 and n is not None
        for o in arr.objs:
            self.heap_write(heap, o, name, value, strong)

    def contents(self, heap: Heap, v: Val | None) -> Val | None:
        """Everything a library object holds (``@content`` and elements)."""
        if v is None:
            return None
        out = None
        for o in v.objs:
            for k, w in self.cells(heap, o).items():
                if k == "@content" or k.startswith("["):
                    out = join(out, w)
        return out

    # ------------------------------------------------------------ statics
    def static_read(self, gm: int, pc: int, dex_no: int, idx: int, heap: Heap) -> Val:
        cls, name = self.static_key(dex_no, idx)
        self.run_clinit(cls)
        self.read_global()
        value = self.statics.get(f"{cls}->{name}", NONE)
        match = self.lib.field_source(cls, name)
        if match is not None:
            value = value.with_taint(frozenset((self.source_label(gm, pc, match),)))
        return value

    def static_write(self, dex_no: int, idx: int, value: Val | None, heap: Heap) -> None:
        cls, name = self.static_key(dex_no, idx)
        key = f"{cls}->{name}"
        value = value if value is not None else NONE
        old = self.statics.get(key)
        new = join(old, value)
        if new != old:
            self.statics[key] = new
            if significant(old, new):
                self.version += 1
        if value.taint:
            self.relevance.taint_reached_field(name)
        self._publish_from(heap, value.objs)

    def publish(self, heap: Heap, objs) -> None:
        self._publish_from(heap, objs)

    def _publish_from(self, heap: Heap, objs) -> None:
        if not objs:
            return
        for o in reachable_objects(heap, objs):
            cell = heap.get(o)
            if o not in self.published:
                self.published[o] = Cell()
            if cell:
                for k, v in cell.items():
                    old = heap_get(self.published, o, k)
                    if heap_put(self.published, o, k, v, False) and significant(old, heap_get(self.published, o, k)):
                        self.version += 1

    def run_clinit(self, cls_desc: str) -> None:
        gid = self.cg.type_gid(cls_desc)
        if gid < 0:
            return
        gm = int(self.cg.clinit_of_type[gid])
        if gm < 0 or gm in self.clinit_done:
            return
        self.clinit_done.add(gm)
        if not self.relevance.clinit_relevant(gm):
            return
        saved = self.stack
        self.stack = [gm]
        try:
            self.call(gm, [], {})
        finally:
            self.stack = saved

    # -------------------------------------------------------------- calls
    def call(self, gm: int, params: list, heap: Heap) -> Summary:
        """Analyse ``gm`` in the context of ``params`` and the heap they reach (memoised)."""
        roots = set()
        for p in params:
            if p is not None:
                roots.update(p.objs)
        local = project(heap, roots)
        key = (gm, tuple(params), freeze(local))
        done = self.memo.get(key)
        if done is not None and done[2] == self.relevance.epoch and (done[1] < 0 or done[1] == self.round):
            if done[1] >= 0:
                self.read_global()
            return done[0]
        depth = self.stack.count(gm)
        if depth >= 2 or len(self.stack) >= MAX_CALL_DEPTH or self.contexts.get(gm, 0) >= MAX_CONTEXTS_PER_METHOD:
            return Summary(None, None, local)
        self.contexts[gm] = self.contexts.get(gm, 0) + 1
        self.tick()
        self.stack.append(gm)
        self.analysed_methods.add(gm)
        self._global_reads.append(False)
        try:
            summary = interpret(self, gm, list(params), local)
        finally:
            self.stack.pop()
            global_read = self._global_reads.pop()
        if global_read:
            self.read_global()
        self.memo[key] = (summary, self.round if global_read else -1, self.relevance.epoch)
        return summary

    def invoke(self, caller: int, dex_no: int, insn: ir.Insn, regs: list, heap: Heap):
        """Effect of an invoke instruction: (result, thrown value, heap after)."""
        if insn.idx < 0:
            return NONE, None, heap
        ref = self.mref(dex_no, insn.idx, insn.sub)
        if ref is None:
            return NONE, None, heap
        if ref.static:
            self.run_clinit(ref.class_desc)
        params = self._params(ref, insn.args, regs)
        return self.invoke_ref(caller, insn.pc, ref, params, heap)

    def invoke_ref(self, caller: int, pc: int, ref: MethodRef, params: list, heap: Heap):
        match = ref.match
        label = None
        if match.source is not None:
            label = self._source_call(caller, pc, match.source, params, heap)
        if match.sink is not None:
            self.check_sink(caller, pc, match, params, heap)
        results: list[Summary] = []
        library = match.sink is not None or match.source is not None
        targets, framework = ([], True) if library else self.dispatch(ref, params)
        for gm, p in targets:
            if self.relevance.relevant(self, gm, p, heap):
                s = self.call(gm, p, heap)
                merged = dict(heap)
                merged.update(s.heap)
                results.append(Summary(s.ret, s.exc, merged))
            else:
                results.append(self.opaque(caller, pc, ref, p, heap, gm))
        if framework or not targets:
            results.append(self.library_call(caller, pc, ref, params, heap))
        ret = exc = None
        out_heap = None
        for s in results:
            ret = join(ret, s.ret)
            exc = join(exc, s.exc)
            out_heap = s.heap if out_heap is None else heap_join(out_heap, s.heap)
        if label is not None:
            ret = (ret if ret is not None else NONE).with_taint(frozenset((label,)))
        if ref.ret == "V":
            ret = None if label is None else ret
        return ret, exc, out_heap if out_heap is not None else heap

    def _params(self, ref: MethodRef, arg_regs: tuple, regs: list) -> list:
        out = []
        i = 0
        kinds = ([] if ref.static else ["L"]) + list(ref.params)
        for desc in kinds:
            if i >= len(arg_regs):
                out.append(NONE)
                continue
            r = arg_regs[i]
            out.append(regs[r] if 0 <= r < len(regs) and regs[r] is not None else NONE)
            i += 2 if desc in WIDE else 1
        return out

    def dispatch(self, ref: MethodRef, params: list) -> tuple[list[tuple[int, list]], bool]:
        """App methods a call may run, each with the receiver restricted to it; and whether framework code may run."""
        cg = self.cg
        if ref.kind in (INVOKE_STATIC, INVOKE_DIRECT, INVOKE_SUPER):
            return ([(ref.exact, params)] if ref.exact >= 0 else []), ref.exact < 0
        if ref.kind not in (INVOKE_VIRTUAL, INVOKE_INTERFACE):
            return [], True
        recv = params[0] if params else NONE
        by_target: dict[int, set] = {}
        framework = False
        unknown: set = set()
        for o in sorted(recv.objs):
            info = self.objs[o]
            if info.gid >= 0 and cg.type_class[info.gid]:
                t = cg.resolve(info.gid, ref.subsig)
                if t >= 0 and cg.m_code[t]:
                    by_target.setdefault(t, set()).add(o)
                else:
                    framework = True
            else:
                unknown.add(o)
        if unknown or not recv.objs:
            framework = True
            cha = self._cha(ref)
            # An unknown receiver (a framework result, a parameter) may be any instantiated
            # subclass; a wide fan-out (toString(), run() on an unknown object) is not followed.
            if len(cha) <= MAX_UNKNOWN_RECEIVER_TARGETS:
                for t in cha:
                    by_target.setdefault(t, set()).update(unknown)
        out = []
        for t in sorted(by_target)[:MAX_TARGETS]:
            objs = frozenset(by_target[t])
            p = list(params)
            p[0] = Val(objs, recv.taint, recv.strs, recv.exact, recv.num)
            out.append((t, p))
        return out, framework

    def _cha(self, ref: MethodRef) -> list[int]:
        """Class-hierarchy targets of a virtual call, limited to instantiated receivers."""
        if ref.set_id == -1:
            ref.set_id = -2
            if ref.gid >= 0:
                from datasafety.analysis.callgraph import cha_targets

                ptr, recv, targ = cha_targets(
                    self.cg.type_super, self.cg.type_concrete, self.cg.child_ptr, self.cg.children,
                    self.cg.sorted_types, self.cg.sorted_subsigs, self.cg.sorted_order, self.cg.m_code,
                    np.array([ref.gid], dtype=np.int64), np.array([ref.subsig], dtype=np.uint64),
                )
                inst = self.reach.instantiated
                ref._cha_targets = sorted({int(t) for r, t in zip(recv, targ) if inst[r]})
            else:
                ref._cha_targets = []
        return ref._cha_targets

    def opaque(self, caller: int, pc: int, ref: MethodRef, params: list, heap: Heap, target: int = -1) -> Summary:
        """A call not analysed: like an unknown library call (callbacks it receives are registered).

        An int result the callee computes from constants alone (``return 2 * 5 % 10``) is kept,
        from the interval analysis of :mod:`feasible`.
        """
        self.register_escaping(heap, params)
        ret = None
        if ref.ret.startswith(("L", "[")):
            ret = self.external(("ret", caller, pc), ref.ret)
        elif ref.ret in ("I", "S", "B", "C", "Z") and target >= 0:
            interval = self.feasibility.constant_return(target, 0)
            ret = Val(num=int(interval[0])) if interval is not None and interval[0] == interval[1] and abs(interval[0]) < 2**31 else NONE
        return Summary(ret, None, heap)

    def register_escaping(self, heap: Heap, params: list) -> None:
        """Objects with callback methods handed to code we do not analyse may be called back."""
        reg = self.registry()
        if reg is None:
            return
        for p in params:
            if p is None:
                continue
            for o in p.objs:
                info = self.objs[o]
                if info.gid >= 0 and self.callback_methods_of(info.gid):
                    heap_put(heap, reg, "@cb", Val(objs=frozenset((o,))), False)

    def registry(self) -> int | None:
        if self.component is None:
            return None
        return self.obj(("registry", self.component.name), "", "registry")

    def library_call(self, caller: int, pc: int, ref: MethodRef, params: list, heap: Heap) -> Summary:
        from datasafety.analysis.taint.effects import apply_effects, default_effects

        heap = dict(heap)
        effects = ref.match.effects
        if effects is None:
            ret = default_effects(self, caller, pc, ref, params, heap)
        else:
            ret = apply_effects(self, caller, pc, ref, effects, params, heap)
        return Summary(ret, None, heap)

    def _source_call(self, caller: int, pc: int, match: SourceMatch, params: list, heap: Heap) -> int | None:
        if match.getter and params and deep_taint(heap, params[0], 1):
            return None
        if match.requires == "password_view":
            recv = params[0] if params else NONE
            ids = set()
            for o in recv.objs:
                v = self.cell(heap, o, "@attr:id")
                if v is not None and v.num is not None:
                    ids.add(v.num)
            if not ids & self.password_ids:
                return None
        if match.requires_string:
            wanted = set(match.requires_string)
            if not any(p is not None and p.exact and (set(p.strs) & wanted) for p in params):
                return None
        return self.source_label(caller, pc, match)

    # -------------------------------------------------------------- sinks
    def check_sink(self, caller: int, pc: int, match: Match, params: list, heap: Heap) -> None:
        spec = match.sink
        kind = spec.kind
        if kind == "receiver":
            kinds = set()
            recv = params[0] if params else NONE
            for o in recv.objs:
                v = self.cell(heap, o, "@attr:kind")
                if v is not None:
                    kinds.update(v.strs)
            if kinds == {"memory"}:
                return
            kinds.discard("memory")
            kind = sorted(kinds)[0] if kinds else (spec.default_kind or "file")
        if spec.store:
            args = params[1:]
            keys = frozenset(f"@key:{k}" for k in args[0].strs) if args and args[0] is not None and args[0].exact and args[0].strs else frozenset(("@key:*",))
            taint = EMPTY
            for p in args[1:]:
                taint = taint | deep_taint(heap, p)
            for label in taint:
                self.pending_stores.append((keys, label, caller, pc, match.api, kind, tuple(self.stack)))
            return
        positions = spec.args if spec.args is not None else range(len(params))
        taint: frozenset = EMPTY
        strs: frozenset = EMPTY
        for i in positions:
            if 0 <= i < len(params):
                taint = taint | deep_taint(heap, params[i])
                if kind == "network":
                    strs = strs | deep_strs(heap, params[i])
        for label in taint:
            self.record_flow(label, caller, pc, match.api, kind, strs)

    def record_flow(self, label: int, sink_gm: int, sink_pc: int, api: str, kind: str, strs=EMPTY) -> None:
        key = (label, sink_gm, sink_pc)
        rec = self.flows.get(key)
        if rec is None:
            rec = FlowRecord(label, sink_gm, sink_pc, api, kind, path=self._path(label))
            self.flows[key] = rec
        rec.destinations.update(s for s in strs if _looks_like_destination(s))

    def flush_stores(self) -> None:
        """Preference writes whose key no code of the app reads back are ``file`` sinks."""
        for keys, label, caller, pc, api, kind, stack in self.pending_stores:
            if "@key:*" in self.prefs_read or keys & self.prefs_read:
                continue
            saved = self.stack
            self.stack = list(stack)
            self.record_flow(label, caller, pc, api, kind)
            self.stack = saved

    def _path(self, label: int) -> tuple[int, ...]:
        src = list(self.labels[label].stack)
        sink = list(self.stack)
        c = 0
        while c < len(src) and c < len(sink) and src[c] == sink[c]:
            c += 1
        if c == len(src) == len(sink):
            return (sink[-1],) if sink else ()
        up = src[c:][::-1]
        anc = [src[c - 1]] if c > 0 else []
        return tuple(up + anc + sink[c:])

    # ------------------------------------------------- helpers for effects
    def array_elements(self, heap: Heap, arr: Val | None) -> list[Val]:
        """The elements of an array value, in order (``[*]`` joined into each)."""
        if arr is None or not arr.objs:
            return []
        star = None
        indexed: dict[int, Val] = {}
        for o in arr.objs:
            for k, v in self.cells(heap, o).items():
                if k == "[*]":
                    star = join(star, v)
                elif k.startswith("[") and k[1:-1].lstrip("-").isdigit():
                    indexed[int(k[1:-1])] = join(indexed.get(int(k[1:-1])), v)
        n = max(indexed) + 1 if indexed else (1 if star is not None else 0)
        return [join(indexed.get(i), star) or NONE for i in range(n)]

    def call_named(self, heap: Heap, gid: int, name: str, params: list) -> Val | None:
        """Call the app methods called ``name`` that an instance of ``gid`` has (reflection, ``Thread.run``)."""
        from datasafety.analysis.entry_points import methods_named

        static = not params or not params[0].objs
        gms = methods_named(self.cg, gid, name, static=False) if not static else []
        gms += methods_named(self.cg, gid, name, static=True)
        out = None
        for gm in gms:
            _, descs, _, is_static = self.proto_of(gm)
            p = params if not is_static else params[1:] if params and params[0].objs and len(params) - 1 == len(descs) else params
            if len(p) != len(descs) + (0 if is_static else 1):
                continue
            if not self.relevance.relevant(self, gm, p, heap):
                continue
            s = self.call(gm, p, heap)
            heap.update(s.heap)
            out = join(out, s.ret)
        return out

    def invoke_by_name(self, caller: int, pc: int, class_desc: str, name: str, target: Val | None, args: list, heap: Heap) -> Val | None:
        """A reflective call of a framework method: matched like a direct call."""
        static = target is None or not target.objs
        ref = MethodRef(
            class_desc=class_desc, name=name, proto="", params=tuple("Ljava/lang/Object;" for _ in args),
            ret="Ljava/lang/Object;", static=static, kind=INVOKE_STATIC if static else INVOKE_VIRTUAL,
            gid=self.cg.type_gid(class_desc), subsig=0, match=self.lib.match(class_desc, name), exact=-1, set_id=-2,
        )
        ref._cha_targets = []
        params = ([] if static else [target]) + list(args)
        ret, _, new_heap = self.invoke_ref(caller, pc, ref, params, heap)
        heap.update(new_heap)
        return ret

    def application_object(self, heap: Heap) -> Val:
        name = self.cg.app.manifest.application_class
        desc = "L" + name.replace(".", "/") + ";" if name else "Landroid/app/Application;"
        key = ("component", name) if name else ("application",)
        obj = self.obj(key, desc, "component" if name else "application")
        if obj not in self.published:
            self.published[obj] = Cell()
        return Val(objs=frozenset((obj,)))

    def entry_methods(self, gid: int, name: str) -> list[int]:
        from datasafety.analysis.entry_points import methods_named

        key = (gid, name)
        cached = self._entry_cache.get(key)
        if cached is None:
            cached = methods_named(self.cg, gid, name)
            self._entry_cache[key] = cached
        return cached

    def entry_relevant(self, info, gm: int, this: Val, heap: Heap) -> bool:
        """The app's own lifecycle methods and callbacks always; SDK ones under the rule for calls (:mod:`relevance`)."""
        if self.first_party[gm]:
            return True
        return self.relevance.relevant(self, gm, [this], heap)
