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
    start = lines.index("Which code asks for precise location (1 call site):")
    assert lines[start + 1] == (
        '  app: de.ecspride.LocationLeak1.onCreate -> LocationManager.requestLocationUpdates '
        '(provider "gps" (GPS_PROVIDER); reachable)'
    )
    # Precise location implies approximate: the verdict, the table cell and the list agree.
    start = lines.index("Which code asks for approximate location (1 call site):")
    assert lines[start + 1] == lines[lines.index("Which code asks for precise location (1 call site):") + 1]
    row = next(line for line in lines if line.startswith("│ approximate_location"))
    assert [cell.strip() for cell in row.strip("│").split("│")] == ["approximate_location", "capable", "reachable"]
    assert "Flows (2: 2 to log)" in lines


def test_bare_dex_cells_say_present_and_absence_is_not_found(tmp_path):
    import zipfile

    from datasafety import scan
    from tests.conftest import shared_path

    dex = tmp_path / "LocationLeak1.dex"
    with zipfile.ZipFile(shared_path("droidbench/Callbacks/LocationLeak1.apk")) as apk:
        dex.write_bytes(apk.read("classes.dex"))
    report = scan(dex)
    verdicts = {v.data_type: v.verdict for v in report.verdicts}
    assert verdicts["precise_location"] == "present_permission_unknown"
    assert verdicts["contacts"] == "not_found"
    assert "not_possible" not in verdicts.values()
    lines = _render(report, 140).splitlines()
    assert lines[2].startswith("Partial report: not analysed or not finished: reachability, flows (why: see the anomalies")
    row = next(line for line in lines if line.startswith("│ precise_location"))
    assert [cell.strip() for cell in row.strip("│").split("│")] == ["precise_location", "present_permission_unknown", "present"]


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
        "<Report de.ecspride 1.0: 1 call site, 1 SDK, 2 flows; precise_location=capable, "
        "approximate_location=capable, wifi_scan=declared, cell_info=declared, bluetooth_scan=declared>"
    )
    assert report.to_json_text() == dumps(report.to_json())
