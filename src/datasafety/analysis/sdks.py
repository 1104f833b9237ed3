"""SDK inventory: which catalogued SDKs and Exodus trackers have classes in the app.

Grade ``present``: the SDK's classes are in the package. Whether app code
reaches them is a later stage (reachability).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from datasafety.analysis.actors import ActorResolver, dotted
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
