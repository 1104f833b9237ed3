"""Running the flow analysis on an app: :func:`find_flows` (see the package docstring)."""


from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from datasafety.analysis.actors import FIRST_PARTY, ActorResolver
from datasafety.analysis.call_sites import CallSite
from datasafety.analysis.callgraph import CallGraph
from datasafety.analysis.entry_points import CallbackFinder, _callback_methods, callbacks_capped, descriptor
from datasafety.analysis.reachability import Reachability
from datasafety.analysis.taint.engine import BudgetExhausted, Engine
from datasafety.analysis.taint.icc import Icc
from datasafety.analysis.taint.library import Library
from datasafety.analysis.taint.lifecycle import analyse_components
from datasafety.analysis.taint.model import Flow, FlowEnd
from datasafety.analysis.taint.relevance import Relevance
from datasafety.app.dex.index import dotted
from datasafety.knowledge.catalogue import Knowledge
from datasafety.knowledge.flows import FlowKnowledge


CHAINED_CALLBACKS = {"doInBackground": "onPostExecute"}
"""AsyncTask: the result of doInBackground is the parameter of onPostExecute.
https://developer.android.com/reference/android/os/AsyncTask#the-4-steps"""


@dataclass(frozen=True)
class FlowResult:
    flows: tuple[Flow, ...]
    complete: bool
    """False when the budget ran out (the flows found so far are kept)."""
    methods_analysed: int
    stopped_by: str = ""
    """``time`` or ``memory`` when ``complete`` is False."""


def _first_party(cg: CallGraph, resolver: ActorResolver) -> np.ndarray:
    out = np.ones(cg.method_count, dtype=np.bool_)
    for d, dex in enumerate(cg.app.dex):
        owners = resolver.sdk_of_classes(dex)
        sel = np.nonzero(cg.m_dex == d)[0]
        if not len(sel) or not len(owners):
            continue
        cls = dex.def_class[cg.m_row[sel]].astype(np.int64)
        out[sel] = owners[cls] < 0
    return out


def _callback_map(cg: CallGraph, fk: FlowKnowledge, inst: np.ndarray) -> tuple[dict[int, list[int]], dict[int, str]]:
    """Callback methods per receiver class, and the framework callback class each one implements."""
    finder = CallbackFinder(cg, fk)
    status = np.zeros(1, dtype=np.uint8)
    gms, cbs, recv = _callback_methods(
        inst, cg.type_class, cg.type_super, cg.iface_ptr, cg.ifaces, finder.cb_of_type, finder.cb_name_ptr, finder.cb_names,
        finder.framework_other, finder.component_base, np.int64(finder.object_gid), cg.sorted_types, cg.sorted_order,
        cg.m_name, cg.m_flags, cg.m_code, finder.m_on, np.int64(cg.step_budget), status,
    )
    # A component (an activity implementing LocationListener) may register itself as a listener:
    # its interface callbacks count, not the on... rule (its lifecycle is run separately).
    cgms, ccbs, crecv = _callback_methods(
        inst, cg.type_class, cg.type_super, cg.iface_ptr, cg.ifaces, finder.cb_of_type, finder.cb_name_ptr, finder.cb_names,
        np.zeros_like(finder.framework_other), np.zeros_like(finder.component_base), np.int64(finder.object_gid),
        cg.sorted_types, cg.sorted_order, cg.m_name, cg.m_flags, cg.m_code, finder.m_on, np.int64(cg.step_budget), status,
    )
    if status[0]:
        callbacks_capped(cg)
    keep = ccbs >= 0
    gms = np.concatenate([gms, cgms[keep]])
    cbs = np.concatenate([cbs, ccbs[keep]])
    recv = np.concatenate([recv, crecv[keep]])
    out: dict[int, list[int]] = {}
    kinds: dict[int, str] = {}
    for gm, cb, t in zip(gms.tolist(), cbs.tolist(), recv.tolist()):
        lst = out.setdefault(t, [])
        if gm not in lst:
            lst.append(gm)
        if cb >= 0:
            kinds.setdefault(gm, finder.callbacks[cb].class_name)
    return out, kinds


def _dynamic_receivers(cg: CallGraph, reach: Reachability) -> list[str]:
    base = cg.type_gid("Landroid/content/BroadcastReceiver;")
    if base < 0:
        return []
    declared = {c.name for c in reach.components}
    receivers = np.nonzero(reach.instantiated & cg.type_class & cg.subtypes(base))[0]
    return sorted(n for n in (dotted(cg.type_descriptor(int(t))) for t in receivers) if n not in declared)


def find_flows(
    cg: CallGraph,
    reach: Reachability,
    knowledge: Knowledge,
    fk: FlowKnowledge,
    resolver: ActorResolver,
    call_sites: list[CallSite],
    seconds: float | None = None,
    memory_mb: float | None = None,
) -> FlowResult:
    """Flows from sources to sinks in the components the platform or the app starts.

    ``seconds``: budget; when it runs out the flows found so far are
    returned with ``complete=False``. It is counted in interpreted
    instructions (:data:`engine.WORK_PER_SECOND`), so the result does not
    depend on the machine's speed or load. ``memory_mb``: resident memory
    ceiling of the process in MB; passing it also cuts the run short
    (``stopped_by="memory"``), at a point that depends on the machine.
    """
    library = Library(cg, fk, knowledge)
    first_party = _first_party(cg, resolver)
    string_seeds = [api.member for api in knowledge.apis if api.kind == "string"]
    relevance = Relevance(cg, library, first_party, string_seeds)
    callbacks, callback_classes = _callback_map(cg, fk, reach.instantiated)
    engine = Engine(
        cg, reach, library, relevance, seconds,
        password_ids=frozenset(cg.app.layouts.password_view_ids),
        first_party=first_party,
        callback_methods=lambda gid: callbacks.get(gid, ()),
        memory_mb=memory_mb,
    )
    started = [c for c in reach.components if c.name in reach.started]
    engine.icc = Icc(
        started, _dynamic_receivers(cg, reach),
        lambda name: (lambda g: g >= 0 and bool(cg.type_class[g]))(cg.type_gid(descriptor(name))),
    )
    engine.chained_callbacks = dict(CHAINED_CALLBACKS)
    engine.callback_class = callback_classes
    engine.saved_state_methods = {kind: lc.saved_state for kind, lc in fk.lifecycles.items()}
    engine.callback_sources = {(c.class_name, c.method): c for c in fk.callback_sources}
    complete = True
    try:
        analyse_components(engine, fk, started)
    except BudgetExhausted:
        complete = False
    engine.flush_stores()
    if not engine.result_requesters:
        for label, gm, pc, api, stack in engine.pending_results:
            saved = engine.stack
            engine.stack = list(stack)
            engine.record_flow(label, gm, pc, api, "ipc")
            engine.stack = saved
    return FlowResult(tuple(_flows(engine, cg, resolver, call_sites)), complete, len(engine.analysed_methods),
                      stopped_by="" if complete else (engine.stopped_by or "time"))


def _flows(engine: Engine, cg: CallGraph, resolver: ActorResolver, call_sites: list[CallSite]) -> list[Flow]:
    site_ids: dict[tuple[int, int, int], list[CallSite]] = {}
    for site in call_sites:
        site_ids.setdefault((site.dex_no, site.method_row, site.pc), []).append(site)
    labels: dict[int, str] = {}

    def label(gm: int) -> str:
        if gm not in labels:
            labels[gm] = cg.method_label(gm)
        return labels[gm]

    def end(gm: int, pc: int, api: str) -> FlowEnd:
        cls, name, proto = cg.method_parts(gm)
        return FlowEnd(api=api, caller_class=dotted(cls), caller_method=f"{name}{proto}", pc=pc, dex=cg.dex_of(gm).name)

    def actor(gm: int) -> str:
        sdk = resolver.sdk_for_class(dotted(cg.method_parts(gm)[0]))
        return sdk.id if sdk else FIRST_PARTY

    built = []
    for rec in engine.flows.values():
        src = engine.labels[rec.label]
        source = end(src.gm, src.pc, src.match.api)
        sites = site_ids.get((int(cg.m_dex[src.gm]), int(cg.m_row[src.gm]), src.pc), [])
        site = next((s for s in sites if s.data_type in src.match.data_types), sites[0] if sites else None)
        built.append(
            (
                (source.caller_class, source.caller_method, source.pc, source.api),
                Flow(
                    id="",
                    data_types=tuple(sorted(set(src.match.data_types))),
                    source=source,
                    source_call_site=site.id if site else "",
                    sink=end(rec.sink_gm, rec.sink_pc, rec.api),
                    sink_kind=rec.kind,
                    path=tuple(label(m) for m in rec.path),
                    actor=actor(src.gm),
                    sink_actor=actor(rec.sink_gm),
                    destinations=tuple(sorted(rec.destinations))[:8],
                ),
            )
        )
    built.sort(key=lambda x: (x[0], x[1].sink.caller_class, x[1].sink.caller_method, x[1].sink.pc, x[1].sink.api, x[1].sink_kind))
    out = []
    for i, (_, flow) in enumerate(built, 1):
        out.append(Flow(**{**flow.__dict__, "id": f"flow:{i:04d}"}))
    return out
