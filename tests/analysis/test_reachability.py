"""Reachability of call sites and SDKs, pinned on DroidBench's UnreachableCode cases and a real app.

The expected offsets come from androguard's disassembly of each ``onCreate``.
"""

from __future__ import annotations

import pytest

from datasafety.analysis.callgraph import build_call_graph
from datasafety.analysis.reachability import compute_reachability
from datasafety.app.model import load_app
from datasafety.knowledge.flows import load_flow_knowledge
from tests.conftest import shared_path

CASES = {
    # SimpleUnreachable1: `if (foo() + 80 < 10)` with foo() returning the constant 42 guards
    # getDeviceId (pc 27) and Log.d (pc 33).
    "SimpleUnreachable1": ("droidbench.sit.fraunhofer.de.simpleunreachable1.MainActivity", 27, 33, False, False),
    # UnreachableBoth: getDeviceId (pc 33) under `new Random().nextInt(30) > 40`; Log.d (pc 52)
    # under `switch (nextInt(10)) { case 21: ... }`.
    "UnreachableBoth": ("edu.wayne.cs.MainActivity", 33, 52, False, False),
    # UnreachableSink1: getDeviceId (pc 16) runs; Log.d (pc 37) only in `case 21` of nextInt(10).
    "UnreachableSink1": ("edu.wayne.cs.MainActivity", 16, 37, True, False),
    # UnreachableSource1: getDeviceId (pc 31) under nextInt(30) > 40; Log.d (pc 37) runs.
    "UnreachableSource1": ("edu.wayne.cs.MainActivity", 31, 37, False, True),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_unreachable_code_category(name, scan_apk):
    cls, source_pc, sink_pc, source_reachable, sink_reachable = CASES[name]
    report = scan_apk(f"droidbench/UnreachableCode/{name}.apk")
    sites = [(c.api, c.caller_class, c.caller_method, c.pc, c.reachable) for c in report.call_sites if c.actor == "first_party"]
    assert sites == [
        ("android.telephony.TelephonyManager.getDeviceId", cls, "onCreate(Landroid/os/Bundle;)V", source_pc, source_reachable)
    ]
    cg = build_call_graph(load_app(shared_path(f"droidbench/UnreachableCode/{name}.apk")))
    reach = compute_reachability(cg, load_flow_knowledge())
    on_create = next(gm for gm in range(cg.method_count) if cg.method_label(gm) == f"{cls}.onCreate(Landroid/os/Bundle;)V")
    assert reach.is_reached(on_create)
    assert reach.site_reachable(on_create, source_pc) is source_reachable
    assert reach.site_reachable(on_create, sink_pc) is sink_reachable
    assert not report.flows


def test_reachable_call_site_has_a_path_from_the_entry_point(scan_apk):
    report = scan_apk("droidbench/Callbacks/Button2.apk")
    site = next(c for c in report.call_sites if c.api.endswith("getDeviceId"))
    assert site.reachable is True
    assert site.reachable_path == ("de.ecspride.Button2.clickOnButton3(Landroid/view/View;)V",)
    assert site.reachable_entry == "layout android:onClick clickOnButton3"
    location = scan_apk("droidbench/Callbacks/LocationLeak1.apk").call_sites[0]
    assert (location.reachable_path, location.reachable_entry) == (
        ("de.ecspride.LocationLeak1.onCreate(Landroid/os/Bundle;)V",), "activity de.ecspride.LocationLeak1: onCreate"
    )


def test_blooddonation_admob_location_not_reachable_from_app_code(scan_apk):
    """Checked by hand in androguard's disassembly of blooddonation 3.4:

    - First-party code uses AdMob only in MainActivity.setupPub(): it builds an
      AdRequest (addTestDevice, addKeyword, build) and calls AdView.loadAd. It never
      calls AdRequest$Builder.setLocation (no such call in any fr.mobdev class).
    - The AdMob location call site, AdRequest$Builder.setLocation in
      com.google.ads.mediation.AbstractAdViewAdapter.zza (pc 56), is called only from the
      adapter's loadAd / requestBannerAd / requestInterstitialAd / requestNativeAd; the
      adapter classes are instantiated only by reflection, zzup.zzaj(String) doing
      Class.forName(name).newInstance() with adapter names from the mediation config.
      The location it passes comes from MediationAdRequest.getLocation(), i.e. the one
      the app put in its AdRequest: none.
    So no static call chain leads from an entry point to that call site, while app code
    does reach AdMob itself (setupPub, from MainActivity.onCreate via showMaps).
    """
    report = scan_apk("exodus-core/blooddonation.apk", trackers=True)
    admob_sites = [c for c in report.call_sites if c.actor == "google_mobile_ads" and "location" in c.data_type]
    assert {(c.caller_class, c.caller_method.split("(")[0], c.pc) for c in admob_sites} == {
        ("com.google.ads.mediation.AbstractAdViewAdapter", "zza", 56)
    }
    assert all(c.reachable is False and c.reachable_path == () for c in admob_sites)
    admob = next(s for s in report.sdks if s.id == "google_mobile_ads")
    assert admob.reachable is True and admob.grade == "reachable"
    assert admob.reachable_path[:3] == (
        "fr.mobdev.blooddonation.activity.MainActivity.onCreate(Landroid/os/Bundle;)V",
        "fr.mobdev.blooddonation.activity.MainActivity.showMaps()V",
        "fr.mobdev.blooddonation.activity.MainActivity.setupPub()V",
    )
    # The app's own location requests are reachable (MapsFragment.onResume -> startUpdateLocations).
    own = [c for c in report.call_sites if c.actor == "first_party" and c.data_type == "precise_location"]
    assert own and all(c.reachable for c in own)
    assert own[0].reachable_path == (
        "fr.mobdev.blooddonation.fragment.MapsFragment.onResume()V",
        "fr.mobdev.blooddonation.fragment.MapsFragment.startUpdateLocations()V",
    )
    assert report.verdict("precise_location").grade in ("reachable", "flows")


def test_sdk_present_but_never_reached_stays_present(scan_apk):
    report = scan_apk("exodus-core/blooddonation.apk", trackers=True)
    grades = {s.id: (s.grade, s.reachable) for s in report.sdks if s.source == "catalogue"}
    # osmdroid classes are bundled (188) but the app draws maps with AnyMaps' own views.
    assert grades["osmdroid"] == ("present", False)
    assert grades["firebase"] == ("present", False)
    assert grades["anymaps"] == ("reachable", True)


def test_disabled_sms_receiver_enabled_at_runtime_is_reachable(scan_apk):
    """ApiDemos declares SmsMessageReceiver android:enabled="false"; SmsMessagingDemo's check box
    enables it with PackageManager.setComponentEnabledSetting (SmsMessagingDemo$1.onCheckedChanged,
    reachable from SmsMessagingDemo.onCreate). Its SMS and contacts call sites therefore run
    when an SMS arrives, and the SMS verdict must not say "none of them is reachable".
    """
    report = scan_apk("npm-android-apidemos/ApiDemos-debug.apk")
    on_receive = "onReceive(Landroid/content/Context;Landroid/content/Intent;)V"
    path = ("io.appium.android.apis.os.SmsMessageReceiver." + on_receive,)
    sites = [(c.id, c.api, c.caller_method, c.pc, c.reachable, c.reachable_path)
             for c in report.call_sites if c.caller_class == "io.appium.android.apis.os.SmsMessageReceiver"]
    assert sites == [
        ("cs:contacts:0007", "android.provider.ContactsContract$PhoneLookup.CONTENT_FILTER_URI", on_receive, 34, True, path),
        ("cs:sms:0001", "android.telephony.SmsMessage.createFromPdu", on_receive, 25, True, path),
        ("cs:sms:0002", "android.telephony.SmsMessage.getOriginatingAddress", on_receive, 29, True, path),
        ("cs:sms:0003", "android.telephony.SmsMessage.getMessageBody", on_receive, 104, True, path),
    ]
    # The report says why the receiver counts as started.
    assert {c.reachable_entry for c in report.call_sites if c.caller_class == "io.appium.android.apis.os.SmsMessageReceiver"} == {
        'receiver io.appium.android.apis.os.SmsMessageReceiver (android:enabled="false"; '
        "io.appium.android.apis.os.SmsMessagingDemo$1.onCheckedChanged(Landroid/widget/CompoundButton;Z)V "
        "calls PackageManager.setComponentEnabledSetting naming no component): onReceive"
    }
    sms = report.verdict("sms")
    assert sms.grade == "reachable"
    assert "3 of them are reachable from an entry point" in sms.explanation
