"""`scan --traffic`: observations merged into the app's report, linked to the code that names the host."""

from __future__ import annotations

import json
import subprocess
import sys

from datasafety import scan
from datasafety.report.json_format import validate
from tests.conftest import EXODUS, TRACKERS, shared_path
from tests.traffic.conftest import har_entry, write_har

BLOOD = "exodus-core/blooddonation.apk"


def _capture(tmp_path):
    entries = [
        # AdMob ad request carrying the device's fix and advertising ID.
        har_entry("GET", "https://googleads.g.doubleclick.net/mads/gma?lat=48.858370&lng=2.294481&adid=38400000-8cf0-11bd-b23e-10b96e40000d",
                  ip="142.250.74.2"),
        # Map tiles: no personal data.
        har_entry("GET", "https://a.tile.openstreetmap.org/15/16598/11273.png"),
    ]
    return write_har(tmp_path / "blood.har", entries)


def test_observations_upgrade_verdicts_and_link_to_admob(tmp_path):
    har = _capture(tmp_path)
    report = scan(
        shared_path(BLOOD), trackers=EXODUS, traffic=har,
        whotracksme=TRACKERS / "whotracksme-2022-08" / "trackerdb.sql.gz",
        geoip_dir=TRACKERS / "ipfire-location-via-tor",
    )
    data = report.to_json()
    validate(data)
    obs = [(o["data_type"], o["host"], o["value"], o["linked_actors"], o["linked_sdks"]) for o in data["observations"]]
    # The ad host is named in AdMob's classes and in (obfuscated) Play services internals.
    actors = ["google_mobile_ads", "google_play_services"]
    assert obs == [
        ("device_or_other_ids", "googleads.g.doubleclick.net", "38400000-8cf0-11bd-b23e-10b96e40000d", actors, []),
        ("precise_location", "googleads.g.doubleclick.net", "48.858370,2.294481", actors, []),
    ]
    assert data["observations"][1]["linked_classes"] == [
        "com.google.android.gms.ads.internal.zze", "com.google.android.gms.internal.zzcu",
        "com.google.android.gms.internal.zzmo", "com.google.android.gms.internal.zzzq",
    ]
    # Exodus's "Google DoubleClick" network signature matches the host; it has no code signature.
    assert {o["tracker"] for o in data["observations"]} == {"Google DoubleClick"}
    assert {(o["organisation"], o["country"], o["first_party"]) for o in data["observations"]} == {("Google", "US", False)}
    precise = report.verdict("precise_location")
    assert (precise.verdict, precise.grade, precise.actors) == ("shared", "observed", tuple(actors))
    assert precise.evidence[:2] == ("obs:0002", "cs:precise_location:0001")
    assert precise.explanation == (
        "Precise location: seen in captured traffic with up to 6 decimal places: 1 value sent to "
        "googleads.g.doubleclick.net (Google, US), a third party. The host is named in the code of "
        "Google Mobile Ads (AdMob), Google Play services (base, catch-all)."
    )
    assert report.verdict("device_or_other_ids").verdict == "shared"
    # Data types without observations keep their static verdicts.
    assert report.verdict("approximate_location").verdict == "capable"
    assert data["traffic"]["requests_read"] == 2
    assert [k["name"] for k in data["knowledge"]][-3:] == ["exodus_trackers", "whotracksme", "ipfire_geoip"]


def test_cli_scan_with_unreadable_capture_exits_2(tmp_path):
    bad = tmp_path / "bad.har"
    bad.write_text("{ not json")
    result = subprocess.run(
        [sys.executable, "-m", "datasafety.cli", "scan", str(shared_path(BLOOD)), "--traffic", str(bad), "--quiet"],
        capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


def test_cli_scan_with_traffic_writes_observations(tmp_path):
    out = tmp_path / "r.json"
    result = subprocess.run(
        [sys.executable, "-m", "datasafety.cli", "scan", str(shared_path(BLOOD)), "--traffic", str(_capture(tmp_path)),
         "--trackers", str(EXODUS), "--json", str(out)],
        capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(out.read_text())
    assert [v["verdict"] for v in data["verdicts"] if v["data_type"] == "precise_location"] == ["shared"]
    assert "shared" in result.stdout
