"""Peeling: undo compression and transport encodings, with byte caps.

- Content codings (RFC 9110 §8.4.1): ``gzip``, ``deflate`` (zlib or raw), ``br`` (Brotli,
  RFC 7932), ``zstd`` (RFC 8878). Decompression output is capped at
  :data:`MAX_DECODED_BYTES` so a decompression bomb costs bounded memory.
- Text encodings found inside values: base64 (RFC 4648 §4 and the URL-safe alphabet §5),
  hex, and URL percent-encoding (RFC 3986 §2.1).
"""

from __future__ import annotations

import base64
import binascii
import re
import zlib
from urllib.parse import unquote_plus

MAX_DECODED_BYTES = 16 * 1024 * 1024
"""Cap on the output of one decompression (bytes)."""

_B64_RE = re.compile(r"[A-Za-z0-9+/_-]{12,}={0,2}")
_HEX_RE = re.compile(r"(?:[0-9a-fA-F]{2}){8,}")
_PCT_RE = re.compile(r"%[0-9A-Fa-f]{2}")


class DecodeError(ValueError):
    """The bytes are not in the claimed encoding."""


def _gunzip(data: bytes) -> bytes:
    return _zlib_capped(data, 16 + zlib.MAX_WBITS)


def _zlib_capped(data: bytes, wbits: int) -> bytes:
    try:
        decoder = zlib.decompressobj(wbits)
        out = decoder.decompress(data, MAX_DECODED_BYTES)
    except zlib.error as exc:
        raise DecodeError(str(exc)) from None
    return out


def _inflate(data: bytes) -> bytes:
    try:
        return _zlib_capped(data, zlib.MAX_WBITS)
    except DecodeError:
        return _zlib_capped(data, -zlib.MAX_WBITS)


def _unbrotli(data: bytes) -> bytes:
    import brotli

    try:
        decoder = brotli.Decompressor()
        out = bytearray()
        # Feed in slices so that the output check runs between slices.
        for start in range(0, len(data), 65536):
            out += decoder.process(data[start : start + 65536])
            if len(out) >= MAX_DECODED_BYTES:
                return bytes(out[:MAX_DECODED_BYTES])
        return bytes(out)
    except brotli.error as exc:
        raise DecodeError(str(exc)) from None


def _unzstd(data: bytes) -> bytes:
    import zstandard

    try:
        reader = zstandard.ZstdDecompressor().stream_reader(data)
        return reader.read(MAX_DECODED_BYTES)
    except zstandard.ZstdError as exc:
        raise DecodeError(str(exc)) from None


CONTENT_DECODERS = {
    "gzip": _gunzip,
    "x-gzip": _gunzip,
    "deflate": _inflate,
    "br": _unbrotli,
    "zstd": _unzstd,
}
"""Content-Encoding token -> decoder(bytes) -> bytes (capped)."""


def decode_content(data: bytes, content_encoding: str | None) -> tuple[bytes, tuple[str, ...], str | None]:
    """Undo a ``Content-Encoding`` header value (codings listed in the order applied).

    Returns ``(decoded_bytes, codings_peeled_outermost_first, problem)``; ``problem`` is a
    one-line reason when a coding is unknown or the bytes do not decode, in which case the
    bytes decoded so far are returned (the caller still scans them as they are).
    """
    if not content_encoding:
        return sniff_compressed(data)
    codings = [c.strip().lower() for c in content_encoding.split(",") if c.strip()]
    peeled: list[str] = []
    for coding in reversed(codings):
        if coding == "identity":
            continue
        decoder = CONTENT_DECODERS.get(coding)
        if decoder is None:
            return data, tuple(peeled), f"unknown Content-Encoding {coding!r}"
        try:
            data = decoder(data)
        except DecodeError as exc:
            return data, tuple(peeled), f"Content-Encoding {coding!r} does not decode: {exc}"
        peeled.append("gzip" if coding == "x-gzip" else coding)
    return data, tuple(peeled), None


def sniff_compressed(data: bytes) -> tuple[bytes, tuple[str, ...], str | None]:
    """Decompress bytes that carry a gzip or zstd magic number but no header said so."""
    if data[:2] == b"\x1f\x8b":
        try:
            return _gunzip(data), ("gzip",), None
        except DecodeError:
            return data, (), None
    if data[:4] == b"\x28\xb5\x2f\xfd":
        try:
            return _unzstd(data), ("zstd",), None
        except DecodeError:
            return data, (), None
    return data, (), None


def _printable_text(raw: bytes) -> str | None:
    """``raw`` as text when it is valid UTF-8 and at least 90 % printable, else None."""
    if not raw:
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    printable = sum(1 for ch in text if ch.isprintable() or ch in "\r\n\t")
    if printable < 0.9 * len(text):
        return None
    return text


def try_base64(text: str) -> tuple[bytes, str] | None:
    """Decode ``text`` when the whole of it is base64 (standard or URL-safe).

    Returns ``(bytes, "base64")`` or None. Pure hex and pure digit strings are left to the
    other decoders (they are valid base64 alphabets but rarely base64).
    """
    if len(text) < 12 or not _B64_RE.fullmatch(text):
        return None
    if text.isdigit() or _HEX_RE.fullmatch(text) or text.isalpha():
        return None
    body = text.rstrip("=")
    if len(body) % 4 == 1:
        return None
    padded = body + "=" * (-len(body) % 4)
    try:
        if "-" in padded or "_" in padded:
            raw = base64.urlsafe_b64decode(padded)
        else:
            raw = base64.b64decode(padded, validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw, "base64"


def try_hex(text: str) -> bytes | None:
    """Decode ``text`` when it is an even-length hex string of at least 16 digits."""
    if len(text) < 16 or not _HEX_RE.fullmatch(text):
        return None
    try:
        return bytes.fromhex(text)
    except ValueError:
        return None


def try_url(text: str) -> str | None:
    """Percent-decode ``text`` when it holds at least one ``%XX`` escape."""
    if "%" not in text or not _PCT_RE.search(text):
        return None
    decoded = unquote_plus(text)
    return decoded if decoded != text else None


def bytes_to_text(raw: bytes) -> tuple[str | None, tuple[str, ...]]:
    """Turn decoded bytes into scannable text, decompressing a gzip/zstd payload on the way.

    Returns ``(text or None, codings peeled)``.
    """
    raw, peeled, _ = sniff_compressed(raw)
    if not peeled and raw[:1] == b"\x78" and len(raw) > 2 and (raw[0] * 256 + raw[1]) % 31 == 0:
        try:
            raw, peeled = _inflate(raw), ("deflate",)
        except DecodeError:
            pass
    return _printable_text(raw), peeled
