"""Requested permissions with their platform protection level and the data types they gate.

Protection levels come from androguard's AOSP permission tables for the app's
targetSdkVersion (clamped to the API levels androguard ships); data types from
the project's permission map (``knowledge/data/permissions.json``).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from datasafety.app.manifest import Manifest
from datasafety.knowledge.catalogue import Knowledge


@dataclass(frozen=True)
class PermissionFinding:
    id: str
    """``perm:<name>``: the evidence id verdicts cite."""
    name: str
    max_sdk_version: int | None
    flags: tuple[str, ...]
    protection_level: str
    """e.g. ``dangerous``, ``normal``, ``signature|privileged``; ``""`` when not a platform permission."""
    data_types: tuple[str, ...]
    granted_on_some_device: bool
    """False when ``maxSdkVersion`` is below the app's minSdkVersion: never granted."""

    def to_json(self) -> dict:
        return {
            "id": self.id,
            "name": self.name,
            "maxSdkVersion": self.max_sdk_version,
            "usesPermissionFlags": list(self.flags),
            "protection_level": self.protection_level,
            "data_types": list(self.data_types),
            "granted_on_some_device": self.granted_on_some_device,
        }


@functools.lru_cache(maxsize=64)
def _aosp_table(api_level: int) -> dict:
    try:
        from loguru import logger

        logger.remove()
        from androguard.core import androconf

        return androconf.load_api_specific_resource_module("aosp_permissions", api_level) or {}
    except Exception:  # noqa: BLE001 - missing tables must not stop a scan
        return {}


def protection_level(name: str, target_sdk: int) -> str:
    """Platform protection level of ``name`` at ``target_sdk`` (androguard's AOSP tables)."""
    for level in (max(4, min(target_sdk, 34)), 34):
        entry = _aosp_table(level).get(name)
        if entry:
            return str(entry.get("protectionLevel", ""))
    return ""


def find_permissions(manifest: Manifest, knowledge: Knowledge) -> list[PermissionFinding]:
    target = manifest.effective_target_sdk
    min_sdk = manifest.min_sdk or 1
    findings = []
    for perm in manifest.permissions:
        gated = knowledge.permissions.get(perm.name, {}).get("data_types", [])
        findings.append(
            PermissionFinding(
                id=f"perm:{perm.name}",
                name=perm.name,
                max_sdk_version=perm.max_sdk_version,
                flags=perm.flags,
                protection_level=protection_level(perm.name, target),
                data_types=tuple(sorted(gated)),
                granted_on_some_device=perm.max_sdk_version is None or perm.max_sdk_version >= min_sdk,
            )
        )
    return sorted(findings, key=lambda f: f.name)
