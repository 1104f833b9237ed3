"""Exodus Privacy tracker signatures (ODbL 1.0), loaded from a file the user supplies.

Format (Exodus ``GET /api/trackers``, https://reports.exodus-privacy.eu.org/api/trackers):
``{"trackers": {"<id>": {id, name, code_signature, network_signature, website,
categories[], ...}}}``. Both signatures are Python regular expressions whose
alternatives are joined with ``|``; an empty signature matches nothing.

The file is never bundled: pass ``--trackers PATH`` or set ``DATASAFETY_TRACKERS``.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from datasafety.knowledge.sources import KnowledgeSource, file_sha256

ENV_VAR = "DATASAFETY_TRACKERS"
LICENCE = "ODbL-1.0 (Exodus Privacy, https://exodus-privacy.eu.org)"


class TrackerFileError(ValueError):
    """The signature file is missing or not in the Exodus format."""


@dataclass(frozen=True)
class ExodusTracker:
    """One Exodus tracker signature."""

    id: int
    name: str
    website: str
    categories: tuple[str, ...]
    code_signature: re.Pattern[str] | None
    """Regex over dotted class names (``com.example.Foo``); None when empty."""
    network_signature: re.Pattern[str] | None
    """Regex over host names; None when empty."""


@dataclass(frozen=True)
class ExodusSignatures:
    trackers: tuple[ExodusTracker, ...]
    source: KnowledgeSource


def _compile(pattern) -> re.Pattern[str] | None:
    if not isinstance(pattern, str):
        raise TypeError("signature is not a string")
    pattern = pattern.strip()
    if not pattern:
        return None
    try:
        return re.compile(pattern)
    except re.error:
        # A broken upstream regex: fall back to a literal match of each alternative.
        return re.compile("|".join(re.escape(p) for p in pattern.split("|") if p))


def resolve_path(path: str | Path | None) -> Path | None:
    """The signature file to use: ``path`` if given, else ``$DATASAFETY_TRACKERS``, else None."""
    if path:
        return Path(path)
    env = os.environ.get(ENV_VAR)
    return Path(env) if env else None


def load_exodus(path: str | Path) -> ExodusSignatures:
    """Load and compile an Exodus ``trackers.json``.

    Raises :class:`TrackerFileError` when the file cannot be read or has no
    ``trackers`` mapping.
    """
    path = Path(path)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(raw, dict) or "trackers" not in raw:
            raise TypeError("no 'trackers' key at the top level (is this an Exodus trackers.json?)")
        entries = raw["trackers"]
        if isinstance(entries, dict):
            entries = list(entries.values())
        if not isinstance(entries, list):
            raise TypeError("'trackers' is neither a mapping nor a list")
    except (OSError, ValueError, KeyError, TypeError, RecursionError) as exc:
        raise TrackerFileError(f"cannot read Exodus tracker file {path}: {exc}") from None
    trackers = []
    for entry in entries:
        try:
            trackers.append(
                ExodusTracker(
                    id=int(entry["id"]),
                    name=str(entry["name"]),
                    website=str(entry.get("website") or ""),
                    categories=tuple(sorted(str(c) for c in entry.get("categories") or [])),
                    code_signature=_compile(entry.get("code_signature", "")),
                    network_signature=_compile(entry.get("network_signature", "")),
                )
            )
        except (KeyError, TypeError, ValueError, AttributeError):
            continue
    trackers.sort(key=lambda t: t.id)
    version = f"{len(trackers)} trackers"
    source = KnowledgeSource(
        name="exodus_trackers",
        version=version,
        sha256=file_sha256(path),
        path=path.name,
        licence=LICENCE,
    )
    return ExodusSignatures(trackers=tuple(trackers), source=source)
