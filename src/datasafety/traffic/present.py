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


_STREAMED = ("observations", "anomalies")
"""Report lists written item by item (a capture can give hundreds of thousands)."""


def iter_json_text(result: TrafficResult):
    """The JSON report of :func:`to_json_text` in pieces, without building the whole
    document: the long lists are encoded one item at a time (same bytes)."""
    options = {"indent": 2, "sort_keys": True, "ensure_ascii": False}
    lists = {"observations": result.observations, "anomalies": result.anomalies}
    document = result.to_json_shell()
    markers = {}
    for key in _STREAMED:
        if lists[key]:
            markers[key] = f"\u0000{key}\u0000"
            document[key] = markers[key]
        else:
            document[key] = []
    text = json.dumps(document, **options) + "\n"
    for key in sorted(markers, key=lambda k: text.index(json.dumps(markers[k]))):
        encoded_marker = json.dumps(markers[key])
        head, _, text = text.partition(encoded_marker)
        yield head + "[\n    "
        for number, item in enumerate(lists[key]):
            piece = json.dumps(item.to_json(), **options).replace("\n", "\n    ")
            yield piece if number == 0 else ",\n    " + piece
        yield "\n  ]"
    yield text


def to_json_text(result: TrafficResult) -> str:
    """The JSON report as text: sorted keys, two-space indent, trailing newline."""
    return "".join(iter_json_text(result))


def write_json(result: TrafficResult, destination: Path) -> None:
    """Write the JSON report to ``destination`` (``-`` for standard output), streamed.

    A lone UTF-16 surrogate (from a JSON escape in the capture) is written as its escape."""
    if str(destination) == "-":
        for piece in iter_json_text(result):
            sys.stdout.write(piece.encode("utf-8", "backslashreplace").decode("utf-8"))
        return
    with open(destination, "w", encoding="utf-8", errors="backslashreplace") as handle:
        for piece in iter_json_text(result):
            handle.write(piece)


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
