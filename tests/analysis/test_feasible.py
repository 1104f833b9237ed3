"""Interval arithmetic behind branch feasibility (the apps are in test_reachability)."""

from __future__ import annotations

from datasafety.analysis.feasible import TOP, _arith, _compare, _exact_int


def test_java_integer_arithmetic_on_constants():
    assert _exact_int("rem", 10, 10) == 0
    assert _exact_int("div", -7, 2) == -3
    assert _exact_int("rem", -7, 2) == -1
    assert _exact_int("div", 1, 0) is None
    assert _arith("mul", (2.0, 2.0), (5.0, 5.0)) == (10.0, 10.0)
    assert _arith("add", (0.0, 29.0), (80.0, 80.0)) == (80.0, 109.0)


def test_comparisons_decide_only_when_intervals_do():
    assert _compare("gt", (0.0, 29.0), (40.0, 40.0)) == (False, True)
    assert _compare("lt", (122.0, 122.0), (10.0, 10.0)) == (False, True)
    assert _compare("eq", TOP, (0.0, 0.0)) == (True, True)
