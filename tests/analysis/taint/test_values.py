"""Abstract values and heaps: joins, strong and weak updates, reachability, taint through objects."""

from __future__ import annotations

from datasafety.analysis.taint.values import (
    MAX_STRS,
    NONE,
    Val,
    const_str,
    deep_taint,
    freeze,
    heap_join,
    heap_leq,
    heap_put,
    join,
    project,
)


def test_join_keeps_exact_strings_only_when_both_are_exact():
    a, b = const_str("x"), const_str("y")
    assert join(a, b) == Val(strs=frozenset({"x", "y"}), exact=True)
    assert join(a, Val(taint=frozenset({1}))).exact is False
    assert join(None, a) is a
    many = None
    for i in range(MAX_STRS + 2):
        many = join(many, const_str(str(i)))
    assert len(many.strs) == MAX_STRS and not many.exact


def test_numbers_survive_only_when_equal():
    assert join(Val(num=4), Val(num=4)).num == 4
    assert join(Val(num=4), Val(num=5)).num is None


def test_strong_and_weak_updates():
    heap = {}
    heap_put(heap, 1, "f", Val(taint=frozenset({0})), True)
    heap_put(heap, 1, "f", const_str("clean"), True)
    assert heap[1]["f"] == const_str("clean")
    heap_put(heap, 1, "f", Val(taint=frozenset({0})), False)
    assert heap[1]["f"].taint == frozenset({0})


def test_heap_join_and_order():
    a, b = {}, {}
    heap_put(a, 1, "f", const_str("x"), True)
    heap_put(b, 1, "g", Val(taint=frozenset({2})), True)
    j = heap_join(a, b)
    assert set(j[1]) == {"f", "g"}
    assert heap_leq(a, j) and heap_leq(b, j) and not heap_leq(j, a)
    assert freeze(j) == freeze(heap_join(b, a))


def test_taint_through_objects_and_projection():
    heap = {}
    heap_put(heap, 1, "inner", Val(objs=frozenset({2})), True)
    heap_put(heap, 2, "secret", Val(taint=frozenset({7})), True)
    heap_put(heap, 3, "other", Val(taint=frozenset({8})), True)
    assert deep_taint(heap, Val(objs=frozenset({1}))) == frozenset({7})
    assert deep_taint(heap, Val(objs=frozenset({1})), depth=1) == frozenset()
    assert set(project(heap, {1})) == {1, 2}
    assert deep_taint(heap, NONE) == frozenset()
