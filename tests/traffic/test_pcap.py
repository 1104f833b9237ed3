"""pcap fixtures built in code: plain HTTP, TLS 1.3 decrypted with a key log, truncated files."""

from __future__ import annotations

import gzip
import json
import shutil

import pytest

from datasafety.traffic import analyse_capture
from tests.traffic.conftest import PROFILE, rows
from tests.traffic.pcapbuild import TcpConversation, write_pcap
from tests.traffic.tlsbuild import h2_exchange, tls_exchange



@pytest.fixture(scope="module", autouse=True)
def _tshark_required():
    if shutil.which("tshark") is None:
        pytest.fail("tshark is required for pcap tests (apt-get install tshark)")


def _plain_conversations():
    body = gzip.compress(json.dumps({"lat": 48.858370, "lng": 2.294481, "email": "jane.tester@example.org"}).encode(), mtime=0)
    first = TcpConversation("10.0.2.15", "8.8.8.8", 40000, 80)
    first.send(True, b"POST /v1/loc?adid=38400000-8cf0-11bd-b23e-10b96e40000d HTTP/1.1\r\nHost: api.example.com\r\nContent-Type: application/json\r\n"
               b"Content-Encoding: gzip\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
    first.send(False, b"HTTP/1.1 204 No Content\r\n\r\n")
    second = TcpConversation("10.0.2.15", "1.1.1.1", 40001, 80)
    chunk = b"imei=356938035643809&price=12.99&v=10.4.2&" + b"pad=" + b"x" * 3000
    second.send(True, b"POST /form HTTP/1.1\r\nHost: big.example.net\r\nContent-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n"
                + b"%x\r\n" % len(chunk) + chunk + b"\r\n0\r\n\r\n")
    second.send(False, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
    return [first, second]


def test_plain_http_pcap(tmp_path):
    capture = tmp_path / "plain.pcap"
    write_pcap(capture, _plain_conversations())
    result = analyse_capture(capture)
    assert result.capture_format == "pcap"
    assert result.requests_read == 2
    assert rows(result) == [
        (0, "body.json:$.email", "email", "email", "jane.tester@example.org", "pattern", None),
        (0, "body.json:$.lat", "precise_location", "coordinates", "48.85837,2.294481", "pattern", None),
        (0, "query:adid", "device_or_other_ids", "advertising_id", "38400000-8cf0-11bd-b23e-10b96e40000d", "pattern", None),
        (1, "body.form:imei", "device_or_other_ids", "imei", "356938035643809", "pattern", None),
    ]
    assert [(o.server_ip, o.encodings) for o in result.observations[:2]] == [("8.8.8.8", ("gzip",)), ("8.8.8.8", ("gzip",))]
    assert result.observations[3].url == "http://big.example.net/form"
    assert result.anomalies == ()


def test_tls_pcap_decrypted_with_keylog(tmp_path, device_yaml):
    keylog = tmp_path / "sslkeys.log"
    body = b'{"latitude":48.8584,"longitude":2.2945,"android_id":"9774d56d682e549c"}'
    request = (b"POST /collect HTTP/1.1\r\nHost: secure.example.com\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body)) + body
    wire = tls_exchange("secure.example.com", request, b"HTTP/1.1 204 No Content\r\n\r\n", keylog)
    conversation = TcpConversation("10.0.2.15", "93.184.216.34", 40002, 443)
    for from_client, data in wire:
        conversation.send(from_client, data)
    capture = tmp_path / "tls.pcap"
    write_pcap(capture, [conversation])
    assert b"9774d56d682e549c" not in capture.read_bytes()  # really encrypted on the wire

    result = analyse_capture(capture, keylog=keylog, device=device_yaml)
    assert result.requests_read == 1
    assert rows(result) == [
        (0, "body.json:$.android_id", "device_or_other_ids", "android_id", PROFILE["android_id"], "exact", "android_id"),
        (0, "body.json:$.latitude", "precise_location", "coordinates", "48.8584,2.2945", "rounded", "gps_fix"),
    ]
    assert result.observations[0].url == "https://secure.example.com/collect"
    assert result.observations[0].server_ip == "93.184.216.34"

    without_keys = analyse_capture(capture)
    assert without_keys.requests_read == 0
    assert [a.kind for a in without_keys.anomalies] == ["no_plain_http"]


def test_truncated_pcap_keeps_complete_requests(tmp_path):
    capture = tmp_path / "cut.pcap"
    write_pcap(capture, _plain_conversations(), truncate_last=160)  # into the last request segment
    result = analyse_capture(capture)
    assert result.requests_read == 1
    assert [a.kind for a in result.anomalies] == ["pcap_truncated"]
    assert [o.value for o in result.observations] == ["jane.tester@example.org", "48.85837,2.294481", "38400000-8cf0-11bd-b23e-10b96e40000d"]


def _h2_capture(tmp_path, keylog):
    """Plain HTTP/1, then one TLS connection carrying HTTP/2 (ALPN h2), then plain HTTP/1 again."""
    big = json.dumps({"pad": "x" * 20000, "imei": "356938035643809"}).encode()  # > 16 KiB: two DATA frames, many TCP segments
    client, server = h2_exchange("api.h2.example.com", [
        ("POST", "/v1/loc?lat=48.858370&lon=2.294481", [("content-type", "application/json")], b'{"adid":"38400000-8cf0-11bd-b23e-10b96e40000d"}'),
        ("PUT", "/big", [("content-type", "application/json"), ("x-trace", "t1")], big),
    ], response_body=b'{"email":"jane.tester@example.org"}')  # a response body: never a request observation
    wire = tls_exchange("api.h2.example.com", client, server, keylog, alpn="h2")
    h2 = TcpConversation("10.0.2.15", "93.184.216.34", 40003, 443)
    for from_client, data in wire:
        h2.send(from_client, data)
    first, second = _plain_conversations()
    capture = tmp_path / "h2.pcap"
    write_pcap(capture, [first, h2, second])
    assert b"38400000-8cf0-11bd-b23e-10b96e40000d\"}" not in capture.read_bytes()  # the h2 body is encrypted on the wire
    return capture


def test_http2_over_tls_requests_are_read(tmp_path):
    keylog = tmp_path / "keys.log"
    capture = _h2_capture(tmp_path, keylog)
    result = analyse_capture(capture, keylog=keylog)
    assert result.requests_read == 4
    assert result.anomalies == ()
    assert rows(result) == [
        (0, "body.json:$.email", "email", "email", "jane.tester@example.org", "pattern", None),
        (0, "body.json:$.lat", "precise_location", "coordinates", "48.85837,2.294481", "pattern", None),
        (0, "query:adid", "device_or_other_ids", "advertising_id", "38400000-8cf0-11bd-b23e-10b96e40000d", "pattern", None),
        (1, "body.json:$.adid", "device_or_other_ids", "advertising_id", "38400000-8cf0-11bd-b23e-10b96e40000d", "pattern", None),
        (1, "query:lat", "precise_location", "coordinates", "48.858370,2.294481", "pattern", None),
        (2, "body.json:$.imei", "device_or_other_ids", "imei", "356938035643809", "pattern", None),
        (3, "body.form:imei", "device_or_other_ids", "imei", "356938035643809", "pattern", None),
    ]
    h2 = [o for o in result.observations if o.request_index in (1, 2)]
    assert [(o.host, o.url, o.server_ip) for o in h2] == [
        ("api.h2.example.com", "https://api.h2.example.com/v1/loc?lat=48.858370&lon=2.294481", "93.184.216.34"),
        ("api.h2.example.com", "https://api.h2.example.com/v1/loc?lat=48.858370&lon=2.294481", "93.184.216.34"),
        ("api.h2.example.com", "https://api.h2.example.com/big", "93.184.216.34"),
    ]
    assert rows(analyse_capture(capture, keylog=keylog)) == rows(result)  # deterministic


def test_http2_requests_fields(tmp_path):
    from datasafety.traffic.pcap import read_pcap

    keylog = tmp_path / "keys.log"
    capture = _h2_capture(tmp_path, keylog)
    requests = list(read_pcap(capture, keylog))
    assert [(r.index, r.method, r.url) for r in requests] == [
        (0, "POST", "http://api.example.com/v1/loc?adid=38400000-8cf0-11bd-b23e-10b96e40000d"),
        (1, "POST", "https://api.h2.example.com/v1/loc?lat=48.858370&lon=2.294481"),
        (2, "PUT", "https://api.h2.example.com/big"),
        (3, "POST", "http://big.example.net/form"),
    ]
    assert requests[1].headers == (("content-type", "application/json"),)
    assert requests[1].body == b'{"adid":"38400000-8cf0-11bd-b23e-10b96e40000d"}'
    assert requests[2].headers == (("content-type", "application/json"), ("x-trace", "t1"))
    assert requests[2].body == json.dumps({"pad": "x" * 20000, "imei": "356938035643809"}).encode()
    assert (requests[2].host, requests[2].server_ip, requests[2].body_truncated) == ("api.h2.example.com", "93.184.216.34", False)


def test_http2_without_its_keys_is_reported_not_silently_dropped(tmp_path):
    keylog = tmp_path / "keys.log"
    capture = _h2_capture(tmp_path, keylog)
    other_keys = tmp_path / "other.log"
    other_keys.write_text("".join(line.replace(line.split(" ")[1], "00" * 32, 1) + "\n" for line in keylog.read_text().splitlines() if line.strip()), encoding="utf-8")
    result = analyse_capture(capture, keylog=other_keys)
    assert result.requests_read == 2  # the two plain HTTP/1 requests
    assert [(a.kind, a.detail) for a in result.anomalies] == [
        ("http2_not_read", "1 TLS connections offered HTTP/2 but nothing in them was decrypted (session keys missing from the key log?); their requests are not analysed"),
    ]
