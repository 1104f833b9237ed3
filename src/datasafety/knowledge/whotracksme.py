"""WhoTracks.me tracker database (2022-08 snapshot, CC BY 4.0), loaded from a path.

Source: whotracksme/whotracks.me ``whotracksme/data/assets/trackerdb.sql`` (SQLite dump),
https://github.com/whotracksme/whotracks.me. Tables used: ``tracker_domains(tracker,
domain)``, ``trackers(id, name, category_id, company_id)``, ``companies(id, name,
country)``, ``categories(id, name)``. The dump (``.sql`` or gzipped ``.sql.gz``) is loaded with
the standard-library ``sqlite3`` into an in-memory database, once per file (cached).

The file is user-supplied, so it is never run as a script: it is split into statements
(quotes and comments respected) and only ``CREATE TABLE``, ``CREATE [UNIQUE] INDEX`` and
``INSERT INTO ... VALUES`` are executed, one at a time, under an SQLite authorizer that
denies ``ATTACH``, ``PRAGMA``, sub-``SELECT``, recursive CTEs and function calls, with a
cap on the work done (so no statement can write files, loop or allocate unboundedly).
Any other statement (transactions excepted) is skipped and counted in
:attr:`WhoTracksMe.skipped_statements`. A file that does not split into complete
statements raises :class:`WhoTracksMeError`.

Path: the ``path`` argument, else ``$DATASAFETY_WHOTRACKSME``. Never bundled: later
versions of this database moved to a non-commercial licence; use the 2022 snapshot.
"""

from __future__ import annotations

import os
import re
import sqlite3
import zlib
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
    skipped_statements: int = 0
    """Statements of the dump that were not executed (anything but CREATE TABLE/INDEX and
    INSERT ... VALUES)."""

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


MAX_DUMP_BYTES = 256 * 1024 * 1024
"""Largest (decompressed) dump accepted; the 2022 snapshot is about 2 MB."""
MAX_VM_STEPS = 500_000_000
"""SQLite virtual-machine instructions allowed for loading one dump (the 2022 snapshot
needs a few million)."""

_TOKEN_RE = re.compile(
    r"""[^;'"`\[\-/]+|'[^']*'|"[^"]*"|`[^`]*`|\[[^\]]*\]|--[^\n]*|/\*.*?\*/|;|[-/]""",
    re.S,
)
_LEADING_COMMENTS_RE = re.compile(r"\A(?:\s+|--[^\n]*|/\*.*?\*/)*", re.S)
_ALLOWED_RE = re.compile(r"(?:CREATE\s+(?:UNIQUE\s+)?INDEX|CREATE\s+TABLE|INSERT\s+INTO)\b", re.I)
_TRANSACTION_RE = re.compile(r"(?:BEGIN|COMMIT|END|ROLLBACK)\b", re.I)

# sqlite3 authorizer action codes allowed while loading (everything else is denied:
# ATTACH, DETACH, PRAGMA, SELECT, RECURSIVE, FUNCTION, triggers, views...).
_ALLOWED_ACTIONS = {
    sqlite3.SQLITE_CREATE_INDEX,
    sqlite3.SQLITE_CREATE_TABLE,
    sqlite3.SQLITE_INSERT,
    sqlite3.SQLITE_READ,
    sqlite3.SQLITE_UPDATE,
    sqlite3.SQLITE_TRANSACTION,
    sqlite3.SQLITE_REINDEX,
}


def split_statements(script: str) -> list[str]:
    """The SQL statements of ``script`` (each ending in ``;``); quotes, bracketed names and
    comments are respected. Raises ValueError when the text ends inside a statement."""
    statements = []
    start = 0
    pos = 0
    length = len(script)
    while pos < length:
        match = _TOKEN_RE.match(script, pos)
        if match is None:
            raise ValueError(f"unterminated quote or comment at character {pos}")
        pos = match.end()
        if match.group(0) == ";":
            statements.append(script[start:pos])
            start = pos
    rest = _LEADING_COMMENTS_RE.sub("", script[start:])
    if rest.strip():
        raise ValueError(f"incomplete statement at character {start}")
    return statements


def _authorize(action, _arg1, _arg2, _db, _source):
    return sqlite3.SQLITE_OK if action in _ALLOWED_ACTIONS else sqlite3.SQLITE_DENY


def _run_dump(db: sqlite3.Connection, script: str) -> int:
    """Execute the allowed statements of ``script``; returns how many were skipped."""
    statements = split_statements(script)
    steps = [0]

    def progress():
        steps[0] += 10_000
        return 1 if steps[0] > MAX_VM_STEPS else 0

    db.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, 1_000_000)
    db.setlimit(sqlite3.SQLITE_LIMIT_ATTACHED, 0)
    db.set_authorizer(_authorize)
    db.set_progress_handler(progress, 10_000)
    skipped = 0
    try:
        for number, statement in enumerate(statements, 1):
            body = _LEADING_COMMENTS_RE.sub("", statement)
            if not body.rstrip(";").strip():
                continue
            if _TRANSACTION_RE.match(body):
                continue
            if not _ALLOWED_RE.match(body):
                skipped += 1
                continue
            try:
                db.execute(body)
            except sqlite3.DatabaseError as exc:
                if steps[0] > MAX_VM_STEPS:
                    raise sqlite3.DatabaseError(f"statement {number} exceeds the work limit") from None
                if "not authorized" in str(exc) or "unknown database" in str(exc):
                    skipped += 1
                    continue
                raise sqlite3.DatabaseError(f"statement {number}: {exc}") from None
        db.commit()
    finally:
        db.set_authorizer(None)
        db.set_progress_handler(None, 0)
    return skipped


@lru_cache(maxsize=4)
def _load(path: str, _size: int, _mtime: int) -> WhoTracksMe:
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_DUMP_BYTES + 1)
        if raw[:2] == b"\x1f\x8b":
            decoder = zlib.decompressobj(16 + zlib.MAX_WBITS)
            raw = decoder.decompress(raw, MAX_DUMP_BYTES + 1)
        if len(raw) > MAX_DUMP_BYTES:
            raise WhoTracksMeError(f"cannot load WhoTracks.me data {path}: larger than {MAX_DUMP_BYTES // (1024 * 1024)} MiB")
        script = raw.decode("utf-8")
        del raw
        db = sqlite3.connect(":memory:")
        try:
            skipped = _run_dump(db, script)
            del script
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
    except (OSError, EOFError, zlib.error, UnicodeDecodeError, sqlite3.Error, ValueError, MemoryError, RecursionError) as exc:
        if isinstance(exc, WhoTracksMeError):
            raise
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise WhoTracksMeError(f"cannot load WhoTracks.me data {path}: {detail}") from None
    domains = {}
    for domain, tracker, category, company, country in rows:
        if domain is None or tracker is None:
            continue
        domain = str(domain).lower().strip(".")
        domains[domain] = WhoTracksMeEntry(
            domain=domain,
            tracker=str(tracker),
            category=category if isinstance(category, str) else None,
            company=company if isinstance(company, str) else None,
            company_country=country.upper() if isinstance(country, str) and len(country) == 2 else None,
        )
    source = KnowledgeSource(
        name="whotracksme",
        version=f"{len(domains)} domains" + (f"; {skipped} statements skipped" if skipped else ""),
        sha256=file_sha256(path),
        path=Path(path).name,
        licence=LICENCE,
    )
    return WhoTracksMe(domains=domains, source=source, skipped_statements=skipped)
