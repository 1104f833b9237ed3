"""Shared fixtures for the traffic tests: the third-party data folder and a device profile."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

TRACKERS_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "trackers"
"""``../shared/data/trackers`` beside the checkout (see its README.md)."""

PROFILE = {
    "advertising_id": "38400000-8cf0-11bd-b23e-10b96e40000d",
    "android_id": "9774d56d682e549c",
    "imei": "356938035643809",
    "imsi": "310260000000000",
    "mac": "a4:5e:60:e8:3c:11",
    "bssid": "f8:1a:67:2b:4c:de",
    "email": "jane.tester@example.org",
    "phone_number": "+447700900123",
    "gps_fix": {"latitude": 48.858370, "longitude": 2.294481},
}


def md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def sha1(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.fixture(scope="session")
def trackers_dir() -> Path:
    """The shared tracker data; a missing folder is a failure, never a skip."""
    if not (TRACKERS_DIR / "README.md").is_file():
        pytest.fail(f"third-party tracker data missing: expected {TRACKERS_DIR} (../shared/data/trackers beside the checkout)")
    return TRACKERS_DIR


@pytest.fixture
def device_yaml(tmp_path: Path) -> Path:
    import yaml

    path = tmp_path / "device.yaml"
    path.write_text(yaml.safe_dump(PROFILE), encoding="utf-8")
    return path


def write_har(path: Path, entries: list[dict]) -> Path:
    """A HAR 1.2 file with the given entries (each ``{"request": ..., "serverIPAddress": ...}``)."""
    document = {"log": {"version": "1.2", "creator": {"name": "datasafety-tests", "version": "1"}, "entries": entries}}
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def har_entry(method: str, url: str, *, headers=(), body: str | None = None, mime: str = "application/json", ip: str | None = None) -> dict:
    request = {"method": method, "url": url, "httpVersion": "HTTP/1.1", "headers": [{"name": n, "value": v} for n, v in headers], "queryString": [], "cookies": [], "headersSize": -1, "bodySize": -1}
    if body is not None:
        request["postData"] = {"mimeType": mime, "text": body}
    entry = {"startedDateTime": "2024-06-05T10:00:00.000Z", "time": 1, "request": request, "response": {"status": 200}, "cache": {}, "timings": {}}
    if ip:
        entry["serverIPAddress"] = ip
    return entry


def rows(result) -> list[tuple]:
    """Observations as comparable tuples."""
    return [
        (o.request_index, o.where, o.data_type, o.kind, o.value, o.match, o.matched_profile_key)
        for o in result.observations
    ]
