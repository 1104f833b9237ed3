"""Split a request into fields: every scalar value with where it sits and how it was encoded.

Places read: URL path segments, query parameters, headers, cookies, and the body as JSON,
form (``application/x-www-form-urlencoded``), XML, multipart (RFC 7578), gRPC / protobuf
(schema-less), or plain text, after undoing ``Content-Encoding``. Each string value is then
peeled again (URL percent-encoding, base64, hex, JWT segments, nested JSON / form / XML, and
gzip/zstd/deflate inside base64) up to :data:`MAX_DEPTH` levels.

Fields that share a container (one JSON object, one query string, one XML element, one
protobuf message) share a ``group`` id, so detectors can pair ``lat`` with ``lon``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from urllib.parse import parse_qsl
from xml.etree import ElementTree

from datasafety.traffic import peel
from datasafety.traffic.model import Anomaly, CapturedRequest, split_url
from datasafety.traffic.protobuf import parse_message

MAX_DEPTH = 4
"""Nesting levels of encodings peeled inside one value."""
MAX_FIELDS = 20_000
"""Fields kept per request; more raise a ``fields_capped`` anomaly."""
MAX_BODY_SCAN = 8 * 1024 * 1024
"""Bytes of a (decoded) body that are scanned (8 MiB)."""
MAX_TEXT_LEAF = 256 * 1024
"""Characters of one text value scanned by detectors."""
MAX_MULTIPART_NESTING = 32
"""Multipart bodies nested inside multipart parts that are read; deeper ones are skipped
with a ``multipart_too_deep`` anomaly."""
MAX_PEELED_BYTES = 32 * 1024 * 1024
"""Bytes that decompression may produce for one request, body and values together (32 MiB);
beyond it compressed data is left alone with a ``peel_budget_exhausted`` anomaly."""

_FORM_RE = re.compile(r"[\w.\-\[\]%]+=[^&\s]*(?:&[\w.\-\[\]%]+=[^&\s]*)*")
_JWT_RE = re.compile(r"(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{4,}+\.eyJ[A-Za-z0-9_-]{4,}+\.[A-Za-z0-9_-]*+")
"""A JWT starting at a token boundary; possessive runs keep the search linear."""
_PADDED_B64_RE = re.compile(r"[A-Za-z0-9+/_-]+={1,2}")
_BINARY_TYPES = ("image/", "video/", "audio/", "font/")


class JsonNumber(str):
    """A JSON number kept as the text it was written with (so decimals can be counted)."""

    __slots__ = ()


@dataclass(frozen=True, slots=True)
class Field:
    """One scalar value in a request."""

    where: str
    """Location in the request, see :attr:`datasafety.traffic.model.Observation.where`."""
    key: str | None
    """Name the value was stored under (JSON key, parameter, header, XML tag), or None."""
    text: str
    """The value as text."""
    encodings: tuple[str, ...]
    """Encodings peeled to reach it, outermost first."""
    group: int
    """Container id; fields of one object / query string / element share it."""
    numeric: bool = False
    """True for a JSON number or protobuf double (not a quoted string)."""
    pair: bool = False
    """True for a two-number array (``[lat, lon]``) or two adjacent protobuf doubles."""


class FieldCollector:
    """Accumulates the fields of one request; not thread-safe, one per request."""

    def __init__(self, request_index: int | None = None) -> None:
        self.fields: list[Field] = []
        self.anomalies: list[Anomaly] = []
        self.request_index = request_index
        self._groups = 0
        self._capped = False
        self.peel_budget = MAX_PEELED_BYTES
        self._budget_reported = False
        self._cap_reported = False
        self.multipart_level = 0

    def new_group(self) -> int:
        self._groups += 1
        return self._groups

    def anomaly(self, kind: str, detail: str) -> None:
        self.anomalies.append(Anomaly(kind, detail, self.request_index))

    # -- decompression with a per-request budget --------------------------------------

    def budget_exhausted(self) -> None:
        if not self._budget_reported:
            self._budget_reported = True
            self.anomaly("peel_budget_exhausted", f"decompression produced {MAX_PEELED_BYTES} bytes for this request; further compressed data was not decompressed")

    def spend(self, produced: int, limit: int) -> None:
        """Charge ``produced`` decompressed bytes; note when one output hit its ``limit``."""
        self.peel_budget -= produced
        if produced >= limit and produced and not self._cap_reported:
            self._cap_reported = True
            self.anomaly("decompression_capped", f"a decompression was stopped at {limit} bytes (possible decompression bomb); only that much was scanned")

    def text_of_bytes(self, raw: bytes) -> tuple[str | None, tuple[str, ...]]:
        """Bytes decoded from a value as scannable text (decompressed within the budget)."""
        limit = min(peel.MAX_NESTED_DECODED_BYTES, self.peel_budget)
        text, codings, produced = peel.bytes_to_text_counted(raw, limit)
        if produced < 0:
            self.budget_exhausted()
        elif produced:
            self.spend(produced, limit)
        return text, codings

    def decode_content(self, body: bytes, content_encoding: str | None) -> tuple[bytes, tuple[str, ...], str | None]:
        """:func:`peel.decode_content` within the budget."""
        limit = min(peel.MAX_DECODED_BYTES, self.peel_budget)
        if limit <= 0:
            if content_encoding or peel.looks_compressed(body):
                self.budget_exhausted()
            return body, (), None
        decoded, peeled, problem = peel.decode_content(body, content_encoding, limit)
        if peeled:
            self.spend(len(decoded), limit)
        return decoded, peeled, problem

    def add(
        self,
        where: str,
        key: str | None,
        text: str,
        encodings: tuple[str, ...],
        group: int,
        depth: int = 0,
        numeric: bool = False,
        pair: bool = False,
    ) -> None:
        """Add a value, then anything nested inside it."""
        if len(self.fields) >= MAX_FIELDS:
            if not self._capped:
                self._capped = True
                self.anomaly("fields_capped", f"more than {MAX_FIELDS} values in one request; the rest were not scanned")
            return
        if len(text) > MAX_TEXT_LEAF:
            text = text[:MAX_TEXT_LEAF]
        if not numeric and depth < MAX_DEPTH and len(text) >= 8:
            if self._structured(where, text, encodings, depth + 1):
                return
            self.fields.append(Field(where, key, text, encodings, group, numeric, pair))
            self._nested(where, key, text, encodings, group, depth + 1)
        else:
            self.fields.append(Field(where, key, text, encodings, group, numeric, pair))

    # -- nested encodings -------------------------------------------------------------

    def _structured(self, where: str, text: str, encodings: tuple[str, ...], depth: int) -> bool:
        """Walk ``text`` as JSON, XML or a form when it is one (the text itself is then not a field)."""
        stripped = text.strip()
        head = stripped[:1]
        if head in "{[":
            try:
                parsed = json.loads(stripped, parse_float=JsonNumber, parse_int=JsonNumber)
            except (ValueError, RecursionError):
                parsed = None
            if isinstance(parsed, (dict, list)):
                self.walk_json(parsed, f"{where}>$", None, encodings, depth)
                return True
        elif head == "<" and stripped.endswith(">"):
            return self.walk_xml(stripped, f"{where}>", encodings, depth)
        elif "=" in stripped and "&" in stripped and _FORM_RE.fullmatch(stripped) and not _PADDED_B64_RE.fullmatch(stripped):
            self.walk_form(stripped, f"{where}>", encodings, depth)
            return True
        return False

    def _nested(self, where: str, key: str | None, text: str, encodings: tuple[str, ...], group: int, depth: int) -> None:
        stripped = text.strip()
        decoded_url = peel.try_url(stripped)
        if decoded_url is not None:
            self.add(where, key, decoded_url, encodings + ("url",), group, depth)
            return
        if stripped.startswith(("http://", "https://")):
            query = split_url(stripped)[2]
            if query:
                self.walk_form(query, f"{where}>", encodings, depth)
            return
        jwt = _JWT_RE.search(stripped)
        if jwt:
            for position, segment in enumerate(jwt.group(0).split(".")[:2]):
                decoded = peel.try_base64(segment + "=" * (-len(segment) % 4)) if len(segment) >= 12 else None
                if decoded:
                    inner, codings = self.text_of_bytes(decoded[0])
                    if inner is not None:
                        self.add(f"{where}>jwt[{position}]", key, inner, encodings + ("base64",) + codings, group, depth)
            return
        raw = peel.try_hex(stripped)
        label = "hex"
        if raw is None:
            b64 = peel.try_base64(stripped)
            if b64 is not None:
                raw, label = b64
        if raw is not None:
            inner, codings = self.text_of_bytes(raw)
            if inner is not None:
                self.add(where, key, inner, encodings + (label,) + codings, group, depth)

    # -- containers ---------------------------------------------------------------------

    def walk_json(self, value: object, path: str, key: str | None, encodings: tuple[str, ...], depth: int) -> None:
        """Add every scalar of a parsed JSON value (numbers as :class:`JsonNumber`)."""
        stack: list[tuple[object, str, str | None]] = [(value, path, key)]
        while stack:
            node, node_path, node_key = stack.pop()
            if isinstance(node, dict):
                group = self.new_group()
                for child_key, child in node.items():
                    child_key = str(child_key)
                    child_path = f"{node_path}.{child_key}"
                    if isinstance(child, (dict, list)):
                        stack.append((child, child_path, child_key))
                    else:
                        self._json_scalar(child, child_path, child_key, encodings, group, depth)
            elif isinstance(node, list):
                group = self.new_group()
                if len(node) == 2 and all(isinstance(item, JsonNumber) for item in node):
                    self.add(node_path, node_key, f"{node[0]},{node[1]}", encodings, group, depth, numeric=True, pair=True)
                    continue
                for position, item in enumerate(node):
                    item_path = f"{node_path}[{position}]"
                    if isinstance(item, (dict, list)):
                        stack.append((item, item_path, node_key))
                    else:
                        self._json_scalar(item, item_path, node_key, encodings, group, depth)
            else:
                self._json_scalar(node, node_path, node_key, encodings, self.new_group(), depth)

    def _json_scalar(self, value: object, path: str, key: str | None, encodings: tuple[str, ...], group: int, depth: int) -> None:
        if isinstance(value, JsonNumber):
            self.add(path, key, str(value), encodings, group, depth, numeric=True)
        elif isinstance(value, str):
            self.add(path, key, value, encodings, group, depth)

    def walk_form(self, text: str, prefix: str, encodings: tuple[str, ...], depth: int) -> None:
        """Add each ``name=value`` of a query string or form body (values percent-decoded)."""
        group = self.new_group()
        for name, value in parse_qsl(text, keep_blank_values=False):
            self.add(f"{prefix}{name}", name, value, encodings, group, depth)

    def walk_xml(self, text: str, prefix: str, encodings: tuple[str, ...], depth: int) -> bool:
        """Add element texts and attributes; False when ``text`` is not well-formed XML."""
        if "<!ENTITY" in text or "<!DOCTYPE" in text:
            self.anomaly("xml_dtd_ignored", "XML with a DTD or entity declarations was not parsed")
            return False
        try:
            root = ElementTree.fromstring(text)
        except (ElementTree.ParseError, ValueError):
            return False
        stack = [(root, "/" + _local(root.tag), self.new_group())]
        while stack:
            element, path, group = stack.pop()
            tag = _local(element.tag)
            if element.attrib:
                attr_group = self.new_group()
                for name, value in element.attrib.items():
                    name = _local(name)
                    self.add(f"{prefix}{path}/@{name}", name, value, encodings, attr_group, depth)
            content = (element.text or "").strip()
            if content:
                self.add(f"{prefix}{path}", tag, content, encodings, group, depth)
            children = list(element)
            if children:
                child_group = self.new_group()
                for child in reversed(children):
                    stack.append((child, f"{path}/{_local(child.tag)}", child_group))
        return True

    def walk_protobuf(self, data: bytes, prefix: str, encodings: tuple[str, ...], depth: int) -> bool:
        """Add protobuf scalars; adjacent doubles also as a pair. False when not protobuf."""
        values = parse_message(data)
        if values is None:
            return False
        groups: dict[int, int] = {}
        previous = None
        for value in values:
            group = groups.setdefault(value.message, self.new_group())
            numeric = value.kind in ("double", "varint", "fixed32")
            self.add(f"{prefix}{value.path}", None, value.text, encodings, group, depth, numeric=numeric)
            if value.kind == "double" and previous is not None and previous.kind == "double" and previous.message == value.message:
                self.add(f"{prefix}{previous.path}+{value.path.rsplit('.', 1)[-1]}", None, f"{previous.text},{value.text}", encodings, group, depth, numeric=True, pair=True)
            previous = value
        return True


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _param(header_value: str, name: str) -> str | None:
    match = re.search(rf'{name}="?([^";]+)"?', header_value, re.IGNORECASE)
    return match.group(1) if match else None


def collect_body(
    collector: FieldCollector,
    body: bytes,
    content_type: str | None,
    content_encoding: str | None,
    prefix: str = "body",
    encodings: tuple[str, ...] = (),
    depth: int = 0,
) -> None:
    """Decode a body and add its fields under ``prefix`` (``body.json:``, ``body.form:``...)."""
    if not body:
        return
    body, peeled, problem = collector.decode_content(body, content_encoding)
    if problem:
        kind = "unknown_content_encoding" if problem.startswith("unknown") else "content_decode_failed"
        collector.anomaly(kind, problem + "; body scanned as sent")
    encodings = encodings + peeled
    if len(body) > MAX_BODY_SCAN:
        collector.anomaly("body_truncated", f"body of {len(body)} bytes; only the first {MAX_BODY_SCAN} bytes were scanned")
        body = body[:MAX_BODY_SCAN]
    ctype = (content_type or "").lower()
    if ctype.startswith(_BINARY_TYPES):
        return
    if "grpc" in ctype and len(body) >= 5:
        collect_grpc(collector, body, prefix, encodings, depth)
        return
    if "multipart/" in ctype:
        boundary = _param(content_type or "", "boundary")
        if boundary:
            collect_multipart(collector, body, boundary.encode("latin-1", "replace"), prefix, encodings, depth)
            return
    if "protobuf" in ctype or "proto" in ctype:
        if collector.walk_protobuf(body, f"{prefix}.protobuf:", encodings, depth):
            return
    text = _decode_text(body)
    if text is None:
        if "octet-stream" in ctype or not ctype:
            collector.walk_protobuf(body, f"{prefix}.protobuf:", encodings, depth)
        return
    stripped = text.strip()
    if "json" in ctype or stripped[:1] in "{[":
        try:
            parsed = json.loads(stripped, parse_float=JsonNumber, parse_int=JsonNumber)
        except (ValueError, RecursionError):
            parsed = None
        if parsed is not None:
            collector.walk_json(parsed, f"{prefix}.json:$", None, encodings, depth)
            return
        # Newline-delimited JSON (batched analytics events).
        lines = [line for line in stripped.splitlines() if line.strip()]
        parsed_lines = []
        for line in lines[:10_000]:
            try:
                parsed_lines.append(json.loads(line, parse_float=JsonNumber, parse_int=JsonNumber))
            except (ValueError, RecursionError):
                parsed_lines = []
                break
        if parsed_lines:
            for number, item in enumerate(parsed_lines):
                collector.walk_json(item, f"{prefix}.jsonl[{number}]:$", None, encodings, depth)
            return
    if "x-www-form-urlencoded" in ctype or ("=" in stripped and _FORM_RE.fullmatch(stripped) and not _PADDED_B64_RE.fullmatch(stripped)):
        collector.walk_form(stripped, f"{prefix}.form:", encodings, depth)
        return
    if "xml" in ctype or stripped.startswith("<"):
        if collector.walk_xml(stripped, f"{prefix}.xml:", encodings, depth):
            return
    collector.add(f"{prefix}.text", None, text, encodings, collector.new_group(), depth)


def _decode_text(body: bytes) -> str | None:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return None
    sample = text[:4096]
    if sample and sum(1 for ch in sample if ch.isprintable() or ch in "\r\n\t") < 0.9 * len(sample):
        return None
    return text


def collect_grpc(collector: FieldCollector, body: bytes, prefix: str, encodings: tuple[str, ...], depth: int) -> None:
    """gRPC length-prefixed messages (https://github.com/grpc/grpc/blob/master/doc/PROTOCOL-HTTP2.md)."""
    pos = 0
    number = 0
    while pos + 5 <= len(body):
        compressed = body[pos]
        length = int.from_bytes(body[pos + 1 : pos + 5], "big")
        chunk = body[pos + 5 : pos + 5 + length]
        pos += 5 + length
        codings = encodings
        if compressed:
            chunk, peeled, _ = collector.decode_content(chunk, None)
            codings = encodings + peeled
        collector.walk_protobuf(chunk, f"{prefix}.grpc[{number}]:", codings, depth)
        number += 1


def collect_multipart(collector: FieldCollector, body: bytes, boundary: bytes, prefix: str, encodings: tuple[str, ...], depth: int) -> None:
    """Each part of a ``multipart/*`` body (RFC 2046 §5.1, RFC 7578), by its own type."""
    if collector.multipart_level >= MAX_MULTIPART_NESTING:
        collector.anomaly("multipart_too_deep", f"multipart nested more than {MAX_MULTIPART_NESTING} levels; the inner parts were not read")
        return
    collector.multipart_level += 1
    try:
        _collect_parts(collector, body, boundary, prefix, encodings, depth)
    finally:
        collector.multipart_level -= 1


def _collect_parts(collector: FieldCollector, body: bytes, boundary: bytes, prefix: str, encodings: tuple[str, ...], depth: int) -> None:
    delimiter = b"--" + boundary
    for number, part in enumerate(body.split(delimiter)[1:]):
        if part.startswith(b"--"):
            break
        part = part.removeprefix(b"\r\n").removeprefix(b"\n")
        head, sep, content = part.partition(b"\r\n\r\n")
        if not sep:
            head, sep, content = part.partition(b"\n\n")
        content = content.removesuffix(b"\r\n").removesuffix(b"\n")
        headers = head.decode("latin-1")
        name = _param(headers, "name") or str(number)
        part_type = None
        transfer = None
        for line in headers.splitlines():
            label, _, value = line.partition(":")
            if label.strip().lower() == "content-type":
                part_type = value.strip()
            elif label.strip().lower() == "content-transfer-encoding":
                transfer = value.strip().lower()
        codings = encodings
        if transfer == "base64":
            decoded = peel.try_base64(content.decode("ascii", "ignore").replace("\r", "").replace("\n", ""))
            if decoded:
                content, codings = decoded[0], encodings + ("base64",)
        collect_body(collector, content, part_type, None, f"{prefix}.multipart[{name}]", codings, depth)


def collect_request(request: CapturedRequest) -> FieldCollector:
    """All fields of one request (path, query, headers, cookies, body) and any anomalies."""
    collector = FieldCollector(request.index)
    _, url_path, url_query = split_url(request.url)
    path_group = collector.new_group()
    for segment in url_path.split("/"):
        if segment:
            collector.add("path", None, segment, (), path_group)
    if url_query:
        collector.walk_form(url_query, "query:", (), 0)
    content_type = None
    content_encoding = None
    for name, value in request.headers:
        lower = name.lower()
        if lower == "cookie":
            group = collector.new_group()
            for pair in value.split(";"):
                cookie_name, sep, cookie_value = pair.strip().partition("=")
                if sep and cookie_value:
                    collector.add(f"cookie:{cookie_name}", cookie_name, cookie_value, (), group)
            continue
        if lower == "content-type":
            content_type = value
        elif lower == "content-encoding":
            content_encoding = value
        if lower in ("host", "content-length", "connection", "accept", "accept-encoding", "content-type", "content-encoding", ":method", ":scheme", ":authority", ":path"):
            continue
        collector.add(f"header:{name}", name, value, (), collector.new_group())
    if request.body_truncated:
        collector.anomaly("body_truncated", f"the reader kept only the first {len(request.body)} bytes of the body")
    collect_body(collector, request.body, content_type, content_encoding)
    return collector
