"""Device identifiers by format (domain-rules.md §2.2, [S13]).

- Advertising ID (AAID): a UUID, 8-4-4-4-12 hex digits, under an advertising-ID key
  (``gaid``, ``adid``, ``advertising_id``, ``ifa``...). A bare UUID is not reported: request,
  session and event ids share the format. The opt-out value (all zeros) is not an identifier.
- ANDROID_ID: 64-bit value as up to 16 hex digits, under an ``android_id`` key (or a
  ``device_id`` key with that shape).
- Other device / installation ids (``device_id``, ``installation_id``, ``udid``, Firebase
  ``fid``): Play counts them as "Device or other IDs" ([S1]).
- IMEI: 15 digits whose last is the Luhn check digit (3GPP TS 23.003 §6.2.1), under an
  IMEI key, or bare when the first two digits are a GSMA reporting-body code seen in
  practice (01, 35, 86, 99 ...).
- IMSI: 14–15 digits starting with a mobile country code (2xx–7xx), under an IMSI key only.
- MAC / BSSID: six hex octets separated by ``:`` or ``-``; ``bssid`` keys make it a BSSID.
  Placeholders (all zeros, broadcast, Android's ``02:00:00:00:00:00``) are ignored.
"""

from __future__ import annotations

import re

from datasafety.traffic.detect import Finding, keys

UUID_RE = re.compile(r"(?<![0-9A-Fa-f-])[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}(?![0-9A-Fa-f-])")
_ANDROID_ID_RE = re.compile(r"[0-9a-fA-F]{14,16}")
_DEVICE_ID_RE = re.compile(r"[0-9A-Za-z_-]{12,64}")
_IMEI_RE = re.compile(r"(?<![\d.])\d{15}(?![\d.])")
_IMSI_RE = re.compile(r"[2-7]\d{13,14}")
_MAC_RE = re.compile(r"(?<![0-9A-Fa-f:-])[0-9A-Fa-f]{2}([:-])(?:[0-9A-Fa-f]{2}\1){4}[0-9A-Fa-f]{2}(?![0-9A-Fa-f:-])")
_MAC_PLAIN_RE = re.compile(r"[0-9A-Fa-f]{12}")
IMEI_REPORTING_BODIES = frozenset({"01", "30", "33", "35", "44", "45", "49", "50", "51", "52", "53", "54", "86", "91", "98", "99"})
"""First two IMEI digits (GSMA reporting body) accepted for a bare 15-digit number."""
_PLACEHOLDER_MACS = frozenset({"000000000000", "ffffffffffff", "020000000000"})


def luhn_valid(digits: str) -> bool:
    """Luhn (ISO/IEC 7812-1 Annex B) check over a string of digits."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if position % 2:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def _is_zero_uuid(text: str) -> bool:
    return set(text.replace("-", "")) == {"0"}


def detect_identifiers(fields) -> list[Finding]:
    """Device identifiers in one request's fields."""
    findings: list[Finding] = []
    for field in fields:
        text = field.text
        if len(text) < 12:
            continue
        hint = keys.identifier_hint(field.key)
        stripped = text.strip()
        if hint == "advertising_id":
            for match in UUID_RE.finditer(text):
                if not _is_zero_uuid(match.group(0)):
                    findings.append(Finding(field.where, "device_or_other_ids", "advertising_id", match.group(0), field.encodings))
        elif hint in ("android_id", "device_id"):
            if hint == "android_id" and _ANDROID_ID_RE.fullmatch(stripped):
                findings.append(Finding(field.where, "device_or_other_ids", "android_id", stripped, field.encodings))
            elif hint == "device_id" and _ANDROID_ID_RE.fullmatch(stripped) and len(stripped) == 16:
                findings.append(Finding(field.where, "device_or_other_ids", "android_id", stripped, field.encodings))
            elif _DEVICE_ID_RE.fullmatch(stripped) and not _is_zero_uuid(stripped) and any(c.isdigit() for c in stripped) and not stripped.isdigit():
                findings.append(Finding(field.where, "device_or_other_ids", "device_id", stripped, field.encodings))
        elif hint == "imsi":
            if _IMSI_RE.fullmatch(stripped):
                findings.append(Finding(field.where, "device_or_other_ids", "imsi", stripped, field.encodings))
        elif hint in ("mac", "bssid") and _MAC_PLAIN_RE.fullmatch(stripped) and stripped.lower() not in _PLACEHOLDER_MACS:
            findings.append(Finding(field.where, "device_or_other_ids", hint, stripped, field.encodings))
        if hint != "imsi" and len(text) >= 15:
            for match in _IMEI_RE.finditer(text):
                digits = match.group(0)
                if luhn_valid(digits) and (hint == "imei" or digits[:2] in IMEI_REPORTING_BODIES):
                    findings.append(Finding(field.where, "device_or_other_ids", "imei", digits, field.encodings))
        if len(text) >= 17 and ("-" in text or ":" in text):
            for match in _MAC_RE.finditer(text):
                value = match.group(0)
                plain = value.replace(":", "").replace("-", "").lower()
                if plain in _PLACEHOLDER_MACS:
                    continue
                kind = "bssid" if hint == "bssid" else "mac"
                findings.append(Finding(field.where, "device_or_other_ids", kind, value, field.encodings))
    return findings
