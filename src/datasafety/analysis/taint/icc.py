"""Inter-component communication: which component an intent reaches, and what it carries there.

Explicit intents name their target class (``new Intent(ctx, Foo.class)``,
``setClassName``, ``setComponent``); implicit ones an action matched against
the intent filters of the manifest (and, for broadcasts, the receivers the
app registers in code). The extras, data and action of an intent sent to a
component of the app are delivered to that component's *inbox* object, which
``getIntent()`` (or the ``Intent`` parameter of ``onReceive``,
``onStartCommand``, ``onBind``, ``onNewIntent``) returns. An intent that no
component of the app receives leaves the app: an ``ipc`` sink. ``setResult``
delivers to the activities that call ``startActivityForResult``, and is an
``ipc`` sink when none does.

Intent resolution rules: https://developer.android.com/guide/components/intents-filters#Resolution
"""

from __future__ import annotations

from datasafety.analysis.taint.values import Cell, NONE, Val, join

LAUNCHER_ACTIONS = {"android.intent.action.MAIN"}


class Icc:
    def __init__(self, components, dynamic_receivers: list[str], app_classes):
        """``components``: :class:`ComponentInfo` of the app; ``app_classes``: ``is_app_class(dotted name)``."""
        self.components = {c.name: c for c in components}
        self.dynamic_receivers = list(dynamic_receivers)
        self.is_app_class = app_classes

    # ---------------------------------------------------------- objects
    def inbox(self, engine, name: str, result: bool = False) -> Val:
        kind = "result" if result else "inbox"
        obj = engine.obj((kind, name), "Landroid/content/Intent;", kind)
        if obj not in engine.published:
            engine.published[obj] = Cell()
        return Val(objs=frozenset((obj,)))

    def incoming(self, engine, heap, recv: Val | None) -> Val:
        """``getIntent()``: the inbox of the component the receiver is (or of the current component)."""
        names = set()
        for o in (recv.objs if recv is not None else ()):
            info = engine.objs[o]
            if info.kind == "component":
                names.add(info.site[1])
        if not names and engine.component is not None:
            names.add(engine.component.name)
        out = None
        for name in sorted(names):
            out = join(out, self.inbox(engine, name))
        return out if out is not None else NONE

    # -------------------------------------------------------- resolution
    def _attr(self, engine, heap, intent: Val, name: str) -> tuple[list[str], bool]:
        """(exact values, whether the attribute is set at all)."""
        values: set[str] = set()
        seen = False
        exact = True
        for o in intent.objs:
            v = engine.cell(heap, o, f"@attr:{name}")
            if v is None:
                continue
            seen = True
            if v.exact and v.strs:
                values.update(v.strs)
            else:
                exact = False
        return (sorted(values) if exact else []), seen

    def targets(self, engine, heap, intent: Val, kind: str) -> tuple[list[str], bool]:
        """(component names of the app that receive the intent, whether it stays in the app)."""
        classes, has_class = self._attr(engine, heap, intent, "class")
        if has_class:
            if not classes:
                return [], False
            names = [c.split("/")[-1] if "/" in c else c for c in classes]
            internal = [n for n in names if n in self.components]
            external = [n for n in names if n not in self.components and not self.is_app_class(n)]
            if kind == "receiver":
                internal += [n for n in names if n in self.dynamic_receivers]
            return sorted(set(internal)), not external
        actions, _ = self._attr(engine, heap, intent, "action")
        out = []
        for name, comp in self.components.items():
            if comp.kind != kind:
                continue
            filters = set(comp.actions)
            if actions:
                if filters & set(actions):
                    out.append(name)
            elif filters - LAUNCHER_ACTIONS:
                # no action, or one that is not a constant: any component with a filter may receive it
                out.append(name)
        if kind == "receiver":
            out += self.dynamic_receivers
        return sorted(set(out)), bool(out)

    def record_binder(self, engine, heap, service: str, binder: Val) -> None:
        """The object a service's ``onBind`` returns (published: other components call it)."""
        old = engine.binders.get(service)
        new = join(old, Val(objs=binder.objs))
        if new != old:
            engine.binders[service] = new
            engine.version += 1
        engine.publish(heap, binder.objs)

    def connect(self, engine, heap, services: list[str], connection: Val | None) -> None:
        """``bindService``: the connection's ``onServiceConnected`` receives the services' binders."""
        if connection is None or not connection.objs:
            return
        engine.read_global()
        binder = None
        for name in services:
            binder = join(binder, engine.binders.get(name))
        if binder is None:
            return
        for o in connection.objs:
            engine.heap_write(heap, o, "@arg:onServiceConnected:1", binder, False)

    def deliver(self, engine, heap, name: str, intent: Val) -> None:
        box = next(iter(self.inbox(engine, name).objs))
        self._copy(engine, heap, box, intent)

    def deliver_result(self, engine, heap, intent: Val) -> None:
        for name in sorted(engine.result_requesters):
            box = next(iter(self.inbox(engine, name, result=True).objs))
            self._copy(engine, heap, box, intent)

    @staticmethod
    def _copy(engine, heap, box: int, intent: Val) -> None:
        for o in intent.objs:
            cells = engine.cells(heap, o)
            for k, v in cells.items():
                engine.heap_write(heap, box, k, v, False)
            for v in cells.values():
                engine.publish(heap, v.objs)
