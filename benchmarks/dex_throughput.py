#!/usr/bin/env python3
"""DEX indexing throughput: how close datasafety's index is to the cost of inflating the bytes.

Over every ``classes*.dex`` entry of one APK (default: the large synthetic APK
from ``make_large_apk.py`` at /tmp/datasafety-large.apk), in one process:

- inflate: raw ``zlib`` inflation of each entry's compressed bytes, which are
  read from the zip beforehand (the floor: no tool can look at the DEX faster);
- index: ``datasafety.app.dex.index.index_dex`` on each entry's inflated bytes
  (read from the zip beforehand; each index is dropped before the next);
- scan: the whole ``datasafety.scan(path)`` plus ``report.to_json()`` (reading
  the zip, manifest, index, analyses, verdicts).

One untimed warm-up of each (fills the page cache),
then ``--runs`` timed runs (default 3); medians, MiB/s of uncompressed DEX,
and ratios to the inflate floor.

Run from the repository root::

    .venv/bin/python benchmarks/make_large_apk.py /tmp/datasafety-large.apk
    .venv/bin/python benchmarks/dex_throughput.py [APK] [--runs 3]
"""

from __future__ import annotations

import argparse
import gc
import re
import statistics
import struct
import sys
import time
import zipfile
import zlib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from scan_vs_androguard import MIB, die, print_header, table  # noqa: E402

DEFAULT_APK = Path("/tmp/datasafety-large.apk")
DEX_NAME = re.compile(r"^classes(\d*)\.dex$")


def raw_entries(apk: Path) -> list[tuple[str, int, bytes]]:
    """(name, compress_type, compressed bytes) of each ``classes*.dex`` entry, read from the local headers."""
    found = []
    with zipfile.ZipFile(apk) as z, open(apk, "rb") as f:
        for info in z.infolist():
            if not DEX_NAME.match(info.filename):
                continue
            f.seek(info.header_offset)
            header = f.read(30)
            if header[:4] != b"PK\x03\x04":
                die("dex_throughput", f"{apk}: bad local header for {info.filename}")
            name_len, extra_len = struct.unpack_from("<HH", header, 26)
            f.seek(info.header_offset + 30 + name_len + extra_len)
            found.append((info.filename, info.compress_type, f.read(info.compress_size)))
    return found


def inflate(entries: list[tuple[str, int, bytes]]) -> list[bytes]:
    out = []
    for _name, method, blob in entries:
        if method == zipfile.ZIP_DEFLATED:
            out.append(zlib.decompressobj(-15).decompress(blob))
        else:
            out.append(blob)
    return out


def timed(fn) -> float:
    gc.collect()
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("apk", nargs="?", type=Path, default=DEFAULT_APK, help=f"APK to measure (default {DEFAULT_APK})")
    parser.add_argument("--runs", type=int, default=3, help="timed runs of each step (default 3)")
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    if not args.apk.is_file():
        hint = " (build it: .venv/bin/python benchmarks/make_large_apk.py /tmp/datasafety-large.apk)" if args.apk == DEFAULT_APK else ""
        die("dex_throughput", f"APK not found: {args.apk}{hint}")

    import datasafety
    from datasafety.app.dex.index import index_dex

    entries = raw_entries(args.apk)
    if not entries:
        die("dex_throughput", f"{args.apk}: no classes*.dex entries")
    dex_bytes = inflate(entries)
    total_mib = sum(len(b) for b in dex_bytes) / MIB
    compressed_mib = sum(len(e[2]) for e in entries) / MIB

    def index_all() -> None:
        for (name, _m, _b), data in zip(entries, dex_bytes):
            index_dex(data, name)

    def scan() -> None:
        datasafety.scan(args.apk).to_json()

    steps = [("inflate (zlib only, the floor)", lambda: inflate(entries)), ("index_dex on every entry", index_all), ("datasafety.scan + to_json", scan)]

    print_header("DEX indexing throughput")
    print(f"APK: {args.apk} ({args.apk.stat().st_size / MIB:.1f} MiB); {len(entries)} DEX entries, {compressed_mib:.1f} MiB compressed, {total_mib:.1f} MiB uncompressed")
    print(f"runs: 1 warm-up + {args.runs} timed per step, in one process; medians")
    print(flush=True)
    for _label, fn in steps:
        fn()  # warm-up
    times: dict[str, list[float]] = {label: [] for label, _ in steps}
    for i in range(args.runs):
        for label, fn in steps:
            t = timed(fn)
            times[label].append(t)
            print(f"  run {i + 1}: {label}: {t:.2f} s", flush=True)

    medians = {label: statistics.median(ts) for label, ts in times.items()}
    floor = medians[steps[0][0]]
    rows = []
    for label, _ in steps:
        m = medians[label]
        rows.append([label, f"{m:.2f}", f"{min(times[label]):.2f}-{max(times[label]):.2f}", f"{total_mib / m:.0f}", f"{m / floor:.1f}x"])
    print()
    print(table(["step", "median s", "range s", "MiB/s of DEX", "ratio to inflate"], rows))
    idx, scn = medians[steps[1][0]], medians[steps[2][0]]
    print()
    print(f"index / inflate: {idx / floor:.2f}; scan / (inflate + index): {scn / (floor + idx):.2f}; scan / inflate: {scn / floor:.2f}")


if __name__ == "__main__":
    main()
