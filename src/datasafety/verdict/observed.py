"""Merge traffic observations into a scan report (grade ``observed``).

Each observation is linked to static evidence where possible:

- host string: classes of the app whose code loads a string constant that
  contains the request's host (or, failing that, its registrable domain); their
  actors (app or SDK) are the observation's ``linked_actors``;
- SDK: the Exodus tracker whose network signature matched the host, when the
  same tracker's code signature was found in the app.

Verdicts for observed data types become ``collected`` (sent to the publisher's
own domains only) or ``shared`` (sent to a third party or a tracker), grade
``observed``: the strongest rung of the evidence ladder (DESIGN.md).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from datasafety.analysis.actors import ActorResolver
from datasafety.analysis.hosts import host_references
from datasafety.app.anomaly import Anomaly
from datasafety.app.model import AppModel
from datasafety.knowledge.catalogue import Knowledge
from datasafety.report.model import Report
from datasafety.verdict.verdicts import Verdict


@dataclass(frozen=True)
class LinkedObservation:
    """A traffic observation as it appears in the scan report."""

    observation: dict
    """The traffic stage's JSON for the observation (see docs/traffic.md)."""
    linked_actors: tuple[str, ...]
    linked_classes: tuple[str, ...]
    """Classes whose code mentions the host (``class`` strings, sorted, at most 20)."""
    linked_sdks: tuple[str, ...]
    """SDK finding ids (``exodus:<id>``) whose tracker matched the host."""

    def to_json(self) -> dict:
        data = dict(self.observation)
        data["linked_actors"] = list(self.linked_actors)
        data["linked_classes"] = list(self.linked_classes)
        data["linked_sdks"] = list(self.linked_sdks)
        return data


def _registrable(host: str) -> str | None:
    try:
        from datasafety.traffic.destinations import registrable_domain

        return registrable_domain(host)
    except Exception:  # noqa: BLE001 - enrichment only
        return None


def link_observations(
    app: AppModel, report: Report, traffic, resolver: ActorResolver, unsearched: dict[str, int] | None = None
) -> list[LinkedObservation]:
    """``unsearched``, when given, receives per DEX the strings the host search had to skip."""
    hosts = sorted({o.host for o in traffic.observations if o.host})
    refs = host_references(app, hosts, resolver, unsearched=unsearched)
    missing = [h for h in hosts if not refs.get(h)]
    domains = {h: _registrable(h) for h in missing}
    domain_refs = host_references(app, sorted({d for d in domains.values() if d}), resolver, unsearched=unsearched)
    tracker_sdks = {s.name: s.id for s in report.sdks if s.source == "exodus"}
    linked = []
    for obs in traffic.observations:
        host_refs = refs.get(obs.host) or domain_refs.get(domains.get(obs.host) or "", [])
        actors = tuple(sorted({r.actor for r in host_refs}, key=lambda a: (a != "first_party", a)))
        sdks = (tracker_sdks[obs.tracker],) if obs.tracker in tracker_sdks else ()
        linked.append(
            LinkedObservation(
                observation=obs.to_json(),
                linked_actors=actors,
                linked_classes=tuple(r.class_name for r in host_refs),
                linked_sdks=sdks,
            )
        )
    return linked


def _destinations(observations: list[LinkedObservation]) -> str:
    by_host: dict[str, dict] = {}
    for o in observations:
        by_host.setdefault(o.observation["host"], o.observation)
    parts = []
    for host, obs in sorted(by_host.items()):
        extra = ", ".join(x for x in (obs.get("organisation"), obs.get("country")) if x)
        parts.append(f"{host} ({extra})" if extra else host)
    if len(parts) > 3:
        parts = parts[:3] + [f"{len(by_host) - 3} more"]
    return ", ".join(parts)


def observed_verdicts(report: Report, knowledge: Knowledge, linked: list[LinkedObservation]) -> tuple[Verdict, ...]:
    """Replace the verdicts of data types seen in traffic with ``collected`` / ``shared``."""
    by_type: dict[str, list[LinkedObservation]] = {}
    for o in linked:
        by_type.setdefault(o.observation["data_type"], []).append(o)
    labels = {d.id: d.label for d in knowledge.data_types}
    names = {s.id: s.name for s in knowledge.sdks} | {s.id: s.name for s in report.sdks}
    names["first_party"] = "the app's own code"
    out = []
    seen = set()
    for verdict in report.verdicts:
        seen.add(verdict.data_type)
        obs = by_type.get(verdict.data_type)
        out.append(verdict if not obs else _observed(verdict, obs, labels, names))
    for data_type in sorted(set(by_type) - seen):
        base = Verdict(data_type, "not_found", None, (), (), "")
        out.append(_observed(base, by_type[data_type], labels, names))
    return tuple(out)


def _observed(verdict: Verdict, obs: list[LinkedObservation], labels: dict[str, str], names: dict[str, str]) -> Verdict:
    third = [o for o in obs if o.observation.get("first_party") is False or o.observation.get("tracker")]
    word = "shared" if third else "collected"
    actors = sorted({a for o in obs for a in o.linked_actors} | {s for o in obs for s in o.linked_sdks}, key=lambda a: (a != "first_party", a))
    label = labels.get(verdict.data_type, verdict.data_type)
    precision = ""
    decimals = [o.observation["precision"]["decimals"] for o in obs if o.observation.get("precision")]
    if decimals:
        best = max(decimals)
        precision = f" with up to {best} decimal place{'s' if best != 1 else ''}"

    def values(n: int) -> str:
        return f"{n} value{'s' if n != 1 else ''}"

    if third:
        explanation = f"{label}: seen in captured traffic{precision}: {values(len(third))} sent to {_destinations(third)}, a third party"
        own = len(obs) - len(third)
        if own:
            explanation += f"; {values(own)} to the publisher's own domain"
        explanation += "."
    else:
        explanation = f"{label}: seen in captured traffic{precision}: {values(len(obs))} sent to {_destinations(obs)}, the publisher's own domain."
    if actors:
        explanation += f" The host is named in the code of {', '.join(names.get(a, a) for a in actors)}."
    return Verdict(
        verdict.data_type,
        word,
        "observed",
        tuple(actors) or verdict.actors,
        tuple(o.observation["id"] for o in obs) + verdict.evidence,
        explanation,
    )


def merge_traffic(app: AppModel, report: Report, knowledge: Knowledge, traffic, resolver: ActorResolver) -> Report:
    """The report with ``observations`` filled and the observed verdicts upgraded."""
    unsearched: dict[str, int] = {}
    linked = link_observations(app, report, traffic, resolver, unsearched)
    anomalies = report.anomalies + tuple(
        Anomaly(
            "host_search_incomplete",
            f"{dex}: {count} strings not searched for observed hosts (string data overlaps beyond the file's size); "
            "the classes linked to an observation may be incomplete",
            "scan",
        )
        for dex, count in sorted(unsearched.items())
    )
    return replace(
        report,
        anomalies=tuple(sorted(set(anomalies), key=lambda a: (a.location, a.code, a.message))),
        observations=tuple(linked),
        verdicts=observed_verdicts(report, knowledge, linked),
        knowledge=report.knowledge + tuple(k for k in traffic.knowledge if k not in report.knowledge),
        traffic_summary={
            "capture": traffic.capture,
            "capture_format": traffic.capture_format,
            "requests_read": traffic.requests_read,
            "anomalies": [a.to_json() for a in traffic.anomalies],
            "enrichment_missing": list(traffic.enrichment_missing),
        },
    )
