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
