"""Hostile input found by adversarial testing: each test builds the input here, small and fast."""

from __future__ import annotations

import gzip
import time

import pytest

from datasafety.knowledge.whotracksme import WhoTracksMeError, load_whotracksme
from datasafety.traffic import analyse_capture
from datasafety.traffic.command import run_traffic
from tests.traffic.conftest import har_entry, write_har

_WTM_TABLES = """
CREATE TABLE categories(id INTEGER PRIMARY KEY, name TEXT UNIQUE);
CREATE TABLE companies (id TEXT NOT NULL UNIQUE, name TEXT NOT NULL, country VARCHAR (2));
CREATE TABLE trackers (id TEXT NOT NULL UNIQUE, name TEXT NOT NULL, category_id INTEGER, company_id TEXT);
CREATE TABLE tracker_domains (tracker TEXT NOT NULL, domain TEXT UNIQUE NOT NULL);
CREATE UNIQUE INDEX tracker_domain_pair ON tracker_domains (tracker, domain);
INSERT INTO "categories" VALUES(4,'advertising');
INSERT INTO "companies" VALUES('acme','Acme; Inc.','de');
INSERT INTO "trackers" VALUES('acme_ads','Acme Ads',4,'acme');
INSERT INTO "tracker_domains" VALUES('acme_ads','ads.acme.example');
"""


def _wtm(tmp_path, extra: str, name: str = "db.sql"):
    path = tmp_path / name
    path.write_text("BEGIN TRANSACTION;\n" + _WTM_TABLES + extra + "\nCOMMIT;\n")
    return path


@pytest.mark.parametrize("hostile", [
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c) SELECT count(*) FROM c;",
    "INSERT INTO categories SELECT x, 'n' || x FROM (WITH RECURSIVE c(x) AS (SELECT 100 UNION ALL SELECT x+1 FROM c) SELECT x FROM c);",
    "INSERT INTO categories VALUES((WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c) SELECT count(*) FROM c), 'x');",
    "INSERT INTO categories VALUES(99, zeroblob(900000000));",
    "CREATE TABLE big AS SELECT randomblob(900000000);",
    "PRAGMA writable_schema = 1;",
    "CREATE TRIGGER t AFTER INSERT ON categories BEGIN SELECT 1; END;",
    "VACUUM INTO '{out}';",
    "ATTACH DATABASE '{out}' AS p; CREATE TABLE p.t(x);",
])
def test_whotracksme_dump_is_not_run_as_a_script(tmp_path, hostile):
    out = tmp_path / "written.db"
    path = _wtm(tmp_path, hostile.format(out=out))
    started = time.monotonic()
    data = load_whotracksme(path)
    assert time.monotonic() - started < 5
    assert not out.exists()
    assert data.skipped_statements >= 1 and "statements skipped" in data.source.version
    entry = data.lookup("x.ads.acme.example")
    assert (entry.tracker, entry.company, entry.company_country, entry.category) == ("Acme Ads", "Acme; Inc.", "DE", "advertising")


@pytest.mark.parametrize("broken", ["INSERT INTO categories VALUES(5, 'unterminated);", "/* never closed", "INSERT INTO categories VALUES(5, 'x')"])
def test_malformed_whotracksme_dump_exits_2_with_one_line(tmp_path, capsys, broken):
    path = _wtm(tmp_path, "", "ok.sql")
    path.write_text(path.read_text() + broken)
    with pytest.raises(WhoTracksMeError):
        load_whotracksme(path)
    capture = write_har(tmp_path / "c.har", [har_entry("GET", "https://a.example.com/")])
    code = run_traffic(capture, device=None, keylog=None, json_out=None, trackers=None, quiet=True, whotracksme=path)
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("datasafety traffic: cannot load WhoTracks.me data")


def _bomb(coding: str, size: int = 10**8) -> bytes:
    import zlib

    if coding == "br":
        import brotli

        return brotli.compress(bytes(size), quality=5)
    if coding == "zstd":
        import zstandard

        return zstandard.ZstdCompressor(level=3).compress(bytes(size))
    if coding == "deflate":
        return zlib.compress(bytes(size // 4), 9)
    return gzip.compress(bytes(size // 4), compresslevel=9)


@pytest.mark.parametrize("coding", ["br", "zstd", "gzip", "deflate"])
def test_decompression_bomb_body_costs_bounded_memory(tmp_path, coding):
    import base64
    import tracemalloc

    entry = har_entry("POST", "https://a.example.com/e", headers=[("Content-Encoding", coding)], body="x", mime="application/octet-stream")
    entry["request"]["postData"] = {"mimeType": "application/octet-stream", "encoding": "base64", "text": base64.b64encode(_bomb(coding)).decode()}
    capture = write_har(tmp_path / "bomb.har", [entry])
    tracemalloc.start()
    try:
        result = analyse_capture(capture)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 80 * 1024 * 1024, peak
    assert result.requests_read == 1
    assert "decompression_capped" in [a.kind for a in result.anomalies]


def test_many_nested_compressed_values_are_peeled_within_a_budget(tmp_path):
    import base64
    import json

    value = base64.b64encode(gzip.compress(b"a" * 16_000_000, compresslevel=6)).decode()
    body = json.dumps({f"v{i}": value for i in range(200)} | {"email": "jane@example.org"})
    capture = write_har(tmp_path / "nested.har", [har_entry("POST", "https://a.example.com/e", body=body)])
    started = time.monotonic()
    result = analyse_capture(capture)
    assert time.monotonic() - started < 8
    kinds = [a.kind for a in result.anomalies]
    assert "peel_budget_exhausted" in kinds and "decompression_capped" in kinds
    assert [o.value for o in result.observations] == ["jane@example.org"]


def _har(path, request: dict):
    import json

    path.write_text(json.dumps({"log": {"entries": [{"request": request}]}}))
    return path


def _run(capture, capsys, **options):
    code = run_traffic(capture, device=options.get("device"), keylog=None, json_out=options.get("json_out"), trackers=None, quiet=True)
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return code, err


@pytest.mark.parametrize("request_", [
    {"method": "GET", "url": "https://a.example.com/?email=jane@example.org", "headers": 5},
    {"method": "GET", "url": "https://a.example.com/?email=jane@example.org", "cookies": 5},
    {"method": "POST", "url": "https://a.example.com/?email=jane@example.org", "postData": {"params": 5}},
    {"method": "GET", "url": "http://[::1/x?email=jane@example.org"},
    {"method": 5, "url": "https://a.example.com/?email=jane@example.org", "headers": [{"name": 5, "value": ["x"]}]},
])
def test_har_fields_of_the_wrong_type_are_read_without_traceback(tmp_path, capsys, request_):
    result = analyse_capture(_har(tmp_path / "c.har", request_))
    assert result.requests_read == 1
    assert [o.value for o in result.observations] == ["jane@example.org"]
    assert _run(tmp_path / "c.har", capsys)[0] == 0


def test_lone_surrogate_escape_in_har_is_written_as_its_escape(tmp_path, capsys):
    import json

    capture = tmp_path / "s.har"
    capture.write_text('{"log":{"entries":[{"request":{"method":"G\\ud800T","url":"https://a.example.com/\\udfff?email=jane@example.org","headers":[{"name":"X-A","value":"\\ud800"}],"postData":{"text":"{\\"k\\":\\"\\ud800\\"}"}}}]}}')
    out = tmp_path / "o.json"
    code, _ = _run(capture, capsys, json_out=out)
    document = json.loads(out.read_text(encoding="utf-8"))
    assert code == 0 and document["observations"][0]["method"] == "G\\UD800T"
    assert document["observations"][0]["value"] == "jane@example.org"


def test_deeply_nested_har_exits_2_with_one_line(tmp_path, capsys):
    capture = tmp_path / "deep.har"
    capture.write_text('{"log":{"entries":' + "[" * 100_000 + "]" * 100_000 + "}}")
    code, err = _run(capture, capsys)
    assert code == 2 and err.count("\n") == 1 and "nested too deeply" in err


def test_multipart_nested_3000_levels_is_cut_with_an_anomaly(tmp_path):
    body = '{"email":"jane@example.org"}'
    content_type = "application/json"
    for level in range(3000):
        boundary = f"b{level}"
        body = f"--{boundary}\r\nContent-Type: {content_type}\r\n\r\n{body}\r\n--{boundary}--\r\n"
        content_type = f"multipart/mixed; boundary={boundary}"
    capture = write_har(tmp_path / "m.har", [har_entry("POST", "https://a.example.com/u", body=body, mime=content_type)])
    result = analyse_capture(capture)
    assert result.requests_read == 1
    assert [a.kind for a in result.anomalies] == ["multipart_too_deep"]


def test_deeply_nested_mitmproxy_tnetstring_exits_2_with_one_line(tmp_path, capsys):
    data = b"0:~"
    for _ in range(5000):
        data = b"%d:%s]" % (len(data), data)
    capture = tmp_path / "deep.mitm"
    capture.write_bytes(data)
    code, err = _run(capture, capsys)
    assert code == 2 and err.count("\n") == 1 and "nested too deeply" in err


def test_mitmproxy_and_pcap_malformed_ipv6_host(tmp_path):
    from datasafety.traffic.pcap import parse_http1_head
    from tests.traffic.test_mitm import _flow, _write

    capture = _write(tmp_path / "v6.mitm", [_flow(b"GET", "[::1", b"/x?email=jane@example.org", [], b"", "1.1.1.1")])
    result = analyse_capture(capture)
    assert [(o.host, o.value) for o in result.observations] == [("[::1", "jane@example.org")]
    from datasafety.traffic.model import host_of, split_url

    method, target, headers, _ = parse_http1_head(b"GET /x?e=1 HTTP/1.1\r\nHost: [::1\r\n\r\n")
    assert host_of(f"http://{headers[0][1]}{target}") == "[::1"
    assert split_url("http://u@[::1:80/p/q?a=b#f") == ("[::1:80", "/p/q", "a=b")


ALIAS_BOMB = "imei:\n" + "".join(
    f"- &{name} [{', '.join([prev] * 9)}]\n" for name, prev in zip("abcdefgh", ["x", "*a", "*b", "*c", "*d", "*e", "*f", "*g"])
)


@pytest.mark.parametrize("text, message", [
    ("imei: " + "9" * 5000 + "\n", "has a number with too many digits"),
    ("imei: " + "9" * 4000 + "\n", "imei is longer than"),
    ("imei: '" + "9" * 5000 + "'\n", "imei is longer than"),
    ("gps_fix: {latitude: " + "9" * 5000 + ", longitude: 2.0}\n", "has a number with too many digits"),
    ("gps_fix: {latitude: " + "9" * 4000 + ", longitude: 2.0}\n", "gps_fix is out of range"),
    ("gps_fix: {latitude: 1e999, longitude: 2.0}\n", "gps_fix is out of range"),
    ("gps_fix: [1, 2]\n", "gps_fix must be"),
    ("imei: " + "[" * 50_000 + "\n", "nested too deeply"),
    (ALIAS_BOMB, "imei must be a single value"),
    ("? " + "9" * 4000 + "\n: x\n", "unknown device profile key(s): <int>"),
])
def test_hostile_device_profile_exits_2_with_one_line(tmp_path, capsys, text, message):
    capture = write_har(tmp_path / "c.har", [har_entry("GET", "https://a.example.com/")])
    device = tmp_path / "device.yaml"
    device.write_text(text)
    code, err = _run(capture, capsys, device=device)
    assert code == 2 and err.count("\n") == 1 and message in err, err


def test_unexpected_error_in_one_request_is_an_anomaly_and_others_are_analysed(tmp_path, monkeypatch):
    from datasafety.traffic import analyse

    real = analyse.observe_request

    def flaky(request, profile, resolver):
        if request.index == 0:
            raise RuntimeError("boom\nsecond line")
        return real(request, profile, resolver)

    monkeypatch.setattr(analyse, "observe_request", flaky)
    capture = write_har(tmp_path / "c.har", [
        har_entry("GET", "https://a.example.com/?email=a@example.org"),
        har_entry("GET", "https://b.example.com/?email=b@example.org"),
    ])
    result = analyse_capture(capture)
    assert [(a.kind, a.detail, a.request_index) for a in result.anomalies] == [("request_analysis_failed", "request could not be analysed: RuntimeError: boom", 0)]
    assert [o.value for o in result.observations] == ["b@example.org"]


def test_jwt_search_is_linear(tmp_path):
    import base64
    import json

    payload = base64.urlsafe_b64encode(json.dumps({"email": "jane@example.org"}).encode()).decode().rstrip("=")
    capture = write_har(tmp_path / "j.har", [
        har_entry("GET", "https://a.example.com/", headers=[("X-Junk", "eyJ" * 85_000)]),
        har_entry("GET", "https://a.example.com/", headers=[("Authorization", f"Bearer eyJhbGciOiJub25lIn0.{payload}.")]),
    ])
    started = time.monotonic()
    result = analyse_capture(capture)
    assert time.monotonic() - started < 2
    assert [(o.request_index, o.where, o.value) for o in result.observations] == [(1, "header:Authorization>jwt[1]>$.email", "jane@example.org")]


@pytest.mark.parametrize("entries", [
    [],
    [har_entry("GET", "https://a.example.com/?email=jane@example.org&lat=48.8584&lon=2.2945"), {"request": 5}],
    [{"request": 5}],
])
def test_streamed_json_is_byte_identical_to_the_document(tmp_path, entries):
    import json

    from datasafety.traffic.present import to_json_text, write_json

    result = analyse_capture(write_har(tmp_path / "c.har", entries))
    expected = json.dumps(result.to_json(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    assert to_json_text(result) == expected
    write_json(result, tmp_path / "o.json")
    assert (tmp_path / "o.json").read_text(encoding="utf-8") == expected
