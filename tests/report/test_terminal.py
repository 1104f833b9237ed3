"""The terminal summary and the Report's notebook helpers, on real apps."""

from __future__ import annotations

from rich.console import Console

from datasafety.report.json_format import dumps
from datasafety.report.terminal import render_scan


def _render(report, width: int) -> str:
    console = Console(width=width, record=True, force_terminal=False, color_system=None)
    render_scan(report.to_json(), console)
    return console.export_text()


def test_which_code_lines_name_caller_api_and_evidence(scan_apk):
    text = _render(scan_apk("droidbench/Callbacks/LocationLeak1.apk"), 140)
    lines = text.splitlines()
    start = lines.index("Which code asks for precise location (1 call sites):")
    assert lines[start + 1] == (
        '  app: de.ecspride.LocationLeak1.onCreate -> LocationManager.requestLocationUpdates '
        '(provider "gps" (GPS_PROVIDER); reachable)'
    )
    assert "Flows (2: 2 to log)" in lines


def test_narrow_terminal_uses_short_columns_and_a_legend(scan_apk):
    text = _render(scan_apk("exodus-core/blooddonation.apk", trackers=True), 80)
    header = next(line for line in text.splitlines() if "data type" in line)
    assert [cell.strip() for cell in header.strip("┃").split("┃")] == ["data type", "verdict", "app", "S1", "S2", "S3", "+1 more"]
    flat = " ".join(text.split())
    assert "P present, - no permission, R reachable, F flows, O observed." in flat
    assert "Exodus trackers present (classes): Google AdMob (77, reachable)" in flat


def test_repr_is_short_and_to_json_text_is_the_cli_json(scan_apk):
    report = scan_apk("droidbench/Callbacks/LocationLeak1.apk")
    assert repr(report) == (
        "<Report de.ecspride 1.0: 1 call sites, 1 SDKs, 2 flows; precise_location=capable, "
        "approximate_location=capable, wifi_scan=declared, cell_info=declared, bluetooth_scan=declared>"
    )
    assert report.to_json_text() == dumps(report.to_json())
