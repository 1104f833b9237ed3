"""Structure and content checks for the sensitive-API catalogue and the permission map.

Both files are data authored by the project (knowledge is data, not code). These tests pin
the schema the scanner relies on, a few permission facts per target SDK, and one match
against real bytecode from the shared APK corpus.
"""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).parents[2]
DATA = REPO / "src/datasafety/knowledge/data"
CATALOGUE_PATH = DATA / "api_catalogue.json"
PERMISSIONS_PATH = DATA / "permissions.json"
SHARED_DATA = REPO.parent / "shared" / "data"
LOCATION_LEAK1 = SHARED_DATA / "apks/droidbench/Callbacks/LocationLeak1.apk"

DATA_TYPES = {
    "precise_location", "approximate_location", "wifi_scan", "cell_info", "bluetooth_scan",
    "photo_location", "carrier_country", "device_or_other_ids", "phone_number", "contacts", "calendar", "sms",
    "call_log", "accounts", "installed_apps", "clipboard", "camera", "microphone",
}
KINDS = {"invoke", "field", "string"}
ENTRY_KEYS = {"id", "kind", "class", "method", "descriptor", "requires_string", "yields",
              "source_url", "note"}
RULE_KEYS = {"target_sdk_min", "target_sdk_max", "any_of"}
URL_HOSTS = ("developer.android.com", "developers.google.com", "firebase.google.com")

ID_RE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")
IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
# Dotted Java name: lower-case package segments, a class, then `$Inner` segments.
CLASS_RE = re.compile(rf"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*\.[A-Z][A-Za-z0-9_]*(\${IDENT})*$")
MEMBER_RE = re.compile(rf"^{IDENT}$")
_DEX_TYPE = r"\[*(?:[ZBSCIJFD]|L[A-Za-z0-9_$/]+;)"
DESCRIPTOR_RE = re.compile(rf"^\((?:{_DEX_TYPE})*\)(?:V|{_DEX_TYPE})$")
PERMISSION_RE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*\.permission\.[A-Z][A-Z0-9_]*$")

FINE = "android.permission.ACCESS_FINE_LOCATION"
COARSE = "android.permission.ACCESS_COARSE_LOCATION"
PRIVILEGED = "android.permission.READ_PRIVILEGED_PHONE_STATE"

# Targets used to check that every rule list covers every SDK level without a gap.
TARGETS = range(1, 41)


def _load(path: Path) -> tuple[str, dict]:
    text = path.read_text(encoding="ascii")  # raises on non-ASCII bytes
    return text, json.loads(text)


@pytest.fixture(scope="module")
def catalogue() -> dict:
    return _load(CATALOGUE_PATH)[1]


@pytest.fixture(scope="module")
def permissions() -> dict:
    return _load(PERMISSIONS_PATH)[1]["permissions"]


@pytest.fixture(scope="module")
def by_id(catalogue) -> dict[str, dict]:
    return {entry["id"]: entry for entry in catalogue["apis"]}


def _rule_for(entry: dict, data_type: str, target: int) -> list[str]:
    """any_of of the first rule that contains ``target`` (the scanner's semantics)."""
    for yielded in entry["yields"]:
        if yielded["data_type"] != data_type:
            continue
        for rule in yielded["permission_rules"]:
            lo, hi = rule["target_sdk_min"], rule["target_sdk_max"]
            if (lo is None or lo <= target) and (hi is None or target <= hi):
                return rule["any_of"]
        raise AssertionError(f"{entry['id']}/{data_type}: no rule for target {target}")
    raise AssertionError(f"{entry['id']} does not yield {data_type}")


def _matches_invoke(catalogue: dict, cls: str, method: str, descriptor: str | None = None) -> list[str]:
    return [
        e["id"] for e in catalogue["apis"]
        if e["kind"] == "invoke" and e["class"] == cls and e["method"] == method
        and (e["descriptor"] is None or descriptor is None or e["descriptor"] == descriptor)
    ]


# ---------------------------------------------------------------------------- format


@pytest.mark.parametrize("path", [CATALOGUE_PATH, PERMISSIONS_PATH], ids=lambda p: p.name)
def test_files_are_ascii_canonical_json(path):
    text, obj = _load(path)
    assert obj["version"] == "2026.11.29"
    assert obj["licence"] == "Apache-2.0 (authored by the datasafety project)"
    assert text == json.dumps(obj, indent=2, ensure_ascii=True) + "\n", (
        f"{path.name} is not in canonical form (2-space indent, ASCII, trailing newline)")


# ---------------------------------------------------------------------------- catalogue structure


def test_ids_unique_sorted_and_well_formed(catalogue):
    ids = [e["id"] for e in catalogue["apis"]]
    assert len(ids) == len(set(ids)), "duplicate ids"
    assert ids == sorted(ids), "apis must be sorted by id"
    bad = [i for i in ids if not ID_RE.match(i)]
    assert not bad, f"ids not snake_case.dotted: {bad}"


def test_entries_have_exact_keys(catalogue):
    for e in catalogue["apis"]:
        assert set(e) == ENTRY_KEYS, (e["id"], sorted(set(e) ^ ENTRY_KEYS))


def test_kind_class_method_descriptor(catalogue):
    for e in catalogue["apis"]:
        eid = e["id"]
        assert e["kind"] in KINDS, eid
        if e["kind"] == "string":
            assert e["class"] == "", eid
            assert isinstance(e["method"], str) and e["method"] and e["method"].isascii(), eid
            assert e["descriptor"] is None, eid
        else:
            assert CLASS_RE.match(e["class"]), f"{eid}: bad class name {e['class']!r}"
            assert "/" not in e["class"] and not e["class"].startswith("L"), eid
            assert MEMBER_RE.match(e["method"]), f"{eid}: bad member name {e['method']!r}"
            if e["kind"] == "field":
                assert e["descriptor"] is None, eid
        if e["descriptor"] is not None:
            assert DESCRIPTOR_RE.match(e["descriptor"]), f"{eid}: bad descriptor {e['descriptor']!r}"


def test_descriptor_regex_itself():
    assert DESCRIPTOR_RE.match("(Ljava/lang/String;)Landroid/location/Location;")
    assert DESCRIPTOR_RE.match("(Ljava/lang/String;JFLandroid/location/LocationListener;)V")
    assert DESCRIPTOR_RE.match("([F)Z")
    assert DESCRIPTOR_RE.match("()[D")
    assert not DESCRIPTOR_RE.match("(Ljava/lang/String)V")
    assert not DESCRIPTOR_RE.match("(java.lang.String)V")
    assert not DESCRIPTOR_RE.match("()")
    assert not DESCRIPTOR_RE.match("(V)V")


def test_requires_string(catalogue):
    for e in catalogue["apis"]:
        rs = e["requires_string"]
        assert isinstance(rs, list), e["id"]
        assert all(isinstance(s, str) and s for s in rs), e["id"]
        assert len(rs) == len(set(rs)), e["id"]


def test_yields_and_rules(catalogue, permissions):
    for e in catalogue["apis"]:
        eid = e["id"]
        assert e["yields"], eid
        types = [y["data_type"] for y in e["yields"]]
        assert len(types) == len(set(types)), f"{eid}: data type listed twice"
        for y in e["yields"]:
            assert set(y) == {"data_type", "permission_rules"}, eid
            assert y["data_type"] in DATA_TYPES, f"{eid}: unknown data type {y['data_type']}"
            rules = y["permission_rules"]
            assert rules, eid
            previous_max = None
            for i, rule in enumerate(rules):
                assert set(rule) == RULE_KEYS, eid
                lo, hi = rule["target_sdk_min"], rule["target_sdk_max"]
                for bound in (lo, hi):
                    assert bound is None or (isinstance(bound, int) and not isinstance(bound, bool)), eid
                if lo is not None and hi is not None:
                    assert lo <= hi, eid
                # Rules are ordered, disjoint and contiguous, so none is dead under first-match.
                if i == 0:
                    assert lo is None, f"{eid}: first rule must start unbounded"
                else:
                    assert previous_max is not None and lo == previous_max + 1, f"{eid}: gap or overlap"
                previous_max = hi
                assert isinstance(rule["any_of"], list), eid
                assert len(rule["any_of"]) == len(set(rule["any_of"])), eid
                for perm in rule["any_of"]:
                    assert perm in permissions, f"{eid}: {perm} missing from permissions.json"
                    assert y["data_type"] in permissions[perm]["data_types"], (
                        f"{eid}: permissions.json does not say {perm} gates {y['data_type']}")
            assert previous_max is None, f"{eid}: last rule must end unbounded"
            for target in TARGETS:
                _rule_for(e, y["data_type"], target)


def test_source_urls(catalogue, permissions):
    urls = [(e["id"], e["source_url"]) for e in catalogue["apis"]]
    urls += [(name, p["source_url"]) for name, p in permissions.items()]
    for ident, url in urls:
        assert url.isascii() and " " not in url, ident
        host = url.split("/")[2] if url.startswith("https://") else ""
        assert host in URL_HOSTS, f"{ident}: source_url host {host!r} not a Google reference site"


def test_every_data_type_has_an_api(catalogue):
    covered = {y["data_type"] for e in catalogue["apis"] for y in e["yields"]}
    assert covered == DATA_TYPES, f"no API for {sorted(DATA_TYPES - covered)}"


# ---------------------------------------------------------------------------- permissions.json


def test_permission_map_structure(permissions):
    required = [
        "android.permission." + p for p in (
            "ACCESS_FINE_LOCATION", "ACCESS_COARSE_LOCATION", "ACCESS_BACKGROUND_LOCATION",
            "ACCESS_MEDIA_LOCATION", "ACCESS_WIFI_STATE", "NEARBY_WIFI_DEVICES", "BLUETOOTH",
            "BLUETOOTH_ADMIN", "BLUETOOTH_SCAN", "BLUETOOTH_CONNECT", "READ_PHONE_STATE",
            "READ_PRIVILEGED_PHONE_STATE", "READ_PHONE_NUMBERS", "READ_CONTACTS", "WRITE_CONTACTS",
            "READ_CALENDAR", "WRITE_CALENDAR", "READ_SMS", "RECEIVE_SMS", "RECEIVE_MMS", "SEND_SMS",
            "READ_CALL_LOG", "WRITE_CALL_LOG", "PROCESS_OUTGOING_CALLS", "GET_ACCOUNTS",
            "QUERY_ALL_PACKAGES", "CAMERA", "RECORD_AUDIO", "READ_EXTERNAL_STORAGE",
            "READ_MEDIA_IMAGES")
    ] + ["com.google.android.gms.permission.AD_ID"]
    missing = [p for p in required if p not in permissions]
    assert not missing, missing
    assert list(permissions) == sorted(permissions)
    for name, p in permissions.items():
        assert PERMISSION_RE.match(name), name
        assert set(p) <= {"data_types", "source_url", "note"} and {"data_types", "source_url"} <= set(p), name
        assert p["data_types"], name
        assert set(p["data_types"]) <= DATA_TYPES, name
        assert p["data_types"] == sorted(set(p["data_types"])), name
    assert set(permissions[FINE]["data_types"]) == {
        "precise_location", "approximate_location", "wifi_scan", "cell_info", "bluetooth_scan"}
    assert "precise_location" not in permissions[COARSE]["data_types"]


# ---------------------------------------------------------------------------- pinned facts


def test_location_manager_yields_both_grains(by_id):
    e = by_id["location_manager.get_last_known_location"]
    assert (e["kind"], e["class"], e["method"], e["descriptor"]) == (
        "invoke", "android.location.LocationManager", "getLastKnownLocation", None)
    assert {y["data_type"] for y in e["yields"]} == {"precise_location", "approximate_location"}
    for target in (22, 28, 29, 34):
        assert _rule_for(e, "precise_location", target) == [FINE]
        assert set(_rule_for(e, "approximate_location", target)) == {COARSE, FINE}


def test_inherently_precise_apis_yield_only_precise(by_id):
    for eid in ("geofencing_client.add_geofences", "geofencing_api.add_geofences",
                "location_manager.add_gps_status_listener", "location_manager.register_gnss_status_callback",
                "location_manager.add_nmea_listener", "location_manager.add_proximity_alert"):
        assert [y["data_type"] for y in by_id[eid]["yields"]] == ["precise_location"], eid
        assert _rule_for(by_id[eid], "precise_location", 30) == [FINE], eid


def test_wifi_scan_results_target_28_vs_29(by_id):
    e = by_id["wifi_manager.get_scan_results"]
    assert (e["class"], e["method"]) == ("android.net.wifi.WifiManager", "getScanResults")
    assert set(_rule_for(e, "wifi_scan", 28)) == {COARSE, FINE}
    assert _rule_for(e, "wifi_scan", 29) == [FINE]
    assert _rule_for(e, "wifi_scan", 34) == [FINE]
    assert set(_rule_for(by_id["wifi_info.get_bssid"], "wifi_scan", 28)) == {COARSE, FINE}
    assert _rule_for(by_id["wifi_info.get_bssid"], "wifi_scan", 29) == [FINE]


def test_cell_info_target_28_vs_29(by_id):
    e = by_id["telephony_manager.get_all_cell_info"]
    assert set(_rule_for(e, "cell_info", 28)) == {COARSE, FINE}
    assert _rule_for(e, "cell_info", 29) == [FINE]
    assert _rule_for(by_id["telephony_manager.request_cell_info_update"], "cell_info", 28) == [FINE]


def test_device_id_target_28_vs_29(by_id):
    for eid in ("telephony_manager.get_device_id", "telephony_manager.get_imei",
                "telephony_manager.get_subscriber_id", "telephony_manager.get_sim_serial_number",
                "build.get_serial"):
        assert _rule_for(by_id[eid], "device_or_other_ids", 28) == ["android.permission.READ_PHONE_STATE"], eid
        assert _rule_for(by_id[eid], "device_or_other_ids", 29) == [PRIVILEGED], eid


def test_phone_number_needs_read_phone_numbers_from_30(by_id):
    e = by_id["telephony_manager.get_line1_number"]
    assert "android.permission.READ_PHONE_STATE" in _rule_for(e, "phone_number", 29)
    at30 = _rule_for(e, "phone_number", 30)
    assert "android.permission.READ_PHONE_STATE" not in at30
    assert "android.permission.READ_PHONE_NUMBERS" in at30


def test_bluetooth_scan_rules(by_id):
    e = by_id["bluetooth_le_scanner.start_scan"]
    assert set(_rule_for(e, "bluetooth_scan", 28)) == {COARSE, FINE}
    assert _rule_for(e, "bluetooth_scan", 30) == [FINE]
    assert _rule_for(e, "bluetooth_scan", 31) == ["android.permission.BLUETOOTH_SCAN"]


def test_identifier_rules(by_id):
    aaid = by_id["advertising_id_client.get_advertising_id_info"]
    assert aaid["class"] == "com.google.android.gms.ads.identifier.AdvertisingIdClient"
    assert _rule_for(aaid, "device_or_other_ids", 32) == []
    assert _rule_for(aaid, "device_or_other_ids", 33) == ["com.google.android.gms.permission.AD_ID"]
    ssaid = by_id["settings_secure.get_string_android_id"]
    assert ssaid["class"] == "android.provider.Settings$Secure"
    assert ssaid["requires_string"] == ["android_id"]
    assert _rule_for(ssaid, "device_or_other_ids", 34) == []
    serial = by_id["build.serial"]
    assert (serial["kind"], serial["class"], serial["method"]) == ("field", "android.os.Build", "SERIAL")


def test_country_level_apis_need_no_permission(by_id):
    for m in ("get_network_country_iso", "get_sim_country_iso", "get_network_operator", "get_sim_operator"):
        e = by_id["telephony_manager." + m]
        # Country-level only: a data type of its own, so that it never makes an app
        # "capable" of approximate (city-level) location.
        assert [y["data_type"] for y in e["yields"]] == ["carrier_country"]
        assert _rule_for(e, "carrier_country", 34) == []
        assert "country-level" in e["note"]


def test_exif_getattribute_requires_gps_tags(catalogue):
    entries = [e for e in catalogue["apis"] if e["method"] == "getAttribute"]
    assert {e["class"] for e in entries} == {
        "android.media.ExifInterface", "androidx.exifinterface.media.ExifInterface",
        "android.support.media.ExifInterface"}
    for e in entries:
        assert {"GPSLatitude", "GPSLongitude"} <= set(e["requires_string"])
        assert all(s.startswith("GPS") for s in e["requires_string"])


def test_installed_apps_and_accounts_rules(by_id):
    pkgs = by_id["package_manager.get_installed_packages"]
    assert _rule_for(pkgs, "installed_apps", 29) == []
    assert _rule_for(pkgs, "installed_apps", 30) == ["android.permission.QUERY_ALL_PACKAGES"]
    acc = by_id["account_manager.get_accounts"]
    assert _rule_for(acc, "accounts", 25) == ["android.permission.GET_ACCOUNTS"]
    assert _rule_for(acc, "accounts", 26) == []


def test_required_coverage(catalogue):
    have = {(e["kind"], e["class"], e["method"]) for e in catalogue["apis"]}
    inv = lambda c, *ms: [("invoke", c, m) for m in ms]  # noqa: E731
    required = (
        inv("android.location.LocationManager", "getLastKnownLocation", "requestLocationUpdates",
            "requestSingleUpdate", "getCurrentLocation", "addProximityAlert", "addGpsStatusListener",
            "registerGnssStatusCallback", "addNmeaListener")
        + inv("com.google.android.gms.location.FusedLocationProviderClient",
              "getLastLocation", "getCurrentLocation", "requestLocationUpdates")
        + inv("com.google.android.gms.location.FusedLocationProviderApi", "getLastLocation", "requestLocationUpdates")
        + inv("com.google.android.gms.location.LocationServices", "getFusedLocationProviderClient")
        + inv("com.google.android.gms.location.GeofencingClient", "addGeofences")
        + inv("com.google.android.gms.location.GeofencingApi", "addGeofences")
        + inv("com.google.android.gms.ads.AdRequest$Builder", "setLocation")
        + inv("com.google.android.gms.ads.doubleclick.PublisherAdRequest$Builder", "setLocation")
        + inv("android.net.wifi.WifiManager", "getScanResults", "startScan", "getConnectionInfo")
        + inv("android.net.wifi.WifiInfo", "getBSSID", "getSSID", "getMacAddress")
        + inv("android.telephony.TelephonyManager", "getAllCellInfo", "getCellLocation", "requestCellInfoUpdate",
              "getNeighboringCellInfo", "listen", "getNetworkCountryIso", "getSimCountryIso",
              "getNetworkOperator", "getSimOperator", "getDeviceId", "getImei", "getMeid",
              "getSubscriberId", "getSimSerialNumber", "getLine1Number")
        + inv("android.bluetooth.BluetoothAdapter", "startDiscovery", "startLeScan", "getAddress")
        + inv("android.bluetooth.le.BluetoothLeScanner", "startScan")
        + inv("android.media.ExifInterface", "getLatLong", "getAttribute")
        + inv("androidx.exifinterface.media.ExifInterface", "getLatLong", "getAttribute")
        + inv("android.support.media.ExifInterface", "getLatLong", "getAttribute")
        + inv("android.provider.MediaStore", "setRequireOriginal")
        + inv("android.provider.Settings$Secure", "getString")
        + inv("android.provider.Settings$System", "getString")
        + inv("com.google.android.gms.ads.identifier.AdvertisingIdClient", "getAdvertisingIdInfo")
        + inv("android.os.Build", "getSerial")
        + [("field", "android.os.Build", "SERIAL")]
        + inv("java.net.NetworkInterface", "getHardwareAddress")
        + inv("com.google.firebase.installations.FirebaseInstallations", "getId")
        + inv("com.google.android.gms.appset.AppSetIdClient", "getAppSetIdInfo")
        + [("field", "android.provider.ContactsContract$" + c, "CONTENT_URI")
           for c in ("Contacts", "CommonDataKinds$Phone", "CommonDataKinds$Email", "Data", "RawContacts")]
        + [("string", "", "content://com.android.contacts"), ("string", "", "content://contacts")]
        + [("field", "android.provider.CalendarContract$" + c, "CONTENT_URI")
           for c in ("Events", "Calendars", "Instances")]
        + [("string", "", "content://com.android.calendar")]
        + [("field", "android.provider.Telephony$Sms", "CONTENT_URI"),
           ("field", "android.provider.Telephony$Sms$Inbox", "CONTENT_URI"),
           ("string", "", "content://sms"), ("string", "", "content://mms-sms")]
        + inv("android.telephony.SmsMessage", "createFromPdu", "getMessageBody", "getOriginatingAddress")
        + [("field", "android.provider.CallLog$Calls", "CONTENT_URI"), ("string", "", "content://call_log")]
        + inv("android.accounts.AccountManager", "getAccounts", "getAccountsByType", "getAccountsByTypeAndFeatures")
        + inv("android.content.pm.PackageManager", "getInstalledPackages", "getInstalledApplications",
              "queryIntentActivities")
        + inv("android.content.ClipboardManager", "getPrimaryClip", "getText")
        + inv("android.text.ClipboardManager", "getText")
        + inv("android.hardware.Camera", "open")
        + inv("android.hardware.camera2.CameraManager", "openCamera")
        + inv("android.media.MediaRecorder", "setVideoSource", "setAudioSource")
        + inv("androidx.camera.lifecycle.ProcessCameraProvider", "bindToLifecycle")
        + inv("android.media.AudioRecord", "startRecording")
        + inv("android.speech.SpeechRecognizer", "startListening")
    )
    missing = [r for r in required if r not in have]
    assert not missing, missing


def test_excluded_apis(catalogue):
    classes = {e["class"] for e in catalogue["apis"]}
    # Location getters read a fix already obtained; SmsManager is a sink; SettingsClient yields nothing.
    assert "android.location.Location" not in classes
    assert "android.telephony.SmsManager" not in classes
    assert "com.google.android.gms.location.SettingsClient" not in classes


# ---------------------------------------------------------------------------- real bytecode


def test_location_leak1_bytecode_matches_catalogue(catalogue):
    if not SHARED_DATA.is_dir():
        pytest.fail(f"shared test data missing: {SHARED_DATA} (the read-only APK corpus is required)")
    if not LOCATION_LEAK1.is_file():
        pytest.fail(f"DroidBench APK missing: {LOCATION_LEAK1}")

    from loguru import logger

    logger.remove()
    from androguard.core.dex import DEX

    with zipfile.ZipFile(LOCATION_LEAK1) as apk:
        dex = DEX(apk.read("classes.dex"))

    refs = set()
    for item in dex.get_methods_id_item().method_id_items:
        refs.add((item.get_class_name(), item.get_name(), item.get_real_descriptor()))

    wanted = [r for r in refs if r[0] == "Landroid/location/LocationManager;" and r[1] == "requestLocationUpdates"]
    assert wanted, "Landroid/location/LocationManager;->requestLocationUpdates not referenced by LocationLeak1"

    matched = set()
    for type_desc, name, descriptor in refs:
        dotted = type_desc[1:-1].replace("/", ".")
        matched.update(_matches_invoke(catalogue, dotted, name, descriptor))
    assert "location_manager.request_location_updates" in matched
    # The Location getters in the same app are deliberately not call sites.
    assert ("Landroid/location/Location;", "getLatitude", "()D") in refs
    assert not _matches_invoke(catalogue, "android.location.Location", "getLatitude")
