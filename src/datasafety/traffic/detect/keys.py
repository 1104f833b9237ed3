"""Key-name hints: what the name a value is stored under says about the value.

Names are split into lower-case tokens at camelCase humps, digits and separators, so
``deviceLatitude``, ``device_latitude`` and ``X-Device-Latitude`` all end in ``latitude``.
"""

from __future__ import annotations

import re
from functools import lru_cache

_TOKEN_RE = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")

LATITUDE_TOKENS = frozenset({"lat", "latitude", "lati"})
LONGITUDE_TOKENS = frozenset({"lon", "lng", "long", "longitude", "longi"})
LOCATION_TOKENS = frozenset(
    {"ll", "latlng", "latlon", "lnglat", "lonlat", "loc", "location", "geo", "geoloc", "geolocation",
     "coords", "coord", "coordinate", "coordinates", "position", "pos", "gps", "point", "center", "centre"}
)
LON_FIRST_TOKENS = frozenset({"lnglat", "lonlat", "coordinates"})
"""Pair keys whose convention is longitude first (GeoJSON RFC 7946 §3.1.1 uses [lon, lat])."""


@lru_cache(maxsize=4096)
def tokens(key: str | None) -> tuple[str, ...]:
    """Lower-case word tokens of a key name; ``()`` for None."""
    if not key:
        return ()
    return tuple(t.lower() for t in _TOKEN_RE.findall(key))


@lru_cache(maxsize=4096)
def normalised(key: str | None) -> str:
    """Key lower-cased with every non-alphanumeric character removed."""
    if not key:
        return ""
    return "".join(ch for ch in key.lower() if ch.isalnum())


def scale_suffix(key: str | None) -> int:
    """Power of ten of an integer-scaled coordinate key (``latitudeE7`` -> 7, ``lat_e6`` -> 6), else 0."""
    norm = normalised(key)
    for power in (7, 6):
        if norm.endswith(f"e{power}"):
            return power
    return 0


@lru_cache(maxsize=4096)
def axis(key: str | None) -> str | None:
    """``"lat"`` or ``"lon"`` when the key names one coordinate axis, else None."""
    parts = tokens(key)
    if not parts:
        return None
    while parts and (parts[-1] in ("e", "deg", "degrees") or parts[-1].isdigit()):
        parts = parts[:-1]
    if not parts:
        return None
    if LATITUDE_TOKENS & set(parts) and LONGITUDE_TOKENS & set(parts):
        return None
    last = parts[-1]
    if last in LATITUDE_TOKENS:
        return "lat"
    if last in LONGITUDE_TOKENS:
        if last == "long" and len(parts) > 1 and parts[-2] not in ("geo", "gps", "loc", "user", "device", "x", "my", "current", "last"):
            return None
        return "lon"
    return None


@lru_cache(maxsize=4096)
def is_location_key(key: str | None) -> bool:
    """True when the key names a whole position (``ll``, ``location``, ``latLng``...)."""
    parts = tokens(key)
    norm = normalised(key)
    return norm in LOCATION_TOKENS or any(p in LOCATION_TOKENS for p in parts) or norm in ("latlng", "latlon", "lnglat", "lonlat")


@lru_cache(maxsize=4096)
def lon_first(key: str | None) -> bool:
    norm = normalised(key)
    return any(norm.endswith(t) for t in LON_FIRST_TOKENS)


def _ends(parts: tuple[str, ...], *suffix: str) -> bool:
    return len(parts) >= len(suffix) and parts[-len(suffix):] == suffix


@lru_cache(maxsize=4096)
def identifier_hint(key: str | None) -> str | None:
    """Identifier kind suggested by a key name: ``advertising_id``, ``android_id``,
    ``device_id``, ``imei``, ``imsi``, ``mac``, ``bssid``, ``email``, ``phone_number``, or None."""
    parts = tokens(key)
    norm = normalised(key)
    if not norm:
        return None
    last = parts[-1] if parts else ""
    if (
        last in ("adid", "gaid", "aaid", "idfa", "ifa", "maid", "rdid")
        or _ends(parts, "ad", "id")
        or "advertising" in parts
        or _ends(parts, "advertiser", "id")
        or norm in ("advertisingid", "advertiserid", "adidentifier")
    ):
        return "advertising_id"
    if _ends(parts, "android", "id") or norm in ("androidid", "ssaid"):
        return "android_id"
    if "imei" in parts or "meid" in parts:
        return "imei"
    if "imsi" in parts or _ends(parts, "subscriber", "id"):
        return "imsi"
    if "bssid" in parts or norm in ("apmac", "routermac", "gatewaymac"):
        return "bssid"
    if last == "mac" or _ends(parts, "mac", "address") or norm in ("macaddr", "macaddress", "hwaddr"):
        return "mac"
    if (
        _ends(parts, "device", "id")
        or _ends(parts, "install", "id")
        or _ends(parts, "installation", "id")
        or _ends(parts, "instance", "id")
        or norm in ("deviceid", "udid", "installid", "installationid", "fid", "uuid", "duid", "deviceuuid", "hwid", "deviceidentifier")
    ):
        return "device_id"
    if "email" in parts or "mail" in parts or norm in ("emailaddress", "useremail"):
        return "email"
    if {"phone", "msisdn", "telephone", "tel", "mobile"} & set(parts) and "id" not in parts:
        return "phone_number"
    return None
