"""Structure and content checks for the project's own SDK catalogue.

The catalogue is data authored by the project (knowledge is data, not code). These tests pin
the schema the scanner relies on, a few facts per well-known SDK, the longest-prefix
attribution rule, and the attribution of classes from real APKs of the shared corpus.
"""

from __future__ import annotations

import json
import re
import struct
import zipfile
from collections import Counter
from pathlib import Path

import pytest

CATALOGUE_PATH = Path(__file__).parents[2] / "src/datasafety/knowledge/data/sdk_catalogue.json"
CORPUS = Path(__file__).parents[3] / "shared" / "data" / "apks"

CATEGORIES = {
    "ads", "analytics", "attribution", "crash_reporting", "social", "push", "location",
    "support", "payments", "identification", "utility", "ui", "networking", "development",
}
TRACKING_CATEGORIES = ("ads", "analytics", "attribution", "crash_reporting", "social", "push",
                       "location", "support")
ENTRY_KEYS = {"id", "name", "organisation", "organisation_country", "categories",
              "package_prefixes", "init_entry_points", "families_self_certified", "source_url"}

ID_RE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")
PREFIX_RE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-zA-Z0-9_]+)*$")
COUNTRY_RE = re.compile(r"^([A-Z]{2})?$")
# package.Class.method, with nested classes as further capitalised segments.
ENTRY_POINT_RE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*(\.[A-Z][A-Za-z0-9_]*)+\.[a-z][A-Za-z0-9_]*$")


@pytest.fixture(scope="module")
def raw_text() -> str:
    return CATALOGUE_PATH.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def catalogue(raw_text: str) -> dict:
    return json.loads(raw_text)


@pytest.fixture(scope="module")
def sdks(catalogue: dict) -> list[dict]:
    return catalogue["sdks"]


@pytest.fixture(scope="module")
def by_id(sdks: list[dict]) -> dict[str, dict]:
    return {s["id"]: s for s in sdks}


@pytest.fixture(scope="module")
def resolve(sdks: list[dict]):
    """Longest whole-segment prefix match, as the scanner does it."""
    owner = {p: s["id"] for s in sdks for p in s["package_prefixes"]}

    def _resolve(class_name: str) -> str | None:
        segments = class_name.replace("$", ".").split(".")[:-1]
        for n in range(len(segments), 0, -1):
            hit = owner.get(".".join(segments[:n]))
            if hit:
                return hit
        return None

    return _resolve


# ---------------------------------------------------------------- file format


def test_top_level(catalogue: dict) -> None:
    assert set(catalogue) == {"version", "licence", "sdks"}
    assert re.fullmatch(r"\d{4}\.\d{2}\.\d{2}", catalogue["version"])
    assert catalogue["licence"] == "Apache-2.0 (authored by the datasafety project)"


def test_pretty_printed_ascii_and_deterministic(raw_text: str, catalogue: dict) -> None:
    assert raw_text.isascii()
    assert raw_text == json.dumps(catalogue, indent=2, ensure_ascii=True) + "\n"


def test_at_least_100_entries(sdks: list[dict]) -> None:
    assert len(sdks) >= 100


def test_sorted_by_id(sdks: list[dict]) -> None:
    ids = [s["id"] for s in sdks]
    assert ids == sorted(ids)


# ---------------------------------------------------------------- entries


def test_entry_keys(sdks: list[dict]) -> None:
    for s in sdks:
        assert set(s) == ENTRY_KEYS, s.get("id")


def test_ids_unique_and_snake_case(sdks: list[dict]) -> None:
    ids = [s["id"] for s in sdks]
    assert [i for i, n in Counter(ids).items() if n > 1] == []
    assert [i for i in ids if not ID_RE.match(i)] == []


def test_names_and_organisations_present(sdks: list[dict]) -> None:
    for s in sdks:
        assert s["name"].strip(), s["id"]
        assert s["organisation"].strip(), s["id"]


def test_categories_from_closed_set(sdks: list[dict]) -> None:
    for s in sdks:
        cats = s["categories"]
        assert cats, s["id"]
        assert len(cats) == len(set(cats)), s["id"]
        assert set(cats) <= CATEGORIES, (s["id"], cats)


def test_prefixes_well_formed(sdks: list[dict]) -> None:
    for s in sdks:
        assert s["package_prefixes"], s["id"]
        for p in s["package_prefixes"]:
            assert PREFIX_RE.match(p), (s["id"], p)
            assert not p.endswith("."), (s["id"], p)


def test_prefixes_unique_across_entries(sdks: list[dict]) -> None:
    prefixes = [p for s in sdks for p in s["package_prefixes"]]
    assert [p for p, n in Counter(prefixes).items() if n > 1] == []


def test_country_codes(sdks: list[dict]) -> None:
    for s in sdks:
        assert COUNTRY_RE.match(s["organisation_country"]), (s["id"], s["organisation_country"])


def test_source_urls(sdks: list[dict]) -> None:
    for s in sdks:
        url = s["source_url"]
        assert isinstance(url, str) and url.startswith("https://"), s["id"]
        assert " " not in url, s["id"]


def test_init_entry_points(sdks: list[dict]) -> None:
    for s in sdks:
        assert isinstance(s["init_entry_points"], list), s["id"]
        for ep in s["init_entry_points"]:
            assert ENTRY_POINT_RE.match(ep), (s["id"], ep)


def test_families_flag_only_for_ads_sdks(sdks: list[dict]) -> None:
    for s in sdks:
        flag = s["families_self_certified"]
        assert flag is None or isinstance(flag, bool), s["id"]
        if "ads" not in s["categories"]:
            assert flag is None, s["id"]


def test_category_coverage(sdks: list[dict]) -> None:
    counts = Counter(c for s in sdks for c in s["categories"])
    for cat in TRACKING_CATEGORIES:
        assert counts[cat] >= 3, (cat, counts[cat])


# ---------------------------------------------------------------- pinned facts


def test_google_mobile_ads_pinned(by_id: dict) -> None:
    admob = by_id["google_mobile_ads"]
    assert admob["name"] == "Google Mobile Ads (AdMob)"
    assert admob["organisation"] == "Google LLC"
    assert admob["organisation_country"] == "US"
    assert admob["categories"] == ["ads"]
    assert admob["package_prefixes"] == [
        "com.google.android.gms.ads",
        "com.google.ads",
        "com.google.android.gms.internal.ads",
        "com.google.android.gms.gass",
    ]
    assert admob["init_entry_points"] == ["com.google.android.gms.ads.MobileAds.initialize"]
    assert admob["families_self_certified"] is True


@pytest.mark.parametrize(
    ("sdk_id", "prefixes", "organisation", "country", "categories"),
    [
        ("android_support_library", ["android.support"], "Google LLC", "US", ["utility"]),
        ("androidx", ["androidx"], "Google LLC", "US", ["utility"]),
        ("google_play_services", ["com.google.android.gms"], "Google LLC", "US", ["utility"]),
        ("firebase", ["com.google.firebase"], "Google LLC", "US", ["utility"]),
        ("fabric_crashlytics", ["com.crashlytics", "io.fabric.sdk"], "Google LLC", "US", ["crash_reporting"]),
        ("facebook_sdk", ["com.facebook"], "Meta Platforms, Inc.", "US", ["social"]),
        ("facebook_audience_network", ["com.facebook.ads", "com.facebook.audiencenetwork"],
         "Meta Platforms, Inc.", "US", ["ads"]),
        ("acra", ["org.acra", "ch.acra.acra"], "ACRA project", "", ["crash_reporting"]),
        ("kotlin_stdlib", ["kotlin"], "JetBrains s.r.o.", "CZ", ["utility"]),
        ("okhttp", ["okhttp3", "com.squareup.okhttp"], "Block, Inc. (Square)", "US", ["networking"]),
        ("appsflyer", ["com.appsflyer"], "AppsFlyer Ltd.", "IL", ["attribution"]),
        ("adjust", ["com.adjust.sdk"], "Adjust GmbH", "DE", ["attribution"]),
    ],
)
def test_pinned_entries(by_id: dict, sdk_id, prefixes, organisation, country, categories) -> None:
    s = by_id[sdk_id]
    assert s["package_prefixes"] == prefixes
    assert s["organisation"] == organisation
    assert s["organisation_country"] == country
    assert s["categories"] == categories


@pytest.mark.parametrize(
    ("sdk_id", "certified"),
    [
        ("google_mobile_ads", True), ("google_ima", True), ("unity_ads", True),
        ("ironsource", True), ("chartboost", True), ("vungle", True), ("inmobi", True),
        ("superawesome", True), ("kidoz", True), ("adcolony", True), ("hyprmx", True),
        ("applovin", False), ("facebook_audience_network", False),
        ("firebase_analytics", None), ("androidx", None),
    ],
)
def test_families_self_certified_pinned(by_id: dict, sdk_id: str, certified) -> None:
    assert by_id[sdk_id]["families_self_certified"] is certified


# ---------------------------------------------------------------- attribution rule


@pytest.mark.parametrize(
    ("class_name", "expected"),
    [
        ("com.google.android.gms.ads.AdView", "google_mobile_ads"),
        ("com.google.android.gms.ads.RequestConfiguration$Builder", "google_mobile_ads"),
        ("com.google.ads.mediation.admob.AdMobAdapter", "google_mobile_ads"),
        ("com.google.ads.interactivemedia.v3.api.ImaSdkFactory", "google_ima"),
        ("com.google.android.gms.ads.identifier.AdvertisingIdClient", "google_advertising_id"),
        ("com.google.android.gms.location.LocationServices", "google_play_services_location"),
        ("com.google.android.gms.internal.location.zzz", "google_play_services_location"),
        ("com.google.android.gms.maps.GoogleMap", "google_maps"),
        ("com.google.android.gms.analytics.Tracker", "google_analytics"),
        ("com.google.android.gms.measurement.AppMeasurement", "firebase_analytics"),
        ("com.google.android.gms.common.api.GoogleApiClient", "google_play_services"),
        ("com.google.android.gms.internal.zzabc", "google_play_services"),
        ("com.google.firebase.crashlytics.FirebaseCrashlytics", "firebase_crashlytics"),
        ("com.google.firebase.messaging.FirebaseMessaging", "firebase_messaging"),
        ("com.google.firebase.FirebaseApp", "firebase"),
        ("io.fabric.sdk.android.Fabric", "fabric_crashlytics"),
        ("com.crashlytics.android.core.CrashlyticsCore", "fabric_crashlytics"),
        ("com.crashlytics.android.answers.Answers", "fabric_answers"),
        ("com.facebook.FacebookSdk", "facebook_sdk"),
        ("com.facebook.ads.AdView", "facebook_audience_network"),
        ("com.facebook.appevents.AppEventsLogger", "facebook_app_events"),
        ("com.facebook.login.LoginManager", "facebook_login"),
        ("org.acra.ACRA", "acra"),
        ("android.support.v4.app.Fragment", "android_support_library"),
        ("androidx.core.app.ActivityCompat", "androidx"),
        ("android.arch.lifecycle.LiveData", "android_architecture_components"),
        ("kotlin.jvm.internal.Intrinsics", "kotlin_stdlib"),
        ("kotlinx.coroutines.Job", "kotlinx_coroutines"),
        ("okhttp3.OkHttpClient", "okhttp"),
        ("retrofit2.Retrofit", "retrofit"),
        ("com.google.gson.Gson", "gson"),
        ("com.bumptech.glide.Glide", "glide"),
        ("com.squareup.picasso.Picasso", "picasso"),
        ("com.example.app.MainActivity", None),
        ("com.facebookx.Foo", None),
        ("androidxyz.Foo", None),
    ],
)
def test_longest_prefix_attribution(resolve, class_name: str, expected) -> None:
    assert resolve(class_name) == expected


def test_specific_prefixes_are_nested_in_their_catch_alls(sdks: list[dict]) -> None:
    """Every Play services / Firebase / Facebook sub-SDK sits under its catch-all prefix."""
    catch_alls = {"google_play_services": "com.google.android.gms", "firebase": "com.google.firebase",
                  "facebook_sdk": "com.facebook"}
    owner = {p: s["id"] for s in sdks for p in s["package_prefixes"]}
    for sdk_id, root in catch_alls.items():
        assert owner[root] == sdk_id
        nested = [p for p in owner if p.startswith(root + ".")]
        assert len(nested) >= 3, sdk_id


# ---------------------------------------------------------------- real APKs


def _dex_class_names(dex: bytes) -> list[str]:
    """Dotted names of the classes defined in one DEX file (string, type and class_def tables)."""
    if dex[:3] != b"dex":
        return []
    string_ids_off, type_ids_size, type_ids_off = struct.unpack_from("<III", dex, 60)
    class_defs_size, class_defs_off = struct.unpack_from("<II", dex, 96)
    del type_ids_size
    names = []
    for k in range(class_defs_size):
        type_idx = struct.unpack_from("<I", dex, class_defs_off + 32 * k)[0]
        string_idx = struct.unpack_from("<I", dex, type_ids_off + 4 * type_idx)[0]
        off = struct.unpack_from("<I", dex, string_ids_off + 4 * string_idx)[0]
        while dex[off] & 0x80:  # skip the uleb128 length
            off += 1
        end = dex.index(b"\0", off + 1)
        descriptor = dex[off + 1:end].decode("utf-8", "replace")
        names.append(descriptor[1:-1].replace("/", "."))
    return names


def _apk_sdks(path: Path, resolve) -> Counter:
    found: Counter = Counter()
    with zipfile.ZipFile(path) as zf:
        for name in zf.namelist():
            if re.fullmatch(r"classes\d*\.dex", name):
                for cls in _dex_class_names(zf.read(name)):
                    sdk = resolve(cls)
                    if sdk:
                        found[sdk] += 1
    return found


@pytest.mark.parametrize(
    ("apk", "present", "absent"),
    [
        ("exodus-core/instapaper.apk",
         {"fabric_crashlytics", "fabric_answers", "facebook_sdk", "facebook_app_events",
          "facebook_login", "firebase_analytics", "google_advertising_id", "okhttp", "retrofit",
          "glide", "gson", "rxjava", "android_support_library", "kotlin_stdlib"},
         {"google_mobile_ads", "facebook_audience_network"}),
        ("exodus-core/blooddonation.apk",
         {"google_mobile_ads", "google_advertising_id", "osmdroid", "android_support_library"},
         {"facebook_sdk", "fabric_crashlytics"}),
        ("quark-apk-samples/InsecureBankv2.apk",
         {"google_mobile_ads", "google_analytics", "google_tag_manager", "google_maps",
          "google_play_services_location", "google_play_services"},
         set()),
        ("themis/ActivityDiary-1.1.8-debug-#118.apk", {"acra", "picasso"}, set()),
        ("npm-io.appium.settings/settings_apk-debug.apk",
         {"google_play_services_location", "google_play_services", "androidx", "kotlin_stdlib",
          "kotlinx_coroutines"},
         {"google_mobile_ads"}),
    ],
)
def test_corpus_apks(resolve, apk: str, present: set, absent: set) -> None:
    path = CORPUS / apk
    if not path.is_file():
        pytest.fail(f"corpus APK missing: {path} (clone with ../shared beside the project)", pytrace=False)
    found = _apk_sdks(path, resolve)
    assert present <= set(found), sorted(present - set(found))
    assert not (absent & set(found)), sorted(absent & set(found))
