"""Device profile: the test phone's real identifiers, matched exactly in traffic.

The profile is a YAML mapping, every key optional::

    advertising_id: 38400000-8cf0-11bd-b23e-10b96e40000d
    android_id: 9774d56d682e549c
    imei: "356938035643809"
    imsi: "310260000000000"
    mac: "a4:5e:60:e8:3c:11"
    bssid: "f8:1a:67:2b:4c:de"
    email: jane.tester@example.org
    phone_number: "+447700900123"
    gps_fix: {latitude: 48.858370, longitude: 2.294481}

Each identifier is searched (case-insensitively) in every field as written and in common
normal forms (MAC with ``:``, ``-`` or no separator; ad ID with or without dashes; phone
with or without ``+``), then as MD5, SHA-1 and SHA-256 hex digests of those forms (the
forms ad-tech SDKs hash: https://developers.facebook.com/docs/marketing-api/audiences/guides/custom-audiences
describes lower-cased, trimmed emails hashed with SHA-256), reversed, and truncated (IMEI
without its check digit; a hex digest cut to 16 or more characters). ``gps_fix`` is matched
by :mod:`datasafety.traffic.detect.location` exactly, rounded or truncated to the observed
number of decimals.
"""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

from datasafety.traffic.detect import Finding

PROFILE_KEYS = ("advertising_id", "android_id", "imei", "imsi", "mac", "bssid", "email", "phone_number", "gps_fix")
_KIND_TYPE = {
    "advertising_id": ("device_or_other_ids", "advertising_id"),
    "android_id": ("device_or_other_ids", "android_id"),
    "imei": ("device_or_other_ids", "imei"),
    "imsi": ("device_or_other_ids", "imsi"),
    "mac": ("device_or_other_ids", "mac"),
    "bssid": ("device_or_other_ids", "bssid"),
    "email": ("email", "email"),
    "phone_number": ("phone_number", "phone_number"),
}
_HEX_TOKEN_RE = re.compile(r"(?<![0-9a-f])[0-9a-f]{16,63}(?![0-9a-f])")
MIN_TRUNCATED_HASH = 16


class ProfileError(ValueError):
    """The device profile file cannot be read or has a bad value."""


@dataclass(frozen=True)
class DeviceProfile:
    """The test device's identifiers; every field optional."""

    identifiers: tuple[tuple[str, str], ...]
    """(profile key, value) for the identifier keys present, in :data:`PROFILE_KEYS` order."""
    gps_fix: tuple[float, float] | None = None
    """(latitude, longitude) of the mock GPS fix, in degrees."""
    variants: tuple[tuple[str, str, str], ...] = field(default=(), repr=False)
    """(lower-case needle, profile key, match) searched as substrings, longest first."""
    hash_prefixes: dict = field(default_factory=dict, repr=False, compare=False)
    """Full hex digest -> (profile key, algorithm), for truncated-digest lookups."""

    @classmethod
    def from_mapping(cls, data: object) -> "DeviceProfile":
        """Build from a parsed YAML/JSON mapping; raises :class:`ProfileError` on bad values."""
        if not isinstance(data, dict):
            raise ProfileError("device profile must be a mapping of keys to values")
        unknown = sorted({key[:40] if isinstance(key, str) else f"<{type(key).__name__}>" for key in data} - set(PROFILE_KEYS))
        if unknown:
            raise ProfileError(f"unknown device profile key(s): {', '.join(unknown[:5])}{' ...' if len(unknown) > 5 else ''}")
        identifiers = []
        for key in PROFILE_KEYS[:-1]:
            value = data.get(key)
            if value is None or value == "":
                continue
            identifiers.append((key, _identifier(key, value)))
        fix = data.get("gps_fix")
        gps_fix = None
        if fix is not None:
            if not isinstance(fix, dict) or "latitude" not in fix or "longitude" not in fix:
                raise ProfileError("gps_fix must be {latitude: <degrees>, longitude: <degrees>}")
            gps_fix = (_degrees(fix["latitude"]), _degrees(fix["longitude"]))
            if not (-90 <= gps_fix[0] <= 90 and -180 <= gps_fix[1] <= 180):
                raise ProfileError("gps_fix is out of range")
        variants, digests = _variants(identifiers)
        return cls(tuple(identifiers), gps_fix, variants, digests)

    def to_json(self) -> dict:
        out = {key: value for key, value in self.identifiers}
        if self.gps_fix:
            out["gps_fix"] = {"latitude": self.gps_fix[0], "longitude": self.gps_fix[1]}
        return out


MAX_IDENTIFIER_CHARS = 256
"""Longest identifier value accepted (an e-mail address is at most 254 characters)."""
MAX_PROFILE_BYTES = 64 * 1024
"""Largest device profile file read (a real one is a few hundred bytes)."""


def _identifier(key: str, value: object) -> str:
    """One identifier value as text: a string or number scalar, at most
    :data:`MAX_IDENTIFIER_CHARS` characters (lists, mappings and booleans are rejected, so
    YAML aliases cannot multiply into a huge value)."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ProfileError(f"{key} must be a single value (text or number), not {type(value).__name__}")
    if isinstance(value, int) and value.bit_length() > 4 * MAX_IDENTIFIER_CHARS:
        raise ProfileError(f"{key} is longer than {MAX_IDENTIFIER_CHARS} characters")
    text = str(value).strip()
    if len(text) > MAX_IDENTIFIER_CHARS:
        raise ProfileError(f"{key} is longer than {MAX_IDENTIFIER_CHARS} characters")
    return text


def _degrees(value: object) -> float:
    message = "gps_fix must be {latitude: <degrees>, longitude: <degrees>}"
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ProfileError(message)
    if isinstance(value, int) and value.bit_length() > 16:
        raise ProfileError("gps_fix is out of range")
    if isinstance(value, str) and len(value) > 64:
        raise ProfileError(message)
    try:
        degrees = float(value)
    except (ValueError, OverflowError):
        raise ProfileError(message) from None
    if not math.isfinite(degrees):
        raise ProfileError("gps_fix is out of range")
    return degrees


def load_profile(path: str | Path) -> DeviceProfile:
    """Read a device profile YAML file; raises :class:`ProfileError` with a one-line reason."""
    import yaml

    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_PROFILE_BYTES + 1)
        if len(raw) > MAX_PROFILE_BYTES:
            raise ProfileError(f"device profile {path} is larger than {MAX_PROFILE_BYTES // 1024} KiB")
        data = yaml.safe_load(raw.decode("utf-8"))
    except OSError as exc:
        raise ProfileError(f"cannot read device profile {path}: {exc.strerror or exc}") from None
    except (yaml.YAMLError, UnicodeDecodeError, ValueError) as exc:
        if isinstance(exc, ProfileError):
            raise
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if "integer string conversion" in detail:
            raise ProfileError(f"device profile {path} has a number with too many digits") from None
        raise ProfileError(f"device profile {path} is not valid YAML: {detail}") from None
    except RecursionError:
        raise ProfileError(f"device profile {path} is not valid YAML: nested too deeply") from None
    return DeviceProfile.from_mapping(data or {})


def _forms(key: str, value: str) -> list[str]:
    """Normal forms of one identifier that apps send (lower case)."""
    low = value.lower()
    if key in ("mac", "bssid"):
        plain = re.sub(r"[^0-9a-f]", "", low)
        pairs = [plain[i : i + 2] for i in range(0, len(plain), 2)]
        return [":".join(pairs), "-".join(pairs), plain]
    if key == "advertising_id":
        return [low, low.replace("-", "")]
    if key == "phone_number":
        digits = re.sub(r"\D", "", value)
        return [f"+{digits}", digits] if value.strip().startswith("+") else [digits]
    if key == "email":
        return [low.strip()]
    return [low]


def _variants(identifiers) -> tuple[tuple[tuple[str, str, str], ...], dict]:
    needles: dict[str, tuple[str, str]] = {}
    digests: dict[str, tuple[str, str]] = {}

    def put(needle: str, key: str, match: str) -> None:
        if len(needle) >= 6 and needle not in needles:
            needles[needle] = (key, match)

    for key, value in identifiers:
        forms = _forms(key, value)
        for form in forms:
            put(form, key, "exact")
        for form in forms:
            for name in ("md5", "sha1", "sha256"):
                for text in {form, form.upper()} if key in ("mac", "bssid", "advertising_id", "android_id") else {form}:
                    digest = hashlib.new(name, text.encode("utf-8")).hexdigest()
                    put(digest, key, name)
                    digests.setdefault(digest, (key, name))
        put(forms[0][::-1], key, "reversed")
        if key == "imei" and len(forms[0]) == 15:
            put(forms[0][:14], key, "truncated")
    ordered = tuple(sorted(((n, k, m) for n, (k, m) in needles.items()), key=lambda item: (-len(item[0]), item[0])))
    return ordered, digests


def detect_profile_values(fields, profile: DeviceProfile) -> list[Finding]:
    """Profile identifiers found in fields, as found (hash hex, reversed text...)."""
    findings: list[Finding] = []
    if not profile.variants:
        return findings
    for field_ in fields:
        text = field_.text
        if len(text) < 6:
            continue
        lower = text.lower()
        taken: list[tuple[int, int]] = []
        for needle, key, match in profile.variants:
            start = lower.find(needle)
            while start >= 0:
                end = start + len(needle)
                if not any(s < end and start < e for s, e in taken):
                    taken.append((start, end))
                    data_type, kind = _KIND_TYPE[key]
                    findings.append(Finding(field_.where, data_type, kind, text[start:end], field_.encodings, match, key))
                start = lower.find(needle, end)
        if profile.hash_prefixes and len(lower) >= MIN_TRUNCATED_HASH:
            for token in _HEX_TOKEN_RE.finditer(lower):
                if any(s < token.end() and token.start() < e for s, e in taken):
                    continue
                prefix = token.group(0)
                for digest, (key, _name) in profile.hash_prefixes.items():
                    if digest.startswith(prefix):
                        data_type, kind = _KIND_TYPE[key]
                        findings.append(Finding(field_.where, data_type, kind, text[token.start() : token.end()], field_.encodings, "truncated", key))
                        break
    return findings
