"""mitmproxy flow files written with mitmproxy's own io.FlowWriter."""

from __future__ import annotations

import gzip
import json

from mitmproxy import io
from mitmproxy.test import tflow, tutils

from datasafety.traffic import analyse_capture
from tests.traffic.conftest import PROFILE, rows, sha256


def _flow(method: bytes, host: str, path: bytes, headers: list[tuple[bytes, bytes]], body: bytes, ip: str):
    from mitmproxy.http import Headers

    request = tutils.treq(method=method, scheme=b"https", host=host, port=443, path=path, headers=Headers(headers), content=b"")
    request.raw_content = body
    flow = tflow.tflow(req=request, resp=tutils.tresp())
    flow.server_conn.peername = (ip, 443)
    return flow


def _write(path, flows):
    with open(path, "wb") as handle:
        writer = io.FlowWriter(handle)
        for flow in flows:
            writer.add(flow)
    return path


def test_mitmproxy_flows_exact_observations(tmp_path, device_yaml):
    body = gzip.compress(json.dumps({"device": {"ifa": PROFILE["advertising_id"], "geo": {"lat": 48.8584, "lon": 2.2945}}}).encode(), mtime=0)
    flows = [
        _flow(b"POST", "bid.adexchange.example", b"/openrtb2", [(b"Content-Type", b"application/json"), (b"Content-Encoding", b"gzip")], body, "8.8.8.8"),
        _flow(b"GET", "api.example.com", b"/v1/me?e=" + sha256(PROFILE["email"]).encode() + b"&lat=48.86&lng=2.29", [(b"User-Agent", b"okhttp/4.12.0")], b"", "1.1.1.1"),
        _flow(b"GET", "cdn.example.com", b"/img/icon@2x.png?v=10.4.2&w=1080&h=1920", [], b"", "1.1.1.1"),
    ]
    capture = _write(tmp_path / "flows.mitm", flows)
    result = analyse_capture(capture, device=device_yaml)
    assert result.capture_format == "mitmproxy"
    assert result.requests_read == 3
    assert rows(result) == [
        (0, "body.json:$.device.geo.lat", "precise_location", "coordinates", "48.8584,2.2945", "rounded", "gps_fix"),
        (0, "body.json:$.device.ifa", "device_or_other_ids", "advertising_id", PROFILE["advertising_id"], "exact", "advertising_id"),
        (1, "query:e", "email", "email", sha256(PROFILE["email"]), "sha256", "email"),
        (1, "query:lat", "precise_location", "coordinates", "48.86,2.29", "rounded", "gps_fix"),
    ]
    located = result.observations[0]
    assert (located.encodings, located.server_ip, located.url) == (("gzip",), "8.8.8.8", "https://bid.adexchange.example/openrtb2")
    two_dp = result.observations[3].precision
    assert (two_dp.decimals, two_dp.metres, two_dp.play_precise, two_dp.apple_precise) == (2, 1113.2, True, False)


def test_truncated_flow_file_keeps_earlier_flows(tmp_path):
    flows = [_flow(b"GET", "api.example.com", b"/?email=jane%40example.org", [], b"", "1.1.1.1") for _ in range(2)]
    capture = _write(tmp_path / "flows.mitm", flows)
    data = capture.read_bytes()
    capture.write_bytes(data[: len(data) - 40])
    result = analyse_capture(capture)
    assert result.requests_read == 1
    assert [a.kind for a in result.anomalies] == ["mitmproxy_truncated"]
    assert rows(result) == [(0, "query:email", "email", "email", "jane@example.org", "pattern", None)]
