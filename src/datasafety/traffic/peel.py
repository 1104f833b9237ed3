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
"""Cap on the output of one decompression of a body (bytes)."""
MAX_NESTED_DECODED_BYTES = 1024 * 1024
"""Cap on the output of one decompression inside a value (base64/hex of gzip...): the
text scanned per value is much smaller anyway (``fields.MAX_TEXT_LEAF``)."""
BROTLI_SLICE = 4
"""Compressed bytes fed to the Brotli decoder per call. Brotli 1.1's ``process`` has no
output limit and a few bytes can expand to megabytes, so the input is fed in tiny slices
and decoding stops as soon as the output reaches the cap (a 1 GB bomb costs ~20 MB)."""
ZSTD_MAX_WINDOW = 1 << 25
"""Largest zstd window accepted (32 MiB; RFC 8878 §3.1.1.1.2 recommends 8 MiB for HTTP)."""

_B64_RE = re.compile(r"[A-Za-z0-9+/_-]{12,}={0,2}")
_HEX_RE = re.compile(r"(?:[0-9a-fA-F]{2}){8,}")
_PCT_RE = re.compile(r"%[0-9A-Fa-f]{2}")


class DecodeError(ValueError):
    """The bytes are not in the claimed encoding."""


def _gunzip(data: bytes, limit: int = MAX_DECODED_BYTES) -> bytes:
    return _zlib_capped(data, 16 + zlib.MAX_WBITS, limit)


def _zlib_capped(data: bytes, wbits: int, limit: int = MAX_DECODED_BYTES) -> bytes:
    try:
        decoder = zlib.decompressobj(wbits)
        out = decoder.decompress(data, limit)
    except zlib.error as exc:
        raise DecodeError(str(exc)) from None
    return out


def _inflate(data: bytes, limit: int = MAX_DECODED_BYTES) -> bytes:
    try:
        return _zlib_capped(data, zlib.MAX_WBITS, limit)
    except DecodeError:
        return _zlib_capped(data, -zlib.MAX_WBITS, limit)


def _unbrotli(data: bytes, limit: int = MAX_DECODED_BYTES) -> bytes:
    import brotli

    try:
        decoder = brotli.Decompressor()
        out = bytearray()
        view = memoryview(data)
        for start in range(0, len(data), BROTLI_SLICE):
            out += decoder.process(view[start : start + BROTLI_SLICE].tobytes())
            if len(out) >= limit:
                del out[limit:]
                break
        return bytes(out)
    except brotli.error as exc:
        raise DecodeError(str(exc)) from None


def _unzstd(data: bytes, limit: int = MAX_DECODED_BYTES) -> bytes:
    import zstandard

    try:
        reader = zstandard.ZstdDecompressor(max_window_size=ZSTD_MAX_WINDOW).stream_reader(data)
        out = bytearray()
        while len(out) < limit:
            chunk = reader.read(min(1 << 20, limit - len(out)))
            if not chunk:
                break
            out += chunk
        return bytes(out)
    except zstandard.ZstdError as exc:
        raise DecodeError(str(exc)) from None


CONTENT_DECODERS = {
    "gzip": _gunzip,
    "x-gzip": _gunzip,
    "deflate": _inflate,
    "br": _unbrotli,
    "zstd": _unzstd,
}
"""Content-Encoding token -> decoder(bytes, limit) -> bytes (at most ``limit``)."""


def decode_content(data: bytes, content_encoding: str | None, limit: int = MAX_DECODED_BYTES) -> tuple[bytes, tuple[str, ...], str | None]:
    """Undo a ``Content-Encoding`` header value (codings listed in the order applied).

    Returns ``(decoded_bytes, codings_peeled_outermost_first, problem)``; ``problem`` is a
    one-line reason when a coding is unknown or the bytes do not decode, in which case the
    bytes decoded so far are returned (the caller still scans them as they are). Each
    decompression yields at most ``limit`` bytes.
    """
    if not content_encoding:
        return sniff_compressed(data, limit)
    codings = [c.strip().lower() for c in content_encoding.split(",") if c.strip()]
    peeled: list[str] = []
    for coding in reversed(codings[:8]):
        if coding == "identity":
            continue
        decoder = CONTENT_DECODERS.get(coding)
        if decoder is None:
            return data, tuple(peeled), f"unknown Content-Encoding {coding[:40]!r}"
        try:
            data = decoder(data, limit)
        except DecodeError as exc:
            return data, tuple(peeled), f"Content-Encoding {coding!r} does not decode: {exc}"
        peeled.append("gzip" if coding == "x-gzip" else coding)
    return data, tuple(peeled), None


def sniff_compressed(data: bytes, limit: int = MAX_DECODED_BYTES) -> tuple[bytes, tuple[str, ...], str | None]:
    """Decompress bytes that carry a gzip or zstd magic number but no header said so."""
    if data[:2] == b"\x1f\x8b":
        try:
            return _gunzip(data, limit), ("gzip",), None
        except DecodeError:
            return data, (), None
    if data[:4] == b"\x28\xb5\x2f\xfd":
        try:
            return _unzstd(data, limit), ("zstd",), None
        except DecodeError:
            return data, (), None
    return data, (), None


def _printable_text(raw: bytes) -> str | None:
    """``raw`` as text when it is valid UTF-8 and at least 90 % printable, else None."""
    if not raw:
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut at the end (a capped decompression) is dropped.
        if exc.start < len(raw) - 3 or exc.reason != "unexpected end of data":
            return None
        text = raw[: exc.start].decode("utf-8")
        if not text:
            return None
    sample = text[:65536]
    printable = sum(1 for ch in sample if ch.isprintable() or ch in "\r\n\t")
    if printable < 0.9 * len(sample):
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


def looks_compressed(raw: bytes) -> bool:
    """True when ``raw`` starts like gzip, zstd or a zlib stream."""
    return raw[:2] == b"\x1f\x8b" or raw[:4] == b"\x28\xb5\x2f\xfd" or (
        raw[:1] == b"\x78" and len(raw) > 2 and (raw[0] * 256 + raw[1]) % 31 == 0
    )


def bytes_to_text_counted(raw: bytes, limit: int = MAX_NESTED_DECODED_BYTES) -> tuple[str | None, tuple[str, ...], int]:
    """:func:`bytes_to_text` that also returns how many bytes decompression produced (0 when
    nothing was decompressed, -1 when ``limit`` <= 0 and ``raw`` looks compressed, so it was
    left alone)."""
    if limit <= 0:
        if looks_compressed(raw):
            return None, (), -1
        return _printable_text(raw), (), 0
    raw, peeled, _ = sniff_compressed(raw, limit)
    if not peeled and raw[:1] == b"\x78" and len(raw) > 2 and (raw[0] * 256 + raw[1]) % 31 == 0:
        try:
            raw, peeled = _inflate(raw, limit), ("deflate",)
        except DecodeError:
            pass
    return _printable_text(raw), peeled, len(raw) if peeled else 0


def bytes_to_text(raw: bytes, limit: int = MAX_NESTED_DECODED_BYTES) -> tuple[str | None, tuple[str, ...]]:
    """Turn decoded bytes into scannable text, decompressing a gzip/zstd/zlib payload on the
    way (at most ``limit`` bytes of output).

    Returns ``(text or None, codings peeled)``.
    """
    text, peeled, _ = bytes_to_text_counted(raw, limit)
    return text, peeled
