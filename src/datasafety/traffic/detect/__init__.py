"""Detectors: find personal data in the fields of one request.

One module per concern: :mod:`.location` (coordinates and their precision),
:mod:`.identifiers` (advertising ID, ANDROID_ID, IMEI, IMSI, MAC, BSSID), :mod:`.contact`
(email addresses, phone numbers), :mod:`.profile` (exact matches of a device profile's
values, also hashed, reversed, rounded or truncated). :func:`detect` runs them all.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from datasafety.traffic.model import Precision


@dataclass(frozen=True, slots=True)
class Finding:
    """One detected value, before destinations are attached."""

    where: str
    data_type: str
    kind: str
    value: str
    encodings: tuple[str, ...]
    match: str = "pattern"
    profile_key: str | None = None
    precision: Precision | None = None


_MATCH_RANK = {"exact": 0, "md5": 1, "sha1": 1, "sha256": 1, "reversed": 2, "rounded": 3, "truncated": 4, "pattern": 9}


def detect(fields: Sequence, profile=None) -> list[Finding]:
    """All findings in one request's fields, one per (where, data_type, value).

    When a device-profile match and a pattern match find the same value at the same place,
    the profile match is kept (it is the stronger evidence).
    """
    from datasafety.traffic.detect import contact, identifiers, location
    from datasafety.traffic.detect import profile as profile_matching

    found: list[Finding] = []
    found += location.detect_locations(fields, profile)
    found += identifiers.detect_identifiers(fields)
    found += contact.detect_contacts(fields)
    if profile is not None:
        found += profile_matching.detect_profile_values(fields, profile)
    best: dict[tuple[str, str, str], Finding] = {}
    for finding in found:
        key = (finding.where, finding.data_type if finding.kind != "coordinates" else "location", finding.value.lower())
        current = best.get(key)
        if current is None or _MATCH_RANK[finding.match] < _MATCH_RANK[current.match]:
            best[key] = finding
    return list(best.values())
