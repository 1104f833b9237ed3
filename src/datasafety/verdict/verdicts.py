"""Per data type verdicts from static evidence (DESIGN.md, the evidence ladder).

Verdict words (static evidence only):

- ``shared``: ``collected``, and the flow starts in an SDK's code or its
  destination is a host that is not the publisher's. Grade ``flows``.
- ``collected``: a static data flow carries the value from a permitted source
  to a ``network`` sink. Grade ``flows``.
- ``capable``: call sites exist and the app requests the permission they need
  at its targetSdkVersion (or they need none). Grade ``reachable`` when one of
  those call sites is reachable from an entry point, else ``present``.
- ``present_not_permitted``: call sites exist but none has its permission:
  the platform returns nothing. Grade ``present``.
- ``declared``: the manifest requests a permission that gates the data type,
  but no call site of a catalogued API was found (it may still be reached by
  reflection, native code or an API missing from the catalogue). Grade ``declared``.
- ``not_found``: no call site and no permission, but the platform gives the
  data without a permission (e.g. ANDROID_ID), so absence is not proof; also
  every data type without a call site in a bare DEX (no manifest: permissions unknown).
- ``not_possible``: no call site, no permission, and every catalogued route
  needs a permission the app does not request.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from datasafety.analysis.call_sites import CallSite
from datasafety.analysis.permissions import PermissionFinding
from datasafety.analysis.taint.model import Flow
from datasafety.knowledge.catalogue import Knowledge

GRADE_ORDER = ("declared", "present", "reachable", "flows", "observed")


@dataclass(frozen=True)
class Verdict:
    data_type: str
    verdict: str
    grade: str | None
    actors: tuple[str, ...]
    evidence: tuple[str, ...]
    explanation: str

    def to_json(self) -> dict:
        return {
            "data_type": self.data_type,
            "verdict": self.verdict,
            "grade": self.grade,
            "actors": list(self.actors),
            "evidence": list(self.evidence),
            "explanation": self.explanation,
        }


def _short(permission: str) -> str:
    return permission.rsplit(".", 1)[-1]


def _actor_names(actors: list[str], names: dict[str, str]) -> str:
    labels = ["the app's own code" if a == "first_party" else names.get(a, a) for a in actors]
    if len(labels) > 3:
        labels = labels[:3] + [f"{len(actors) - 3} more"]
    return ", ".join(labels[:-1]) + (" and " if len(labels) > 1 else "") + labels[-1]


def _permission_free_route(knowledge: Knowledge, data_type: str, target_sdk: int) -> bool:
    for api in knowledge.apis:
        for y in api.yields:
            if y.data_type == data_type:
                rule = y.rule_for(target_sdk)
                if rule is None or not rule.any_of:
                    return True
    return False


def destination_host(text: str) -> str:
    """Host of a URL or host string constant (lower case), ``""`` when there is none."""
    text = text.strip()
    if "://" in text:
        try:
            return (urlsplit(text).hostname or "").lower()
        except ValueError:
            return ""
    host = text.split("/")[0].split(":")[0].lower()
    return host if "." in host else ""


def _third_party_hosts(flows: list[Flow], package: str) -> list[str]:
    """Destination hosts that are not the publisher's (same rule as the traffic stage)."""
    from datasafety.traffic.destinations import is_first_party

    hosts = sorted({destination_host(d) for f in flows for d in f.destinations} - {""})
    return [h for h in hosts if is_first_party(h, package or None) is not True]


def _collecting_flows(dt_id: str, flows: tuple[Flow, ...], sites: list[CallSite], gating: list) -> list[Flow]:
    """Network flows of ``dt_id`` whose source can return data (its permission is requested)."""
    by_id = {s.id: s for s in sites}
    out = []
    for flow in flows:
        if flow.sink_kind != "network" or dt_id not in flow.data_types:
            continue
        site = by_id.get(flow.source_call_site)
        if site is not None:
            if site.permission_requested:
                out.append(flow)
        elif gating or any(s.permission_requested for s in sites):
            out.append(flow)
    return out


def _granting_permissions(knowledge: Knowledge, data_type: str, target_sdk: int) -> set[str]:
    """Permissions named in the rules that apply at ``target_sdk`` for any API yielding ``data_type``."""
    names: set[str] = set()
    for api in knowledge.apis:
        for y in api.yields:
            if y.data_type == data_type:
                rule = y.rule_for(target_sdk)
                if rule is not None:
                    names.update(rule.any_of)
    return names


def decide(
    knowledge: Knowledge,
    call_sites: list[CallSite],
    permissions: list[PermissionFinding],
    target_sdk: int,
    actor_names: dict[str, str],
    flows: tuple[Flow, ...] = (),
    package: str = "",
    call_sites_complete: bool = True,
    has_manifest: bool = True,
) -> list[Verdict]:
    """One verdict per data type of the taxonomy, in taxonomy order.

    ``call_sites_complete``: False when a budget stopped the scan before call
    sites were searched everywhere; absence of evidence then gives ``unknown``.
    ``has_manifest``: False for a bare DEX; call sites then give
    ``present_permission_unknown``.

    ``flows``: static data flows (empty when not analysed); ``package``: the
    app's package, which tells the publisher's own hosts from third parties
    (:func:`datasafety.traffic.destinations.is_first_party`).
    """
    verdicts = []
    for dt in knowledge.data_types:
        sites = [s for s in call_sites if s.data_type == dt.id]
        if dt.implied_by:
            # Call sites of the implying data types give this one too (data_types.json, implied_by).
            seen = {(s.dex, s.caller_class, s.caller_method, s.pc) for s in sites}
            sites += [
                s for s in call_sites
                if s.data_type in dt.implied_by and (s.dex, s.caller_class, s.caller_method, s.pc) not in seen
            ]
        permitted = [s for s in sites if s.permission_requested]
        # Permissions that give access at this target SDK, per the API catalogue's rules.
        granting = _granting_permissions(knowledge, dt.id, target_sdk)
        gating = [p for p in permissions if p.name in granting and p.granted_on_some_device]
        perm_ids = tuple(p.id for p in gating)
        label = dt.label
        collecting = _collecting_flows(dt.id, flows, sites, gating)
        if sites and not has_manifest:
            actors = sorted({s.actor for s in sites}, key=lambda a: (a != "first_party", a))
            verdicts.append(
                Verdict(
                    dt.id,
                    "present_permission_unknown",
                    "present",
                    tuple(actors),
                    tuple(s.id for s in sites),
                    f"{label}: {_actor_names(actors, actor_names)} contain{'s' if len(actors) == 1 else ''} "
                    f"{len(sites)} call site{'s' if len(sites) != 1 else ''} for it; the input has no manifest, "
                    "so whether the app holds the permission is unknown.",
                )
            )
        elif collecting:
            actors = sorted({f.actor for f in collecting}, key=lambda a: (a != "first_party", a))
            sdk_actors = [a for a in actors if a != "first_party"]
            hosts = _third_party_hosts(collecting, package)
            shared = bool(sdk_actors or hosts)
            sources = sorted({f.source.api for f in collecting})
            reasons = []
            if sdk_actors:
                reasons.append(f"collected in the code of {_actor_names(sdk_actors, actor_names)}")
            if hosts:
                reasons.append(f"sent to {', '.join(hosts[:3])}{' and others' if len(hosts) > 3 else ''}, not the publisher's domain")
            verdicts.append(
                Verdict(
                    dt.id,
                    "shared" if shared else "collected",
                    "flows",
                    tuple(actors),
                    tuple(f.id for f in collecting) + tuple(s.id for s in permitted) + perm_ids,
                    f"{label}: a static data flow carries it from {', '.join(sources[:2])}"
                    f"{' and others' if len(sources) > 2 else ''} to a network sink "
                    f"({len(collecting)} flow{'s' if len(collecting) != 1 else ''}, {_actor_names(actors, actor_names)})"
                    + (f"; {'; '.join(reasons)}." if reasons else "."),
                )
            )
        elif permitted:
            actors = sorted({s.actor for s in permitted}, key=lambda a: (a != "first_party", a))
            needed = sorted({p for s in permitted for p in s.permission_any_of if p in {g.name for g in gating}})
            route = (
                f"the app requests {', '.join(_short(p) for p in needed)}"
                if needed
                else "no permission is needed"
            )
            reachable = [s for s in permitted if s.reachable]
            analysed = any(s.reachable is not None for s in permitted)
            if reachable:
                reach_note = f" {len(reachable)} of them {'is' if len(reachable) == 1 else 'are'} reachable from an entry point."
            elif analysed:
                reach_note = " None of them is reachable from an entry point."
            else:
                reach_note = ""
            verdicts.append(
                Verdict(
                    dt.id,
                    "capable",
                    "reachable" if reachable else "present",
                    tuple(actors),
                    tuple(s.id for s in permitted) + perm_ids,
                    f"{label}: {route}; {_actor_names(actors, actor_names)} "
                    f"use{'s' if len(actors) == 1 else ''} APIs that give access to it "
                    f"({len(permitted)} call site{'s' if len(permitted) != 1 else ''}).{reach_note} "
                    "The app can collect it; that is not proof that it does.",
                )
            )
        elif sites:
            actors = sorted({s.actor for s in sites}, key=lambda a: (a != "first_party", a))
            needed = sorted({p for s in sites for p in s.permission_any_of})
            verdicts.append(
                Verdict(
                    dt.id,
                    "present_not_permitted",
                    "present",
                    tuple(actors),
                    tuple(s.id for s in sites) + perm_ids,
                    f"{label}: {_actor_names(actors, actor_names)} contain{'s' if len(actors) == 1 else ''} "
                    f"{len(sites)} call site{'s' if len(sites) != 1 else ''} for it, but the app does not request "
                    f"{' or '.join(_short(p) for p in needed)}, so the platform does not return it.",
                )
            )
        elif not call_sites_complete:
            verdicts.append(
                Verdict(
                    dt.id,
                    "unknown",
                    "declared" if gating else None,
                    (),
                    perm_ids,
                    f"{label}: the scan stopped (budget) before its code was searched everywhere; "
                    + (f"the app requests {', '.join(_short(p.name) for p in gating)}." if gating else "no evidence so far."),
                )
            )
        elif gating:
            verdicts.append(
                Verdict(
                    dt.id,
                    "declared",
                    "declared",
                    (),
                    perm_ids,
                    f"{label}: the app requests {', '.join(_short(p.name) for p in gating)}, "
                    "but no call site of a catalogued API was found in its code.",
                )
            )
        elif _permission_free_route(knowledge, dt.id, target_sdk) or not has_manifest:
            verdicts.append(
                Verdict(
                    dt.id,
                    "not_found",
                    None,
                    (),
                    (),
                    f"{label}: no call site was found; the platform would allow it without a permission."
                    if has_manifest
                    else f"{label}: no call site was found; the input has no manifest, so its permissions are unknown.",
                )
            )
        else:
            verdicts.append(
                Verdict(
                    dt.id,
                    "not_possible",
                    None,
                    (),
                    (),
                    f"{label}: the app requests no permission that gives it and no code asks for it.",
                )
            )
    return verdicts
