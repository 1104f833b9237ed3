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

    def __post_init__(self) -> None:
        # One line each, whatever bytes a hostile file put in a name.
        for name in ("message", "location"):
            value = getattr(self, name)
            if any(c in value for c in "\n\r\t") or not value.isprintable():
                clean = "".join(c if c.isprintable() else " " for c in value)
                object.__setattr__(self, name, clean[:500])

    def to_json(self) -> dict:
        return {"code": self.code, "message": self.message, "location": self.location}
