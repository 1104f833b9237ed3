"""Running components through their lifecycles (the analysis' model of the framework's main loop).

Each started component is analysed on its own abstract heap, following the
lifecycle automaton of ``framework_model.json``: phases (``create``,
``start``, ``resume``, ``running``, ``pause``, ...) whose methods run in
order (optional ones may be skipped), and transitions between phases, so that
orderings matter: a listener registered in ``onDestroy`` never runs before
``onCreate``, a field cleared in ``onPause`` is cleared for ``onResume``. In
phases that allow it, the callbacks registered so far (listeners, threads,
handlers, async tasks, fragments and custom views) run any number of times,
in any order. Components communicate only through the engine's global
stores (statics, published objects, intents, preferences); all components
are re-run until those stop growing.
"""

from __future__ import annotations

from datasafety.analysis.entry_points import ComponentInfo, descriptor
from datasafety.analysis.taint.values import Cell, NONE, Val, heap_join, heap_leq, heap_put

MAX_OUTER_ROUNDS = 6
MAX_PHASE_VISITS = 3
MAX_CALLBACK_ROUNDS = 3
KIND_ORDER = {"application": 0, "provider": 1, "activity": 2, "service": 3, "receiver": 4}
INTENT = "Landroid/content/Intent;"
BUNDLE = "Landroid/os/Bundle;"
RESULT_METHODS = ("onActivityResult",)


def analyse_components(engine, fk, components: list[ComponentInfo]) -> None:
    ordered = sorted(components, key=lambda c: (KIND_ORDER.get(c.kind, 9), c.name))
    for n in range(MAX_OUTER_ROUNDS):
        before = engine.version
        engine.round = n
        engine.contexts.clear()
        engine.clinit_done.clear()
        for info in ordered:
            run_component(engine, fk, info)
        if engine.version == before:
            break
    engine.component = None


def component_object(engine, info: ComponentInfo) -> Val:
    obj = engine.obj(("component", info.name), descriptor(info.name), "component")
    if info.kind == "application" and obj not in engine.published:
        engine.published[obj] = Cell()
    return Val(objs=frozenset((obj,)))


def run_component(engine, fk, info: ComponentInfo) -> None:
    lifecycle = fk.lifecycles.get(info.kind)
    if lifecycle is None:
        return
    engine.component = info
    this = component_object(engine, info)
    heap: dict = {}
    if info.kind == "activity":
        reg = engine.registry()
        for name in engine.cg.app.layouts.view_classes:
            gid = engine.cg.type_gid(descriptor(name))
            if gid >= 0 and engine.cg.type_class[gid]:
                view = engine.obj(("layout", info.name, name), descriptor(name), "alloc")
                heap_put(heap, reg, "@cb", Val(objs=frozenset((view,))), False)
    phases = {p.name: p for p in lifecycle.phases}
    succ: dict[str, list[str]] = {}
    for a, b in lifecycle.transitions:
        succ.setdefault(a, []).append(b)
    first = lifecycle.phases[0].name
    in_heap = {first: heap}
    visits: dict[str, int] = {}
    work = [first]
    while work:
        name = work.pop(0)
        phase = phases[name]
        h = in_heap[name]
        for method in phase.methods:
            for gm in engine.entry_methods(info.gid, method):
                if not engine.entry_relevant(info, gm, this, h):
                    continue
                after = call_entry(engine, gm, this, h, info)
                if method == "onBind" and engine.last_return is not None:
                    engine.icc.record_binder(engine, after, info.name, engine.last_return)
                h = heap_join(h, after) if phase.is_optional(method) else after
        if phase.callbacks:
            h = run_callbacks(engine, info, h)
        for nxt in succ.get(name, ()):
            old = in_heap.get(nxt)
            if old is not None and heap_leq(h, old):
                continue
            in_heap[nxt] = h if old is None else heap_join(old, h)
            visits[nxt] = visits.get(nxt, 0) + 1
            if visits[nxt] <= MAX_PHASE_VISITS and nxt not in work:
                work.append(nxt)


def entry_param(engine, gm: int, index: int, desc: str, info: ComponentInfo, name: str) -> Val:
    if desc == BUNDLE and name in engine.saved_state_methods.get(info.kind, ()):
        obj = engine.obj(("saved_state", info.name), BUNDLE, "saved_state")
        if obj not in engine.published:
            engine.published[obj] = Cell()
        return Val(objs=frozenset((obj,)))
    if desc == INTENT:
        if name in RESULT_METHODS:
            return engine.icc.inbox(engine, info.name, result=True)
        return engine.icc.inbox(engine, info.name)
    if desc.startswith(("L", "[")):
        return engine.external(("param", gm, index), desc)
    return NONE


def call_entry(engine, gm: int, this: Val, heap: dict, info: ComponentInfo, overrides: dict | None = None) -> dict:
    name, descs, _, static = engine.proto_of(gm)
    params = [] if static else [this]
    for i, desc in enumerate(descs):
        value = overrides.get(i) if overrides else None
        params.append(value if value is not None else entry_param(engine, gm, i, desc, info, name))
    saved = engine.stack
    engine.stack = []
    try:
        summary = engine.call(gm, params, heap)
    finally:
        engine.stack = saved
    merged = dict(heap)
    merged.update(summary.heap)
    engine.last_return = summary.ret
    return merged


def callback_receivers(engine, heap: dict) -> list[int]:
    """Objects registered for callbacks: the component's registry, listener slots, and what they hold."""
    found: set[int] = set()
    todo: list[int] = []
    for cell in heap.values():
        for k, v in cell.items():
            if k.startswith("@cb"):
                todo.extend(v.objs)
    while todo:
        o = todo.pop()
        if o in found:
            continue
        found.add(o)
        cb = heap.get(o, {}).get("@cb")
        if cb is not None:
            todo.extend(cb.objs)
    return sorted(found)


def layout_handlers(engine, info: ComponentInfo) -> list[int]:
    """``android:onClick`` handlers the activity defines (the framework calls them on the activity)."""
    if info.kind != "activity":
        return []
    out = []
    for name in engine.cg.app.layouts.on_click:
        for gm in engine.entry_methods(info.gid, name):
            if engine.proto_of(gm)[1] == ("Landroid/view/View;",):
                out.append(gm)
    return out


def run_callbacks(engine, info: ComponentInfo, heap: dict) -> dict:
    this_component = component_object(engine, info)
    own = next(iter(this_component.objs))
    handlers = layout_handlers(engine, info)
    for _ in range(MAX_CALLBACK_ROUNDS):
        new = heap
        receivers = callback_receivers(engine, heap)
        if handlers:
            receivers = [own] + [o for o in receivers if o != own]
        for o in receivers:
            gid = engine.objs[o].gid
            if gid < 0:
                continue
            methods = list(engine.callback_methods_of(gid))
            if o == own:
                methods += [m for m in handlers if m not in methods]
            if not methods:
                continue
            recv = Val(objs=frozenset((o,)))
            h = heap
            for gm in methods:
                name, descs, _, static = engine.proto_of(gm)
                if static:
                    continue
                overrides = {}
                for i in range(len(descs)):
                    v = engine.cell(h, o, f"@arg:{name}:{i}")
                    if v is not None:
                        overrides[i] = v
                if engine.callback_class.get(gm) == "android.content.BroadcastReceiver":
                    # A receiver registered in code gets the broadcasts sent to its class.
                    receiver = engine.objs[o].desc[1:-1].replace("/", ".")
                    for i, desc in enumerate(descs):
                        if desc == INTENT and i not in overrides:
                            overrides[i] = engine.icc.inbox(engine, receiver)
                source = engine.callback_sources.get((engine.callback_class.get(gm, ""), name))
                if source is not None and source.param < len(descs):
                    value = overrides.get(source.param) or entry_param(engine, gm, source.param, descs[source.param], info, name)
                    overrides[source.param] = value.with_taint(frozenset((engine.callback_label(gm, source),)))
                if not engine.entry_relevant(info, gm, recv, h):
                    continue
                after = call_entry(engine, gm, recv, h, info, overrides)
                if name in engine.chained_callbacks and engine.last_return is not None:
                    heap_put(after, o, f"@arg:{engine.chained_callbacks[name]}:0", engine.last_return, False)
                h = heap_join(h, after)
            new = heap_join(new, h)
        if heap_leq(new, heap):
            break
        heap = new
    return heap
