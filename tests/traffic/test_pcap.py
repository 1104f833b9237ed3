"""pcap fixtures built in code: plain HTTP, TLS 1.3 decrypted with a key log, truncated files."""

from __future__ import annotations

import gzip
import json
import shutil

import pytest

from datasafety.traffic import analyse_capture
from tests.traffic.conftest import PROFILE, rows
from tests.traffic.pcapbuild import TcpConversation, write_pcap
from tests.traffic.tlsbuild import tls_exchange



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


def test_http2_over_tls_is_reported_not_silently_dropped(tmp_path):
    import h2.config
    import h2.connection

    client = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    client.initiate_connection()
    client.send_headers(1, [(":method", "POST"), (":scheme", "https"), (":authority", "h2.example.com"), (":path", "/v1/loc")])
    client.send_data(1, b'{"lat":48.8584,"lng":2.2945}', end_stream=True)
    keylog = tmp_path / "keys.log"
    wire = tls_exchange("h2.example.com", client.data_to_send(), b"", keylog, alpn="h2")
    conversation = TcpConversation("10.0.2.15", "93.184.216.34", 40003, 443)
    for from_client, data in wire:
        conversation.send(from_client, data)
    capture = tmp_path / "h2.pcap"
    write_pcap(capture, [conversation])
    result = analyse_capture(capture, keylog=keylog)
    assert result.requests_read == 0
    assert [(a.kind, a.detail) for a in result.anomalies] == [
        ("http2_not_read", "1 HTTP/2 HEADERS frames were decrypted but HTTP/2 requests are not analysed yet"),
    ]
