"""The scan pipeline: app/ -> analysis/ -> verdict/ -> Report.

Each stage is a function of plain models; nothing here prints.
"""

from __future__ import annotations

from pathlib import Path
from struct import error as struct_error

from datasafety.analysis import call_sites as call_sites_mod
from datasafety.analysis import sdks as sdks_mod
from datasafety.analysis.actors import FIRST_PARTY, ActorResolver
from datasafety.analysis.call_sites import find_call_sites
from datasafety.analysis.callgraph import build_call_graph
from datasafety.analysis.permissions import find_permissions
from datasafety.analysis.reachability import compute_reachability
from datasafety.analysis.sdks import find_sdks
from datasafety.analysis.taint import find_flows
from datasafety.app.anomaly import Anomaly
from datasafety.app.model import AppModel, ProgressFn, load_app
from datasafety.budget import Budget
from datasafety.knowledge import exodus
from datasafety.knowledge.catalogue import Knowledge, load_knowledge
from datasafety.knowledge.flows import load_flow_knowledge
from datasafety.report.model import AppSummary, Report
from datasafety.verdict.verdicts import decide

__version__ = "0.1.0"


def summarise_app(app: AppModel) -> AppSummary:
    m = app.manifest
    return AppSummary(
        file_name=app.path.name,
        file_sha256=app.file_sha256,
        input_kind=app.kind,
        package=m.package,
        version_name=m.version_name,
        version_code=m.version_code,
        min_sdk=m.min_sdk,
        target_sdk=m.target_sdk,
        max_sdk=m.max_sdk,
        effective_target_sdk=m.effective_target_sdk,
        signer_sha256=app.signer_sha256,
        splits=app.split_names,
        dex_count=len(app.dex),
        class_count=app.class_count,
        method_count=app.method_count,
    )


# What a stage may raise on hostile input that the stage itself did not foresee. The scan
# keeps what the other stages found and reports the failed stage (DESIGN.md: never a traceback).
_STAGE_ERRORS = (ValueError, IndexError, KeyError, TypeError, AttributeError, OverflowError, RecursionError,
                 UnicodeError, ArithmeticError, AssertionError, struct_error)


def _stage_failed(stage: str, exc: BaseException, incomplete: list[str], anomalies: list[Anomaly]) -> None:
    incomplete.append(stage)
    anomalies.append(
        Anomaly("analysis_failed", f"stage {stage} stopped on malformed input ({type(exc).__name__}: {exc})"[:300], "scan")
    )


def analyse(
    app: AppModel,
    knowledge: Knowledge,
    trackers: exodus.ExodusSignatures | None = None,
    budget: Budget | None = None,
    progress: ProgressFn | None = None,
    jobs: int = 1,
    flows: bool = True,
    flow_budget: float | None = 120.0,
) -> Report:
    """Run the static analyses on an indexed app and decide the verdicts.

    Stages run while ``budget`` lasts; the rest are listed in ``incomplete``.
    ``flows``: also build the call graph, reachability and data flows, within
    ``flow_budget`` seconds (None: no limit besides ``budget``).
    """
    budget = budget or Budget()
    incomplete = list(app.incomplete)
    anomalies = list(app.anomalies)
    resolver = ActorResolver(knowledge, trackers)
    permissions = find_permissions(app.manifest, knowledge)
    call_sites: list = []
    sdks: list = []
    for stage in ("call_sites", "sdks"):
        reason = budget.exhausted()
        if reason:
            incomplete.append(stage)
            anomalies.append(Anomaly("budget_exhausted", f"{reason} budget ran out before stage {stage}", "scan"))
            continue
        try:
            if stage == "call_sites":
                call_sites = find_call_sites(app, knowledge, resolver, jobs=jobs)
            else:
                sdks = find_sdks(app, resolver)
        except _STAGE_ERRORS as exc:
            _stage_failed(stage, exc, incomplete, anomalies)
            continue
        if progress:
            progress(stage, 1, 1)
    found_flows: list = []
    sources = list(knowledge.sources)
    if flows and not app.has_manifest:
        # Entry points come from the manifest's components: without one, "not reachable" would be a
        # claim without evidence. Call sites keep reachable = None (not analysed).
        incomplete.extend(("reachability", "flows"))
        anomalies.append(
            Anomaly("flows_not_analysed", "no manifest, so no entry points: reachability and flows were not analysed", "scan")
        )
    elif flows:
        flow_knowledge = load_flow_knowledge()
        sources.extend(flow_knowledge.knowledge_sources)
        stage_budget = Budget(seconds=flow_budget, memory_mb=budget.memory_mb)
        reason = budget.exhausted() or stage_budget.exhausted()
        if reason:
            incomplete.extend(("reachability", "flows"))
            anomalies.append(Anomaly("budget_exhausted", f"{reason} budget ran out before stage reachability", "scan"))
        else:
            try:
                graph = build_call_graph(app)
                reachability = compute_reachability(graph, flow_knowledge)
                call_sites = call_sites_mod.with_reachability(call_sites, reachability)
                sdks = sdks_mod.with_reachability(sdks, app, resolver, reachability)
                if graph.truncated:
                    # A size limit cut the call graph short (hostile input): what is reachable is a lower bound.
                    incomplete.append("reachability")
                    anomalies.extend(Anomaly("call_graph_capped", msg, "scan") for msg in graph.truncated)
            except _STAGE_ERRORS as exc:
                _stage_failed("reachability", exc, incomplete, anomalies)
                incomplete.append("flows")
                graph = None
            if progress:
                progress("reachability", 1, 1)
            if graph is not None:
                capped_before = len(graph.truncated)
                seconds = [r for r in (stage_budget.remaining(), budget.remaining()) if r is not None]
                try:
                    result = find_flows(
                        graph, reachability, knowledge, flow_knowledge, resolver, call_sites, seconds=min(seconds) if seconds else None,
                        memory_mb=budget.memory_mb,
                    )
                    found_flows = list(result.flows)
                    if len(graph.truncated) > capped_before:
                        if result.complete:
                            incomplete.append("flows")
                        anomalies.extend(Anomaly("call_graph_capped", msg, "scan") for msg in graph.truncated[capped_before:])
                    if not result.complete:
                        incomplete.append("flows")
                        anomalies.append(Anomaly("budget_exhausted", f"{result.stopped_by} budget ran out during stage flows; the flows found so far are kept", "scan"))
                except _STAGE_ERRORS as exc:
                    _stage_failed("flows", exc, incomplete, anomalies)
            if progress:
                progress("flows", 1, 1)
    names = {s.id: s.name for s in knowledge.sdks}
    names[FIRST_PARTY] = "the app's own code"
    verdicts = decide(
        knowledge, call_sites, permissions, app.manifest.effective_target_sdk, names,
        flows=tuple(found_flows), package=app.manifest.package,
        call_sites_complete="call_sites" not in incomplete and "dex_index" not in incomplete,
        has_manifest=app.has_manifest,
    )
    if trackers is not None:
        sources.append(trackers.source)
    return Report(
        app=summarise_app(app),
        permissions=tuple(permissions),
        call_sites=tuple(call_sites),
        sdks=tuple(sdks),
        verdicts=tuple(verdicts),
        anomalies=tuple(sorted(set(anomalies), key=lambda a: (a.location, a.code, a.message))),
        knowledge=tuple(sources),
        incomplete=tuple(incomplete),
        tool_version=__version__,
        flows=tuple(found_flows),
    )


def scan(
    path: str | Path,
    trackers: str | Path | None = None,
    *,
    jobs: int = 1,
    time_budget: float | None = None,
    memory_budget: float | None = None,
    progress: ProgressFn | None = None,
    traffic: str | Path | None = None,
    device: str | Path | None = None,
    keylog: str | Path | None = None,
    whotracksme: str | Path | None = None,
    geoip_dir: str | Path | None = None,
    flows: bool = True,
    flow_budget: float | None = 120.0,
) -> Report:
    """Scan an APK, split bundle (``.apks``/``.xapk``/``.apkm``) or DEX file.

    ``trackers``: path of an Exodus ``trackers.json``; default ``$DATASAFETY_TRACKERS``.
    ``jobs``: worker threads for DEX indexing and call-site search (the report does not depend on it).
    ``time_budget`` (seconds) and ``memory_budget`` (MB of resident memory) bound
    the whole scan: when one runs out the report keeps what was found and lists
    the unfinished stages in ``incomplete``.
    ``progress(stage, done, total)`` is called as work advances.
    ``flows``: run the call graph, reachability and flow analysis (default);
    ``flow_budget``: seconds for them (default 120; when it runs out the flows
    found so far are kept and the stage is listed in ``incomplete``).
    ``traffic``: a capture (HAR, mitmproxy flows, pcap/pcapng) whose observations
    are merged with grade ``observed`` (``device``, ``keylog``, ``whotracksme``,
    ``geoip_dir`` as for :func:`datasafety.traffic.analyse_capture`); raises
    ``TrafficInputError`` when the capture has nothing readable.
    Raises ``datasafety.app.container.InputError`` when the input is unusable and
    ``datasafety.knowledge.exodus.TrackerFileError`` for a bad signature file.
    """
    budget = Budget(seconds=time_budget, memory_mb=memory_budget)
    knowledge = load_knowledge()
    tracker_path = exodus.resolve_path(trackers)
    signatures = exodus.load_exodus(tracker_path) if tracker_path else None
    app = load_app(path, jobs=jobs, budget=budget, progress=progress)
    report = analyse(
        app, knowledge, signatures, budget=budget, progress=progress, jobs=jobs, flows=flows, flow_budget=flow_budget
    )
    if traffic is not None:
        report = _merge_capture(app, report, knowledge, signatures, traffic, device, keylog, whotracksme, geoip_dir, tracker_path)
    return report


class TrafficInputError(ValueError):
    """The capture given with ``--traffic`` cannot be used (one-line message)."""


def _merge_capture(app, report, knowledge, signatures, capture, device, keylog, whotracksme, geoip_dir, tracker_path) -> Report:
    from datasafety.traffic import KnowledgeError, ProfileError, analyse_capture
    from datasafety.verdict.observed import merge_traffic

    capture = Path(capture)
    if not capture.is_file():
        raise TrafficInputError(f"{capture}: no such capture file")
    try:
        result = analyse_capture(
            capture,
            device=device,
            keylog=keylog,
            trackers=tracker_path,
            whotracksme=whotracksme,
            geoip_dir=geoip_dir,
            publisher_package=app.manifest.package or None,
        )
    except (ProfileError, KnowledgeError) as exc:
        raise TrafficInputError(str(exc)) from None
    if not result.readable:
        raise TrafficInputError(f"{capture.name}: nothing readable in the capture")
    return merge_traffic(app, report, knowledge, result, ActorResolver(knowledge, signatures))
