"""Precision of a coordinate: decimal places to metres, and the three regimes' verdicts.

Facts used (see docs/domain-rules.md §0, §1.4–§1.6):

- One degree of latitude is about 111.32 km, so ``d`` decimals resolve
  111,320 m x 10^-d north-south, and that times cos(latitude) east-west ([S31],
  https://simple.m.wikipedia.org/wiki/Decimal_degrees).
- Google Play Data safety: precise location is an area under 3 km² ([S1],
  https://support.google.com/googleplay/android-developer/answer/10787469).
- Apple App Privacy: precise location is a resolution equal to or finer than three decimal
  places ([S3], https://developer.apple.com/app-store/app-privacy-details/).
- AOSP ``LocationFudger`` snaps coarse locations to a grid of 2,000 m by default, with
  111,000 m per degree: latitude to multiples of 2000/111000 degrees, then longitude to
  multiples of 2000/111000/cos(snapped latitude) degrees ([S8]).
"""

from __future__ import annotations

import math

from datasafety.traffic.model import Precision

METRES_PER_DEGREE = 111_320.0
"""Metres per degree of latitude used for decimal places ([S31])."""
PLAY_PRECISE_AREA_KM2 = 3.0
"""Google Play: an area under this is precise location ([S1])."""
APPLE_PRECISE_DECIMALS = 3
"""Apple: three or more decimal places is precise location ([S3])."""
FUDGER_METRES_PER_DEGREE = 111_000.0
"""``APPROXIMATE_METERS_PER_DEGREE_AT_EQUATOR`` in AOSP ``LocationFudger`` ([S8])."""
FUDGER_GRID_M = 2_000.0
"""``DEFAULT_COARSE_LOCATION_ACCURACY_M`` ([S8])."""
GRID_MIN_DECIMALS = 4
"""Fewer decimals than this cannot tell a grid point from chance (tolerance too wide)."""


def on_coarse_grid(latitude: float, longitude: float, decimals: int, grid_m: float = FUDGER_GRID_M) -> bool:
    """True when both values sit on Android's coarse snapping grid, within the rounding of
    ``decimals`` places (needs at least :data:`GRID_MIN_DECIMALS`)."""
    if decimals < GRID_MIN_DECIMALS:
        return False
    tolerance = 0.5 * 10.0**-decimals + 1e-9
    lat_step = grid_m / FUDGER_METRES_PER_DEGREE
    snapped_lat = round(latitude / lat_step) * lat_step
    if abs(latitude - snapped_lat) > tolerance or snapped_lat == 0.0:
        return False
    cos_lat = math.cos(math.radians(snapped_lat))
    if cos_lat <= 0.0:
        return False
    lon_step = grid_m / FUDGER_METRES_PER_DEGREE / cos_lat
    snapped_lon = round(longitude / lon_step) * lon_step
    return abs(longitude - snapped_lon) <= tolerance


def precision_of(latitude: float, longitude: float, decimals: int) -> Precision:
    """Precision of a coordinate written with ``decimals`` places (the coarser axis)."""
    cos_lat = max(math.cos(math.radians(latitude)), 1e-6)
    if on_coarse_grid(latitude, longitude, decimals):
        metres = FUDGER_GRID_M
        area_km2 = (FUDGER_GRID_M / 1000.0) ** 2
        grid = True
    else:
        metres = METRES_PER_DEGREE * 10.0**-decimals
        area_km2 = (metres / 1000.0) ** 2 * cos_lat
        grid = False
    return Precision(
        decimals=decimals,
        metres=float(f"{metres:.6g}"),
        area_km2=float(f"{area_km2:.6g}"),
        play_precise=area_km2 < PLAY_PRECISE_AREA_KM2,
        apple_precise=metres <= METRES_PER_DEGREE * 10.0**-APPLE_PRECISE_DECIMALS + 1e-9,
        coarse_grid=grid,
    )
