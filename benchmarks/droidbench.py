"""DroidBench 3.0 and ICC-Bench: flows found by ``datasafety scan`` against the benchmarks' expectations.

Usage (from the checkout, with ../shared beside it)::

    .venv/bin/python benchmarks/droidbench.py                 # DroidBench + ICC-Bench, per-category table
    .venv/bin/python benchmarks/droidbench.py --json out.json  # also the per-case results
    .venv/bin/python benchmarks/droidbench.py --real           # also the real-world apps of the corpus (median time)

Each app is scanned with the Python API (``datasafety.scan``, the function the
``scan`` command runs), in one process, so start-up costs are paid once.

Scoring per DroidBench app, from ``groundtruth.csv``'s ``number_of_leaks``:
found = distinct (source call site, sink call site) pairs in the report's
``flows``; TP = min(found, expected), FP = found - TP, FN = expected - TP.
The two cases with an unknown count (InterAppCommunication Echoer, SendSMS)
are scanned but not scored. ICC-Bench expectations come from the file names:
``*_nosrc*`` and ``*_nosink`` leak nothing, every other app (``*_src_sink``
and the target-finding / RPC cases) leaks; a case is correct when flows are
found exactly when a leak is expected.
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
APKS = SHARED / "data" / "apks"
DROIDBENCH = APKS / "droidbench"
ICC_BENCH = APKS / "icc-bench"
HARD = ("Native", "DynamicLoading", "SelfModification", "InterAppCommunication")
REAL_WORLD = ("exodus-core", "themis", "quark-apk-samples", "npm-android-apidemos", "npm-io.appium.settings",
              "npm-appium-uiautomator2-server")


@dataclass
class CaseResult:
    category: str
    name: str
    expected: int | None
    found: int
    seconds: float
    flows: list[tuple[str, str, str]]
    incomplete: bool

    @property
    def tp(self) -> int:
        return min(self.found, self.expected or 0)

    @property
    def fp(self) -> int:
        return self.found - self.tp

    @property
    def fn(self) -> int:
        return (self.expected or 0) - self.tp


def found_pairs(report) -> list[tuple[str, str, str]]:
    """Distinct (source call site, sink call site, sink kind) of a report's flows."""
    pairs = set()
    for f in report.flows:
        src = f"{f.source.dex}:{f.source.caller_class}.{f.source.caller_method}@{f.source.pc}:{f.source.api}"
        sink = f"{f.sink.dex}:{f.sink.caller_class}.{f.sink.caller_method}@{f.sink.pc}:{f.sink.api}"
        pairs.add((src, sink, f.sink_kind))
    return sorted(pairs)


def scan_case(path: Path, flow_budget: float | None) -> tuple[list, float, bool, int]:
    from datasafety import scan

    t0 = time.perf_counter()
    report = scan(path, flow_budget=flow_budget)
    seconds = time.perf_counter() - t0
    pairs = found_pairs(report)
    distinct = {(s, k) for s, k, _ in pairs}
    return pairs, seconds, "flows" in report.incomplete, len(distinct)


def droidbench_cases() -> list[tuple[str, str, Path, int | None]]:
    out = []
    with open(DROIDBENCH / "groundtruth.csv", newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            leaks = row["number_of_leaks"]
            expected = int(leaks) if leaks.isdigit() else None
            out.append((row["category"], row["name"], SHARED / row["apk_path"], expected))
    return out


def icc_expected(path: Path) -> int:
    stem = path.stem.lower()
    return 0 if ("nosrc" in stem or stem.endswith("nosink")) else 1


def prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f


def run(flow_budget: float | None, real: bool) -> dict:
    from datasafety import scan

    # Warm up the compiled kernels (cached on disk after the first run) outside the timings.
    scan(DROIDBENCH / "GeneralJava" / "Loop1.apk")
    results: list[CaseResult] = []
    t_all = time.perf_counter()
    for category, name, path, expected in droidbench_cases():
        pairs, seconds, incomplete, found = scan_case(path, flow_budget)
        results.append(CaseResult(category, name, expected, found, seconds, pairs, incomplete))
    droid_seconds = time.perf_counter() - t_all
    icc: list[CaseResult] = []
    t_icc = time.perf_counter()
    for path in sorted(ICC_BENCH.rglob("*.apk")):
        pairs, seconds, incomplete, found = scan_case(path, flow_budget)
        icc.append(CaseResult(path.parent.name, path.stem, icc_expected(path), found, seconds, pairs, incomplete))
    icc_seconds = time.perf_counter() - t_icc
    real_results = []
    if real:
        for folder in REAL_WORLD:
            for path in sorted((APKS / folder).glob("*.apk")):
                t0 = time.perf_counter()
                report = scan(path, flow_budget=flow_budget if flow_budget is not None else 120.0)
                real_results.append(
                    {
                        "app": f"{folder}/{path.name}",
                        "seconds": round(time.perf_counter() - t0, 2),
                        "flows": len(report.flows),
                        "incomplete": list(report.incomplete),
                    }
                )
    return {"droidbench": results, "droidbench_seconds": droid_seconds, "icc": icc, "icc_seconds": icc_seconds, "real": real_results}


def table(results: list[CaseResult]) -> list[dict]:
    rows: dict[str, dict] = {}
    for r in results:
        if r.expected is None:
            continue
        row = rows.setdefault(r.category, {"category": r.category, "cases": 0, "tp": 0, "fp": 0, "fn": 0, "seconds": 0.0})
        row["cases"] += 1
        row["tp"] += r.tp
        row["fp"] += r.fp
        row["fn"] += r.fn
        row["seconds"] += r.seconds
    return [rows[k] for k in sorted(rows)]


def total(rows: list[dict], label: str, exclude: tuple[str, ...] = ()) -> dict:
    kept = [r for r in rows if r["category"] not in exclude]
    return {
        "category": label,
        "cases": sum(r["cases"] for r in kept),
        "tp": sum(r["tp"] for r in kept),
        "fp": sum(r["fp"] for r in kept),
        "fn": sum(r["fn"] for r in kept),
        "seconds": sum(r["seconds"] for r in kept),
    }


def render(rows: list[dict]) -> str:
    lines = ["| category | cases | TP | FP | FN | precision | recall | F1 | time (s) |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        p, rc, f = prf(r["tp"], r["fp"], r["fn"])
        name = f"**{r['category']}**" if r["category"].startswith("all") or r["category"].startswith("without") else r["category"]
        lines.append(f"| {name} | {r['cases']} | {r['tp']} | {r['fp']} | {r['fn']} | {p:.2f} | {rc:.2f} | {f:.2f} | {r['seconds']:.1f} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", type=Path, help="write per-case results here")
    parser.add_argument("--flow-budget", type=float, default=None, help="seconds per app (default: the scan default, 120)")
    parser.add_argument("--real", action="store_true", help="also scan the real-world apps of the corpus and print the median time")
    parser.add_argument("--pin", type=Path, help="write the per-case flows for the regression test (tests/analysis/droidbench_results.json)")
    args = parser.parse_args()
    if not DROIDBENCH.is_dir():
        print(f"DroidBench not found: {DROIDBENCH}", file=sys.stderr)
        return 2
    budget = args.flow_budget if args.flow_budget is not None else 120.0
    out = run(budget, args.real)
    rows = table(out["droidbench"])
    rows.append(total(rows, f"all {sum(r['cases'] for r in rows)} cases with a known count"))
    rows.append(total(rows[:-1], "without " + ", ".join(HARD), HARD))
    print("DroidBench 3.0 (found = distinct source/sink call-site pairs in flows)")
    print(render(rows))
    print(f"whole DroidBench run: {out['droidbench_seconds']:.1f} s for {len(out['droidbench'])} apps (one process, one core)")
    icc = out["icc"]
    correct = sum(1 for r in icc if (r.found > 0) == bool(r.expected))
    print(f"\nICC-Bench: {correct}/{len(icc)} correct ({out['icc_seconds']:.1f} s)")
    for r in icc:
        ok = (r.found > 0) == bool(r.expected)
        print(f"  {'ok  ' if ok else 'MISS'} {r.category}/{r.name}: expected {'leak' if r.expected else 'no leak'}, found {r.found}")
    if out["real"]:
        times = [r["seconds"] for r in out["real"]]
        print(f"\nreal-world apps: {len(times)}, median {statistics.median(times):.1f} s, max {max(times):.1f} s")
        for r in out["real"]:
            print(f"  {r['app']}: {r['seconds']} s, {r['flows']} flows, incomplete {r['incomplete']}")
    if args.pin:
        pinned = {
            "note": "Generated by benchmarks/droidbench.py --pin; tests/analysis/test_droidbench_regression.py checks every case against it.",
            "droidbench": {f"{r.category}/{r.name}": {"expected": r.expected, "flows": [list(p) for p in r.flows]} for r in out["droidbench"]},
            "icc": {f"{r.category}/{r.name}": {"expected_leak": bool(r.expected), "flows": [list(p) for p in r.flows]} for r in icc},
        }
        args.pin.write_text(json.dumps(pinned, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    if args.json:
        data = {
            "droidbench": [
                {"category": r.category, "name": r.name, "expected": r.expected, "found": r.found, "tp": r.tp, "fp": r.fp,
                 "fn": r.fn, "seconds": round(r.seconds, 3), "incomplete": r.incomplete, "flows": [list(p) for p in r.flows]}
                for r in out["droidbench"]
            ],
            "icc": [
                {"category": r.category, "name": r.name, "expected_leak": bool(r.expected), "found": r.found,
                 "flows": [list(p) for p in r.flows]}
                for r in icc
            ],
            "table": rows,
            "droidbench_seconds": round(out["droidbench_seconds"], 1),
            "real": out["real"],
        }
        args.json.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
