"""Entry points: lifecycles from the manifest, registered callbacks, layout onClick handlers."""

from __future__ import annotations

from datasafety.analysis.callgraph import build_call_graph
from datasafety.analysis.reachability import compute_reachability
from datasafety.app.model import load_app
from datasafety.knowledge.flows import load_flow_knowledge
from tests.conftest import shared_path


def _entries(relative: str) -> dict[str, str]:
    cg = build_call_graph(load_app(shared_path(relative)))
    reach = compute_reachability(cg, load_flow_knowledge())
    return {cg.method_label(gm): e.reason for gm, e in reach.entries.items() if not cg.method_label(gm).startswith("android.")}


def test_button2_lifecycle_listeners_and_layout_handler():
    # Button2: onCreate registers two anonymous OnClickListeners; the layout names
    # clickOnButton3 in android:onClick (res/layout/activity_button2.xml).
    assert _entries("droidbench/Callbacks/Button2.apk") == {
        "de.ecspride.Button2.<init>()V": "activity de.ecspride.Button2: <init>",
        "de.ecspride.Button2.onCreate(Landroid/os/Bundle;)V": "activity de.ecspride.Button2: onCreate",
        "de.ecspride.Button2.clickOnButton3(Landroid/view/View;)V": "layout android:onClick clickOnButton3",
        "de.ecspride.Button2$1.onClick(Landroid/view/View;)V": "callback android.view.View$OnClickListener on de.ecspride.Button2$1",
        "de.ecspride.Button2$2.onClick(Landroid/view/View;)V": "callback android.view.View$OnClickListener on de.ecspride.Button2$2",
    }


def test_disabled_activity_is_no_entry_point():
    # InactiveActivity: the only activity has android:enabled="false".
    assert _entries("droidbench/AndroidSpecific/InactiveActivity.apk") == {}


def test_component_missing_from_manifest_is_no_entry_point():
    # ComponentNotInManifest1: OutFlowActivity starts InFlowActivity (const-class), which
    # the manifest does not declare: the platform would refuse to start it.
    entries = _entries("droidbench/InterComponentCommunication/ComponentNotInManifest1.apk")
    assert sorted(entries) == [
        "edu.mit.icc_component_not_in_manifest.IsolateActivity.<init>()V",
        "edu.mit.icc_component_not_in_manifest.IsolateActivity.onCreate(Landroid/os/Bundle;)V",
        "edu.mit.icc_component_not_in_manifest.OutFlowActivity.<init>()V",
        "edu.mit.icc_component_not_in_manifest.OutFlowActivity.onCreate(Landroid/os/Bundle;)V",
    ]


def test_unexported_component_of_the_app_is_an_entry_point():
    # ServiceLifecycle1: the only component is a service without intent filter, in the
    # app's own package: the app may start it (FlowDroid's convention), so it counts.
    assert _entries("droidbench/Lifecycle/ServiceLifecycle1.apk") == {
        "de.ecspride.MainService.<init>()V": "service de.ecspride.MainService: <init>",
        "de.ecspride.MainService.onStartCommand(Landroid/content/Intent;II)I": "service de.ecspride.MainService: onStartCommand",
        "de.ecspride.MainService.onBind(Landroid/content/Intent;)Landroid/os/IBinder;": "service de.ecspride.MainService: onBind",
        "de.ecspride.MainService.onLowMemory()V": "service de.ecspride.MainService: onLowMemory",
    }


def test_layout_facts_password_field_and_handler():
    app = load_app(shared_path("droidbench/AndroidSpecific/PrivateDataLeak1.apk"))
    # res/layout/activity_private_date_leakage.xml: EditText @7F070001 has inputType 0x81 (textPassword).
    assert app.layouts.password_view_ids == (0x7F070001,)
    assert app.layouts.on_click == ("sendMessage",)
