"""Which code mentions a network host: string constants in the DEX that contain it.

Used to link traffic observations to static evidence: a request to
``graph.facebook.com`` is attributed to the classes (and so the actors) whose
code loads a string constant containing that host.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from datasafety.analysis.actors import FIRST_PARTY, ActorResolver
from datasafety.app.dex.index import dotted
from datasafety.app.dex import kernels
from datasafety.app.model import AppModel


@dataclass(frozen=True)
class HostReference:
    host: str
    class_name: str
    actor: str
    dex: str


def host_references(
    app: AppModel, hosts: list[str], resolver: ActorResolver, limit: int = 20, unsearched: dict[str, int] | None = None
) -> dict[str, list[HostReference]]:
    """For each host, up to ``limit`` classes (sorted) whose code loads a string containing it.

    The search reads at most ``STRING_READ_FACTOR`` times each DEX's size (as for the string
    hashes, :meth:`DexIndex.strings_containing`): strings past that budget are not searched. ``unsearched``,
    when given, receives per DEX name the largest number of strings left unsearched for a
    host, so the caller can say the host list may be incomplete.
    """
    found: dict[str, set[tuple[str, str]]] = {h: set() for h in hosts}
    for dex_no, dex in enumerate(app.dex):
        kept = app.kept_rows(dex_no)
        string_refs = dex.ref_kind == kernels.REF_STRING
        for host in hosts:
            matches, skipped = dex.strings_containing(host)
            if skipped and unsearched is not None:
                unsearched[dex.name] = max(unsearched.get(dex.name, 0), skipped)
            if not len(matches):
                continue
            rows = np.unique(dex.ref_row[string_refs & np.isin(dex.ref_target, matches)])
            for row in rows:
                if not kept[int(row)]:
                    continue
                cls = dotted(dex.type_name(int(dex.class_type[int(dex.def_class[int(row)])])))
                found[host].add((cls, dex.name))
    out: dict[str, list[HostReference]] = {}
    for host, classes in found.items():
        refs = []
        for cls, dex_name in sorted(classes)[:limit]:
            sdk = resolver.sdk_for_class(cls)
            refs.append(HostReference(host, cls, sdk.id if sdk else FIRST_PARTY, dex_name))
        out[host] = refs
    return out
