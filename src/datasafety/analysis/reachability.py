"""Reachability: which methods and call sites can run, with one example path from an entry point.

A compiled breadth-first search over the call graph from the entry points
(:mod:`entry_points`), keeping a parent pointer per method (the first caller
found and the call's instruction offset), so that the path from an entry point
to any reached method can be read back. Virtual call targets count only when
their receiver class is instantiated by reached code (rapid type analysis);
newly instantiated classes can add targets and callback entry points, and
reached calls of ``PackageManager.setComponentEnabledSetting`` can enable
components the manifest declares disabled (:mod:`entry_points`), so the
search repeats until nothing changes. Reaching a static member or creating an
instance of a class reaches its static initialiser.

A call site is reachable when its method is reached and its instruction is
feasible (:mod:`feasible`: not in a branch that constants rule out).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from datasafety.analysis.callgraph import CallGraph
from datasafety.analysis.entry_points import (
    CallbackFinder,
    ComponentInfo,
    EntryPoint,
    app_components,
    component_enablers,
    descriptor,
    disabled_components,
    layout_handler_entries,
    lifecycle_entries,
)
from datasafety.analysis.feasible import Feasibility
from datasafety.analysis.graph_kernels import bfs
from datasafety.app.dex import kernels
from datasafety.app.dex.index import fnv1a
from datasafety.knowledge.flows import FlowKnowledge

MAX_ROUNDS = 64
UNREACHED = -2
ROOT = -1


@dataclass
class Reachability:
    """Result of :func:`compute_reachability`."""

    cg: CallGraph
    parent: np.ndarray
    parent_pc: np.ndarray
    instantiated: np.ndarray
    """Per type id: an instance is created by reached code (or by the framework)."""
    entries: dict[int, EntryPoint]
    components: list[ComponentInfo]
    """Enabled components (and the Application class), then the disabled ones reachable code enables."""
    started: set[str]
    """Components the platform or reachable code starts."""
    feasibility: Feasibility
    rounds: int = 0
    _labels: dict[int, str] = field(default_factory=dict)

    @property
    def reached(self) -> np.ndarray:
        return self.parent != UNREACHED

    def is_reached(self, gm: int) -> bool:
        return 0 <= gm < len(self.parent) and self.parent[gm] != UNREACHED

    def path(self, gm: int) -> list[int]:
        """Methods from an entry point to ``gm`` (inclusive); [] when unreached."""
        if not self.is_reached(gm):
            return []
        out = [gm]
        seen = {gm}
        while self.parent[out[-1]] >= 0:
            nxt = int(self.parent[out[-1]])
            if nxt in seen:
                break
            seen.add(nxt)
            out.append(nxt)
        return out[::-1]

    def label(self, gm: int) -> str:
        if gm not in self._labels:
            self._labels[gm] = self.cg.method_label(gm)
        return self._labels[gm]

    def path_labels(self, gm: int) -> tuple[str, ...]:
        return tuple(self.label(m) for m in self.path(gm))

    def site_reachable(self, gm: int, pc: int) -> bool:
        """The instruction at ``pc`` of method ``gm`` can run."""
        return self.is_reached(gm) and self.feasibility.is_feasible(gm, pc)

    def entry_reason(self, gm: int) -> str:
        path = self.path(gm)
        return self.entries[path[0]].reason if path and path[0] in self.entries else ""


def _referenced(cg: CallGraph, reached: np.ndarray, wanted: dict[int, list[str]]) -> set[str]:
    """Names in ``wanted`` (string hash -> component names) that reached code mentions as a string constant."""
    if not wanted:
        return set()
    keys = np.array(sorted(wanted), dtype=np.uint64)
    found: set[str] = set()
    for d, dex in enumerate(cg.app.dex):
        if not len(dex.ref_kind):
            continue
        rows = dex.ref_row.astype(np.int64)
        gms = cg.gm_of_row[d][rows]
        sel = (dex.ref_kind == kernels.REF_STRING) & (gms >= 0)
        sel[sel] = reached[gms[sel]]
        idx = dex.ref_target[sel].astype(np.int64)
        hashes = dex.string_hashes[np.clip(idx, 0, max(len(dex.string_hashes) - 1, 0))] if len(dex.string_hashes) else np.zeros(0, np.uint64)
        for h in np.unique(hashes[np.isin(hashes, keys)]):
            found.update(wanted[int(h)])
    return found


def compute_reachability(cg: CallGraph, fk: FlowKnowledge) -> Reachability:
    """Entry points and everything reachable from them (see module docstring)."""
    ntypes = len(cg.type_keys)
    inst = np.zeros(ntypes, dtype=np.bool_)
    entries: dict[int, EntryPoint] = {}

    def add(eps: list[EntryPoint]) -> bool:
        new = False
        for e in eps:
            if e.gm not in entries:
                entries[e.gm] = e
                new = True
        return new

    components = app_components(cg)
    started: set[str] = set()
    by_name: dict[str, ComponentInfo] = {}
    for info in components:
        by_name.setdefault(info.name, info)
        if info.launched:
            started.add(info.name)
            inst[info.gid] = True
            add(lifecycle_entries(cg, fk, info))
    add(layout_handler_entries(cg))
    for name in cg.app.layouts.view_classes:
        gid = cg.type_gid(descriptor(name))
        if gid >= 0:
            inst[gid] = True
    # internal components: started when reached code names them
    wanted: dict[int, list[str]] = {}
    for info in components:
        if not info.launched:
            for text in (info.name,) + info.actions:
                wanted.setdefault(fnv1a(text.encode("utf-8")), []).append(info.name)
    # disabled components: started once reached code enables them
    disabled = {info.name: info for info in disabled_components(cg) if info.name not in by_name}
    enablers = component_enablers(cg, list(disabled.values()))
    finder = CallbackFinder(cg, fk)
    parent = np.full(cg.method_count, UNREACHED, dtype=np.int64)
    parent_pc = np.full(cg.method_count, -1, dtype=np.int64)
    rounds = 0
    for rounds in range(1, MAX_ROUNDS + 1):
        before = int(inst.sum())
        roots = np.array(sorted(entries), dtype=np.int64)
        parent, parent_pc = bfs(
            roots, inst, cg.mcs_ptr, cg.cs_set, cg.cs_pc, cg.set_ptr, cg.set_recv, cg.set_target,
            cg.mnew_ptr, cg.mnew, cg.mclinit_ptr, cg.mclinit, cg.clinit_of_type,
        )
        reached = parent != UNREACHED
        changed = int(inst.sum()) != before
        # class literals of components in reached code, or their names / actions as strings
        newly = {
            info.name for info in components
            if info.name not in started and inst[info.gid]
        } | _referenced(cg, reached, {h: [n for n in names if n not in started] for h, names in wanted.items()})
        for name in sorted(newly - started):
            info = by_name[name]
            started.add(name)
            inst[info.gid] = True
            changed |= add(lifecycle_entries(cg, fk, info))
        for enabler in enablers:
            if not reached[enabler.gm]:
                continue
            how = "naming it" if enabler.names_them else "naming no component"
            for name in enabler.components:
                if name in started:
                    continue
                info = replace(disabled[name], enabled_by=f"{cg.method_label(enabler.gm)} calls {enabler.api} {how}")
                components.append(info)
                by_name[name] = info
                started.add(name)
                inst[info.gid] = True
                add(lifecycle_entries(cg, fk, info))
                changed = True
        changed |= add(finder.entries(inst))
        if not changed:
            break
    return Reachability(
        cg=cg,
        parent=parent,
        parent_pc=parent_pc,
        instantiated=inst,
        entries=entries,
        components=components,
        started=started,
        feasibility=Feasibility(cg),
        rounds=rounds,
    )
