"""DroidBench 3.0 and ICC-Bench as regression tests: every case is scanned and compared with the pinned results.

``droidbench_results.json`` holds, per case, the distinct (source call site,
sink call site, sink kind) triples the analysis reported when it was pinned
(``benchmarks/droidbench.py --pin``). A change that loses or adds a flow in
any case fails here; after an intended improvement, re-pin and check the
numbers in docs/benchmarks.md. The totals below are the figures published
there; they are asserted so that the documentation stays true.
"""

from __future__ import annotations

import csv
import functools
import json
from pathlib import Path

import pytest

from benchmarks.droidbench import found_pairs, icc_expected, prf
from tests.conftest import APKS, shared_path

PINNED = json.loads((Path(__file__).parent / "droidbench_results.json").read_text(encoding="utf-8"))
HARD = ("Native", "DynamicLoading", "SelfModification", "InterAppCommunication")


@functools.lru_cache(maxsize=1)
def _run_all() -> dict[str, list[list[str]]]:
    from datasafety import scan

    shared_path("droidbench/groundtruth.csv")
    out = {}
    for path in sorted((APKS / "droidbench").rglob("*.apk")):
        out[f"{path.parent.name}/{path.stem}"] = [list(p) for p in found_pairs(scan(path))]
    for path in sorted((APKS / "icc-bench").rglob("*.apk")):
        out[f"icc:{path.parent.name}/{path.stem}"] = [list(p) for p in found_pairs(scan(path))]
    return out


def _groundtruth() -> dict[str, int | None]:
    with open(shared_path("droidbench/groundtruth.csv"), newline="", encoding="utf-8") as handle:
        return {
            f"{row['category']}/{row['name']}": int(row["number_of_leaks"]) if row["number_of_leaks"].isdigit() else None
            for row in csv.DictReader(handle)
        }


def test_every_droidbench_case_matches_the_pinned_flows():
    results = _run_all()
    truth = _groundtruth()
    assert set(PINNED["droidbench"]) == set(truth)
    changed = {
        case: {"pinned": pinned["flows"], "now": results[case]}
        for case, pinned in PINNED["droidbench"].items()
        if results[case] != pinned["flows"]
    }
    assert changed == {}


def test_every_icc_bench_case_matches_the_pinned_flows_and_is_correct():
    results = _run_all()
    for case, pinned in PINNED["icc"].items():
        now = results[f"icc:{case}"]
        assert now == pinned["flows"], case
        assert bool(now) == pinned["expected_leak"] == bool(icc_expected(Path(case))), case
    assert len(PINNED["icc"]) == 24


def _score(exclude: tuple[str, ...] = ()) -> tuple[int, int, int]:
    results = _run_all()
    tp = fp = fn = 0
    for case, expected in _groundtruth().items():
        if expected is None or case.split("/")[0] in exclude:
            continue
        found = len({(s, k) for s, k, _ in results[case]})
        t = min(found, expected)
        tp, fp, fn = tp + t, fp + found - t, fn + expected - t
    return tp, fp, fn


def test_published_totals():
    # docs/benchmarks.md, "DroidBench and ICC-Bench (issue 4)".
    assert _score() == (149, 3, 30)
    assert _score(HARD) == (141, 2, 16)
    _, _, f1 = prf(*_score())
    _, _, f1_restricted = prf(*_score(HARD))
    assert round(f1, 2) == 0.90 and f1 >= 0.85
    assert round(f1_restricted, 2) == 0.94 and f1_restricted >= 0.92


@pytest.mark.parametrize("case", ["UnreachableCode/SimpleUnreachable1", "UnreachableCode/UnreachableBoth",
                                  "UnreachableCode/UnreachableSink1", "UnreachableCode/UnreachableSource1"])
def test_unreachable_code_has_no_flows(case):
    assert _run_all()[case] == []
