"""`datasafety scan` with reachability and flows: --no-flows, --flow-budget, deterministic output."""

from __future__ import annotations

import json

from datasafety import scan
from datasafety.report.json_format import dumps, validate
from tests.cli.test_cli import run
from tests.conftest import shared_path


def test_no_flows_skips_reachability_and_flows(tmp_path):
    out = tmp_path / "r.json"
    result = run("scan", str(shared_path("droidbench/Callbacks/Button2.apk")), "--quiet", "--no-flows", "--json", str(out))
    assert result.returncode == 0, result.stderr
    data = json.loads(out.read_text())
    validate(data)
    assert data["schema_version"] == "1.2"
    assert data["flows"] == []
    assert {c["reachable"] for c in data["call_sites"]} == {None}
    assert [k["name"] for k in data["knowledge"]] == ["api_catalogue", "sdk_catalogue", "permission_map", "data_types"]


def test_flows_in_json_and_terminal(tmp_path):
    out = tmp_path / "r.json"
    result = run("scan", str(shared_path("droidbench/Callbacks/Button2.apk")), "--json", str(out))
    assert result.returncode == 0, result.stderr
    assert "Flows (3: 2 to log, 1 to sms)" in result.stdout
    data = json.loads(out.read_text())
    validate(data)
    assert [f["id"] for f in data["flows"]] == ["flow:0001", "flow:0002", "flow:0003"]
    assert {f["sink_kind"] for f in data["flows"]} == {"log", "sms"}


def test_flow_budget_cut_is_reported_and_deterministic():
    # A budget of 0.001 s (40 interpreted instructions) stops the flow analysis early; the work
    # budget makes the cut-off the same on every run.
    path = shared_path("quark-apk-samples/InsecureBankv2.apk")
    first = scan(path, flow_budget=0.001)
    assert "flows" in first.incomplete
    assert any(a.code == "budget_exhausted" and "flows" in a.message for a in first.anomalies)
    validate(first.to_json())
    assert dumps(first.to_json()) == dumps(scan(path, flow_budget=0.001).to_json())
    complete = scan(path)
    assert "flows" not in complete.incomplete
    assert len(complete.flows) >= len(first.flows)


def test_flow_budget_zero_skips_reachability():
    report = scan(shared_path("droidbench/Callbacks/Button2.apk"), flow_budget=0)
    assert report.incomplete == ("reachability", "flows")
    assert report.flows == ()


def test_memory_budget_stops_the_flow_stage_while_it_runs(monkeypatch):
    # The engine checks the process's resident memory every 256 basic blocks. Make only the
    # engine see a huge RSS: the stage checks before it pass, the flow analysis stops inside.
    import datasafety.analysis.taint.engine as engine

    monkeypatch.setattr(engine, "current_rss_mb", lambda: 1e9)
    path = shared_path("quark-apk-samples/InsecureBankv2.apk")
    report = scan(path, memory_budget=1e6)
    assert report.incomplete == ("flows",)
    assert [a.message for a in report.anomalies if a.code == "budget_exhausted"] == [
        "memory budget ran out during stage flows; the flows found so far are kept"
    ]
    validate(report.to_json())
    monkeypatch.undo()
    assert scan(path, memory_budget=1e6).incomplete == ()
