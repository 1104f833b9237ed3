"""Presentation of a :class:`TrafficResult`: terminal table and JSON file.

The terminal table has one row per destination host and data type, with the number of
observations, the finest location precision, and who receives it.
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from pathlib import Path

from datasafety.traffic.model import TrafficResult


def to_json_text(result: TrafficResult) -> str:
    """The JSON report as text: sorted keys, two-space indent, trailing newline."""
    return json.dumps(result.to_json(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write_json(result: TrafficResult, destination: Path) -> None:
    """Write the JSON report to ``destination`` (``-`` for standard output)."""
    text = to_json_text(result)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        # A lone UTF-16 surrogate from a JSON escape in the capture: written as its escape.
        text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    if str(destination) == "-":
        sys.stdout.write(text)
    else:
        destination.write_text(text, encoding="utf-8")


def _party(value: bool | None) -> str:
    return "first" if value else ("third" if value is False else "?")


def summary_rows(result: TrafficResult) -> list[tuple[str, ...]]:
    """Rows ``(host, data type, count, precision, organisation, tracker, country, party)``."""
    groups: dict[tuple[str, str], list] = defaultdict(list)
    for observation in result.observations:
        groups[(observation.host, observation.data_type)].append(observation)
    rows = []
    for (host, data_type), items in sorted(groups.items()):
        first = items[0]
        precision = ""
        located = [o.precision for o in items if o.precision is not None]
        if located:
            finest = min(located, key=lambda p: p.metres)
            grid = ", coarse grid" if finest.coarse_grid else ""
            precision = f"{finest.metres:g} m ({finest.decimals} dp{grid})"
        kinds = sorted({o.kind for o in items})
        label = data_type if data_type in ("precise_location", "approximate_location", "email", "phone_number") else f"{data_type} ({', '.join(kinds)})"
        rows.append((host, label, str(len(items)), precision, first.organisation or "", first.tracker or "", first.country or "", _party(first.first_party)))
    return rows


def print_summary(result: TrafficResult) -> None:
    """Print the table and a line per anomaly kind to the terminal (stdout)."""
    from rich.console import Console
    from rich.table import Table

    console = Console()
    if not console.is_terminal:
        console = Console(width=140)
    table = Table(title=f"Personal data in {result.capture} ({result.requests_read} requests)")
    for column in ("destination", "data type", "n", "precision", "organisation", "tracker", "country", "party"):
        table.add_column(column, justify="right" if column == "n" else "left")
    rows = summary_rows(result)
    for row in rows:
        table.add_row(*row)
    if rows:
        console.print(table)
    else:
        console.print(f"No personal data found in {result.requests_read} requests of {result.capture}.")
    counts: dict[str, int] = defaultdict(int)
    for anomaly in result.anomalies:
        counts[anomaly.kind] += 1
    for kind, count in sorted(counts.items()):
        example = next(a.detail for a in result.anomalies if a.kind == kind)
        console.print(f"[yellow]anomaly[/yellow] {kind} x{count}: {example}", markup=True, highlight=False)
    if result.enrichment_missing:
        console.print(f"not enriched (no data given): {', '.join(result.enrichment_missing)}", highlight=False)
