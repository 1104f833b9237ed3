"""Entry points: lifecycles from the manifest, registered callbacks, layout onClick handlers."""

from __future__ import annotations

import functools

from datasafety.analysis.callgraph import build_call_graph
from datasafety.analysis.entry_points import component_enablers, disabled_components
from datasafety.analysis.reachability import Reachability, compute_reachability
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


@functools.lru_cache(maxsize=4)
def _reach(relative: str) -> Reachability:
    return compute_reachability(build_call_graph(load_app(shared_path(relative))), load_flow_knowledge())


def _enablers(relative: str) -> list[tuple[str, tuple[str, ...], bool]]:
    cg = build_call_graph(load_app(shared_path(relative)))
    return [(cg.method_label(e.gm), e.components, e.names_them) for e in component_enablers(cg, disabled_components(cg))]


def test_disabled_activity_is_no_entry_point():
    # InactiveActivity: the only activity has android:enabled="false" and no code calls
    # PackageManager.setComponentEnabledSetting: it is never started.
    assert _entries("droidbench/AndroidSpecific/InactiveActivity.apk") == {}
    reach = _reach("droidbench/AndroidSpecific/InactiveActivity.apk")
    assert [c.name for c in disabled_components(reach.cg)] == ["de.ecspride.InactiveActivity"]
    assert _enablers("droidbench/AndroidSpecific/InactiveActivity.apk") == []
    assert reach.started == set()
    assert reach.components == []


APIDEMOS = "npm-android-apidemos/ApiDemos-debug.apk"
SMS_RECEIVER = "io.appium.android.apis.os.SmsMessageReceiver"
WIDGET_RECEIVER = "io.appium.android.apis.appwidget.ExampleBroadcastReceiver"


def test_apidemos_methods_that_enable_disabled_components():
    # ApiDemos declares two receivers android:enabled="false" (SmsMessageReceiver,
    # ExampleBroadcastReceiver). Four methods call PackageManager.setComponentEnabledSetting:
    # - ExampleAppWidgetProvider.onEnabled / onDisabled build
    #   ComponentName("io.appium.android.apis", ".appwidget.ExampleBroadcastReceiver"): they
    #   name that receiver (relative to the package) and only it;
    # - SmsMessagingDemo$1.onCheckedChanged uses the ComponentName that SmsMessagingDemo.onCreate
    #   built (const-string "io.appium.android.apis.os.SmsMessageReceiver") and passed to its
    #   constructor: it names no component, so it may enable either;
    # - AppCompat's AppLocalesStorageHelper.syncLocalesToFramework names
    #   AppLocalesMetadataHolderService, which this manifest does not declare: no component.
    assert _enablers(APIDEMOS) == [
        ("io.appium.android.apis.appwidget.ExampleAppWidgetProvider.onDisabled(Landroid/content/Context;)V", (WIDGET_RECEIVER,), True),
        ("io.appium.android.apis.appwidget.ExampleAppWidgetProvider.onEnabled(Landroid/content/Context;)V", (WIDGET_RECEIVER,), True),
        ("androidx.appcompat.app.AppLocalesStorageHelper.syncLocalesToFramework(Landroid/content/Context;)V", (WIDGET_RECEIVER, SMS_RECEIVER), False),
        ("io.appium.android.apis.os.SmsMessagingDemo$1.onCheckedChanged(Landroid/widget/CompoundButton;Z)V", (WIDGET_RECEIVER, SMS_RECEIVER), False),
    ]


def test_disabled_receiver_enabled_at_runtime_is_started():
    # The SMS demo's check box enables SmsMessageReceiver at runtime (see above); the
    # reachable enabler that names a receiver explains it before one that names none.
    reach = _reach(APIDEMOS)
    cg = reach.cg
    assert {SMS_RECEIVER, WIDGET_RECEIVER} <= reach.started
    assert {c.name: c.enabled_by for c in reach.components if c.enabled_by} == {
        WIDGET_RECEIVER: "io.appium.android.apis.appwidget.ExampleAppWidgetProvider.onDisabled(Landroid/content/Context;)V"
        " calls PackageManager.setComponentEnabledSetting naming it",
        SMS_RECEIVER: "io.appium.android.apis.os.SmsMessagingDemo$1.onCheckedChanged(Landroid/widget/CompoundButton;Z)V"
        " calls PackageManager.setComponentEnabledSetting naming no component",
    }
    reasons = {cg.method_label(gm): e.reason for gm, e in reach.entries.items() if cg.method_label(gm).startswith(SMS_RECEIVER)}
    assert reasons == {
        f"{SMS_RECEIVER}.<init>()V": f'receiver {SMS_RECEIVER} (android:enabled="false"; io.appium.android.apis.os.SmsMessagingDemo$1'
        ".onCheckedChanged(Landroid/widget/CompoundButton;Z)V calls PackageManager.setComponentEnabledSetting naming no component): <init>",
        f"{SMS_RECEIVER}.onReceive(Landroid/content/Context;Landroid/content/Intent;)V": f'receiver {SMS_RECEIVER} (android:enabled="false";'
        " io.appium.android.apis.os.SmsMessagingDemo$1.onCheckedChanged(Landroid/widget/CompoundButton;Z)V calls"
        " PackageManager.setComponentEnabledSetting naming no component): onReceive",
    }


def test_workmanager_receivers_enabled_through_a_helper_are_started():
    # WorkManager's PackageManagerHelper.setComponentEnabled(Context, Class, boolean) gets the
    # class from its callers (ConstraintProxy.updateAll, ...): it names no component, so every
    # disabled component (WorkManager's five receivers) counts as enabled once it is reached.
    relative = "themis/MaterialFBook4.0.2-debug-#224.apk"
    proxies = (
        "androidx.work.impl.background.systemalarm.ConstraintProxy$BatteryChargingProxy",
        "androidx.work.impl.background.systemalarm.ConstraintProxy$BatteryNotLowProxy",
        "androidx.work.impl.background.systemalarm.ConstraintProxy$NetworkStateProxy",
        "androidx.work.impl.background.systemalarm.ConstraintProxy$StorageNotLowProxy",
        "androidx.work.impl.background.systemalarm.RescheduleReceiver",
    )
    helper = "androidx.work.impl.utils.PackageManagerHelper.setComponentEnabled(Landroid/content/Context;Ljava/lang/Class;Z)V"
    assert _enablers(relative) == [(helper, proxies, False)]
    reach = _reach(relative)
    assert set(proxies) <= reach.started
    assert [c.name for c in reach.components if c.enabled_by] == list(proxies)


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
