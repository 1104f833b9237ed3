"""Entry points: the app methods the Android framework calls.

- Components from the manifest (activities, services, receivers, providers)
  and the ``Application`` class: their lifecycle methods (``framework_model.json``).
  A component is *launched* (an entry point from the start) when the platform
  or another app can start it: it is exported (explicitly, or implicitly by
  an intent filter), or it is a content provider (created when the process
  starts), or its class is in the app's own package (as FlowDroid does, every
  component of the app counts: the app may start it in ways a static analysis
  does not see, such as notifications). An internal component of a library
  (e.g. an SDK's own activity) becomes an entry point once reachable code
  names it (its class literal, its class name or one of its intent-filter
  actions as a string constant), so an SDK is not "reachable" merely because
  its manifest entries were merged in.
- Components with ``android:enabled="false"``: the platform does not start
  them until the app enables them at runtime with
  ``PackageManager.setComponentEnabledSetting`` (see :data:`ENABLER_METHODS`).
  Such a component becomes an entry point once reachable code calls that
  method and either names the component (its class literal, or its class
  name, full or relative to the manifest package, as a string constant) in
  the calling method, or names no component of the manifest there (the
  ``ComponentName`` comes from a parameter or a field): then every disabled
  component of the app counts as enabled. A disabled component no reachable
  code enables is never started.
- Callbacks: methods of instantiated app classes that implement a callback
  interface or extend a callback class of the framework (listeners,
  ``Runnable``, ``Thread``, ``AsyncTask``, ``Handler``, ...), and, for any other
  framework supertype, the ``on...`` methods the class overrides.
- Layout ``android:onClick`` handlers: public ``name(View)`` methods.

Instantiation comes from reachability (rapid type analysis): a callback is an
entry point once reachable code creates an instance of its class.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from datasafety.analysis.actors import in_package
from datasafety.analysis.callgraph import ACC_STATIC, CallGraph
from datasafety.analysis.graph_kernels import callback_methods as _callback_methods
from datasafety.app.dex import kernels
from datasafety.app.dex.index import DexIndex, dotted, fnv1a
from datasafety.app.manifest import Component
from datasafety.knowledge.flows import FlowKnowledge

OBJECT = "Ljava/lang/Object;"
PACKAGE_MANAGER = "Landroid/content/pm/PackageManager;"
ENABLER_METHODS = ("setComponentEnabledSetting", "setComponentEnabledSettings")
"""Methods of ``PackageManager`` that can enable a component the manifest declares disabled.

With ``android:enabled="false"`` the system does not instantiate the component
(https://developer.android.com/guide/topics/manifest/receiver-element#enabled);
``setComponentEnabledSetting`` sets a component's enabled state at runtime,
overriding the manifest's
(https://developer.android.com/reference/android/content/pm/PackageManager#setComponentEnabledSetting(android.content.ComponentName,%20int,%20int));
``setComponentEnabledSettings`` (API 33) does the same for a list of components
(https://developer.android.com/reference/android/content/pm/PackageManager#setComponentEnabledSettings(java.util.List%3Candroid.content.pm.PackageManager.ComponentEnabledSetting%3E)).
The new state (enable or disable) is not read: any such call counts as enabling.
"""


@dataclass(frozen=True)
class ComponentInfo:
    """A manifest component (or the Application class) whose class is defined in the app."""

    kind: str
    name: str
    gid: int
    launched: bool
    actions: tuple[str, ...]
    enabled_by: str = ""
    """For a component declared ``android:enabled="false"``: why it counts as enabled at
    runtime, the reachable call of :data:`ENABLER_METHODS`, e.g. ``com.foo.Main.on(Z)V
    calls PackageManager.setComponentEnabledSetting naming it``; "" for enabled components."""


@dataclass(frozen=True)
class ComponentEnabler:
    """A method of the app that calls ``PackageManager.setComponentEnabledSetting`` (:data:`ENABLER_METHODS`)."""

    gm: int
    components: tuple[str, ...]
    """The disabled components it may enable, in manifest order: those it names, or
    all of them when it names no component of the manifest."""
    names_them: bool
    """True when the method names the components it enables (const-class or const-string)."""
    api: str
    """The first of :data:`ENABLER_METHODS` it calls, e.g. ``PackageManager.setComponentEnabledSetting``."""


@dataclass(frozen=True)
class EntryPoint:
    gm: int
    reason: str
    """Why the framework calls it, e.g. ``activity de.ecspride.Main: onCreate``."""


def descriptor(dotted_name: str) -> str:
    return "L" + dotted_name.replace(".", "/") + ";"


def app_components(cg: CallGraph) -> list[ComponentInfo]:
    """Enabled components whose class the app defines, plus the Application class, in manifest order."""
    manifest = cg.app.manifest
    out: list[ComponentInfo] = []
    if manifest.application_class:
        gid = cg.type_gid(descriptor(manifest.application_class))
        if gid >= 0 and cg.type_class[gid]:
            out.append(ComponentInfo("application", manifest.application_class, gid, True, ()))
    return out + _defined_components(cg, enabled=True)


def disabled_components(cg: CallGraph) -> list[ComponentInfo]:
    """Components declared ``android:enabled="false"`` whose class the app defines, in manifest order."""
    return _defined_components(cg, enabled=False)


def _defined_components(cg: CallGraph, enabled: bool) -> list[ComponentInfo]:
    manifest = cg.app.manifest
    out: list[ComponentInfo] = []
    for comp in manifest.components:
        if comp.enabled != enabled:
            continue
        gid = cg.type_gid(descriptor(comp.name))
        if gid < 0 or not cg.type_class[gid]:
            continue
        out.append(ComponentInfo(comp.kind, comp.name, gid, _launched(comp, manifest.package), comp.actions))
    return out


def component_enablers(cg: CallGraph, disabled: list[ComponentInfo]) -> list[ComponentEnabler]:
    """The app's methods that call :data:`ENABLER_METHODS`, with the disabled components each may enable.

    A method *names* a component of the manifest when it holds its class
    literal (``const-class``) or a string constant equal to its class name or
    to its name relative to the manifest package (``".os.SmsReceiver"``).
    Methods that name components first, then the others, each group in
    ascending ``gm`` order; [] when the app has no disabled component.
    """
    if not disabled:
        return []
    manifest = cg.app.manifest
    declared = {c.name for c in manifest.components}
    all_disabled = tuple(c.name for c in disabled)
    out: list[ComponentEnabler] = []
    for d, dex in enumerate(cg.app.dex):
        if not len(dex.ref_kind):
            continue
        name_idx = np.concatenate(dex.find_many_strings(list(ENABLER_METHODS)))
        pm_types = dex.find_types(PACKAGE_MANAGER)
        if not len(name_idx) or not len(pm_types):
            continue
        mids = np.nonzero(np.isin(dex.method_name, name_idx) & np.isin(dex.method_class, pm_types))[0]
        sel = (dex.ref_kind == kernels.REF_INVOKE) & np.isin(dex.ref_target, mids)
        for row in np.unique(dex.ref_row[sel]).tolist():
            gm = int(cg.gm_of_row[d][row])
            if gm < 0:
                continue
            named = _named_components(dex, row, manifest.package, declared)
            if named:
                targets = tuple(n for n in all_disabled if n in named)
            else:
                targets = all_disabled
            if targets:
                kinds, refs, _ = dex.row_refs(row)
                first = int(refs[(kinds == kernels.REF_INVOKE) & np.isin(refs, mids)][0])
                api = "PackageManager." + dex.string(int(dex.method_name[first]))
                out.append(ComponentEnabler(gm, targets, bool(named), api))
    return sorted(out, key=lambda e: (not e.names_them, e.gm))


def _named_components(dex: DexIndex, row: int, package: str, declared: set[str]) -> set[str]:
    """Components in ``declared`` that method ``row`` names by class literal or string constant."""
    found: set[str] = set()
    kinds, targets, _ = dex.row_refs(row)
    for kind, target in zip(kinds.tolist(), targets.tolist()):
        if kind == kernels.REF_TYPE:
            name = dotted(dex.type_name(target))
        elif kind == kernels.REF_STRING:
            name = dex.string(target)
            if name.startswith("."):
                name = package + name
        else:
            continue
        if name in declared:
            found.add(name)
    return found


def _launched(comp: Component, package: str) -> bool:
    if comp.kind == "provider" or in_package(comp.name, package):
        return True
    if comp.exported is not None:
        return comp.exported
    return bool(comp.actions)


def methods_named(cg: CallGraph, gid: int, name: str, static: bool = False) -> list[int]:
    """Methods called ``name`` that an instance of ``gid`` dispatches to (all overloads of the nearest class defining one)."""
    h = np.uint64(fnv1a(name.encode("utf-8")))
    t = gid
    steps = 0
    while t >= 0 and steps < 256:
        ms = cg.methods_of_type(t)
        hits = [int(m) for m in ms if cg.m_name[m] == h and bool(cg.m_flags[m] & ACC_STATIC) == static and cg.m_code[m]]
        if hits:
            return hits
        if name == "<init>":
            return []
        t = int(cg.type_super[t])
        steps += 1
    return []


def lifecycle_entries(cg: CallGraph, fk: FlowKnowledge, info: ComponentInfo) -> list[EntryPoint]:
    """The lifecycle methods of one component (resolved on its class, inherited ones included)."""
    lifecycle = fk.lifecycles.get(info.kind)
    if lifecycle is None:
        return []
    out: list[EntryPoint] = []
    seen: set[int] = set()
    who = f"{info.kind} {info.name}"
    if info.enabled_by:
        who += f' (android:enabled="false"; {info.enabled_by})'
    for name in lifecycle.method_names:
        for gm in methods_named(cg, info.gid, name):
            if gm not in seen:
                seen.add(gm)
                out.append(EntryPoint(gm, f"{who}: {name}"))
    clinit = int(cg.clinit_of_type[info.gid])
    if clinit >= 0 and clinit not in seen:
        out.append(EntryPoint(clinit, f"{who}: <clinit>"))
    return out


def layout_handler_entries(cg: CallGraph) -> list[EntryPoint]:
    """``android:onClick`` handlers: ``name(Landroid/view/View;)V`` instance methods of app classes."""
    names = cg.app.layouts.on_click
    if not names:
        return []
    hashes = np.array([fnv1a(n.encode("utf-8")) for n in names], dtype=np.uint64)
    cand = np.nonzero(np.isin(cg.m_name, hashes) & cg.m_code & ((cg.m_flags & ACC_STATIC) == 0))[0]
    out = []
    for gm in cand:
        cls, name, proto = cg.method_parts(int(gm))
        if proto == "(Landroid/view/View;)V":
            out.append(EntryPoint(int(gm), f"layout android:onClick {name}"))
    return out


def on_method_mask(cg: CallGraph, prefix: str) -> np.ndarray:
    """Per global method: its name is ``prefix`` followed by an upper-case letter (``onClick``)."""
    out = np.zeros(cg.method_count, dtype=np.bool_)
    pat = np.frombuffer(prefix.encode("utf-8"), dtype=np.uint8)
    for d, dex in enumerate(cg.app.dex):
        if not len(dex.method_name):
            continue
        starts = dex.string_starts
        mask = kernels.strings_with_prefix(dex.buf, starts, pat)
        nxt = np.clip(starts + len(pat), 0, len(dex.buf) - 1)
        upper = (dex.buf[nxt] >= ord("A")) & (dex.buf[nxt] <= ord("Z")) & (starts >= 0)
        name_ok = mask & upper
        sel = np.nonzero(cg.m_dex == d)[0]
        midx = dex.def_method[cg.m_row[sel]].astype(np.int64)
        names = dex.method_name[np.clip(midx, 0, max(len(dex.method_name) - 1, 0))]
        out[sel] = name_ok[np.clip(names, 0, len(name_ok) - 1)] & (midx >= 0)
    return out


def callbacks_capped(cg: CallGraph) -> None:
    """Note on ``cg`` that :func:`graph_kernels.callback_methods` ran out of steps (once)."""
    msg = (f"the search for framework callbacks stopped after {cg.step_budget} steps, the limit for this app's size; "
           "classes past it have no callback entry points")
    if msg not in cg.truncated:
        cg.truncated.append(msg)


class CallbackFinder:
    """Finds callback entry points for the classes instantiated so far (see module docstring)."""

    def __init__(self, cg: CallGraph, fk: FlowKnowledge):
        self.cg = cg
        self.fk = fk
        ntypes = len(cg.type_keys)
        self.cb_of_type = np.full(ntypes, -1, dtype=np.int64)
        names: list[list[int]] = []
        self.callbacks = []
        for cb in fk.callbacks:
            gid = cg.type_gid(cb.descriptor)
            if gid < 0:
                continue
            self.cb_of_type[gid] = len(self.callbacks)
            self.callbacks.append(cb)
            names.append([fnv1a(m.encode("utf-8")) for m in cb.methods])
        self.cb_name_ptr = np.zeros(len(names) + 1, dtype=np.int64)
        if names:
            np.cumsum([len(n) for n in names], out=self.cb_name_ptr[1:])
        self.cb_names = np.array([h for n in names for h in n], dtype=np.uint64)
        self.framework_other = (~cg.type_class) & (self.cb_of_type < 0)
        self.component_base = np.zeros(ntypes, dtype=np.bool_)
        for kind, lifecycle in fk.lifecycles.items():
            if kind != "receiver":
                gid = cg.type_gid(descriptor(lifecycle.framework_class))
                if gid >= 0:
                    self.component_base[gid] = True
        self.object_gid = cg.type_gid(OBJECT)
        self.m_on = on_method_mask(cg, fk.callback_name_prefix)

    def entries(self, inst: np.ndarray) -> list[EntryPoint]:
        cg = self.cg
        status = np.zeros(1, dtype=np.uint8)
        gms, cbs, recv = _callback_methods(
            inst, cg.type_class, cg.type_super, cg.iface_ptr, cg.ifaces, self.cb_of_type, self.cb_name_ptr, self.cb_names,
            self.framework_other, self.component_base, np.int64(self.object_gid), cg.sorted_types, cg.sorted_order, cg.m_name, cg.m_flags,
            cg.m_code, self.m_on, np.int64(cg.step_budget), status,
        )
        if status[0]:
            callbacks_capped(cg)
        out: list[EntryPoint] = []
        seen: set[int] = set()
        for gm, cb, t in sorted(zip(gms.tolist(), cbs.tolist(), recv.tolist())):
            if gm in seen:
                continue
            seen.add(gm)
            cls = dotted(cg.type_descriptor(t))
            if cb >= 0:
                reason = f"callback {self.callbacks[cb].class_name} on {cls}"
            else:
                reason = f"framework override on {cls}"
            out.append(EntryPoint(gm, reason))
        return out
