"""The call graph: cross-DEX keys, exact resolution and class-hierarchy dispatch, checked on real APKs."""

from __future__ import annotations

import numpy as np

from datasafety.analysis.callgraph import INVOKE_DIRECT, INVOKE_INTERFACE, build_call_graph, subsig_key
from datasafety.app.model import load_app
from tests.conftest import shared_path


def _method(cg, label: str) -> int:
    found = [gm for gm in range(cg.method_count) if cg.method_label(gm) == label]
    assert len(found) == 1, label
    return found[0]


def _targets(cg, caller: int, pc: int) -> tuple[int, list[tuple[str, str]]]:
    for c in cg.call_sites_of(caller):
        if cg.cs_pc[c] == pc:
            recv, targ = cg.targets_of_set(int(cg.cs_set[c]))
            pairs = sorted({(cg.type_descriptor(int(r)) if r >= 0 else "", cg.method_label(int(t))) for r, t in zip(recv, targ)})
            return int(cg.cs_kind[c]), pairs
    raise AssertionError(f"no call at pc {pc}")


def test_interface_call_dispatches_to_every_implementation():
    # VirtualDispatch3: factoryTest() calls MyInterface.getString() at pc 5 (invoke-interface);
    # A and B implement it (androguard disassembly of MainActivity$A, $B).
    cg = build_call_graph(load_app(shared_path("droidbench/GeneralJava/VirtualDispatch3.apk")))
    caller = _method(cg, "de.ecspride.MainActivity.factoryTest()V")
    kind, pairs = _targets(cg, caller, 5)
    assert kind == INVOKE_INTERFACE
    assert pairs == [
        ("Lde/ecspride/MainActivity$A;", "de.ecspride.MainActivity$A.getString()Ljava/lang/String;"),
        ("Lde/ecspride/MainActivity$B;", "de.ecspride.MainActivity$B.getString()Ljava/lang/String;"),
    ]
    kind, pairs = _targets(cg, caller, 1)
    assert (kind, pairs) == (INVOKE_DIRECT, [("", "de.ecspride.MainActivity.createInterfaceImplementation()Lde/ecspride/MainActivity$MyInterface;")])


def test_calls_resolve_across_dex_files():
    # Appium Settings has 9 DEX files: AbstractSettingReceiver (classes3.dex) calls
    # AbstractSettingHandler.enable() (defined in classes6.dex) at pc 64.
    app = load_app(shared_path("npm-io.appium.settings/settings_apk-debug.apk"))
    cg = build_call_graph(app)
    caller = _method(cg, "io.appium.settings.receivers.AbstractSettingReceiver.onReceive(Landroid/content/Context;Landroid/content/Intent;)V")
    assert app.dex[int(cg.m_dex[caller])].name == "classes3.dex"
    _, pairs = _targets(cg, caller, 64)
    targets = {t for _, t in pairs}
    assert targets == {"io.appium.settings.handlers.AbstractSettingHandler.enable()Z"}
    target = _method(cg, "io.appium.settings.handlers.AbstractSettingHandler.enable()Z")
    assert app.dex[int(cg.m_dex[target])].name == "classes6.dex"


def test_subsignature_keys_match_the_index():
    cg = build_call_graph(load_app(shared_path("droidbench/GeneralJava/VirtualDispatch3.apk")))
    gm = _method(cg, "de.ecspride.MainActivity$B.getString()Ljava/lang/String;")
    assert subsig_key("getString", "()Ljava/lang/String;", cg) == int(cg.m_subsig[gm])
    assert cg.resolve(cg.type_gid("Lde/ecspride/MainActivity$B;"), int(cg.m_subsig[gm])) == gm


def test_tables_are_deterministic_and_consistent():
    app = load_app(shared_path("exodus-core/blooddonation.apk"))
    a, b = build_call_graph(app), build_call_graph(app)
    for name in ("type_keys", "m_subsig", "cs_caller", "cs_set", "set_ptr", "set_target", "set_recv"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
    assert np.all(np.diff(a.cs_caller) >= 0)
    assert a.mcs_ptr[-1] == len(a.cs_caller)
    assert np.all(a.m_type >= 0) and np.all(a.type_class[a.m_type])
