"""Shared fixtures: the real-APK corpus in ../shared/data (never skipped when missing)."""

from __future__ import annotations

import functools
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
APKS = SHARED / "data" / "apks"
TRACKERS = SHARED / "data" / "trackers"
EXODUS = TRACKERS / "exodus" / "trackers.json"


def shared_path(relative: str) -> Path:
    """A file under ../shared/data/apks; fails the test (never skips) when the corpus is missing."""
    path = APKS / relative
    if not APKS.is_dir():
        pytest.fail(f"test corpus missing: {APKS} not found (clone with ../shared beside the project)", pytrace=False)
    if not path.exists():
        pytest.fail(f"corpus file missing: {path}", pytrace=False)
    return path


def corpus_entry(relative: str, entry: str = "classes.dex") -> bytes:
    """The bytes of one zip entry of a corpus APK."""
    with zipfile.ZipFile(shared_path(relative)) as apk:
        return apk.read(entry)


def apk_with(path: Path, base: str, entries: dict[str, bytes]) -> Path:
    """Write to ``path`` a copy of corpus APK ``base`` with ``entries`` replaced (or added, at the end)."""
    with zipfile.ZipFile(shared_path(base)) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for name in src.namelist():
            out.writestr(name, entries[name] if name in entries else src.read(name))
        for name, data in entries.items():
            if name not in src.namelist():
                out.writestr(name, data)
    return path


@functools.lru_cache(maxsize=32)
def _scan_cached(relative: str, with_trackers: bool):
    from datasafety import scan

    return scan(shared_path(relative), trackers=EXODUS if with_trackers else None)


@pytest.fixture
def scan_apk():
    """scan_apk("exodus-core/instapaper.apk", trackers=True) -> Report (cached per session)."""

    def run(relative: str, trackers: bool = False):
        if trackers and not EXODUS.exists():
            pytest.fail(f"tracker signatures missing: {EXODUS}", pytrace=False)
        return _scan_cached(relative, trackers)

    return run
