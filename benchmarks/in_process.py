#!/usr/bin/env python3
"""Analysis time of datasafety beside androguard, both in one warm Python process.

`scan_vs_androguard.py` measures each tool as a fresh command, start-up included
(about 0.3 s of imports for us). This script measures
what each tool spends on the app itself: both are imported first, each gets one
warm-up run, then the runs alternate (ours, peer, ours, peer, ...) and the
medians are compared.

- ours, inventory: ``datasafety.scan(apk, flows=False)`` (everything the scan
  issue reports: permissions, call sites, SDKs, verdicts) + ``to_json``
- ours, full: ``datasafety.scan(apk)`` (adds call graph, reachability, flows)
- peer: androguard ``AnalyzeAPK`` + xref look-up of every catalogued invoke API
  (what a user of androguard would do to answer the same question)

Run from the repository root:

    .venv/bin/python benchmarks/in_process.py [--runs 5] [APK ...]
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from scan_vs_androguard import CORPUS, invoke_entries, require_corpus, resolve_apk, table  # noqa: E402

DEFAULTS = ["exodus-core/instapaper.apk", "exodus-core/blooddonation.apk", "npm-android-apidemos/ApiDemos-debug.apk"]


def peer(apk: Path, entries: list[dict]) -> int:
    from androguard.misc import AnalyzeAPK

    _a, _d, dx = AnalyzeAPK(str(apk))
    hits = 0
    for entry in entries:
        classname = re.escape("L" + entry["class"].replace(".", "/") + ";") + "$"
        methodname = re.escape(entry["method"]) + "$"
        for method in dx.find_methods(classname=classname, methodname=methodname):
            hits += len(list(method.get_xref_from()))
    return hits


def ours(apk: Path, flows: bool) -> int:
    import datasafety

    report = datasafety.scan(apk, flows=flows)
    report.to_json()
    return len(report.call_sites)


def timed(fn, *args) -> float:
    start = time.perf_counter()
    fn(*args)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("apks", nargs="*")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    args = parser.parse_args()
    require_corpus("in_process.py", args.corpus)
    from loguru import logger

    logger.remove()
    import datasafety  # noqa: F401  (imports are not timed)
    from androguard.misc import AnalyzeAPK  # noqa: F401

    entries = invoke_entries()
    rows = []
    for name in args.apks or DEFAULTS:
        apk = resolve_apk(name, args.corpus)
        ours(apk, False), ours(apk, True), peer(apk, entries)  # warm-up
        inv, full, ag = [], [], []
        for _ in range(args.runs):
            inv.append(timed(ours, apk, False))
            full.append(timed(ours, apk, True))
            ag.append(timed(peer, apk, entries))
        m_inv, m_full, m_ag = (statistics.median(x) for x in (inv, full, ag))
        rows.append([apk.name, f"{apk.stat().st_size / 2**20:.2f}", f"{m_inv:.3f}", f"{m_full:.3f}", f"{m_ag:.2f}",
                     f"{m_ag / m_inv:.1f}x", f"{m_ag / m_full:.1f}x"])
        print(f"{apk.name}: inventory {m_inv:.3f}s, full {m_full:.3f}s, androguard {m_ag:.2f}s", file=sys.stderr)
    print(table(["APK", "MiB", "ours inventory s", "ours full s", "androguard s", "ratio inventory", "ratio full"], rows))


if __name__ == "__main__":
    main()
