"""HAR 1.2 reader (http://www.softwareishard.com/blog/har-12-spec/).

Reads ``log.entries[].request``: ``method``, ``url``, ``headers``, ``cookies``, ``postData``
(``text``, ``mimeType``, ``params``; a non-standard ``encoding: "base64"`` as HTTP Toolkit
and Charles write for binary bodies), and the entry's ``serverIPAddress``.

A file that is not valid JSON (a truncated export) is salvaged entry by entry: every complete
entry object before the damage is read, and a ``har_invalid_json`` anomaly says where it stopped.
"""

from __future__ import annotations

import base64
import binascii
import json
from pathlib import Path
from typing import Iterator
from urllib.parse import urlencode, urlsplit

from datasafety.traffic.model import Anomaly, CapturedRequest

MAX_BODY_BYTES = 8 * 1024 * 1024
"""Request body bytes kept per entry (8 MiB); the rest is dropped with an anomaly."""


def _salvage_entries(text: str) -> tuple[list, str]:
    """Complete entry objects from damaged HAR text, and where decoding stopped."""
    decoder = json.JSONDecoder()
    marker = text.find('"entries"')
    if marker < 0:
        return [], "no entries array found"
    pos = text.find("[", marker)
    if pos < 0:
        return [], "no entries array found"
    pos += 1
    entries = []
    while True:
        while pos < len(text) and text[pos] in " \t\r\n,":
            pos += 1
        if pos >= len(text) or text[pos] == "]":
            return entries, "entries array complete, damage after it"
        try:
            entry, pos = decoder.raw_decode(text, pos)
        except ValueError as exc:
            return entries, f"entry {len(entries)} is damaged ({exc.msg} at character {exc.pos})"
        entries.append(entry)


def _request(index: int, entry: dict) -> CapturedRequest:
    request = entry.get("request") or {}
    url = str(request.get("url") or "")
    split = urlsplit(url)
    host = (split.hostname or "").lower()
    headers = []
    for header in request.get("headers") or []:
        if isinstance(header, dict) and "name" in header:
            headers.append((str(header["name"]), str(header.get("value", ""))))
    if not any(name.lower() == "cookie" for name, _ in headers):
        cookies = [c for c in request.get("cookies") or [] if isinstance(c, dict) and c.get("name")]
        if cookies:
            headers.append(("Cookie", "; ".join(f"{c['name']}={c.get('value', '')}" for c in cookies)))
    post = request.get("postData") or {}
    body = b""
    if isinstance(post, dict):
        text = post.get("text")
        if isinstance(text, str) and text:
            if str(post.get("encoding") or post.get("_encoding") or "").lower() == "base64":
                try:
                    body = base64.b64decode(text)
                except (binascii.Error, ValueError):
                    body = text.encode("utf-8", "surrogateescape")
            else:
                body = text.encode("utf-8", "surrogateescape")
        elif post.get("params"):
            params = [(str(p.get("name", "")), str(p.get("value", ""))) for p in post["params"] if isinstance(p, dict)]
            body = urlencode(params).encode("ascii")
        mime = post.get("mimeType")
        if mime and not any(name.lower() == "content-type" for name, _ in headers):
            headers.append(("Content-Type", str(mime)))
    truncated = len(body) > MAX_BODY_BYTES
    if truncated:
        body = body[:MAX_BODY_BYTES]
    server_ip = entry.get("serverIPAddress")
    server_ip = str(server_ip).strip("[]") if server_ip else None
    return CapturedRequest(
        index=index,
        method=str(request.get("method") or "GET").upper(),
        url=url,
        host=host,
        headers=tuple(headers),
        body=body,
        server_ip=server_ip or None,
        body_truncated=truncated,
    )


def read_har(path: Path) -> Iterator[CapturedRequest | Anomaly]:
    """Requests of a HAR file, then anomalies; never raises on bad content."""
    try:
        text = path.read_bytes().decode("utf-8", "replace")
    except OSError as exc:
        yield Anomaly("capture_unreadable", f"cannot read {path.name}: {exc.strerror or exc}")
        return
    try:
        document = json.loads(text)
        entries = document["log"]["entries"]
        if not isinstance(entries, list):
            raise TypeError("log.entries is not a list")
    except ValueError as exc:
        entries, where = _salvage_entries(text)
        kind = "har_invalid_json" if entries else "capture_unreadable"
        yield Anomaly(kind, f"HAR is not valid JSON ({exc}); {len(entries)} complete entries recovered: {where}")
    except (KeyError, TypeError) as exc:
        yield Anomaly("capture_unreadable", f"HAR has no log.entries list ({exc})")
        return
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict) or not isinstance(entry.get("request"), dict):
            yield Anomaly("har_bad_entry", f"entry {index} has no request object", index)
            continue
        request = _request(index, entry)
        if not request.url:
            yield Anomaly("har_bad_entry", f"entry {index} has no URL", index)
            continue
        yield request
