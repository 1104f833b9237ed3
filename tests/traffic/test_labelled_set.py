"""Precision and recall per data type on the labelled set (issue #5 target: >= 0.98 each)."""

from __future__ import annotations

from datasafety.traffic import analyse_requests
from tests.traffic.labelled_set import build_labelled_set, mismatches, score


def test_labelled_set_is_large_enough():
    items = build_labelled_set()
    assert len(items) >= 200
    assert sum(1 for item in items if not item.expected) >= 50


def test_precision_and_recall_at_least_098_per_data_type():
    items = build_labelled_set()
    result = analyse_requests([item.request for item in items])
    observed: dict[int, set] = {}
    for observation in result.observations:
        observed.setdefault(observation.request_index, set()).add((observation.data_type, observation.value))
    scores = score(items, observed)
    assert set(scores) == {"approximate_location", "device_or_other_ids", "email", "phone_number", "precise_location"}
    low = {t: s for t, s in scores.items() if s["precision"] < 0.98 or s["recall"] < 0.98}
    assert not low, "\n".join(mismatches(items, observed))
