"""Bad input: damaged HAR, huge bodies, unknown encodings, unreadable files, exit codes."""

from __future__ import annotations

import json
import tracemalloc

from datasafety.traffic import analyse_capture
from datasafety.traffic.command import run_traffic
from tests.traffic.conftest import har_entry, rows, write_har


def test_invalid_json_har_salvages_complete_entries(tmp_path):
    capture = write_har(tmp_path / "c.har", [
        har_entry("GET", "https://a.example.com/?email=jane%40example.org"),
        har_entry("GET", "https://b.example.com/?lat=48.8584&lon=2.2945"),
    ])
    text = capture.read_text()
    capture.write_text(text[: text.index("b.example.com") + 20])
    result = analyse_capture(capture)
    assert result.requests_read == 1
    assert [a.kind for a in result.anomalies] == ["har_invalid_json"]
    assert rows(result) == [(0, "query:email", "email", "email", "jane@example.org", "pattern", None)]


def test_unreadable_har_exits_2_with_one_line(tmp_path, capsys):
    capture = tmp_path / "broken.har"
    capture.write_text('{"log": {"entries": [ {"request": ')
    code = run_traffic(capture, device=None, keylog=None, json_out=None, trackers=None, quiet=True)
    captured = capsys.readouterr()
    assert code == 2
    assert captured.err.count("\n") == 1 and "Traceback" not in captured.err
    assert captured.err.startswith("datasafety traffic: broken.har: HAR is not valid JSON")


def test_unknown_file_exits_2(tmp_path, capsys):
    capture = tmp_path / "x.bin"
    capture.write_bytes(b"\x00\x01binary")
    assert run_traffic(capture, device=None, keylog=None, json_out=None, trackers=None, quiet=True) == 2
    assert capsys.readouterr().err == "datasafety traffic: x.bin: x.bin is not a HAR, mitmproxy flow, pcap or pcapng file\n"


def test_bad_device_profile_exits_2(tmp_path, capsys):
    capture = write_har(tmp_path / "c.har", [har_entry("GET", "https://a.example.com/")])
    device = tmp_path / "device.yaml"
    device.write_text("imei: [unclosed\n")
    assert run_traffic(capture, device=device, keylog=None, json_out=None, trackers=None, quiet=True) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is not valid YAML" in err


def test_unknown_content_encoding_is_an_anomaly_and_body_still_scanned(tmp_path):
    capture = write_har(tmp_path / "c.har", [
        har_entry("POST", "https://a.example.com/e", headers=[("Content-Encoding", "x-snappy-framed")], body='{"email":"jane@example.org"}'),
    ])
    result = analyse_capture(capture)
    assert [(a.kind, a.detail) for a in result.anomalies] == [
        ("unknown_content_encoding", "unknown Content-Encoding 'x-snappy-framed'; body scanned as sent"),
    ]
    assert rows(result) == [(0, "body.json:$.email", "email", "email", "jane@example.org", "pattern", None)]


def test_100_mb_body_is_capped_with_bounded_memory(tmp_path):
    huge = "A" * (100 * 1024 * 1024)
    capture = tmp_path / "huge.har"
    entries = [har_entry("POST", "https://a.example.com/upload?email=jane%40example.org", body=huge, mime="text/plain")]
    capture.write_text(json.dumps({"log": {"version": "1.2", "entries": entries}}))
    del huge, entries
    tracemalloc.start()
    result = analyse_capture(capture)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert result.requests_read == 1
    assert [a.kind for a in result.anomalies] == ["body_truncated"]
    assert rows(result) == [(0, "query:email", "email", "email", "jane@example.org", "pattern", None)]
    # The HAR text itself must be held once (JSON), the scanned part is capped at 8 MiB.
    assert peak < 450 * 1024 * 1024


def test_json_output_is_deterministic(tmp_path):
    capture = write_har(tmp_path / "c.har", [har_entry("GET", "https://a.example.com/?lat=48.8584&lon=2.2945&email=jane%40example.org")])
    first, second = tmp_path / "1.json", tmp_path / "2.json"
    assert run_traffic(capture, device=None, keylog=None, json_out=first, trackers=None, quiet=True) == 0
    assert run_traffic(capture, device=None, keylog=None, json_out=second, trackers=None, quiet=True) == 0
    assert first.read_bytes() == second.read_bytes()
    document = json.loads(first.read_text())
    assert [o["id"] for o in document["observations"]] == ["obs:0001", "obs:0002"]
    assert document["enrichment_missing"] == ["exodus", "whotracksme", "geoip", "publisher"]
    assert document["knowledge"] == []
