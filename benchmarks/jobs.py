#!/usr/bin/env python3
"""`--jobs 2` beside `--jobs 1` on the same APK, in the same run (issue 3 target: <= 0.6x).

Each run is a fresh `datasafety scan APK --quiet --json /dev/null --no-flows`
command (the inventory scan); runs alternate between the two settings and the
medians are compared. Also checks that both settings give byte-identical JSON.

    .venv/bin/python benchmarks/make_large_apk.py /tmp/datasafety-large.apk
    .venv/bin/python benchmarks/jobs.py /tmp/datasafety-large.apk [--runs 3]
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from scan_vs_androguard import datasafety_command  # noqa: E402


def run(apk: Path, jobs: int, out: Path) -> float:
    start = time.perf_counter()
    subprocess.run(datasafety_command() + ["scan", str(apk), "--quiet", "--no-flows", "--jobs", str(jobs), "--json", str(out)],
                   check=True, stdin=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("apk", type=Path)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    if not args.apk.is_file():
        print(f"jobs.py: {args.apk}: no such file (build it with benchmarks/make_large_apk.py)", file=sys.stderr)
        sys.exit(2)
    with tempfile.TemporaryDirectory() as tmp:
        outs = {1: Path(tmp) / "j1.json", 2: Path(tmp) / "j2.json"}
        run(args.apk, 1, outs[1])  # warm-up (page cache)
        times = {1: [], 2: []}
        for _ in range(args.runs):
            for jobs in (1, 2):
                times[jobs].append(run(args.apk, jobs, outs[jobs]))
        same = hashlib.sha256(outs[1].read_bytes()).digest() == hashlib.sha256(outs[2].read_bytes()).digest()
    m1, m2 = statistics.median(times[1]), statistics.median(times[2])
    print(f"| APK | --jobs 1 median s | --jobs 2 median s | ratio | identical JSON |")
    print(f"|---|---:|---:|---:|---|")
    print(f"| {args.apk.name} | {m1:.2f} | {m2:.2f} | {m2 / m1:.2f} | {'yes' if same else 'NO'} |")
    print(f"runs: jobs1={['%.2f' % t for t in times[1]]} jobs2={['%.2f' % t for t in times[2]]}", file=sys.stderr)


if __name__ == "__main__":
    main()
