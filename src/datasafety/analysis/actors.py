"""Actors: which code a class belongs to (the app itself, or which SDK / tracker).

Classes are attributed by package prefix: the SDK catalogue's prefixes match
whole package segments and the longest prefix wins; Exodus code signatures are
matched as class-name prefixes (all current Exodus code signatures are package
prefixes; ``.`` in a signature matches any one character, as in the regex).
Both run as one compiled pass over the class descriptors (see
:func:`kernels.descriptor_prefix_match`), without decoding class names.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from datasafety.app.dex import kernels
from datasafety.app.dex.index import DexIndex, fnv1a
from datasafety.knowledge.catalogue import Knowledge, Sdk
from datasafety.knowledge.exodus import ExodusSignatures, ExodusTracker

FIRST_PARTY = "first_party"


@dataclass(frozen=True)
class PrefixTable:
    """Hashed prefixes ready for :func:`kernels.descriptor_prefix_match`."""

    hashes: np.ndarray
    ids: np.ndarray
    lengths_set: np.ndarray

    @classmethod
    def build(cls, patterns: list[tuple[str, int]]) -> "PrefixTable":
        """``patterns``: (dotted prefix, owner id). Later duplicates of a prefix are ignored."""
        seen: dict[int, int] = {}
        maxlen = 2
        for text, owner in patterns:
            raw = text.replace("/", ".").replace("$", ".").encode("utf-8")
            h = fnv1a(raw)
            if h not in seen:
                seen[h] = owner
            maxlen = max(maxlen, len(raw) + 1)
        lengths = np.zeros(maxlen + 1, dtype=np.bool_)
        for text, _ in patterns:
            lengths[len(text.encode("utf-8"))] = True
        items = sorted(seen.items())
        hashes = np.array([h for h, _ in items], dtype=np.uint64)
        ids = np.array([o for _, o in items], dtype=np.int32)
        return cls(hashes=hashes, ids=ids, lengths_set=lengths)

    def match(self, dex: DexIndex) -> np.ndarray:
        """Owner id per class def of ``dex`` (-1 for none)."""
        if not len(self.hashes) or not len(dex.class_type):
            return np.full(len(dex.class_type), -1, dtype=np.int32)
        return kernels.descriptor_prefix_match(dex.buf, dex.class_descriptor_starts(), self.lengths_set, self.hashes, self.ids)


class ActorResolver:
    """Attributes classes to SDKs from the catalogue and to Exodus trackers."""

    def __init__(self, knowledge: Knowledge, exodus: ExodusSignatures | None = None):
        self.sdks: tuple[Sdk, ...] = knowledge.sdks
        self.trackers: tuple[ExodusTracker, ...] = exodus.trackers if exodus else ()
        # Catalogue prefixes match whole segments: "com.foo" matches "com.foo.Bar" only.
        self.sdk_table = PrefixTable.build(
            [(prefix + ".", i) for i, sdk in enumerate(self.sdks) for prefix in sdk.package_prefixes]
        )
        tracker_patterns: list[tuple[str, int]] = []
        for i, tracker in enumerate(self.trackers):
            if tracker.code_signature is None:
                continue
            for alt in tracker.code_signature.pattern.split("|"):
                alt = alt.strip().lstrip("^")
                if alt:
                    tracker_patterns.append((alt.replace("\\.", "."), i))
        self.tracker_table = PrefixTable.build(tracker_patterns)
        self._sorted_prefixes = sorted(
            ((prefix + ".", sdk) for sdk in self.sdks for prefix in sdk.package_prefixes),
            key=lambda p: -len(p[0]),
        )

    def sdk_of_classes(self, dex: DexIndex) -> np.ndarray:
        """Index into ``self.sdks`` per class def, -1 for none."""
        return self.sdk_table.match(dex)

    def tracker_of_classes(self, dex: DexIndex) -> np.ndarray:
        """Index into ``self.trackers`` per class def, -1 for none."""
        return self.tracker_table.match(dex)

    def sdk_for_class(self, dotted_class: str) -> Sdk | None:
        """The catalogue SDK owning one class (longest whole-segment prefix), or None."""
        name = dotted_class.replace("$", ".") + "."
        for prefix, sdk in self._sorted_prefixes:
            if name.startswith(prefix):
                return sdk
        return None


def in_package(dotted_class: str, package: str) -> bool:
    return bool(package) and (dotted_class == package or dotted_class.startswith(package + "."))
