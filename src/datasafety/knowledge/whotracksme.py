"""WhoTracks.me tracker database (2022-08 snapshot, CC BY 4.0), loaded from a path.

Source: whotracksme/whotracks.me ``whotracksme/data/assets/trackerdb.sql`` (SQLite dump),
https://github.com/whotracksme/whotracks.me. Tables used: ``tracker_domains(tracker,
domain)``, ``trackers(id, name, category_id, company_id)``, ``companies(id, name,
country)``, ``categories(id, name)``. The dump (``.sql`` or gzipped ``.sql.gz``) is run with
the standard-library ``sqlite3`` into an in-memory database, once per file (cached).

Path: the ``path`` argument, else ``$DATASAFETY_WHOTRACKSME``. Never bundled: later
versions of this database moved to a non-commercial licence; use the 2022 snapshot.
"""

from __future__ import annotations

import gzip
import os
import sqlite3
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from datasafety.knowledge.sources import KnowledgeSource, file_sha256

ENV_VAR = "DATASAFETY_WHOTRACKSME"
LICENCE = "CC-BY-4.0 (WhoTracks.me / Ghostery, https://whotracks.me)"


class WhoTracksMeError(ValueError):
    """The file is missing or not a WhoTracks.me SQL dump."""


@dataclass(frozen=True, slots=True)
class WhoTracksMeEntry:
    """What WhoTracks.me knows about one tracker domain."""

    domain: str
    """The listed domain that matched (the host itself or one of its parents)."""
    tracker: str
    """Tracker display name."""
    category: str | None
    company: str | None
    """Company display name, None when the tracker has no company."""
    company_country: str | None
    """Company country as ISO 3166-1 alpha-2 upper case, None when unknown."""


@dataclass(frozen=True)
class WhoTracksMe:
    """Domain -> tracker/company index."""

    domains: dict
    """Listed domain (lower case) -> :class:`WhoTracksMeEntry`."""
    source: KnowledgeSource

    def lookup(self, host: str) -> WhoTracksMeEntry | None:
        """Entry for ``host`` or its nearest listed parent domain (``a.b.example.com`` ->
        ``b.example.com`` -> ``example.com``), or None."""
        host = host.lower().rstrip(".")
        while host:
            entry = self.domains.get(host)
            if entry is not None:
                return entry
            dot = host.find(".")
            if dot < 0:
                return None
            host = host[dot + 1 :]
        return None


def resolve_path(path: str | Path | None) -> Path | None:
    """``path`` if given, else ``$DATASAFETY_WHOTRACKSME``, else None."""
    if path:
        return Path(path)
    env = os.environ.get(ENV_VAR)
    return Path(env) if env else None


def load_whotracksme(path: str | Path) -> WhoTracksMe:
    """Load the dump at ``path`` (cached per resolved path, size and mtime).

    Raises :class:`WhoTracksMeError` when the file cannot be read or lacks the tables.
    """
    path = Path(path)
    try:
        stat = path.stat()
    except OSError as exc:
        raise WhoTracksMeError(f"cannot read WhoTracks.me data {path}: {exc.strerror or exc}") from None
    return _load(str(path.resolve()), stat.st_size, stat.st_mtime_ns)


@lru_cache(maxsize=4)
def _load(path: str, _size: int, _mtime: int) -> WhoTracksMe:
    try:
        raw = Path(path).read_bytes()
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
        script = raw.decode("utf-8")
        db = sqlite3.connect(":memory:")
        try:
            db.executescript(script)
            rows = db.execute(
                """
                SELECT d.domain, t.name, cat.name, c.name, c.country
                FROM tracker_domains d
                JOIN trackers t ON t.id = d.tracker
                LEFT JOIN categories cat ON cat.id = t.category_id
                LEFT JOIN companies c ON c.id = t.company_id
                """
            ).fetchall()
        finally:
            db.close()
    except (OSError, EOFError, gzip.BadGzipFile, UnicodeDecodeError, sqlite3.Error) as exc:
        raise WhoTracksMeError(f"cannot load WhoTracks.me data {path}: {exc}") from None
    domains = {}
    for domain, tracker, category, company, country in rows:
        domain = str(domain).lower().strip(".")
        domains[domain] = WhoTracksMeEntry(
            domain=domain,
            tracker=str(tracker),
            category=category,
            company=company,
            company_country=country.upper() if isinstance(country, str) and len(country) == 2 else None,
        )
    source = KnowledgeSource(
        name="whotracksme",
        version=f"{len(domains)} domains",
        sha256=file_sha256(path),
        path=Path(path).name,
        licence=LICENCE,
    )
    return WhoTracksMe(domains=domains, source=source)
