"""mitmproxy flow file reader, through mitmproxy's own ``mitmproxy.io.FlowReader``
(https://docs.mitmproxy.org/stable/addons-examples/#io-read-saved-flows).

Reads HTTP flows only; the request body is taken as sent (``raw_content``, still
content-encoded). A file that ends mid-flow gives the flows before the damage and a
``mitmproxy_truncated`` anomaly.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

from datasafety.traffic.model import Anomaly, CapturedRequest

MAX_BODY_BYTES = 8 * 1024 * 1024


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def request_of(index: int, flow) -> CapturedRequest:
    """A :class:`CapturedRequest` from a ``mitmproxy.http.HTTPFlow`` (also used by the addon)."""
    request = flow.request
    body = request.raw_content or b""
    truncated = len(body) > MAX_BODY_BYTES
    if truncated:
        body = body[:MAX_BODY_BYTES]
    server_ip = None
    server_conn = getattr(flow, "server_conn", None)
    peer = getattr(server_conn, "peername", None) if server_conn is not None else None
    if peer:
        server_ip = str(peer[0])
    try:
        url = request.pretty_url
        host = (request.pretty_host or "").lower()
    except ValueError:
        host = _text(request.host or "").lower()
        url = f"{_text(request.scheme or 'http')}://{host}{_text(request.path or '')}"
    return CapturedRequest(
        index=index,
        method=_text(request.method).upper(),
        url=url,
        host=host,
        headers=tuple((_text(k), _text(v)) for k, v in request.headers.fields),
        body=body,
        server_ip=server_ip,
        body_truncated=truncated,
    )


def read_mitm(path: Path) -> Iterator[CapturedRequest | Anomaly]:
    """HTTP requests of a mitmproxy flow file; never raises on bad content."""
    from mitmproxy import http, io
    from mitmproxy.exceptions import FlowReadException

    index = 0
    try:
        with open(path, "rb") as handle:
            reader = io.FlowReader(handle)
            try:
                for flow in reader.stream():
                    if isinstance(flow, http.HTTPFlow):
                        yield request_of(index, flow)
                        index += 1
            except (FlowReadException, ValueError, KeyError, TypeError, RecursionError) as exc:
                kind = "mitmproxy_truncated" if index else "capture_unreadable"
                reason = "nested too deeply" if isinstance(exc, RecursionError) else (str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
                yield Anomaly(kind, f"mitmproxy flow file unreadable after {index} flows: {reason}")
    except OSError as exc:
        yield Anomaly("capture_unreadable", f"cannot read {path.name}: {exc.strerror or exc}")
