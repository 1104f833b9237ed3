"""Capture format detection and dispatch to the per-format readers.

Formats by magic bytes: pcap (``a1b2c3d4`` / ``d4c3b2a1`` and the nanosecond variants),
pcapng (``0a0d0d0a`` section header block), HAR (JSON text starting with ``{``), otherwise a
mitmproxy flow file (tnetstring, starts with a decimal length and ``:``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

from datasafety.traffic.model import Anomaly, CapturedRequest

_PCAP_MAGIC = {b"\xa1\xb2\xc3\xd4", b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\x3c\x4d", b"\x4d\x3c\xb2\xa1"}
_PCAPNG_MAGIC = b"\x0a\x0d\x0d\x0a"


def sniff_format(path: Path) -> str:
    """``pcap``, ``har``, ``mitmproxy`` or ``unknown`` from the first bytes and the name."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(64)
    except OSError:
        return "unknown"
    if head[:4] in _PCAP_MAGIC or head[:4] == _PCAPNG_MAGIC:
        return "pcap"
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if stripped[:1] == b"{" or path.suffix.lower() == ".har":
        return "har"
    if stripped[:1].isdigit() and b":" in stripped[:12]:
        return "mitmproxy"
    if path.suffix.lower() in (".mitm", ".flow", ".flows", ".dump"):
        return "mitmproxy"
    return "unknown"


def read_capture(path: Path, keylog: Path | None = None) -> tuple[str, Iterator[CapturedRequest | Anomaly]]:
    """``(format, stream of requests and anomalies)`` for any supported capture."""
    capture_format = sniff_format(path)
    if capture_format == "har":
        from datasafety.traffic.har import read_har

        return capture_format, read_har(path)
    if capture_format == "mitmproxy":
        from datasafety.traffic.mitm import read_mitm

        return capture_format, read_mitm(path)
    if capture_format == "pcap":
        from datasafety.traffic.pcap import read_pcap

        return capture_format, read_pcap(path, keylog)

    def unknown() -> Iterator[CapturedRequest | Anomaly]:
        reason = "cannot be read" if not path.is_file() else "is not a HAR, mitmproxy flow, pcap or pcapng file"
        yield Anomaly("capture_unreadable", f"{path.name} {reason}")

    return capture_format, unknown()
