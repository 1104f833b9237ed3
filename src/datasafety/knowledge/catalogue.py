"""The project's own knowledge files: API catalogue, SDK catalogue, permission map, data types.

All four live in ``datasafety/knowledge/data/`` as versioned JSON; adding an API
or an SDK is a data change. :func:`load_knowledge` reads them once and hands
typed, frozen models to the analyses, with the provenance of each file.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from datasafety.knowledge.sources import KnowledgeSource, project_file_source

DATA_DIR = Path(str(resources.files("datasafety.knowledge") / "data"))


@dataclass(frozen=True)
class PermissionRule:
    """Which permissions gate an API for apps whose targetSdkVersion is in [min, max]."""

    target_sdk_min: int | None
    target_sdk_max: int | None
    any_of: tuple[str, ...]
    """Any one of these suffices; empty means no permission is needed."""

    def applies(self, target_sdk: int) -> bool:
        return (self.target_sdk_min is None or target_sdk >= self.target_sdk_min) and (
            self.target_sdk_max is None or target_sdk <= self.target_sdk_max
        )


@dataclass(frozen=True)
class Yield:
    data_type: str
    permission_rules: tuple[PermissionRule, ...]

    def rule_for(self, target_sdk: int) -> PermissionRule | None:
        """The first rule whose target SDK range contains ``target_sdk``."""
        for rule in self.permission_rules:
            if rule.applies(target_sdk):
                return rule
        return None


@dataclass(frozen=True)
class SensitiveApi:
    """One catalogue entry: an API whose use yields personal data."""

    id: str
    kind: str
    """``invoke``, ``field`` (a field read) or ``string`` (a const-string prefix)."""
    class_name: str
    """Dotted Java name with ``$`` for inner classes; ``""`` for kind ``string``."""
    member: str
    """Method name, field name, or string prefix."""
    descriptor: str | None
    requires_string: tuple[str, ...]
    yields: tuple[Yield, ...]
    source_url: str
    note: str = ""

    @property
    def class_descriptor(self) -> str:
        return "L" + self.class_name.replace(".", "/") + ";" if self.class_name else ""

    @property
    def api_name(self) -> str:
        return f"{self.class_name}.{self.member}" if self.class_name else self.member


@dataclass(frozen=True)
class Sdk:
    id: str
    name: str
    organisation: str
    organisation_country: str
    categories: tuple[str, ...]
    package_prefixes: tuple[str, ...]
    init_entry_points: tuple[str, ...]
    families_self_certified: bool | None
    source_url: str


@dataclass(frozen=True)
class DataType:
    id: str
    label: str
    play_category: str
    play_data_type: str
    kind: str
    implied_by: tuple[str, ...] = ()
    """Data types whose call sites also give this one (a precise fix is an approximate one)."""
    implied_by_note: str = ""


@dataclass(frozen=True)
class Knowledge:
    apis: tuple[SensitiveApi, ...]
    sdks: tuple[Sdk, ...]
    permissions: dict
    """permission name -> {"data_types": [...], "source_url": str}."""
    data_types: tuple[DataType, ...]
    sources: tuple[KnowledgeSource, ...]


def _rules(raw: list) -> tuple[PermissionRule, ...]:
    return tuple(
        PermissionRule(
            target_sdk_min=r.get("target_sdk_min"),
            target_sdk_max=r.get("target_sdk_max"),
            any_of=tuple(r.get("any_of") or ()),
        )
        for r in raw
    )


@functools.lru_cache(maxsize=4)
def load_knowledge(data_dir: str | None = None) -> Knowledge:
    """Load the four catalogue files from ``data_dir`` (default: the package's data folder).

    Raises ``FileNotFoundError`` / ``ValueError`` if a file is missing or malformed:
    these are files of the installation, not user input.
    """
    base = Path(data_dir) if data_dir else DATA_DIR
    sources = []

    def read(name: str, file_name: str) -> dict:
        path = base / file_name
        raw = json.loads(path.read_text(encoding="utf-8"))
        sources.append(project_file_source(name, path, raw))
        return raw

    raw = read("api_catalogue", "api_catalogue.json")
    apis = tuple(
        SensitiveApi(
            id=e["id"],
            kind=e["kind"],
            class_name=e.get("class") or "",
            member=e["method"],
            descriptor=e.get("descriptor"),
            requires_string=tuple(e.get("requires_string") or ()),
            yields=tuple(Yield(y["data_type"], _rules(y.get("permission_rules") or [])) for y in e["yields"]),
            source_url=e.get("source_url", ""),
            note=e.get("note", ""),
        )
        for e in raw["apis"]
    )

    raw = read("sdk_catalogue", "sdk_catalogue.json")
    sdks = tuple(
        Sdk(
            id=e["id"],
            name=e["name"],
            organisation=e.get("organisation", ""),
            organisation_country=e.get("organisation_country", ""),
            categories=tuple(e.get("categories") or ()),
            package_prefixes=tuple(e.get("package_prefixes") or ()),
            init_entry_points=tuple(e.get("init_entry_points") or ()),
            families_self_certified=e.get("families_self_certified"),
            source_url=e.get("source_url", ""),
        )
        for e in raw["sdks"]
    )

    raw = read("permission_map", "permissions.json")
    permissions = dict(raw["permissions"])

    raw = read("data_types", "data_types.json")
    data_types = tuple(DataType(**{**d, "implied_by": tuple(d.get("implied_by") or ())}) for d in raw["data_types"])

    return Knowledge(apis=apis, sdks=sdks, permissions=permissions, data_types=data_types, sources=tuple(sources))
