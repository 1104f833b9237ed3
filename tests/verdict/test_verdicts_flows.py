"""Verdicts from flows: collected (network flow), shared (SDK actor or third-party host), reachable capable."""

from __future__ import annotations

from dataclasses import replace

from datasafety.analysis.call_sites import CallSite
from datasafety.analysis.taint.model import Flow, FlowEnd
from datasafety.knowledge.catalogue import load_knowledge
from datasafety.verdict.verdicts import decide, destination_host

SITE = CallSite(
    id="cs:device_or_other_ids:0001", data_type="device_or_other_ids", api="android.telephony.TelephonyManager.getDeviceId",
    api_id="telephony_manager.get_device_id", api_descriptor="()Ljava/lang/String;", caller_class="com.example.app.Main",
    caller_method="onCreate(Landroid/os/Bundle;)V", pc=4, dex="classes.dex", actor="first_party", in_app_package=True,
    permission_any_of=(), permission_requested=True, precision="", precision_evidence="", reachable=True,
    reachable_path=("com.example.app.Main.onCreate(Landroid/os/Bundle;)V",),
)


def flow(actor="first_party", destinations=(), kind="network") -> Flow:
    end = FlowEnd("android.telephony.TelephonyManager.getDeviceId", "com.example.app.Main", "onCreate(Landroid/os/Bundle;)V", 4, "classes.dex")
    sink = FlowEnd("java.net.HttpURLConnection.connect", "com.example.app.Net", "send()V", 9, "classes.dex")
    return Flow("flow:0001", ("device_or_other_ids",), end, SITE.id, sink, kind, (), actor, actor, destinations)


def verdict(flows, sites=(SITE,)):
    names = {"first_party": "the app's own code", "admob": "AdMob"}
    out = decide(load_knowledge(), list(sites), [], 30, names, flows=tuple(flows), package="com.example.app")
    return next(v for v in out if v.data_type == "device_or_other_ids")


def test_network_flow_to_the_publisher_is_collected():
    v = verdict([flow(destinations=("https://api.example.com/v1",))])
    assert (v.verdict, v.grade, v.actors) == ("collected", "flows", ("first_party",))
    assert v.evidence[:2] == ("flow:0001", SITE.id)


def test_third_party_host_or_sdk_actor_is_shared():
    assert verdict([flow(destinations=("https://tracker.example.net/t",))]).verdict == "shared"
    v = verdict([flow(actor="admob")])
    assert (v.verdict, v.actors) == ("shared", ("admob",))
    assert "AdMob" in v.explanation


def test_other_sinks_and_unpermitted_sources_do_not_collect():
    assert verdict([flow(kind="log")]).verdict == "capable"
    blocked = replace(SITE, permission_requested=False)
    assert verdict([flow()], sites=(blocked,)).verdict == "present_not_permitted"


def test_capable_is_reachable_when_a_call_site_is():
    v = verdict([])
    assert (v.verdict, v.grade) == ("capable", "reachable")
    assert "1 of them is reachable" in v.explanation
    assert verdict([], sites=(replace(SITE, reachable=False),)).grade == "present"
    assert verdict([], sites=(replace(SITE, reachable=None),)).grade == "present"


def test_destination_hosts():
    assert destination_host("https://API.example.com:443/x?y") == "api.example.com"
    assert destination_host("cdn.example.org/path") == "cdn.example.org"
    assert destination_host("/relative") == ""
