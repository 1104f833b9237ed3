"""pcap / pcapng reader through tshark (Wireshark's dissectors, https://www.wireshark.org/docs/man-pages/tshark.html).

tshark reassembles TCP, decrypts TLS when given an NSS key log (``-o
tls.keylog_file:FILE``, https://wiki.wireshark.org/TLS#using-the-pre-master-secret) and
dissects HTTP/1.x. It runs once with ``-Y http.request -T ek -x -j http``: one JSON line per
request frame with the raw bytes (hex) of the HTTP head (``http_raw``) and of the de-chunked
body (``http_http_file_data_raw``; body decompression is switched off so that
:mod:`datasafety.traffic.peel` sees and reports the content coding). The server address is
read from the IPv4/IPv6 header bytes (``ip_raw``/``ipv6_raw``).

When a key log is given, a second pass (:mod:`datasafety.traffic.pcap_http2`) reads the
decrypted HTTP/2 requests from tshark's HTTP/2 dissector; both kinds of requests are yielded
in capture order (frame of the request's first HEADERS frame / HTTP/1 request frame).
HTTP/2 that cannot be read is reported (``http2_not_read``): HEADERS frames whose header
block could not be decoded, and TLS connections that offered ``h2`` but in which no HTTP was
decrypted (session keys missing from the key log).

No TLS, TCP or HTTP/2 framing is implemented here.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
from pathlib import Path
from typing import Iterator

from datasafety.traffic.model import Anomaly, CapturedRequest, host_of
from datasafety.traffic.pcap_http2 import Http2Pass, Http2Request, read_http2

MAX_BODY_BYTES = 8 * 1024 * 1024
TSHARK_TIMEOUT_S = 600


def tshark_path() -> str | None:
    """Path of the ``tshark`` executable, or None."""
    return shutil.which("tshark")


def _first(value):
    if isinstance(value, list):
        return value[0] if value else None
    return value


def _server_ip(layers: dict) -> str | None:
    ip_raw = _first(layers.get("ip_raw"))
    if isinstance(ip_raw, str) and len(ip_raw) >= 40:
        return socket.inet_ntop(socket.AF_INET, bytes.fromhex(ip_raw[32:40]))
    ip6_raw = _first(layers.get("ipv6_raw"))
    if isinstance(ip6_raw, str) and len(ip6_raw) >= 80:
        return socket.inet_ntop(socket.AF_INET6, bytes.fromhex(ip6_raw[48:80]))
    return None


def _dechunk(data: bytes) -> bytes:
    out = bytearray()
    pos = 0
    while pos < len(data):
        end = data.find(b"\r\n", pos)
        if end < 0:
            break
        try:
            size = int(data[pos:end].split(b";")[0].strip() or b"0", 16)
        except ValueError:
            break
        if size == 0:
            break
        out += data[end + 2 : end + 2 + size]
        pos = end + 2 + size + 2
    return bytes(out)


def parse_http1_head(raw: bytes) -> tuple[str, str, list[tuple[str, str]], bytes] | None:
    """``(method, target, headers, rest)`` of an HTTP/1.x request message (RFC 9112 §2–§5)."""
    head, sep, rest = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) < 3 or not parts[2].startswith("HTTP/"):
        return None
    headers = []
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if colon:
            headers.append((name.strip(), value.strip()))
    return parts[0], parts[1], headers, rest


def read_pcap(path: Path, keylog: Path | None = None) -> Iterator[CapturedRequest | Anomaly]:
    """HTTP/1.x requests in a pcap/pcapng (TLS decrypted with ``keylog``); never raises."""
    tshark = tshark_path()
    if tshark is None:
        yield Anomaly("capture_unreadable", "tshark is not installed (apt-get install tshark); pcap files cannot be read")
        return
    command = [tshark, "-n", "-r", str(path), "-o", "http.decompress_body:FALSE", "-o", "tcp.desegment_tcp_streams:TRUE"]
    if keylog is not None:
        if not keylog.is_file():
            yield Anomaly("keylog_unreadable", f"TLS key log {keylog.name} is not a readable file; TLS stays encrypted")
        else:
            command += ["-o", f"tls.keylog_file:{keylog}"]
    command += ["-Y", "http.request", "-T", "ek", "-x", "-j", "http"]
    http2 = Http2Pass()
    if keylog is not None and keylog.is_file():
        http2 = read_http2(tshark, path, keylog, TSHARK_TIMEOUT_S)
    pending = list(reversed(http2.requests))  # pop() gives the earliest
    line_number = -1
    index = 0
    try:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    except OSError as exc:
        yield Anomaly("capture_unreadable", f"cannot run tshark: {exc}")
        return
    assert process.stdout is not None
    for line in process.stdout:
        if not line.startswith(b'{"timestamp"'):
            continue
        line_number += 1
        frame = http2.http1_frames[line_number] if line_number < len(http2.http1_frames) else None
        while pending and frame is not None and pending[-1].frame < frame:
            yield _http2_request(pending.pop(), index)
            index += 1
        try:
            layers = json.loads(line)["layers"]
        except (ValueError, KeyError):
            continue
        heads = layers.get("http_raw")
        heads = heads if isinstance(heads, list) else [heads]
        http_layer = layers.get("http") or {}
        bodies = http_layer.get("http_http_file_data_raw") if isinstance(http_layer, dict) else None
        bodies = bodies if isinstance(bodies, list) else [bodies]
        server_ip = _server_ip(layers)
        for position, head_hex in enumerate(heads):
            if not isinstance(head_hex, str):
                continue
            try:
                parsed = parse_http1_head(bytes.fromhex(head_hex))
            except ValueError:
                parsed = None
            if parsed is None:
                continue
            method, target, headers, rest = parsed
            body_hex = bodies[position] if position < len(bodies) else None
            if isinstance(body_hex, str):
                body = bytes.fromhex(body_hex)
            elif any(n.lower() == "transfer-encoding" and "chunked" in v.lower() for n, v in headers):
                body = _dechunk(rest)
            else:
                body = rest
            host = next((v for n, v in headers if n.lower() == "host"), "") or ""
            if target.startswith(("http://", "https://")):
                url = target
            else:
                scheme = "https" if "tls_raw" in layers else "http"
                url = f"{scheme}://{host}{target}"
            truncated = len(body) > MAX_BODY_BYTES
            yield CapturedRequest(
                index=index,
                method=method.upper(),
                url=url,
                host=host_of(url) or host.lower(),
                headers=tuple(headers),
                body=body[:MAX_BODY_BYTES],
                server_ip=server_ip,
                body_truncated=truncated,
            )
            index += 1
    while pending:
        yield _http2_request(pending.pop(), index)
        index += 1
    try:
        _, stderr = process.communicate(timeout=TSHARK_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        stderr = b""
        yield Anomaly("pcap_timeout", f"tshark did not finish within {TSHARK_TIMEOUT_S} s; requests after that were not read")
    message = " ".join(
        line.strip() for line in stderr.decode("utf-8", "replace").splitlines() if line.strip() and "Running as user" not in line and "dangerous" not in line
    )
    if process.returncode not in (0, None) or message:
        if "cut short" in message or "truncated" in message.lower():
            kind = "pcap_truncated" if index else "capture_unreadable"
        else:
            kind = "pcap_error" if index else "capture_unreadable"
        yield Anomaly(kind, f"tshark: {message[:300] or f'exit status {process.returncode}'}")
    elif index == 0 and keylog is None:
        yield Anomaly("no_plain_http", "no plain HTTP/1.x request found; TLS traffic needs --keylog FILE")
    if http2.undecoded_headers:
        yield Anomaly("http2_not_read", f"{http2.undecoded_headers} HTTP/2 HEADERS frames could not be decoded (header compression state lost, e.g. capture started mid-connection); those requests are not analysed")
    if http2.undecrypted_h2_connections:
        yield Anomaly("http2_not_read", f"{http2.undecrypted_h2_connections} TLS connections offered HTTP/2 but nothing in them was decrypted (session keys missing from the key log?); their requests are not analysed")


def _http2_request(request: Http2Request, index: int) -> CapturedRequest:
    authority = request.authority or next((v for n, v in request.headers if n.lower() == "host"), "")
    url = f"{request.scheme}://{authority}{request.path}"
    return CapturedRequest(
        index=index,
        method=request.method,
        url=url,
        host=host_of(url) or authority.lower(),
        headers=tuple(request.headers),
        body=bytes(request.body),
        server_ip=request.server_ip,
        body_truncated=request.body_truncated,
    )
