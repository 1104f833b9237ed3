"""``datasafety traffic CAPTURE``: the command behind the CLI entry point.

Exit codes (DESIGN.md): 0 done; 2 unusable input (nothing readable in the capture, a bad
device profile, an unloadable knowledge file), with one line on stderr and no traceback.
"""

from __future__ import annotations

import sys
from pathlib import Path


def _fail(message: str) -> int:
    print(f"datasafety traffic: {message}", file=sys.stderr)
    return 2


def run_traffic(
    capture: Path,
    *,
    device: Path | None,
    keylog: Path | None,
    json_out: Path | None,
    trackers: Path | None,
    quiet: bool,
    whotracksme: Path | None = None,
    geoip_dir: Path | None = None,
    publisher: str | None = None,
) -> int:
    """Analyse ``capture`` and present the result; returns the exit code.

    WhoTracks.me and IP-to-country data come from ``$DATASAFETY_WHOTRACKSME`` and
    ``$DATASAFETY_GEOIP_DIR``; the Exodus signatures from ``trackers`` or
    ``$DATASAFETY_TRACKERS``. Missing data means no such enrichment, never an error.
    """
    from datasafety.traffic.analyse import KnowledgeError, analyse_capture
    from datasafety.traffic.detect.profile import ProfileError
    from datasafety.traffic.present import print_summary, write_json

    if not capture.is_file():
        return _fail(f"{capture}: no such file")
    try:
        result = analyse_capture(
            capture, device=device, keylog=keylog, trackers=trackers,
            whotracksme=whotracksme, geoip_dir=geoip_dir, publisher_package=publisher,
        )
    except (ProfileError, KnowledgeError) as exc:
        return _fail(str(exc))
    except MemoryError:
        return _fail(f"{capture.name}: out of memory while reading the capture")
    if not result.readable:
        reason = next((a.detail for a in result.anomalies if a.kind == "capture_unreadable"), "nothing readable")
        return _fail(f"{capture.name}: {reason}")
    if json_out is not None:
        try:
            write_json(result, json_out)
        except OSError as exc:
            return _fail(f"cannot write {json_out}: {exc.strerror or exc}")
    if not quiet and str(json_out) != "-":
        print_summary(result)
    return 0
