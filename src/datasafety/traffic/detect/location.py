"""Coordinates: latitude/longitude pairs under key names, and bare numeric pairs.

Recognised shapes:

- sibling values whose keys name the axes (``lat``/``lng``, ``latitude``/``longitude``,
  ``deviceLat``, ``X-Latitude``, ``latitudeE7`` scaled by 10^7), in one JSON object, one
  query string, form, XML element or protobuf message;
- one value holding both numbers (``ll=48.8583,2.2945``, ``[48.8583, 2.2945]``, two adjacent
  protobuf doubles), under a location key (``ll``, ``location``, ``coords``...) or, without
  such a key, when both numbers have at least :data:`BARE_MIN_DECIMALS` decimals.

Guards against look-alikes: values must be in range (|lat| <= 90, |lon| <= 180), (0, 0)
("null island") is ignored, each number needs a decimal point (integers are counters, sizes,
years), and a pair inside a longer list of numbers (sensor triples, bounding boxes) is not a
bare pair.
"""

from __future__ import annotations

import re
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal, InvalidOperation

from datasafety.traffic.detect import Finding, keys
from datasafety.traffic.detect.precision import precision_of

BARE_MIN_DECIMALS = 3
"""A pair with no location key needs this many decimals on both numbers."""

_NUMBER_RE = re.compile(r"[+-]?\d{1,3}\.(\d{1,15})")
_SCALED_RE = re.compile(r"[+-]?\d{1,10}")
_PAIR_RE = re.compile(
    r"(?<![\w.,+\-])([+-]?\d{1,3}\.(\d{1,15}))\s*(?:,|;|\||\s)\s*([+-]?\d{1,3}\.(\d{1,15}))(?![\w.]|\s*[,;|]\s*[+-]?\d)"
)


def parse_axis(text: str, key: str | None) -> tuple[float, int, str] | None:
    """``(value, decimals, text)`` for one coordinate value, honouring ``E6``/``E7`` keys."""
    text = text.strip()
    power = keys.scale_suffix(key)
    if power:
        if not _SCALED_RE.fullmatch(text):
            return None
        return int(text) / 10**power, power, text
    match = _NUMBER_RE.fullmatch(text)
    if not match:
        return None
    return float(text), len(match.group(1)), text


def _valid(lat: float, lon: float) -> bool:
    return -90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0 and not (lat == 0.0 and lon == 0.0)


def _profile_match(lat_text: str, lon_text: str, decimals: int, profile) -> tuple[str, str] | None:
    """How an observed coordinate matches the profile's ``gps_fix``: ``(match, "gps_fix")``."""
    fix = getattr(profile, "gps_fix", None) if profile is not None else None
    if fix is None:
        return None
    try:
        observed = (Decimal(lat_text), Decimal(lon_text))
        truth = (Decimal(repr(fix[0])), Decimal(repr(fix[1])))
    except InvalidOperation:
        return None
    if observed[0] == truth[0] and observed[1] == truth[1]:
        return "exact", "gps_fix"
    truth_decimals = max(-truth[0].as_tuple().exponent, -truth[1].as_tuple().exponent, 0)
    if decimals >= truth_decimals or decimals < 1:
        return None
    quantum = Decimal(1).scaleb(-decimals)
    for mode, label in ((ROUND_HALF_UP, "rounded"), (ROUND_HALF_EVEN, "rounded"), (ROUND_DOWN, "truncated")):
        if all(truth[i].quantize(quantum, rounding=mode) == observed[i].quantize(quantum) for i in (0, 1)):
            return label, "gps_fix"
    return None


def _finding(where, lat, lon, lat_text, lon_text, decimals, encodings, profile) -> Finding | None:
    if not _valid(lat, lon):
        return None
    precision = precision_of(lat, lon, decimals)
    data_type = "precise_location" if precision.play_precise else "approximate_location"
    matched = _profile_match(lat_text, lon_text, decimals, profile)
    match, profile_key = matched if matched else ("pattern", None)
    return Finding(where, data_type, "coordinates", f"{lat_text},{lon_text}", encodings, match, profile_key, precision)


def detect_locations(fields, profile=None) -> list[Finding]:
    """Coordinates in one request's fields (see the module docstring for shapes)."""
    findings: list[Finding] = []
    by_group: dict[int, tuple[list, list]] = {}
    paired: set[int] = set()
    for position, field in enumerate(fields):
        if field.pair:
            continue
        axis = keys.axis(field.key)
        if axis is None:
            continue
        parsed = parse_axis(field.text, field.key)
        if parsed is None:
            continue
        lats, lons = by_group.setdefault(field.group, ([], []))
        (lats if axis == "lat" else lons).append((position, field, parsed))
    for lats, lons in by_group.values():
        for (lat_pos, lat_field, lat_parsed), (lon_pos, lon_field, lon_parsed) in zip(lats, lons):
            lat, lat_decimals, lat_text = lat_parsed
            lon, lon_decimals, lon_text = lon_parsed
            if keys.scale_suffix(lat_field.key):
                lat_text = repr(lat)
            if keys.scale_suffix(lon_field.key):
                lon_text = repr(lon)
            finding = _finding(lat_field.where, lat, lon, lat_text, lon_text, min(lat_decimals, lon_decimals), lat_field.encodings, profile)
            if finding:
                findings.append(finding)
                paired.update((lat_pos, lon_pos))
    for position, field in enumerate(fields):
        if position in paired or len(field.text) < 7:
            continue
        keyed = field.pair or keys.is_location_key(field.key)
        for match in _PAIR_RE.finditer(field.text):
            first_text, first_dec, second_text, second_dec = match.group(1), len(match.group(2)), match.group(3), len(match.group(4))
            if not keyed and (first_dec < BARE_MIN_DECIMALS or second_dec < BARE_MIN_DECIMALS):
                continue
            if not keyed and match.group(0) != field.text.strip() and not _free_text_ok(field.text, match):
                continue
            first, second = float(first_text), float(second_text)
            lat_first = not keys.lon_first(field.key)
            if abs(first) > 90.0 >= abs(second):
                lat_first = False
            elif abs(second) > 90.0 >= abs(first):
                lat_first = True
            if lat_first:
                finding = _finding(field.where, first, second, first_text, second_text, min(first_dec, second_dec), field.encodings, profile)
            else:
                finding = _finding(field.where, second, first, second_text, first_text, min(first_dec, second_dec), field.encodings, profile)
            if finding:
                findings.append(finding)
    return findings


_CONTEXT_RE = re.compile(r"(lat|lon|lng|loc|geo|gps|coord|position|point)", re.IGNORECASE)


def _free_text_ok(text: str, match: re.Match) -> bool:
    """A bare pair inside longer text needs a location word within 32 characters before it."""
    return bool(_CONTEXT_RE.search(text[max(0, match.start() - 32) : match.start()]))
