"""Anomalies: odd things found while reading the input, reported instead of raised."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Anomaly:
    """One oddity in the input (bad CRC, duplicate entry, malformed binary XML, ...)."""

    code: str
    """Stable snake_case id of the kind of anomaly, e.g. ``zip_bad_crc``."""
    message: str
    """One human-readable line."""
    location: str = ""
    """Where: the APK (or split) name, or ``scan`` for pipeline-level notes."""

    def to_json(self) -> dict:
        return {"code": self.code, "message": self.message, "location": self.location}
