"""HAR captures: exact observations with a device profile, destinations, coarse grid, negatives."""

from __future__ import annotations

import base64
import json
from urllib.parse import quote

from datasafety.traffic import analyse_capture
from tests.traffic.conftest import PROFILE, har_entry, md5, rows, sha1, sha256, write_har
from tests.traffic.labelled_set import snap_to_coarse_grid

GRID_LAT, GRID_LON = snap_to_coarse_grid(48.858370, 2.294481)


def _capture(tmp_path):
    entries = [
        har_entry("POST", "https://collect.locsdk.example/v1/fix", ip="8.8.8.8",
                  body=json.dumps({"lat": 48.858370, "lng": 2.294481, "adid": PROFILE["advertising_id"]}).replace("48.85837", "48.858370")),
        har_entry("GET", "https://api.weather.example/w?lat=48.8584&lon=2.2945&units=metric"),
        har_entry("GET", "https://api.weather.example/w?lat=48.8583&lon=2.2944"),
        har_entry("POST", "https://app.adjust.com/session", mime="application/x-www-form-urlencoded", ip="185.151.204.10",
                  body=f"imei_md5={md5(PROFILE['imei'])}&aid={sha1(PROFILE['android_id'])}&em={sha256(PROFILE['email'])}&m={'11:3c:e8:60:5e:a4'[::-1][::-1]}"),
        har_entry("POST", "https://api.example.com/nearby", body=f'{{"lat":{GRID_LAT:.6f},"lng":{GRID_LON:.6f},"acc":2000}}'),
        har_entry("GET", "https://shop.example.com/cart?price=12.99&ts=1717580000123&v=10.4.2&screen=1080x1920&n=350000000000001"),
        har_entry("GET", "https://t.example.net/i?d=" + quote(base64.b64encode(json.dumps({"phone": "+447700900123", "bssid": "f8:1a:67:2b:4c:de"}).encode()).decode()),
                  headers=[("X-Imsi", PROFILE["imsi"]), ("Cookie", "sid=abc; h=" + PROFILE["imei"][:14])]),
        har_entry("GET", f"https://m.example.org/p/{PROFILE['android_id'][::-1]}"),
    ]
    return write_har(tmp_path / "capture.har", entries)


def test_har_with_device_profile_gives_exact_observations(tmp_path, device_yaml):
    result = analyse_capture(_capture(tmp_path), device=device_yaml)
    assert result.requests_read == 8
    assert result.capture_format == "har"
    assert rows(result) == [
        (0, "body.json:$.adid", "device_or_other_ids", "advertising_id", "38400000-8cf0-11bd-b23e-10b96e40000d", "exact", "advertising_id"),
        (0, "body.json:$.lat", "precise_location", "coordinates", "48.858370,2.294481", "exact", "gps_fix"),
        (1, "query:lat", "precise_location", "coordinates", "48.8584,2.2945", "rounded", "gps_fix"),
        (2, "query:lat", "precise_location", "coordinates", "48.8583,2.2944", "truncated", "gps_fix"),
        (3, "body.form:aid", "device_or_other_ids", "android_id", sha1("9774d56d682e549c"), "sha1", "android_id"),
        (3, "body.form:em", "email", "email", sha256("jane.tester@example.org"), "sha256", "email"),
        (3, "body.form:imei_md5", "device_or_other_ids", "imei", md5("356938035643809"), "md5", "imei"),
        (3, "body.form:m", "device_or_other_ids", "mac", "11:3c:e8:60:5e:a4", "pattern", None),
        (4, "body.json:$.lat", "approximate_location", "coordinates", f"{GRID_LAT:.6f},{GRID_LON:.6f}", "pattern", None),
        (6, "cookie:h", "device_or_other_ids", "imei", "35693803564380", "truncated", "imei"),
        (6, "header:X-Imsi", "device_or_other_ids", "imsi", "310260000000000", "exact", "imsi"),
        (6, "query:d>$.bssid", "device_or_other_ids", "bssid", "f8:1a:67:2b:4c:de", "exact", "bssid"),
        (6, "query:d>$.phone", "phone_number", "phone_number", "+447700900123", "exact", "phone_number"),
        (7, "path", "device_or_other_ids", "android_id", "c945e286d65d4779", "reversed", "android_id"),
    ]
    by_id = {o.id: o for o in result.observations}
    assert sorted(by_id) == [f"obs:{n:04d}" for n in range(1, 15)]
    fix = result.observations[1]
    assert fix.precision.to_json() == {"decimals": 6, "metres": 0.11132, "area_km2": 8.15307e-09, "play_precise": True, "apple_precise": True, "coarse_grid": False}
    rounded = result.observations[2]
    assert (rounded.precision.decimals, rounded.precision.metres, rounded.precision.apple_precise) == (4, 11.132, True)
    grid = result.observations[8]
    assert grid.precision.to_json() == {"decimals": 6, "metres": 2000.0, "area_km2": 4.0, "play_precise": False, "apple_precise": False, "coarse_grid": True}
    nested = result.observations[11]
    assert nested.encodings == ("base64",) and nested.where == "query:d>$.bssid"


def test_har_without_profile_reports_patterns_only(tmp_path):
    result = analyse_capture(_capture(tmp_path))
    assert rows(result) == [
        (0, "body.json:$.adid", "device_or_other_ids", "advertising_id", "38400000-8cf0-11bd-b23e-10b96e40000d", "pattern", None),
        (0, "body.json:$.lat", "precise_location", "coordinates", "48.858370,2.294481", "pattern", None),
        (1, "query:lat", "precise_location", "coordinates", "48.8584,2.2945", "pattern", None),
        (2, "query:lat", "precise_location", "coordinates", "48.8583,2.2944", "pattern", None),
        (3, "body.form:m", "device_or_other_ids", "mac", "11:3c:e8:60:5e:a4", "pattern", None),
        (4, "body.json:$.lat", "approximate_location", "coordinates", f"{GRID_LAT:.6f},{GRID_LON:.6f}", "pattern", None),
        (6, "header:X-Imsi", "device_or_other_ids", "imsi", "310260000000000", "pattern", None),
        (6, "query:d>$.bssid", "device_or_other_ids", "bssid", "f8:1a:67:2b:4c:de", "pattern", None),
        (6, "query:d>$.phone", "phone_number", "phone_number", "+447700900123", "pattern", None),
    ]


def test_destinations_from_shared_data(tmp_path, trackers_dir):
    result = analyse_capture(
        _capture(tmp_path),
        trackers=trackers_dir / "exodus" / "trackers.json",
        whotracksme=trackers_dir / "whotracksme-2022-08" / "trackerdb.sql.gz",
        geoip_dir=trackers_dir / "ipfire-location-via-tor",
        publisher_package="com.example.app",
    )
    first = result.observations[0]
    assert (first.host, first.country, first.first_party, first.organisation, first.tracker) == ("collect.locsdk.example", "US", False, None, None)
    adjust = next(o for o in result.observations if o.host == "app.adjust.com")
    assert (adjust.organisation, adjust.tracker, adjust.first_party) == ("Adjust GmbH", "Adjust", False)
    grid = next(o for o in result.observations if o.host == "api.example.com")
    assert grid.first_party is True
    assert [k.name for k in result.knowledge] == ["exodus_trackers", "whotracksme", "ipfire_geoip"]
    assert result.enrichment_missing == ()
    assert result.to_json() == analyse_capture(
        _capture(tmp_path),
        trackers=trackers_dir / "exodus" / "trackers.json",
        whotracksme=trackers_dir / "whotracksme-2022-08" / "trackerdb.sql.gz",
        geoip_dir=trackers_dir / "ipfire-location-via-tor",
        publisher_package="com.example.app",
    ).to_json()
