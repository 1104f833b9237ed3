"""The `datasafety scan` command as a user runs it: exit codes, stderr, JSON files."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from datasafety.report.json_format import validate
from tests.conftest import EXODUS, shared_path


def run(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "datasafety.cli", *args], capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL
    )


def test_scan_writes_schema_valid_json_and_summary(tmp_path):
    out = tmp_path / "r.json"
    result = run("scan", str(shared_path("exodus-core/blooddonation.apk")), "--trackers", str(EXODUS), "--json", str(out))
    assert result.returncode == 0, result.stderr
    assert "Personal data by actor" in result.stdout
    assert "precise_location" in result.stdout
    data = json.loads(out.read_text())
    validate(data)
    assert data["app"]["package"] == "fr.mobdev.blooddonation"
    assert [k["name"] for k in data["knowledge"]] == [
        "api_catalogue", "sdk_catalogue", "permission_map", "data_types", "framework_model", "sources_sinks", "exodus_trackers"
    ]
    assert data["knowledge"][-1]["sha256"].startswith("4fe6319f")


def test_json_is_byte_identical_across_runs_and_jobs(tmp_path):
    apk = str(shared_path("npm-io.appium.settings/settings_apk-debug.apk"))
    outs = []
    for jobs in ("1", "2", "1"):
        out = tmp_path / f"r{len(outs)}.json"
        result = run("scan", apk, "--quiet", "--jobs", jobs, "--json", str(out))
        assert result.returncode == 0, result.stderr
        assert result.stdout == ""
        outs.append(out.read_bytes())
    assert outs[0] == outs[1] == outs[2]


@pytest.mark.parametrize(
    "setup,needle",
    [
        ("missing", "no such file"),
        ("text", "not an APK, split bundle or DEX file"),
        ("directory", "is a directory"),
    ],
)
def test_unusable_input_exits_2_with_one_line(tmp_path, setup, needle):
    target = tmp_path / "input.apk"
    if setup == "text":
        target.write_text("this is not an app\n")
    elif setup == "directory":
        target.mkdir()
    result = run("scan", str(target))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("datasafety: ") and needle in lines[0]
    assert "Traceback" not in result.stderr


def test_bad_tracker_file_exits_2(tmp_path):
    bad = tmp_path / "trackers.json"
    bad.write_text("{not json")
    result = run("scan", str(shared_path("droidbench/Callbacks/LocationLeak1.apk")), "--trackers", str(bad))
    assert result.returncode == 2
    assert "cannot read Exodus tracker file" in result.stderr
    assert "Traceback" not in result.stderr


def test_time_budget_gives_partial_report_not_error(tmp_path):
    out = tmp_path / "partial.json"
    result = run("scan", str(shared_path("npm-io.appium.settings/settings_apk-debug.apk")), "--quiet", "--time-budget", "0", "--json", str(out))
    assert result.returncode == 0, result.stderr
    data = json.loads(out.read_text())
    validate(data)
    assert data["incomplete"] == ["dex_index", "call_sites", "sdks", "reachability", "flows"]
    assert data["app"]["package"] == "io.appium.settings"
    assert data["permissions"]  # the manifest is still read
    assert "budget_exhausted" in {a["code"] for a in data["anomalies"]}
    # Nothing was searched, so no verdict may claim absence.
    assert {v["verdict"] for v in data["verdicts"]} == {"unknown"}


def test_memory_budget_gives_partial_report(tmp_path):
    out = tmp_path / "partial.json"
    result = run("scan", str(shared_path("exodus-core/instapaper.apk")), "--quiet", "--memory-budget", "1", "--json", str(out))
    assert result.returncode == 0, result.stderr
    data = json.loads(out.read_text())
    assert data["incomplete"] == ["dex_index", "call_sites", "sdks", "reachability", "flows"]
    assert any("memory budget ran out" in a["message"] for a in data["anomalies"])


def test_json_to_stdout():
    result = run("scan", str(shared_path("droidbench/Callbacks/LocationLeak1.apk")), "--json", "-")
    assert result.returncode == 0
    data = json.loads(result.stdout)
    assert data["call_sites"][0]["caller_class"] == "de.ecspride.LocationLeak1"
