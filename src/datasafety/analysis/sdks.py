"""SDK inventory: which catalogued SDKs and Exodus trackers have classes in the app.

Grade ``present``: the SDK's classes are in the package. Grade ``reachable``:
some method of those classes is reachable from an entry point
(:func:`with_reachability`); an SDK that is present but never reached stays
``present`` (a no-op build, or a library pulled in by another one).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from datasafety.analysis.actors import ActorResolver
from datasafety.app.dex.index import dotted
from datasafety.app.model import AppModel


@dataclass(frozen=True)
class SdkFinding:
    id: str
    """Catalogue id, or ``exodus:<tracker id>`` for an Exodus signature."""
    name: str
    source: str
    """``catalogue`` or ``exodus``."""
    organisation: str
    organisation_country: str
    categories: tuple[str, ...]
    class_count: int
    example_class: str
    grade: str
    source_url: str
    families_self_certified: bool | None = None
    reachable: bool | None = None
    """Some of its code is reachable from an entry point (None: not analysed)."""
    reachable_path: tuple[str, ...] = ()
    """One call chain from an entry point into the SDK's code (methods, entry point first)."""

    def to_json(self) -> dict:
        return {
            "id": self.id,
            "name": self.name,
            "source": self.source,
            "organisation": self.organisation,
            "organisation_country": self.organisation_country,
            "categories": list(self.categories),
            "class_count": self.class_count,
            "example_class": self.example_class,
            "grade": self.grade,
            "families_self_certified": self.families_self_certified,
            "source_url": self.source_url,
            "reachable": self.reachable,
            "reachable_path": list(self.reachable_path),
        }


def find_sdks(app: AppModel, resolver: ActorResolver) -> list[SdkFinding]:
    """Count each SDK's and tracker's (kept) classes across all DEX files."""
    sdk_counts = np.zeros(len(resolver.sdks), dtype=np.int64)
    sdk_example: dict[int, str] = {}
    tracker_counts = np.zeros(len(resolver.trackers), dtype=np.int64)
    tracker_example: dict[int, str] = {}
    for dex, kept in zip(app.dex, app.class_kept):
        for owners, counts, examples in (
            (resolver.sdk_of_classes(dex), sdk_counts, sdk_example),
            (resolver.tracker_of_classes(dex), tracker_counts, tracker_example),
        ):
            owned = owners[kept]
            owned = owned[owned >= 0]
            if len(owned):
                counts += np.bincount(owned, minlength=len(counts))
            rows = np.nonzero(kept & (owners >= 0))[0]
            for owner in np.unique(owners[rows]):
                owner = int(owner)
                if owner not in examples:
                    first = rows[np.argmax(owners[rows] == owner)]
                    examples[owner] = dotted(dex.type_name(int(dex.class_type[first])))
    findings: list[SdkFinding] = []
    for i, sdk in enumerate(resolver.sdks):
        if sdk_counts[i]:
            findings.append(
                SdkFinding(
                    id=sdk.id,
                    name=sdk.name,
                    source="catalogue",
                    organisation=sdk.organisation,
                    organisation_country=sdk.organisation_country,
                    categories=sdk.categories,
                    class_count=int(sdk_counts[i]),
                    example_class=sdk_example.get(i, ""),
                    grade="present",
                    source_url=sdk.source_url,
                    families_self_certified=sdk.families_self_certified,
                )
            )
    for i, tracker in enumerate(resolver.trackers):
        if tracker_counts[i]:
            findings.append(
                SdkFinding(
                    id=f"exodus:{tracker.id}",
                    name=tracker.name,
                    source="exodus",
                    organisation="",
                    organisation_country="",
                    categories=tracker.categories,
                    class_count=int(tracker_counts[i]),
                    example_class=tracker_example.get(i, ""),
                    grade="present",
                    source_url=tracker.website,
                )
            )
    findings.sort(key=lambda f: (f.source, f.id))
    return findings


MAX_PATH_CANDIDATES = 256


def with_reachability(findings: list[SdkFinding], app: AppModel, resolver: ActorResolver, reachability) -> list[SdkFinding]:
    """Mark each finding reachable (grade ``reachable``) when reached code belongs to it.

    ``reachability``: :class:`datasafety.analysis.reachability.Reachability`. The
    example path is the shortest among the SDK's first reached methods, preferring
    paths that start in the app's own code.
    """
    cg = reachability.cg
    reached = reachability.reached
    owners: dict[str, list[int]] = {}
    for d, dex in enumerate(app.dex):
        if not len(dex.def_class):
            continue
        gms = cg.gm_of_row[d]
        rows = np.nonzero(gms >= 0)[0]
        rows = rows[reached[gms[rows]]]
        if not len(rows):
            continue
        cls = dex.def_class[rows].astype(np.int64)
        for prefix, table in (("", resolver.sdk_of_classes(dex)), ("exodus:", resolver.tracker_of_classes(dex))):
            owner = table[cls]
            for o in np.unique(owner[owner >= 0]):
                item = resolver.trackers[int(o)] if prefix else resolver.sdks[int(o)]
                ident = f"{prefix}{item.id}"
                picked = gms[rows[owner == o]][:MAX_PATH_CANDIDATES]
                owners.setdefault(ident, []).extend(int(g) for g in picked)
    out = []
    for finding in findings:
        gms = owners.get(finding.id)
        if not gms:
            out.append(replace(finding, reachable=False))
            continue
        best = min(gms, key=lambda g: (_root_in_sdk(reachability, g, resolver), len(reachability.path(g)), g))
        out.append(replace(finding, grade="reachable", reachable=True, reachable_path=reachability.path_labels(best)))
    return out


def _root_in_sdk(reachability, gm: int, resolver: ActorResolver) -> bool:
    path = reachability.path(gm)
    if not path:
        return True
    cls = reachability.cg.method_parts(path[0])[0]
    return resolver.sdk_for_class(dotted(cls)) is not None
