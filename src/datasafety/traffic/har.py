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
import re
from pathlib import Path
from typing import Iterator
from urllib.parse import urlencode

from datasafety.traffic.model import Anomaly, CapturedRequest, host_of

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
            return entries, f"entry {len(entries)} is damaged ({getattr(exc, 'msg', exc)} at character {getattr(exc, 'pos', pos)})"
        except RecursionError:
            return entries, f"entry {len(entries)} is nested too deeply"
        entries.append(entry)


_SURROGATE_ESCAPE_RE = re.compile(r"\\u[dD][89a-fA-F]")
_SCALARS = (str, int, float)


def _clean(value: object) -> str:
    """A JSON scalar as text; a lone UTF-16 surrogate (``"\\ud800"``) becomes its escape."""
    text = value if isinstance(value, str) else str(value) if isinstance(value, _SCALARS) else ""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


def _list(value: object) -> list:
    return value if isinstance(value, list) else []


def _request(index: int, entry: dict, surrogates: bool = False) -> CapturedRequest:
    request = entry.get("request") or {}
    text_of = _clean if surrogates else (lambda v: v if isinstance(v, str) else str(v) if isinstance(v, _SCALARS) else "")
    url = text_of(request.get("url") or "")
    host = host_of(url)
    headers = []
    for header in _list(request.get("headers")):
        if isinstance(header, dict) and "name" in header:
            headers.append((text_of(header["name"]), text_of(header.get("value", ""))))
    if not any(name.lower() == "cookie" for name, _ in headers):
        cookies = [c for c in _list(request.get("cookies")) if isinstance(c, dict) and c.get("name")]
        if cookies:
            headers.append(("Cookie", "; ".join(f"{text_of(c['name'])}={text_of(c.get('value', ''))}" for c in cookies)))
    post = request.get("postData") or {}
    body = b""
    if isinstance(post, dict):
        text = post.get("text")
        if isinstance(text, str) and text:
            if text_of(post.get("encoding") or post.get("_encoding") or "").lower() == "base64":
                try:
                    body = base64.b64decode(text)
                except (binascii.Error, ValueError):
                    body = text.encode("utf-8", "surrogatepass")
            else:
                body = text.encode("utf-8", "surrogatepass")
        elif post.get("params"):
            params = [(text_of(p.get("name", "")), text_of(p.get("value", ""))) for p in _list(post["params"]) if isinstance(p, dict)]
            body = urlencode(params).encode("ascii")
        mime = post.get("mimeType")
        if mime and not any(name.lower() == "content-type" for name, _ in headers):
            headers.append(("Content-Type", text_of(mime)))
    truncated = len(body) > MAX_BODY_BYTES
    if truncated:
        body = body[:MAX_BODY_BYTES]
    server_ip = entry.get("serverIPAddress")
    server_ip = text_of(server_ip).strip("[]") if server_ip else None
    return CapturedRequest(
        index=index,
        method=(text_of(request.get("method") or "GET") or "GET").upper(),
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
    document = None
    try:
        document = json.loads(text)
        entries = document["log"]["entries"]
        if not isinstance(entries, list):
            raise TypeError("log.entries is not a list")
    except (ValueError, RecursionError) as exc:
        reason = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        entries, where = _salvage_entries(text)
        kind = "har_invalid_json" if entries else "capture_unreadable"
        yield Anomaly(kind, f"HAR is not valid JSON ({reason}); {len(entries)} complete entries recovered: {where}")
    except (KeyError, TypeError) as exc:
        yield Anomaly("capture_unreadable", f"HAR has no log.entries list ({exc})")
        return
    surrogates = _SURROGATE_ESCAPE_RE.search(text) is not None
    # Free the text and each parsed entry as soon as it is read (a large HAR is mostly these).
    del text
    document = None
    for index in range(len(entries)):
        entry, entries[index] = entries[index], None
        if not isinstance(entry, dict) or not isinstance(entry.get("request"), dict):
            yield Anomaly("har_bad_entry", f"entry {index} has no request object", index)
            continue
        request = _request(index, entry, surrogates)
        if not request.url:
            yield Anomaly("har_bad_entry", f"entry {index} has no URL", index)
            continue
        yield request
