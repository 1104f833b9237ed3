"""The traffic stage: capture -> requests -> fields -> findings -> observations with destinations."""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

from datasafety.knowledge.sources import KnowledgeSource
from datasafety.traffic.capture import read_capture
from datasafety.traffic.destinations import DestinationResolver
from datasafety.traffic.detect import Finding, detect
from datasafety.traffic.detect.profile import DeviceProfile, load_profile
from datasafety.traffic.fields import collect_request
from datasafety.traffic.model import Anomaly, CapturedRequest, Destination, Observation, TrafficResult


class KnowledgeError(ValueError):
    """A knowledge file given explicitly could not be loaded."""


def _load_optional(path, load, error: type[Exception]):
    """``load(path)`` when a path is given, else None; ``error`` becomes :class:`KnowledgeError`."""
    if path is None:
        return None
    try:
        return load(path)
    except error as exc:
        raise KnowledgeError(str(exc)) from None


def load_knowledge(trackers: Path | str | None, whotracksme: Path | str | None, geoip_dir: Path | str | None):
    """Load the optional knowledge sets; paths fall back to their environment variables.

    Returns ``(exodus or None, whotracksme or None, geoip or None)``. Raises
    :class:`KnowledgeError` with a one-line reason when a given path cannot be loaded.
    """
    from datasafety.knowledge import exodus as exodus_mod
    from datasafety.knowledge import geoip as geoip_mod
    from datasafety.knowledge import whotracksme as wtm_mod

    exodus = _load_optional(exodus_mod.resolve_path(trackers), lambda p: _cached_exodus(str(Path(p).resolve())), exodus_mod.TrackerFileError)
    wtm = _load_optional(wtm_mod.resolve_path(whotracksme), wtm_mod.load_whotracksme, wtm_mod.WhoTracksMeError)
    geo = _load_optional(geoip_mod.resolve_dir(geoip_dir), geoip_mod.load_geoip, geoip_mod.GeoIPError)
    return exodus, wtm, geo


_EXODUS_CACHE: dict = {}


def _cached_exodus(path: str):
    from datasafety.knowledge.exodus import load_exodus

    stat = Path(path).stat() if Path(path).exists() else None
    key = (path, stat.st_mtime_ns if stat else None)
    if key not in _EXODUS_CACHE:
        _EXODUS_CACHE[key] = load_exodus(path)
    return _EXODUS_CACHE[key]


def observe_request(request: CapturedRequest, profile: DeviceProfile | None, resolver: DestinationResolver) -> tuple[list[Observation], list[Anomaly], Destination]:
    """Observations (ids unassigned: ``""``) and anomalies for one request."""
    collector = collect_request(request)
    findings = detect(collector.fields, profile)
    destination = resolver.resolve(request.host, request.server_ip)
    observations = [_observation(request, finding, destination) for finding in findings]
    return observations, collector.anomalies, destination


def _observation(request: CapturedRequest, finding: Finding, destination: Destination) -> Observation:
    return Observation(
        id="",
        request_index=request.index,
        method=request.method,
        url=request.url,
        host=request.host,
        where=finding.where,
        data_type=finding.data_type,
        kind=finding.kind,
        value=finding.value,
        encodings=finding.encodings,
        match=finding.match,
        matched_profile_key=finding.profile_key,
        precision=finding.precision,
        organisation=destination.organisation,
        tracker=destination.tracker,
        country=destination.country,
        first_party=destination.first_party,
        server_ip=request.server_ip,
    )


def observation_sort_key(o: Observation):
    """Deterministic order of observations: request, place, type, kind, value, match."""
    return (o.request_index, o.where, o.data_type, o.kind, o.value, o.match, o.matched_profile_key or "")


def analyse_requests(
    requests: Iterable[CapturedRequest | Anomaly],
    *,
    capture: str = "",
    capture_format: str = "unknown",
    profile: DeviceProfile | None = None,
    exodus=None,
    whotracksme=None,
    geoip=None,
    publisher_package: str | None = None,
) -> TrafficResult:
    """Analyse a stream of requests (and reader anomalies) into a :class:`TrafficResult`."""
    resolver = DestinationResolver(exodus, whotracksme, geoip, publisher_package)
    observations: list[Observation] = []
    anomalies: list[Anomaly] = []
    destinations: dict[str, Destination] = {}
    count = 0
    iterator = iter(requests)
    while True:
        try:
            item = next(iterator)
        except StopIteration:
            break
        except (MemoryError, KeyboardInterrupt):
            raise
        except Exception as exc:  # noqa: BLE001 - last resort: a reader bug must not lose what was read
            kind = "capture_read_failed" if count else "capture_unreadable"
            anomalies.append(Anomaly(kind, f"reading the capture stopped after {count} requests: {type(exc).__name__}: {_one_line(exc)}"))
            break
        if isinstance(item, Anomaly):
            anomalies.append(item)
            continue
        count += 1
        try:
            found, problems, destination = observe_request(item, profile, resolver)
        except (MemoryError, KeyboardInterrupt):
            raise
        except Exception as exc:  # noqa: BLE001 - last resort: one bad request must not lose the others
            anomalies.append(Anomaly("request_analysis_failed", f"request could not be analysed: {type(exc).__name__}: {_one_line(exc)}", item.index))
            continue
        observations.extend(found)
        anomalies.extend(problems)
        if item.host not in destinations or (destinations[item.host].country is None and destination.country):
            destinations[item.host] = destination
    observations.sort(key=observation_sort_key)
    for position in range(len(observations)):
        observations[position] = _with_id(observations[position], position + 1)
    numbered = tuple(observations)
    del observations
    knowledge: list[KnowledgeSource] = []
    missing = []
    if exodus is not None:
        knowledge.append(exodus.source)
    else:
        missing.append("exodus")
    if whotracksme is not None:
        knowledge.append(whotracksme.source)
    else:
        missing.append("whotracksme")
    if geoip is not None:
        knowledge.extend(geoip.sources())
    else:
        missing.append("geoip")
    if not publisher_package:
        missing.append("publisher")
    anomalies.sort(key=lambda a: (a.request_index if a.request_index is not None else -1, a.kind, a.detail))
    return TrafficResult(
        capture=capture,
        capture_format=capture_format,
        observations=numbered,
        anomalies=tuple(anomalies),
        knowledge=tuple(knowledge),
        requests_read=count,
        destinations=tuple(destinations[h] for h in sorted(destinations)),
        enrichment_missing=tuple(missing),
    )


def _one_line(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else ""
    return text[:200]


def _with_id(observation: Observation, number: int) -> Observation:
    from dataclasses import replace

    return replace(observation, id=f"obs:{number:04d}")


def analyse_capture(
    path: Path | str,
    *,
    device: Path | str | DeviceProfile | None = None,
    keylog: Path | str | None = None,
    trackers: Path | str | None = None,
    whotracksme: Path | str | None = None,
    geoip_dir: Path | str | None = None,
    publisher_package: str | None = None,
) -> TrafficResult:
    """Personal data observed in a capture file (HAR, mitmproxy flows, pcap/pcapng).

    ``device``: device profile YAML path (or a loaded :class:`DeviceProfile`).
    ``keylog``: NSS key log for TLS in pcap files. ``trackers``: Exodus ``trackers.json``
    (else ``$DATASAFETY_TRACKERS``). ``whotracksme``: WhoTracks.me ``trackerdb.sql[.gz]``
    (else ``$DATASAFETY_WHOTRACKSME``). ``geoip_dir``: directory with ``geoip``/``geoip6``
    (else ``$DATASAFETY_GEOIP_DIR``). ``publisher_package``: the app's package name, for
    first- vs third-party.

    Bad capture content never raises: it becomes anomalies (``result.readable`` is False
    when nothing could be read). Raises :class:`~datasafety.traffic.detect.profile.ProfileError`
    for a bad device profile and :class:`KnowledgeError` for an unloadable knowledge file.
    """
    path = Path(path)
    profile = device if isinstance(device, DeviceProfile) else (load_profile(device) if device else None)
    exodus, wtm, geo = load_knowledge(trackers, whotracksme, geoip_dir)
    capture_format, stream = read_capture(path, Path(keylog) if keylog else None)
    return analyse_requests(
        stream,
        capture=path.name,
        capture_format=capture_format,
        profile=profile,
        exodus=exodus,
        whotracksme=wtm,
        geoip=geo,
        publisher_package=publisher_package,
    )
