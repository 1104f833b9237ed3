"""HTTP/2 requests in a pcap, read from tshark's own HTTP/2 dissector (PDML output).

One tshark pass with ``-Y "http2 or http.request or tls.handshake.type == 1" -T pdml -J
"ip ipv6 tcp tls http2"``: PDML keeps the frame tree, so every HTTP/2 frame's stream id,
decoded (HPACK) header fields and DATA payload stay together (the flat ``-T ek``/``-e``
outputs lose that association when one TCP segment carries several frames). Header names,
values and DATA payloads are taken from the fields' raw bytes (``value`` hex), never from
their display strings.

A request is a HEADERS (+ CONTINUATION) block carrying ``:method`` (RFC 9113 §8.3.1); its
body is the concatenation of the DATA frames sent by the same endpoint on the same stream
of the same TCP connection (padding excluded by the dissector). Requests are returned in the
order of their first HEADERS frame. The frame numbers of HTTP/1.x request frames are also
returned so the caller can interleave both protocols in capture order.
"""

from __future__ import annotations

import threading
import subprocess
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

MAX_BODY_BYTES = 8 * 1024 * 1024
TYPE_DATA, TYPE_HEADERS, TYPE_CONTINUATION = 0, 1, 9


@dataclass
class Http2Request:
    frame: int
    """Frame number of the first HEADERS frame of the request."""
    method: str
    scheme: str
    authority: str
    path: str
    headers: list[tuple[str, str]]
    """Regular header fields (pseudo-headers removed), in order."""
    server_ip: str | None
    body: bytearray = field(default_factory=bytearray)
    body_truncated: bool = False


@dataclass
class Http2Pass:
    requests: list[Http2Request] = field(default_factory=list)
    http1_frames: list[int] = field(default_factory=list)
    """Frame numbers of the packets matching ``http.request``, in order."""
    undecoded_headers: int = 0
    """HEADERS frames of which no header field could be decoded (HPACK state lost)."""
    undecrypted_h2_connections: int = 0
    """TCP connections whose ClientHello offered ``h2`` and in which no HTTP was read."""
    failed: str | None = None


def _hex_bytes(element: ET.Element) -> bytes:
    value = element.get("value") or ""
    try:
        return bytes.fromhex(value)
    except ValueError:
        return b""


def _text(element: ET.Element) -> str:
    return _hex_bytes(element).decode("latin-1")


def _packet_fields(packet: ET.Element) -> dict:
    """Frame number, addresses, TCP stream, offered ALPN protocols of one PDML packet."""
    info: dict = {"alpn": [], "http": False}
    for proto in packet.findall("proto"):
        name = proto.get("name")
        if name == "geninfo":
            for f in proto.findall("field"):
                if f.get("name") == "num":
                    info["num"] = int(f.get("show") or 0)
        elif name in ("ip", "ipv6"):
            for f in proto.findall("field"):
                if f.get("name") in (f"{name}.src", f"{name}.dst"):
                    info[f.get("name").split(".")[1]] = f.get("show")
        elif name == "tcp":
            for f in proto.findall("field"):
                fname = f.get("name")
                if fname == "tcp.stream":
                    info["stream"] = f.get("show")
                elif fname == "tcp.srcport":
                    info["sport"] = f.get("show")
        elif name == "tls":
            for f in proto.iter("field"):
                if f.get("name") == "tls.handshake.extensions_alpn_str":
                    info["alpn"].append(f.get("show"))
        elif name == "http":
            info["http"] = True
    return info


def _frames(packet: ET.Element):
    """``(type, stream id, end_stream, headers, data | None, reassembled | None)`` per HTTP/2 frame.

    In the DATA frame that completes a body, tshark 4.0 puts ``http2.data.data`` over the
    whole reassembled body (``http2.body.reassembled.data``), not over the frame's payload:
    that body then replaces the fragments collected so far.
    """
    for proto in packet.findall("proto"):
        if proto.get("name") != "http2":
            continue
        for stream in proto.findall("field"):
            if stream.get("name") != "http2.stream":
                continue
            ftype = stream_id = None
            headers: list[tuple[str, str]] = []
            data: bytes | None = None
            reassembled: bytes | None = None
            end_stream = False
            for f in stream.iter("field"):
                fname = f.get("name")
                if fname == "http2.type":
                    ftype = int(f.get("show") or -1)
                elif fname == "http2.streamid":
                    stream_id = int(f.get("show") or 0)
                elif fname == "http2.flags.end_stream":
                    end_stream = f.get("show") in ("1", "True")
                elif fname == "http2.header":
                    name = value = None
                    for child in f.findall("field"):
                        if child.get("name") == "http2.header.name":
                            name = _text(child)
                        elif child.get("name") == "http2.header.value":
                            value = _text(child)
                    if name is not None:
                        headers.append((name, value or ""))
                elif fname == "http2.data.data" and data is None:
                    data = _hex_bytes(f)
                elif fname == "http2.body.reassembled.data":
                    reassembled = _hex_bytes(f)
            if ftype is not None and stream_id is not None:
                yield ftype, stream_id, end_stream, headers, data, reassembled


def read_http2(tshark: str, path: Path, keylog: Path, timeout_s: float) -> Http2Pass:
    """Run the HTTP/2 pass; never raises."""
    result = Http2Pass()
    command = [
        tshark, "-n", "-r", str(path), "-o", "http.decompress_body:FALSE", "-o", "tcp.desegment_tcp_streams:TRUE",
        "-o", f"tls.keylog_file:{keylog}",
        "-Y", "http2 or http.request or tls.handshake.type == 1", "-T", "pdml", "-J", "ip ipv6 tcp tls http2",
    ]
    try:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    except OSError as exc:
        result.failed = f"cannot run tshark: {exc}"
        return result
    timer = threading.Timer(timeout_s, process.kill)
    timer.start()
    by_key: dict[tuple[str, int], tuple[Http2Request, tuple]] = {}
    offered_h2: dict[str, None] = {}
    readable: set[str] = set()
    assert process.stdout is not None
    try:
        root = None
        for event, packet in ET.iterparse(process.stdout, events=("start", "end")):
            if root is None:
                root = packet
            if event != "end" or packet.tag != "packet":
                continue
            info = _packet_fields(packet)
            conn = info.get("stream", "")
            if "h2" in info["alpn"]:
                offered_h2.setdefault(conn)
            if info["http"]:
                result.http1_frames.append(info.get("num", 0))
                readable.add(conn)
            sender = (info.get("src"), info.get("sport"))
            for ftype, stream_id, _end, headers, data, reassembled in _frames(packet):
                readable.add(conn)
                key = (conn, stream_id)
                if ftype in (TYPE_HEADERS, TYPE_CONTINUATION):
                    if not headers:
                        if ftype == TYPE_HEADERS:
                            result.undecoded_headers += 1
                        continue
                    pseudo = {n: v for n, v in headers if n.startswith(":")}
                    if ":method" not in pseudo or key in by_key:
                        continue  # a response, or trailers
                    request = Http2Request(
                        frame=info.get("num", 0),
                        method=pseudo[":method"].upper(),
                        scheme=pseudo.get(":scheme", "https") or "https",
                        authority=pseudo.get(":authority", ""),
                        path=pseudo.get(":path", ""),
                        headers=[(n, v) for n, v in headers if not n.startswith(":")],
                        server_ip=info.get("dst"),
                    )
                    by_key[key] = (request, sender)
                    result.requests.append(request)
                elif ftype == TYPE_DATA and (data or reassembled) and key in by_key:
                    request, client = by_key[key]
                    if client != sender:
                        continue  # response body
                    if reassembled is not None:
                        del request.body[:]
                        request.body_truncated = False
                        data = reassembled
                    room = MAX_BODY_BYTES - len(request.body)
                    if len(data) > room:
                        request.body_truncated = True
                    request.body += data[: max(room, 0)]
            packet.clear()
            root.clear()
    except ET.ParseError as exc:
        result.failed = f"HTTP/2 pass: tshark output ended early ({exc})"
    finally:
        timer.cancel()
        process.stdout.close()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
    result.undecrypted_h2_connections = sum(1 for conn in offered_h2 if conn not in readable)
    result.requests.sort(key=lambda r: r.frame)  # stable: frame order, then order within the frame
    return result
