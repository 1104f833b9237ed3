"""Rich terminal summary of a scan report (renders from the JSON contract).

The centre is a table of data types (rows) by actors (columns) with the
strongest grade in each cell; verdict words and one-line explanations follow.
"""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

VERDICT_STYLE = {
    "collected": "bold red",
    "shared": "bold red",
    "capable": "red",
    "present_not_permitted": "yellow",
    "declared": "yellow",
    "not_found": "dim",
    "not_possible": "green",
    "unknown": "dim",
    "present_permission_unknown": "yellow",
}
MAX_ACTOR_COLUMNS = 7
CELL = {"present": "present", "present (no permission)": "no perm.", "reachable": "reachable", "flows": "flows", "observed": "observed"}
SHORT_CELL = {"present": "P", "present (no permission)": "-", "reachable": "R", "flows": "F", "observed": "O"}
CELL_RANK = {"present (no permission)": 0, "present": 1, "reachable": 2, "flows": 3, "observed": 4}
MAX_FLOW_LINES = 8
MAX_CALLERS = 6
HEADER_WIDTH = 14


def _short_name(name: str) -> str:
    """``Google Play services (base, catch-all)`` -> ``Google Play services``."""
    return name.split(" (")[0]


def _escaped(value):
    """The report with every string escaped for Rich markup: names in hostile apps may contain ``[...]``."""
    if isinstance(value, str):
        return escape(value)
    if isinstance(value, list):
        return [_escaped(v) for v in value]
    if isinstance(value, dict):
        return {k: _escaped(v) for k, v in value.items()}
    return value


def render_scan(report: dict, console: Console) -> None:
    report = _escaped(report)
    app = report["app"]
    title = f"{app['package'] or app['file_name']} {app['version_name']}".strip()
    target = app["effective_target_sdk"] if app["package"] else "unknown (no manifest)"
    console.print(f"[bold]{title}[/bold]  target SDK {target}  "
                  f"{app['dex_count']} DEX, {app['class_count']} classes, {app['method_count']} methods")
    console.print(f"sha256 {app['file_sha256']}")
    if report.get("incomplete"):
        console.print(f"[bold yellow]Partial report[/bold yellow]: not analysed or not finished: {', '.join(report['incomplete'])} "
                      "(why: see the anomalies at the end); verdicts that rest on them say unknown or may miss evidence.")
    sdk_names = {s["id"]: s["name"] for s in report["sdks"]}
    grades: dict[tuple[str, str], str] = {}
    actor_sites: dict[str, int] = {}
    has_manifest = _has_manifest(report)
    site_grades: dict[str, tuple[str, str]] = {}
    for site in report["call_sites"]:
        grade = "present" if site["permission_requested"] or not has_manifest else "present (no permission)"
        if grade == "present" and site.get("reachable"):
            grade = "reachable"
        site_grades[site["id"]] = (site["actor"], grade)
        actor_sites[site["actor"]] = actor_sites.get(site["actor"], 0) + 1
    # Cells follow each verdict's evidence, which includes the call sites of implying data types
    # (a precise-location call site is evidence for approximate location too).
    for verdict in report["verdicts"]:
        for evidence in verdict["evidence"]:
            if evidence not in site_grades:
                continue
            actor, grade = site_grades[evidence]
            key = (verdict["data_type"], actor)
            if CELL_RANK[grade] > CELL_RANK.get(grades.get(key, ""), -1):
                grades[key] = grade
    for flow in report.get("flows", []):
        if flow["sink_kind"] == "network":
            for dt in flow["data_types"]:
                grades[(dt, flow["actor"])] = "flows"
            actor_sites[flow["actor"]] = actor_sites.get(flow["actor"], 0) + 1
    for obs in report.get("observations", []):
        for actor in obs.get("linked_actors", []):
            grades[(obs["data_type"], actor)] = "observed"
            actor_sites[actor] = actor_sites.get(actor, 0) + 1
    actors = sorted(actor_sites, key=lambda a: (a != "first_party", -actor_sites[a], a))
    narrow = console.width < 120
    shown = actors[: (4 if narrow else MAX_ACTOR_COLUMNS)]
    table = Table(
        title="Personal data by actor (grade of the evidence)",
        caption=None if narrow else "present = code calling the API is in the package; no perm. = it is, but the permission is not requested; "
        "reachable = that code can run from an entry point; flows = a data flow carries it to a network sink",
    )
    table.add_column("data type", style="bold", no_wrap=True)
    table.add_column("verdict", no_wrap=True)
    legend = []
    for actor in shown:
        name = "app" if actor == "first_party" else _short_name(sdk_names.get(actor, actor))
        if narrow and actor != "first_party":
            name = f"S{len(legend) + 1}"
            legend.append(f"{name} = {sdk_names.get(actor, actor)}")
        table.add_column(name, overflow="ellipsis", no_wrap=True, max_width=None if narrow else HEADER_WIDTH + 8)
    if len(actors) > len(shown):
        table.add_column(f"+{len(actors) - len(shown)} more")
    for verdict in report["verdicts"]:
        dt = verdict["data_type"]
        style = VERDICT_STYLE.get(verdict["verdict"], "")
        cells = [(SHORT_CELL if narrow else CELL).get(grades.get((dt, a), ""), "") for a in shown]
        if len(actors) > len(shown):
            hidden = sum(1 for a in actors[len(shown):] if (dt, a) in grades)
            cells.append((str(hidden) if narrow else f"{hidden} more") if hidden else "")
        table.add_row(dt, f"[{style}]{verdict['verdict']}[/{style}]" if style else verdict["verdict"], *cells)
    console.print(table)
    if legend:
        console.print("P present, - no permission, R reachable, F flows, O observed. " + "; ".join(legend))
    for verdict in report["verdicts"]:
        if verdict["verdict"] in ("capable", "present_not_permitted", "declared", "collected", "shared", "present_permission_unknown"):
            console.print(f"- {verdict['explanation']}")
    _print_callers(report, console, sdk_names)
    flows = report.get("flows", [])
    if flows:
        kinds: dict[str, int] = {}
        for flow in flows:
            kinds[flow["sink_kind"]] = kinds.get(flow["sink_kind"], 0) + 1
        console.print(f"[bold]Flows[/bold] ({len(flows)}: " + ", ".join(f"{n} to {k}" for k, n in sorted(kinds.items())) + ")")
        for flow in flows[:MAX_FLOW_LINES]:
            src = flow["source"]["api"].rsplit(".", 2)
            sink = flow["sink"]["api"].rsplit(".", 2)
            where = sdk_names.get(flow["actor"], "app") if flow["actor"] != "first_party" else "app"
            dest = f" -> {', '.join(flow['destinations'][:2])}" if flow["destinations"] else ""
            console.print(f"- {'/'.join(flow['data_types'])}: {'.'.join(src[-2:])} -> {'.'.join(sink[-2:])} "
                          f"[{flow['sink_kind']}] in {where}{dest}")
        if len(flows) > MAX_FLOW_LINES:
            console.print(f"  ... {len(flows) - MAX_FLOW_LINES} more in the JSON report")
    if report.get("traffic"):
        traffic = report["traffic"]
        console.print(
            f"[bold]Traffic[/bold] {traffic['capture']} ({traffic['capture_format']}, {traffic['requests_read']} requests): "
            f"{len(report['observations'])} observations of personal data"
        )
    for source, label in (("catalogue", "SDKs present"), ("exodus", "Exodus trackers present")):
        sdks = [s for s in report["sdks"] if s["source"] == source]
        if sdks:
            line = ", ".join(f"{s['name']} ({s['class_count']}{', reachable' if s.get('reachable') else ''})" for s in sdks)
            console.print(f"[bold]{label}[/bold] (classes): {line}")
    if report["anomalies"]:
        console.print(f"[yellow]{len(report['anomalies'])} anomalies[/yellow]: "
                      + "; ".join(a["message"] for a in report["anomalies"][:5])
                      + (" ..." if len(report["anomalies"]) > 5 else ""))
    if report.get("incomplete"):
        console.print(f"[yellow]incomplete stages[/yellow]: {', '.join(report['incomplete'])}")


def _has_manifest(report: dict) -> bool:
    """False for a bare DEX: its permissions are unknown, not missing."""
    return bool(report["app"]["package"])


def _print_callers(report: dict, console: Console, sdk_names: dict[str, str]) -> None:
    """Which code: the callers of location APIs (all callers are in the JSON report)."""
    evidence = {v["data_type"]: set(v["evidence"]) for v in report["verdicts"]}
    has_manifest = _has_manifest(report)
    for data_type in ("precise_location", "approximate_location"):
        # The verdict's call sites: those of the data type and of the types implying it.
        sites = [c for c in report["call_sites"] if c["id"] in evidence.get(data_type, ())]
        if not sites:
            continue
        sites.sort(key=lambda c: (not c.get("reachable"), c["actor"] != "first_party", c["caller_class"], c["pc"]))
        console.print(f"[bold]Which code asks for {data_type.replace('_', ' ')}[/bold] ({len(sites)} call site{'s' if len(sites) != 1 else ''}):")
        for c in sites[:MAX_CALLERS]:
            actor = "app" if c["actor"] == "first_party" else sdk_names.get(c["actor"], c["actor"])
            method = c["caller_method"].split("(")[0]
            no_permission = has_manifest and not c["permission_requested"]
            extra = [x for x in (c["precision_evidence"], "reachable" if c.get("reachable") else "",
                                 "permission not requested" if no_permission else "") if x]
            console.print(
                f"  {actor}: {c['caller_class']}.{method} -> {c['api'].rsplit('.', 2)[-2]}.{c['api'].rsplit('.', 1)[-1]}"
                + (f" ({'; '.join(extra)})" if extra else "")
            )
        if len(sites) > MAX_CALLERS:
            console.print(f"  ... {len(sites) - MAX_CALLERS} more in the JSON report (call_sites)")
