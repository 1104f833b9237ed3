"""`datasafety.scan` on real apps: exact call sites, verdicts and SDKs, checked by hand.

The call sites pinned here were read off the bytecode (androguard's disassembly
of the caller methods) when the test was written; see docs/verification.md.
"""

from __future__ import annotations

from datasafety.report.json_format import validate


def _sites(report, data_type):
    return [
        (c.api, c.caller_class, c.caller_method.split("(")[0], c.pc, c.actor, c.permission_requested)
        for c in report.call_sites
        if c.data_type == data_type
    ]


def test_instapaper_location_only_in_support_library(scan_apk):
    report = scan_apk("exodus-core/instapaper.apk", trackers=True)
    validate(report.to_json())
    assert report.app.package == "com.olivierpayen.leaninstapaper"
    assert report.app.class_count == 4249 and report.app.method_count == 26289
    assert not any("LOCATION" in p.name for p in report.permissions)
    # AppCompat night mode (TwilightManager, obfuscated to android.support.v7.app.p) asks for the last fix.
    expected = [("android.location.LocationManager.getLastKnownLocation", "android.support.v7.app.p", "a", 10, "android_support_library", False)]
    assert _sites(report, "precise_location") == expected
    assert _sites(report, "approximate_location") == expected
    verdict = report.verdict("precise_location")
    assert (verdict.verdict, verdict.grade, verdict.actors) == ("present_not_permitted", "present", ("android_support_library",))
    assert verdict.evidence == ("cs:precise_location:0001",)
    assert "first_party" not in verdict.actors
    assert report.verdict("clipboard").verdict == "capable"
    assert report.verdict("clipboard").actors == ("first_party",)
    assert report.verdict("device_or_other_ids").actors == ("fabric_crashlytics", "firebase_analytics")
    exodus = sorted(s.name for s in report.sdks if s.source == "exodus")
    assert exodus == [
        "Facebook Analytics", "Facebook Login", "Facebook Places", "Facebook Share",
        "Google CrashLytics", "Google Firebase Analytics",
    ]


def test_blooddonation_precise_location_capable_with_admob(scan_apk):
    report = scan_apk("exodus-core/blooddonation.apk", trackers=True)
    validate(report.to_json())
    names = {p.name for p in report.permissions}
    assert {"android.permission.ACCESS_FINE_LOCATION", "android.permission.ACCESS_COARSE_LOCATION"} <= names
    verdict = report.verdict("precise_location")
    assert verdict.verdict == "capable"
    assert verdict.actors == ("first_party", "android_support_library", "google_mobile_ads", "osmdroid")
    assert "google_mobile_ads" in report.verdict("approximate_location").actors
    assert _sites(report, "precise_location") == [
        ("android.location.LocationManager.getLastKnownLocation", "android.support.v7.app.TwilightManager", "getLastKnownLocationForProvider", 14, "android_support_library", True),
        ("com.google.android.gms.ads.AdRequest$Builder.setLocation", "com.google.ads.mediation.AbstractAdViewAdapter", "zza", 56, "google_mobile_ads", True),
        ("android.location.LocationManager.requestLocationUpdates", "fr.mobdev.blooddonation.fragment.MapsFragment", "startUpdateLocations", 106, "first_party", True),
        ("android.location.LocationManager.requestLocationUpdates", "org.osmdroid.LocationListenerProxy", "startListening", 48, "osmdroid", True),
        ("android.location.LocationManager.getLastKnownLocation", "org.osmdroid.util.LocationUtils", "getLastKnownLocation", 10, "osmdroid", True),
        ("android.location.LocationManager.requestLocationUpdates", "org.osmdroid.views.overlay.mylocation.GpsMyLocationProvider", "startLocationProvider", 50, "osmdroid", True),
    ]
    # startUpdateLocations requests "gps" at pc 106 and "network" at pc 113 (checked in the disassembly).
    first_party = [(c.data_type, c.pc, c.precision, c.precision_evidence) for c in report.call_sites if c.actor == "first_party"]
    assert first_party == [
        ("approximate_location", 113, "approximate", 'provider "network" (NETWORK_PROVIDER)'),
        ("precise_location", 106, "precise", 'provider "gps" (GPS_PROVIDER)'),
    ]
    admob = next(s for s in report.sdks if s.id == "google_mobile_ads")
    # MainActivity.setupPub() calls AdView.loadAd: app code reaches AdMob (issue 4 reachability).
    assert (admob.organisation, admob.organisation_country, admob.grade) == ("Google LLC", "US", "reachable")
    assert any(s.source == "exodus" and s.name == "Google AdMob" for s in report.sdks)


def test_droidbench_location_leak1(scan_apk):
    report = scan_apk("droidbench/Callbacks/LocationLeak1.apk")
    assert [(c.data_type, c.api, c.caller_class, c.caller_method, c.pc, c.actor, c.permission_any_of, c.permission_requested, c.precision)
            for c in report.call_sites] == [
        ("precise_location", "android.location.LocationManager.requestLocationUpdates", "de.ecspride.LocationLeak1",
         "onCreate(Landroid/os/Bundle;)V", 28, "first_party", ("android.permission.ACCESS_FINE_LOCATION",), True, "precise"),
    ]
    assert [p.name for p in report.permissions] == ["android.permission.ACCESS_FINE_LOCATION"]
    assert report.permissions[0].protection_level.startswith("dangerous")
    verdict = report.verdict("precise_location")
    assert (verdict.verdict, verdict.actors, verdict.evidence) == (
        "capable", ("first_party",), ("cs:precise_location:0001", "perm:android.permission.ACCESS_FINE_LOCATION"))


def test_appium_settings_nine_dex_and_fused_location(scan_apk):
    report = scan_apk("npm-io.appium.settings/settings_apk-debug.apk")
    assert report.app.dex_count == 9
    assert report.app.target_sdk == 35
    fused = sorted(
        {(c.api.rsplit(".", 2)[-2] + "." + c.api.rsplit(".", 1)[-1], c.caller_class, c.caller_method.split("(")[0], c.dex)
         for c in report.call_sites if "gms.location" in c.api}
    )
    assert fused == [
        ("FusedLocationProviderClient.getCurrentLocation", "io.appium.settings.LocationTracker", "forceLocationUpdate", "classes5.dex"),
        ("FusedLocationProviderClient.requestLocationUpdates", "io.appium.settings.LocationTracker", "initializePlayServices", "classes5.dex"),
        ("LocationServices.getFusedLocationProviderClient", "io.appium.settings.LocationService", "createFusedLocationProvider", "classes5.dex"),
        ("LocationServices.getFusedLocationProviderClient", "io.appium.settings.LocationTracker", "initializePlayServices", "classes5.dex"),
    ]
    # initializePlayServices builds its request with setPriority(104) (low power, checked in the
    # disassembly): approximate only.
    init = [c for c in report.call_sites if c.caller_method.startswith("initializePlayServices")]
    assert {c.data_type for c in init} == {"approximate_location"}
    assert {c.precision_evidence for c in init} == {"priority 104 (low power)"}
    assert report.verdict("precise_location").verdict == "capable"
