#!/usr/bin/env python3
"""Build a large multi-DEX APK from the real DEX files of the corpus (a stand-in for a TikTok-sized app).

It collects every ``classes*.dex`` entry of every corpus APK (APKs in sorted
path order, entries in the runtime's loading order: ``classes.dex``,
``classes2.dex``, ...), and writes them as ``classes.dex``, ``classes2.dex``,
... into a new zip, going round the list again in the same order until the
total is at least ``--target-mb`` MiB of uncompressed DEX and at least
``--min-classes`` class definitions (``class_defs_size`` at offset 0x60 of
each DEX header). Repeated DEX files define the same classes again; that is
intended (the scanner keeps the first definition and reports duplicates).
``AndroidManifest.xml`` and ``resources.arsc`` come from a real app
(default ``exodus-core/blooddonation.apk``). The APK is unsigned.

Entries are deflated (level 6) with fixed timestamps and attributes, so the
output is byte-identical across runs on the same corpus and zlib.

Run from the repository root::

    .venv/bin/python benchmarks/make_large_apk.py /tmp/datasafety-large.apk [--target-mb 150] [--min-classes 150000]
"""

from __future__ import annotations

import argparse
import hashlib
import re
import struct
import sys
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from scan_vs_androguard import CORPUS, MIB, die, require_corpus  # noqa: E402

DEX_NAME = re.compile(r"^classes(\d*)\.dex$")
FIXED_TIME = (1980, 1, 1, 0, 0, 0)


def dex_order(name: str) -> int:
    digits = DEX_NAME.match(name).group(1)
    return int(digits) if digits else 1


def corpus_dex(corpus: Path) -> list[tuple[str, bytes, int]]:
    """(source label, bytes, class_defs_size) of every readable DEX entry in the corpus, in a fixed order."""
    found = []
    for apk in sorted(corpus.rglob("*.apk"), key=lambda p: p.relative_to(corpus).as_posix()):
        try:
            with zipfile.ZipFile(apk) as z:
                names = sorted((n for n in z.namelist() if DEX_NAME.match(n)), key=dex_order)
                for name in names:
                    try:
                        data = z.read(name)
                    except Exception as exc:  # noqa: BLE001 - corpus has deliberately broken zips
                        print(f"skipped {apk.relative_to(corpus)}:{name}: {exc}", file=sys.stderr)
                        continue
                    if len(data) < 0x70 or data[:4] != b"dex\n":
                        print(f"skipped {apk.relative_to(corpus)}:{name}: no DEX header", file=sys.stderr)
                        continue
                    (class_defs,) = struct.unpack_from("<I", data, 0x60)
                    found.append((f"{apk.relative_to(corpus).as_posix()}:{name}", data, class_defs))
        except (zipfile.BadZipFile, OSError) as exc:
            print(f"skipped {apk.relative_to(corpus)}: {exc}", file=sys.stderr)
    return found


def entry(name: str, compress_type: int) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
    info.compress_type = compress_type
    info.create_system = 3
    info.external_attr = 0o644 << 16
    return info


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="output APK (write it outside the repository, e.g. /tmp)")
    parser.add_argument("--target-mb", type=float, default=150, help="minimum uncompressed DEX, MiB (default 150)")
    parser.add_argument("--min-classes", type=int, default=150_000, help="minimum class definitions (default 150000)")
    parser.add_argument("--corpus", type=Path, default=CORPUS, help="corpus folder (default ../shared/data/apks)")
    parser.add_argument(
        "--manifest-from",
        default="exodus-core/blooddonation.apk",
        help="APK (path or relative to --corpus) giving AndroidManifest.xml and resources.arsc",
    )
    args = parser.parse_args()
    require_corpus("make_large_apk", args.corpus)

    source = Path(args.manifest_from)
    if not source.is_file():
        source = args.corpus / args.manifest_from
    if not source.is_file():
        die("make_large_apk", f"manifest source APK not found: {args.manifest_from}")
    dex_files = corpus_dex(args.corpus)
    if not dex_files:
        die("make_large_apk", f"no readable classes*.dex in {args.corpus}")

    target_bytes = args.target_mb * MIB
    chosen: list[tuple[str, bytes, int]] = []
    total_bytes = total_classes = 0
    i = 0
    while total_bytes < target_bytes or total_classes < args.min_classes:
        item = dex_files[i % len(dex_files)]
        chosen.append(item)
        total_bytes += len(item[1])
        total_classes += item[2]
        i += 1

    args.out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(args.out, "w") as out:
        names = set(src.namelist())
        if "AndroidManifest.xml" not in names:
            die("make_large_apk", f"{source} has no AndroidManifest.xml")
        out.writestr(entry("AndroidManifest.xml", zipfile.ZIP_DEFLATED), src.read("AndroidManifest.xml"), compresslevel=6)
        for n, (_label, data, _classes) in enumerate(chosen, start=1):
            name = "classes.dex" if n == 1 else f"classes{n}.dex"
            out.writestr(entry(name, zipfile.ZIP_DEFLATED), data, compresslevel=6)
        if "resources.arsc" in names:
            # Stored, as real apps (and the source) ship it.
            out.writestr(entry("resources.arsc", src.getinfo("resources.arsc").compress_type), src.read("resources.arsc"), compresslevel=6)

    digest = hashlib.sha256(args.out.read_bytes()).hexdigest()
    distinct = len({label for label, _, _ in chosen})
    print(f"wrote {args.out}")
    print(f"corpus DEX files: {len(dex_files)}; used {len(chosen)} entries ({distinct} distinct, {len(chosen) - distinct} repeats)")
    print(f"uncompressed DEX: {total_bytes / MIB:.1f} MiB in {len(chosen)} DEX files")
    print(f"class defs: {total_classes}")
    print(f"file size: {args.out.stat().st_size / MIB:.1f} MiB")
    print(f"sha256: {digest}")


if __name__ == "__main__":
    main()
