"""Provenance of a knowledge file: which file, which version, which sha256.

Every report lists the knowledge sources it used (``knowledge`` key) so that a
reader can tell which catalogue or signature set produced a finding.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class KnowledgeSource:
    """One knowledge file used by an analysis."""

    name: str
    """Short id of the set, e.g. ``"sdk_catalogue"`` or ``"exodus_trackers"``."""
    version: str
    """Version string declared by the file, or ``"unversioned"``."""
    sha256: str
    """Hex sha256 of the file's bytes."""
    path: str
    """File name (basename only, so reports do not leak local paths)."""
    licence: str = ""
    """Licence of the data, for third-party sets."""

    def to_json(self) -> dict:
        return {
            "name": self.name,
            "version": self.version,
            "sha256": self.sha256,
            "file": self.path,
            "licence": self.licence,
        }


def file_sha256(path: str | Path) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def project_file_source(name: str, path: Path, raw: dict) -> KnowledgeSource:
    """Provenance of one of the project's own JSON knowledge files (its ``version`` and ``licence`` keys)."""
    return KnowledgeSource(
        name=name,
        version=str(raw.get("version", "unversioned")),
        sha256=file_sha256(path),
        path=path.name,
        licence=str(raw.get("licence", "")),
    )
