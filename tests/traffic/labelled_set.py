"""A labelled set of app requests for measuring the detectors (issue #5, "Measured").

Built in code, deterministically (fixed seed). Payload shapes follow what mobile SDKs send:
attribution form posts (``gps_adid``, ``android_id``), OpenRTB 2.5 bid requests (``device.ifa``,
``device.geo.lat``), location-SDK batches (gzip JSON), weather and map queries (``lat``/``lon``,
``ll``), GeoJSON points ([lon, lat]), ``latitudeE7`` integers, protobuf with doubles, XML,
multipart, base64/hex/URL-encoded nested payloads, brotli and zstd bodies, Wi-Fi scan lists
(BSSID), and Android's 2 km coarse grid.

Negatives look like PII and are not: prices, unix timestamps, version strings, screen sizes,
counters, request UUIDs, zeroed ad IDs, order numbers failing Luhn, sensor triples,
placeholder MACs, asset names with ``@``, null-island coordinates, integer "coordinates".

Each :class:`Labelled` request carries the set of ``(data_type, value)`` a perfect detector
reports, with values exactly as they appear in the request after decoding.
"""

from __future__ import annotations

import base64
import gzip
import json
import math
import random
import struct
import uuid
from dataclasses import dataclass
from urllib.parse import quote, urlencode

import brotli
import zstandard

from datasafety.traffic.model import CapturedRequest

SEED = 20240605


@dataclass(frozen=True)
class Labelled:
    request: CapturedRequest
    expected: frozenset[tuple[str, str]]
    """``(data_type, value)`` pairs; values compared case-insensitively."""
    shape: str
    """Template name, for reading failures."""


def _luhn_complete(digits14: str) -> str:
    total = 0
    for position, char in enumerate(reversed(digits14)):
        value = int(char)
        if position % 2 == 0:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return digits14 + str((10 - total % 10) % 10)


def _luhn_invalid(digits14: str) -> str:
    good = _luhn_complete(digits14)
    return good[:-1] + str((int(good[-1]) + 3) % 10)


def snap_to_coarse_grid(latitude: float, longitude: float, grid_m: float = 2000.0) -> tuple[float, float]:
    """AOSP LocationFudger's snapping step (without the random offset)."""
    lat_step = grid_m / 111_000.0
    latitude = round(latitude / lat_step) * lat_step
    lon_step = grid_m / 111_000.0 / math.cos(math.radians(latitude))
    longitude = round(longitude / lon_step) * lon_step
    return latitude, longitude


class _Gen:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def android_id(self) -> str:
        return f"{self.rng.getrandbits(64):016x}"

    def imei(self) -> str:
        return _luhn_complete(self.rng.choice(["35", "86", "01", "99"]) + "".join(str(self.rng.randrange(10)) for _ in range(12)))

    def imsi(self) -> str:
        return self.rng.choice(["310260", "208150", "262010", "234300"]) + "".join(str(self.rng.randrange(10)) for _ in range(9))

    def mac(self, sep: str = ":") -> str:
        octets = [self.rng.randrange(256) for _ in range(6)]
        octets[0] &= 0xFC
        if octets == [2, 0, 0, 0, 0, 0]:
            octets[5] = 1
        return sep.join(f"{o:02x}" for o in octets)

    def email(self) -> str:
        first = self.rng.choice(["jane", "li.wei", "omar", "anna-maria", "k.tanaka", "sven"])
        domain = self.rng.choice(["example.org", "mail.example.com", "example.co.uk", "test.example.net"])
        return f"{first}{self.rng.randrange(10, 999)}@{domain}"

    def phone(self) -> str:
        return self.rng.choice(["+447700900", "+3361234", "+1415555", "+4915123"]) + "".join(str(self.rng.randrange(10)) for _ in range(4))

    def coordinate(self, decimals: int) -> tuple[str, str]:
        lat = self.rng.uniform(-55.0, 65.0)
        lon = self.rng.uniform(-170.0, 170.0)
        return f"{lat:.{decimals}f}", f"{lon:.{decimals}f}"

    def coarse(self) -> tuple[str, str]:
        lat, lon = snap_to_coarse_grid(self.rng.uniform(-55.0, 65.0), self.rng.uniform(-170.0, 170.0))
        return f"{lat:.6f}", f"{lon:.6f}"


def _location_type(decimals: int) -> str:
    # Play: precise when the cell is under 3 km²; 2+ decimals are (1.24 km² at most).
    return "precise_location" if decimals >= 2 else "approximate_location"


def _req(index: int, method: str, url: str, headers: list[tuple[str, str]] | None = None, body: bytes = b"") -> CapturedRequest:
    host = url.split("/")[2].split(":")[0]
    return CapturedRequest(index=index, method=method, url=url, host=host, headers=tuple(headers or []), body=body, server_ip=None)


def _protobuf_double(field: int, value: float) -> bytes:
    return bytes([(field << 3) | 1]) + struct.pack("<d", value)


def _protobuf_string(field: int, value: str) -> bytes:
    raw = value.encode()
    return bytes([(field << 3) | 2, len(raw)]) + raw


def build_labelled_set(seed: int = SEED) -> list[Labelled]:
    """At least 200 labelled requests, at least 50 of them negatives."""
    g = _Gen(seed)
    items: list[Labelled] = []

    def add(shape: str, method: str, url: str, expected: set, headers=None, body: bytes = b"") -> None:
        items.append(Labelled(_req(len(items), method, url, headers, body), frozenset(expected), shape))

    ua = "Dalvik/2.1.0 (Linux; U; Android 13; Pixel 7 Build/TQ3A.230901.001)"
    for _ in range(12):
        aaid, aid = g.uuid(), g.android_id()
        form = urlencode({"gps_adid": aaid, "android_id": aid, "app_token": "abc123xyz", "created_at": "2024-06-05T10:11:12.345Z+0200", "os_version": "13", "screen_size": "normal"})
        add("attribution_form", "POST", "https://app.adjust.example/session", {("device_or_other_ids", aaid), ("device_or_other_ids", aid)},
            [("User-Agent", ua), ("Content-Type", "application/x-www-form-urlencoded")], form.encode())
    for d in (2, 3, 4, 5, 6, 6, 5, 4, 3, 6, 5, 4):
        lat, lon = g.coordinate(d)
        ifa = g.uuid()
        bid = '{"id":"%s","imp":[{"id":"1","banner":{"w":320,"h":50},"bidfloor":0.45}],"device":{"ifa":"%s","geo":{"lat":%s,"lon":%s,"type":1},"w":1080,"h":2400,"os":"Android","osv":"13.0.1"},"app":{"bundle":"com.example.game","ver":"10.4.2"}}' % (g.uuid(), ifa, lat, lon)
        add("openrtb", "POST", "https://bid.adexchange.example/openrtb2", {("device_or_other_ids", ifa), (_location_type(d), f"{lat},{lon}")},
            [("Content-Type", "application/json"), ("Content-Encoding", "gzip")], gzip.compress(bid.encode(), mtime=0))
    for d in (1, 2, 2, 3, 4, 1, 2, 3):
        lat, lon = g.coordinate(d)
        add("weather_query", "GET", f"https://api.weather.example/data/2.5/weather?lat={lat}&lon={lon}&units=metric&appid=0f3c9a1b2d", {(_location_type(d), f"{lat},{lon}")}, [("User-Agent", ua)])
    for d in (3, 4, 5, 6, 4, 5):
        lat, lon = g.coordinate(d)
        add("ll_pair", "GET", f"https://maps.example.com/v1/search?q=coffee&ll={lat},{lon}&radius=500&limit=20", {(_location_type(d), f"{lat},{lon}")})
    for _ in range(10):
        points = [g.coordinate(g.rng.choice([5, 6, 7])) for _ in range(2)]
        body = {"device": {"model": "Pixel 7", "os": "13"}, "locations": [
            {"latitude": float(p[0]), "longitude": float(p[1]), "accuracy": 12.5, "speed": 1.25, "timestamp": 1717580000123 + i} for i, p in enumerate(points)]}
        text = json.dumps(body)
        expected = set()
        for p in points:
            lat_text, lon_text = repr(float(p[0])), repr(float(p[1]))
            decimals = min(len(lat_text.split(".")[1]), len(lon_text.split(".")[1]))
            expected.add((_location_type(decimals), f"{lat_text},{lon_text}"))
        coding = g.rng.choice(["gzip", "br", "zstd"])
        raw = text.encode()
        packed = gzip.compress(raw, mtime=0) if coding == "gzip" else brotli.compress(raw) if coding == "br" else zstandard.ZstdCompressor().compress(raw)
        add("location_batch", "POST", "https://collect.locsdk.example/v2/batch", expected, [("Content-Type", "application/json"), ("Content-Encoding", coding)], packed)
    for _ in range(6):
        lat, lon = g.coarse()
        add("coarse_grid", "POST", "https://api.example.com/nearby", {("approximate_location", f"{lat},{lon}")}, [("Content-Type", "application/json")],
            json.dumps({"lat": lat, "lng": lon, "accuracy": 2000}).replace(f'"{lat}"', lat).replace(f'"{lon}"', lon).encode())
    for _ in range(5):
        lat, lon = g.coordinate(6)
        add("geojson", "POST", "https://geo.example.com/checkin", {("precise_location", f"{lat},{lon}")}, [("Content-Type", "application/json")],
            ('{"type":"Feature","geometry":{"type":"Point","coordinates":[%s,%s]},"properties":{"visits":3}}' % (lon, lat)).encode())
    for _ in range(5):
        lat7, lon7 = g.rng.randrange(-550000000, 650000000), g.rng.randrange(-1700000000, 1700000000)
        add("e7", "POST", "https://timeline.example.com/v1/points", {("precise_location", f"{lat7 / 1e7!r},{lon7 / 1e7!r}")}, [("Content-Type", "application/json")],
            json.dumps({"latitudeE7": lat7, "longitudeE7": lon7, "accuracy": 9}).encode())
    for _ in range(10):
        email, phone = g.email(), g.phone()
        inner = base64.b64encode(json.dumps({"email": email, "phone": phone, "plan": "pro", "price": 12.99}).encode()).decode()
        add("base64_query", "GET", f"https://t.analytics.example/i?data={quote(inner)}&v=2.1.0", {("email", email), ("phone_number", phone)})
    for _ in range(8):
        email = g.email()
        hexed = json.dumps({"user": {"mail": email, "id": 73}}).encode().hex()
        add("hex_form", "POST", "https://sync.example.com/u", {("email", email)}, [("Content-Type", "application/x-www-form-urlencoded")], f"payload={hexed}&ts=1717580000".encode())
    for _ in range(8):
        lat, lon = g.coordinate(6)
        email = g.email()
        body = _protobuf_string(1, "com.example.app") + _protobuf_double(2, float(lat)) + _protobuf_double(3, float(lon)) + _protobuf_string(4, email) + bytes([5 << 3, 0x96, 0x01])
        lat_text, lon_text = repr(float(lat)), repr(float(lon))
        decimals = min(len(lat_text.split(".")[1]), len(lon_text.split(".")[1]))
        add("protobuf", "POST", "https://events.example.com/log", {(_location_type(decimals), f"{lat_text},{lon_text}"), ("email", email)}, [("Content-Type", "application/x-protobuf")], body)
    for _ in range(8):
        imei, lat, lon = g.imei(), *g.coordinate(4)
        xml = f'<?xml version="1.0"?><report><device imei="{imei}" model="SM-G991B"/><location lat="{lat}" lon="{lon}" acc="8.0"/><app ver="3.2.1"/></report>'
        add("xml", "POST", "https://legacy.example.com/report.php", {("device_or_other_ids", imei), ("precise_location", f"{lat},{lon}")}, [("Content-Type", "text/xml")], xml.encode())
    for _ in range(8):
        email, phone = g.email(), g.phone()
        boundary = "----datasafety" + str(g.rng.randrange(10**8))
        meta = json.dumps({"contact": {"email": email, "mobile": phone}, "build": "2024.06.1"})
        body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"meta\"\r\nContent-Type: application/json\r\n\r\n{meta}\r\n"
                f"--{boundary}\r\nContent-Disposition: form-data; name=\"avatar\"; filename=\"a.png\"\r\nContent-Type: image/png\r\n\r\n\x89PNG\r\n\x1a\n\r\n--{boundary}--\r\n").encode("latin-1")
        add("multipart", "POST", "https://upload.example.com/profile", {("email", email), ("phone_number", phone)}, [("Content-Type", f"multipart/form-data; boundary={boundary}")], body)
    for _ in range(8):
        bssids = [g.mac() for _ in range(3)]
        body = json.dumps({"wifi": [{"bssid": b, "rssi": -40 - i * 7, "frequency": 2437} for i, b in enumerate(bssids)], "cell": {"mcc": 208, "mnc": 15}})
        add("wifi_scan", "POST", "https://wps.example.com/v1/geolocate", {("device_or_other_ids", b) for b in bssids}, [("Content-Type", "application/json")], body.encode())
    for _ in range(6):
        imsi, imei = g.imsi(), g.imei()
        add("telephony", "POST", "https://sdk.example.cn/dev", {("device_or_other_ids", imsi), ("device_or_other_ids", imei)}, [("Content-Type", "application/json")],
            json.dumps({"imsi": imsi, "deviceImei": imei, "carrier": "Orange F", "simState": 5}).encode())
    for _ in range(6):
        aid, email = g.android_id(), g.email()
        add("headers_cookies", "GET", "https://api.example.com/v3/feed?page=2&count=20", {("device_or_other_ids", aid), ("email", email)},
            [("X-Android-Id", aid), ("Cookie", f"session=9f8e7d6c5b4a; last_login={quote(email)}; theme=dark"), ("User-Agent", ua)])
    for _ in range(6):
        mac, phone = g.mac("-").upper(), g.phone()
        text = f"device report\nmac_address {mac}\nsupport callback requested on {phone[:3]} {phone[3:7]} {phone[7:]}\n"
        add("plain_text", "POST", "https://support.example.com/ticket", {("device_or_other_ids", mac), ("phone_number", f"{phone[:3]} {phone[3:7]} {phone[7:]}")}, [("Content-Type", "text/plain")], text.encode())
    for _ in range(6):
        lat, lon = g.coordinate(5)
        jwt_payload = base64.urlsafe_b64encode(json.dumps({"sub": "user-4821", "loc": {"lat": lat, "lng": lon}}).encode()).decode().rstrip("=")
        token = "eyJhbGciOiJIUzI1NiJ9." + jwt_payload + ".c2lnbmF0dXJlLWJ5dGVz"
        add("jwt_header", "GET", "https://api.example.com/me", {("precise_location", f"{lat},{lon}")}, [("Authorization", f"Bearer {token}")])
    for _ in range(6):
        fid = g.uuid()
        add("install_id", "POST", "https://firebaseinstallations.example.com/v1/installations", {("device_or_other_ids", fid)}, [("Content-Type", "application/json")],
            json.dumps({"fid": fid, "appId": "1:123456789:android:abcdef", "authVersion": "FIS_v2", "sdkVersion": "a:17.1.0"}).encode())
    for _ in range(6):
        lat, lon = g.coordinate(4)
        add("path_pair", "GET", f"https://tiles.example.com/nearby/{lat},{lon}/stops.json", {("precise_location", f"{lat},{lon}")})

    positives = len(items)
    # -- negatives ------------------------------------------------------------------------
    for i in range(8):
        add("neg_prices", "POST", "https://shop.example.com/cart", set(), [("Content-Type", "application/json")],
            json.dumps({"items": [{"sku": f"SKU-{1000 + i}", "price": 12.99, "qty": 2}, {"sku": "SKU-2", "price": 4.5, "qty": 1}], "total": "30.48", "tax": 2.6, "currency": "EUR", "discount": "10.00,5.00"}).encode())
    for i in range(6):
        add("neg_timestamps", "GET", f"https://api.example.com/v1/sync?since=1717580000&until=1717583600123&seq={48 + i}&offset=-3600&tz=%2B0200", set())
    for i in range(6):
        add("neg_versions", "POST", "https://update.example.com/check", set(), [("Content-Type", "application/json"), ("User-Agent", ua)],
            json.dumps({"app_version": "10.4.2", "build": "10.4.2.1187", "os_version": "13.0.1", "sdk": "21.0.0", "webview": "120.0.6099.230", "min": "48.0.1,2.3.4"}).encode())
    for i in range(6):
        add("neg_screen", "GET", f"https://ads.example.com/config?screen=1080x1920&density=2.75&dpi=420&w=1080&h=1920&scale=1.5,1.5&ratio=0.5625&i={i}", set())
    for i in range(6):
        add("neg_request_ids", "POST", "https://api.example.com/v1/events", set(), [("X-Request-Id", g.uuid()), ("Content-Type", "application/json")],
            json.dumps({"event_id": g.uuid(), "session_id": g.uuid(), "trace": g.uuid(), "count": 17, "name": "screen_view"}).encode())
    for i in range(5):
        add("neg_zero_adid", "POST", "https://app.adjust.example/event", set(), [("Content-Type", "application/x-www-form-urlencoded")],
            urlencode({"gps_adid": "00000000-0000-0000-0000-000000000000", "limit_ad_tracking": "1", "event_token": "abc123"}).encode())
    for i in range(6):
        order = _luhn_invalid("35" + "".join(str(g.rng.randrange(10)) for _ in range(12)))
        add("neg_order_numbers", "GET", f"https://shop.example.com/orders/{order}?invoice={_luhn_invalid('86' + str(10**11 + i * 7919))}", set())
    for i in range(5):
        add("neg_sensors", "POST", "https://telemetry.example.com/motion", set(), [("Content-Type", "text/plain")],
            b"accel=0.123,9.806,0.044\ngyro=0.0012,-0.0031,0.0005\nbbox=48.815,2.224,48.902,2.469\n")
    for i in range(5):
        add("neg_placeholder_mac", "POST", "https://api.example.com/device", set(), [("Content-Type", "application/json")],
            json.dumps({"mac": "02:00:00:00:00:00", "bt_mac": "00:00:00:00:00:00", "time": "12:30:45", "ipv6": "fe80::1c2b:3dff:fe4e:5f60"}).encode())
    for i in range(5):
        add("neg_assets", "GET", f"https://cdn.example.com/assets/icon@2x.png?pkg=lodash@4.17.21&ref=image@3x.webp&n={i}", set())
    for i in range(5):
        add("neg_null_island", "POST", "https://api.example.com/loc", set(), [("Content-Type", "application/json")],
            json.dumps({"lat": 0.0, "lng": 0.0, "status": "no_fix", "zoom": 14, "latitude": None}).encode())
    for i in range(5):
        add("neg_integer_coords", "GET", f"https://api.example.com/tiles?lat=48&lon=2&x=132&y={88 + i}&z=8", set())
    for i in range(5):
        add("neg_hashes", "POST", "https://api.example.com/integrity", set(), [("Content-Type", "application/json")],
            json.dumps({"sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", "md5": "098f6bcd4621d373cade4e832627b4f6", "nonce": "a1b2c3d4e5f60718"}).encode())
    for i in range(5):
        add("neg_counters", "GET", f"https://api.example.com/stats?views=1234567&likes=89012&shares=345&ms=16.667&fps=59.94&rating=4.5&pct=99.95&n={i}", set())
    for i in range(4):
        add("neg_phone_like", "POST", "https://api.example.com/metrics", set(), [("Content-Type", "application/json")],
            json.dumps({"build_number": "2024060512", "ts": 1717580000123, "offset": "+3600", "delta": "+12.5", "mobile": True, "phone_model": "Pixel 7"}).encode())
    assert len(items) >= 200 and len(items) - positives >= 50, (len(items), positives)
    return items


def score(items: list[Labelled], observed: dict[int, set[tuple[str, str]]]) -> dict[str, dict[str, float]]:
    """Per data type: tp, fp, fn, precision, recall. ``observed`` maps request index to
    the ``(data_type, value)`` pairs a detector reported (values compared case-insensitively)."""
    counts: dict[str, list[int]] = {}
    for item in items:
        truth = {(t, v.lower()) for t, v in item.expected}
        found = {(t, v.lower()) for t, v in observed.get(item.request.index, set())}
        for data_type, _ in truth | found:
            counts.setdefault(data_type, [0, 0, 0])
        for pair in found & truth:
            counts[pair[0]][0] += 1
        for pair in found - truth:
            counts[pair[0]][1] += 1
        for pair in truth - found:
            counts[pair[0]][2] += 1
    out = {}
    for data_type, (tp, fp, fn) in sorted(counts.items()):
        out[data_type] = {
            "tp": tp,
            "fp": fp,
            "fn": fn,
            "precision": tp / (tp + fp) if tp + fp else 1.0,
            "recall": tp / (tp + fn) if tp + fn else 1.0,
        }
    return out


def mismatches(items: list[Labelled], observed: dict[int, set[tuple[str, str]]]) -> list[str]:
    """Human-readable list of false positives and misses, for test failure messages."""
    lines = []
    for item in items:
        truth = {(t, v.lower()) for t, v in item.expected}
        found = {(t, v.lower()) for t, v in observed.get(item.request.index, set())}
        for pair in sorted(found - truth):
            lines.append(f"FP #{item.request.index} {item.shape}: {pair}")
        for pair in sorted(truth - found):
            lines.append(f"FN #{item.request.index} {item.shape}: {pair}")
    return lines
